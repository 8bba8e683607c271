//! The 随机抽取: the draw with 回避 and load bounds, its record and replay.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::domain::assignment::{self, DrawError, DrawInput};
use crate::domain::conflict::{self, Applicant, Reviewer};
use crate::domain::form::{FieldKind, ProgramDef};
use crate::domain::lifecycle::State;
use crate::domain::role::Role;
use crate::services::Refusal;
use crate::store::applications;
use crate::store::audit::{self, Action, Actor};
use crate::store::batches::BatchRow;
use crate::store::review::{self as rs, Expert, Status};
use crate::store::{Batch, Db, Millis, new_id};

use super::{review_applications, settings};

// ───────────────────────────── the draw ─────────────────────────────

/// What a draw was computed from, stored with it so that an auditor can
/// re-run it (`shenbao review replay`) and get the same pairs.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DrawInputs {
    pub per_application: usize,
    pub max_per_expert: usize,
    pub applications: Vec<String>,
    pub experts: Vec<String>,
    /// (application index, expert index, reason)
    pub forbidden: Vec<(usize, usize, String)>,
    pub fixed: Vec<(usize, usize)>,
    pub excluded: Vec<(usize, usize)>,
    /// The pairs the draw produced (new ones and the fixed ones).
    pub result: Vec<(usize, usize)>,
}

impl DrawInputs {
    /// Runs the draw these inputs describe with `seed`.
    pub fn run(&self, seed: u64) -> Result<Vec<(usize, usize)>, DrawError> {
        let forbidden: HashMap<(usize, usize), &str> = self
            .forbidden
            .iter()
            .map(|(a, e, r)| ((*a, *e), r.as_str()))
            .collect();
        let check = |a: usize, e: usize| forbidden.get(&(a, e)).map(|r| r.to_string());
        let input = DrawInput {
            applications: &self.applications,
            experts: &self.experts,
            per_application: self.per_application,
            max_per_expert: self.max_per_expert,
            forbidden: &check,
            fixed: &self.fixed,
            excluded: &self.excluded,
            seed,
        };
        assignment::draw(&input).map(|d| d.pairs)
    }
}

/// The providers named in an application's answers (every 云服务商 column).
pub fn providers(program: &ProgramDef, answers: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for f in program.form.fields() {
        if let FieldKind::CloudServices(c) = &f.kind {
            for s in &c.services {
                let sv = answers.get(&f.key).and_then(|x| x.get(&s.key));
                for col in c.columns.iter().filter(|c| c.key.contains("provider")) {
                    if let Some(p) = sv.and_then(|x| x.get(&col.key)).and_then(Value::as_str)
                        && !p.trim().is_empty()
                    {
                        out.push(p.trim().to_string());
                    }
                }
            }
        }
    }
    out
}

/// An application the draw could not cover, with why.
#[derive(Debug, Clone)]
pub struct Shortage {
    pub application_id: String,
    pub enterprise_name: String,
    pub reason: String,
}

#[derive(Debug, Clone)]
pub struct DrawDone {
    pub draw_id: String,
    pub seed: u64,
    pub new_pairs: usize,
    pub applications: usize,
}

/// 随机抽取: assigns k experts to every recommended application (keeping
/// every assignment that stands, scored or not, and never reusing a
/// declined pair), with a seed drawn now and stored; moves the newly drawn
/// applications to 专家评审中. Refused, with the applications it cannot
/// cover and why, when no assignment satisfies 回避 and the load bounds.
pub async fn draw(
    db: &Db,
    program: &ProgramDef,
    actor: &Actor,
    batch: &BatchRow,
    now: Millis,
) -> Result<DrawDone, DrawRefusal> {
    if rs::shortlist(db, &batch.id).await?.locked_at.is_some() {
        return Err(DrawRefusal::Refused(Refusal::Rule(
            "入围名单已锁定，不能再抽取专家。".into(),
        )));
    }
    let s = settings(db, program, &batch.id).await?;
    let apps = review_applications(db, &batch.id).await?;
    if apps.is_empty() {
        return Err(DrawRefusal::Refused(Refusal::Rule(
            "本批次还没有市州推荐的申报，暂无可分配的评审任务。".into(),
        )));
    }
    let experts: Vec<Expert> = rs::experts(db)
        .await?
        .into_iter()
        .filter(|e| e.active)
        .collect();
    if experts.is_empty() {
        return Err(DrawRefusal::Refused(Refusal::Rule(
            "专家库中没有可用的专家，请先添加或导入专家。".into(),
        )));
    }
    let a_index: HashMap<&str, usize> = apps
        .iter()
        .enumerate()
        .map(|(i, a)| (a.id.as_str(), i))
        .collect();
    let e_index: HashMap<&str, usize> = experts
        .iter()
        .enumerate()
        .map(|(i, e)| (e.id.as_str(), i))
        .collect();
    let existing = rs::for_batch(db, &batch.id).await?;
    let (mut fixed, mut excluded) = (Vec::new(), Vec::new());
    for a in &existing {
        let (Some(&ai), Some(&ei)) = (
            a_index.get(a.application_id.as_str()),
            e_index.get(a.expert_id.as_str()),
        ) else {
            continue;
        };
        if a.status == Status::Declined {
            excluded.push((ai, ei));
        } else {
            fixed.push((ai, ei));
        }
    }
    let mut forbidden = Vec::new();
    let reviewers: Vec<Reviewer> = experts
        .iter()
        .map(|e| Reviewer::new(&e.unit, &e.city_code, &e.avoid_units))
        .collect();
    for (ai, app) in apps.iter().enumerate() {
        let answers = applications::content(db, &app.id)
            .await?
            .map(|(_, v)| v)
            .unwrap_or(Value::Null);
        let applicant = Applicant::new(
            &app.enterprise_name,
            &app.city_code,
            &providers(program, &answers),
        );
        let panel = s.panel_of(&app.industry);
        for (ei, e) in experts.iter().enumerate() {
            if let Some(why) = conflict::reason(&applicant, &reviewers[ei], s.same_city) {
                forbidden.push((ai, ei, why));
            } else if let Some(panel) = panel
                && !panel.admits(&e.fields)
            {
                forbidden.push((ai, ei, format!("专业领域不属于{}", panel.name)));
            }
        }
    }
    let mut inputs = DrawInputs {
        per_application: s.per_application as usize,
        max_per_expert: s.max_per_expert as usize,
        applications: apps.iter().map(|a| a.id.clone()).collect(),
        experts: experts.iter().map(|e| e.id.clone()).collect(),
        forbidden,
        fixed,
        excluded,
        result: Vec::new(),
    };
    let seed = assignment::new_seed();
    let pairs = match inputs.run(seed) {
        Ok(p) => p,
        Err(DrawError::Uncoverable(short)) => {
            return Err(DrawRefusal::Uncoverable(
                short
                    .into_iter()
                    .map(|s| Shortage {
                        application_id: apps[s.application].id.clone(),
                        enterprise_name: apps[s.application].enterprise_name.clone(),
                        reason: format!(
                            "需要{}名专家，可分配{}名：{}",
                            s.needed, s.assigned, s.reason
                        ),
                    })
                    .collect(),
            ));
        }
    };
    let fixed_set: HashSet<(usize, usize)> = inputs.fixed.iter().copied().collect();
    let new: Vec<(usize, usize)> = pairs
        .iter()
        .copied()
        .filter(|p| !fixed_set.contains(p))
        .collect();
    inputs.result = pairs;
    let draw_id = new_id();
    let mut b = Batch::new();
    rs::insert_draw(
        &mut b,
        &batch.id,
        &rs::DrawRecord {
            id: draw_id.clone(),
            seed: seed.to_string(),
            inputs: serde_json::to_string(&inputs).map_err(anyhow::Error::from)?,
            pairs: new.len() as i64,
            created_at: now,
            created_by: actor.name.clone(),
        },
    );
    for (ai, ei) in &new {
        rs::insert_assignment(&mut b, &batch.id, &apps[*ai].id, &experts[*ei].id, &draw_id);
    }
    // Each newly drawn expert is told once, with the number of new applications.
    let mut drawn: Vec<(usize, usize)> = Vec::new();
    for (_, ei) in &new {
        match drawn.iter_mut().find(|(e, _)| e == ei) {
            Some((_, n)) => *n += 1,
            None => drawn.push((*ei, 1)),
        }
    }
    for (ei, n) in drawn {
        let e = &experts[ei];
        crate::services::notify::expert_assigned(&mut b, &e.user_id, &e.name, &batch.name, n, now);
    }
    for app in apps.iter().filter(|a| a.state == State::Recommended) {
        applications::push_transition(
            &mut b,
            app,
            State::UnderReview,
            Role::Province,
            actor,
            "随机抽取评审专家",
            now,
        )
        .map_err(|_| Refusal::Stale)?;
    }
    audit::record(
        &mut b,
        actor,
        Action::ReviewDraw,
        Some(&draw_id),
        true,
        &format!(
            "随机种子 {seed}；{}项申报，{}名专家，新分配{}对",
            apps.len(),
            experts.len(),
            new.len()
        ),
        now,
    );
    db.write(b)
        .await
        .map_err(|e| DrawRefusal::Refused(Refusal::from_write(e)))?;
    Ok(DrawDone {
        draw_id,
        seed,
        new_pairs: new.len(),
        applications: apps.len(),
    })
}

/// A draw that did not happen.
#[derive(Debug)]
pub enum DrawRefusal {
    Refused(Refusal),
    Uncoverable(Vec<Shortage>),
}

impl<E: Into<Refusal>> From<E> for DrawRefusal {
    fn from(e: E) -> Self {
        DrawRefusal::Refused(e.into())
    }
}

/// Re-runs a stored draw with its stored inputs and seed: whether it gives
/// the same pairs.
pub async fn replay(db: &Db, draw_id: &str) -> anyhow::Result<(bool, usize)> {
    let d = rs::draw_by_id(db, draw_id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("没有编号为 {draw_id} 的抽取记录"))?;
    let inputs: DrawInputs = serde_json::from_str(&d.inputs)?;
    let seed: u64 = d.seed.parse()?;
    let again = inputs
        .run(seed)
        .map_err(|_| anyhow::anyhow!("按记录的输入重新抽取失败"))?;
    Ok((again == inputs.result, again.len()))
}
