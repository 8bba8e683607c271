//! Small key/value settings of the installation.

use super::{Batch, Db, Result};
use crate::params;

pub async fn get(db: &Db, key: &str) -> Result<Option<String>> {
    Ok(db
        .query_opt("SELECT value FROM settings WHERE key = $1", params![key])
        .await?
        .map(|r| r.text(0)))
}

pub fn set(b: &mut Batch, key: &str, value: &str) {
    b.push(
        "INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = $2",
        params![key, value],
    );
}
