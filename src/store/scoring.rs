//! The city's scoring sheets, its reviewers' scores (one row per reviewer, so
//! reviewers never overwrite each other) and hand-ordered ties.

use std::collections::HashMap;

use super::{Batch, Db, Millis, Result, Row};
use crate::domain::scoring::{self, Scores, Sheet};
use crate::params;

/// Where a city's sheet came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Adopted from the province's default.
    Province,
    /// Written by the city.
    City,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Province => "province",
            Source::City => "city",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Source::Province => "采用省经信厅默认评审细则",
            Source::City => "本市自定评审细则",
        }
    }
}

#[derive(Debug, Clone)]
pub struct StoredSheet {
    pub source: Source,
    pub sheet: Sheet,
    pub version: i64,
    pub updated_at: Millis,
    pub updated_by: String,
}

impl StoredSheet {
    fn from_row(r: &Row) -> StoredSheet {
        StoredSheet {
            source: if r.text(0) == "city" {
                Source::City
            } else {
                Source::Province
            },
            sheet: Sheet::from_json(&r.text(1)),
            version: r.int(2),
            updated_at: r.int(3),
            updated_by: r.text(4),
        }
    }
}

async fn stored(db: &Db, batch_id: &str, city_code: &str) -> Result<Option<StoredSheet>> {
    let row = db
        .query_opt(
            "SELECT source, criteria, version, updated_at, updated_by FROM scoring_sheets \
             WHERE batch_id = $1 AND city_code = $2",
            params![batch_id, city_code],
        )
        .await?;
    Ok(row.as_ref().map(StoredSheet::from_row))
}

/// The province's default sheet: as the province edited it, else the built-in one.
pub async fn province_default(db: &Db) -> Result<StoredSheet> {
    Ok(stored(db, "", "").await?.unwrap_or_else(|| StoredSheet {
        source: Source::Province,
        sheet: scoring::province_default(),
        version: 0,
        updated_at: 0,
        updated_by: String::new(),
    }))
}

/// The city's own sheet row, if it saved one.
pub async fn city_sheet(db: &Db, batch_id: &str, city_code: &str) -> Result<Option<StoredSheet>> {
    stored(db, batch_id, city_code).await
}

/// The sheet the city's reviewers score with: its own, else the province's default.
pub async fn effective(db: &Db, batch_id: &str, city_code: &str) -> Result<StoredSheet> {
    match stored(db, batch_id, city_code).await? {
        Some(s) => Ok(s),
        None => province_default(db).await,
    }
}

/// Saves a sheet if it is still at `expected` (0: not saved before) and no
/// reviewer has scored with it yet (checked in the same write, so a first
/// score racing with an edit cannot be scored against a changed sheet).
/// `city_code` '' with `batch_id` '' is the province's default.
#[allow(clippy::too_many_arguments)]
pub fn save_sheet(
    b: &mut Batch,
    batch_id: &str,
    city_code: &str,
    source: Source,
    sheet: &Sheet,
    expected: i64,
    by: &str,
    now: Millis,
) {
    if expected == 0 {
        b.push_one(
            "INSERT INTO scoring_sheets (batch_id, city_code, source, criteria, version, updated_at, updated_by) \
             SELECT $1, $2, $3, $4, 1, $5, $6 \
             WHERE NOT EXISTS (SELECT 1 FROM city_scores WHERE batch_id = $1 AND city_code = $2)",
            params![batch_id, city_code, source.as_str(), sheet.to_json(), now, by],
        );
    } else {
        b.push_one(
            "UPDATE scoring_sheets SET source = $3, criteria = $4, version = version + 1, updated_at = $6, updated_by = $7 \
             WHERE batch_id = $1 AND city_code = $2 AND version = $5 \
             AND NOT EXISTS (SELECT 1 FROM city_scores WHERE batch_id = $1 AND city_code = $2)",
            params![
                batch_id,
                city_code,
                source.as_str(),
                sheet.to_json(),
                expected,
                now,
                by
            ],
        );
    }
}

/// Statements for a score: the city adopts the province's default if it
/// has no sheet of its own yet (so later edits of the default leave its
/// scores alone), and the sheet must still be the one the reviewer scored with.
pub fn pin_sheet(
    b: &mut Batch,
    batch_id: &str,
    city_code: &str,
    sheet: &Sheet,
    by: &str,
    now: Millis,
) {
    let json = sheet.to_json();
    b.push(
        "INSERT INTO scoring_sheets (batch_id, city_code, source, criteria, version, updated_at, updated_by) \
         VALUES ($1, $2, 'province', $3, 1, $4, $5) ON CONFLICT (batch_id, city_code) DO NOTHING",
        params![batch_id, city_code, json.as_str(), now, by],
    );
    b.push_one(
        "UPDATE scoring_sheets SET updated_at = updated_at WHERE batch_id = $1 AND city_code = $2 AND criteria = $3",
        params![batch_id, city_code, json],
    );
}

/// One reviewer's scores of one application.
#[derive(Debug, Clone)]
pub struct Score {
    pub application_id: String,
    pub reviewer_id: String,
    pub reviewer_name: String,
    pub scores: Scores,
    pub comment: String,
    pub version: i64,
    pub updated_at: Millis,
}

impl Score {
    fn from_row(r: &Row) -> Score {
        Score {
            application_id: r.text(0),
            reviewer_id: r.text(1),
            reviewer_name: r.text(2),
            scores: serde_json::from_str(&r.text(3)).unwrap_or_default(),
            comment: r.text(4),
            version: r.int(5),
            updated_at: r.int(6),
        }
    }

    pub fn at_text(&self) -> String {
        crate::clock::format_datetime(self.updated_at)
    }
}

macro_rules! score_cols {
    () => {
        "application_id, reviewer_id, reviewer_name, scores, comment, version, updated_at"
    };
}

pub async fn for_application(db: &Db, application_id: &str) -> Result<Vec<Score>> {
    let rows = db
        .query(
            concat!(
                "SELECT ",
                score_cols!(),
                " FROM city_scores WHERE application_id = $1 ORDER BY reviewer_name, reviewer_id"
            ),
            params![application_id],
        )
        .await?;
    Ok(rows.iter().map(Score::from_row).collect())
}

pub async fn for_city(db: &Db, batch_id: &str, city_code: &str) -> Result<Vec<Score>> {
    let rows = db
        .query(
            concat!(
                "SELECT ",
                score_cols!(),
                " FROM city_scores WHERE batch_id = $1 AND city_code = $2"
            ),
            params![batch_id, city_code],
        )
        .await?;
    Ok(rows.iter().map(Score::from_row).collect())
}

/// Every score of the city in the batch, as (application, scores): what the
/// ranking reads (from the index alone).
pub async fn scores_for_city(
    db: &Db,
    batch_id: &str,
    city_code: &str,
) -> Result<Vec<(String, Scores)>> {
    let rows = db
        .query(
            "SELECT application_id, scores FROM city_scores WHERE batch_id = $1 AND city_code = $2",
            params![batch_id, city_code],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| {
            (
                r.text(0),
                serde_json::from_str(&r.text(1)).unwrap_or_default(),
            )
        })
        .collect())
}

/// Whether any reviewer of the city has scored in the batch (the sheet is then fixed).
pub async fn any(db: &Db, batch_id: &str, city_code: &str) -> Result<bool> {
    let row = db
        .query_opt(
            "SELECT 1 FROM city_scores WHERE batch_id = $1 AND city_code = $2 LIMIT 1",
            params![batch_id, city_code],
        )
        .await?;
    Ok(row.is_some())
}

/// What a reviewer saves.
pub struct NewScore<'a> {
    pub application_id: &'a str,
    pub batch_id: &'a str,
    pub city_code: &'a str,
    pub reviewer_id: &'a str,
    pub reviewer_name: &'a str,
    pub scores: &'a Scores,
    pub comment: &'a str,
}

/// Saves the reviewer's own row if it is still at `expected` (0: first score).
/// A second save from a stale page changes nothing (a unique or conflict error).
pub fn save_score(b: &mut Batch, s: &NewScore<'_>, expected: i64, now: Millis) {
    let scores = serde_json::to_string(s.scores).unwrap_or_else(|_| "{}".into());
    if expected == 0 {
        b.push(
            "INSERT INTO city_scores (application_id, reviewer_id, reviewer_name, batch_id, city_code, scores, comment, version, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8)",
            params![
                s.application_id,
                s.reviewer_id,
                s.reviewer_name,
                s.batch_id,
                s.city_code,
                scores,
                s.comment,
                now
            ],
        );
    } else {
        b.push_one(
            "UPDATE city_scores SET scores = $3, comment = $4, reviewer_name = $5, version = version + 1, updated_at = $6 \
             WHERE application_id = $1 AND reviewer_id = $2 AND version = $7",
            params![
                s.application_id,
                s.reviewer_id,
                scores,
                s.comment,
                s.reviewer_name,
                now,
                expected
            ],
        );
    }
}

/// A position set by hand among applications with equal totals.
#[derive(Debug, Clone)]
pub struct Tie {
    pub position: i64,
    pub reason: String,
    pub updated_by: String,
    pub updated_at: Millis,
}

pub async fn ties(db: &Db, batch_id: &str, city_code: &str) -> Result<HashMap<String, Tie>> {
    let rows = db
        .query(
            "SELECT application_id, position, reason, updated_by, updated_at FROM tie_orders \
             WHERE batch_id = $1 AND city_code = $2",
            params![batch_id, city_code],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| {
            (
                r.text(0),
                Tie {
                    position: r.int(1),
                    reason: r.text(2),
                    updated_by: r.text(3),
                    updated_at: r.int(4),
                },
            )
        })
        .collect())
}

#[allow(clippy::too_many_arguments)]
pub fn set_tie(
    b: &mut Batch,
    application_id: &str,
    batch_id: &str,
    city_code: &str,
    position: i64,
    reason: &str,
    by: &str,
    now: Millis,
) {
    b.push(
        "INSERT INTO tie_orders (application_id, batch_id, city_code, position, reason, updated_at, updated_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (application_id) DO UPDATE SET position = $4, reason = $5, updated_at = $6, updated_by = $7",
        params![
            application_id,
            batch_id,
            city_code,
            position,
            reason,
            now,
            by
        ],
    );
}
