-- Who or what started each run, and the parameters it ran with, so a later
-- reader can tell which runs carried an override (include_ssn = true, say).
-- started_by: 'schedule' (ferry serve), or 'cli:NAME', 'console:NAME',
-- 'api:NAME' for a person. params: a JSON object of every header parameter
-- after --param overrides; overrides: a JSON array of the names overridden.
-- NULL for runs recorded before this migration.
ALTER TABLE runs ADD COLUMN started_by TEXT;
ALTER TABLE runs ADD COLUMN params TEXT;
ALTER TABLE runs ADD COLUMN overrides TEXT;
