-- Roster safety: what each file looked like (for the manifest and for
-- max_change, which compares a file with its last delivered run by key),
-- and who released a held run.
ALTER TABLE run_files ADD COLUMN file_key TEXT;
ALTER TABLE run_files ADD COLUMN header TEXT;
ALTER TABLE runs ADD COLUMN released_by TEXT;
