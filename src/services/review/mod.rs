//! The province's review: settings, the expert pool, the pledge, the draw,
//! declines, scores, the 专家组意见 and the shortlist. One function per
//! state change (see the module above).

mod draw;
mod pool;
mod scores;
mod shortlist;

pub use draw::*;
pub use pool::*;
pub use scores::*;
pub use shortlist::*;

use std::collections::HashSet;

use super::{Outcome, Refusal};
use crate::domain::form::ProgramDef;
use crate::domain::lifecycle::State;
use crate::store::applications::{self, Application};
use crate::store::audit::{self, Action, Actor};
use crate::store::review::{self as rs, Settings};
use crate::store::{Batch, Db, Millis};

/// Longest comment, opinion or reason, in characters.
pub const MAX_TEXT: usize = 2000;

/// The batch's settings as saved, or the defaults with the program's criteria.
pub async fn settings(db: &Db, program: &ProgramDef, batch_id: &str) -> Outcome<Settings> {
    Ok(rs::settings(db, batch_id)
        .await?
        .unwrap_or_else(|| Settings::defaults(batch_id, program.review_criteria())))
}

/// Saves the province's settings for a batch. The 评价标准 are locked once
/// any expert has saved a score.
pub async fn save_settings(db: &Db, actor: &Actor, new: Settings, now: Millis) -> Outcome<()> {
    let mut errors = Vec::new();
    if !(1..=15).contains(&new.per_application) {
        errors.push(("per_application", "每项申报的评审专家人数应为 1–15".into()));
    }
    if !(1..=1000).contains(&new.max_per_expert) {
        errors.push(("max_per_expert", "每位专家的评审数量上限应为 1–1000".into()));
    }
    if !(0..=1000).contains(&new.spread_threshold) {
        errors.push(("spread_threshold", "分差提示阈值应为 0–1000 分".into()));
    }
    if new.criteria.criteria.is_empty() {
        errors.push(("criteria", "评价标准至少应有一项".into()));
    }
    let mut taken = HashSet::new();
    for p in &new.panels {
        if p.name.trim().is_empty() || p.name.chars().count() > 30 {
            errors.push(("panels", "每个评审组应有名称（不超过30字）".into()));
        }
        if p.industries.is_empty() {
            errors.push(("panels", format!("评审组“{}”应至少负责一个行业", p.name)));
        }
        for i in &p.industries {
            if !taken.insert(i.clone()) {
                errors.push(("panels", format!("行业“{i}”分在了两个评审组")));
            }
        }
    }
    if !errors.is_empty() {
        return Err(Refusal::Fields(errors));
    }
    if let Some(old) = rs::settings(db, &new.batch_id).await?
        && old.criteria != new.criteria
        && rs::any_score(db, &new.batch_id).await?
    {
        return Err(Refusal::Rule(
            "已有专家保存评分，评价标准已锁定，不能再修改。其他设置可以修改。".into(),
        ));
    }
    let mut b = Batch::new();
    rs::save_settings(&mut b, &new, &actor.name, now);
    audit::record(
        &mut b,
        actor,
        Action::ReviewSettingsChange,
        Some(&new.batch_id),
        true,
        &format!(
            "每项{}人，每人最多{}项，同市州回避{}，匿名评审{}",
            new.per_application,
            new.max_per_expert,
            yes_no(new.same_city),
            yes_no(new.blind)
        ),
        now,
    );
    db.write(b).await.map_err(Refusal::from_write)?;
    Ok(())
}

fn yes_no(b: bool) -> &'static str {
    if b { "开" } else { "关" }
}

/// The applications the review covers: recommended or already under review.
pub(super) async fn review_applications(db: &Db, batch_id: &str) -> Outcome<Vec<Application>> {
    Ok(applications::submitted_in_batch(db, batch_id)
        .await?
        .into_iter()
        .filter(|a| matches!(a.state, State::Recommended | State::UnderReview))
        .collect())
}
