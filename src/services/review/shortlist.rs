//! The shortlist: picks within the quota, reasons where they depart from the rank, and the lock.

use std::collections::{HashMap, HashSet};

use crate::domain::aggregate;
use crate::domain::lifecycle::State;
use crate::domain::role::Role;
use crate::domain::scoring::hundredths;
use crate::services::{Outcome, Refusal};
use crate::store::applications;
use crate::store::audit::{self, Action, Actor};
use crate::store::batches::BatchRow;
use crate::store::review::{self as rs, Settings, ShortlistItem, Status};
use crate::store::{Batch, Db, Millis};

use super::{MAX_TEXT, Ranked, options, ranking, review_applications};

// ───────────────────────────── the shortlist ─────────────────────────────

/// The province's pick: (application id, reason when it departs from the rank order).
pub type Pick = (String, String);

/// Saves the shortlist (and with `lock`, locks it: the picked applications
/// go to 公示中, the rest under review to 未入选). At most the batch's
/// quota; a pick ranked below the number picked, or any pick while a
/// higher-ranked application is left out, needs a reason.
pub async fn save_shortlist(
    db: &Db,
    actor: &Actor,
    settings: &Settings,
    batch: &BatchRow,
    picks: &[Pick],
    lock: bool,
    now: Millis,
) -> Outcome<()> {
    let current = rs::shortlist(db, &batch.id).await?;
    if current.locked_at.is_some() {
        return Err(Refusal::Rule("入围名单已锁定，不能再修改。".into()));
    }
    let ranked = ranking(db, settings).await?;
    let by_id: HashMap<&str, &Ranked> = ranked.iter().map(|r| (r.app.id.as_str(), r)).collect();
    let mut errors = Vec::new();
    if picks.len() as i64 > batch.quota {
        errors.push((
            "picks",
            format!(
                "入围名单有{}家，超过本批次名额（{}家）",
                picks.len(),
                batch.quota
            ),
        ));
    }
    let n = picks.len();
    let mut seen = HashSet::new();
    let mut items = Vec::new();
    for (id, reason) in picks {
        let Some(r) = by_id.get(id.as_str()) else {
            errors.push(("picks", "所选申报没有已提交的专家评分，不能入围".into()));
            continue;
        };
        if !seen.insert(id.as_str()) {
            continue;
        }
        let reason = reason.trim();
        if r.result.rank > n && reason.is_empty() {
            errors.push((
                "picks",
                format!(
                    "{}排名第{}，在前{}名之外，请填写入围理由",
                    r.app.enterprise_name, r.result.rank, n
                ),
            ));
        }
        if reason.chars().count() > MAX_TEXT {
            errors.push((
                "picks",
                format!("{}：理由不能超过{MAX_TEXT}个字", r.app.enterprise_name),
            ));
        }
        items.push(ShortlistItem {
            application_id: id.clone(),
            rank: r.result.rank as i64,
            final_h: hundredths(r.result.final_score),
            reason: reason.to_string(),
        });
    }
    if lock {
        if items.is_empty() {
            errors.push(("picks", "入围名单为空，不能锁定".into()));
        }
        let pending = rs::for_batch(db, &batch.id)
            .await?
            .iter()
            .filter(|a| a.status == Status::Assigned)
            .count();
        if pending > 0 {
            errors.push((
                "picks",
                format!("还有{pending}份评审任务未提交评分，全部提交后才能锁定"),
            ));
        }
    }
    if !errors.is_empty() {
        return Err(Refusal::Fields(errors));
    }
    items.sort_by_key(|i| i.rank);
    let rule = aggregate::formula(&options(settings));
    let mut b = Batch::new();
    rs::save_shortlist(
        &mut b,
        &batch.id,
        &rule,
        &items,
        lock.then_some(actor.name.as_str()),
        now,
    );
    if lock {
        let picked: HashSet<&str> = items.iter().map(|i| i.application_id.as_str()).collect();
        for app in review_applications(db, &batch.id).await? {
            if app.state != State::UnderReview {
                continue;
            }
            let to = if picked.contains(app.id.as_str()) {
                State::Shortlisted
            } else {
                State::NotSelected
            };
            applications::push_transition(
                &mut b,
                &app,
                to,
                Role::Province,
                actor,
                "入围名单锁定",
                now,
            )
            .map_err(|_| Refusal::Stale)?;
        }
    }
    audit::record(
        &mut b,
        actor,
        if lock {
            Action::ShortlistLock
        } else {
            Action::ShortlistChange
        },
        Some(&batch.id),
        true,
        &format!("入围{}家", items.len()),
        now,
    );
    db.write(b).await.map_err(Refusal::from_write)?;
    Ok(())
}
