//! Demo accounts, created idempotently: the province, one bureau per
//! city-level unit, five experts, three enterprises with valid Hubei codes
//! and the three administrators (system, security, audit).

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

/// The TOTP secret every demo staff account is enrolled with (the second
/// login step of a demo server also shows the current code), printed by
/// `serve --demo` so it can be added to an authenticator app.
pub const DEMO_TOTP_SECRET: &str = "SHENBAO2DEMO2TOTP2SECRET2HUBEI22";

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
    // 三权分立: one account per administrator role.
    for (u, role, name) in [
        ("sysadmin", Role::SysAdmin, "系统管理员（演示）"),
        ("secadmin", Role::SecAdmin, "安全管理员（演示）"),
        ("auditor", Role::Auditor, "审计管理员（演示）"),
    ] {
        v.push((u.to_string(), role, name.to_string(), None));
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
                if role.is_staff() {
                    crate::store::twofactor::enrol_fixed(
                        db,
                        &mut b,
                        &existing.id,
                        DEMO_TOTP_SECRET,
                        now,
                    );
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
                if role.is_staff() {
                    crate::store::twofactor::enrol_fixed(db, &mut b, &id, DEMO_TOTP_SECRET, now);
                }
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

/// A tiny valid PDF for demo attachments.
pub const SAMPLE_PDF: &[u8] = b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n";

/// What `seed_applications` leaves each enterprise with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DemoState {
    /// A started draft (version 1), for the deadline-rush benchmark.
    Draft,
    /// Complete, valid and submitted to its city, with attachments.
    Submitted,
}

/// Creates `n` sample enterprises (`{prefix}{i}`, marked 示例数据) spread over
/// the 17 cities and the industries, each with an application in the current
/// batch. Idempotent: existing ones are skipped. Returns how many were made.
pub async fn seed_applications(
    db: &Db,
    files: &crate::files::FileStore,
    clock: &Clock,
    password: &str,
    n: usize,
    prefix: &str,
    state: DemoState,
) -> anyhow::Result<usize> {
    use crate::domain::form::{ProgramDef, canonical_json, fingerprint, sample_answers_in_city};
    use crate::store::{applications, attachments, batches};

    let def = ProgramDef::builtin();
    let now = clock.now();
    let batch = batches::current(db, now)
        .await?
        .ok_or_else(|| anyhow::anyhow!("没有可用的申报批次，请先运行 shenbao demo"))?;
    let hash = auth::hash_password(password.to_string()).await;
    let today = crate::clock::date_of(now);
    // One stored sample PDF serves every demo attachment.
    let pdf = files
        .put_bytes("demosamplepdf", SAMPLE_PDF, 1 << 20)
        .await?;
    let slots: Vec<String> = def
        .form
        .attachments()
        .filter(|s| s.required || s.required_if_filled.is_some())
        .flat_map(|s| s.upload_keys().into_iter().map(|(k, _)| k))
        .collect();
    // Distinct code ranges per prefix keep codes unique across calls.
    let seq_base = 600_000 + (prefix.bytes().map(u32::from).sum::<u32>() % 97) * 100_000;
    let mut made = 0;
    let mut b = Batch::new();
    for i in 0..n {
        let username = format!("{prefix}{i}");
        if users::by_username(db, &username).await?.is_some() {
            continue;
        }
        // Honours dated within the three years before the batch's reference
        // date (and never after today).
        // Round the 17 cities, so every city has applications to show.
        let cities = region::cities();
        let mut answers = sample_answers_in_city(
            i as u64 + 1,
            today.min(def.program.batch.reference_date),
            cities[i % cities.len()].code,
        );
        let city = answers["region"]["city"]
            .as_str()
            .unwrap_or("420100")
            .to_string();
        let county = answers["region"]["county"]
            .as_str()
            .unwrap_or("420102")
            .to_string();
        let code = CreditCode::synthesize(&county, seq_base + i as u32);
        answers["credit_code"] = code.as_str().into();
        let name = answers["company_name"]
            .as_str()
            .unwrap_or("示例企业")
            .replace("（示例数据）", &format!("{i}号（示例数据）"));
        answers["company_name"] = name.clone().into();
        let user_id = new_id();
        users::insert(
            &mut b,
            &NewUser {
                id: &user_id,
                username: &username,
                role: Role::Enterprise,
                display_name: &name,
                city_code: Some(&city),
                password_hash: &hash,
                must_change_password: false,
                is_demo: true,
            },
            now,
        );
        users::insert_enterprise(
            &mut b,
            &Enterprise {
                user_id: user_id.clone(),
                credit_code: code.as_str().to_string(),
                name: name.clone(),
                city_code: city.clone(),
                county_code: county.clone(),
                contact_name: answers["contact_name"]
                    .as_str()
                    .unwrap_or("张明")
                    .to_string(),
                mobile: answers["contact_mobile"]
                    .as_str()
                    .unwrap_or("13900000000")
                    .to_string(),
                email: answers["contact_email"]
                    .as_str()
                    .unwrap_or("demo@example.com")
                    .to_string(),
            },
            now,
        );
        let app_id = new_id();
        let actor = Actor {
            id: Some(user_id.clone()),
            name: username.clone(),
            role: Some(Role::Enterprise.as_str()),
            ip: "demo".into(),
        };
        let content = match state {
            DemoState::Submitted => answers.to_string(),
            DemoState::Draft => serde_json::json!({
                "company_name": name,
                "credit_code": code.as_str(),
                "region": {"city": city, "county": county},
            })
            .to_string(),
        };
        let declared: Vec<&str> = def
            .program
            .declarations
            .iter()
            .map(|d| d.key.as_str())
            .collect();
        applications::insert(
            &mut b,
            &applications::NewApplication {
                id: &app_id,
                batch_id: &batch.id,
                enterprise_id: &user_id,
                credit_code: code.as_str(),
                enterprise_name: &name,
                city_code: &city,
                county_code: &county,
                content: &content,
                declarations: &serde_json::to_string(&declared).unwrap_or_default(),
                number_prefix: &batch.year().to_string(),
            },
            &actor,
            now,
        );
        if state == DemoState::Submitted {
            let industry = answers["industry"]["choice"]
                .as_str()
                .unwrap_or("")
                .to_string();
            b.push(
                "UPDATE applications SET industry = $2 WHERE id = $1",
                crate::params![app_id.as_str(), industry],
            );
            let mut listed = Vec::new();
            for slot in &slots {
                let att = attachments::Attachment {
                    id: new_id(),
                    application_id: app_id.clone(),
                    slot: slot.clone(),
                    file_name: format!("{slot}（示例）.pdf"),
                    content_type: "application/pdf".into(),
                    size: pdf.size as i64,
                    sha256: pdf.sha256.clone(),
                    storage_key: "demosamplepdf".into(),
                    created_at: now,
                };
                listed.push(serde_json::json!({"slot": att.slot, "file_name": att.file_name, "sha256": att.sha256, "size": att.size}));
                attachments::insert(&mut b, &att, &username);
            }
            let snapshot = serde_json::json!({
                "application": app_id,
                "enterprise": {"name": name, "credit_code": code.as_str()},
                "content": answers,
                "attachments": listed,
            });
            let fp = fingerprint(&snapshot["content"]);
            applications::snapshot(
                &mut b,
                &app_id,
                1,
                &canonical_json(&snapshot),
                &fp,
                &username,
                now,
            );
            b.push(
                "UPDATE applications SET state = 'submitted' WHERE id = $1",
                crate::params![app_id.as_str()],
            );
            b.push(
                "INSERT INTO application_events (id, application_id, at, actor_id, actor_name, from_state, to_state, reason) \
                 VALUES ($1, $2, $3, $4, $5, 'draft', 'submitted', $6)",
                crate::params![new_id(), app_id.as_str(), now, user_id.as_str(), username.as_str(), format!("提交第2版，指纹 {}（示例数据）", &fp[..12])],
            );
        }
        made += 1;
        if b.0.len() > 2000 {
            db.write(std::mem::take(&mut b)).await?;
        }
    }
    db.write(b).await?;
    Ok(made)
}
pub mod stages;
