-- Drafts as a working copy (issue #16). An autosave rewrites the
-- application's one row in `drafts` (the current answers) instead of adding a
-- version; a version is kept for a meaningful moment (the start, an
-- explicit save, a submission, a reopening, the stamped scan's upload) and
-- for at most one autosave per 10 minutes of editing (`versioned_at`: when
-- the last one was kept). Versions are few, so they are read by
-- (application, version) again, and whole: the chain (`head`) goes. The
-- existing rows are carried over by `src/store/draft_migration.rs` in this
-- migration's transaction. `prev` and `depth` stay in the table (NULL and
-- 0 from now on): the integrity chain's sealed bytes of the submitted rows
-- sealed before include them.
CREATE TABLE drafts (
    application_id TEXT PRIMARY KEY REFERENCES applications(id),
    content TEXT NOT NULL,
    saved_at INTEGER NOT NULL
);
ALTER TABLE applications ADD COLUMN versioned_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE applications DROP COLUMN head;
CREATE INDEX application_versions_app ON application_versions(application_id, version);
