-- The city inbox's counts by state and industry read from the index alone
-- (issue #22: 5,900 applications of one city at 100,000 in all).
DROP INDEX applications_city_state;
CREATE INDEX applications_city_state ON applications(batch_id, city_code, state, industry);
-- Moves on after every committed write of any process (`Db::stamp`): what a
-- process computed from many rows is kept while it has not moved.
CREATE SEQUENCE shenbao_generation;
