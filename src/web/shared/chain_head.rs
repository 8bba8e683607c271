//! The heads of the integrity chains (issue #20, finding 8), shown on the
//! audit log page: whoever notes a head down (or prints it) can later tell
//! whether the history up to it was rewritten (`shenbao verify`). A
//! template of its own, so whichever page shows the audit log includes it
//! with one line.

use askama::Template;

use super::error::AppResult;
use crate::clock;
use crate::store::Db;
use crate::store::chain::{self, Chain};

pub struct HeadRow {
    pub label: &'static str,
    pub links: i64,
    pub algo: String,
    pub hash: String,
    pub sealed_at: String,
}

#[derive(Template)]
#[template(path = "shared/chain_head.html")]
struct ChainHeads {
    rows: Vec<HeadRow>,
}

/// The rendered box (HTML).
pub async fn render(db: &Db) -> AppResult<String> {
    let mut rows = Vec::new();
    for c in Chain::ALL {
        let h = chain::head(db, c).await?;
        rows.push(match h {
            Some(h) => HeadRow {
                label: c.label(),
                links: h.n,
                algo: h.algo.to_uppercase(),
                hash: h.hash,
                sealed_at: clock::format_datetime(h.sealed_at),
            },
            None => HeadRow {
                label: c.label(),
                links: 0,
                algo: String::new(),
                hash: String::new(),
                sealed_at: String::new(),
            },
        });
    }
    Ok(ChainHeads { rows }.render()?)
}
