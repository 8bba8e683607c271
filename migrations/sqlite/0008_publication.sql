-- Publication: the 公示 of a batch's locked shortlist (its period in working
-- days, and what the public page lists, fixed when it opened), the 实名
-- objections with the city's verification and the province's decision, and
-- the final 公告 (immutable, fingerprinted).
CREATE TABLE publicity (
    batch_id TEXT PRIMARY KEY REFERENCES batches(id),
    starts_on TEXT NOT NULL,
    ends_on TEXT NOT NULL,
    start_at INTEGER NOT NULL,
    end_at INTEGER NOT NULL,
    working_days INTEGER NOT NULL,
    opened_at INTEGER NOT NULL,
    opened_by TEXT NOT NULL,
    final_doc_number TEXT,
    final_date TEXT,
    final_at INTEGER,
    final_by TEXT,
    final_list TEXT,
    final_fingerprint TEXT
);

CREATE TABLE publicity_items (
    batch_id TEXT NOT NULL,
    application_id TEXT NOT NULL REFERENCES applications(id),
    position INTEGER NOT NULL,
    enterprise_name TEXT NOT NULL,
    city TEXT NOT NULL,
    industry TEXT NOT NULL,
    services TEXT NOT NULL,
    PRIMARY KEY (batch_id, application_id)
);

CREATE TABLE objections (
    id TEXT PRIMARY KEY,
    receipt TEXT NOT NULL UNIQUE,
    batch_id TEXT NOT NULL,
    application_id TEXT NOT NULL REFERENCES applications(id),
    name TEXT NOT NULL,
    unit TEXT NOT NULL,
    phone TEXT NOT NULL,
    email TEXT NOT NULL,
    facts TEXT NOT NULL,
    evidence_name TEXT,
    evidence_key TEXT,
    evidence_sha256 TEXT,
    evidence_size INTEGER,
    ip TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('received', 'verifying', 'verified', 'decided')),
    verify_request TEXT NOT NULL DEFAULT '',
    verify_deadline INTEGER,
    findings TEXT NOT NULL DEFAULT '',
    verified_at INTEGER,
    verified_by TEXT,
    decision TEXT CHECK (decision IN ('upheld', 'rejected')),
    decision_reason TEXT NOT NULL DEFAULT '',
    outcome TEXT CHECK (outcome IN ('keep', 'cancel')),
    decided_at INTEGER,
    decided_by TEXT,
    version INTEGER NOT NULL DEFAULT 0,
    -- The enterprise's answer (申辩), once.
    answer TEXT NOT NULL DEFAULT '',
    answered_at INTEGER,
    created_at INTEGER NOT NULL
);
CREATE INDEX objections_batch ON objections(batch_id, created_at);
CREATE INDEX objections_phone ON objections(batch_id, phone);
CREATE INDEX objections_ip ON objections(ip, created_at);

-- 典型案例: a selected enterprise writes its case from its 申报书; the province
-- edits and approves it; approved cases are public.
CREATE TABLE cases (
    application_id TEXT PRIMARY KEY REFERENCES applications(id),
    batch_id TEXT NOT NULL,
    title TEXT NOT NULL,
    summary TEXT NOT NULL,
    body TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('draft', 'submitted', 'approved', 'returned')),
    note TEXT NOT NULL DEFAULT '',
    version INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    updated_by TEXT NOT NULL,
    approved_at INTEGER,
    approved_by TEXT
);
CREATE INDEX cases_status ON cases(status, approved_at);

CREATE TABLE case_images (
    id TEXT PRIMARY KEY,
    application_id TEXT NOT NULL REFERENCES applications(id),
    file_name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    storage_key TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX case_images_app ON case_images(application_id, created_at);
