-- Province package exports run as jobs; their progress is kept here so any
-- server process can show it.
CREATE TABLE export_jobs (
    id TEXT PRIMARY KEY,
    batch_id TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('running', 'done', 'failed')),
    done BIGINT NOT NULL,
    total BIGINT NOT NULL,
    file_name TEXT NOT NULL,
    size BIGINT,
    error TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    finished_at BIGINT
);
CREATE INDEX export_jobs_created ON export_jobs(created_at);
