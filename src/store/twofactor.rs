//! Two-factor login state: each account's TOTP secret (with the last step
//! accepted) and its single-use recovery codes (hashes only). Secrets are
//! stored sealed by the key outside the database (`secret_key`).

use super::{Batch, Db, Millis, Result};
use crate::params;

#[derive(Debug, Clone)]
pub struct Totp {
    /// The secret in clear; empty when the stored value does not open with
    /// this server's key (then no code matches).
    pub secret: String,
    /// The secret as stored (sealed).
    pub stored: String,
    /// None while the enrolment waits for its confirming code.
    pub enrolled_at: Option<Millis>,
    pub last_step: i64,
}

impl Totp {
    pub fn enrolled(&self) -> bool {
        self.enrolled_at.is_some()
    }
}

pub async fn of_user(db: &Db, user_id: &str) -> Result<Option<Totp>> {
    let row = db
        .query_opt(
            "SELECT secret, enrolled_at, last_step FROM user_totp WHERE user_id = $1",
            params![user_id],
        )
        .await?;
    Ok(row.map(|r| {
        let stored = r.text(0);
        let secret = db.secret_key().open(user_id, &stored).unwrap_or_else(|| {
            tracing::error!(
                user_id,
                "a TOTP secret does not open with this server's key (secret.key missing or changed?)"
            );
            String::new()
        });
        Totp {
            secret,
            stored,
            enrolled_at: r.opt_int(1),
            last_step: r.int(2),
        }
    }))
}

/// Seals the secrets an older version kept in clear (run when the store is
/// opened; a no-op once every secret is sealed).
pub async fn seal_kept_in_clear(db: &Db) -> Result<()> {
    let rows = db
        .query(
            "SELECT user_id, secret FROM user_totp WHERE secret NOT LIKE 'v1.%'",
            params![],
        )
        .await?;
    if rows.is_empty() {
        return Ok(());
    }
    let mut b = Batch::new();
    for r in &rows {
        let (user_id, plain) = (r.text(0), r.text(1));
        let sealed = db.secret_key().seal(&user_id, &plain);
        b.push(
            "UPDATE user_totp SET secret = $3 WHERE user_id = $1 AND secret = $2",
            params![user_id, plain, sealed],
        );
    }
    db.write(b).await?;
    tracing::info!("sealed {} TOTP secrets kept in clear", rows.len());
    Ok(())
}

/// Whether the account has confirmed a second factor.
pub async fn enrolled(db: &Db, user_id: &str) -> Result<bool> {
    Ok(of_user(db, user_id).await?.is_some_and(|t| t.enrolled()))
}

/// Keeps `secret` as the account's enrolment waiting for its code, unless
/// one is already waiting or confirmed (a second tab shows the same QR code).
pub fn start(db: &Db, b: &mut Batch, user_id: &str, secret: &str, now: Millis) {
    let secret = db.secret_key().seal(user_id, secret);
    b.push(
        "INSERT INTO user_totp (user_id, secret, enrolled_at, last_step, created_at) \
         VALUES ($1, $2, NULL, 0, $3) ON CONFLICT (user_id) DO NOTHING",
        params![user_id, secret, now],
    );
}

/// Enrols the account with a known secret unless it has one (the demo
/// accounts). Pushed after the account's own insert in the same batch.
pub fn enrol_fixed(db: &Db, b: &mut Batch, user_id: &str, secret: &str, now: Millis) {
    let secret = db.secret_key().seal(user_id, secret);
    b.push(
        "INSERT INTO user_totp (user_id, secret, enrolled_at, last_step, created_at) \
         VALUES ($1, $2, $3, 0, $3) ON CONFLICT (user_id) DO NOTHING",
        params![user_id, secret, now],
    );
}

/// Confirms the waiting enrolment whose stored secret is `stored` with the
/// code of `step`; changes no row (the batch then fails) if the secret was
/// replaced or is already confirmed.
pub fn confirm(b: &mut Batch, user_id: &str, stored: &str, step: i64, now: Millis) {
    b.push_one(
        "UPDATE user_totp SET enrolled_at = $3, last_step = $4 \
         WHERE user_id = $1 AND secret = $2 AND enrolled_at IS NULL",
        params![user_id, stored, now, step],
    );
}

/// Spends the code of `step`: changes no row (the batch then fails) when
/// that step or a later one was already accepted, so two requests racing
/// with one code cannot both pass.
pub fn use_step(b: &mut Batch, user_id: &str, step: i64) {
    b.push_one(
        "UPDATE user_totp SET last_step = $2 WHERE user_id = $1 AND last_step < $2 \
         AND enrolled_at IS NOT NULL",
        params![user_id, step],
    );
}

/// Removes the second factor and its recovery codes.
pub fn remove(b: &mut Batch, user_id: &str) {
    b.push("DELETE FROM user_totp WHERE user_id = $1", params![user_id]);
    b.push(
        "DELETE FROM recovery_codes WHERE user_id = $1",
        params![user_id],
    );
}

/// Replaces the account's recovery codes with `hashes`.
pub fn set_recovery_codes(b: &mut Batch, user_id: &str, hashes: &[String], now: Millis) {
    b.push(
        "DELETE FROM recovery_codes WHERE user_id = $1",
        params![user_id],
    );
    for h in hashes {
        b.push(
            "INSERT INTO recovery_codes (user_id, code_hash, used_at, created_at) VALUES ($1, $2, NULL, $3)",
            params![user_id, h.as_str(), now],
        );
    }
}

/// Spends an unused recovery code; changes no row (the batch then fails)
/// when there is no such unused code.
pub fn use_recovery_code(b: &mut Batch, user_id: &str, hash: &str, now: Millis) {
    b.push_one(
        "UPDATE recovery_codes SET used_at = $3 WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL",
        params![user_id, hash, now],
    );
}

/// Whether `hash` is an unused recovery code of the account.
pub async fn has_recovery_code(db: &Db, user_id: &str, hash: &str) -> Result<bool> {
    Ok(db
        .query_opt(
            "SELECT 1 FROM recovery_codes WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL",
            params![user_id, hash],
        )
        .await?
        .is_some())
}

pub async fn unused_recovery_codes(db: &Db, user_id: &str) -> Result<i64> {
    let row = db
        .query_opt(
            "SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL",
            params![user_id],
        )
        .await?;
    Ok(row.map_or(0, |r| r.int(0)))
}
