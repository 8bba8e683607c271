-- The tamper-evident trail (issue #20, finding 8). Each link seals one row
-- of a chained table (the audit log; the submitted versions) in a fixed
-- order: `row_hash` is the digest of the row's canonical bytes, `hash` the
-- digest of the link before and this row, so a row deleted, changed or
-- slipped in below the sealed head breaks the chain (`shenbao verify`).
-- Links are written by the sealer after the fact, never on a request's
-- write path; `algo` says which digest (sha256 or sm3) made the link.
CREATE TABLE integrity_links (
    chain TEXT NOT NULL CHECK (chain IN ('audit', 'versions')),
    n INTEGER NOT NULL,
    row_ref TEXT NOT NULL,
    algo TEXT NOT NULL,
    row_hash TEXT NOT NULL,
    hash TEXT NOT NULL,
    sealed_at INTEGER NOT NULL,
    PRIMARY KEY (chain, n)
);
CREATE UNIQUE INDEX integrity_links_row ON integrity_links(chain, row_ref);
CREATE TRIGGER integrity_links_no_update BEFORE UPDATE ON integrity_links
BEGIN SELECT RAISE(ABORT, 'integrity_links is append-only'); END;
CREATE TRIGGER integrity_links_no_delete BEFORE DELETE ON integrity_links
BEGIN SELECT RAISE(ABORT, 'integrity_links is append-only'); END;
