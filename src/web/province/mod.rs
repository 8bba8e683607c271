//! The province's room (省经信厅): accounts and the audit log, the cities'
//! recommendations, the received applications, the expert pool and the
//! review. Every route here is for the province role only, by the guard on
//! the whole router.

pub mod accounts;
pub mod applications;
pub mod batches;
pub mod cases;
pub mod experts;
pub mod exports;
pub mod publication;
pub mod recommendations;
pub mod review;
pub mod scoring_sheet;

use axum::Router;
use axum::middleware;

use super::AppState;
use super::shared::guard;

pub fn router() -> Router<AppState> {
    Router::new()
        .merge(accounts::router())
        .merge(recommendations::router())
        .merge(batches::router())
        .merge(exports::router())
        .merge(applications::router())
        .merge(experts::router())
        .merge(review::router())
        .merge(publication::router())
        .merge(cases::router())
        .merge(scoring_sheet::router())
        .route_layer(middleware::from_fn(guard::province))
}
