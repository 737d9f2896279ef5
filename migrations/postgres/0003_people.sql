-- People told about runs: users, the groups a script's header names in
-- `notify = "group"`, and which users are in which group.
CREATE TABLE users (
    id           BIGSERIAL PRIMARY KEY,
    name         TEXT NOT NULL UNIQUE,
    display_name TEXT,
    email        TEXT,
    created_at   TEXT NOT NULL       -- RFC 3339, UTC
);

-- GROUPS is an SQL keyword (window frames), hence user_groups.
CREATE TABLE user_groups (
    id         BIGSERIAL PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    email      TEXT,                 -- the group's own address, if it has one
    webhook    TEXT,                 -- an http(s) URL or a secret reference (env:/file:) to one
    created_at TEXT NOT NULL
);

CREATE TABLE group_members (
    group_id BIGINT NOT NULL REFERENCES user_groups (id),
    user_id  BIGINT NOT NULL REFERENCES users (id),
    PRIMARY KEY (group_id, user_id)
);

-- The in-app list: one row per member of the group told, or one row with
-- user_name NULL when the group had no members (or did not exist), so no
-- notification is lost. Names, not ids: a notification outlives the user
-- or group it went to.
CREATE TABLE notifications (
    id         BIGSERIAL PRIMARY KEY,
    user_name  TEXT,
    group_name TEXT NOT NULL,
    script     TEXT,                 -- script id, when a script raised it
    run_id     BIGINT,               -- the run, when a run raised it
    level      TEXT NOT NULL,        -- error | info
    message    TEXT NOT NULL,
    created_at TEXT NOT NULL,        -- RFC 3339, UTC
    read_at    TEXT
);
CREATE INDEX notifications_user ON notifications (user_name, read_at, id);
