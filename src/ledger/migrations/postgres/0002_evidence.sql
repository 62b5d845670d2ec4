-- The evidence queue: one row per file (or step) to put on a Jira issue; see src/evidence/mod.rs.
-- (issue_key, kind, source_id) is unique, so an item is enqueued at most once.
-- Timestamps are integer Unix milliseconds on both stores, so the queue's SQL is shared.
CREATE TABLE evidence_items (
    id          TEXT    NOT NULL PRIMARY KEY,
    issue_key   TEXT    NOT NULL,
    route       TEXT    NOT NULL,
    log_id      TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    source_id   TEXT    NOT NULL,
    file_name   TEXT    NOT NULL,
    size_bytes  BIGINT,
    state       TEXT    NOT NULL CHECK (state IN ('pending', 'uploading', 'done', 'skipped', 'failed')),
    owner       TEXT,
    attempts    BIGINT  NOT NULL DEFAULT 0,
    last_error  TEXT,
    seq         BIGINT  NOT NULL,
    created_at  BIGINT  NOT NULL,
    claimed_at  BIGINT,
    not_before  BIGINT  NOT NULL,
    UNIQUE (issue_key, kind, source_id)
);

CREATE INDEX evidence_items_state_idx ON evidence_items (state, not_before);
CREATE INDEX evidence_items_issue_idx ON evidence_items (issue_key);
