-- Since when `ferry serve` has scheduled each script: catch-up counts the
-- occurrences after this, so an occurrence that fell due while its run
-- waited for a free slot (and ferry was killed before it was claimed) is
-- recorded missed or run late, never lost. A removed script's row goes.
CREATE TABLE schedules (
    script TEXT PRIMARY KEY,
    since  TEXT NOT NULL    -- RFC 3339 UTC
);
