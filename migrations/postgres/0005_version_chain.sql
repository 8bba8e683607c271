-- Versions as a chain, as on SQLite (see migrations/sqlite/0005): each row
-- has an increasing `row_key`, `prev` points to the version before, and
-- `applications.head` to the current one, so that both backends read
-- versions with the same statements.
ALTER TABLE application_versions ADD COLUMN row_key BIGINT;
ALTER TABLE application_versions ADD COLUMN prev BIGINT;
-- Submitted rows are immutable; the new key columns are filled in once.
ALTER TABLE application_versions DISABLE TRIGGER submitted_version_immutable;
UPDATE application_versions v SET row_key = n.k, prev = n.p
FROM (SELECT application_id, version,
             ROW_NUMBER() OVER (ORDER BY application_id, version) AS k,
             CASE WHEN ROW_NUMBER() OVER (PARTITION BY application_id ORDER BY version) > 1
                  THEN ROW_NUMBER() OVER (ORDER BY application_id, version) - 1 END AS p
      FROM application_versions) n
WHERE v.application_id = n.application_id AND v.version = n.version;
ALTER TABLE application_versions ENABLE TRIGGER submitted_version_immutable;
-- The chain is read by row_key; (application_id, version) is not looked up
-- any more, and its index would only slow every save down.
ALTER TABLE application_versions DROP CONSTRAINT application_versions_pkey;
ALTER TABLE application_versions ADD PRIMARY KEY (row_key);
ALTER TABLE applications ADD COLUMN head BIGINT;
UPDATE applications a SET head = v.row_key FROM application_versions v
WHERE v.application_id = a.id AND v.version = a.version;
