//! Per-request context: who is asking (session from the database), from where,
//! and the CSRF check every state-changing request must pass. Also the
//! security headers on every response.

use std::net::SocketAddr;

use axum::body::{Body, to_bytes};
use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, header, request::Parts};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use sha2::{Digest, Sha256};

use crate::domain::role::Role;
use crate::store::Batch;
use crate::store::audit::{self, Action, Actor};
use crate::store::sessions::{self, Session};
use crate::store::users::User;
use crate::web::AppState;
use crate::web::shared::error::AppError;

pub const SESSION_COOKIE: &str = "sb_session";
pub const CSRF_COOKIE: &str = "sb_csrf";
/// Largest urlencoded form body read to find its CSRF token.
const MAX_FORM_BODY: usize = 4 * 1024 * 1024;
/// A session's last-seen time is written at most this often.
const TOUCH_EVERY_MS: i64 = 60_000;

#[derive(Clone)]
pub struct Ctx {
    /// The logged-in account (None for a session still waiting for its
    /// second factor: see `pending_user`).
    pub user: Option<User>,
    /// The account of a session that passed the password but not yet the
    /// second factor; it reaches only the two-factor pages.
    pub pending_user: Option<User>,
    /// The user must change the password before anything else (temporary
    /// or expired).
    pub must_change: bool,
    pub session: Option<Session>,
    pub csrf: String,
    pub ip: String,
    pub user_agent: String,
    /// The request carried a session that had timed out.
    pub expired: bool,
    pub path: String,
    /// The viewer's unread messages (counted for full page loads only).
    pub unread: i64,
    /// The message a redirect carried to this page (`flash::redirect`).
    pub flash: Option<super::flash::Flash>,
}

impl Ctx {
    pub fn actor(&self) -> Actor {
        match &self.user {
            Some(u) => Actor {
                id: Some(u.id.clone()),
                name: u.username.clone(),
                role: Some(u.role.as_str()),
                ip: self.ip.clone(),
            },
            None => Actor {
                id: None,
                name: "anonymous".into(),
                role: None,
                ip: self.ip.clone(),
            },
        }
    }

    pub fn require_user(&self) -> Result<&User, AppError> {
        self.user.as_ref().ok_or_else(|| AppError::LoginRequired {
            next: self.path.clone(),
            expired: self.expired,
        })
    }

    pub fn require_role(&self, role: Role) -> Result<&User, AppError> {
        let u = self.require_user()?;
        if u.role == role {
            Ok(u)
        } else {
            Err(AppError::Forbidden)
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Ctx {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Ctx>()
            .cloned()
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("context middleware missing")))
    }
}

/// The value of cookie `name` the request carries (read by the `cookie` crate).
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(cookie::Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == name)
        .and_then(|c| c.value_raw())
}

pub fn random_token() -> String {
    use rand::RngCore;
    // `rand`'s thread-local generator (ChaCha, seeded and reseeded from the
    // operating system): no system call for each visitor's token.
    let mut b = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut b);
    hex::encode(b)
}

pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The client's address: the TCP peer's, unless the peer is a trusted
/// proxy; then the nearest address in X-Forwarded-For that is not itself a
/// trusted proxy (a client can put anything on the left of the header, the
/// proxies only append on the right).
fn client_ip(req: &Request, trusted: &[ipnet::IpNet]) -> String {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ci| ci.0.ip());
    let Some(peer) = peer else {
        return "unknown".into();
    };
    let is_trusted = |ip: &std::net::IpAddr| trusted.iter().any(|n| n.contains(ip));
    if !is_trusted(&peer) {
        return peer.to_string();
    }
    let forwarded: Vec<std::net::IpAddr> = req
        .headers()
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map_while(|a| a.trim().parse().ok())
        .collect();
    forwarded
        .iter()
        .rev()
        .find(|ip| !is_trusted(ip))
        .or(forwarded.first())
        .unwrap_or(&peer)
        .to_string()
}

/// A `Set-Cookie` for `name`: the whole site, not readable by scripts, not
/// sent on cross-site requests, Secure behind TLS (`--secure-cookies`).
pub fn set_cookie(state: &AppState, name: &str, value: &str, max_age: Option<i64>) -> HeaderValue {
    let mut c = cookie::Cookie::build((name, value))
        .path("/")
        .http_only(true)
        .same_site(cookie::SameSite::Lax)
        .secure(state.config.secure_cookies);
    if let Some(age) = max_age {
        c = c.max_age(cookie::time::Duration::seconds(age));
    }
    HeaderValue::from_str(&c.build().to_string()).expect("cookie is ASCII")
}

/// Cross-site requests are refused before any token is looked at.
fn cross_site(headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok())
        && site == "cross-site"
    {
        return true;
    }
    if let (Some(origin), Some(host)) = (
        headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()),
        headers.get(header::HOST).and_then(|v| v.to_str().ok()),
    ) {
        let origin_host = origin.split("://").nth(1).unwrap_or("");
        return origin != "null" && origin_host != host;
    }
    false
}

/// Loads the session, checks CSRF on unsafe methods, adds security headers.
pub async fn middleware(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let now = state.clock.now();
    let ip = client_ip(&req, &state.config.trusted_proxies);
    let headers = req.headers();
    let user_agent: String = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .chars()
        .take(200)
        .collect();
    let path = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "/".into());

    // The navigation shows the unread count: read for pages a person looks
    // at, not for autosaves, htmx fragments or form posts.
    let page_load = req.method() == Method::GET
        && !headers.contains_key("hx-request")
        && !path.starts_with("/static/")
        && !path.starts_with("/files/");
    let mut user = None;
    let mut session = None;
    let mut expired = false;
    // Without the session cache (PostgreSQL), a page load reads the unread
    // count and the store's stamp with the session: one round trip.
    let mut counted = None;
    let mut stamp = None;
    if let Some(token) = cookie(headers, SESSION_COOKIE) {
        let id_hash = token_hash(token);
        let found = if page_load && state.db.login_cache().is_none() {
            sessions::find_counting_unread(&state.db, &id_hash)
                .await
                .map(|f| {
                    f.map(|(s, u, n, st)| {
                        counted = Some(n);
                        stamp = Some(st);
                        (s, u)
                    })
                })
        } else {
            sessions::find(&state.db, &id_hash).await
        };
        match found {
            Ok(Some((s, u))) => {
                let cfg = &state.config;
                let half_open_too_long = s.mfa_pending && now - s.created_at > cfg.second_factor_ms;
                if now - s.last_seen > cfg.idle_timeout_ms
                    || now - s.created_at > cfg.absolute_timeout_ms
                    || u.disabled
                    || half_open_too_long
                {
                    let mut b = Batch::new();
                    sessions::delete(&mut b, &id_hash);
                    let actor = Actor {
                        id: Some(u.id.clone()),
                        name: u.username.clone(),
                        role: Some(u.role.as_str()),
                        ip: ip.clone(),
                    };
                    let why = if now - s.created_at > cfg.absolute_timeout_ms {
                        "超过会话最长时限"
                    } else if u.disabled {
                        "账号已停用"
                    } else if half_open_too_long {
                        "未在时限内完成动态口令验证"
                    } else {
                        "长时间未操作"
                    };
                    audit::record(
                        &mut b,
                        &actor,
                        Action::SessionExpired,
                        Some(&u.id),
                        true,
                        why,
                        now,
                    );
                    if let Err(e) = state.db.write(b).await {
                        return AppError::from(e).into_response();
                    }
                    expired = true;
                } else {
                    if now - s.last_seen > TOUCH_EVERY_MS {
                        if let Err(e) = sessions::touch(&state.db, &id_hash, now).await {
                            return AppError::from(e).into_response();
                        }
                    }
                    user = Some(u);
                    session = Some(s);
                }
            }
            Ok(None) => expired = true,
            Err(e) => return AppError::from(e).into_response(),
        }
    }

    let anon_cookie = cookie(headers, CSRF_COOKIE)
        .filter(|c| c.len() == 64 && c.bytes().all(|b| b.is_ascii_hexdigit()))
        .map(str::to_string);
    let mut new_csrf_cookie = None;
    let csrf = match (&session, anon_cookie) {
        (Some(s), _) => s.csrf.clone(),
        (None, Some(c)) => c,
        (None, None) => {
            let t = random_token();
            new_csrf_cookie = Some(t.clone());
            t
        }
    };

    let unread = match &user {
        Some(_) if counted.is_some() && !session.as_ref().is_some_and(|s| s.mfa_pending) => {
            counted.unwrap_or(0)
        }
        Some(u) if page_load && !session.as_ref().is_some_and(|s| s.mfa_pending) => {
            crate::store::outbox::unread_count(&state.db, &u.id)
                .await
                .unwrap_or(0)
        }
        _ => 0,
    };
    let flash = super::flash::read(headers);
    let had_flash = flash.is_some();
    let must_change = user
        .as_ref()
        .is_some_and(|u| state.config.must_change_password(u, now));
    let (user, pending_user) = match (&session, user) {
        (Some(s), Some(u)) if s.mfa_pending => (None, Some(u)),
        (_, u) => (u, None),
    };
    if let Some(u) = &user {
        let span = tracing::Span::current();
        span.record("user", u.id.as_str());
        span.record("role", u.role.as_str());
    }
    let ctx = Ctx {
        user,
        pending_user,
        must_change,
        session,
        csrf,
        ip,
        user_agent,
        expired,
        path: path.clone(),
        unread,
        flash,
    };

    let mut req = req;
    let unsafe_method = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if unsafe_method {
        let (parts, body) = req.into_parts();
        let mut offered = parts
            .headers
            .get("x-csrf-token")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let is_form = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
        let body = if is_form {
            match to_bytes(body, MAX_FORM_BODY).await {
                Ok(bytes) => {
                    if offered.is_none() {
                        offered = crate::web::form_io::form_field(&bytes, "_csrf");
                    }
                    Body::from(bytes)
                }
                Err(_) => {
                    return crate::web::shared::error::error_page(
                        axum::http::StatusCode::PAYLOAD_TOO_LARGE,
                        "提交内容过大",
                        "提交的表单内容超过 4 MB 上限，请删减后重试。",
                    );
                }
            }
        } else {
            if offered.is_none() {
                offered = parts
                    .uri
                    .query()
                    .and_then(|q| crate::web::form_io::form_field(q.as_bytes(), "_csrf"));
            }
            body
        };
        let ok = !cross_site(&parts.headers)
            && offered.is_some_and(|t| {
                use subtle::ConstantTimeEq;
                bool::from(t.as_bytes().ct_eq(ctx.csrf.as_bytes()))
            });
        if !ok {
            let mut b = Batch::new();
            audit::record(
                &mut b,
                &ctx.actor(),
                Action::CsrfRefused,
                Some(parts.uri.path()),
                false,
                "",
                now,
            );
            let _ = state.db.write(b).await;
            return with_headers(AppError::Csrf.into_response());
        }
        req = Request::from_parts(parts, body);
    }

    // A session waiting for its second factor reaches only those pages.
    if ctx.pending_user.is_some()
        && !(path.starts_with("/login/2fa")
            || path.starts_with("/logout")
            || path.starts_with("/static/"))
    {
        return with_headers(Redirect::to("/login/2fa").into_response());
    }

    // A temporary or expired password must be replaced before anything else.
    if ctx.user.is_some()
        && ctx.must_change
        && !(path.starts_with("/account/password")
            || path.starts_with("/logout")
            || path.starts_with("/static/"))
    {
        return with_headers(Redirect::to("/account/password").into_response());
    }

    let clear_session = ctx.expired;
    // Kept for the trail of a refusal (#20: refused requests are audited).
    let (actor, method, route) = (
        ctx.actor(),
        req.method().clone(),
        req.uri().path().to_string(),
    );
    req.extensions_mut().insert(ctx);
    // A read-only request reads from one snapshot (SQLite: one read transaction).
    let mut resp = if unsafe_method {
        next.run(req).await
    } else {
        state.db.read_scope(stamp, next.run(req)).await
    };
    if resp.status() == axum::http::StatusCode::FORBIDDEN {
        let mut b = Batch::new();
        audit::record(
            &mut b,
            &actor,
            Action::AccessRefused,
            Some(&route),
            false,
            method.as_str(),
            now,
        );
        let _ = state.db.write(b).await;
    }
    // A page shared through caches (the public 公示) carries no cookie.
    let shared = resp
        .headers()
        .get(header::CACHE_CONTROL)
        .is_some_and(|v| v.as_bytes().starts_with(b"public"));
    if let Some(t) = new_csrf_cookie.filter(|_| !shared) {
        resp.headers_mut().append(
            header::SET_COOKIE,
            set_cookie(&state, CSRF_COOKIE, &t, None),
        );
    }
    if clear_session && !resp.headers().contains_key(header::SET_COOKIE) {
        resp.headers_mut().append(
            header::SET_COOKIE,
            set_cookie(&state, SESSION_COOKIE, "", Some(0)),
        );
    }
    // Shown once: the page that got the message clears it.
    if had_flash && page_load && !resp.status().is_redirection() {
        resp.headers_mut().append(
            header::SET_COOKIE,
            set_cookie(&state, super::flash::FLASH_COOKIE, "", Some(0)),
        );
    }
    let mut resp = with_headers(resp);
    if state.config.secure_cookies {
        // Served over HTTPS: browsers must not fall back to plain HTTP.
        resp.headers_mut().insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    resp
}

fn with_headers(mut resp: Response) -> Response {
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
        ),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        "permissions-policy",
        HeaderValue::from_static("camera=(), microphone=(), geolocation=()"),
    );
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    resp
}
