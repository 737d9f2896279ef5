-- A user an administrator turned off: NULL while they may sign in. A
-- disabled user keeps their rights, groups and tokens for when they are
-- turned back on, but no session or token of theirs is honoured.
ALTER TABLE users ADD COLUMN disabled_at TEXT;

-- Who changed which user, group, right or token, from where: the console's
-- "Changes" table and the answer to "who gave this person manage_users".
CREATE TABLE people_changes (
    id         BIGSERIAL PRIMARY KEY,
    at         TEXT NOT NULL,        -- RFC 3339, UTC
    changed_by TEXT NOT NULL,        -- 'cli:NAME', 'console:NAME' or 'api:NAME'
    action     TEXT NOT NULL,        -- an AdminAction word, e.g. 'right granted'
    subject    TEXT NOT NULL,        -- the user or group changed
    detail     TEXT                  -- the right, group or token label, when there is one
);
