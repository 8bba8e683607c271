-- A number people can read out on the phone: year of the batch, the city's
-- four digits, the application's place in its city (2021-4201-0007).
ALTER TABLE applications ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE applications ADD COLUMN number TEXT NOT NULL DEFAULT '';
UPDATE applications SET seq = (
    SELECT n FROM (
        SELECT id AS aid, ROW_NUMBER() OVER (PARTITION BY batch_id, city_code ORDER BY created_at, id) AS n
        FROM applications
    ) WHERE aid = applications.id
);
UPDATE applications SET number =
    (SELECT strftime('%Y', (b.opens_at / 1000) + 8 * 3600, 'unixepoch') FROM batches b WHERE b.id = applications.batch_id)
    || '-' || substr(city_code, 1, 4) || '-'
    || CASE WHEN seq < 10 THEN '000' WHEN seq < 100 THEN '00' WHEN seq < 1000 THEN '0' ELSE '' END
    || CAST(seq AS TEXT);
CREATE UNIQUE INDEX applications_number ON applications(batch_id, city_code, seq);
