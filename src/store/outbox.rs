//! The outbox: one row per message, inserted in the batch of the state change
//! that causes it (so a message exists if and only if the change committed).
//! The row is the recipient's in-app message and the e-mail a sender delivers:
//! the Message-ID is fixed at insert, a sender leases the row before sending
//! and records the server's answer afterwards.

use std::collections::BTreeMap;

use super::{Batch, Db, Millis, Result, Row, new_id};
use crate::domain::notify::Kind;
use crate::params;

/// A message to insert.
pub struct NewMessage<'a> {
    pub recipient_id: &'a str,
    pub kind: Kind,
    pub vars: BTreeMap<String, String>,
    /// The object the message is about (a local path).
    pub link: String,
    /// For reminders: one message per key, later inserts are ignored.
    pub dedup_key: Option<String>,
}

/// Adds the message to `b`.
pub fn push(b: &mut Batch, m: &NewMessage<'_>, now: Millis) {
    let id = new_id();
    let vars = serde_json::to_string(&m.vars).unwrap_or_else(|_| "{}".into());
    let message_id = format!("<{id}@shenbao>");
    if m.dedup_key.is_some() {
        b.push(
            "INSERT INTO outbox (id, recipient_id, kind, vars, link, created_at, dedup_key, message_id, mail_state, next_attempt_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending', $6) ON CONFLICT (dedup_key) DO NOTHING",
            params![id.as_str(), m.recipient_id, m.kind.code(), vars, m.link.as_str(), now, m.dedup_key.clone(), message_id],
        );
    } else {
        b.push(
            "INSERT INTO outbox (id, recipient_id, kind, vars, link, created_at, message_id, mail_state, next_attempt_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', $6)",
            params![
                id.as_str(),
                m.recipient_id,
                m.kind.code(),
                vars,
                m.link.as_str(),
                now,
                message_id
            ],
        );
    }
}

/// Adds an [`Kind::AccountLocked`] message to `b` that is written only if
/// the statements before it in `b` locked the `login_throttle` row keyed
/// `throttle_key` until `until` (the lock is decided in SQL, like its audit
/// entry).
pub fn push_if_locked(
    b: &mut Batch,
    user_id: &str,
    throttle_key: &str,
    until: Millis,
    vars: &BTreeMap<String, String>,
    now: Millis,
) {
    let id = new_id();
    let message_id = format!("<{id}@shenbao>");
    b.push(
        "INSERT INTO outbox (id, recipient_id, kind, vars, link, created_at, message_id, mail_state, next_attempt_at) \
         SELECT $1, $2, $3, $4, '/account', $5, $6, 'pending', $5 \
         WHERE EXISTS (SELECT 1 FROM login_throttle WHERE username = $7 AND locked_until = $8 AND failures = 0)",
        params![
            id.as_str(),
            user_id,
            Kind::AccountLocked.code(),
            serde_json::to_string(vars).unwrap_or_else(|_| "{}".into()),
            now,
            message_id,
            throttle_key,
            until
        ],
    );
}

/// Whether the user has logged in before, and from `ip` (for the notice of
/// a login from a new address).
pub async fn logins_before(db: &Db, user_id: &str, ip: &str) -> Result<(bool, bool)> {
    let any = db
        .query_opt(
            "SELECT 1 FROM audit_log WHERE actor_id = $1 AND action = 'login.success' LIMIT 1",
            params![user_id],
        )
        .await?
        .is_some();
    let here = any
        && db
            .query_opt(
                "SELECT 1 FROM audit_log WHERE ip = $2 AND action = 'login.success' AND actor_id = $1 LIMIT 1",
                params![user_id, ip],
            )
            .await?
            .is_some();
    Ok((any, here))
}

/// A stored message.
#[derive(Debug, Clone)]
pub struct Message {
    pub id: String,
    pub recipient_id: String,
    pub kind: Kind,
    pub vars: BTreeMap<String, String>,
    pub link: String,
    pub created_at: Millis,
    pub read_at: Option<Millis>,
    pub message_id: String,
    pub mail_state: String,
    pub attempts: i64,
    pub answer: String,
}

macro_rules! msg_cols {
    () => {
        "id, recipient_id, kind, vars, link, created_at, read_at, message_id, mail_state, attempts, answer"
    };
}

impl Message {
    fn from_row(r: &Row) -> Option<Message> {
        Some(Message {
            id: r.text(0),
            recipient_id: r.text(1),
            kind: Kind::from_code(&r.text(2))?,
            vars: serde_json::from_str(&r.text(3)).unwrap_or_default(),
            link: r.text(4),
            created_at: r.int(5),
            read_at: r.opt_int(6),
            message_id: r.text(7),
            mail_state: r.text(8),
            attempts: r.int(9),
            answer: r.text(10),
        })
    }
}

/// A user's messages, newest first.
pub async fn for_recipient(db: &Db, user_id: &str, limit: i64) -> Result<Vec<Message>> {
    let rows = db
        .query(
            concat!(
                "SELECT ",
                msg_cols!(),
                " FROM outbox WHERE recipient_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2"
            ),
            params![user_id, limit],
        )
        .await?;
    Ok(rows.iter().filter_map(Message::from_row).collect())
}

/// One of the user's messages (`None` for another's).
pub async fn one_for_recipient(db: &Db, user_id: &str, id: &str) -> Result<Option<Message>> {
    let row = db
        .query_opt(
            concat!(
                "SELECT ",
                msg_cols!(),
                " FROM outbox WHERE id = $1 AND recipient_id = $2"
            ),
            params![id, user_id],
        )
        .await?;
    Ok(row.as_ref().and_then(Message::from_row))
}

/// Every message, oldest first (tests and the operator's checks).
pub async fn all(db: &Db) -> Result<Vec<Message>> {
    let rows = db
        .query(
            concat!(
                "SELECT ",
                msg_cols!(),
                " FROM outbox ORDER BY created_at, id"
            ),
            Vec::new(),
        )
        .await?;
    Ok(rows.iter().filter_map(Message::from_row).collect())
}

pub async fn unread_count(db: &Db, user_id: &str) -> Result<i64> {
    let row = db
        .query_opt(
            "SELECT COUNT(*) FROM outbox WHERE recipient_id = $1 AND read_at IS NULL",
            params![user_id],
        )
        .await?;
    Ok(row.map_or(0, |r| r.int(0)))
}

/// Marks one of the user's messages read (another's is not touched).
pub fn mark_read(b: &mut Batch, user_id: &str, id: &str, now: Millis) {
    b.push(
        "UPDATE outbox SET read_at = $3 WHERE id = $1 AND recipient_id = $2 AND read_at IS NULL",
        params![id, user_id, now],
    );
}

pub fn mark_all_read(b: &mut Batch, user_id: &str, now: Millis) {
    b.push(
        "UPDATE outbox SET read_at = $2 WHERE recipient_id = $1 AND read_at IS NULL",
        params![user_id, now],
    );
}

/// Ids of e-mails due now whose lease is free, oldest first.
pub async fn due(db: &Db, now: Millis, limit: i64) -> Result<Vec<String>> {
    let rows = db
        .query(
            "SELECT id FROM outbox WHERE mail_state = 'pending' AND next_attempt_at <= $1 \
             AND (lease_until IS NULL OR lease_until < $1) ORDER BY next_attempt_at, id LIMIT $2",
            params![now, limit],
        )
        .await?;
    Ok(rows.iter().map(|r| r.text(0)).collect())
}

/// Takes the lease on a due e-mail for `owner` until `until`; false when
/// another sender holds it or it is no longer due.
pub async fn claim(db: &Db, id: &str, owner: &str, now: Millis, until: Millis) -> Result<bool> {
    let changed = db
        .write(Batch::one(
            "UPDATE outbox SET lease_owner = $2, lease_until = $4 WHERE id = $1 AND mail_state = 'pending' \
             AND next_attempt_at <= $3 AND (lease_until IS NULL OR lease_until < $3)",
            params![id, owner, now, until],
        ))
        .await?;
    Ok(changed.first().copied() == Some(1))
}

/// Takes the leases on several due e-mails in one write; returns the ids
/// this sender got (another sender's are left out).
pub async fn claim_many(
    db: &Db,
    ids: &[String],
    owner: &str,
    now: Millis,
    until: Millis,
) -> Result<Vec<String>> {
    let mut b = Batch::new();
    for id in ids {
        b.push(
            "UPDATE outbox SET lease_owner = $2, lease_until = $4 WHERE id = $1 AND mail_state = 'pending' \
             AND next_attempt_at <= $3 AND (lease_until IS NULL OR lease_until < $3)",
            params![id.as_str(), owner, now, until],
        );
    }
    let changed = db.write(b).await?;
    Ok(ids
        .iter()
        .zip(changed)
        .filter(|(_, n)| *n == 1)
        .map(|(id, _)| id.clone())
        .collect())
}

/// A leased e-mail as the sender needs it.
pub struct Outgoing {
    pub message: Message,
    /// The recipient's address ("" when none).
    pub address: String,
    pub name: String,
    /// The recipient wants e-mail of this kind (their preference, default yes).
    pub wanted: bool,
}

pub async fn for_sending(db: &Db, id: &str) -> Result<Option<Outgoing>> {
    let row = db
        .query_opt(
            "SELECT o.id, o.recipient_id, o.kind, o.vars, o.link, o.created_at, o.read_at, o.message_id, \
             o.mail_state, o.attempts, o.answer, COALESCE(e.email, x.email, ''), u.display_name, \
             COALESCE((SELECT p.email FROM notify_prefs p WHERE p.user_id = o.recipient_id AND p.kind = o.kind), 1) \
             FROM outbox o JOIN users u ON u.id = o.recipient_id \
             LEFT JOIN enterprises e ON e.user_id = o.recipient_id \
             LEFT JOIN experts x ON x.user_id = o.recipient_id WHERE o.id = $1",
            params![id],
        )
        .await?;
    Ok(row.and_then(|r| {
        Message::from_row(&r).map(|message| Outgoing {
            message,
            address: r.text(11),
            name: r.text(12),
            wanted: r.int(13) != 0,
        })
    }))
}

/// The kinds whose e-mail the user turned off.
pub async fn emails_off(db: &Db, user_id: &str) -> Result<Vec<Kind>> {
    let rows = db
        .query(
            "SELECT kind FROM notify_prefs WHERE user_id = $1 AND email = 0",
            params![user_id],
        )
        .await?;
    Ok(rows
        .iter()
        .filter_map(|r| Kind::from_code(&r.text(0)))
        .collect())
}

/// Turns e-mail of `kind` on or off for the user.
pub fn set_email(b: &mut Batch, user_id: &str, kind: Kind, on: bool, now: Millis) {
    b.push(
        "INSERT INTO notify_prefs (user_id, kind, email, updated_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (user_id, kind) DO UPDATE SET email = $3, updated_at = $4",
        params![user_id, kind.code(), on, now],
    );
}

/// Records the outcome of a send by the lease holder: `state` is `sent`,
/// `failed` (final) or `pending` (tried again at `next_at`), or `none` (no
/// e-mail for this message).
pub async fn record(
    db: &Db,
    id: &str,
    owner: &str,
    state: &str,
    answer: &str,
    next_at: Millis,
    now: Millis,
) -> Result<bool> {
    let changed = db
        .write(Batch::one(
            "UPDATE outbox SET mail_state = $3, answer = $4, attempts = attempts + CASE WHEN $3 = 'none' THEN 0 ELSE 1 END, \
             next_attempt_at = $5, lease_owner = NULL, lease_until = NULL, \
             sent_at = CASE WHEN $3 = 'sent' THEN $6 ELSE sent_at END \
             WHERE id = $1 AND lease_owner = $2",
            params![id, owner, state, answer, next_at, now],
        ))
        .await?;
    Ok(changed.first().copied() == Some(1))
}
