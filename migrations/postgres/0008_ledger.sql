-- The run ledger (src/state/ledger.rs): every delivery is recorded before
-- its first byte moves and again when it is committed, so a crash between
-- any two steps can be reconciled against the destination at the next start.

-- A delivery's intent and state: sending (bytes moving under temp_path),
-- committing (the whole file is on the server; the rename or marker is
-- next), delivered, recovered (found complete by recovery after a crash),
-- failed, abandoned (recovery found it incomplete and removed the
-- temporary), unknown (recovery could not look), held, planned (a test).
-- NULL for a file that was never meant for a destination.
ALTER TABLE run_files ADD COLUMN state TEXT;
ALTER TABLE run_files ADD COLUMN delivery_id TEXT;
ALTER TABLE run_files ADD COLUMN target_path TEXT;
ALTER TABLE run_files ADD COLUMN temp_path TEXT;
ALTER TABLE run_files ADD COLUMN marker_path TEXT;
ALTER TABLE run_files ADD COLUMN instance TEXT;
UPDATE run_files SET state = CASE
    WHEN remote_path IS NOT NULL THEN 'delivered'
    WHEN destination IS NULL THEN NULL
    WHEN run_id IN (SELECT id FROM runs WHERE status IN ('held', 'released', 'discarded', 'superseded')) THEN 'held'
    ELSE 'failed' END;
UPDATE run_files SET target_path = remote_path;
CREATE INDEX run_files_state ON run_files (state);

-- A recovery run names the interrupted run whose occurrence it serves again.
ALTER TABLE runs ADD COLUMN recovers BIGINT;
CREATE INDEX runs_status ON runs (status);

-- Why an occurrence ended as it did (missed, not re-run).
ALTER TABLE occurrences ADD COLUMN reason TEXT;
-- Occurrences the old code left 'claimed' after their run ended.
UPDATE occurrences SET outcome = 'ran' WHERE outcome = 'claimed' AND run_id IS NOT NULL;
