//! Publication rows: the 公示 of a batch (and its final 公告), what the public
//! page lists, and the objections. Rules live in `services::publication`.

use super::{Batch, Db, Millis, Result, Row};
use crate::params;

#[derive(Debug, Clone)]
pub struct Publicity {
    pub batch_id: String,
    pub starts_on: String,
    pub ends_on: String,
    pub start_at: Millis,
    pub end_at: Millis,
    pub working_days: i64,
    pub opened_at: Millis,
    pub opened_by: String,
    pub final_doc_number: Option<String>,
    pub final_date: Option<String>,
    pub final_at: Option<Millis>,
    pub final_list: Option<String>,
    pub final_fingerprint: Option<String>,
}

impl Publicity {
    fn from_row(r: &Row) -> Publicity {
        Publicity {
            batch_id: r.text(0),
            starts_on: r.text(1),
            ends_on: r.text(2),
            start_at: r.int(3),
            end_at: r.int(4),
            working_days: r.int(5),
            opened_at: r.int(6),
            opened_by: r.text(7),
            final_doc_number: r.opt_text(8),
            final_date: r.opt_text(9),
            final_at: r.opt_int(10),
            final_list: r.opt_text(11),
            final_fingerprint: r.opt_text(12),
        }
    }

    /// Whether objections are taken at `now`.
    pub fn open_at(&self, now: Millis) -> bool {
        self.start_at <= now && now <= self.end_at
    }
}

pub async fn publicity(db: &Db, batch_id: &str) -> Result<Option<Publicity>> {
    Ok(db
        .query_opt(
            "SELECT batch_id, starts_on, ends_on, start_at, end_at, working_days, opened_at, opened_by, \
             final_doc_number, final_date, final_at, final_list, final_fingerprint FROM publicity WHERE batch_id = $1",
            params![batch_id],
        )
        .await?
        .as_ref()
        .map(Publicity::from_row))
}

/// What the public 公示 page is made from, in one read: (batch name, opened,
/// final) as one string, and the period to tell the phase.
pub struct Stamp(pub String, Millis, Millis, bool);

impl Stamp {
    pub fn phase(&self, now: Millis) -> &'static str {
        if self.3 {
            "final"
        } else if now < self.1 {
            "before"
        } else if now <= self.2 {
            "open"
        } else {
            "ended"
        }
    }
}

pub async fn stamp(db: &Db, batch_id: &str) -> Result<Option<Stamp>> {
    Ok(db
        .query_opt(
            "SELECT b.name, p.opened_at, p.final_at, p.start_at, p.end_at FROM publicity p \
             JOIN batches b ON b.id = p.batch_id WHERE p.batch_id = $1",
            params![batch_id],
        )
        .await?
        .map(|r| {
            Stamp(
                format!("{}|{}|{:?}", r.text(0), r.int(1), r.opt_int(2)),
                r.int(3),
                r.int(4),
                r.opt_int(2).is_some(),
            )
        }))
}

pub fn open(b: &mut Batch, p: &Publicity) {
    b.push(
        "INSERT INTO publicity (batch_id, starts_on, ends_on, start_at, end_at, working_days, opened_at, opened_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        params![
            p.batch_id.as_str(),
            p.starts_on.as_str(),
            p.ends_on.as_str(),
            p.start_at,
            p.end_at,
            p.working_days,
            p.opened_at,
            p.opened_by.as_str()
        ],
    );
}

/// Records the final 公告, once.
#[allow(clippy::too_many_arguments)]
pub fn finalize(
    b: &mut Batch,
    batch_id: &str,
    doc_number: &str,
    date: &str,
    list: &str,
    fingerprint: &str,
    by: &str,
    now: Millis,
) {
    b.push_one(
        "UPDATE publicity SET final_doc_number = $2, final_date = $3, final_list = $4, final_fingerprint = $5, \
         final_by = $6, final_at = $7 WHERE batch_id = $1 AND final_at IS NULL",
        params![batch_id, doc_number, date, list, fingerprint, by, now],
    );
}

/// One line of the public list, fixed when the 公示 opened.
#[derive(Debug, Clone)]
pub struct Item {
    pub application_id: String,
    pub position: i64,
    pub enterprise_name: String,
    pub city: String,
    pub industry: String,
    pub services: String,
}

pub fn add_item(b: &mut Batch, batch_id: &str, i: &Item) {
    b.push(
        "INSERT INTO publicity_items (batch_id, application_id, position, enterprise_name, city, industry, services) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        params![
            batch_id,
            i.application_id.as_str(),
            i.position,
            i.enterprise_name.as_str(),
            i.city.as_str(),
            i.industry.as_str(),
            i.services.as_str()
        ],
    );
}

pub async fn items(db: &Db, batch_id: &str) -> Result<Vec<Item>> {
    let rows = db
        .query(
            "SELECT application_id, position, enterprise_name, city, industry, services FROM publicity_items \
             WHERE batch_id = $1 ORDER BY position",
            params![batch_id],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| Item {
            application_id: r.text(0),
            position: r.int(1),
            enterprise_name: r.text(2),
            city: r.text(3),
            industry: r.text(4),
            services: r.text(5),
        })
        .collect())
}

// ───────────────────────────── objections ─────────────────────────────

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Received,
    Verifying,
    Verified,
    Decided,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Received => "received",
            Status::Verifying => "verifying",
            Status::Verified => "verified",
            Status::Decided => "decided",
        }
    }

    fn parse(s: &str) -> Status {
        match s {
            "verifying" => Status::Verifying,
            "verified" => Status::Verified,
            "decided" => Status::Decided,
            _ => Status::Received,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Status::Received => "已受理",
            Status::Verifying => "市州核查中",
            Status::Verified => "市州已核查",
            Status::Decided => "已办结",
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct Evidence {
    pub name: String,
    pub key: String,
    pub sha256: String,
    pub size: i64,
}

#[derive(Debug, Clone)]
pub struct Objection {
    pub id: String,
    pub receipt: String,
    pub batch_id: String,
    pub application_id: String,
    pub name: String,
    pub unit: String,
    pub phone: String,
    pub email: String,
    pub facts: String,
    pub evidence: Option<Evidence>,
    pub ip: String,
    pub status: Status,
    pub verify_request: String,
    pub verify_deadline: Option<Millis>,
    pub findings: String,
    pub verified_at: Option<Millis>,
    pub verified_by: Option<String>,
    /// 成立 (true) or 不成立.
    pub upheld: Option<bool>,
    pub decision_reason: String,
    /// 取消入选 (true) or 维持.
    pub cancel: Option<bool>,
    pub decided_at: Option<Millis>,
    pub version: i64,
    /// The enterprise's 申辩 (empty: none yet).
    pub answer: String,
    pub answered_at: Option<Millis>,
    pub created_at: Millis,
}

macro_rules! obj_cols {
    () => {
        "SELECT id, receipt, batch_id, application_id, name, unit, phone, email, facts, evidence_name, evidence_key, \
         evidence_sha256, evidence_size, ip, status, verify_request, verify_deadline, findings, verified_at, verified_by, \
         decision, decision_reason, outcome, decided_at, version, created_at, answer, answered_at FROM objections "
    };
}

impl Objection {
    fn from_row(r: &Row) -> Objection {
        Objection {
            id: r.text(0),
            receipt: r.text(1),
            batch_id: r.text(2),
            application_id: r.text(3),
            name: r.text(4),
            unit: r.text(5),
            phone: r.text(6),
            email: r.text(7),
            facts: r.text(8),
            evidence: r.opt_text(10).map(|key| Evidence {
                name: r.text(9),
                key,
                sha256: r.text(11),
                size: r.int(12),
            }),
            ip: r.text(13),
            status: Status::parse(&r.text(14)),
            verify_request: r.text(15),
            verify_deadline: r.opt_int(16),
            findings: r.text(17),
            verified_at: r.opt_int(18),
            verified_by: r.opt_text(19),
            upheld: r.opt_text(20).map(|d| d == "upheld"),
            decision_reason: r.text(21),
            cancel: r.opt_text(22).map(|o| o == "cancel"),
            decided_at: r.opt_int(23),
            version: r.int(24),
            created_at: r.int(25),
            answer: r.text(26),
            answered_at: r.opt_int(27),
        }
    }

    pub fn at_text(&self) -> String {
        crate::clock::format_datetime(self.created_at)
    }

    pub fn decision_text(&self) -> String {
        match (self.upheld, self.cancel) {
            (Some(true), Some(true)) => "异议成立，取消入选".into(),
            (Some(true), _) => "异议成立，维持入选".into(),
            (Some(false), _) => "异议不成立，维持入选".into(),
            _ => String::new(),
        }
    }
}

pub fn insert(b: &mut Batch, o: &Objection) {
    let e = o.evidence.clone().unwrap_or_default();
    let has = o.evidence.is_some();
    b.push(
        "INSERT INTO objections (id, receipt, batch_id, application_id, name, unit, phone, email, facts, evidence_name, \
         evidence_key, evidence_sha256, evidence_size, ip, status, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, 'received', $15)",
        params![
            o.id.as_str(),
            o.receipt.as_str(),
            o.batch_id.as_str(),
            o.application_id.as_str(),
            o.name.as_str(),
            o.unit.as_str(),
            o.phone.as_str(),
            o.email.as_str(),
            o.facts.as_str(),
            has.then_some(e.name),
            has.then_some(e.key),
            has.then_some(e.sha256),
            has.then_some(e.size),
            o.ip.as_str(),
            o.created_at
        ],
    );
}

pub async fn for_batch(db: &Db, batch_id: &str) -> Result<Vec<Objection>> {
    let rows = db
        .query(
            concat!(obj_cols!(), "WHERE batch_id = $1 ORDER BY created_at, id"),
            params![batch_id],
        )
        .await?;
    Ok(rows.iter().map(Objection::from_row).collect())
}

pub async fn by_id(db: &Db, id: &str) -> Result<Option<Objection>> {
    Ok(db
        .query_opt(concat!(obj_cols!(), "WHERE id = $1"), params![id])
        .await?
        .as_ref()
        .map(Objection::from_row))
}

pub async fn by_receipt(db: &Db, receipt: &str) -> Result<Option<Objection>> {
    Ok(db
        .query_opt(concat!(obj_cols!(), "WHERE receipt = $1"), params![receipt])
        .await?
        .as_ref()
        .map(Objection::from_row))
}

/// Objections about applications of one city (for its verification list).
pub async fn for_city(db: &Db, city_code: &str) -> Result<Vec<Objection>> {
    let rows = db
        .query(
            concat!(
                obj_cols!(),
                "WHERE status <> 'received' AND application_id IN (SELECT id FROM applications WHERE city_code = $1) \
                 ORDER BY created_at, id"
            ),
            params![city_code],
        )
        .await?;
    Ok(rows.iter().map(Objection::from_row).collect())
}

pub async fn count_by_phone(db: &Db, batch_id: &str, phone: &str) -> Result<i64> {
    Ok(db
        .query_opt(
            "SELECT COUNT(*) FROM objections WHERE batch_id = $1 AND phone = $2",
            params![batch_id, phone],
        )
        .await?
        .map_or(0, |r| r.int(0)))
}

pub async fn count_by_ip(db: &Db, ip: &str, since: Millis) -> Result<i64> {
    Ok(db
        .query_opt(
            "SELECT COUNT(*) FROM objections WHERE ip = $1 AND created_at >= $2",
            params![ip, since],
        )
        .await?
        .map_or(0, |r| r.int(0)))
}

/// The province asks the applicant's city to verify, by `deadline`.
pub fn request_verification(b: &mut Batch, o: &Objection, request: &str, deadline: Millis) {
    b.push_one(
        "UPDATE objections SET status = 'verifying', verify_request = $2, verify_deadline = $3, version = version + 1 \
         WHERE id = $1 AND version = $4 AND status IN ('received', 'verifying', 'verified')",
        params![o.id.as_str(), request, deadline, o.version],
    );
}

pub fn record_findings(b: &mut Batch, o: &Objection, findings: &str, by: &str, now: Millis) {
    b.push_one(
        "UPDATE objections SET status = 'verified', findings = $2, verified_at = $3, verified_by = $4, version = version + 1 \
         WHERE id = $1 AND version = $5 AND status = 'verifying'",
        params![o.id.as_str(), findings, now, by, o.version],
    );
}

pub fn decide(
    b: &mut Batch,
    o: &Objection,
    upheld: bool,
    cancel: bool,
    reason: &str,
    by: &str,
    now: Millis,
) {
    b.push_one(
        "UPDATE objections SET status = 'decided', decision = $2, outcome = $3, decision_reason = $4, decided_at = $5, \
         decided_by = $6, version = version + 1 WHERE id = $1 AND version = $7 AND status <> 'decided'",
        params![
            o.id.as_str(),
            if upheld { "upheld" } else { "rejected" },
            if cancel { "cancel" } else { "keep" },
            reason,
            now,
            by,
            o.version
        ],
    );
}

/// Objections about one application, oldest first.
pub async fn for_application(db: &Db, application_id: &str) -> Result<Vec<Objection>> {
    let rows = db
        .query(
            concat!(
                obj_cols!(),
                "WHERE application_id = $1 ORDER BY created_at, id"
            ),
            params![application_id],
        )
        .await?;
    Ok(rows.iter().map(Objection::from_row).collect())
}

/// The enterprise's 申辩, once, before the decision.
pub fn answer(b: &mut Batch, o: &Objection, text: &str, now: Millis) {
    b.push_one(
        "UPDATE objections SET answer = $2, answered_at = $3, version = version + 1 \
         WHERE id = $1 AND answered_at IS NULL AND status <> 'decided'",
        params![o.id.as_str(), text, now],
    );
}
