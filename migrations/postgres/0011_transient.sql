-- Files a run removes from local disk when it ends (the student photo zip),
-- unless a guard holds them: then they are kept until released, discarded
-- or superseded, and removed after. 1 for such a file.
ALTER TABLE run_files ADD COLUMN transient BIGINT NOT NULL DEFAULT 0;
