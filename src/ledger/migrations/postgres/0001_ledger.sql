-- One row per Test Manager result (ResultKey); see src/ledger/mod.rs for the state machine.
-- Unqualified names: the table lives in the first schema of the connection's
-- search_path, which is how tests (and shared databases) isolate instances.
CREATE TABLE ledger_entries (
    result_key       TEXT        NOT NULL PRIMARY KEY, -- ResultKey::canonical()
    execution_id     TEXT        NOT NULL,
    test_case_id     TEXT        NOT NULL,
    variation_id     TEXT,
    project          TEXT        NOT NULL,
    state            TEXT        NOT NULL CHECK (state IN ('claimed', 'uncertain', 'created')),
    owner            TEXT        NOT NULL,
    attempts         BIGINT      NOT NULL CHECK (attempts >= 1),
    claimed_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL,
    issue_key        TEXT,
    issue_id         TEXT,
    browse_url       TEXT,
    summary          TEXT,
    status           TEXT,
    priority         TEXT,
    remote_link_done BOOLEAN     NOT NULL DEFAULT FALSE,
    last_error       TEXT
);

CREATE INDEX ledger_entries_test_case_idx ON ledger_entries (project, test_case_id, updated_at);
CREATE INDEX ledger_entries_updated_idx ON ledger_entries (updated_at);
