//! The web tier: axum handlers over server-rendered HTML. It keeps no state of
//! its own; sessions live in the database.

pub mod account;
pub mod admin;
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

/// What every handler reads, behind one shared pointer: a request clones
/// it several times (each extractor, the middleware), and one reference
/// count is cheaper than one per part.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

impl From<Shared> for AppState {
    fn from(shared: Shared) -> AppState {
        AppState(Arc::new(shared))
    }
}

#[derive(Clone)]
pub struct Shared {
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
    /// Each batch's own definition (a batch created in the browser keeps
    /// the one it was created with). `program` and `form_plan` are the
    /// default's, or after [`AppState::for_batch`] that batch's.
    pub programs: Arc<shared::programs::Programs>,
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
    /// Each city's ranking of a batch (the ranking page).
    pub(crate) city_rankings: crate::store::derived::Derived<city::ranking::RankingReads>,
    /// What the form page reads of an application besides its answers.
    pub(crate) form_reads: crate::store::derived::Derived<apply::FormReads, 4096>,
    /// The inbox's totals by filter (county, name), per city and batch.
    pub(crate) inbox_totals: crate::store::derived::Derived<i64, 4096>,
    /// The inbox's pages of rows by filter, order and page, per city and batch.
    pub(crate) inbox_pages:
        crate::store::derived::Derived<Vec<crate::store::applications::InboxEntry>, 1024>,
    /// Each city's counts of a batch's applications by state and industry (the inbox).
    pub city_counts: crate::store::derived::Derived<Vec<(String, String, i64)>>,
    /// What the home page reads: every batch, and of the current one its
    /// 公示 and whether cities have their own deadlines (no read a page).
    pub(crate) batches: crate::store::derived::Derived<Vec<crate::store::batches::BatchRow>>,
    pub(crate) home: crate::store::derived::Derived<public::HomeReads>,
    /// The home page as every visitor who is not logged in sees it.
    pub(crate) home_page: crate::store::derived::Derived<axum::body::Bytes>,
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

    /// Every batch, newest opening first, kept while nothing is written
    /// (`store::derived`): the pages every official opens find their batch
    /// without a read of their own.
    pub async fn batches(
        &self,
    ) -> shared::error::AppResult<Arc<Vec<crate::store::batches::BatchRow>>> {
        self.caches
            .batches
            .get(&self.db, "all", || async {
                Ok::<_, shared::error::AppError>(crate::store::batches::all(&self.db).await?)
            })
            .await
    }

    /// This state as seen from batch `batch_id`: `program` and `form_plan`
    /// are that batch's own (its form, rules, notice, 评价标准). Every
    /// handler about one application or batch starts from it.
    pub async fn for_batch(&self, batch_id: &str) -> shared::error::AppResult<AppState> {
        let d = self.programs.of(&self.db, batch_id).await?;
        Ok(self.with(&d))
    }

    /// This state as seen from application `app_id`'s batch.
    pub async fn for_application(&self, app_id: &str) -> shared::error::AppResult<AppState> {
        let d = self.programs.of_application(&self.db, app_id).await?;
        Ok(self.with(&d))
    }

    fn with(&self, d: &shared::programs::Defined) -> AppState {
        if Arc::ptr_eq(&d.def, &self.program) {
            return self.clone();
        }
        AppState::from(Shared {
            program: d.def.clone(),
            form_plan: d.plan.clone(),
            ..Shared::clone(self)
        })
    }
}

/// Request ids: this process's random prefix and a count, unique across
/// processes without the system call a UUID v4 costs each request.
#[derive(Clone, Copy)]
struct RequestIds;

impl tower_http::request_id::MakeRequestId for RequestIds {
    fn make_request_id<B>(
        &mut self,
        _: &axum::http::Request<B>,
    ) -> Option<tower_http::request_id::RequestId> {
        use std::sync::atomic::{AtomicU64, Ordering};
        static PREFIX: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        static COUNT: AtomicU64 = AtomicU64::new(0);
        let prefix = PREFIX.get_or_init(|| {
            let mut b = [0u8; 6];
            getrandom::fill(&mut b).expect("operating system random source");
            hex::encode(b)
        });
        let n = COUNT.fetch_add(1, Ordering::Relaxed);
        axum::http::HeaderValue::from_str(&format!("{prefix}-{n}"))
            .ok()
            .map(tower_http::request_id::RequestId::new)
    }
}

/// The longest a request may take to be answered (see [`router`]).
pub const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(600);

pub fn router(state: AppState) -> Router {
    use tower_http::limit::RequestBodyLimitLayer;
    use tower_http::request_id::{PropagateRequestIdLayer, SetRequestIdLayer};
    use tower_http::timeout::TimeoutLayer;
    use tower_http::trace::TraceLayer;

    // One span per request: its id (the `x-request-id` it came with, else a
    // new one, sent back), method and route; the context middleware adds
    // who asked (user id and role) once the session is read.
    let trace = TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<_>| {
        let route = req
            .extensions()
            .get::<axum::extract::MatchedPath>()
            .map_or("", |p| p.as_str());
        let id = req
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        tracing::info_span!(
            "request",
            id,
            method = %req.method(),
            route,
            user = tracing::field::Empty,
            role = tracing::field::Empty,
        )
    });
    Router::new()
        .merge(public::router())
        .merge(account::router())
        .merge(apply::router())
        .merge(province::router())
        .merge(expert::router())
        .merge(city::router())
        .merge(admin::router())
        .fallback(public::not_found)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            shared::context::middleware,
        ))
        // Server-wide bounds, below each route's own: no body longer than
        // the largest upload route reads (a refused file drained to its
        // end; forms keep axum's 2 MB), and no request answered later than
        // a 20 MB attachment sent over a slow line takes (a download's
        // streamed body is not timed, only its start).
        .layer(RequestBodyLimitLayer::new(
            shared::upload::upload_drain_limit(crate::config::Config::default().max_file_bytes),
        ))
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        ))
        .layer(trace)
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(RequestIds))
        .with_state(state)
}
