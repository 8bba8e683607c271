//! The province's review: settings, the expert pool, the pledge, the draw,
//! declines, scores, the 专家组意见 and the shortlist. One function per
//! state change (see the module above).

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Outcome, Refusal};
use crate::auth;
use crate::clock;
use crate::domain::aggregate::{self, ExpertScore, Method, Options};
use crate::domain::assignment::{self, DrawError, DrawInput};
use crate::domain::conflict::{self, Applicant, Reviewer};
use crate::domain::contact::{Email, MobilePhone};
use crate::domain::form::{FieldKind, ProgramDef};
use crate::domain::lifecycle::State;
use crate::domain::password;
use crate::domain::region;
use crate::domain::role::Role;
use crate::domain::scoring::{self, Scores, Sheet, hundredths, parse_score, show};
use crate::store::applications::{self, Application};
use crate::store::audit::{self, Action, Actor};
use crate::store::batches::BatchRow;
use crate::store::review::{self as rs, Assignment, Expert, Settings, ShortlistItem, Status};
use crate::store::users::{self, NewUser};
use crate::store::{Batch, Db, Millis, StoreError, new_id};

/// Most experts one import may hold.
pub const MAX_IMPORT: usize = 500;
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

/// The applications the review covers: recommended or already under review.
async fn review_applications(db: &Db, batch_id: &str) -> Outcome<Vec<Application>> {
    Ok(applications::submitted_in_batch(db, batch_id)
        .await?
        .into_iter()
        .filter(|a| matches!(a.state, State::Recommended | State::UnderReview))
        .collect())
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

/// The aggregated results of every submitted score of the applications in
/// `apps` that the review ranks, best first. Reads three columns of the
/// submitted scores only (the province list calls it on every request).
pub async fn results(
    db: &Db,
    s: &Settings,
    apps: &[Application],
) -> Outcome<Vec<aggregate::Result>> {
    let ids: HashSet<&str> = apps
        .iter()
        .filter(|a| reviewed(a.state))
        .map(|a| a.id.as_str())
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
    let results = results(db, s, &all).await?;
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

/// The province default sheet, for programs that define no 评价标准.
pub fn default_criteria() -> Sheet {
    scoring::province_default()
}
