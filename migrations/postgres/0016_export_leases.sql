-- Export jobs are held by a lease (issue #22): the process writing a package
-- renews it; when that process dies, another takes the job over.
ALTER TABLE export_jobs ADD COLUMN lease_owner TEXT NOT NULL DEFAULT '';
ALTER TABLE export_jobs ADD COLUMN lease_until BIGINT;
ALTER TABLE export_jobs ADD COLUMN attempts BIGINT NOT NULL DEFAULT 1;
CREATE INDEX export_jobs_running ON export_jobs(state, lease_until);
