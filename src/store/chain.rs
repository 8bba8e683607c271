//! The tamper-evident trail (issue #20, finding 8): the audit log and the
//! submitted versions, each chained by hash in `integrity_links`.
//!
//! Requests never touch the chain. A sealer (every few seconds in `serve`,
//! and `shenbao verify --seal`) walks the rows not yet sealed in the order
//! of their key and appends one link per row: `row_hash` = H(the row's
//! canonical bytes), `hash` = H(chain, n, the link before's hash, row_hash).
//! Both keys grow with the clock of the process that wrote the row (audit
//! ids are UUIDv7, version keys microseconds × 64, see `applications`), and
//! only rows older than a grace period are sealed, so a write still in
//! flight — a queued SQLite group commit, a concurrent PostgreSQL
//! transaction — cannot commit below a sealed head later.
//!
//! [`check`] recomputes every link and names the first break of each
//! chain: a sealed row deleted or changed, a link altered, a row that
//! appeared below the sealed head without a link (inserted behind the
//! server's back). Whoever holds the file can still rewrite the whole chain
//! from a break onwards; the head printed on the audit page (and noted
//! elsewhere) is what shows that.

use super::{Batch, Db, Millis, Result, Row, StoreError, Value};
use crate::domain::digest::Algo;
use crate::params;

/// How old a row must be before it is sealed (see the module comment).
pub const GRACE_MS: Millis = 30_000;
/// Links written per batch.
const SEAL_STEP: i64 = 500;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chain {
    Audit,
    Versions,
}

impl Chain {
    pub const ALL: [Chain; 2] = [Chain::Audit, Chain::Versions];

    pub fn code(self) -> &'static str {
        match self {
            Chain::Audit => "audit",
            Chain::Versions => "versions",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Chain::Audit => "审计日志",
            Chain::Versions => "已提交版本",
        }
    }

    /// The table whose rows the chain seals.
    pub fn table(self) -> &'static str {
        match self {
            Chain::Audit => "audit_log",
            Chain::Versions => "application_versions",
        }
    }

    /// The largest key a row written before `horizon` (Unix ms) can have.
    fn key_bound(self, horizon: Millis) -> Value {
        match self {
            // UUIDv7: 48 bits of milliseconds first, as lower-case hex.
            Chain::Audit => Value::Text(format!("{:012x}{}", horizon.max(0), "f".repeat(20))),
            Chain::Versions => Value::Int(horizon.max(0) * 1000 * 64 + 63),
        }
    }

    /// Rows with a key above `after` and at most `upto`, in key order.
    async fn rows_between(self, db: &Db, after: &Value, upto: &Value) -> Result<Vec<Row>> {
        match self {
            Chain::Audit => {
                db.query(
                    "SELECT id, at, actor_id, actor_name, actor_role, ip, action, target, outcome, detail \
                     FROM audit_log WHERE id > $1 AND id <= $2 ORDER BY id LIMIT $3",
                    vec![after.clone(), upto.clone(), Value::Int(SEAL_STEP)],
                )
                .await
            }
            Chain::Versions => {
                db.query(
                    "SELECT row_key, prev, application_id, version, kind, depth, content, fingerprint, created_at, created_by \
                     FROM application_versions WHERE row_key > $1 AND row_key <= $2 AND kind = 'submitted' \
                     ORDER BY row_key LIMIT $3",
                    vec![after.clone(), upto.clone(), Value::Int(SEAL_STEP)],
                )
                .await
            }
        }
    }

    /// One row by its reference, as [`Chain::rows_between`] reads it.
    async fn row(self, db: &Db, row_ref: &str) -> Result<Option<Row>> {
        match self {
            Chain::Audit => {
                db.query_opt(
                    "SELECT id, at, actor_id, actor_name, actor_role, ip, action, target, outcome, detail \
                     FROM audit_log WHERE id = $1",
                    params![row_ref],
                )
                .await
            }
            Chain::Versions => {
                let Ok(key) = row_ref.parse::<i64>() else {
                    return Ok(None);
                };
                db.query_opt(
                    "SELECT row_key, prev, application_id, version, kind, depth, content, fingerprint, created_at, created_by \
                     FROM application_versions WHERE row_key = $1",
                    params![key],
                )
                .await
            }
        }
    }

    /// The key before every key (where an empty chain starts).
    fn start(self) -> Value {
        match self {
            Chain::Audit => Value::Text(String::new()),
            Chain::Versions => Value::Int(i64::MIN),
        }
    }

    fn key_of(self, row_ref: &str) -> Value {
        match self {
            Chain::Audit => Value::Text(row_ref.to_string()),
            Chain::Versions => Value::Int(row_ref.parse().unwrap_or(i64::MIN)),
        }
    }
}

/// The canonical bytes of a row: its columns, in order, as a JSON array
/// (numbers, strings, nulls), so both databases give the same bytes.
fn canonical(row: &Row) -> String {
    let cols: Vec<serde_json::Value> = row
        .0
        .iter()
        .map(|v| match v {
            Value::Int(n) => serde_json::Value::from(*n),
            Value::Text(s) => serde_json::Value::from(s.as_str()),
            Value::Blob(b) => serde_json::Value::from(hex::encode(b)),
            Value::NullInt | Value::NullText => serde_json::Value::Null,
        })
        .collect();
    serde_json::Value::Array(cols).to_string()
}

fn row_hash(algo: Algo, row: &Row) -> String {
    algo.hex(&[canonical(row).as_bytes()])
}

fn link_hash(algo: Algo, chain: Chain, n: i64, prev: &str, row_hash: &str) -> String {
    algo.hex(&[format!("{}\n{n}\n{prev}\n{row_hash}", chain.code()).as_bytes()])
}

/// The last link of a chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    pub chain: Chain,
    pub n: i64,
    pub row_ref: String,
    pub algo: String,
    pub hash: String,
    pub sealed_at: Millis,
}

pub async fn head(db: &Db, chain: Chain) -> Result<Option<Head>> {
    Ok(db
        .query_opt(
            "SELECT n, row_ref, algo, hash, sealed_at FROM integrity_links WHERE chain = $1 ORDER BY n DESC LIMIT 1",
            params![chain.code()],
        )
        .await?
        .map(|r| Head {
            chain,
            n: r.int(0),
            row_ref: r.text(1),
            algo: r.text(2),
            hash: r.text(3),
            sealed_at: r.int(4),
        }))
}

/// Seals every row of both chains written before `horizon` (Unix ms by the
/// system clock) with `algo`; returns how many links were added. Safe to
/// run from several processes: a link taken by another sealer refuses this
/// one's batch (primary key), which then stops until the next round.
pub async fn seal(db: &Db, algo: Algo, horizon: Millis, now: Millis) -> Result<usize> {
    seal_from(db, algo, horizon, now, &mut Scanned::default()).await
}

/// How far a running sealer has already looked: the versions table holds
/// every draft save between two submissions, and a sealer that started
/// each round at the last sealed submission would read them all again.
#[derive(Debug, Default)]
pub struct Scanned {
    versions_upto: Option<Millis>,
    /// A pause after each batch of links, so that a backlog (the first
    /// start after an upgrade, a bulk import) is sealed beside the
    /// requests' writes instead of holding the SQLite writer in one burst.
    pause: Option<std::time::Duration>,
}

impl Scanned {
    pub fn paced(pause: std::time::Duration) -> Scanned {
        Scanned {
            versions_upto: None,
            pause: Some(pause),
        }
    }
}

/// [`seal`], skipping the versions an earlier round of the same sealer has
/// already looked through (settled then: they were past the grace period).
pub async fn seal_from(
    db: &Db,
    algo: Algo,
    horizon: Millis,
    now: Millis,
    scanned: &mut Scanned,
) -> Result<usize> {
    let mut added = 0;
    for chain in Chain::ALL {
        let upto = chain.key_bound(horizon);
        loop {
            let last = head(db, chain).await?;
            let (mut n, mut prev, mut after) = match &last {
                Some(h) => (h.n, h.hash.clone(), chain.key_of(&h.row_ref)),
                None => (0, String::new(), chain.start()),
            };
            if let (Chain::Versions, Some(seen)) = (chain, scanned.versions_upto) {
                let seen = chain.key_bound(seen);
                if key_le(&after, &seen) {
                    after = seen;
                }
            }
            let rows = chain.rows_between(db, &after, &upto).await?;
            if rows.is_empty() {
                break;
            }
            let mut b = Batch::new();
            for row in &rows {
                n += 1;
                let rh = row_hash(algo, row);
                let h = link_hash(algo, chain, n, &prev, &rh);
                b.push(
                    "INSERT INTO integrity_links (chain, n, row_ref, algo, row_hash, hash, sealed_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    params![chain.code(), n, row.text(0), algo.code(), rh.as_str(), h.as_str(), now],
                );
                prev = h;
            }
            match db.write(b).await {
                Ok(_) => {
                    added += rows.len();
                    if let Some(p) = scanned.pause {
                        tokio::time::sleep(p).await;
                    }
                }
                // Another sealer got there first: its links stand.
                Err(StoreError::Unique(_)) => return Ok(added),
                Err(e) => return Err(e),
            }
            if (rows.len() as i64) < SEAL_STEP {
                break;
            }
        }
    }
    scanned.versions_upto = Some(horizon);
    Ok(added)
}

/// What is wrong with a chain, in Chinese, naming the table and row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Break {
    /// The sealed row is gone.
    Missing {
        chain: Chain,
        n: i64,
        row_ref: String,
    },
    /// The sealed row's content is not what was sealed.
    Altered {
        chain: Chain,
        n: i64,
        row_ref: String,
    },
    /// The link itself does not follow from the one before.
    Link {
        chain: Chain,
        n: i64,
        row_ref: String,
    },
    /// A link with an algorithm this build does not know.
    UnknownAlgo { chain: Chain, n: i64, algo: String },
    /// A row below the sealed head that no link covers.
    Unsealed { chain: Chain, row_ref: String },
}

impl std::fmt::Display for Break {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Break::Missing { chain, n, row_ref } => write!(
                f,
                "{}链第 {n} 环：{} 表的行 {row_ref} 已被删除（封存后缺失）",
                chain.label(),
                chain.table()
            ),
            Break::Altered { chain, n, row_ref } => write!(
                f,
                "{}链第 {n} 环：{} 表的行 {row_ref} 内容与封存时不同（已被修改）",
                chain.label(),
                chain.table()
            ),
            Break::Link { chain, n, row_ref } => write!(
                f,
                "{}链第 {n} 环（{} 表的行 {row_ref}）：链接哈希与前一环不符（封存记录被改动）",
                chain.label(),
                chain.table()
            ),
            Break::UnknownAlgo { chain, n, algo } => {
                write!(f, "{}链第 {n} 环：未知的哈希算法 {algo}", chain.label())
            }
            Break::Unsealed { chain, row_ref } => write!(
                f,
                "{}链：{} 表的行 {row_ref} 位于已封存链头之前却未被封存（封存后插入，疑似伪造）",
                chain.label(),
                chain.table()
            ),
        }
    }
}

/// The result of checking one chain.
#[derive(Debug, Clone, Default)]
pub struct ChainReport {
    pub links: i64,
    /// The first break (in chain order) and how many more followed.
    pub breaks: Vec<Break>,
    /// Rows above the head not sealed yet (written within the grace period,
    /// or since the sealer last ran): not a break.
    pub pending: i64,
}

/// Recomputes every link of `chain` from the first, and looks for rows
/// below the head that no link covers.
pub async fn check(db: &Db, chain: Chain) -> Result<ChainReport> {
    let mut report = ChainReport::default();
    let mut prev = String::new();
    let mut after = 0i64;
    let mut last_ref: Option<String> = None;
    loop {
        let links = db
            .query(
                "SELECT n, row_ref, algo, row_hash, hash FROM integrity_links \
                 WHERE chain = $1 AND n > $2 ORDER BY n LIMIT 1000",
                params![chain.code(), after],
            )
            .await?;
        if links.is_empty() {
            break;
        }
        for l in &links {
            let (n, row_ref, algo_name, stored_row, stored) =
                (l.int(0), l.text(1), l.text(2), l.text(3), l.text(4));
            after = n;
            report.links += 1;
            let expected_n = report.links;
            let Some(algo) = Algo::parse(&algo_name) else {
                report.breaks.push(Break::UnknownAlgo {
                    chain,
                    n,
                    algo: algo_name,
                });
                prev = stored;
                continue;
            };
            // A link number skipped means a link was deleted.
            if n != expected_n || link_hash(algo, chain, n, &prev, &stored_row) != stored {
                report.breaks.push(Break::Link {
                    chain,
                    n,
                    row_ref: row_ref.clone(),
                });
                report.links = n;
            } else {
                match chain.row(db, &row_ref).await? {
                    None => report.breaks.push(Break::Missing {
                        chain,
                        n,
                        row_ref: row_ref.clone(),
                    }),
                    Some(row) if row_hash(algo, &row) != stored_row => {
                        report.breaks.push(Break::Altered {
                            chain,
                            n,
                            row_ref: row_ref.clone(),
                        })
                    }
                    Some(_) => {}
                }
            }
            prev = stored;
            last_ref = Some(row_ref);
        }
    }
    // Rows no link covers: below the head they were slipped in; above it
    // they wait for the sealer.
    let head_key = last_ref.map(|r| chain.key_of(&r));
    let unsealed = match chain {
        Chain::Audit => {
            db.query(
                "SELECT a.id FROM audit_log a WHERE NOT EXISTS \
                 (SELECT 1 FROM integrity_links l WHERE l.chain = 'audit' AND l.row_ref = a.id) ORDER BY a.id",
                params![],
            )
            .await?
        }
        Chain::Versions => {
            db.query(
                "SELECT v.row_key FROM application_versions v WHERE v.kind = 'submitted' AND NOT EXISTS \
                 (SELECT 1 FROM integrity_links l WHERE l.chain = 'versions' AND l.row_ref = CAST(v.row_key AS TEXT)) \
                 ORDER BY v.row_key",
                params![],
            )
            .await?
        }
    };
    for r in unsealed {
        let row_ref = r.text(0);
        let below = head_key
            .as_ref()
            .is_some_and(|h| key_le(&chain.key_of(&row_ref), h));
        if below {
            report.breaks.push(Break::Unsealed { chain, row_ref });
        } else {
            report.pending += 1;
        }
    }
    Ok(report)
}

fn key_le(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => x <= y,
        (Value::Text(x), Value::Text(y)) => x <= y,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The same row gives the same bytes whichever database read it, and a
    /// changed column changes them.
    #[test]
    fn canonical_bytes_cover_every_column() {
        let row = Row(vec![
            Value::Text("a".into()),
            Value::Int(5),
            Value::NullText,
            Value::NullInt,
        ]);
        assert_eq!(canonical(&row), r#"["a",5,null,null]"#);
        let other = Row(vec![
            Value::Text("a".into()),
            Value::Int(6),
            Value::NullText,
            Value::NullInt,
        ]);
        assert_ne!(row_hash(Algo::Sha256, &row), row_hash(Algo::Sha256, &other));
        assert_ne!(row_hash(Algo::Sha256, &row), row_hash(Algo::Sm3, &row));
    }

    #[test]
    fn key_bounds_follow_the_row_keys() {
        // A UUIDv7 made at 1000 ms is within the bound of 1000 ms, not of 999.
        let id = uuid::Uuid::new_v7(uuid::Timestamp::from_unix(uuid::NoContext, 1, 0))
            .simple()
            .to_string();
        let (Value::Text(b1000), Value::Text(b999)) =
            (Chain::Audit.key_bound(1000), Chain::Audit.key_bound(999))
        else {
            panic!("text bounds")
        };
        assert!(id <= b1000 && id > b999, "{id} {b1000} {b999}");
        assert_eq!(Chain::Versions.key_bound(1), Value::Int(64_000 + 63));
    }
}
