-- 企业更名 (#20 finding 7): the registered name, which the 申报书 is bound
-- to, changes only when the enterprise's city approves a request made with
-- the new 营业执照. One request at a time is open per enterprise.
CREATE TABLE name_changes (
    id TEXT PRIMARY KEY,
    enterprise_id TEXT NOT NULL REFERENCES users(id),
    city_code TEXT NOT NULL,
    old_name TEXT NOT NULL,
    new_name TEXT NOT NULL,
    reason TEXT NOT NULL,
    license_key TEXT NOT NULL,
    license_name TEXT NOT NULL,
    license_sha256 TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    decision TEXT NOT NULL DEFAULT '',
    decided_by TEXT,
    decided_at BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX name_changes_city ON name_changes(city_code, status, created_at);
CREATE INDEX name_changes_enterprise ON name_changes(enterprise_id, created_at);
CREATE UNIQUE INDEX name_changes_one_open ON name_changes(enterprise_id) WHERE status = 'pending';
