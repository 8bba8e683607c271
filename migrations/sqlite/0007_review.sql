-- The province's review: per-batch settings (评价标准, draw sizes, 回避 and
-- aggregation rules), the expert pool (专家库) with each member's account,
-- the 保密与回避承诺 per batch, the recorded draws, one row per expert and
-- application (assignment and score together: experts never overwrite each
-- other), the panel's 专家组意见, and the shortlist.
CREATE TABLE review_settings (
    batch_id TEXT PRIMARY KEY REFERENCES batches(id),
    criteria TEXT NOT NULL,
    per_application INTEGER NOT NULL,
    max_per_expert INTEGER NOT NULL,
    same_city INTEGER NOT NULL,
    blind INTEGER NOT NULL,
    trimmed INTEGER NOT NULL,
    zscore INTEGER NOT NULL,
    spread_threshold INTEGER NOT NULL,
    score_deadline INTEGER,
    leader_expert_id TEXT,
    panels TEXT NOT NULL DEFAULT '[]',
    version INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    updated_by TEXT NOT NULL
);

CREATE TABLE experts (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL UNIQUE REFERENCES users(id),
    name TEXT NOT NULL,
    unit TEXT NOT NULL,
    title TEXT NOT NULL,
    fields TEXT NOT NULL,
    city_code TEXT NOT NULL,
    phone TEXT NOT NULL,
    email TEXT NOT NULL,
    avoid_units TEXT NOT NULL,
    active INTEGER NOT NULL DEFAULT 1,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX experts_phone ON experts(phone);

CREATE TABLE expert_pledges (
    batch_id TEXT NOT NULL,
    expert_id TEXT NOT NULL REFERENCES experts(id),
    accepted_at INTEGER NOT NULL,
    ip TEXT NOT NULL,
    PRIMARY KEY (batch_id, expert_id)
);

CREATE TABLE review_draws (
    id TEXT PRIMARY KEY,
    batch_id TEXT NOT NULL,
    seed TEXT NOT NULL,
    inputs TEXT NOT NULL,
    pairs INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    created_by TEXT NOT NULL
);
CREATE INDEX review_draws_batch ON review_draws(batch_id, created_at);

CREATE TABLE review_assignments (
    application_id TEXT NOT NULL REFERENCES applications(id),
    expert_id TEXT NOT NULL REFERENCES experts(id),
    batch_id TEXT NOT NULL,
    draw_id TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('assigned', 'declined', 'submitted')),
    decline_reason TEXT NOT NULL DEFAULT '',
    scores TEXT NOT NULL DEFAULT '{}',
    comment TEXT NOT NULL DEFAULT '',
    total_h INTEGER,
    version INTEGER NOT NULL DEFAULT 0,
    saved_at INTEGER,
    submitted_at INTEGER,
    PRIMARY KEY (application_id, expert_id)
);
CREATE INDEX review_assignments_expert ON review_assignments(expert_id, batch_id);
CREATE INDEX review_assignments_batch ON review_assignments(batch_id, application_id);

CREATE TABLE panel_opinions (
    application_id TEXT PRIMARY KEY REFERENCES applications(id),
    batch_id TEXT NOT NULL,
    opinion TEXT NOT NULL,
    conclusion TEXT NOT NULL CHECK (conclusion IN ('recommend', 'not_recommend')),
    signed INTEGER NOT NULL DEFAULT 0,
    updated_at INTEGER NOT NULL,
    updated_by TEXT NOT NULL
);
CREATE INDEX panel_opinions_batch ON panel_opinions(batch_id);

CREATE TABLE shortlists (
    batch_id TEXT PRIMARY KEY REFERENCES batches(id),
    locked_at INTEGER,
    locked_by TEXT,
    rule TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE shortlist_items (
    batch_id TEXT NOT NULL,
    application_id TEXT NOT NULL REFERENCES applications(id),
    rank INTEGER NOT NULL,
    final_h INTEGER NOT NULL,
    reason TEXT NOT NULL,
    PRIMARY KEY (batch_id, application_id)
);
