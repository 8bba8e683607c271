-- The tamper-evident trail (issue #20, finding 8); see migrations/sqlite/0013.
CREATE TABLE integrity_links (
    chain TEXT NOT NULL CHECK (chain IN ('audit', 'versions')),
    n BIGINT NOT NULL,
    row_ref TEXT NOT NULL,
    algo TEXT NOT NULL,
    row_hash TEXT NOT NULL,
    hash TEXT NOT NULL,
    sealed_at BIGINT NOT NULL,
    PRIMARY KEY (chain, n)
);
CREATE UNIQUE INDEX integrity_links_row ON integrity_links(chain, row_ref);
CREATE FUNCTION integrity_links_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'integrity_links is append-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER integrity_links_no_change BEFORE UPDATE OR DELETE ON integrity_links
    FOR EACH ROW EXECUTE FUNCTION integrity_links_append_only();
