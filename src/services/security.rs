//! The security administrator's changes (三权分立): ending a lock-out and
//! ending an account's sessions. Only that role may make them; each is
//! written with its audit entry in one write, and neither touches the
//! audit log otherwise (no role can erase it).

use crate::domain::role::Role;
use crate::store::audit::{self, Action, Actor};
use crate::store::users::{self, User};
use crate::store::{Batch, Db, Millis, sessions};

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("只有安全管理员可以执行此操作")]
    NotSecurityAdmin,
    #[error("该锁定已不存在")]
    NoSuchLockout,
    #[error("账号不存在")]
    NoSuchUser,
}

fn check(actor: &User) -> Result<(), Refusal> {
    if actor.role == Role::SecAdmin {
        Ok(())
    } else {
        Err(Refusal::NotSecurityAdmin)
    }
}

fn who(actor: &User, ip: &str) -> Actor {
    Actor {
        id: Some(actor.id.clone()),
        name: actor.username.clone(),
        role: Some(actor.role.as_str()),
        ip: ip.to_string(),
    }
}

/// Ends the lock-out of one name from one address (`key`, `name|address`).
pub async fn clear_lockout(
    db: &Db,
    actor: &User,
    ip: &str,
    key: &str,
    now: Millis,
) -> anyhow::Result<Result<(), Refusal>> {
    if let Err(r) = check(actor) {
        return Ok(Err(r));
    }
    if !users::lockouts(db, now).await?.iter().any(|l| l.key == key) {
        return Ok(Err(Refusal::NoSuchLockout));
    }
    let mut b = Batch::new();
    users::clear_throttle_key(&mut b, key);
    audit::record(
        &mut b,
        &who(actor, ip),
        Action::LockoutClear,
        Some(key),
        true,
        "",
        now,
    );
    db.write(b).await?;
    Ok(Ok(()))
}

/// Ends every session of an account (it must log in again).
pub async fn revoke_sessions(
    db: &Db,
    actor: &User,
    ip: &str,
    user_id: &str,
    now: Millis,
) -> anyhow::Result<Result<(), Refusal>> {
    if let Err(r) = check(actor) {
        return Ok(Err(r));
    }
    let Some(user) = users::by_id(db, user_id).await? else {
        return Ok(Err(Refusal::NoSuchUser));
    };
    let mut b = Batch::new();
    sessions::delete_all_for_user(&mut b, &user.id);
    audit::record(
        &mut b,
        &who(actor, ip),
        Action::SessionsRevoke,
        Some(&user.id),
        true,
        &user.username,
        now,
    );
    db.write(b).await?;
    Ok(Ok(()))
}
