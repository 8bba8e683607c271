//! 形式审查 (screening): the checklist the province maintains, and each
//! decision a city takes on a submitted version, kept as history. The state
//! change itself goes through [`super::applications::transition`].

use serde::{Deserialize, Serialize};

use super::applications::Application;
use super::{Batch, Db, Millis, Result, Row};
use crate::params;

/// One line of the checklist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub key: String,
    pub label: String,
    pub hint: String,
    pub position: i64,
    pub active: bool,
}

/// Every item, active or not, in order.
pub async fn items(db: &Db) -> Result<Vec<Item>> {
    let rows = db
        .query(
            "SELECT key, label, hint, position, active FROM screening_items ORDER BY position, key",
            Vec::new(),
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| Item {
            key: r.text(0),
            label: r.text(1),
            hint: r.text(2),
            position: r.int(3),
            active: r.bool(4),
        })
        .collect())
}

/// The items a city ticks today.
pub async fn active_items(db: &Db) -> Result<Vec<Item>> {
    Ok(items(db).await?.into_iter().filter(|i| i.active).collect())
}

/// Creates or changes an item (items are retired, never deleted: past
/// decisions name them).
pub fn upsert_item(b: &mut Batch, item: &Item) {
    b.push(
        "INSERT INTO screening_items (key, label, hint, position, active) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (key) DO UPDATE SET label = $2, hint = $3, position = $4, active = $5",
        params![
            item.key.as_str(),
            item.label.as_str(),
            item.hint.as_str(),
            item.position,
            item.active
        ],
    );
}

/// One checklist line as the city answered it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    pub key: String,
    pub label: String,
    pub ok: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Passed,
    Returned,
    Rejected,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Passed => "passed",
            Decision::Returned => "returned",
            Decision::Rejected => "rejected",
        }
    }

    pub fn parse(s: &str) -> Option<Decision> {
        [Decision::Passed, Decision::Returned, Decision::Rejected]
            .into_iter()
            .find(|d| d.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Decision::Passed => "通过",
            Decision::Returned => "退回修改",
            Decision::Rejected => "不予推荐（驳回）",
        }
    }
}

/// A screening decision on submitted version `version`.
#[derive(Debug, Clone)]
pub struct Screening {
    pub id: String,
    pub application_id: String,
    pub version: i64,
    pub decision: Decision,
    pub checks: Vec<Check>,
    pub reason: String,
    pub resubmit_deadline: Option<Millis>,
    pub created_at: Millis,
    pub created_by: String,
}

impl Screening {
    fn from_row(r: &Row) -> Screening {
        Screening {
            id: r.text(0),
            application_id: r.text(1),
            version: r.int(2),
            decision: Decision::parse(&r.text(3)).unwrap_or(Decision::Returned),
            checks: serde_json::from_str(&r.text(4)).unwrap_or_default(),
            reason: r.text(5),
            resubmit_deadline: r.opt_int(6),
            created_at: r.int(7),
            created_by: r.text(8),
        }
    }

    pub fn at_text(&self) -> String {
        crate::clock::format_datetime(self.created_at)
    }

    pub fn deadline_text(&self) -> String {
        self.resubmit_deadline
            .map(crate::clock::format_deadline)
            .unwrap_or_default()
    }

    /// 符合 n/m 项
    pub fn checks_text(&self) -> String {
        let ok = self.checks.iter().filter(|c| c.ok).count();
        format!("符合{}/{}项", ok, self.checks.len())
    }
}

pub fn record(b: &mut Batch, s: &Screening) {
    let checks = serde_json::to_string(&s.checks).unwrap_or_else(|_| "[]".into());
    b.push(
        "INSERT INTO screenings (id, application_id, version, decision, checks, reason, resubmit_deadline, created_at, created_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        params![
            s.id.as_str(),
            s.application_id.as_str(),
            s.version,
            s.decision.as_str(),
            checks,
            s.reason.as_str(),
            s.resubmit_deadline,
            s.created_at,
            s.created_by.as_str()
        ],
    );
}

/// Every decision on an application, newest first.
pub async fn history(db: &Db, application_id: &str) -> Result<Vec<Screening>> {
    let rows = db
        .query(
            "SELECT id, application_id, version, decision, checks, reason, resubmit_deadline, created_at, created_by \
             FROM screenings WHERE application_id = $1 ORDER BY created_at DESC, id DESC LIMIT 200",
            params![application_id],
        )
        .await?;
    Ok(rows.iter().map(Screening::from_row).collect())
}

/// The latest decision, if it returned the application.
pub async fn latest_return(db: &Db, application_id: &str) -> Result<Option<Screening>> {
    Ok(history(db, application_id)
        .await?
        .into_iter()
        .next()
        .filter(|s| s.decision == Decision::Returned))
}

/// The resubmission deadline the city set when it last returned the
/// application, if any.
pub async fn resubmit_deadline(db: &Db, application_id: &str) -> Result<Option<Millis>> {
    Ok(latest_return(db, application_id)
        .await?
        .and_then(|s| s.resubmit_deadline))
}

/// Statements that make a returned application editable again: a new draft
/// version (kept) holding the answers of the submitted one, which becomes
/// the working copy. The submitted version stays as it was.
pub fn reopen_draft(b: &mut Batch, app: &Application, answers: &str, by: &str, now: Millis) {
    let next = app.version + 1;
    super::applications::push_version(b, &app.id, next, "draft", answers, None, by, now);
    b.push_one(
        "UPDATE applications SET version = $3, versioned_at = $4 WHERE id = $1 AND version = $2",
        params![app.id.as_str(), app.version, next, now],
    );
    b.push(
        "UPDATE drafts SET content = $2, saved_at = $3 WHERE application_id = $1",
        params![app.id.as_str(), answers, now],
    );
}
