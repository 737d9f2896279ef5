-- Every run of a script: manual, scheduled or test.
CREATE TABLE runs (
    id          BIGSERIAL PRIMARY KEY,
    script      TEXT NOT NULL,      -- file name without .rhai
    script_path TEXT NOT NULL,
    script_hash TEXT NOT NULL,      -- SHA-256 of the version that ran
    trigger     TEXT NOT NULL,      -- manual | test | scheduled | catch-up
    occurrence  TEXT,               -- the schedule occurrence served (RFC 3339 UTC)
    instance    TEXT,               -- the ferry process that ran it
    started_at  TEXT NOT NULL,      -- RFC 3339, UTC
    ended_at    TEXT,
    status      TEXT NOT NULL,      -- running | succeeded | failed | interrupted
    rows        BIGINT NOT NULL DEFAULT 0,
    bytes       BIGINT NOT NULL DEFAULT 0,
    destination TEXT,
    error       TEXT
);
CREATE INDEX runs_script ON runs (script, id);

-- Files a run produced, and where each went.
CREATE TABLE run_files (
    run_id      BIGINT NOT NULL REFERENCES runs (id),
    name        TEXT NOT NULL,
    local_path  TEXT,               -- kept file, when the run kept it
    rows        BIGINT NOT NULL,
    bytes       BIGINT NOT NULL,
    sha256      TEXT NOT NULL,
    destination TEXT,
    remote_path TEXT
);
CREATE INDEX run_files_run ON run_files (run_id);

-- What the run logged.
CREATE TABLE run_log (
    run_id  BIGINT NOT NULL REFERENCES runs (id),
    seq     BIGINT NOT NULL,
    at      TEXT NOT NULL,
    level   TEXT NOT NULL,
    message TEXT NOT NULL,
    PRIMARY KEY (run_id, seq)
);
