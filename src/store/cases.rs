//! 典型案例 rows: each selected enterprise's case (draft, submitted,
//! returned, approved) and its pictures. Rules live in `services::cases`.

use super::{Batch, Db, Millis, Result, Row};
use crate::params;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Draft,
    Submitted,
    Returned,
    Approved,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Draft => "draft",
            Status::Submitted => "submitted",
            Status::Returned => "returned",
            Status::Approved => "approved",
        }
    }

    fn parse(s: &str) -> Status {
        match s {
            "submitted" => Status::Submitted,
            "returned" => Status::Returned,
            "approved" => Status::Approved,
            _ => Status::Draft,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Status::Draft => "草稿",
            Status::Submitted => "已提交，待省经信厅审定",
            Status::Returned => "已退回修改",
            Status::Approved => "已审定发布",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Case {
    pub application_id: String,
    pub batch_id: String,
    pub title: String,
    pub summary: String,
    pub body: String,
    pub status: Status,
    /// The province's note when it returned the case.
    pub note: String,
    pub version: i64,
    pub updated_at: Millis,
    pub approved_at: Option<Millis>,
}

macro_rules! case_cols {
    () => {
        "SELECT application_id, batch_id, title, summary, body, status, note, version, updated_at, approved_at FROM cases "
    };
}

impl Case {
    fn from_row(r: &Row) -> Case {
        Case {
            application_id: r.text(0),
            batch_id: r.text(1),
            title: r.text(2),
            summary: r.text(3),
            body: r.text(4),
            status: Status::parse(&r.text(5)),
            note: r.text(6),
            version: r.int(7),
            updated_at: r.int(8),
            approved_at: r.opt_int(9),
        }
    }

    pub fn at_text(&self) -> String {
        crate::clock::format_datetime(self.approved_at.unwrap_or(self.updated_at))
    }
}

pub async fn get(db: &Db, application_id: &str) -> Result<Option<Case>> {
    Ok(db
        .query_opt(
            concat!(case_cols!(), "WHERE application_id = $1"),
            params![application_id],
        )
        .await?
        .as_ref()
        .map(Case::from_row))
}

pub async fn with_status(db: &Db, status: Status) -> Result<Vec<Case>> {
    let rows = db
        .query(
            concat!(
                case_cols!(),
                "WHERE status = $1 ORDER BY approved_at DESC, updated_at DESC"
            ),
            params![status.as_str()],
        )
        .await?;
    Ok(rows.iter().map(Case::from_row).collect())
}

pub async fn all(db: &Db) -> Result<Vec<Case>> {
    let rows = db
        .query(
            concat!(case_cols!(), "ORDER BY updated_at DESC"),
            Vec::new(),
        )
        .await?;
    Ok(rows.iter().map(Case::from_row).collect())
}

/// Writes the case if still at `expected` (0: new) with `status`.
#[allow(clippy::too_many_arguments)]
pub fn save(
    b: &mut Batch,
    c: &Case,
    expected: i64,
    status: Status,
    note: &str,
    by: &str,
    now: Millis,
    approve: bool,
) {
    if expected == 0 {
        b.push_one(
            "INSERT INTO cases (application_id, batch_id, title, summary, body, status, note, version, updated_at, updated_by) \
             SELECT $1, $2, $3, $4, $5, $6, $7, 1, $8, $9 WHERE NOT EXISTS (SELECT 1 FROM cases WHERE application_id = $1)",
            params![
                c.application_id.as_str(),
                c.batch_id.as_str(),
                c.title.as_str(),
                c.summary.as_str(),
                c.body.as_str(),
                status.as_str(),
                note,
                now,
                by
            ],
        );
    } else {
        b.push_one(
            "UPDATE cases SET title = $2, summary = $3, body = $4, status = $5, note = $6, version = version + 1, \
             updated_at = $7, updated_by = $8, approved_at = $9, approved_by = $10 WHERE application_id = $1 AND version = $11",
            params![
                c.application_id.as_str(),
                c.title.as_str(),
                c.summary.as_str(),
                c.body.as_str(),
                status.as_str(),
                note,
                now,
                by,
                approve.then_some(now),
                approve.then_some(by),
                expected
            ],
        );
    }
}

#[derive(Debug, Clone)]
pub struct Image {
    pub id: String,
    pub application_id: String,
    pub file_name: String,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
    pub storage_key: String,
}

pub async fn images(db: &Db, application_id: &str) -> Result<Vec<Image>> {
    let rows = db
        .query(
            "SELECT id, application_id, file_name, content_type, size, sha256, storage_key FROM case_images \
             WHERE application_id = $1 ORDER BY created_at, id",
            params![application_id],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| Image {
            id: r.text(0),
            application_id: r.text(1),
            file_name: r.text(2),
            content_type: r.text(3),
            size: r.int(4),
            sha256: r.text(5),
            storage_key: r.text(6),
        })
        .collect())
}

pub async fn image(db: &Db, id: &str) -> Result<Option<Image>> {
    Ok(db
        .query_opt(
            "SELECT id, application_id, file_name, content_type, size, sha256, storage_key FROM case_images WHERE id = $1",
            params![id],
        )
        .await?
        .map(|r| Image {
            id: r.text(0),
            application_id: r.text(1),
            file_name: r.text(2),
            content_type: r.text(3),
            size: r.int(4),
            sha256: r.text(5),
            storage_key: r.text(6),
        }))
}

pub fn add_image(b: &mut Batch, i: &Image, now: Millis) {
    b.push(
        "INSERT INTO case_images (id, application_id, file_name, content_type, size, sha256, storage_key, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        params![
            i.id.as_str(),
            i.application_id.as_str(),
            i.file_name.as_str(),
            i.content_type.as_str(),
            i.size,
            i.sha256.as_str(),
            i.storage_key.as_str(),
            now
        ],
    );
}

pub fn remove_image(b: &mut Batch, id: &str, application_id: &str) {
    b.push_one(
        "DELETE FROM case_images WHERE id = $1 AND application_id = $2",
        params![id, application_id],
    );
}
