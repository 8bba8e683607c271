-- Notifications: one outbox row per message, written in the same batch as the
-- state change that causes it. The row is the in-app message (read_at) and,
-- for recipients with an e-mail address, the e-mail to send: its Message-ID is
-- fixed when the row is written, a sender takes a lease on the row before
-- sending (lease_owner, lease_until), and records the server's answer.
CREATE TABLE outbox (
    id TEXT PRIMARY KEY,
    recipient_id TEXT NOT NULL REFERENCES users(id),
    kind TEXT NOT NULL,
    vars TEXT NOT NULL,
    link TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    read_at INTEGER,
    -- Reminders: one per (recipient, event, deadline); NULL for other messages.
    dedup_key TEXT UNIQUE,
    message_id TEXT NOT NULL,
    -- pending | sent | failed | none (no address, or e-mail turned off)
    mail_state TEXT NOT NULL CHECK (mail_state IN ('pending', 'sent', 'failed', 'none')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    lease_owner TEXT,
    lease_until INTEGER,
    answer TEXT NOT NULL DEFAULT '',
    sent_at INTEGER
);
CREATE INDEX outbox_recipient ON outbox(recipient_id, created_at);
CREATE INDEX outbox_unread ON outbox(recipient_id, read_at);
CREATE INDEX outbox_due ON outbox(mail_state, next_attempt_at);

-- Per-user e-mail preferences: a row turns e-mail of one kind off (or on
-- again); messages that must be sent ignore it. In-app messages always stay.
CREATE TABLE notify_prefs (
    user_id TEXT NOT NULL REFERENCES users(id),
    kind TEXT NOT NULL,
    email INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, kind)
);

-- "Has this account logged in before, and from this address?" (the notice of
-- a login from a new address) without scanning every login.
CREATE INDEX audit_actor_action ON audit_log(actor_id, action, at);
