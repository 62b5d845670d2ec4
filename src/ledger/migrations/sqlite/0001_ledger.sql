-- One row per Test Manager result (ResultKey); see src/ledger/mod.rs for the state machine.
-- Timestamps are INTEGER Unix milliseconds (UTC) so that ordering and equality
-- comparisons in SQL are exact and cheap; text timestamps would compare wrongly
-- as soon as two writers formatted them differently.
CREATE TABLE ledger_entries (
    result_key       TEXT    NOT NULL PRIMARY KEY, -- ResultKey::canonical()
    execution_id     TEXT    NOT NULL,
    test_case_id     TEXT    NOT NULL,
    variation_id     TEXT,
    project          TEXT    NOT NULL,
    state            TEXT    NOT NULL CHECK (state IN ('claimed', 'uncertain', 'created')),
    owner            TEXT    NOT NULL,
    attempts         INTEGER NOT NULL CHECK (attempts >= 1),
    claimed_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    issue_key        TEXT,
    issue_id         TEXT,
    browse_url       TEXT,
    summary          TEXT,
    status           TEXT,
    priority         TEXT,
    remote_link_done INTEGER NOT NULL DEFAULT 0 CHECK (remote_link_done IN (0, 1)),
    last_error       TEXT
);

CREATE INDEX ledger_entries_test_case_idx ON ledger_entries (project, test_case_id, updated_at);
CREATE INDEX ledger_entries_updated_idx ON ledger_entries (updated_at);
