//! The sealer: every few seconds, appends the integrity-chain links of the
//! audit entries and submitted versions written more than
//! [`chain::GRACE_MS`] ago (see `store::chain`). It runs beside the
//! requests, never in their writes, so a save pays nothing for the chain.

use crate::clock::Clock;
use crate::domain::digest::Algo;
use crate::store::{Db, Millis, chain};

const EVERY: std::time::Duration = std::time::Duration::from_secs(10);

/// The system clock's now: row keys come from it, whatever the server clock.
pub fn system_now() -> Millis {
    jiff::Timestamp::now().as_millisecond()
}

pub fn spawn(db: Db, clock: Clock, algo: Algo) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut scanned = chain::Scanned::paced(std::time::Duration::from_millis(50));
        loop {
            tick.tick().await;
            let horizon = system_now() - chain::GRACE_MS;
            match chain::seal_from(&db, algo, horizon, clock.now(), &mut scanned).await {
                Ok(0) => {}
                Ok(n) => tracing::debug!("sealed {n} integrity links"),
                Err(e) => tracing::warn!("sealer: {e}"),
            }
        }
    });
}
