//! Values computed from many rows (the province's list of a batch: 5,000
//! applications with their recommendations and review results), kept while
//! nothing has been written since they were read.
//!
//! On SQLite one process writes the file, and [`Db::generation`] moves on
//! after every write; the generation is read before the rows, so a value is
//! never served once a write has been answered after it was read (a write
//! that lands during the read only costs one more computation). On
//! PostgreSQL other processes write too, and every request computes afresh.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use super::Db;

/// Most keys kept (batches); beyond it the cache starts empty again.
const MAX_KEYS: usize = 64;

pub struct Derived<T> {
    kept: Mutex<HashMap<String, (u64, Arc<T>)>>,
}

impl<T> Default for Derived<T> {
    fn default() -> Self {
        Derived {
            kept: Mutex::new(HashMap::new()),
        }
    }
}

impl<T> Derived<T> {
    /// The value for `key` as computed by `make` under the database's
    /// current generation.
    pub async fn get<E, F, Fut>(&self, db: &Db, key: &str, make: F) -> Result<Arc<T>, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let Some(generation) = db.generation() else {
            return make().await.map(Arc::new);
        };
        if let Ok(kept) = self.kept.lock()
            && let Some((g, v)) = kept.get(key)
            && *g == generation
        {
            return Ok(v.clone());
        }
        let value = Arc::new(make().await?);
        if let Ok(mut kept) = self.kept.lock() {
            if kept.len() >= MAX_KEYS && !kept.contains_key(key) {
                kept.clear();
            }
            // Never replace a value read under a later generation.
            if kept.get(key).is_none_or(|(g, _)| *g <= generation) {
                kept.insert(key.to_string(), (generation, value.clone()));
            }
        }
        Ok(value)
    }
}
