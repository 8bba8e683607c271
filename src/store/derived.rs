//! Values computed from many rows (the province's list of a batch, a city's
//! ranking), kept while nothing has been written since they were read.
//!
//! [`Db::stamp`] moves on after every committed write: on SQLite the count
//! of the one writing process's writes, on PostgreSQL a sequence each
//! process moves on after its commits. The stamp is read before the rows,
//! so a value is never served once a write has been answered after it was
//! read (a write that lands during the read only costs one more
//! computation). On PostgreSQL a process that dies between a commit and
//! moving the stamp on would leave a value stale: values there are also
//! read again after [`PG_TTL`]. One computation per key runs at a time;
//! requests that arrive meanwhile wait for it instead of computing too.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::{Batch, Db};

/// Tables no derived value reads: sessions, lock-outs, the outbox and its
/// leases, export jobs, the integrity links. A write to these alone (the
/// sealer every 10 s, an export's progress twice a second, a session's
/// touch) leaves the stamp where it is, so it does not throw away a
/// province list of 100,000 applications.
const QUIET: [&str; 6] = [
    "sessions",
    "login_throttle",
    "outbox",
    "export_jobs",
    "integrity_links",
    "notify_prefs",
];

/// Whether `batch` writes only to [`QUIET`] tables (read off each
/// statement's first words; anything else counts as a change).
pub fn quiet(batch: &Batch) -> bool {
    batch.0.iter().all(|s| {
        let sql = s.sql.trim_start();
        let rest = sql
            .strip_prefix("INSERT INTO ")
            .or_else(|| sql.strip_prefix("UPDATE "))
            .or_else(|| sql.strip_prefix("DELETE FROM "));
        rest.and_then(|r| r.split([' ', '(']).next())
            .is_some_and(|table| QUIET.contains(&table))
    })
}

/// How long a value is trusted on PostgreSQL without a write moving the stamp.
pub const PG_TTL: Duration = Duration::from_secs(30);

/// Most keys kept by default (batches, cities); beyond it the cache starts empty again.
const MAX_KEYS: usize = 64;

/// A value with the stamp it was computed under and when.
type Kept<T> = (u64, Instant, Arc<T>);

/// Keeps at most `N` keys; beyond it the cache starts empty again.
pub struct Derived<T, const N: usize = MAX_KEYS> {
    kept: Mutex<HashMap<String, Kept<T>>>,
    /// Held while computing: one computation at a time.
    computing: tokio::sync::Mutex<()>,
}

impl<T, const N: usize> Default for Derived<T, N> {
    fn default() -> Self {
        Derived {
            kept: Mutex::new(HashMap::new()),
            computing: tokio::sync::Mutex::new(()),
        }
    }
}

impl<T, const N: usize> Derived<T, N> {
    /// The value for `key` as computed by `make` under the database's
    /// current generation.
    pub async fn get<E, F, Fut>(&self, db: &Db, key: &str, make: F) -> Result<Arc<T>, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
        E: From<super::StoreError>,
    {
        let ttl = (db.backend() == "postgres").then_some(PG_TTL);
        let generation = db.stamp().await?;
        if let Some(v) = self.kept_at(key, generation, ttl) {
            return Ok(v);
        }
        let _computing = self.computing.lock().await;
        // Computed by another request while this one waited?
        if let Some(v) = self.kept_at(key, generation, ttl) {
            return Ok(v);
        }
        let value = Arc::new(make().await?);
        if let Ok(mut kept) = self.kept.lock() {
            if kept.len() >= N && !kept.contains_key(key) {
                kept.clear();
            }
            // Never replace a value read under a later generation.
            if kept.get(key).is_none_or(|(g, _, _)| *g <= generation) {
                kept.insert(key.to_string(), (generation, Instant::now(), value.clone()));
            }
        }
        Ok(value)
    }

    fn kept_at(&self, key: &str, generation: u64, ttl: Option<Duration>) -> Option<Arc<T>> {
        let kept = self.kept.lock().ok()?;
        let (g, at, v) = kept.get(key)?;
        (*g == generation && ttl.is_none_or(|t| at.elapsed() < t)).then(|| v.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::quiet;
    use crate::params;
    use crate::store::Batch;

    #[test]
    fn only_writes_to_quiet_tables_are_quiet() {
        let mut b = Batch::new();
        b.push(
            "UPDATE sessions SET last_seen = $2 WHERE id_hash = $1",
            params!["a", 1],
        );
        b.push(
            "INSERT INTO integrity_links (chain, n) VALUES ($1, $2)",
            params!["a", 1],
        );
        assert!(quiet(&b));
        b.push(
            "UPDATE applications SET state = $2 WHERE id = $1",
            params!["a", "b"],
        );
        assert!(!quiet(&b), "a change to an application is not quiet");
        let mut c = Batch::new();
        c.push("INSERT INTO sessions_archive (x) VALUES ($1)", params!["a"]);
        assert!(!quiet(&c), "a table merely named like a quiet one is not");
        assert!(quiet(&Batch::new()), "an empty write changes nothing");
    }
}
