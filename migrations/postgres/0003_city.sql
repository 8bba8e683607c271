-- The city bureau's work: the screening checklist (edited by the province),
-- screening decisions, scoring sheets and scores, hand-ordered ties, the
-- province's caps per city, and each city's recommendation with its ordered
-- list and stamped files.
CREATE TABLE screening_items (
    key TEXT PRIMARY KEY,
    label TEXT NOT NULL,
    hint TEXT NOT NULL,
    position BIGINT NOT NULL,
    active BIGINT NOT NULL DEFAULT 1
);
INSERT INTO screening_items (key, label, hint, position, active) VALUES
    ('complete', '材料齐全', '申报书各部分及附件1所列证明材料均已提供。', 1, 1),
    ('license_valid', '营业执照有效', '营业执照在有效期内，企业名称、统一社会信用代码与申报书一致。', 2, 1),
    ('audit_reports', '近两年审计报告齐全', '提供了近两年的企业财务审计报告。', 3, 1),
    ('scan_matches', '盖章扫描件与在线版本一致', '盖章扫描件页脚打印的版本指纹与平台上提交版本的指纹一致。', 4, 1),
    ('eligible', '符合申报要求', '符合通知“二、申报要求”：湖北省境内注册的独立法人工业企业，信用良好，近两年上云持续投入，且不是已有标杆企业。', 5, 1);

CREATE TABLE screenings (
    id TEXT PRIMARY KEY,
    application_id TEXT NOT NULL REFERENCES applications(id),
    version BIGINT NOT NULL,
    decision TEXT NOT NULL CHECK (decision IN ('passed', 'returned', 'rejected')),
    checks TEXT NOT NULL,
    reason TEXT NOT NULL,
    resubmit_deadline BIGINT,
    created_at BIGINT NOT NULL,
    created_by TEXT NOT NULL
);
CREATE INDEX screenings_app ON screenings(application_id, created_at);

-- city_code '' holds the province's default sheet (batch_id '' too).
CREATE TABLE scoring_sheets (
    batch_id TEXT NOT NULL,
    city_code TEXT NOT NULL,
    source TEXT NOT NULL CHECK (source IN ('province', 'city')),
    criteria TEXT NOT NULL,
    version BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    updated_by TEXT NOT NULL,
    PRIMARY KEY (batch_id, city_code)
);

-- One row per reviewer and application: reviewers never overwrite each other.
CREATE TABLE city_scores (
    application_id TEXT NOT NULL REFERENCES applications(id),
    reviewer_id TEXT NOT NULL REFERENCES users(id),
    reviewer_name TEXT NOT NULL,
    batch_id TEXT NOT NULL,
    city_code TEXT NOT NULL,
    scores TEXT NOT NULL,
    comment TEXT NOT NULL,
    version BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (application_id, reviewer_id)
);
-- Covers the ranking's read of every score in a city.
CREATE INDEX city_scores_city ON city_scores(batch_id, city_code, application_id, scores);

CREATE TABLE tie_orders (
    application_id TEXT PRIMARY KEY REFERENCES applications(id),
    batch_id TEXT NOT NULL,
    city_code TEXT NOT NULL,
    position BIGINT NOT NULL,
    reason TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    updated_by TEXT NOT NULL
);
CREATE INDEX tie_orders_city ON tie_orders(batch_id, city_code);

CREATE TABLE city_caps (
    batch_id TEXT NOT NULL REFERENCES batches(id),
    city_code TEXT NOT NULL,
    cap BIGINT NOT NULL,
    PRIMARY KEY (batch_id, city_code)
);

CREATE TABLE recommendations (
    batch_id TEXT NOT NULL REFERENCES batches(id),
    city_code TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('draft', 'submitted')),
    version BIGINT NOT NULL,
    submitted_at BIGINT,
    submitted_by TEXT,
    reopened_at BIGINT,
    reopened_by TEXT,
    reopen_reason TEXT NOT NULL DEFAULT '',
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (batch_id, city_code)
);

CREATE TABLE recommendation_items (
    application_id TEXT PRIMARY KEY REFERENCES applications(id),
    batch_id TEXT NOT NULL,
    city_code TEXT NOT NULL,
    rank BIGINT NOT NULL,
    reason TEXT NOT NULL,
    opinion TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    updated_by TEXT NOT NULL
);
CREATE INDEX recommendation_items_city ON recommendation_items(batch_id, city_code, rank);

CREATE TABLE recommendation_files (
    id TEXT PRIMARY KEY,
    batch_id TEXT NOT NULL,
    city_code TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('letter', 'table_scan')),
    file_name TEXT NOT NULL,
    size BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    storage_key TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    deleted_at BIGINT
);
CREATE INDEX recommendation_files_city ON recommendation_files(batch_id, city_code, kind);

-- The city inbox: one city's applications in a batch, newest submission
-- first; it covers the inbox's filters and columns, so counting, filtering
-- and listing read the index only.
CREATE INDEX applications_city_inbox ON applications(batch_id, city_code, submitted_at, id,
    state, industry, county_code, enterprise_name, credit_code, updated_at);
