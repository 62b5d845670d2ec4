-- takeovers: how often a row was claimed from another worker that had stopped renewing
-- its claim (its process died or was killed mid-upload). A file that keeps killing its
-- workers is given up instead of taking every replica down in turn.
-- failures: tries that failed for the file's own reason (refused, transfer broken off);
-- tries lost to an outage do not count. See src/evidence/worker.rs.
ALTER TABLE evidence_items ADD COLUMN takeovers BIGINT NOT NULL DEFAULT 0;
ALTER TABLE evidence_items ADD COLUMN failures BIGINT NOT NULL DEFAULT 0;
