//! The administrators' room (三权分立): the system administrator's accounts
//! (`/admin/users`), the security administrator's lock-outs, sessions and
//! policy (`/admin/security`) and the audit administrator's log
//! (`/admin/audit`). Each page group carries the guard of its one role;
//! the province's business role reaches none of them, and no role can
//! change or delete the audit log.

pub mod security;

use axum::Router;
use axum::middleware;

use super::AppState;
use super::province::accounts;
use super::shared::guard;

pub fn router() -> Router<AppState> {
    Router::new()
        .merge(accounts::users_router().route_layer(middleware::from_fn(guard::sysadmin)))
        .merge(accounts::audit_router().route_layer(middleware::from_fn(guard::auditor)))
        .merge(security::router().route_layer(middleware::from_fn(guard::secadmin)))
}
