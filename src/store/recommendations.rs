//! A city's recommendation to the province: the cap the province sets, the
//! ordered list with 推荐理由 and 审核意见, the stamped files, submission and
//! the lock that follows it (only the province reopens).
//!
//! Every change a city makes in a batch carries a guard statement on its
//! `recommendations` row ([`guard`], [`guard_list`]): once the row says
//! submitted, the change is rolled back whatever raced with the submission.

use std::collections::HashMap;

use super::{Batch, Db, Guard, Millis, Result, Row};
use crate::params;

// ───────────────────────────── caps ─────────────────────────────

/// The province's cap for the city in the batch; `None`: no cap.
pub async fn cap(db: &Db, batch_id: &str, city_code: &str) -> Result<Option<i64>> {
    let row = db
        .query_opt(
            "SELECT cap FROM city_caps WHERE batch_id = $1 AND city_code = $2",
            params![batch_id, city_code],
        )
        .await?;
    Ok(row.map(|r| r.int(0)))
}

pub async fn caps(db: &Db, batch_id: &str) -> Result<HashMap<String, i64>> {
    let rows = db
        .query(
            "SELECT city_code, cap FROM city_caps WHERE batch_id = $1",
            params![batch_id],
        )
        .await?;
    Ok(rows.iter().map(|r| (r.text(0), r.int(1))).collect())
}

pub fn set_cap(b: &mut Batch, batch_id: &str, city_code: &str, cap: Option<i64>) {
    match cap {
        Some(n) => b.push(
            "INSERT INTO city_caps (batch_id, city_code, cap) VALUES ($1, $2, $3) \
             ON CONFLICT (batch_id, city_code) DO UPDATE SET cap = $3",
            params![batch_id, city_code, n],
        ),
        None => b.push(
            "DELETE FROM city_caps WHERE batch_id = $1 AND city_code = $2",
            params![batch_id, city_code],
        ),
    };
}

// ─────────────────────────── the recommendation ───────────────────────────

#[derive(Debug, Clone)]
pub struct Recommendation {
    pub batch_id: String,
    pub city_code: String,
    pub submitted: bool,
    /// Bumped by every change to the list; submission names the version it saw.
    pub version: i64,
    pub submitted_at: Option<Millis>,
    pub submitted_by: Option<String>,
    pub reopened_at: Option<Millis>,
    pub reopened_by: Option<String>,
    pub reopen_reason: String,
}

impl Recommendation {
    fn from_row(r: &Row) -> Recommendation {
        Recommendation {
            batch_id: r.text(0),
            city_code: r.text(1),
            submitted: r.text(2) == "submitted",
            version: r.int(3),
            submitted_at: r.opt_int(4),
            submitted_by: r.opt_text(5),
            reopened_at: r.opt_int(6),
            reopened_by: r.opt_text(7),
            reopen_reason: r.text(8),
        }
    }

    pub fn submitted_text(&self) -> String {
        self.submitted_at
            .map(crate::clock::format_datetime)
            .unwrap_or_default()
    }

    pub fn reopened_text(&self) -> String {
        self.reopened_at
            .map(crate::clock::format_datetime)
            .unwrap_or_default()
    }
}

macro_rules! rec_cols {
    () => {
        "batch_id, city_code, status, version, submitted_at, submitted_by, reopened_at, reopened_by, reopen_reason"
    };
}

/// The city's recommendation in the batch (a fresh draft when none was started).
pub async fn get(db: &Db, batch_id: &str, city_code: &str) -> Result<Recommendation> {
    let row = db
        .query_opt(
            concat!(
                "SELECT ",
                rec_cols!(),
                " FROM recommendations WHERE batch_id = $1 AND city_code = $2"
            ),
            params![batch_id, city_code],
        )
        .await?;
    Ok(row
        .as_ref()
        .map(Recommendation::from_row)
        .unwrap_or_else(|| Recommendation {
            batch_id: batch_id.to_string(),
            city_code: city_code.to_string(),
            submitted: false,
            version: 0,
            submitted_at: None,
            submitted_by: None,
            reopened_at: None,
            reopened_by: None,
            reopen_reason: String::new(),
        }))
}

pub async fn for_batch(db: &Db, batch_id: &str) -> Result<Vec<Recommendation>> {
    let rows = db
        .query(
            concat!(
                "SELECT ",
                rec_cols!(),
                " FROM recommendations WHERE batch_id = $1"
            ),
            params![batch_id],
        )
        .await?;
    Ok(rows.iter().map(Recommendation::from_row).collect())
}

fn ensure(b: &mut Batch, batch_id: &str, city_code: &str, now: Millis) {
    b.push(
        "INSERT INTO recommendations (batch_id, city_code, status, version, updated_at) \
         VALUES ($1, $2, 'draft', 0, $3) ON CONFLICT (batch_id, city_code) DO NOTHING",
        params![batch_id, city_code, now],
    );
}

/// Statements that roll the batch back unless the city's recommendation is
/// still a draft (for screening, scoring, the sheet and ties).
pub fn guard(b: &mut Batch, batch_id: &str, city_code: &str, now: Millis) {
    ensure(b, batch_id, city_code, now);
    b.push_one(
        "UPDATE recommendations SET updated_at = $3 WHERE batch_id = $1 AND city_code = $2 AND status = 'draft'",
        params![batch_id, city_code, now],
    )
    .guarding(Guard::RecommendationDraft);
}

/// Like [`guard`], for changes to the list: also bumps its version, and,
/// with `expected`, requires the list to be at that version.
pub fn guard_list(
    b: &mut Batch,
    batch_id: &str,
    city_code: &str,
    expected: Option<i64>,
    now: Millis,
) {
    ensure(b, batch_id, city_code, now);
    b.push_one(
        "UPDATE recommendations SET version = version + 1, updated_at = $3 \
         WHERE batch_id = $1 AND city_code = $2 AND status = 'draft' AND ($4 < 0 OR version = $4)",
        params![batch_id, city_code, now, expected.unwrap_or(-1)],
    )
    .guarding(Guard::RecommendationDraft);
}

/// Locks the recommendation as submitted, if still the draft at `expected`.
pub fn submit(
    b: &mut Batch,
    batch_id: &str,
    city_code: &str,
    expected: i64,
    by: &str,
    now: Millis,
) {
    b.push_one(
        "UPDATE recommendations SET status = 'submitted', submitted_at = $4, submitted_by = $5, updated_at = $4 \
         WHERE batch_id = $1 AND city_code = $2 AND status = 'draft' AND version = $3",
        params![batch_id, city_code, expected, now, by],
    );
}

/// Unlocks a submitted recommendation (the province, with a reason).
pub fn reopen(b: &mut Batch, batch_id: &str, city_code: &str, by: &str, reason: &str, now: Millis) {
    b.push_one(
        "UPDATE recommendations SET status = 'draft', version = version + 1, reopened_at = $3, reopened_by = $4, \
         reopen_reason = $5, updated_at = $3 WHERE batch_id = $1 AND city_code = $2 AND status = 'submitted'",
        params![batch_id, city_code, now, by, reason],
    );
}

// ───────────────────────────── the list ─────────────────────────────

#[derive(Debug, Clone)]
pub struct Item {
    pub application_id: String,
    pub rank: i64,
    /// 推荐理由
    pub reason: String,
    /// 所在地经济和信息化主管部门审核意见
    pub opinion: String,
    pub updated_at: Millis,
    pub updated_by: String,
}

/// The list in the city's order.
pub async fn items(db: &Db, batch_id: &str, city_code: &str) -> Result<Vec<Item>> {
    let rows = db
        .query(
            "SELECT application_id, rank, reason, opinion, updated_at, updated_by FROM recommendation_items \
             WHERE batch_id = $1 AND city_code = $2 ORDER BY rank, updated_at, application_id",
            params![batch_id, city_code],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| Item {
            application_id: r.text(0),
            rank: r.int(1),
            reason: r.text(2),
            opinion: r.text(3),
            updated_at: r.int(4),
            updated_by: r.text(5),
        })
        .collect())
}

/// The city's 审核意见 on an application, once its recommendation was
/// submitted (printed in the box of the 申报书).
pub async fn submitted_opinion(db: &Db, application_id: &str) -> Result<Option<String>> {
    let row = db
        .query_opt(
            "SELECT i.opinion FROM recommendation_items i JOIN recommendations r \
             ON r.batch_id = i.batch_id AND r.city_code = i.city_code \
             WHERE i.application_id = $1 AND r.status = 'submitted'",
            params![application_id],
        )
        .await?;
    Ok(row.map(|r| r.text(0)))
}

/// Appends an item at `rank`; with a cap, only while the list holds fewer
/// (checked in the write, after [`guard_list`] has serialised list changes).
#[allow(clippy::too_many_arguments)]
pub fn add_item(
    b: &mut Batch,
    application_id: &str,
    batch_id: &str,
    city_code: &str,
    rank: i64,
    cap: Option<i64>,
    by: &str,
    now: Millis,
) {
    b.push_one(
        "INSERT INTO recommendation_items (application_id, batch_id, city_code, rank, reason, opinion, updated_at, updated_by) \
         SELECT $1, $2, $3, $4, '', '', $5, $6 \
         WHERE $7 < 0 OR (SELECT COUNT(*) FROM recommendation_items WHERE batch_id = $2 AND city_code = $3) < $7",
        params![application_id, batch_id, city_code, rank, now, by, cap.unwrap_or(-1)],
    )
    .guarding(Guard::RecommendationRoom);
}

pub fn remove_item(b: &mut Batch, application_id: &str) {
    b.push_one(
        "DELETE FROM recommendation_items WHERE application_id = $1",
        params![application_id],
    );
}

pub fn update_item(
    b: &mut Batch,
    application_id: &str,
    rank: i64,
    reason: &str,
    opinion: &str,
    by: &str,
    now: Millis,
) {
    b.push_one(
        "UPDATE recommendation_items SET rank = $2, reason = $3, opinion = $4, updated_at = $5, updated_by = $6 \
         WHERE application_id = $1",
        params![application_id, rank, reason, opinion, now, by],
    );
}

// ───────────────────────────── stamped files ─────────────────────────────

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// 推荐文件 (the stamped cover letter).
    Letter,
    /// 推荐表 scan, signed and stamped.
    TableScan,
}

impl FileKind {
    pub const ALL: [FileKind; 2] = [FileKind::Letter, FileKind::TableScan];

    pub fn as_str(self) -> &'static str {
        match self {
            FileKind::Letter => "letter",
            FileKind::TableScan => "table_scan",
        }
    }

    pub fn parse(s: &str) -> Option<FileKind> {
        FileKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            FileKind::Letter => "盖章推荐文件",
            FileKind::TableScan => "盖章推荐表扫描件",
        }
    }
}

#[derive(Debug, Clone)]
pub struct File {
    pub id: String,
    pub batch_id: String,
    pub city_code: String,
    pub kind: FileKind,
    pub file_name: String,
    pub size: i64,
    pub sha256: String,
    pub storage_key: String,
    pub created_at: Millis,
    pub created_by: String,
}

impl File {
    fn from_row(r: &Row) -> File {
        File {
            id: r.text(0),
            batch_id: r.text(1),
            city_code: r.text(2),
            kind: FileKind::parse(&r.text(3)).unwrap_or(FileKind::Letter),
            file_name: r.text(4),
            size: r.int(5),
            sha256: r.text(6),
            storage_key: r.text(7),
            created_at: r.int(8),
            created_by: r.text(9),
        }
    }

    pub fn size_text(&self) -> String {
        crate::files::human_size(self.size.max(0) as u64)
    }

    pub fn at_text(&self) -> String {
        crate::clock::format_datetime(self.created_at)
    }
}

macro_rules! file_cols {
    () => {
        "id, batch_id, city_code, kind, file_name, size, sha256, storage_key, created_at, created_by"
    };
}

/// The live files of the city's recommendation.
pub async fn files(db: &Db, batch_id: &str, city_code: &str) -> Result<Vec<File>> {
    let rows = db
        .query(
            concat!(
                "SELECT ",
                file_cols!(),
                " FROM recommendation_files WHERE batch_id = $1 AND city_code = $2 AND deleted_at IS NULL \
                 ORDER BY kind, created_at"
            ),
            params![batch_id, city_code],
        )
        .await?;
    Ok(rows.iter().map(File::from_row).collect())
}

pub async fn file_by_id(db: &Db, id: &str) -> Result<Option<File>> {
    let row = db
        .query_opt(
            concat!(
                "SELECT ",
                file_cols!(),
                " FROM recommendation_files WHERE id = $1 AND deleted_at IS NULL"
            ),
            params![id],
        )
        .await?;
    Ok(row.as_ref().map(File::from_row))
}

/// Stores `f`, replacing the live file of the same kind.
pub fn put_file(b: &mut Batch, f: &File, now: Millis) {
    b.push(
        "UPDATE recommendation_files SET deleted_at = $4 \
         WHERE batch_id = $1 AND city_code = $2 AND kind = $3 AND deleted_at IS NULL",
        params![
            f.batch_id.as_str(),
            f.city_code.as_str(),
            f.kind.as_str(),
            now
        ],
    );
    b.push(
        "INSERT INTO recommendation_files (id, batch_id, city_code, kind, file_name, size, sha256, storage_key, created_at, created_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        params![
            f.id.as_str(),
            f.batch_id.as_str(),
            f.city_code.as_str(),
            f.kind.as_str(),
            f.file_name.as_str(),
            f.size,
            f.sha256.as_str(),
            f.storage_key.as_str(),
            f.created_at,
            f.created_by.as_str()
        ],
    );
}

/// Every city's list items of a batch (the province's view), by application.
pub async fn items_for_batch(db: &Db, batch_id: &str) -> Result<HashMap<String, Item>> {
    let rows = db
        .query(
            "SELECT application_id, rank, reason, opinion, updated_at, updated_by FROM recommendation_items \
             WHERE batch_id = $1",
            params![batch_id],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| {
            (
                r.text(0),
                Item {
                    application_id: r.text(0),
                    rank: r.int(1),
                    reason: r.text(2),
                    opinion: r.text(3),
                    updated_at: r.int(4),
                    updated_by: r.text(5),
                },
            )
        })
        .collect())
}

/// How many applications each city has on its list for the batch, by city code.
pub async fn listed_by_city(
    db: &Db,
    batch_id: &str,
) -> Result<std::collections::HashMap<String, i64>> {
    let rows = db
        .query(
            "SELECT city_code, COUNT(*) FROM recommendation_items WHERE batch_id = $1 GROUP BY city_code",
            params![batch_id],
        )
        .await?;
    Ok(rows.iter().map(|r| (r.text(0), r.int(1))).collect())
}
