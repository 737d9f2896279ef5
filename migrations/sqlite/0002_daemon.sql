-- Processes that run scripts, so runs left "running" by one that died can be
-- found: a process's heartbeat stops.
CREATE TABLE instances (
    id           TEXT PRIMARY KEY,
    host         TEXT NOT NULL,
    pid          BIGINT NOT NULL,
    role         TEXT NOT NULL,      -- serve | cli
    started_at   TEXT NOT NULL,
    heartbeat_at TEXT NOT NULL,
    stopped_at   TEXT
);

-- One row per schedule occurrence, claimed by exactly one instance: the
-- primary key is what makes several `ferry serve` processes run each
-- occurrence once.
CREATE TABLE occurrences (
    script       TEXT NOT NULL,
    scheduled_at TEXT NOT NULL,      -- RFC 3339 UTC
    instance     TEXT NOT NULL,
    claimed_at   TEXT NOT NULL,
    outcome      TEXT NOT NULL,      -- claimed | ran | skipped | missed
    run_id       BIGINT,
    PRIMARY KEY (script, scheduled_at)
);
