-- A batch created in the browser keeps the definition texts it was created
-- from (program.toml with its own [batch] table and 评价标准, form.toml,
-- notice.md), so its form, rules and notice read later as they were. Batches
-- without a row use the definition the server was started with.
CREATE TABLE batch_programs (
    batch_id TEXT PRIMARY KEY REFERENCES batches(id),
    program_toml TEXT NOT NULL,
    form_toml TEXT NOT NULL,
    notice_md TEXT,
    created_at BIGINT NOT NULL
);
