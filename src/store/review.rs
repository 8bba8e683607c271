//! The province's review, as rows: per-batch settings, the expert pool, the
//! pledges, the recorded draws, assignments with their scores (one row per
//! expert and application), the panel's opinions and the shortlist. Rules
//! live in `services::review`; this module only reads and writes.

use serde::{Deserialize, Serialize};

use super::{Batch, Db, Millis, Result, Row};
use crate::domain::scoring::{Scores, Sheet};
use crate::params;

/// A 评审组: the applications of some industries, reviewed by experts of
/// some fields, with its 组长 who records the 专家组意见.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Panel {
    pub name: String,
    /// 所属行业 of the applications it reviews.
    pub industries: Vec<String>,
    /// 专业领域 an expert must have one of (empty: any).
    pub fields: Vec<String>,
    pub leader: Option<String>,
}

impl Panel {
    /// Whether an application of `industry` belongs here.
    pub fn takes(&self, industry: &str) -> bool {
        self.industries
            .iter()
            .any(|i| !i.is_empty() && (industry == i || industry.starts_with(i.as_str())))
    }

    /// Whether an expert of `fields` may sit on it.
    pub fn admits(&self, fields: &[String]) -> bool {
        self.fields.is_empty()
            || fields.iter().any(|f| {
                self.fields
                    .iter()
                    .any(|p| f.contains(p.as_str()) || p.contains(f.as_str()))
            })
    }
}

/// What the province set for one batch's review.
#[derive(Debug, Clone)]
pub struct Settings {
    pub batch_id: String,
    /// The 评价标准.
    pub criteria: Sheet,
    /// k: experts per application.
    pub per_application: i64,
    /// m: most applications per expert.
    pub max_per_expert: i64,
    /// 回避 by the applicant's city.
    pub same_city: bool,
    /// Experts see no enterprise name, code or contacts.
    pub blind: bool,
    /// 去掉一个最高分和一个最低分 when five or more scored.
    pub trimmed: bool,
    pub zscore: bool,
    /// Points between the highest and lowest total that flag an application.
    pub spread_threshold: i64,
    pub score_deadline: Option<Millis>,
    /// The 组长 of the panel that takes every application no other panel takes.
    pub leader_expert_id: Option<String>,
    /// 评审组 by specialty (empty: one panel for all).
    pub panels: Vec<Panel>,
    /// 0 while nothing was saved (defaults shown).
    pub version: i64,
}

impl Settings {
    pub fn defaults(batch_id: &str, criteria: Sheet) -> Settings {
        Settings {
            batch_id: batch_id.into(),
            criteria,
            per_application: 5,
            max_per_expert: 30,
            same_city: true,
            blind: false,
            trimmed: true,
            zscore: false,
            spread_threshold: 20,
            score_deadline: None,
            leader_expert_id: None,
            panels: Vec::new(),
            version: 0,
        }
    }

    /// The panel an application of `industry` goes to (None: the general panel).
    pub fn panel_of(&self, industry: &str) -> Option<&Panel> {
        self.panels.iter().find(|p| p.takes(industry))
    }

    /// The 组长 for an application of `industry`.
    pub fn leader_for(&self, industry: &str) -> Option<&str> {
        match self.panel_of(industry) {
            Some(p) => p.leader.as_deref(),
            None => self.leader_expert_id.as_deref(),
        }
    }

    /// Whether `expert_id` leads any panel.
    pub fn leads(&self, expert_id: &str) -> bool {
        self.leader_expert_id.as_deref() == Some(expert_id)
            || self
                .panels
                .iter()
                .any(|p| p.leader.as_deref() == Some(expert_id))
    }

    fn from_row(r: &Row) -> Settings {
        Settings {
            batch_id: r.text(0),
            criteria: Sheet::from_json(&r.text(1)),
            per_application: r.int(2),
            max_per_expert: r.int(3),
            same_city: r.bool(4),
            blind: r.bool(5),
            trimmed: r.bool(6),
            zscore: r.bool(7),
            spread_threshold: r.int(8),
            score_deadline: r.opt_int(9),
            leader_expert_id: r.opt_text(10),
            version: r.int(11),
            panels: serde_json::from_str(&r.text(12)).unwrap_or_default(),
        }
    }
}

pub async fn settings(db: &Db, batch_id: &str) -> Result<Option<Settings>> {
    let row = db
        .query_opt(
            "SELECT batch_id, criteria, per_application, max_per_expert, same_city, blind, trimmed, zscore, \
             spread_threshold, score_deadline, leader_expert_id, version, panels FROM review_settings WHERE batch_id = $1",
            params![batch_id],
        )
        .await?;
    Ok(row.as_ref().map(Settings::from_row))
}

/// Saves `s` if the stored settings are still at `s.version` (0: none
/// saved yet); otherwise the statement changes no row and the batch is
/// refused as stale.
pub fn save_settings(b: &mut Batch, s: &Settings, by: &str, now: Millis) {
    b.push_one(
        "INSERT INTO review_settings (batch_id, criteria, per_application, max_per_expert, same_city, blind, trimmed, \
         zscore, spread_threshold, score_deadline, leader_expert_id, version, updated_at, updated_by, panels) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 1, $12, $13, $14) \
         ON CONFLICT (batch_id) DO UPDATE SET criteria = excluded.criteria, \
         per_application = excluded.per_application, max_per_expert = excluded.max_per_expert, \
         same_city = excluded.same_city, blind = excluded.blind, trimmed = excluded.trimmed, \
         zscore = excluded.zscore, spread_threshold = excluded.spread_threshold, \
         score_deadline = excluded.score_deadline, leader_expert_id = excluded.leader_expert_id, \
         panels = excluded.panels, version = review_settings.version + 1, \
         updated_at = excluded.updated_at, updated_by = excluded.updated_by \
         WHERE review_settings.version = $15",
        params![
            s.batch_id.as_str(),
            s.criteria.to_json(),
            s.per_application,
            s.max_per_expert,
            s.same_city,
            s.blind,
            s.trimmed,
            s.zscore,
            s.spread_threshold,
            s.score_deadline,
            s.leader_expert_id.clone(),
            now,
            by,
            serde_json::to_string(&s.panels).unwrap_or_else(|_| "[]".into()),
            s.version
        ],
    );
}

/// Has any expert saved a score in this batch (the criteria are then locked)?
pub async fn any_score(db: &Db, batch_id: &str) -> Result<bool> {
    Ok(db
        .query_opt(
            "SELECT 1 FROM review_assignments WHERE batch_id = $1 AND saved_at IS NOT NULL LIMIT 1",
            params![batch_id],
        )
        .await?
        .is_some())
}

// ───────────────────────────── the pool ─────────────────────────────

/// A member of the 专家库.
#[derive(Debug, Clone, Default)]
pub struct Expert {
    pub id: String,
    pub user_id: String,
    pub username: String,
    pub name: String,
    pub unit: String,
    pub title: String,
    /// 专业领域, as tags.
    pub fields: Vec<String>,
    pub city_code: String,
    pub phone: String,
    pub email: String,
    /// Declared units to avoid (回避单位).
    pub avoid_units: Vec<String>,
    pub active: bool,
}

impl Expert {
    fn from_row(r: &Row) -> Expert {
        let list = |s: String, sep: char| -> Vec<String> {
            s.split(sep)
                .map(str::trim)
                .filter(|x| !x.is_empty())
                .map(String::from)
                .collect()
        };
        Expert {
            id: r.text(0),
            user_id: r.text(1),
            username: r.text(2),
            name: r.text(3),
            unit: r.text(4),
            title: r.text(5),
            fields: list(r.text(6), '、'),
            city_code: r.text(7),
            phone: r.text(8),
            email: r.text(9),
            avoid_units: list(r.text(10), '\n'),
            active: r.bool(11),
        }
    }

    pub fn city_name(&self) -> &'static str {
        crate::domain::region::city(&self.city_code).map_or("", |c| c.name)
    }

    pub fn fields_text(&self) -> String {
        self.fields.join("、")
    }

    pub fn avoid_text(&self) -> String {
        self.avoid_units.join("\n")
    }
}

macro_rules! expert_cols {
    () => {
        "e.id, e.user_id, u.username, e.name, e.unit, e.title, e.fields, e.city_code, e.phone, e.email, \
         e.avoid_units, e.active FROM experts e JOIN users u ON u.id = e.user_id"
    };
}

pub async fn experts(db: &Db) -> Result<Vec<Expert>> {
    let rows = db
        .query(
            concat!("SELECT ", expert_cols!(), " ORDER BY e.name, e.id"),
            Vec::new(),
        )
        .await?;
    Ok(rows.iter().map(Expert::from_row).collect())
}

pub async fn expert_by_id(db: &Db, id: &str) -> Result<Option<Expert>> {
    let row = db
        .query_opt(
            concat!("SELECT ", expert_cols!(), " WHERE e.id = $1"),
            params![id],
        )
        .await?;
    Ok(row.as_ref().map(Expert::from_row))
}

pub async fn expert_by_user(db: &Db, user_id: &str) -> Result<Option<Expert>> {
    let row = db
        .query_opt(
            concat!("SELECT ", expert_cols!(), " WHERE e.user_id = $1"),
            params![user_id],
        )
        .await?;
    Ok(row.as_ref().map(Expert::from_row))
}

pub fn insert_expert(b: &mut Batch, e: &Expert, now: Millis) {
    b.push(
        "INSERT INTO experts (id, user_id, name, unit, title, fields, city_code, phone, email, avoid_units, active, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)",
        params![
            e.id.as_str(),
            e.user_id.as_str(),
            e.name.as_str(),
            e.unit.as_str(),
            e.title.as_str(),
            e.fields_text(),
            e.city_code.as_str(),
            e.phone.as_str(),
            e.email.as_str(),
            e.avoid_text(),
            e.active,
            now
        ],
    );
}

pub fn update_expert(b: &mut Batch, e: &Expert, now: Millis) {
    b.push_one(
        "UPDATE experts SET name = $2, unit = $3, title = $4, fields = $5, city_code = $6, phone = $7, email = $8, \
         avoid_units = $9, active = $10, updated_at = $11 WHERE id = $1",
        params![
            e.id.as_str(),
            e.name.as_str(),
            e.unit.as_str(),
            e.title.as_str(),
            e.fields_text(),
            e.city_code.as_str(),
            e.phone.as_str(),
            e.email.as_str(),
            e.avoid_text(),
            e.active,
            now
        ],
    );
}

pub async fn pledged(db: &Db, batch_id: &str, expert_id: &str) -> Result<Option<Millis>> {
    Ok(db
        .query_opt(
            "SELECT accepted_at FROM expert_pledges WHERE batch_id = $1 AND expert_id = $2",
            params![batch_id, expert_id],
        )
        .await?
        .map(|r| r.int(0)))
}

pub fn pledge(b: &mut Batch, batch_id: &str, expert_id: &str, ip: &str, now: Millis) {
    b.push(
        "INSERT INTO expert_pledges (batch_id, expert_id, accepted_at, ip) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (batch_id, expert_id) DO NOTHING",
        params![batch_id, expert_id, now, ip],
    );
}

// ───────────────────────────── draws ─────────────────────────────

#[derive(Debug, Clone)]
pub struct DrawRecord {
    pub id: String,
    pub seed: String,
    /// The inputs as JSON, enough to re-run the draw (see `services::review::replay`).
    pub inputs: String,
    pub pairs: i64,
    pub created_at: Millis,
    pub created_by: String,
}

impl DrawRecord {
    pub fn at_text(&self) -> String {
        crate::clock::format_datetime(self.created_at)
    }
}

pub async fn draws(db: &Db, batch_id: &str) -> Result<Vec<DrawRecord>> {
    let rows = db
        .query(
            "SELECT id, seed, inputs, pairs, created_at, created_by FROM review_draws \
             WHERE batch_id = $1 ORDER BY created_at, id",
            params![batch_id],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| DrawRecord {
            id: r.text(0),
            seed: r.text(1),
            inputs: r.text(2),
            pairs: r.int(3),
            created_at: r.int(4),
            created_by: r.text(5),
        })
        .collect())
}

pub async fn draw_by_id(db: &Db, id: &str) -> Result<Option<DrawRecord>> {
    Ok(db
        .query_opt(
            "SELECT id, seed, inputs, pairs, created_at, created_by FROM review_draws WHERE id = $1",
            params![id],
        )
        .await?
        .map(|r| DrawRecord {
            id: r.text(0),
            seed: r.text(1),
            inputs: r.text(2),
            pairs: r.int(3),
            created_at: r.int(4),
            created_by: r.text(5),
        }))
}

pub fn insert_draw(b: &mut Batch, batch_id: &str, d: &DrawRecord) {
    b.push(
        "INSERT INTO review_draws (id, batch_id, seed, inputs, pairs, created_at, created_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        params![
            d.id.as_str(),
            batch_id,
            d.seed.as_str(),
            d.inputs.as_str(),
            d.pairs,
            d.created_at,
            d.created_by.as_str()
        ],
    );
}

pub fn insert_assignment(
    b: &mut Batch,
    batch_id: &str,
    application_id: &str,
    expert_id: &str,
    draw_id: &str,
) {
    b.push(
        "INSERT INTO review_assignments (application_id, expert_id, batch_id, draw_id, status) \
         VALUES ($1, $2, $3, $4, 'assigned')",
        params![application_id, expert_id, batch_id, draw_id],
    );
}

// ───────────────────────────── assignments and scores ─────────────────────────────

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Assigned,
    Declined,
    Submitted,
}

impl Status {
    fn parse(s: &str) -> Status {
        match s {
            "declined" => Status::Declined,
            "submitted" => Status::Submitted,
            _ => Status::Assigned,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Status::Assigned => "待评分",
            Status::Declined => "已回避",
            Status::Submitted => "已提交",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Assignment {
    pub application_id: String,
    pub expert_id: String,
    pub batch_id: String,
    pub draw_id: String,
    pub status: Status,
    pub decline_reason: String,
    pub scores: Scores,
    pub comment: String,
    /// Weighted total in hundredths of a point (set when saved).
    pub total_h: Option<i64>,
    pub version: i64,
    pub saved_at: Option<Millis>,
    pub submitted_at: Option<Millis>,
}

impl Assignment {
    fn from_row(r: &Row) -> Assignment {
        Assignment {
            application_id: r.text(0),
            expert_id: r.text(1),
            batch_id: r.text(2),
            draw_id: r.text(3),
            status: Status::parse(&r.text(4)),
            decline_reason: r.text(5),
            scores: serde_json::from_str(&r.text(6)).unwrap_or_default(),
            comment: r.text(7),
            total_h: r.opt_int(8),
            version: r.int(9),
            saved_at: r.opt_int(10),
            submitted_at: r.opt_int(11),
        }
    }

    pub fn total(&self) -> Option<f64> {
        self.total_h.map(|h| h as f64 / 100.0)
    }
}

macro_rules! asg_cols {
    () => {
        "SELECT application_id, expert_id, batch_id, draw_id, status, decline_reason, scores, comment, total_h, \
         version, saved_at, submitted_at FROM review_assignments "
    };
}

pub async fn for_batch(db: &Db, batch_id: &str) -> Result<Vec<Assignment>> {
    let rows = db
        .query(
            concat!(
                asg_cols!(),
                "WHERE batch_id = $1 ORDER BY application_id, expert_id"
            ),
            params![batch_id],
        )
        .await?;
    Ok(rows.iter().map(Assignment::from_row).collect())
}

pub async fn for_expert(db: &Db, expert_id: &str) -> Result<Vec<Assignment>> {
    let rows = db
        .query(
            concat!(
                asg_cols!(),
                "WHERE expert_id = $1 ORDER BY batch_id, application_id"
            ),
            params![expert_id],
        )
        .await?;
    Ok(rows.iter().map(Assignment::from_row).collect())
}

pub async fn for_application(db: &Db, application_id: &str) -> Result<Vec<Assignment>> {
    let rows = db
        .query(
            concat!(asg_cols!(), "WHERE application_id = $1 ORDER BY expert_id"),
            params![application_id],
        )
        .await?;
    Ok(rows.iter().map(Assignment::from_row).collect())
}

pub async fn assignment(
    db: &Db,
    application_id: &str,
    expert_id: &str,
) -> Result<Option<Assignment>> {
    Ok(db
        .query_opt(
            concat!(asg_cols!(), "WHERE application_id = $1 AND expert_id = $2"),
            params![application_id, expert_id],
        )
        .await?
        .as_ref()
        .map(Assignment::from_row))
}

/// (application, expert, total in hundredths) of every submitted score of a batch.
pub async fn submitted_totals(db: &Db, batch_id: &str) -> Result<Vec<(String, String, i64)>> {
    let rows = db
        .query(
            "SELECT application_id, expert_id, total_h FROM review_assignments \
             WHERE batch_id = $1 AND status = 'submitted' AND total_h IS NOT NULL",
            params![batch_id],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| (r.text(0), r.text(1), r.int(2)))
        .collect())
}

/// The assignment of the expert account `user_id` to `application_id`,
/// whether its batch's pledge is signed, and the batch's saved settings, in
/// one read (a score save's; the benchmark's save rate is bound by reads).
pub async fn for_user(
    db: &Db,
    user_id: &str,
    application_id: &str,
) -> Result<Option<(Assignment, bool, Option<Settings>)>> {
    let row = db
        .query_opt(
            "SELECT a.application_id, a.expert_id, a.batch_id, a.draw_id, a.status, a.decline_reason, a.scores, \
             a.comment, a.total_h, a.version, a.saved_at, a.submitted_at, p.accepted_at, \
             s.batch_id, s.criteria, s.per_application, s.max_per_expert, s.same_city, s.blind, s.trimmed, s.zscore, \
             s.spread_threshold, s.score_deadline, s.leader_expert_id, s.version, s.panels FROM experts e \
             JOIN review_assignments a ON a.expert_id = e.id \
             LEFT JOIN expert_pledges p ON p.batch_id = a.batch_id AND p.expert_id = e.id \
             LEFT JOIN review_settings s ON s.batch_id = a.batch_id \
             WHERE e.user_id = $1 AND a.application_id = $2",
            params![user_id, application_id],
        )
        .await?;
    Ok(row.map(|r| {
        let settings = r
            .opt_text(13)
            .map(|_| Settings::from_row(&Row(r.0[13..].to_vec())));
        (Assignment::from_row(&r), r.opt_int(12).is_some(), settings)
    }))
}

/// Does this expert hold a live (not declined) assignment to the application?
pub async fn assigned(db: &Db, application_id: &str, user_id: &str) -> Result<bool> {
    Ok(db
        .query_opt(
            "SELECT 1 FROM review_assignments a JOIN experts e ON e.id = a.expert_id \
             WHERE a.application_id = $1 AND e.user_id = $2 AND a.status <> 'declined'",
            params![application_id, user_id],
        )
        .await?
        .is_some())
}

/// Saves (or with `submit`, saves and locks) a score still at the
/// assignment's version, whose expert signed the pledge, while the batch's
/// settings are at `settings_version` (0: none saved).
#[allow(clippy::too_many_arguments)]
pub fn save_score(
    b: &mut Batch,
    a: &Assignment,
    scores: &Scores,
    comment: &str,
    total_h: i64,
    submit: bool,
    settings_version: i64,
    now: Millis,
) {
    b.push_one(
        "UPDATE review_assignments SET scores = $3, comment = $4, total_h = $5, version = version + 1, saved_at = $6, \
         status = $7, submitted_at = $8 \
         WHERE application_id = $1 AND expert_id = $2 AND status = 'assigned' AND version = $9 \
         AND EXISTS (SELECT 1 FROM expert_pledges p WHERE p.batch_id = review_assignments.batch_id \
                     AND p.expert_id = review_assignments.expert_id) \
         AND COALESCE((SELECT s.version FROM review_settings s WHERE s.batch_id = review_assignments.batch_id), 0) = $10",
        params![
            a.application_id.as_str(),
            a.expert_id.as_str(),
            serde_json::to_string(scores).unwrap_or_else(|_| "{}".into()),
            comment,
            total_h,
            now,
            if submit { "submitted" } else { "assigned" },
            if submit { Some(now) } else { None },
            a.version,
            settings_version
        ],
    );
}

pub fn decline(b: &mut Batch, a: &Assignment, reason: &str) {
    b.push_one(
        "UPDATE review_assignments SET status = 'declined', decline_reason = $3, version = version + 1 \
         WHERE application_id = $1 AND expert_id = $2 AND status = 'assigned' AND version = $4",
        params![
            a.application_id.as_str(),
            a.expert_id.as_str(),
            reason,
            a.version
        ],
    );
}

// ───────────────────────────── 专家组意见 ─────────────────────────────

#[derive(Debug, Clone)]
pub struct Opinion {
    pub application_id: String,
    pub opinion: String,
    /// 推荐 (true) or 不推荐.
    pub recommend: bool,
    pub signed: bool,
    pub updated_at: Millis,
    pub updated_by: String,
}

/// The panel opinions of a batch, by application.
pub async fn opinions(
    db: &Db,
    batch_id: &str,
) -> Result<std::collections::HashMap<String, Opinion>> {
    let rows = db
        .query(
            "SELECT application_id, opinion, conclusion, signed, updated_at, updated_by FROM panel_opinions \
             WHERE batch_id = $1",
            params![batch_id],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| {
            (
                r.text(0),
                Opinion {
                    application_id: r.text(0),
                    opinion: r.text(1),
                    recommend: r.text(2) == "recommend",
                    signed: r.bool(3),
                    updated_at: r.int(4),
                    updated_by: r.text(5),
                },
            )
        })
        .collect())
}

/// Writes the panel's opinion unless it is already signed off.
pub fn save_opinion(
    b: &mut Batch,
    batch_id: &str,
    o: &Opinion,
    exists: bool,
    by: &str,
    now: Millis,
) {
    let conclusion = if o.recommend {
        "recommend"
    } else {
        "not_recommend"
    };
    if exists {
        b.push_one(
            "UPDATE panel_opinions SET opinion = $2, conclusion = $3, signed = $4, updated_at = $5, updated_by = $6 \
             WHERE application_id = $1 AND signed = 0",
            params![
                o.application_id.as_str(),
                o.opinion.as_str(),
                conclusion,
                o.signed,
                now,
                by
            ],
        );
    } else {
        b.push(
            "INSERT INTO panel_opinions (application_id, batch_id, opinion, conclusion, signed, updated_at, updated_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            params![
                o.application_id.as_str(),
                batch_id,
                o.opinion.as_str(),
                conclusion,
                o.signed,
                now,
                by
            ],
        );
    }
}

// ───────────────────────────── the shortlist ─────────────────────────────

#[derive(Debug, Clone)]
pub struct ShortlistItem {
    pub application_id: String,
    pub rank: i64,
    pub final_h: i64,
    pub reason: String,
}

#[derive(Debug, Clone, Default)]
pub struct Shortlist {
    pub locked_at: Option<Millis>,
    pub locked_by: Option<String>,
    /// The aggregation formula and tie rule the ranks were made with.
    pub rule: String,
    pub items: Vec<ShortlistItem>,
}

pub async fn shortlist(db: &Db, batch_id: &str) -> Result<Shortlist> {
    let head = db
        .query_opt(
            "SELECT locked_at, locked_by, rule FROM shortlists WHERE batch_id = $1",
            params![batch_id],
        )
        .await?;
    let rows = db
        .query(
            "SELECT application_id, rank, final_h, reason FROM shortlist_items WHERE batch_id = $1 ORDER BY rank, application_id",
            params![batch_id],
        )
        .await?;
    Ok(Shortlist {
        locked_at: head.as_ref().and_then(|r| r.opt_int(0)),
        locked_by: head.as_ref().and_then(|r| r.opt_text(1)),
        rule: head.as_ref().map(|r| r.text(2)).unwrap_or_default(),
        items: rows
            .iter()
            .map(|r| ShortlistItem {
                application_id: r.text(0),
                rank: r.int(1),
                final_h: r.int(2),
                reason: r.text(3),
            })
            .collect(),
    })
}

/// Replaces the unlocked shortlist with `items`; with `lock`, locks it.
pub fn save_shortlist(
    b: &mut Batch,
    batch_id: &str,
    rule: &str,
    items: &[ShortlistItem],
    lock: Option<&str>,
    now: Millis,
) {
    b.push(
        "INSERT INTO shortlists (batch_id, rule, updated_at) VALUES ($1, $2, $3) ON CONFLICT (batch_id) DO NOTHING",
        params![batch_id, rule, now],
    );
    // Rolls everything back if the shortlist was locked meanwhile.
    b.push_one(
        "UPDATE shortlists SET rule = $2, updated_at = $3, locked_at = $4, locked_by = $5 \
         WHERE batch_id = $1 AND locked_at IS NULL",
        params![
            batch_id,
            rule,
            now,
            lock.map(|_| now),
            lock.map(String::from)
        ],
    );
    b.push(
        "DELETE FROM shortlist_items WHERE batch_id = $1",
        params![batch_id],
    );
    for i in items {
        b.push(
            "INSERT INTO shortlist_items (batch_id, application_id, rank, final_h, reason) VALUES ($1, $2, $3, $4, $5)",
            params![
                batch_id,
                i.application_id.as_str(),
                i.rank,
                i.final_h,
                i.reason.as_str()
            ],
        );
    }
}
