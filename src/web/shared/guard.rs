//! Role guards applied to a whole room's router: a route added to a room is
//! guarded without a call in its handler. Anonymous visitors go to the login
//! page; other roles get 403.

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::domain::role::Role;
use crate::web::shared::context::Ctx;

async fn only(role: Role, ctx: Ctx, req: Request, next: Next) -> Response {
    match ctx.require_role(role) {
        Ok(_) => next.run(req).await,
        Err(e) => e.into_response(),
    }
}

pub async fn province(ctx: Ctx, req: Request, next: Next) -> Response {
    only(Role::Province, ctx, req, next).await
}

pub async fn expert(ctx: Ctx, req: Request, next: Next) -> Response {
    only(Role::Expert, ctx, req, next).await
}

pub async fn city(ctx: Ctx, req: Request, next: Next) -> Response {
    only(Role::City, ctx, req, next).await
}

pub async fn enterprise(ctx: Ctx, req: Request, next: Next) -> Response {
    only(Role::Enterprise, ctx, req, next).await
}

/// The officials who read a city's recommendation: that city and the province.
pub async fn officials(ctx: Ctx, req: Request, next: Next) -> Response {
    match ctx.require_user() {
        Ok(u) if matches!(u.role, Role::City | Role::Province) => next.run(req).await,
        Ok(_) => crate::web::shared::error::AppError::Forbidden.into_response(),
        Err(e) => e.into_response(),
    }
}

/// Any logged-in account (the account room's own pages, such as 消息中心).
pub async fn logged_in(ctx: Ctx, req: Request, next: Next) -> Response {
    match ctx.require_user() {
        Ok(_) => next.run(req).await,
        Err(e) => e.into_response(),
    }
}

/// The system administrator (accounts), 三权分立.
pub async fn sysadmin(ctx: Ctx, req: Request, next: Next) -> Response {
    only(Role::SysAdmin, ctx, req, next).await
}

/// The security administrator (lock-outs, sessions, policy).
pub async fn secadmin(ctx: Ctx, req: Request, next: Next) -> Response {
    only(Role::SecAdmin, ctx, req, next).await
}

/// The audit administrator (reads and exports the audit log).
pub async fn auditor(ctx: Ctx, req: Request, next: Next) -> Response {
    only(Role::Auditor, ctx, req, next).await
}
