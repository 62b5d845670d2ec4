-- How often a row was claimed from a worker that had stopped renewing its claim (its
-- process died or was killed mid-upload). A file that keeps killing its workers is given
-- up instead of taking every replica down in turn; see src/evidence/worker.rs.
ALTER TABLE evidence_items ADD COLUMN takeovers INTEGER NOT NULL DEFAULT 0;
