-- The zone a person reads the console's times in; NULL for the district's
-- own `timezone` from ferry.toml.
ALTER TABLE users ADD COLUMN timezone TEXT;
