//! Login sessions, kept in the database so the web tier holds no state.
//! Only the SHA-256 of a session token is stored.
//!
//! On SQLite (one server process owns the file) each request's session read
//! is answered from a small cache of what was read before, invalidated by
//! key: every statement that may change a login says whose
//! ([`LoginKey`], `Batch::changing_logins`), and after its commit the
//! entries of that account or session are dropped. A read that an
//! invalidation overtook (one committed while it ran) is not cached. Only
//! changes made by another process on the same file (the `shenbao user`
//! command) wait for the entry to age out, within `CACHE_TTL`. PostgreSQL,
//! which may serve several processes, reads every time.
//!
//! Kept for the page figures (issue #16): without it every page load on
//! SQLite reads the session and its account again.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::users::{USER_COLS, User, user_cols};
use super::{Batch, Db, LoginKey, Millis, Result};
use crate::params;

const INSERT: &str = "INSERT INTO sessions (id_hash, user_id, csrf, created_at, last_seen, ip, user_agent, mfa_pending) \
         VALUES ($1, $2, $3, $4, $4, $5, $6, $7)";
const TOUCH: &str = "UPDATE sessions SET last_seen = $2 WHERE id_hash = $1";
const CACHE_TTL: Duration = Duration::from_secs(2);
const CACHE_MAX: usize = 20_000;

#[derive(Default)]
pub struct LoginCache {
    /// Moves on with every invalidation: a read that saw it move is not kept.
    invalidations: AtomicU64,
    entries: Mutex<HashMap<String, Cached>>,
}

struct Cached {
    expires_at: Instant,
    session: Session,
    user: User,
}

impl LoginCache {
    /// Drops what the committed statements' keys name (called after the
    /// commit, or its failure).
    pub fn changed<'a>(&self, keys: impl Iterator<Item = &'a LoginKey>) {
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
        for key in keys {
            self.invalidations.fetch_add(1, Ordering::SeqCst);
            match key {
                LoginKey::Session(h) => {
                    entries.remove(h);
                }
                LoginKey::User(id) => entries.retain(|_, c| c.user.id != *id),
                LoginKey::Every => entries.clear(),
            }
        }
    }

    fn get(&self, id_hash: &str) -> Option<(Session, User)> {
        let entries = self.entries.lock().ok()?;
        let c = entries.get(id_hash)?;
        (Instant::now() < c.expires_at).then(|| (c.session.clone(), c.user.clone()))
    }

    /// Keeps a read that began when the invalidation count was `seen`,
    /// unless an invalidation came since.
    fn put(&self, seen: u64, read_at: Instant, session: &Session, user: &User) {
        if let Ok(mut entries) = self.entries.lock() {
            if self.invalidations.load(Ordering::SeqCst) != seen {
                return;
            }
            if entries.len() >= CACHE_MAX {
                entries.clear();
            }
            entries.insert(
                session.id_hash.clone(),
                Cached {
                    expires_at: read_at + lifetime(&session.id_hash),
                    session: session.clone(),
                    user: user.clone(),
                },
            );
        }
    }

    /// Drops one session's entry (after its `last_seen` was moved).
    fn forget(&self, id_hash: &str) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.remove(id_hash);
        }
    }
}

/// Between half of `CACHE_TTL` and all of it, by the session: entries read
/// together (a room of users that logged in together) do not all age out in
/// the same instant and send a burst of reads to the database at once.
fn lifetime(id_hash: &str) -> Duration {
    // The hash is hex: its first four digits spread evenly over 0..65536.
    let spread = id_hash
        .get(..4)
        .and_then(|h| u32::from_str_radix(h, 16).ok())
        .unwrap_or(0);
    CACHE_TTL / 2 + CACHE_TTL.mul_f64(f64::from(spread) / 131_072.0)
}

#[derive(Debug, Clone)]
pub struct Session {
    pub id_hash: String,
    pub csrf: String,
    pub created_at: Millis,
    pub last_seen: Millis,
    /// Past the password, not yet past the second factor: the session
    /// reaches only the two-factor pages.
    pub mfa_pending: bool,
}

pub struct NewSession<'a> {
    pub id_hash: &'a str,
    pub user_id: &'a str,
    pub csrf: &'a str,
    pub ip: &'a str,
    pub user_agent: &'a str,
    pub mfa_pending: bool,
}

pub fn insert(b: &mut Batch, s: &NewSession<'_>, now: Millis) {
    b.push(
        INSERT,
        params![
            s.id_hash,
            s.user_id,
            s.csrf,
            now,
            s.ip,
            s.user_agent,
            s.mfa_pending
        ],
    );
}

/// The session and its user, in one read (or none, from the cache). Called
/// before a request's read scope opens, so the read sees every commit made
/// before the generation it is cached under.
pub async fn find(db: &Db, id_hash: &str) -> Result<Option<(Session, User)>> {
    let cache = db.login_cache();
    if let Some(hit) = cache.and_then(|c| c.get(id_hash)) {
        return Ok(Some(hit));
    }
    let seen = cache.map(|c| c.invalidations.load(Ordering::SeqCst));
    let read_at = Instant::now();
    let row = db
        .query_opt(
            concat!(
                "SELECT ",
                user_cols!(),
                ", s.id_hash, s.csrf, s.created_at, s.last_seen, s.mfa_pending \
                 FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id_hash = $1"
            ),
            params![id_hash],
        )
        .await?;
    let found = row.map(|r| (session_from(&r), User::from_row(&r)));
    if let (Some(c), Some(seen), Some((s, u))) = (cache, seen, &found) {
        c.put(seen, read_at, s, u);
    }
    Ok(found)
}

/// [`find`], the user's unread messages and the store's stamp in one read:
/// a page load on PostgreSQL, which has no session cache, then makes one
/// round trip (the stamp is kept for the request, `Db::read_scope`).
pub async fn find_counting_unread(
    db: &Db,
    id_hash: &str,
) -> Result<Option<(Session, User, i64, u64)>> {
    let row = db
        .query_opt(
            concat!(
                "SELECT ",
                user_cols!(),
                ", s.id_hash, s.csrf, s.created_at, s.last_seen, s.mfa_pending, \
                 (SELECT COUNT(*) FROM outbox o WHERE o.recipient_id = u.id AND o.read_at IS NULL), \
                 (SELECT last_value FROM shenbao_generation) \
                 FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id_hash = $1"
            ),
            params![id_hash],
        )
        .await?;
    Ok(row.map(|r| {
        (
            session_from(&r),
            User::from_row(&r),
            r.int(USER_COLS + 5),
            r.int(USER_COLS + 6) as u64,
        )
    }))
}

/// The session's columns, read after the user's.
fn session_from(r: &super::Row) -> Session {
    let n = USER_COLS;
    Session {
        id_hash: r.text(n),
        csrf: r.text(n + 1),
        created_at: r.int(n + 2),
        last_seen: r.int(n + 3),
        mfa_pending: r.bool(n + 4),
    }
}

/// Moves the session's last activity to `now`, and drops its cached read
/// (which still holds the old time).
pub async fn touch(db: &Db, id_hash: &str, now: Millis) -> Result<()> {
    db.write(Batch::one(TOUCH, params![id_hash, now])).await?;
    if let Some(cache) = db.login_cache() {
        cache.forget(id_hash);
    }
    Ok(())
}

pub fn delete(b: &mut Batch, id_hash: &str) {
    b.push("DELETE FROM sessions WHERE id_hash = $1", params![id_hash])
        .changing_logins(LoginKey::Session(id_hash.into()));
}

/// Ends all but the `keep` most recently used other sessions of a user,
/// beside `newest` (the one just made): a stolen password cannot keep
/// sessions open without limit, and signing in on one more device ends
/// the one left longest ago.
pub fn keep_newest(b: &mut Batch, user_id: &str, newest: &str, keep: i64) {
    b.push(
        "DELETE FROM sessions WHERE user_id = $1 AND id_hash <> $2 AND id_hash NOT IN \
         (SELECT id_hash FROM sessions WHERE user_id = $1 AND id_hash <> $2 \
          ORDER BY last_seen DESC, created_at DESC LIMIT $3)",
        params![user_id, newest, keep],
    )
    .changing_logins(LoginKey::User(user_id.into()));
}

pub fn delete_all_for_user(b: &mut Batch, user_id: &str) {
    b.push("DELETE FROM sessions WHERE user_id = $1", params![user_id])
        .changing_logins(LoginKey::User(user_id.into()));
}

/// Removes sessions past either timeout (housekeeping; expiry is also checked on every read).
pub fn delete_expired(b: &mut Batch, now: Millis, idle_ms: Millis, absolute_ms: Millis) {
    b.push(
        "DELETE FROM sessions WHERE last_seen < $1 OR created_at < $2",
        params![now - idle_ms, now - absolute_ms],
    )
    .changing_logins(LoginKey::Every);
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

/// A session as the security administrator sees it.
#[derive(Debug, Clone)]
pub struct Active {
    pub user_id: String,
    pub username: String,
    pub role: String,
    pub ip: String,
    pub created_at: Millis,
    pub last_seen: Millis,
    pub mfa_pending: bool,
}

/// The sessions used most recently (at most `limit`).
pub async fn active(db: &Db, limit: i64) -> Result<Vec<Active>> {
    let rows = db
        .query(
            "SELECT s.user_id, u.username, u.role, s.ip, s.created_at, s.last_seen, s.mfa_pending \
             FROM sessions s JOIN users u ON u.id = s.user_id ORDER BY s.last_seen DESC LIMIT $1",
            params![limit],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| Active {
            user_id: r.text(0),
            username: r.text(1),
            role: r.text(2),
            ip: r.text(3),
            created_at: r.int(4),
            last_seen: r.int(5),
            mfa_pending: r.bool(6),
        })
        .collect())
}
