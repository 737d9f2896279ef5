-- The console's second factor (RFC 6238 TOTP) for local passwords.

-- One authenticator per user. The secret is the base32 text the person's
-- app was given (it must be readable to check codes, so it cannot be hashed);
-- confirmed_at stays NULL until a first valid code proves the app has it.
-- last_step is the time step of the last code accepted: a code of that step
-- or an earlier one is refused, so an overheard code cannot be used again.
CREATE TABLE user_totp (
    user_name    TEXT PRIMARY KEY,
    secret       TEXT NOT NULL,
    created_at   TEXT NOT NULL,        -- RFC 3339, UTC
    confirmed_at TEXT,
    last_step    BIGINT
);

-- Recovery codes, argon2id PHC strings like passwords; each works once.
CREATE TABLE totp_recovery (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    user_name TEXT NOT NULL,
    code_hash TEXT NOT NULL,
    used_at   TEXT
);
CREATE INDEX totp_recovery_user ON totp_recovery (user_name);

-- A login whose password was right and whose second factor is still to
-- come: the second form carries the token, never the password. Only the
-- SHA-256 of the token is kept, as for sessions.
CREATE TABLE pending_logins (
    token_hash TEXT PRIMARY KEY,
    user_name  TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
