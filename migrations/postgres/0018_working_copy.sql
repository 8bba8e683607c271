-- Drafts as a working copy (issue #16; see migrations/sqlite/0018). The
-- existing rows are carried over by `src/store/draft_migration.rs` in this
-- migration's transaction. `prev` and `depth` stay (NULL and 0 from now
-- on): the integrity chain's sealed bytes of earlier submitted rows
-- include them.
CREATE TABLE drafts (
    application_id TEXT PRIMARY KEY REFERENCES applications(id),
    content TEXT NOT NULL,
    saved_at BIGINT NOT NULL
);
ALTER TABLE applications ADD COLUMN versioned_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE applications DROP COLUMN head;
CREATE INDEX application_versions_app ON application_versions(application_id, version);
