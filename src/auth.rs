//! Authentication: password hashing (argon2id) and the login decision with
//! lock-out and per-address throttling. Unknown user names are verified
//! against a dummy hash, so answer and timing do not tell them apart.

use std::sync::LazyLock;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::clock::Clock;
use crate::config::Config;
use crate::store::audit::{self, Action, Actor};
use crate::store::users::{self, User};
use crate::store::{Batch, Db, Millis};

fn hasher() -> Argon2<'static> {
    // OWASP's argon2id minimum: 19 MiB, 2 passes, 1 lane.
    let params = Params::new(19 * 1024, 2, 1, None).expect("valid argon2 params");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

fn hash_now(password: &str) -> String {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).expect("operating system random source");
    let salt = SaltString::encode_b64(&salt).expect("16-byte salt");
    hasher()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 hashing")
        .to_string()
}

static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| hash_now("dummy-password-for-timing"));

/// How many hashes run at once. Each takes 19 MiB and tens of milliseconds
/// of one core, so more than two per core only adds memory: a morning-of-
/// the-deadline storm of 500 logins would otherwise hold ~10 GB at once
/// (one blocking thread each). The rest wait their turn without a thread.
static HASHING: LazyLock<tokio::sync::Semaphore> =
    LazyLock::new(|| tokio::sync::Semaphore::new(hash_limit()));

fn hash_limit() -> usize {
    2 * std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Runs `work` on a blocking thread once one of the `HASHING` permits is free.
async fn hashing<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, tokio::task::JoinError> {
    let _permit = HASHING.acquire().await.expect("never closed");
    tokio::task::spawn_blocking(work).await
}

/// Hashes on a blocking thread (tens of milliseconds of CPU).
pub async fn hash_password(password: String) -> String {
    hashing(move || hash_now(&password))
        .await
        .expect("hashing task")
}

/// Verifies against `hash`, or against a dummy hash when there is none.
pub async fn verify_password(password: String, hash: Option<String>) -> bool {
    hashing(move || {
        let real = hash.is_some();
        let h = hash.unwrap_or_else(|| DUMMY_HASH.clone());
        let ok = PasswordHash::new(&h)
            .map(|parsed| {
                hasher()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
            .unwrap_or(false);
        ok && real
    })
    .await
    .unwrap_or(false)
}

/// Whether `password` is one of the account's last `n` passwords (the
/// current one among them).
pub async fn reuses_recent_password(
    db: &Db,
    user_id: &str,
    n: i64,
    password: &str,
) -> anyhow::Result<bool> {
    for hash in users::recent_password_hashes(db, user_id, n).await? {
        if verify_password(password.to_string(), Some(hash)).await {
            return Ok(true);
        }
    }
    Ok(false)
}

#[derive(Debug)]
pub enum LoginOutcome {
    Success(Box<User>),
    /// Wrong name or password; `remaining` attempts before lock-out.
    Failed {
        remaining: i64,
    },
    /// This name is locked from this address.
    Locked {
        until: Millis,
    },
    /// Too many recent failures from this address (`by_name` false) or for
    /// this name (true): try again in `wait_s` seconds.
    Slowed {
        wait_s: i64,
        by_name: bool,
    },
    /// The right temporary password, but past its life: an administrator
    /// must set a new one.
    TemporaryExpired,
}

/// The pause after `failures` recent failures against a limit of `limit`:
/// one second at the limit, doubling with each failure beyond, at most `max`.
fn pause_ms(failures: i64, limit: i64, max: Millis) -> Option<Millis> {
    (failures >= limit).then(|| (1000i64 << (failures - limit).min(20)).min(max))
}

/// Slow-downs: a pause after the last failure from this address, or for
/// this name from anywhere, once either has failed often lately. A refused
/// attempt checks no secret and counts as no failure, so hammering does not
/// lengthen the pause; the owner waits seconds, never a lock-out someone
/// else set off. Some((seconds to wait, whether it is the name's)) when
/// this attempt must wait.
pub async fn slowed(
    db: &Db,
    cfg: &Config,
    name: &str,
    ip: &str,
    now: Millis,
) -> anyhow::Result<Option<(i64, bool)>> {
    let since = now - cfg.ip_window_ms;
    let (ip_failures, ip_last) = audit::failures_from_ip(db, ip, since).await?;
    let (name_failures, name_last) = audit::failures_for_name(db, name, since).await?;
    for (failures, limit, last, by_name) in [
        (ip_failures, cfg.ip_failure_limit, ip_last, false),
        (name_failures, cfg.name_failure_limit, name_last, true),
    ] {
        if let Some(pause) = pause_ms(failures, limit, cfg.max_pause_ms)
            && now < last + pause
        {
            return Ok(Some(((last + pause - now + 999) / 1000, by_name)));
        }
    }
    Ok(None)
}

/// Decides a login attempt and records it (throttle state and audit) atomically.
pub async fn login(
    db: &Db,
    clock: &Clock,
    cfg: &Config,
    username: &str,
    password: &str,
    ip: &str,
) -> anyhow::Result<LoginOutcome> {
    let now = clock.now();
    let name = users::normalize_username(username);
    let mut actor = Actor {
        id: None,
        name: name.chars().take(64).collect(),
        role: None,
        ip: ip.to_string(),
    };
    let mut b = Batch::new();

    if let Some((wait_s, by_name)) = slowed(db, cfg, &actor.name, ip, now).await? {
        audit::record(&mut b, &actor, Action::LoginThrottled, None, false, "", now);
        db.write(b).await?;
        return Ok(LoginOutcome::Slowed { wait_s, by_name });
    }

    // The lock-out is per name and address.
    let key = users::throttle_key(&name, ip);
    let throttle = users::throttle(db, &key).await?;
    let user = users::by_username(db, &name).await?;
    if let Some(until) = throttle.locked_until.filter(|u| *u > now) {
        verify_password(password.to_string(), None).await;
        audit::record(
            &mut b,
            &actor,
            Action::LoginRefusedLocked,
            None,
            false,
            "",
            now,
        );
        db.write(b).await?;
        return Ok(LoginOutcome::Locked { until });
    }

    let usable = user.as_ref().filter(|u| !u.disabled);
    let ok = verify_password(
        password.to_string(),
        usable.map(|u| u.password_hash.clone()),
    )
    .await;
    if let Some(u) = &user {
        actor.id = Some(u.id.clone());
        actor.role = Some(u.role.as_str());
    }
    if ok && let Some(u) = usable {
        if cfg.temporary_password_expired(u, now) {
            audit::record(
                &mut b,
                &actor,
                Action::LoginRefusedExpired,
                Some(&u.id),
                false,
                "",
                now,
            );
            db.write(b).await?;
            return Ok(LoginOutcome::TemporaryExpired);
        }
        users::clear_throttle_key(&mut b, &key);
        if cfg.password_expired(u, now) {
            audit::record(
                &mut b,
                &actor,
                Action::PasswordExpired,
                Some(&u.id),
                true,
                "",
                now,
            );
        }
        // A login from an address this account never used before is told to
        // its owner (not the first login ever).
        if let (true, false) = crate::store::outbox::logins_before(db, &u.id, ip).await? {
            crate::services::notify::account_event(
                &mut b,
                &u.id,
                crate::domain::notify::Kind::NewLoginAddress,
                &[
                    ("user", u.display_name.clone()),
                    ("ip", ip.to_string()),
                    ("time", crate::clock::format_datetime(now)),
                ],
                now,
            );
        }
        let enrolled = crate::store::twofactor::enrolled(db, &u.id).await?;
        let detail = if cfg.second_factor_needed(u, enrolled) {
            "密码正确，待动态口令验证"
        } else {
            ""
        };
        audit::record(
            &mut b,
            &actor,
            Action::LoginSuccess,
            Some(&u.id),
            true,
            detail,
            now,
        );
        db.write(b).await?;
        return Ok(LoginOutcome::Success(Box::new(u.clone())));
    }

    // The count itself is kept in SQL, so parallel guesses cannot slip past
    // the lock-out; this read-based figure only words the message.
    let failures = if throttle.locked_until.is_some() {
        1
    } else {
        throttle.failures + 1
    };
    let detail = if user.is_none() {
        "未知用户名"
    } else if user.as_ref().is_some_and(|u| u.disabled) {
        "账号已停用"
    } else {
        "密码错误"
    };
    audit::record(
        &mut b,
        &actor,
        Action::LoginFailure,
        None,
        false,
        detail,
        now,
    );
    let until = now + cfg.lockout_ms;
    let lock_at = count_failure(
        &mut b,
        cfg,
        &actor,
        &key,
        until,
        &format!(
            "从{ip}连续{}次登录失败，该地址锁定至{}",
            cfg.lockout_failures,
            crate::clock::format_datetime(until)
        ),
        now,
    );
    if let Some(u) = &user {
        let vars = [
            ("user".to_string(), u.display_name.clone()),
            ("ip".to_string(), ip.to_string()),
            ("until".to_string(), crate::clock::format_datetime(until)),
        ]
        .into();
        crate::store::outbox::push_if_locked(&mut b, &u.id, &key, until, &vars, now);
    }
    let changed = db.write(b).await?;
    if changed.get(lock_at).copied().unwrap_or(0) > 0 {
        return Ok(LoginOutcome::Locked { until });
    }
    Ok(LoginOutcome::Failed {
        remaining: (cfg.lockout_failures - failures).max(1),
    })
}

/// Counts a failure of the name and address `key` and, when it locks
/// them, the `account.locked` entry with `detail`. Returns the position of
/// the statement whose changed-row count says whether this failure locked.
fn count_failure(
    b: &mut Batch,
    cfg: &Config,
    actor: &Actor,
    key: &str,
    until: Millis,
    detail: &str,
    now: Millis,
) -> usize {
    users::count_failure(b, key, cfg.lockout_failures, until, now);
    let lock_at = b.0.len() - 1;
    audit::record_if_locked(b, actor, key, until, detail, now);
    lock_at
}

/// A wrong current password on the password page counts as a failed login
/// of that name from that address (so a taken-over session cannot guess
/// it without limit); true when this failure locked the name from there,
/// and the session is then ended.
pub async fn count_wrong_current_password(
    db: &Db,
    cfg: &Config,
    user: &User,
    session_hash: Option<&str>,
    ip: &str,
    now: Millis,
) -> anyhow::Result<bool> {
    count_wrong_secret(
        db,
        cfg,
        user,
        session_hash,
        ip,
        now,
        "修改密码时当前密码错误",
        &format!(
            "修改密码时从{ip}连续{}次输错当前密码，该地址锁定并退出登录",
            cfg.lockout_failures
        ),
    )
    .await
}

/// A wrong two-factor code counts as a failed login the same way (the
/// password is known to whoever sends it); true when it locked the name
/// from that address, and the half-open session is then ended.
pub async fn count_wrong_second_factor(
    db: &Db,
    cfg: &Config,
    user: &User,
    session_hash: Option<&str>,
    ip: &str,
    now: Millis,
) -> anyhow::Result<bool> {
    count_wrong_secret(
        db,
        cfg,
        user,
        session_hash,
        ip,
        now,
        "动态验证码或恢复码错误",
        &format!(
            "从{ip}连续{}次输错动态验证码，该地址锁定并退出登录",
            cfg.lockout_failures
        ),
    )
    .await
}

#[allow(clippy::too_many_arguments)]
async fn count_wrong_secret(
    db: &Db,
    cfg: &Config,
    user: &User,
    session_hash: Option<&str>,
    ip: &str,
    now: Millis,
    detail: &str,
    lock_detail: &str,
) -> anyhow::Result<bool> {
    let actor = Actor {
        id: Some(user.id.clone()),
        name: user.username.clone(),
        role: Some(user.role.as_str()),
        ip: ip.to_string(),
    };
    let key = users::throttle_key(&user.username, ip);
    let until = now + cfg.lockout_ms;
    let mut b = Batch::new();
    audit::record(
        &mut b,
        &actor,
        Action::LoginFailure,
        Some(&user.id),
        false,
        detail,
        now,
    );
    let lock_at = count_failure(&mut b, cfg, &actor, &key, until, lock_detail, now);
    let changed = db.write(b).await?;
    let locked = changed.get(lock_at).copied().unwrap_or(0) > 0;
    if locked && let Some(h) = session_hash {
        let mut b = Batch::new();
        crate::store::sessions::delete(&mut b, h);
        db.write(b).await?;
    }
    Ok(locked)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

    use super::{hash_limit, hash_password, hashing, verify_password};

    /// A login storm: every attempt is answered correctly, and no more
    /// hashes run at once than the limit (each one holds 19 MiB). The
    /// attempts share the permits with work that counts how many run at once.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_login_storm_hashes_a_few_at_a_time() {
        let hash = hash_password("Storm-Pass-2021".into()).await;
        let n = hash_limit() * 3;
        let attempts: Vec<_> = (0..n)
            .map(|i| {
                let password = if i % 2 == 0 {
                    "Storm-Pass-2021"
                } else {
                    "wrong"
                };
                tokio::spawn(verify_password(password.to_string(), Some(hash.clone())))
            })
            .collect();
        let (running, peak) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let counted: Vec<_> = (0..n)
            .map(|_| {
                let (running, peak) = (running.clone(), peak.clone());
                tokio::spawn(hashing(move || {
                    peak.fetch_max(running.fetch_add(1, Relaxed) + 1, Relaxed);
                    std::thread::sleep(std::time::Duration::from_millis(20));
                    running.fetch_sub(1, Relaxed);
                }))
            })
            .collect();
        for (i, a) in attempts.into_iter().enumerate() {
            assert_eq!(a.await.expect("task"), i % 2 == 0, "attempt {i}");
        }
        for c in counted {
            c.await.expect("task").expect("work");
        }
        let peak = peak.load(Relaxed);
        assert!(peak >= 2, "hashes ran in parallel (peak {peak})");
        assert!(
            peak <= hash_limit(),
            "peak {peak} over the limit {}",
            hash_limit()
        );
    }
}
