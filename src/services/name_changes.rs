//! 企业更名 (#20 finding 7): the 申报书's 企业名称 is bound to the registered
//! name; an enterprise that was renamed asks its city with the new 营业执照,
//! and the city's approval renames it.

use super::{Outcome, Refusal};
use crate::store::audit::{self, Action, Actor};
use crate::store::name_changes::{self as nc, NameChange};
use crate::store::users::Enterprise;
use crate::store::{Batch, Db, Millis, StoreError, new_id};

/// Longest name and reason, in characters.
const MAX_NAME: usize = 100;
const MAX_REASON: usize = 500;

/// The new 营业执照 as stored.
pub struct License {
    pub key: String,
    pub name: String,
    pub sha256: String,
}

fn bad_text(s: &str) -> bool {
    s.chars()
        .any(|c| c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'))
}

/// The enterprise asks to be renamed `new_name`. Refused with the fields at
/// fault, or while another request of it is open.
pub async fn request(
    db: &Db,
    actor: &Actor,
    e: &Enterprise,
    new_name: &str,
    reason: &str,
    license: Option<License>,
    now: Millis,
) -> Outcome<String> {
    let new_name = new_name.trim();
    let reason = reason.trim();
    let mut errors: Vec<(&'static str, String)> = Vec::new();
    if new_name.is_empty() {
        errors.push(("new_name", "请填写变更后的企业名称".into()));
    } else if new_name.chars().count() > MAX_NAME {
        errors.push(("new_name", format!("企业名称不超过{MAX_NAME}字")));
    } else if bad_text(new_name) {
        errors.push(("new_name", "企业名称含有不可见字符，请重新输入".into()));
    } else if new_name == e.name {
        errors.push(("new_name", "与现在登记的企业名称相同".into()));
    }
    if reason.chars().count() > MAX_REASON {
        errors.push(("reason", format!("变更说明不超过{MAX_REASON}字")));
    }
    if license.is_none() {
        errors.push(("license", "请上传变更后的营业执照（PDF或图片）".into()));
    }
    if !errors.is_empty() {
        return Err(Refusal::Fields(errors));
    }
    let Some(license) = license else {
        return Err(Refusal::Rule("请上传变更后的营业执照".into()));
    };
    let n = NameChange {
        id: new_id(),
        enterprise_id: e.user_id.clone(),
        city_code: e.city_code.clone(),
        old_name: e.name.clone(),
        new_name: new_name.to_string(),
        reason: reason.to_string(),
        license_key: license.key,
        license_name: license.name,
        license_sha256: license.sha256,
        status: "pending".into(),
        decision: String::new(),
        decided_by: None,
        decided_at: None,
        created_at: now,
    };
    let mut b = Batch::new();
    nc::insert(&mut b, &n);
    audit::record(
        &mut b,
        actor,
        Action::NameChangeRequest,
        Some(&n.id),
        true,
        &format!(
            "“{}”申请变更为“{}”，营业执照 {}（SHA-256 {}）",
            n.old_name,
            n.new_name,
            n.license_name,
            n.license_sha256.get(..12).unwrap_or("")
        ),
        now,
    );
    match db.write(b).await {
        Ok(_) => Ok(n.id),
        Err(StoreError::Unique(_)) => Err(Refusal::Rule(
            "已有一份更名申请在等待市州审核，审核后才能再次申请。".into(),
        )),
        Err(e) => Err(e.into()),
    }
}

/// The enterprise's city decides an open request: approval renames the
/// enterprise and its applications not yet submitted; a refusal says why.
pub async fn decide(
    db: &Db,
    actor: &Actor,
    city_code: &str,
    id: &str,
    approve: bool,
    note: &str,
    now: Millis,
) -> Outcome<NameChange> {
    let Some(n) = nc::by_id(db, id).await? else {
        return Err(Refusal::Forbidden);
    };
    if n.city_code != city_code {
        return Err(Refusal::Forbidden);
    }
    if n.status != "pending" {
        return Err(Refusal::Rule("此申请已审核，不能再次审核。".into()));
    }
    let note = note.trim();
    if !approve && note.is_empty() {
        return Err(Refusal::Fields(vec![(
            "decision",
            "不同意时请写明理由，企业将看到该理由".into(),
        )]));
    }
    if note.chars().count() > MAX_REASON || bad_text(note) {
        return Err(Refusal::Fields(vec![(
            "decision",
            format!("审核意见不超过{MAX_REASON}字，且不能含不可见字符"),
        )]));
    }
    let mut b = Batch::new();
    nc::decide(&mut b, &n, approve, note, &actor.name, now);
    audit::record(
        &mut b,
        actor,
        Action::NameChangeDecide,
        Some(&n.id),
        true,
        &format!(
            "{}“{}”变更为“{}”{}",
            if approve { "同意" } else { "不同意" },
            n.old_name,
            n.new_name,
            if note.is_empty() {
                String::new()
            } else {
                format!("：{note}")
            }
        ),
        now,
    );
    db.write(b).await.map_err(Refusal::from_write)?;
    Ok(n)
}
