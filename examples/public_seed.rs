//! Prepares the public 公示 page for `scripts/bench-public`: on a store that
//! `shenbao demo --applications N` filled, 50 submitted applications of the
//! current batch are put on a locked shortlist (set directly in the store:
//! the review that leads there has its own benchmark) and the 公示 is opened
//! through the real service. Prints `batch=…`.
//!
//! Usage: public_seed --data DIR [--database-url URL]

use std::path::PathBuf;

use shenbao::clock::Clock;
use shenbao::domain::form::ProgramDef;
use shenbao::params;
use shenbao::store::audit::Actor;
use shenbao::store::{Batch, Db, batches};

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let data = PathBuf::from(arg("--data").ok_or_else(|| anyhow::anyhow!("--data DIR"))?);
    let db = Db::open(arg("--database-url").as_deref(), &data).await?;
    let now = Clock::system().now();
    let batch = batches::current(&db, now)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no batch: run `shenbao demo` first"))?;
    let rows = db
        .query(
            "SELECT id FROM applications WHERE batch_id = $1 AND state = 'submitted' ORDER BY id LIMIT 50",
            params![batch.id.as_str()],
        )
        .await?;
    let mut b = Batch::new();
    b.push(
        "INSERT INTO shortlists (batch_id, locked_at, locked_by, rule, updated_at) VALUES ($1, $2, 'bench', '', $2)",
        params![batch.id.as_str(), now],
    );
    for (i, r) in rows.iter().enumerate() {
        b.push(
            "UPDATE applications SET state = 'shortlisted' WHERE id = $1",
            params![r.text(0)],
        );
        b.push(
            "INSERT INTO shortlist_items (batch_id, application_id, rank, final_h, reason) VALUES ($1, $2, $3, 8000, '')",
            params![batch.id.as_str(), r.text(0), i as i64 + 1],
        );
    }
    db.write(b).await?;
    let actor = Actor {
        name: "bench".into(),
        ..Actor::system()
    };
    let today = shenbao::clock::date_of(now);
    shenbao::services::publication::open(&db, ProgramDef::builtin(), &actor, &batch, today, 5, now)
        .await
        .map_err(|e| anyhow::anyhow!(e.to_string()))?;
    println!("batch={}", batch.id);
    println!("listed={}", rows.len());
    Ok(())
}
