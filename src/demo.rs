//! Demo accounts, created idempotently: the province admin, one bureau per
//! city-level unit, five experts and three enterprises with valid Hubei codes.

use std::path::Path;

use crate::auth;
use crate::clock::Clock;
use crate::domain::credit_code::CreditCode;
use crate::domain::password;
use crate::domain::region;
use crate::domain::role::Role;
use crate::store::audit::{self, Action, Actor};
use crate::store::users::{self, Enterprise, NewUser};
use crate::store::{Batch, Db, new_id, settings};

pub const DEMO_ENTERPRISES: [(&str, &str, &str, &str, u32); 3] = [
    (
        "qiye1",
        "湖北楚云智造科技有限公司（演示）",
        "420100",
        "420106",
        1001,
    ),
    (
        "qiye2",
        "宜昌三峡精细化工股份有限公司（演示）",
        "420500",
        "420502",
        1002,
    ),
    (
        "qiye3",
        "襄阳汉江汽车零部件有限公司（演示）",
        "420600",
        "420602",
        1003,
    ),
];

pub struct DemoReport {
    pub password: String,
    /// The password came from the environment or was generated now (else from an earlier run).
    pub created: usize,
    pub usernames: Vec<String>,
}

fn demo_accounts() -> Vec<(String, Role, String, Option<&'static str>)> {
    let mut v = vec![(
        "province".to_string(),
        Role::Province,
        "湖北省经信厅信息化推进处".to_string(),
        None,
    )];
    for c in region::cities() {
        v.push((
            c.pinyin.to_string(),
            Role::City,
            format!("{}经信局", c.name),
            Some(c.code),
        ));
    }
    for i in 1..=5 {
        v.push((
            format!("expert{i}"),
            Role::Expert,
            format!("评审专家{i}号"),
            None,
        ));
    }
    for (u, name, city, _, _) in DEMO_ENTERPRISES {
        v.push((
            u.to_string(),
            Role::Enterprise,
            name.to_string(),
            Some(city),
        ));
    }
    v
}

/// Creates the demo accounts that are missing. The password is `env_password`,
/// else the one kept in `<data>/demo-password.txt`, else a new one (kept there).
pub async fn seed(
    db: &Db,
    clock: &Clock,
    data_dir: &Path,
    env_password: Option<String>,
) -> anyhow::Result<DemoReport> {
    let file = data_dir.join("demo-password.txt");
    let from_env = env_password.filter(|p| !p.is_empty());
    let password = match &from_env {
        Some(p) => p.clone(),
        None => match std::fs::read_to_string(&file) {
            Ok(p) if !p.trim().is_empty() => p.trim().to_string(),
            _ => {
                let p = password::generate();
                std::fs::create_dir_all(data_dir)?;
                std::fs::write(&file, &p)?;
                #[cfg(unix)]
                {
                    use std::os::unix::fs::PermissionsExt;
                    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600))?;
                }
                p
            }
        },
    };
    let accounts = demo_accounts();
    for (u, ..) in &accounts {
        if let Err(e) = password::check(&password, u) {
            anyhow::bail!("演示密码不符合密码规则（账号 {u}）：{e}");
        }
    }
    // One hash for all: the accounts share the password anyway.
    let hash = auth::hash_password(password.clone()).await;
    let now = clock.now();
    let mut b = Batch::new();
    let mut created = 0;
    for (username, role, display, city) in &accounts {
        match users::by_username(db, username).await? {
            Some(existing) => {
                if from_env.is_some() {
                    users::set_password(&mut b, &existing.id, &hash, false, now);
                }
            }
            None => {
                created += 1;
                let id = new_id();
                users::insert(
                    &mut b,
                    &NewUser {
                        id: &id,
                        username,
                        role: *role,
                        display_name: display,
                        city_code: *city,
                        password_hash: &hash,
                        must_change_password: false,
                        is_demo: true,
                    },
                    now,
                );
                if let Some((_, name, city, county, seq)) =
                    DEMO_ENTERPRISES.iter().find(|e| e.0 == username)
                {
                    let code = CreditCode::synthesize(city, *seq);
                    users::insert_enterprise(
                        &mut b,
                        &Enterprise {
                            user_id: id.clone(),
                            credit_code: code.as_str().to_string(),
                            name: name.to_string(),
                            city_code: city.to_string(),
                            county_code: county.to_string(),
                            contact_name: "张明".into(),
                            mobile: format!("1390000{:04}", seq),
                            email: format!("{username}@example.com"),
                        },
                        now,
                    );
                }
            }
        }
    }
    settings::set(&mut b, "demo", "1");
    let program = &crate::domain::form::ProgramDef::builtin().program;
    crate::store::batches::upsert(&mut b, &crate::store::batches::from_program(program), now);
    crate::store::batches::upsert(&mut b, &crate::store::batches::demo_of(program, now), now);
    audit::record(
        &mut b,
        &Actor::system(),
        Action::DemoSeed,
        None,
        true,
        &format!("新建演示账号{created}个"),
        now,
    );
    db.write(b).await?;
    Ok(DemoReport {
        password,
        created,
        usernames: accounts.into_iter().map(|a| a.0).collect(),
    })
}

/// Whether the store holds demo data (the banner shows on every page).
pub async fn is_demo(db: &Db) -> anyhow::Result<bool> {
    Ok(settings::get(db, "demo").await?.as_deref() == Some("1"))
}
