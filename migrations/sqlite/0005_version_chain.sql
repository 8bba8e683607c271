-- Versions as a chain instead of an (application_id, version) index.
-- Every save appends a version. Keyed by application first, the index put
-- each application's newest entry on its own leaf page, so a group commit
-- of 64 saves rewrote 64 index pages besides the rows themselves (measured:
-- without the index the deadline rush saved 8–50% more per second with a
-- lower p99). Now each row has an increasing `row_key` (the rowid: rows are
-- appended at the end of the table), `prev` points to the version before,
-- and `applications.head` to the current one.
CREATE TABLE version_chain (
    row_key INTEGER PRIMARY KEY,
    prev INTEGER,
    application_id TEXT NOT NULL REFERENCES applications(id),
    version INTEGER NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('draft', 'submitted')),
    content TEXT NOT NULL,
    fingerprint TEXT,
    created_at INTEGER NOT NULL,
    created_by TEXT NOT NULL
);
INSERT INTO version_chain (row_key, prev, application_id, version, kind, content, fingerprint, created_at, created_by)
SELECT ROW_NUMBER() OVER (ORDER BY application_id, version),
       CASE WHEN ROW_NUMBER() OVER (PARTITION BY application_id ORDER BY version) > 1
            THEN ROW_NUMBER() OVER (ORDER BY application_id, version) - 1 END,
       application_id, version, kind, content, fingerprint, created_at, created_by
FROM application_versions;
DROP TRIGGER submitted_version_immutable;
DROP TRIGGER submitted_version_undeletable;
DROP TABLE application_versions;
ALTER TABLE version_chain RENAME TO application_versions;
ALTER TABLE applications ADD COLUMN head INTEGER;
CREATE INDEX migration_0005_lookup ON application_versions(application_id, version);
UPDATE applications SET head = (SELECT row_key FROM application_versions v
    WHERE v.application_id = applications.id AND v.version = applications.version);
DROP INDEX migration_0005_lookup;
-- A submitted version is immutable.
CREATE TRIGGER submitted_version_immutable BEFORE UPDATE ON application_versions
WHEN OLD.kind = 'submitted'
BEGIN SELECT RAISE(ABORT, 'submitted versions are immutable'); END;
CREATE TRIGGER submitted_version_undeletable BEFORE DELETE ON application_versions
WHEN OLD.kind = 'submitted'
BEGIN SELECT RAISE(ABORT, 'submitted versions are immutable'); END;
