-- Draft versions stored as changes, as on SQLite (see migrations/sqlite/0006):
-- `depth` 0 is a whole content, n > 0 the answers changed since the version before.
ALTER TABLE application_versions ADD COLUMN depth INTEGER NOT NULL DEFAULT 0;
