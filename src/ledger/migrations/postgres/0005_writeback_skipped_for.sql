-- Per result: Jira's `updated` of the issue state the last skipped write-back attempt was for
-- (see WritebackTarget::skipped_for in src/ledger/writeback.rs), so that a skip can be told
-- apart from a later state. NULL for skips recorded before this column existed.
-- TIMESTAMPTZ, as the entry's other times on this store.
ALTER TABLE ledger_entries ADD COLUMN writeback_skipped_for TIMESTAMPTZ;
