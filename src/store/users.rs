//! Accounts (all roles) and enterprise profiles.

use super::{Batch, Db, LoginKey, Millis, Result, Row};
use crate::domain::role::Role;
use crate::params;

#[derive(Debug, Clone)]
pub struct User {
    pub id: String,
    pub username: String,
    pub role: Role,
    pub display_name: String,
    pub city_code: Option<String>,
    pub password_hash: String,
    pub must_change_password: bool,
    pub disabled: bool,
    pub is_demo: bool,
    pub created_at: Millis,
    /// When the current password was set (expiry, temporary passwords).
    pub password_set_at: Millis,
}

macro_rules! user_cols {
    () => {
        "u.id, u.username, u.role, u.display_name, u.city_code, u.password_hash, \
         u.must_change_password, u.disabled, u.is_demo, u.created_at, u.password_set_at"
    };
}
pub(crate) use user_cols;

/// Number of columns `user_cols!` yields, for joined queries that read past them.
pub const USER_COLS: usize = 11;

impl User {
    /// The name of the account's city (city bureau accounts), or "".
    pub fn city_name(&self) -> &'static str {
        self.city_code
            .as_deref()
            .and_then(crate::domain::region::city)
            .map_or("", |c| c.name)
    }

    pub fn from_row(r: &Row) -> User {
        User {
            id: r.text(0),
            username: r.text(1),
            role: Role::parse(&r.text(2)).unwrap_or(Role::Enterprise),
            display_name: r.text(3),
            city_code: r.opt_text(4),
            password_hash: r.text(5),
            must_change_password: r.bool(6),
            disabled: r.bool(7),
            is_demo: r.bool(8),
            created_at: r.int(9),
            password_set_at: r.int(10),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Enterprise {
    pub user_id: String,
    pub credit_code: String,
    pub name: String,
    pub city_code: String,
    pub county_code: String,
    pub contact_name: String,
    pub mobile: String,
    pub email: String,
}

/// User names are compared case-insensitively; the stored form is lowercase.
pub fn normalize_username(s: &str) -> String {
    s.trim().to_lowercase()
}

pub async fn by_username(db: &Db, username: &str) -> Result<Option<User>> {
    let row = db
        .query_opt(
            concat!(
                "SELECT ",
                user_cols!(),
                " FROM users u WHERE u.username = $1"
            ),
            params![normalize_username(username)],
        )
        .await?;
    Ok(row.as_ref().map(User::from_row))
}

pub async fn by_id(db: &Db, id: &str) -> Result<Option<User>> {
    let row = db
        .query_opt(
            concat!("SELECT ", user_cols!(), " FROM users u WHERE u.id = $1"),
            params![id],
        )
        .await?;
    Ok(row.as_ref().map(User::from_row))
}

pub async fn list(db: &Db, role: Option<Role>) -> Result<Vec<User>> {
    let rows = db
        .query(
            concat!(
                "SELECT ",
                user_cols!(),
                " FROM users u WHERE ($1 = '' OR u.role = $1) ORDER BY u.role, u.city_code, u.username"
            ),
            params![role.map(Role::as_str).unwrap_or("")],
        )
        .await?;
    Ok(rows.iter().map(User::from_row).collect())
}

pub struct NewUser<'a> {
    pub id: &'a str,
    pub username: &'a str,
    pub role: Role,
    pub display_name: &'a str,
    pub city_code: Option<&'a str>,
    pub password_hash: &'a str,
    pub must_change_password: bool,
    pub is_demo: bool,
}

pub fn insert(b: &mut Batch, u: &NewUser<'_>, now: Millis) {
    b.push(
        "INSERT INTO users (id, username, role, display_name, city_code, password_hash, \
         must_change_password, disabled, is_demo, created_at, updated_at, password_set_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8, $9, $9, $9)",
        params![
            u.id,
            normalize_username(u.username),
            u.role.as_str(),
            u.display_name,
            u.city_code,
            u.password_hash,
            u.must_change_password,
            u.is_demo,
            now
        ],
    );
    push_history(b, u.id, u.password_hash, now);
}

/// Sets a new password (`must_change`: a temporary one, to be replaced at
/// the next login) and keeps its hash in the account's history.
pub fn set_password(b: &mut Batch, user_id: &str, hash: &str, must_change: bool, now: Millis) {
    b.push_one(
        "UPDATE users SET password_hash = $2, must_change_password = $3, updated_at = $4, \
         password_set_at = $4 WHERE id = $1",
        params![user_id, hash, must_change, now],
    )
    .changing_logins(LoginKey::User(user_id.into()));
    push_history(b, user_id, hash, now);
}

fn push_history(b: &mut Batch, user_id: &str, hash: &str, now: Millis) {
    b.push(
        "INSERT INTO password_history (user_id, password_hash, set_at) VALUES ($1, $2, $3)",
        params![user_id, hash, now],
    );
}

/// The hashes of the account's last `n` passwords, newest first (the
/// current one among them; several may be set within one millisecond).
pub async fn recent_password_hashes(db: &Db, user_id: &str, n: i64) -> Result<Vec<String>> {
    let rows = db
        .query(
            "SELECT password_hash FROM password_history WHERE user_id = $1 \
             ORDER BY id DESC LIMIT $2",
            params![user_id, n],
        )
        .await?;
    Ok(rows.iter().map(|r| r.text(0)).collect())
}

pub fn set_disabled(b: &mut Batch, user_id: &str, disabled: bool, now: Millis) {
    b.push_one(
        "UPDATE users SET disabled = $2, updated_at = $3 WHERE id = $1",
        params![user_id, disabled, now],
    )
    .changing_logins(LoginKey::User(user_id.into()));
}

pub fn update_staff(
    b: &mut Batch,
    user_id: &str,
    role: Role,
    display_name: &str,
    city: Option<&str>,
    now: Millis,
) {
    b.push_one(
        "UPDATE users SET role = $2, display_name = $3, city_code = $4, updated_at = $5 \
         WHERE id = $1 AND role <> 'enterprise'",
        params![user_id, role.as_str(), display_name, city, now],
    )
    .changing_logins(LoginKey::User(user_id.into()));
}

pub fn insert_enterprise(b: &mut Batch, e: &Enterprise, now: Millis) {
    b.push(
        "INSERT INTO enterprises (user_id, credit_code, name, city_code, county_code, contact_name, mobile, email, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        params![
            &e.user_id,
            &e.credit_code,
            &e.name,
            &e.city_code,
            &e.county_code,
            &e.contact_name,
            &e.mobile,
            &e.email,
            now
        ],
    );
}

fn enterprise_from_row(r: &Row) -> Enterprise {
    Enterprise {
        user_id: r.text(0),
        credit_code: r.text(1),
        name: r.text(2),
        city_code: r.text(3),
        county_code: r.text(4),
        contact_name: r.text(5),
        mobile: r.text(6),
        email: r.text(7),
    }
}

pub async fn enterprise(db: &Db, user_id: &str) -> Result<Option<Enterprise>> {
    let row = db
        .query_opt(
            "SELECT user_id, credit_code, name, city_code, county_code, contact_name, mobile, email \
             FROM enterprises WHERE user_id = $1",
            params![user_id],
        )
        .await?;
    Ok(row.as_ref().map(enterprise_from_row))
}

pub async fn enterprise_by_code(db: &Db, credit_code: &str) -> Result<Option<Enterprise>> {
    let row = db
        .query_opt(
            "SELECT user_id, credit_code, name, city_code, county_code, contact_name, mobile, email \
             FROM enterprises WHERE credit_code = $1",
            params![credit_code],
        )
        .await?;
    Ok(row.as_ref().map(enterprise_from_row))
}

/// Failed-login bookkeeping for a typed user name (existing or not).
#[derive(Debug, Clone, Copy, Default)]
pub struct Throttle {
    pub failures: i64,
    pub locked_until: Option<Millis>,
}

/// The lock-out's key: the normalized name and the client address (the
/// `username` column holds both, `name|address`; a name has no `|`).
pub fn throttle_key(username: &str, ip: &str) -> String {
    format!("{}|{ip}", normalize_username(username))
}

pub async fn throttle(db: &Db, key: &str) -> Result<Throttle> {
    let row = db
        .query_opt(
            "SELECT failures, locked_until FROM login_throttle WHERE username = $1",
            params![key],
        )
        .await?;
    Ok(row.map_or(Throttle::default(), |r| Throttle {
        failures: r.int(0),
        locked_until: r.opt_int(1),
    }))
}

/// Counts one failed login in SQL (`failures + 1`), so parallel guesses each
/// count; a lock that has run out starts a fresh count, a running one stays.
/// Then locks the name until `until` if the count reached `limit`: the
/// second statement changes a row exactly when this failure locked it.
pub fn count_failure(b: &mut Batch, key: &str, limit: i64, until: Millis, now: Millis) {
    b.push(
        "INSERT INTO login_throttle (username, failures, locked_until, updated_at) VALUES ($1, 1, NULL, $2) \
         ON CONFLICT (username) DO UPDATE SET \
         failures = CASE WHEN login_throttle.locked_until IS NOT NULL AND login_throttle.locked_until <= $2 THEN 1 \
                         ELSE login_throttle.failures + 1 END, \
         locked_until = CASE WHEN login_throttle.locked_until > $2 THEN login_throttle.locked_until ELSE NULL END, \
         updated_at = $2",
        params![key, now],
    );
    b.push(
        "UPDATE login_throttle SET failures = 0, locked_until = $3 \
         WHERE username = $1 AND failures >= $2 AND locked_until IS NULL",
        params![key, limit, until],
    );
}

/// Ends every lock-out of `username`, from every address (a reset).
pub fn clear_throttle(b: &mut Batch, username: &str) {
    let prefix = format!("{}|", normalize_username(username));
    b.push(
        "DELETE FROM login_throttle WHERE substr(username, 1, length($1)) = $1",
        params![prefix],
    );
}

/// Ends the lock-out count of one name and address (a login that succeeded).
pub fn clear_throttle_key(b: &mut Batch, key: &str) {
    b.push(
        "DELETE FROM login_throttle WHERE username = $1",
        params![key],
    );
}

/// A running lock-out: the name and address it holds (`name|address`),
/// and until when.
#[derive(Debug, Clone)]
pub struct Lockout {
    pub key: String,
    pub locked_until: Millis,
}

impl Lockout {
    pub fn name(&self) -> &str {
        self.key
            .split_once('|')
            .map_or(self.key.as_str(), |(n, _)| n)
    }
    pub fn address(&self) -> &str {
        self.key.split_once('|').map_or("", |(_, a)| a)
    }
}

/// The lock-outs still running at `now`, latest ending first.
pub async fn lockouts(db: &Db, now: Millis) -> Result<Vec<Lockout>> {
    let rows = db
        .query(
            "SELECT username, locked_until FROM login_throttle WHERE locked_until > $1 \
             ORDER BY locked_until DESC LIMIT 500",
            params![now],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| Lockout {
            key: r.text(0),
            locked_until: r.int(1),
        })
        .collect())
}

/// An enterprise as the city's list of local enterprises shows it.
#[derive(Debug, Clone)]
pub struct EnterpriseListed {
    pub name: String,
    pub credit_code: String,
    pub city_code: String,
    pub county_code: String,
    pub contact_name: String,
    pub mobile: String,
}

/// The enterprises registered in `city`, by name (at most `limit`).
pub async fn enterprises_in_city(db: &Db, city: &str, limit: i64) -> Result<Vec<EnterpriseListed>> {
    let rows = db
        .query(
            "SELECT name, credit_code, city_code, county_code, contact_name, mobile FROM enterprises \
             WHERE city_code = $1 ORDER BY name LIMIT $2",
            params![city, limit],
        )
        .await?;
    Ok(rows
        .into_iter()
        .map(|mut r| EnterpriseListed {
            name: r.take_text(0),
            credit_code: r.take_text(1),
            city_code: r.take_text(2),
            county_code: r.take_text(3),
            contact_name: r.take_text(4),
            mobile: r.take_text(5),
        })
        .collect())
}

/// How many accounts each role has.
pub async fn count_by_role(db: &Db) -> Result<Vec<(Role, i64)>> {
    let rows = db
        .query("SELECT role, COUNT(*) FROM users GROUP BY role", params![])
        .await?;
    Ok(Role::ALL
        .iter()
        .map(|r| {
            let n = rows
                .iter()
                .find(|row| row.text(0) == r.as_str())
                .map_or(0, |row| row.int(1));
            (*r, n)
        })
        .collect())
}
