-- The new-address check reads only successful logins: index just those.
-- The index of 0009 covered every audit row, so each score save and draft
-- save also wrote one page of it at the actor's place (a page per expert
-- in a group commit), which made it a fifth of the pages a score save wrote.
DROP INDEX audit_actor_action;
CREATE INDEX audit_logins ON audit_log(actor_id, ip) WHERE action = 'login.success';
