-- A draft version may be stored as what changed since the version before.
-- `depth` counts the versions back to the nearest row holding the whole
-- content: 0 means `content` is the whole answers (every row written before
-- this migration, every submission, every reopening); n > 0 means `content`
-- is a JSON object of the top-level answers that changed since the version
-- before, which is at depth n − 1. An autosave changes one or two fields of
-- a ~5 KB draft, so each save now writes a few hundred bytes instead of the
-- whole draft, and a draft is read back from at most 32 rows.
ALTER TABLE application_versions ADD COLUMN depth INTEGER NOT NULL DEFAULT 0;
