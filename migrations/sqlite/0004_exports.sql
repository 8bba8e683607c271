-- Province package exports run as jobs; their progress is kept here so any
-- server process can show it.
CREATE TABLE export_jobs (
    id TEXT PRIMARY KEY,
    batch_id TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('running', 'done', 'failed')),
    done INTEGER NOT NULL,
    total INTEGER NOT NULL,
    file_name TEXT NOT NULL,
    size INTEGER,
    error TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    finished_at INTEGER
);
CREATE INDEX export_jobs_created ON export_jobs(created_at);
