//! The second factor of a login (身份鉴别): enrolling a TOTP authenticator,
//! checking a code or a recovery code at login, renewing the recovery codes
//! and removing the factor. Each change is written with its audit entry in
//! one write; a wrong code counts as a failed login (lock-out, slow-down).

use crate::auth;
use crate::config::Config;
use crate::domain::notify::Kind;
use crate::domain::totp;
use crate::store::audit::{self, Action, Actor};
use crate::store::twofactor;
use crate::store::users::User;
use crate::store::{Batch, Db, Millis, StoreError};

pub fn actor(user: &User, ip: &str) -> Actor {
    Actor {
        id: Some(user.id.clone()),
        name: user.username.clone(),
        role: Some(user.role.as_str()),
        ip: ip.to_string(),
    }
}

/// Tells the account's owner of a change to its second factor (消息中心
/// and e-mail): when, from where, and the recovery codes `left`.
fn tell_owner(b: &mut Batch, user: &User, kind: Kind, ip: &str, now: Millis, left: Option<i64>) {
    let mut vars = vec![
        ("user", user.display_name.clone()),
        ("ip", ip.to_string()),
        ("time", crate::clock::format_datetime(now)),
    ];
    if let Some(n) = left {
        vars.push(("left", n.to_string()));
    }
    crate::services::notify::account_event(b, &user.id, kind, &vars, now);
}

/// The secret of the account's enrolment waiting for its code, made now if
/// there is none; None when the account is already enrolled.
pub async fn pending_secret(db: &Db, user: &User, now: Millis) -> anyhow::Result<Option<String>> {
    if let Some(t) = twofactor::of_user(db, &user.id).await? {
        return Ok((!t.enrolled()).then_some(t.secret));
    }
    let secret = totp::new_secret();
    let mut b = Batch::new();
    twofactor::start(db, &mut b, &user.id, &secret, now);
    // The page's read snapshot may not show this write: its count tells.
    if db.write(b).await?.first().copied().unwrap_or(0) == 1 {
        return Ok(Some(secret));
    }
    // Another tab started it first: its secret is the one kept.
    match twofactor::of_user(db, &user.id).await? {
        Some(t) => Ok((!t.enrolled()).then_some(t.secret)),
        None => anyhow::bail!("enrolment of {} started elsewhere; reload", user.id),
    }
}

/// New recovery codes (shown once) and their hashes (stored).
fn new_recovery_codes() -> (Vec<String>, Vec<String>) {
    let codes: Vec<String> = (0..totp::RECOVERY_CODES)
        .map(|_| totp::new_recovery_code())
        .collect();
    let hashes = codes.iter().map(|c| totp::recovery_code_hash(c)).collect();
    (codes, hashes)
}

pub const WRONG_CODE: &str =
    "动态验证码不正确。请输入身份验证器App当前显示的6位数字，并确认手机时间准确。";

/// Confirms the waiting enrolment with a code from the app; on success the
/// account is enrolled and its ten recovery codes are returned (to show
/// once). Err is the message for the code field.
pub async fn confirm_enrolment(
    db: &Db,
    user: &User,
    ip: &str,
    code: &str,
    now: Millis,
) -> anyhow::Result<Result<Vec<String>, &'static str>> {
    let Some(t) = twofactor::of_user(db, &user.id).await? else {
        return Ok(Err("绑定已失效，请刷新页面重新扫码。"));
    };
    if t.enrolled() {
        return Ok(Err("该账号已绑定动态口令。"));
    }
    let Some(step) = totp::matching_step(&t.secret, code, now, 0) else {
        return Ok(Err(WRONG_CODE));
    };
    let (codes, hashes) = new_recovery_codes();
    let mut b = Batch::new();
    twofactor::confirm(&mut b, &user.id, &t.stored, step, now);
    twofactor::set_recovery_codes(&mut b, &user.id, &hashes, now);
    audit::record(
        &mut b,
        &actor(user, ip),
        Action::TwoFactorEnrol,
        Some(&user.id),
        true,
        "",
        now,
    );
    match db.write(b).await {
        Ok(_) => Ok(Ok(codes)),
        Err(StoreError::Conflict(_)) => Ok(Err("该账号已在其他页面完成绑定，请刷新页面。")),
        Err(e) => Err(e.into()),
    }
}

/// What a second-factor code at login came to.
#[derive(Debug, PartialEq, Eq)]
pub enum LoginCheck {
    /// A current code: the login is complete.
    Passed,
    /// A recovery code: the login is complete, `left` codes remain.
    PassedWithRecoveryCode { left: i64 },
    /// Not a valid code; `locked` when this failure locked the name from
    /// this address (the half-open session is then ended).
    Wrong { locked: bool },
    /// The code was right but was already used for a login: wait for the next.
    Reused,
    /// Too many recent failures: wait this many seconds (nothing checked).
    Slowed { wait_s: i64 },
    /// The account has no second factor to check.
    NotEnrolled,
}

/// Checks the code typed at the second step of a login and records it.
pub async fn check_login(
    db: &Db,
    cfg: &Config,
    user: &User,
    session_hash: Option<&str>,
    ip: &str,
    code: &str,
    now: Millis,
) -> anyhow::Result<LoginCheck> {
    let who = actor(user, ip);
    if let Some((wait_s, _)) = auth::slowed(db, cfg, &user.username, ip, now).await? {
        let mut b = Batch::new();
        audit::record(
            &mut b,
            &who,
            Action::LoginThrottled,
            Some(&user.id),
            false,
            "动态口令",
            now,
        );
        db.write(b).await?;
        return Ok(LoginCheck::Slowed { wait_s });
    }
    let Some(t) = twofactor::of_user(db, &user.id)
        .await?
        .filter(|t| t.enrolled())
    else {
        return Ok(LoginCheck::NotEnrolled);
    };
    let mut b = Batch::new();
    let passed = if totp::looks_like_recovery_code(code) {
        let hash = totp::recovery_code_hash(code);
        if twofactor::has_recovery_code(db, &user.id, &hash).await? {
            let left = twofactor::unused_recovery_codes(db, &user.id).await? - 1;
            twofactor::use_recovery_code(&mut b, &user.id, &hash, now);
            // The owner hears of it: a recovery code in another's hands
            // passes the second factor.
            tell_owner(&mut b, user, Kind::RecoveryCodeUsed, ip, now, Some(left));
            audit::record(
                &mut b,
                &who,
                Action::RecoveryCodeUsed,
                Some(&user.id),
                true,
                &format!("剩余恢复码{left}个"),
                now,
            );
            Some(LoginCheck::PassedWithRecoveryCode { left })
        } else {
            None
        }
    } else if let Some(step) = totp::matching_step(&t.secret, code, now, t.last_step) {
        twofactor::use_step(&mut b, &user.id, step);
        audit::record(
            &mut b,
            &who,
            Action::TwoFactorPassed,
            Some(&user.id),
            true,
            "",
            now,
        );
        Some(LoginCheck::Passed)
    } else if totp::matching_step(&t.secret, code, now, i64::MIN).is_some() {
        // The right code of a step already spent: not a guess, not counted.
        return Ok(LoginCheck::Reused);
    } else {
        None
    };
    if let Some(outcome) = passed {
        match db.write(b).await {
            Ok(_) => return Ok(outcome),
            // Spent by a parallel request a moment ago.
            Err(StoreError::Conflict(_)) => return Ok(LoginCheck::Reused),
            Err(e) => return Err(e.into()),
        }
    }
    let locked = auth::count_wrong_second_factor(db, cfg, user, session_hash, ip, now).await?;
    Ok(LoginCheck::Wrong { locked })
}

/// Checks a current code of an enrolled account for a change to its
/// factor (renewal, removal), spending it. Err is the field's message.
async fn spend_current_code(
    db: &Db,
    user: &User,
    code: &str,
    now: Millis,
    b: &mut Batch,
) -> anyhow::Result<Result<(), &'static str>> {
    let Some(t) = twofactor::of_user(db, &user.id)
        .await?
        .filter(|t| t.enrolled())
    else {
        return Ok(Err("该账号尚未绑定动态口令。"));
    };
    match totp::matching_step(&t.secret, code, now, t.last_step) {
        Some(step) => {
            twofactor::use_step(b, &user.id, step);
            Ok(Ok(()))
        }
        None => Ok(Err(WRONG_CODE)),
    }
}

/// New recovery codes for an enrolled account (the old ones stop working),
/// confirmed with a current code. Returns the codes to show once.
pub async fn renew_recovery_codes(
    db: &Db,
    user: &User,
    ip: &str,
    code: &str,
    now: Millis,
) -> anyhow::Result<Result<Vec<String>, &'static str>> {
    let mut b = Batch::new();
    if let Err(m) = spend_current_code(db, user, code, now, &mut b).await? {
        return Ok(Err(m));
    }
    let (codes, hashes) = new_recovery_codes();
    twofactor::set_recovery_codes(&mut b, &user.id, &hashes, now);
    audit::record(
        &mut b,
        &actor(user, ip),
        Action::RecoveryCodesRenew,
        Some(&user.id),
        true,
        "",
        now,
    );
    match db.write(b).await {
        Ok(_) => Ok(Ok(codes)),
        Err(StoreError::Conflict(_)) => Ok(Err(WRONG_CODE)),
        Err(e) => Err(e.into()),
    }
}

/// Removes the second factor of an account that may go without one (an
/// enterprise, or anyone when staff are not required to have one),
/// confirmed with a current code.
pub async fn remove(
    db: &Db,
    cfg: &Config,
    user: &User,
    ip: &str,
    code: &str,
    now: Millis,
) -> anyhow::Result<Result<(), &'static str>> {
    if cfg.require_staff_2fa && user.role.is_staff() {
        return Ok(Err("工作人员账号必须使用动态口令，不能解除。"));
    }
    let mut b = Batch::new();
    if let Err(m) = spend_current_code(db, user, code, now, &mut b).await? {
        return Ok(Err(m));
    }
    twofactor::remove(&mut b, &user.id);
    tell_owner(&mut b, user, Kind::TwoFactorRemoved, ip, now, None);
    audit::record(
        &mut b,
        &actor(user, ip),
        Action::TwoFactorRemove,
        Some(&user.id),
        true,
        "本人解除",
        now,
    );
    match db.write(b).await {
        Ok(_) => Ok(Ok(())),
        Err(StoreError::Conflict(_)) => Ok(Err(WRONG_CODE)),
        Err(e) => Err(e.into()),
    }
}
