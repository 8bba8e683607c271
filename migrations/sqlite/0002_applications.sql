-- Batches of a program, the province's list of existing benchmark
-- enterprises, applications with every saved version, their timeline, and
-- attachments.
CREATE TABLE batches (
    id TEXT PRIMARY KEY,
    program_key TEXT NOT NULL,
    name TEXT NOT NULL,
    quota INTEGER NOT NULL,
    opens_at INTEGER NOT NULL,
    enterprise_deadline INTEGER NOT NULL,
    recommend_deadline INTEGER NOT NULL,
    is_demo INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
);

CREATE TABLE city_deadlines (
    batch_id TEXT NOT NULL REFERENCES batches(id),
    city_code TEXT NOT NULL,
    enterprise_deadline INTEGER NOT NULL,
    PRIMARY KEY (batch_id, city_code)
);

CREATE TABLE benchmark_list (
    credit_code TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    note TEXT NOT NULL,
    added_at INTEGER NOT NULL,
    added_by TEXT NOT NULL
);

CREATE TABLE applications (
    id TEXT PRIMARY KEY,
    batch_id TEXT NOT NULL REFERENCES batches(id),
    enterprise_id TEXT NOT NULL REFERENCES users(id),
    credit_code TEXT NOT NULL,
    enterprise_name TEXT NOT NULL,
    city_code TEXT NOT NULL,
    county_code TEXT NOT NULL,
    industry TEXT NOT NULL DEFAULT '',
    state TEXT NOT NULL,
    version INTEGER NOT NULL,
    declarations TEXT NOT NULL,
    submitted_version INTEGER,
    fingerprint TEXT,
    submitted_at INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    UNIQUE (batch_id, credit_code)
);
CREATE INDEX applications_enterprise ON applications(enterprise_id);
CREATE INDEX applications_city_state ON applications(batch_id, city_code, state);

CREATE TABLE application_versions (
    application_id TEXT NOT NULL REFERENCES applications(id),
    version INTEGER NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('draft', 'submitted')),
    content TEXT NOT NULL,
    fingerprint TEXT,
    created_at INTEGER NOT NULL,
    created_by TEXT NOT NULL,
    PRIMARY KEY (application_id, version)
);
-- A submitted version is immutable.
CREATE TRIGGER submitted_version_immutable BEFORE UPDATE ON application_versions
WHEN OLD.kind = 'submitted'
BEGIN SELECT RAISE(ABORT, 'submitted versions are immutable'); END;
CREATE TRIGGER submitted_version_undeletable BEFORE DELETE ON application_versions
WHEN OLD.kind = 'submitted'
BEGIN SELECT RAISE(ABORT, 'submitted versions are immutable'); END;

CREATE TABLE application_events (
    id TEXT PRIMARY KEY,
    application_id TEXT NOT NULL REFERENCES applications(id),
    at INTEGER NOT NULL,
    actor_id TEXT,
    actor_name TEXT NOT NULL,
    from_state TEXT NOT NULL,
    to_state TEXT NOT NULL,
    reason TEXT NOT NULL
);
CREATE INDEX application_events_app ON application_events(application_id, at);

CREATE TABLE attachments (
    id TEXT PRIMARY KEY,
    application_id TEXT NOT NULL REFERENCES applications(id),
    slot TEXT NOT NULL,
    file_name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    storage_key TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    created_by TEXT NOT NULL,
    deleted_at INTEGER
);
CREATE INDEX attachments_app ON attachments(application_id, slot);
