//! Login sessions, kept in the database so the web tier holds no state.
//! Only the SHA-256 of a session token is stored.

use super::users::{USER_COLS, User, user_cols};
use super::{Batch, Db, Millis, Result};
use crate::params;

#[derive(Debug, Clone)]
pub struct Session {
    pub id_hash: String,
    pub csrf: String,
    pub created_at: Millis,
    pub last_seen: Millis,
}

pub struct NewSession<'a> {
    pub id_hash: &'a str,
    pub user_id: &'a str,
    pub csrf: &'a str,
    pub ip: &'a str,
    pub user_agent: &'a str,
}

pub fn insert(b: &mut Batch, s: &NewSession<'_>, now: Millis) {
    b.push(
        "INSERT INTO sessions (id_hash, user_id, csrf, created_at, last_seen, ip, user_agent) \
         VALUES ($1, $2, $3, $4, $4, $5, $6)",
        params![s.id_hash, s.user_id, s.csrf, now, s.ip, s.user_agent],
    );
}

/// The session and its user, in one read.
pub async fn find(db: &Db, id_hash: &str) -> Result<Option<(Session, User)>> {
    let row = db
        .query_opt(
            concat!(
                "SELECT ",
                user_cols!(),
                ", s.id_hash, s.csrf, s.created_at, s.last_seen \
                 FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id_hash = $1"
            ),
            params![id_hash],
        )
        .await?;
    Ok(row.map(|r| {
        let n = USER_COLS;
        let session = Session {
            id_hash: r.text(n),
            csrf: r.text(n + 1),
            created_at: r.int(n + 2),
            last_seen: r.int(n + 3),
        };
        (session, User::from_row(&r))
    }))
}

pub fn touch(b: &mut Batch, id_hash: &str, now: Millis) {
    b.push(
        "UPDATE sessions SET last_seen = $2 WHERE id_hash = $1",
        params![id_hash, now],
    );
}

pub fn delete(b: &mut Batch, id_hash: &str) {
    b.push("DELETE FROM sessions WHERE id_hash = $1", params![id_hash]);
}

pub fn delete_all_for_user(b: &mut Batch, user_id: &str) {
    b.push("DELETE FROM sessions WHERE user_id = $1", params![user_id]);
}

/// Removes sessions past either timeout (housekeeping; expiry is also checked on every read).
pub fn delete_expired(b: &mut Batch, now: Millis, idle_ms: Millis, absolute_ms: Millis) {
    b.push(
        "DELETE FROM sessions WHERE last_seen < $1 OR created_at < $2",
        params![now - idle_ms, now - absolute_ms],
    );
}

pub async fn count_for_user(db: &Db, user_id: &str) -> Result<i64> {
    let row = db
        .query_opt(
            "SELECT COUNT(*) FROM sessions WHERE user_id = $1",
            params![user_id],
        )
        .await?;
    Ok(row.map_or(0, |r| r.int(0)))
}
