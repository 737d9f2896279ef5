-- Who the server was and how ferry got in, for every delivered file: the
-- run manifest answers "what exactly did we send, and to whom?".
ALTER TABLE run_files ADD COLUMN server_identity TEXT;
ALTER TABLE run_files ADD COLUMN auth_method TEXT;
ALTER TABLE run_files ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
-- The run a resend delivered again.
ALTER TABLE runs ADD COLUMN resend_of INTEGER;
