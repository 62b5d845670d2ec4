-- Write-back (Jira status and priority written to Test Manager's defects); see
-- src/ledger/writeback.rs.
--
-- Per result: the Test Manager defect of its test case log, what the bridge last wrote to it
-- (written_jira_updated is what newest-wins compares) and why the last attempt wrote nothing.
-- Times are INTEGER Unix milliseconds, as the entry's other times on this store.
ALTER TABLE ledger_entries ADD COLUMN defect_id TEXT;
ALTER TABLE ledger_entries ADD COLUMN written_status TEXT;
ALTER TABLE ledger_entries ADD COLUMN written_priority TEXT;
ALTER TABLE ledger_entries ADD COLUMN written_jira_updated INTEGER;
ALTER TABLE ledger_entries ADD COLUMN written_at INTEGER;
ALTER TABLE ledger_entries ADD COLUMN writeback_skipped TEXT;
-- A Jira event names an issue; its results are looked up by issue key.
CREATE INDEX ledger_entries_issue_idx ON ledger_entries (issue_key);

-- The issues whose state must be written again: one row per issue (id = the issue key), a
-- leased queue (src/ledger/lease.rs). rerun: enqueued again while held, so its settle puts
-- it back to pending. Timestamps are INTEGER Unix milliseconds on both stores.
CREATE TABLE writeback_queue (
    id           TEXT    NOT NULL PRIMARY KEY,
    state        TEXT    NOT NULL CHECK (state IN ('pending', 'working')),
    owner        TEXT,
    claimed_at   INTEGER,
    not_before   INTEGER NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    takeovers    INTEGER NOT NULL DEFAULT 0,
    seen_updated INTEGER,
    rerun        INTEGER NOT NULL DEFAULT 0 CHECK (rerun IN (0, 1)),
    last_error   TEXT
);

CREATE INDEX writeback_queue_due_idx ON writeback_queue (state, not_before);

-- Jira webhook deliveries already seen (X-Atlassian-Webhook-Identifier), to drop duplicates.
CREATE TABLE jira_deliveries (
    id      TEXT    NOT NULL PRIMARY KEY,
    seen_at INTEGER NOT NULL
);

CREATE INDEX jira_deliveries_seen_idx ON jira_deliveries (seen_at);

-- Per Jira project: which replica runs its reconcile poller (until lease_until) and where
-- its last complete poll started.
CREATE TABLE writeback_pollers (
    jira_project TEXT    NOT NULL PRIMARY KEY,
    owner        TEXT    NOT NULL,
    lease_until  INTEGER NOT NULL,
    watermark    INTEGER
);
