//! Migration 18's data step (issue #16): drafts move from a chain of change
//! rows (every autosave a version, most stored as what changed since the
//! version before) to a working copy (`drafts`, a row per application) and the versions
//! worth keeping, each whole.
//!
//! Per application, oldest first: submitted rows are kept as they are (their
//! content, fingerprint and key unchanged: the integrity chain seals them);
//! of the draft rows, the first, a reopening (the one after a submission),
//! the last, and one at least every [`CHECKPOINT_EVERY`] are kept, written
//! whole; the others are removed. The working copy (`drafts`) is the
//! current answers.
//!
//! Runs inside migration 18's transaction, after its SQL (which adds the
//! columns and the per-application index this reads by). The change-row
//! format read here is the one
//! the removed `deltas` module wrote: `{"key": [value]}` or, for a long
//! value, `{"key": [at, cut, "inserted"]}` (byte offsets in the JSON text
//! of the value before).

use serde_json::{Map, Value};

use super::applications::CHECKPOINT_EVERY;

/// One row of the old chain.
pub(super) struct OldRow {
    pub row_key: i64,
    pub kind: String,
    pub depth: i64,
    pub content: String,
    pub created_at: i64,
}

/// What becomes of one application's rows.
#[derive(Debug, Default, PartialEq)]
pub(super) struct Plan {
    /// The current answers (JSON).
    pub working: String,
    /// When the last kept version was made.
    pub versioned_at: i64,
    /// When the current answers were saved.
    pub saved_at: i64,
    /// Kept change rows, with their whole content.
    pub rewrite: Vec<(i64, String)>,
    pub delete: Vec<i64>,
}

/// Applies one changed entry to the value before it.
fn apply(before: Option<&Value>, change: Value) -> Option<Value> {
    let Value::Array(mut parts) = change else {
        return None;
    };
    match parts.len() {
        1 => parts.pop(),
        3 => {
            let (at, cut) = (parts[0].as_u64()? as usize, parts[1].as_u64()? as usize);
            let inserted = parts[2].as_str()?;
            let text = before?.to_string();
            let end = at.checked_add(cut)?;
            if end > text.len() || !text.is_char_boundary(at) || !text.is_char_boundary(end) {
                return None;
            }
            serde_json::from_str(&[&text[..at], inserted, &text[end..]].concat()).ok()
        }
        _ => None,
    }
}

/// The plan for one application's rows (ordered by version); Err names the
/// row that cannot be read back.
pub(super) fn plan(rows: &[OldRow]) -> Result<Plan, String> {
    let mut out = Plan::default();
    let mut answers: Map<String, Value> = Map::new();
    let mut last_kept: Option<i64> = None;
    for (i, row) in rows.iter().enumerate() {
        let broken = || format!("申报书版本行 {} 无法还原", row.row_key);
        let submitted = row.kind == "submitted";
        if row.depth == 0 {
            let whole: Value = serde_json::from_str(&row.content).map_err(|_| broken())?;
            let whole = if submitted {
                whole.get("content").cloned().unwrap_or_default()
            } else {
                whole
            };
            answers = match whole {
                Value::Object(m) => m,
                _ => Map::new(),
            };
        } else {
            let changed: Map<String, Value> =
                serde_json::from_str(&row.content).map_err(|_| broken())?;
            for (k, change) in changed {
                let value = apply(answers.get(&k), change).ok_or_else(broken)?;
                answers.insert(k, value);
            }
        }
        let after_submission = i > 0 && rows[i - 1].kind == "submitted";
        let keep = submitted
            || i == 0
            || i + 1 == rows.len()
            || after_submission
            || last_kept.is_none_or(|t| row.created_at - t >= CHECKPOINT_EVERY);
        if keep {
            last_kept = Some(row.created_at);
            if row.depth > 0 {
                out.rewrite
                    .push((row.row_key, Value::Object(answers.clone()).to_string()));
            }
        } else {
            out.delete.push(row.row_key);
        }
    }
    out.working = Value::Object(answers).to_string();
    out.saved_at = rows.last().map_or(0, |r| r.created_at);
    out.versioned_at = last_kept.unwrap_or(0);
    Ok(out)
}

const ROWS: &str = "SELECT row_key, kind, depth, content, created_at FROM application_versions \
                    WHERE application_id = $1 ORDER BY version";
const REWRITE: &str = "UPDATE application_versions SET content = $2, depth = 0 WHERE row_key = $1";
const DELETE: &str = "DELETE FROM application_versions WHERE row_key = $1";
const WORKING: &str = "INSERT INTO drafts (application_id, content, saved_at) VALUES ($1, $2, $3)";
const VERSIONED: &str = "UPDATE applications SET versioned_at = $2 WHERE id = $1";

/// The data step on SQLite, inside the migration's transaction.
pub(super) fn sqlite(conn: &rusqlite::Connection) -> anyhow::Result<()> {
    let ids: Vec<String> = conn
        .prepare("SELECT id FROM applications")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let sql = |s: &str| s.replace('$', "?");
    let mut rows_of = conn.prepare(&sql(ROWS))?;
    let mut rewrite = conn.prepare(&sql(REWRITE))?;
    let mut delete = conn.prepare(&sql(DELETE))?;
    let mut working = conn.prepare(&sql(WORKING))?;
    let mut versioned = conn.prepare(&sql(VERSIONED))?;
    for id in ids {
        let rows: Vec<OldRow> = rows_of
            .query_map([&id], |r| {
                Ok(OldRow {
                    row_key: r.get(0)?,
                    kind: r.get(1)?,
                    depth: r.get(2)?,
                    content: r.get(3)?,
                    created_at: r.get(4)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        let p = plan(&rows).map_err(anyhow::Error::msg)?;
        for (key, content) in &p.rewrite {
            rewrite.execute(rusqlite::params![key, content])?;
        }
        for key in &p.delete {
            delete.execute([key])?;
        }
        working.execute(rusqlite::params![id, p.working, p.saved_at])?;
        versioned.execute(rusqlite::params![id, p.versioned_at])?;
    }
    Ok(())
}

/// The data step on PostgreSQL, inside the migration's transaction.
pub(super) async fn postgres(conn: &mut sqlx::PgConnection) -> anyhow::Result<()> {
    use sqlx::Row as _;
    let ids: Vec<String> = sqlx::query_scalar("SELECT id FROM applications")
        .fetch_all(&mut *conn)
        .await?;
    for id in ids {
        let rows: Vec<OldRow> = sqlx::query(ROWS)
            .bind(&id)
            .fetch_all(&mut *conn)
            .await?
            .iter()
            .map(|r| OldRow {
                row_key: r.get(0),
                kind: r.get(1),
                depth: r.get::<i32, _>(2).into(),
                content: r.get(3),
                created_at: r.get(4),
            })
            .collect();
        let p = plan(&rows).map_err(anyhow::Error::msg)?;
        for (key, content) in &p.rewrite {
            sqlx::query(REWRITE)
                .bind(key)
                .bind(content)
                .execute(&mut *conn)
                .await?;
        }
        for key in &p.delete {
            sqlx::query(DELETE).bind(key).execute(&mut *conn).await?;
        }
        sqlx::query(WORKING)
            .bind(&id)
            .bind(&p.working)
            .bind(p.saved_at)
            .execute(&mut *conn)
            .await?;
        sqlx::query(VERSIONED)
            .bind(&id)
            .bind(p.versioned_at)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn row(key: i64, kind: &str, depth: i64, content: Value, at: i64) -> OldRow {
        OldRow {
            row_key: key,
            kind: kind.into(),
            depth,
            content: content.to_string(),
            created_at: at,
        }
    }

    const MIN: i64 = 60_000;

    #[test]
    fn change_rows_are_rebuilt_and_only_the_moments_worth_keeping_stay() {
        let long = "上云过程成效：".repeat(10);
        let rows = [
            row(1, "draft", 0, json!({"a": "一", "t": long}), 0),
            // A changed entry, and a long text edited in place (after the
            // opening quote: "X" inserted, nothing cut).
            row(2, "draft", 1, json!({"a": ["二"], "t": [1, 0, "X"]}), MIN),
            row(3, "draft", 2, json!({"a": ["三"]}), 2 * MIN),
            row(4, "draft", 3, json!({"a": ["四"]}), 11 * MIN),
            row(
                5,
                "submitted",
                0,
                json!({"content": {"a": "四", "t": format!("X{long}")}}),
                12 * MIN,
            ),
            row(
                6,
                "draft",
                0,
                json!({"a": "四", "t": format!("X{long}")}),
                20 * MIN,
            ),
            row(7, "draft", 1, json!({"a": ["五"]}), 21 * MIN),
            row(8, "draft", 2, json!({"a": ["六"]}), 22 * MIN),
        ];
        let p = plan(&rows).expect("plan");
        let whole = |a: &str| json!({"a": a, "t": format!("X{long}")}).to_string();
        // 2 and 3 are within ten minutes of 1; 7 of the reopening (6).
        assert_eq!(p.delete, vec![2, 3, 7]);
        assert_eq!(p.rewrite, vec![(4, whole("四")), (8, whole("六"))]);
        assert_eq!(p.working, whole("六"));
        assert_eq!((p.versioned_at, p.saved_at), (22 * MIN, 22 * MIN));

        // A submitted application: its working copy is what it submitted.
        let p = plan(&rows[..5]).expect("plan");
        assert_eq!(p.working, whole("四"));
        assert!(p.delete.iter().all(|k| *k != 5));

        // A change row that cannot be applied is named, nothing guessed.
        let broken = [
            row(1, "draft", 0, json!({"t": "短"}), 0),
            row(9, "draft", 1, json!({"t": [40, 2, "x"]}), MIN),
        ];
        assert_eq!(plan(&broken).unwrap_err(), "申报书版本行 9 无法还原");
    }
}
