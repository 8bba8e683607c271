//! Batches (rounds) of a program: dates and quota as data.

use super::{Batch, Db, Millis, Result, Row};
use crate::domain::form::Sources;
use crate::params;

#[derive(Debug, Clone)]
pub struct BatchRow {
    pub id: String,
    pub program_key: String,
    pub name: String,
    pub quota: i64,
    pub opens_at: Millis,
    pub enterprise_deadline: Millis,
    pub recommend_deadline: Millis,
    pub is_demo: bool,
}

impl BatchRow {
    fn from_row(r: &Row) -> BatchRow {
        BatchRow {
            id: r.text(0),
            program_key: r.text(1),
            name: r.text(2),
            quota: r.int(3),
            opens_at: r.int(4),
            enterprise_deadline: r.int(5),
            recommend_deadline: r.int(6),
            is_demo: r.bool(7),
        }
    }

    /// The batch's year (of its opening, Asia/Shanghai), the first part of
    /// its applications' 申报编号.
    pub fn year(&self) -> i32 {
        i32::from(crate::clock::date_of(self.opens_at).year())
    }

    /// How a list of batches names this one so that two of similar names
    /// cannot be mistaken: its name, opening date and where it stands.
    pub fn choice_label(&self, now: Millis) -> String {
        let d = crate::clock::date_of(self.opens_at);
        let stage = if now < self.opens_at {
            "未开始"
        } else if now <= self.enterprise_deadline {
            "企业申报中"
        } else if now <= self.recommend_deadline {
            "市州推荐中"
        } else {
            "申报已截止"
        };
        format!(
            "{}（{}年{}月{}日开始，{stage}）",
            self.name,
            d.year(),
            d.month(),
            d.day()
        )
    }
}

pub async fn all(db: &Db) -> Result<Vec<BatchRow>> {
    let rows = db
        .query(
            "SELECT id, program_key, name, quota, opens_at, enterprise_deadline, recommend_deadline, is_demo \
             FROM batches ORDER BY opens_at DESC, id",
            Vec::new(),
        )
        .await?;
    Ok(rows.iter().map(BatchRow::from_row).collect())
}

pub async fn by_id(db: &Db, id: &str) -> Result<Option<BatchRow>> {
    let row = db
        .query_opt(
            "SELECT id, program_key, name, quota, opens_at, enterprise_deadline, recommend_deadline, is_demo \
             FROM batches WHERE id = $1",
            params![id],
        )
        .await?;
    Ok(row.as_ref().map(BatchRow::from_row))
}

/// The batch enterprises apply to now: the open one with the latest opening,
/// else the most recently opened.
pub async fn current(db: &Db, now: Millis) -> Result<Option<BatchRow>> {
    Ok(current_of(&all(db).await?, now).cloned())
}

/// Of `all` (as [`all`] orders them), the batch open at `now`, else the first.
pub fn current_of(all: &[BatchRow], now: Millis) -> Option<&BatchRow> {
    all.iter()
        .find(|b| b.opens_at <= now && now <= b.enterprise_deadline)
        .or_else(|| all.first())
}

pub fn upsert(b: &mut Batch, row: &BatchRow, now: Millis) {
    b.push(
        "INSERT INTO batches (id, program_key, name, quota, opens_at, enterprise_deadline, recommend_deadline, is_demo, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (id) DO NOTHING",
        params![
            row.id.as_str(),
            row.program_key.as_str(),
            row.name.as_str(),
            row.quota,
            row.opens_at,
            row.enterprise_deadline,
            row.recommend_deadline,
            row.is_demo,
            now
        ],
    );
}

pub fn update_dates(
    b: &mut Batch,
    id: &str,
    opens_at: Millis,
    enterprise_deadline: Millis,
    recommend_deadline: Millis,
) {
    b.push_one(
        "UPDATE batches SET opens_at = $2, enterprise_deadline = $3, recommend_deadline = $4 WHERE id = $1",
        params![id, opens_at, enterprise_deadline, recommend_deadline],
    );
}

/// The enterprise deadline of `city_code` in batch `batch_id` (its own if
/// the province set one, else the batch's), in one statement.
pub async fn city_enterprise_deadline(
    db: &Db,
    batch_id: &str,
    city_code: &str,
) -> Result<Option<Millis>> {
    let row = db
        .query_opt(
            "SELECT COALESCE((SELECT d.enterprise_deadline FROM city_deadlines d \
             WHERE d.batch_id = $1 AND d.city_code = $2), b.enterprise_deadline) \
             FROM batches b WHERE b.id = $1",
            params![batch_id, city_code],
        )
        .await?;
    Ok(row.map(|r| r.int(0)))
}

pub fn set_city_deadline(b: &mut Batch, batch_id: &str, city_code: &str, deadline: Millis) {
    b.push(
        "INSERT INTO city_deadlines (batch_id, city_code, enterprise_deadline) VALUES ($1, $2, $3) \
         ON CONFLICT (batch_id, city_code) DO UPDATE SET enterprise_deadline = $3",
        params![batch_id, city_code, deadline],
    );
}

const DAY: Millis = 24 * 3600 * 1000;

/// The program's own batch, with the dates of its definition.
pub fn from_program(p: &crate::domain::form::Program) -> BatchRow {
    let notice = crate::clock::parse_date_start(&p.batch.notice_date.to_string()).unwrap_or(0);
    BatchRow {
        id: p.key.clone(),
        program_key: p.key.clone(),
        name: p.batch.name.clone(),
        quota: p.batch.quota as i64,
        opens_at: notice,
        enterprise_deadline: p.batch.enterprise_deadline.as_millisecond(),
        recommend_deadline: p.batch.recommend_deadline.as_millisecond(),
        is_demo: false,
    }
}

/// A copy of the program's batch with dates moved so that it is open at `now`.
pub fn demo_of(p: &crate::domain::form::Program, now: Millis) -> BatchRow {
    let real = from_program(p);
    BatchRow {
        id: format!("demo-{}", p.key),
        name: format!("{}（演示批次）", real.name),
        opens_at: now - 7 * DAY,
        enterprise_deadline: now + 30 * DAY,
        recommend_deadline: now + 45 * DAY,
        is_demo: true,
        ..real
    }
}

/// Creates the batch rows that are missing (existing ones keep their edited dates).
pub async fn ensure(db: &Db, rows: &[BatchRow], now: Millis) -> Result<()> {
    let mut b = Batch::new();
    for r in rows {
        upsert(&mut b, r, now);
    }
    db.write(b).await.map(|_| ())
}

/// Every city's own enterprise deadline in `batch_id`.
pub async fn city_deadlines(db: &Db, batch_id: &str) -> Result<Vec<(String, Millis)>> {
    let rows = db
        .query(
            "SELECT city_code, enterprise_deadline FROM city_deadlines WHERE batch_id = $1",
            params![batch_id],
        )
        .await?;
    Ok(rows.iter().map(|r| (r.text(0), r.int(1))).collect())
}

pub fn clear_city_deadline(b: &mut Batch, batch_id: &str, city_code: &str) {
    b.push(
        "DELETE FROM city_deadlines WHERE batch_id = $1 AND city_code = $2",
        params![batch_id, city_code],
    );
}

/// The definition texts `batch_id` keeps, if it was created with its own.
pub async fn program_sources(db: &Db, batch_id: &str) -> Result<Option<Sources>> {
    let row = db
        .query_opt(
            "SELECT program_toml, form_toml, notice_md FROM batch_programs WHERE batch_id = $1",
            params![batch_id],
        )
        .await?;
    Ok(row.map(|r| Sources {
        program_toml: r.text(0),
        form_toml: r.text(1),
        notice_md: r.opt_text(2),
    }))
}

/// The definition `batch_id` keeps, checked; None when it has none of its
/// own (it uses the definition the server was started with).
pub async fn own_definition(
    db: &Db,
    batch_id: &str,
) -> anyhow::Result<Option<crate::domain::form::ProgramDef>> {
    let Some(src) = program_sources(db, batch_id).await? else {
        return Ok(None);
    };
    crate::domain::form::ProgramDef::from_sources_with_notice(
        &src.program_toml,
        &src.form_toml,
        src.notice_md.as_deref(),
    )
    .map(Some)
    .map_err(|e| anyhow::anyhow!("批次 {batch_id} 的申报书定义有误：\n{e}"))
}

/// A new batch with the definition texts it keeps.
pub fn create(b: &mut Batch, row: &BatchRow, sources: &Sources, now: Millis) {
    b.push_one(
        "INSERT INTO batches (id, program_key, name, quota, opens_at, enterprise_deadline, recommend_deadline, is_demo, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        params![
            row.id.as_str(),
            row.program_key.as_str(),
            row.name.as_str(),
            row.quota,
            row.opens_at,
            row.enterprise_deadline,
            row.recommend_deadline,
            row.is_demo,
            now
        ],
    );
    b.push(
        "INSERT INTO batch_programs (batch_id, program_toml, form_toml, notice_md, created_at) \
         VALUES ($1, $2, $3, $4, $5)",
        params![
            row.id.as_str(),
            sources.program_toml.as_str(),
            sources.form_toml.as_str(),
            sources.notice_md.as_deref(),
            now
        ],
    );
}

/// The 申报编号 prefix of `batch`'s applications: its year, and when other
/// batches opened earlier the same year, a letter after it (2022, 2022B…),
/// so numbers of two batches never read alike. Demo copies are not counted
/// (and take the plain year).
pub fn number_prefix(all: &[BatchRow], batch: &BatchRow) -> String {
    let year = batch.year();
    let mut same: Vec<&BatchRow> = all
        .iter()
        .filter(|b| b.year() == year && !b.is_demo)
        .collect();
    same.sort_by(|a, b| (a.opens_at, &a.id).cmp(&(b.opens_at, &b.id)));
    match same.iter().position(|b| b.id == batch.id) {
        Some(k) if k > 0 => format!("{year}{}", char::from(b'A' + (k as u8).min(25))),
        _ => year.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(id: &str, opens: &str, demo: bool) -> BatchRow {
        BatchRow {
            id: id.into(),
            program_key: "p".into(),
            name: id.into(),
            quota: 50,
            opens_at: crate::clock::parse_date_start(opens).unwrap(),
            enterprise_deadline: 0,
            recommend_deadline: 0,
            is_demo: demo,
        }
    }

    #[test]
    fn a_second_batch_in_a_year_numbers_with_a_letter() {
        let all = [
            batch("a", "2022-03-01", false),
            batch("demo", "2022-01-01", true),
            batch("b", "2022-09-01", false),
            batch("c", "2023-03-01", false),
        ];
        let p = |i: usize| number_prefix(&all, &all[i]);
        assert_eq!(p(0), "2022");
        assert_eq!(p(1), "2022");
        assert_eq!(p(2), "2022B");
        assert_eq!(p(3), "2023");
    }
}
