-- The zip a file went into (its name), for files bundled by zip(): history
-- shows them as "in nightly.zip" instead of as undelivered.
ALTER TABLE run_files ADD COLUMN bundled_in TEXT;
