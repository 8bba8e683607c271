//! The experts' work: declines, scores, the aggregated results and ranking, and the 专家组意见.

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::clock;
use crate::domain::aggregate::{self, ExpertScore, Method, Options};
use crate::domain::form::ProgramDef;
use crate::domain::lifecycle::State;
use crate::domain::scoring::{Scores, Sheet, hundredths, parse_score, show};
use crate::services::{Outcome, Refusal};
use crate::store::applications::{self, Application};
use crate::store::audit::{self, Action, Actor};
use crate::store::batches::BatchRow;
use crate::store::review::{self as rs, Assignment, Expert, Settings, Status};
use crate::store::{Batch, Db, Millis};

use super::{MAX_TEXT, draw};

// ───────────────────────────── the expert's work ─────────────────────────────

/// The expert declares a conflict with an assigned application; the
/// assignment is declined and a new expert is drawn for it at once (when
/// one can be; otherwise the province sees the shortfall on its page).
pub async fn decline(
    db: &Db,
    program: &ProgramDef,
    actor: &Actor,
    batch: &BatchRow,
    a: &Assignment,
    reason: &str,
    now: Millis,
) -> Outcome<bool> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(Refusal::Fields(vec![(
            "reason",
            "请填写回避理由（如：近三年曾为该企业提供咨询）".into(),
        )]));
    }
    if reason.chars().count() > MAX_TEXT {
        return Err(Refusal::Fields(vec![(
            "reason",
            format!("回避理由不能超过{MAX_TEXT}个字"),
        )]));
    }
    if a.status != Status::Assigned {
        return Err(Refusal::Rule(
            "该评审任务已提交评分，不能再申请回避。".into(),
        ));
    }
    let mut b = Batch::new();
    rs::decline(&mut b, a, reason);
    audit::record(
        &mut b,
        actor,
        Action::ReviewDecline,
        Some(&a.application_id),
        true,
        reason,
        now,
    );
    db.write(b).await.map_err(Refusal::from_write)?;
    let system = Actor {
        name: format!("{}（回避后自动补抽）", actor.name),
        ..actor.clone()
    };
    Ok(draw(db, program, &system, batch, now).await.is_ok())
}

/// Whether the scoring deadline has passed.
pub fn past_deadline(s: &Settings, now: Millis) -> Option<String> {
    s.score_deadline.filter(|d| now > *d).map(|d| {
        format!(
            "评分截止时间（{}）已过，不能再保存或提交评分。",
            clock::format_deadline(d)
        )
    })
}

/// Saves an expert's scores (with `submit`: complete, then locked). Each
/// score must lie within its criterion's maximum.
#[allow(clippy::too_many_arguments)]
pub async fn save_score(
    db: &Db,
    actor: &Actor,
    settings: &Settings,
    a: &Assignment,
    posted: &BTreeMap<String, String>,
    comment: &str,
    submit: bool,
    version: i64,
    now: Millis,
) -> Outcome<f64> {
    if let Some(m) = past_deadline(settings, now) {
        return Err(Refusal::Rule(m));
    }
    match a.status {
        Status::Submitted => return Err(Refusal::Rule("评分已提交，不能再修改。".into())),
        Status::Declined => return Err(Refusal::Rule("您已申请回避此项申报。".into())),
        Status::Assigned => {}
    }
    if version != a.version {
        return Err(Refusal::Stale);
    }
    let (scores, mut errors) = parse_scores(&settings.criteria, posted, submit);
    if comment.chars().count() > MAX_TEXT {
        errors.push(("comment", format!("评语不能超过{MAX_TEXT}个字")));
    }
    if submit && comment.trim().is_empty() {
        errors.push(("comment", "提交前请填写评审意见".into()));
    }
    if !errors.is_empty() {
        return Err(Refusal::Fields(errors));
    }
    let total = settings.criteria.total(&scores);
    let mut b = Batch::new();
    rs::save_score(
        &mut b,
        a,
        &scores,
        comment.trim(),
        hundredths(total),
        submit,
        settings.version,
        now,
    );
    audit::record(
        &mut b,
        actor,
        if submit {
            Action::ExpertScoreSubmit
        } else {
            Action::ExpertScore
        },
        Some(&a.application_id),
        true,
        &format!("总分 {}", show(total)),
        now,
    );
    db.write(b).await.map_err(Refusal::from_write)?;
    Ok(total)
}

/// Refused before the 保密与回避承诺 is signed.
pub const PLEDGE_FIRST: &str = "请先在“评审任务”页签署保密与回避承诺，再查看评审材料。";

/// What an expert posts with 保存评分 or 提交评分.
pub struct ScoreInput<'a> {
    pub posted: &'a BTreeMap<String, String>,
    pub comment: &'a str,
    pub submit: bool,
    /// The assignment's version the form was loaded at.
    pub version: i64,
}

/// Most hints kept; beyond it the map starts empty again.
const MAX_HINTS: usize = 20_000;

/// Each open assignment as its last save left it (and its batch's settings),
/// so that an expert's next save writes without reading first: on the
/// review benchmark (`scripts/bench-review`) the read was a third of a
/// save's cost, and saves went from 0.23 to about 0.30 of the bare upsert
/// without it. A hint is never trusted: the save's UPDATE itself checks the
/// version, the status, the pledge and the settings' version, and a save
/// that finds the row moved on reads afresh and tries once more.
#[derive(Default)]
pub struct ScoreHints(std::sync::Mutex<HashMap<(String, String), (Assignment, Settings)>>);

impl ScoreHints {
    fn get(&self, user_id: &str, application_id: &str) -> Option<(Assignment, Settings)> {
        let kept = self.0.lock().ok()?;
        kept.get(&(user_id.to_string(), application_id.to_string()))
            .cloned()
    }

    fn put(&self, user_id: &str, a: Assignment, s: Settings) {
        if let Ok(mut kept) = self.0.lock() {
            if kept.len() >= MAX_HINTS {
                kept.clear();
            }
            kept.insert((user_id.to_string(), a.application_id.clone()), (a, s));
        }
    }

    fn forget(&self, user_id: &str, application_id: &str) {
        if let Ok(mut kept) = self.0.lock() {
            kept.remove(&(user_id.to_string(), application_id.to_string()));
        }
    }
}

/// The expert account's assignment to an application and its batch's
/// settings, read afresh. `Forbidden` when the account holds no such
/// assignment; refused before the pledge.
pub async fn own_assignment(
    db: &Db,
    program: &ProgramDef,
    user_id: &str,
    application_id: &str,
) -> Outcome<(Assignment, Settings)> {
    let (a, pledged, saved) = rs::for_user(db, user_id, application_id)
        .await?
        .ok_or(Refusal::Forbidden)?;
    if !pledged {
        return Err(Refusal::Rule(PLEDGE_FIRST.into()));
    }
    let s = saved.unwrap_or_else(|| Settings::defaults(&a.batch_id, program.review_criteria()));
    Ok((a, s))
}

/// [`save_score`] by the expert account `user_id`, on its assignment as the
/// last save left it (see [`ScoreHints`]) or as read afresh.
#[allow(clippy::too_many_arguments)]
pub async fn save_own_score(
    db: &Db,
    program: &ProgramDef,
    hints: &ScoreHints,
    actor: &Actor,
    user_id: &str,
    application_id: &str,
    input: &ScoreInput<'_>,
    now: Millis,
) -> Outcome<f64> {
    let mut hint = hints.get(user_id, application_id);
    loop {
        let hinted = hint.is_some();
        let (a, s) = match hint.take() {
            Some(h) => h,
            None => own_assignment(db, program, user_id, application_id).await?,
        };
        let saved = save_score(
            db,
            actor,
            &s,
            &a,
            input.posted,
            input.comment,
            input.submit,
            input.version,
            now,
        )
        .await;
        match saved {
            Ok(total) if !input.submit => {
                let next = Assignment {
                    version: a.version + 1,
                    ..a
                };
                hints.put(user_id, next, s);
                return Ok(total);
            }
            // The row moved on since the hint: read it and try again.
            Err(Refusal::Stale) if hinted => hints.forget(user_id, application_id),
            other => {
                hints.forget(user_id, application_id);
                return other;
            }
        }
    }
}

/// Reads `score.<key>` for each criterion: within 0..=max; with `complete`
/// every criterion is required.
pub fn parse_scores(
    sheet: &Sheet,
    posted: &BTreeMap<String, String>,
    complete: bool,
) -> (Scores, Vec<(&'static str, String)>) {
    let mut scores = Scores::new();
    let mut errors = Vec::new();
    for c in &sheet.criteria {
        let raw = posted
            .get(&format!("score.{}", c.key))
            .map(|s| s.trim())
            .unwrap_or("");
        if raw.is_empty() {
            if complete {
                errors.push(("scores", format!("{}：请打分", c.name)));
            }
            continue;
        }
        match parse_score(raw) {
            Some(v) if v <= c.max => {
                scores.insert(c.key.clone(), v);
            }
            Some(_) => errors.push((
                "scores",
                format!("{}：不能超过该项满分{}分", c.name, show(c.max)),
            )),
            None => errors.push((
                "scores",
                format!(
                    "{}：请填写 0–{} 之间的数，最多一位小数",
                    c.name,
                    show(c.max)
                ),
            )),
        }
    }
    (scores, errors)
}

// ───────────────────────────── results ─────────────────────────────

/// One application's place in the ranking.
#[derive(Debug, Clone)]
pub struct Ranked {
    pub app: Application,
    pub result: aggregate::Result,
}

/// The aggregation options of a batch's settings.
pub fn options(s: &Settings) -> Options {
    Options {
        method: if s.trimmed {
            Method::TrimmedMean
        } else {
            Method::Mean
        },
        zscore: s.zscore,
        spread_threshold: s.spread_threshold as f64,
    }
}

/// Whether an application's state is one the review ranks.
fn reviewed(state: State) -> bool {
    matches!(
        state,
        State::Recommended
            | State::UnderReview
            | State::Shortlisted
            | State::Selected
            | State::NotSelected
    )
}

/// The aggregated results of every submitted score of the applications
/// (id and state) in `apps` that the review ranks, best first. Reads three
/// columns of the submitted scores only.
pub async fn results<'a>(
    db: &Db,
    s: &Settings,
    apps: impl IntoIterator<Item = (&'a str, State)>,
) -> Outcome<Vec<aggregate::Result>> {
    let ids: HashSet<&str> = apps
        .into_iter()
        .filter(|(_, state)| reviewed(*state))
        .map(|(id, _)| id)
        .collect();
    let scores: Vec<ExpertScore> = rs::submitted_totals(db, &s.batch_id)
        .await?
        .into_iter()
        .filter(|(app, _, _)| ids.contains(app.as_str()))
        .map(|(application, expert, h)| ExpertScore {
            total: h as f64 / 100.0,
            expert,
            application,
        })
        .collect();
    Ok(aggregate::aggregate(&scores, &options(s)))
}

/// The ranked list from every submitted score, best first.
pub async fn ranking(db: &Db, s: &Settings) -> Outcome<Vec<Ranked>> {
    let all = applications::submitted_in_batch(db, &s.batch_id).await?;
    let results = results(db, s, all.iter().map(|a| (a.id.as_str(), a.state))).await?;
    let apps: HashMap<String, Application> = all.into_iter().map(|a| (a.id.clone(), a)).collect();
    Ok(results
        .into_iter()
        .filter_map(|r| {
            Some(Ranked {
                app: apps.get(&r.application)?.clone(),
                result: r,
            })
        })
        .collect())
}

// ───────────────────────────── 专家组意见 ─────────────────────────────

/// The panel leader records (and with `sign`, signs off and locks) the
/// 专家组意见 for an application whose every expert has submitted.
#[allow(clippy::too_many_arguments)]
pub async fn save_opinion(
    db: &Db,
    actor: &Actor,
    settings: &Settings,
    leader: &Expert,
    app: &Application,
    opinion: &str,
    recommend: Option<bool>,
    sign: bool,
    now: Millis,
) -> Outcome<()> {
    if settings.leader_for(&app.industry) != Some(leader.id.as_str()) {
        return Err(Refusal::Forbidden);
    }
    let live: Vec<Assignment> = rs::for_application(db, &app.id)
        .await?
        .into_iter()
        .filter(|a| a.status != Status::Declined)
        .collect();
    if live.is_empty() || live.iter().any(|a| a.status != Status::Submitted) {
        return Err(Refusal::Rule(
            "该项申报还有专家未提交评分，全部提交后才能形成专家组意见。".into(),
        ));
    }
    let mut errors = Vec::new();
    let opinion = opinion.trim();
    if opinion.is_empty() {
        errors.push(("opinion", "请填写专家组意见".into()));
    } else if opinion.chars().count() > MAX_TEXT {
        errors.push(("opinion", format!("专家组意见不能超过{MAX_TEXT}个字")));
    }
    let Some(recommend) = recommend else {
        errors.push(("conclusion", "请选择评审结论（推荐或不推荐）".into()));
        return Err(Refusal::Fields(errors));
    };
    if !errors.is_empty() {
        return Err(Refusal::Fields(errors));
    }
    let existing = rs::opinions(db, &settings.batch_id).await?;
    let old = existing.get(&app.id);
    if old.is_some_and(|o| o.signed) {
        return Err(Refusal::Rule("专家组意见已签署确认，不能再修改。".into()));
    }
    let mut b = Batch::new();
    rs::save_opinion(
        &mut b,
        &settings.batch_id,
        &rs::Opinion {
            application_id: app.id.clone(),
            opinion: opinion.into(),
            recommend,
            signed: sign,
            updated_at: now,
            updated_by: leader.name.clone(),
        },
        old.is_some(),
        &leader.name,
        now,
    );
    audit::record(
        &mut b,
        actor,
        Action::PanelOpinion,
        Some(&app.id),
        true,
        &format!(
            "{}{}",
            if recommend { "推荐" } else { "不推荐" },
            if sign { "，已签署确认" } else { "" }
        ),
        now,
    );
    db.write(b).await.map_err(Refusal::from_write)?;
    Ok(())
}
