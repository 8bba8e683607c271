-- Batches of a program, the province's list of existing benchmark
-- enterprises, applications with every saved version, their timeline, and
-- attachments.
CREATE TABLE batches (
    id TEXT PRIMARY KEY,
    program_key TEXT NOT NULL,
    name TEXT NOT NULL,
    quota BIGINT NOT NULL,
    opens_at BIGINT NOT NULL,
    enterprise_deadline BIGINT NOT NULL,
    recommend_deadline BIGINT NOT NULL,
    is_demo BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);

CREATE TABLE city_deadlines (
    batch_id TEXT NOT NULL REFERENCES batches(id),
    city_code TEXT NOT NULL,
    enterprise_deadline BIGINT NOT NULL,
    PRIMARY KEY (batch_id, city_code)
);

CREATE TABLE benchmark_list (
    credit_code TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    note TEXT NOT NULL,
    added_at BIGINT NOT NULL,
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
    version BIGINT NOT NULL,
    declarations TEXT NOT NULL,
    submitted_version BIGINT,
    fingerprint TEXT,
    submitted_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (batch_id, credit_code)
);
CREATE INDEX applications_enterprise ON applications(enterprise_id);
CREATE INDEX applications_city_state ON applications(batch_id, city_code, state);

CREATE TABLE application_versions (
    application_id TEXT NOT NULL REFERENCES applications(id),
    version BIGINT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('draft', 'submitted')),
    content TEXT NOT NULL,
    fingerprint TEXT,
    created_at BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    PRIMARY KEY (application_id, version)
);
-- A submitted version is immutable.
CREATE FUNCTION submitted_version_immutable() RETURNS trigger AS $$
BEGIN
    IF OLD.kind = 'submitted' THEN
        RAISE EXCEPTION 'submitted versions are immutable';
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER submitted_version_immutable BEFORE UPDATE OR DELETE ON application_versions
    FOR EACH ROW EXECUTE FUNCTION submitted_version_immutable();

CREATE TABLE application_events (
    id TEXT PRIMARY KEY,
    application_id TEXT NOT NULL REFERENCES applications(id),
    at BIGINT NOT NULL,
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
    size BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    storage_key TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    deleted_at BIGINT
);
CREATE INDEX attachments_app ON attachments(application_id, slot);
