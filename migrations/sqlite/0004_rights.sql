-- Tool rights held by users: "adhoc" (run ad hoc filters they own) and the
-- rights sensitive fields of the data model ask for ("ssn", "birth_date").
CREATE TABLE user_rights (
    user_name  TEXT NOT NULL,
    right_name TEXT NOT NULL,
    granted_at TEXT NOT NULL,
    PRIMARY KEY (user_name, right_name)
);

-- Scheduled scripts stopped by ferry (e.g. a filter's owner lost a right),
-- until `ferry resume SCRIPT`.
CREATE TABLE suspensions (
    script     TEXT PRIMARY KEY,
    reason     TEXT NOT NULL,
    at         TEXT NOT NULL
);
