-- The web console's logins and tool rights.

-- An argon2id PHC string; NULL for people who are only told about runs and
-- cannot log in.
ALTER TABLE users ADD COLUMN password_hash TEXT;

-- Console sessions. Only the SHA-256 (hex) of the cookie's token is kept, so
-- a copy of the store does not let anyone in.
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_name  TEXT NOT NULL,
    csrf       TEXT NOT NULL,        -- the session's CSRF token, sent back with every change
    created_at TEXT NOT NULL,        -- RFC 3339, UTC
    expires_at TEXT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_name);

-- API tokens for automation, hashed like sessions; shown once when created.
CREATE TABLE api_tokens (
    id           BIGSERIAL PRIMARY KEY,
    user_name    TEXT NOT NULL,
    label        TEXT NOT NULL,
    token_hash   TEXT NOT NULL UNIQUE,
    created_at   TEXT NOT NULL,
    last_used_at TEXT
);
CREATE INDEX api_tokens_user ON api_tokens (user_name);

-- Rights held by every member of a group, beside user_rights.
CREATE TABLE group_rights (
    group_name TEXT NOT NULL,
    right_name TEXT NOT NULL,
    granted_at TEXT NOT NULL,
    PRIMARY KEY (group_name, right_name)
);

-- Who changed which script from the console, with the versions' hashes.
CREATE TABLE script_changes (
    id         BIGSERIAL PRIMARY KEY,
    script     TEXT NOT NULL,
    user_name  TEXT NOT NULL,
    action     TEXT NOT NULL,        -- created | edited | deleted | stopped | started
    old_sha256 TEXT,
    new_sha256 TEXT,
    at         TEXT NOT NULL         -- RFC 3339, UTC
);
CREATE INDEX script_changes_script ON script_changes (script, id);
