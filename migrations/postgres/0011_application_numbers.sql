-- A number people can read out on the phone: year of the batch, the city's
-- four digits, the application's place in its city (2021-4201-0007).
ALTER TABLE applications ADD COLUMN seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE applications ADD COLUMN number TEXT NOT NULL DEFAULT '';
UPDATE applications a SET seq = r.n FROM (
    SELECT id, ROW_NUMBER() OVER (PARTITION BY batch_id, city_code ORDER BY created_at, id) AS n
    FROM applications
) r WHERE r.id = a.id;
UPDATE applications a SET number =
    to_char(to_timestamp(b.opens_at / 1000 + 8 * 3600) AT TIME ZONE 'UTC', 'YYYY')
    || '-' || substr(a.city_code, 1, 4) || '-'
    || CASE WHEN a.seq < 10 THEN '000' WHEN a.seq < 100 THEN '00' WHEN a.seq < 1000 THEN '0' ELSE '' END
    || CAST(a.seq AS TEXT)
FROM batches b WHERE b.id = a.batch_id;
CREATE UNIQUE INDEX applications_number ON applications(batch_id, city_code, seq);
