//! The web tier: axum handlers over server-rendered HTML. It keeps no state of
//! its own; sessions live in the database.

pub mod account;
pub mod apply;
pub mod city;
pub mod expert;
pub mod form_html;
pub mod form_io;
pub mod province;
pub mod public;
pub mod shared;

use std::sync::Arc;

use axum::Router;
use axum::middleware;

use crate::clock::Clock;
use crate::config::Config;
use crate::domain::form::ProgramDef;
use crate::files::FileStore;
use crate::store::Db;

#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub clock: Clock,
    pub config: Arc<Config>,
    /// The store holds demo accounts: every page shows a banner.
    pub demo: bool,
    pub files: FileStore,
    /// The data directory (exports are written under it).
    pub data_dir: Arc<std::path::Path>,
    /// The program whose form enterprises fill (checked at start).
    pub program: Arc<ProgramDef>,
    /// How that form's posted fields become its answers.
    pub form_plan: Arc<form_io::Plan>,
    /// Rendered public pages (see `public::shared::PageCache`).
    pub pages: Arc<public::shared::PageCache>,
    /// What requests keep between them (each checked against the database).
    pub caches: Arc<Caches>,
}

/// Kept between requests; see each kind for why it is safe.
#[derive(Default)]
pub struct Caches {
    /// The province's list of each batch (see `store::derived`).
    pub province_lists: crate::store::derived::Derived<province::applications::Listing>,
    /// Experts' open assignments as their last save left them.
    pub score_hints: crate::services::review::ScoreHints,
    /// Each application's upload bytes still streaming (`shared::upload`).
    pub uploads_in_flight: shared::upload::InFlight,
}

impl AppState {
    /// Today's date in Asia/Shanghai by the server clock.
    pub fn today(&self) -> jiff::civil::Date {
        crate::clock::date_of(self.clock.now())
    }
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(public::router())
        .merge(account::router())
        .merge(apply::router())
        .merge(province::router())
        .merge(expert::router())
        .merge(city::router())
        .fallback(public::not_found)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            shared::context::middleware,
        ))
        .with_state(state)
}
