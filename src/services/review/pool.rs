//! The 专家库: experts added one by one or imported (all or nothing), each with an account, and the 保密与回避承诺.

use std::collections::HashSet;

use serde::Deserialize;

use crate::auth;
use crate::domain::contact::{Email, MobilePhone};
use crate::domain::password;
use crate::domain::region;
use crate::domain::role::Role;
use crate::services::{Outcome, Refusal};
use crate::store::audit::{self, Action, Actor};
use crate::store::review::{self as rs, Expert};
use crate::store::users::{self, NewUser};
use crate::store::{Batch, Db, Millis, StoreError, new_id};

/// Most experts one import may hold.
pub const MAX_IMPORT: usize = 500;

// ───────────────────────────── the pool ─────────────────────────────

/// One expert as typed on the form or read from a row of the import sheet.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ExpertInput {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub unit: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub fields: String,
    #[serde(default)]
    pub city: String,
    #[serde(default)]
    pub phone: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub avoid_units: String,
}

/// The import sheet's columns, in order, with the field each fills.
pub const IMPORT_COLUMNS: [(&str, &str); 8] = [
    ("name", "姓名"),
    ("unit", "工作单位"),
    ("title", "职称"),
    ("fields", "专业领域"),
    ("city", "所在市州"),
    ("phone", "手机"),
    ("email", "电子邮箱"),
    ("avoid_units", "回避单位"),
];

impl ExpertInput {
    /// The expert it describes, or every problem with it.
    pub fn parse(&self, id: &str) -> Result<Expert, Vec<(&'static str, String)>> {
        let mut errors = Vec::new();
        let req = |errors: &mut Vec<(&'static str, String)>, k, v: &str, label, max| {
            let n = v.trim().chars().count();
            if n == 0 {
                errors.push((k, format!("请填写{label}")));
            } else if n > max {
                errors.push((k, format!("{label}不能超过{max}个字")));
            }
        };
        req(&mut errors, "name", &self.name, "姓名", 30);
        req(&mut errors, "unit", &self.unit, "工作单位", 100);
        req(&mut errors, "title", &self.title, "职称", 30);
        req(&mut errors, "fields", &self.fields, "专业领域", 200);
        let city = self.city.trim();
        let city_code = region::cities()
            .iter()
            .find(|c| c.code == city || c.name == city || c.pinyin == city)
            .map(|c| c.code.to_string());
        if city_code.is_none() {
            errors.push(("city", "请填写湖北省17个市州之一（如“武汉市”）".into()));
        }
        let phone = MobilePhone::parse(&self.phone);
        if let Err(e) = &phone {
            errors.push(("phone", e.to_string()));
        }
        let email = Email::parse(&self.email);
        if let Err(e) = &email {
            errors.push(("email", e.to_string()));
        }
        if self.avoid_units.chars().count() > 1000 {
            errors.push(("avoid_units", "回避单位不能超过1000个字".into()));
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let list = |s: &str, seps: &[char]| -> Vec<String> {
            s.split(seps)
                .map(str::trim)
                .filter(|x| !x.is_empty())
                .map(String::from)
                .collect()
        };
        Ok(Expert {
            id: id.to_string(),
            name: self.name.trim().into(),
            unit: self.unit.trim().into(),
            title: self.title.trim().into(),
            fields: list(&self.fields, &['、', '，', ',', ';', '；']),
            city_code: city_code.unwrap_or_default(),
            phone: phone.map(|p| p.as_str().to_string()).unwrap_or_default(),
            email: email.map(|e| e.as_str().to_string()).unwrap_or_default(),
            avoid_units: list(&self.avoid_units, &['\n', '、', '；', ';']),
            active: true,
            ..Expert::default()
        })
    }

    pub fn of(e: &Expert) -> ExpertInput {
        ExpertInput {
            name: e.name.clone(),
            unit: e.unit.clone(),
            title: e.title.clone(),
            fields: e.fields_text(),
            city: e.city_name().into(),
            phone: e.phone.clone(),
            email: e.email.clone(),
            avoid_units: e.avoid_text(),
        }
    }
}

/// A new expert account: its user name and temporary password (shown once).
#[derive(Debug, Clone)]
pub struct NewAccount {
    pub name: String,
    pub username: String,
    pub temp_password: String,
}

fn username_for(phone: &str) -> String {
    format!("zj{phone}")
}

/// Adds experts to the pool, each with an expert account that must change
/// its temporary password at first login. All or nothing: a problem in any
/// row (or a phone already in the pool) adds none; problems come back as
/// (row index, field, message).
pub async fn add_experts(
    db: &Db,
    actor: &Actor,
    inputs: &[ExpertInput],
    now: Millis,
) -> Result<Vec<NewAccount>, Vec<(usize, &'static str, String)>> {
    let mut errors = Vec::new();
    if inputs.len() > MAX_IMPORT {
        errors.push((0, "file", format!("一次最多导入{MAX_IMPORT}名专家")));
        return Err(errors);
    }
    let existing: HashSet<String> = match rs::experts(db).await {
        Ok(v) => v.into_iter().map(|e| e.phone).collect(),
        Err(e) => return Err(vec![(0, "file", format!("读取专家库失败：{e}"))]),
    };
    let mut seen = HashSet::new();
    let mut parsed = Vec::new();
    for (i, input) in inputs.iter().enumerate() {
        match input.parse(&new_id()) {
            Ok(e) => {
                if existing.contains(&e.phone) {
                    errors.push((i, "phone", format!("手机号 {} 已在专家库中", e.phone)));
                } else if !seen.insert(e.phone.clone()) {
                    errors.push((i, "phone", format!("手机号 {} 与前面的行重复", e.phone)));
                }
                parsed.push(e);
            }
            Err(es) => errors.extend(es.into_iter().map(|(f, m)| (i, f, m))),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut b = Batch::new();
    let mut accounts = Vec::new();
    for mut e in parsed {
        let temp = password::generate();
        let hash = auth::hash_password(temp.clone()).await;
        e.user_id = new_id();
        e.username = username_for(&e.phone);
        users::insert(
            &mut b,
            &NewUser {
                id: &e.user_id,
                username: &e.username,
                role: Role::Expert,
                display_name: &e.name,
                city_code: None,
                password_hash: &hash,
                must_change_password: true,
                is_demo: false,
            },
            now,
        );
        rs::insert_expert(&mut b, &e, now);
        audit::record(
            &mut b,
            actor,
            Action::ExpertChange,
            Some(&e.id),
            true,
            &format!("加入专家库：{}（{}），账号 {}", e.name, e.unit, e.username),
            now,
        );
        accounts.push(NewAccount {
            name: e.name.clone(),
            username: e.username.clone(),
            temp_password: temp,
        });
    }
    if accounts.len() > 1 {
        audit::record(
            &mut b,
            actor,
            Action::ExpertImport,
            None,
            true,
            &format!("导入{}名专家", accounts.len()),
            now,
        );
    }
    match db.write(b).await {
        Ok(_) => Ok(accounts),
        Err(StoreError::Unique(_)) => Err(vec![(
            0,
            "phone",
            "有专家的手机号或账号已存在（可能刚被他人添加），请刷新后重试".into(),
        )]),
        Err(e) => Err(vec![(0, "file", format!("保存失败：{e}"))]),
    }
}

/// Edits one expert (active or not).
pub async fn update_expert(
    db: &Db,
    actor: &Actor,
    id: &str,
    input: &ExpertInput,
    active: bool,
    now: Millis,
) -> Outcome<Expert> {
    let old = rs::expert_by_id(db, id).await?.ok_or(Refusal::Forbidden)?;
    let mut e = input.parse(id).map_err(Refusal::Fields)?;
    e.user_id = old.user_id.clone();
    e.username = old.username.clone();
    e.active = active;
    let mut b = Batch::new();
    rs::update_expert(&mut b, &e, now);
    users::set_disabled(&mut b, &e.user_id, !active, now);
    audit::record(
        &mut b,
        actor,
        Action::ExpertChange,
        Some(id),
        true,
        &format!(
            "修改专家：{}（{}）{}",
            e.name,
            e.unit,
            if active { "" } else { "，已停用" }
        ),
        now,
    );
    match db.write(b).await {
        Ok(_) => Ok(e),
        Err(StoreError::Unique(_)) => Err(Refusal::Fields(vec![(
            "phone",
            "该手机号已属于专家库中的另一位专家".into(),
        )])),
        Err(e) => Err(Refusal::from_write(e)),
    }
}

/// The expert accepts the 保密与回避承诺 for a batch (once; recorded).
pub async fn accept_pledge(
    db: &Db,
    actor: &Actor,
    expert: &Expert,
    batch_id: &str,
    now: Millis,
) -> Outcome<()> {
    let mut b = Batch::new();
    rs::pledge(&mut b, batch_id, &expert.id, &actor.ip, now);
    audit::record(
        &mut b,
        actor,
        Action::ExpertPledge,
        Some(batch_id),
        true,
        "签署保密与回避承诺",
        now,
    );
    db.write(b).await?;
    Ok(())
}
