use axum::body::Body;
use axum::http::{Request, StatusCode, header};

use crate::helpers::{DEMO_PASSWORD, spawn, spawn_with};
use shenbao::config::{Config, MINUTE};

#[tokio::test]
async fn idle_session_expires_after_thirty_minutes() {
    let app = spawn().await;
    app.seed_demo().await;
    let mut c = app.login("qiye1", DEMO_PASSWORD).await;
    // Activity keeps it alive.
    app.clock.advance(20 * MINUTE);
    assert_eq!(c.get("/dashboard").await.status, StatusCode::OK);
    app.clock.advance(20 * MINUTE);
    assert_eq!(c.get("/dashboard").await.status, StatusCode::OK);
    // Thirty-one idle minutes end it.
    app.clock.advance(31 * MINUTE);
    let r = c.get("/dashboard").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(r.location().starts_with("/login?next=/dashboard"));
    assert!(r.location().contains("expired=1"));
    assert_eq!(app.audit_count("session.expired").await, 1);
    let page = c.get("/login?expired=1").await;
    assert!(page.body.contains("登录已超时"));
}

#[tokio::test]
async fn session_ends_twelve_hours_after_login_even_when_active() {
    let app = spawn().await;
    app.seed_demo().await;
    let mut c = app.login("wuhan", DEMO_PASSWORD).await;
    for _ in 0..(12 * 60 / 20) {
        app.clock.advance(20 * MINUTE);
        assert_eq!(c.get("/dashboard").await.status, StatusCode::OK);
    }
    app.clock.advance(20 * MINUTE);
    assert_eq!(c.get("/dashboard").await.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn timeouts_are_configurable() {
    let app = spawn_with(Config {
        idle_timeout_ms: 5 * MINUTE,
        ..Config::default()
    })
    .await;
    app.seed_demo().await;
    let mut c = app.login("wuhan", DEMO_PASSWORD).await;
    app.clock.advance(6 * MINUTE);
    assert_eq!(c.get("/dashboard").await.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn login_issues_a_new_session_id_and_ends_the_old_one() {
    let app = spawn().await;
    app.seed_demo().await;
    let mut c = app.login("qiye1", DEMO_PASSWORD).await;
    let first = c.cookies["sb_session"].clone();
    let r = c
        .post(
            "/login",
            &[("username", "qiye2"), ("password", DEMO_PASSWORD)],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let second = c.cookies["sb_session"].clone();
    assert_ne!(first, second);
    // The old id no longer works.
    let mut replay = app.client();
    replay.cookies.insert("sb_session".into(), first);
    assert_eq!(replay.get("/dashboard").await.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn logout_and_logout_everywhere() {
    let app = spawn().await;
    app.seed_demo().await;
    let mut a = app.login("xiangyang", DEMO_PASSWORD).await;
    let mut b = app.login("xiangyang", DEMO_PASSWORD).await;
    let mut c = app.login("xiangyang", DEMO_PASSWORD).await;
    a.get("/dashboard").await;
    // Each session just read (kept by the server on SQLite) before it ends.
    assert_eq!(c.get("/dashboard").await.status, StatusCode::OK);
    let r = a.post("/logout", &[]).await;
    assert_eq!(r.location(), "/login?bye=1");
    assert_eq!(a.get("/dashboard").await.status, StatusCode::SEE_OTHER);
    assert_eq!(b.get("/dashboard").await.status, StatusCode::OK);
    b.get("/account").await;
    let r = b.post("/account/logout-all", &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(c.get("/dashboard").await.status, StatusCode::SEE_OTHER);
    assert_eq!(app.audit_count("logout").await, 1);
    assert_eq!(app.audit_count("logout.everywhere").await, 1);
}

#[tokio::test]
async fn state_changing_requests_without_csrf_token_are_refused() {
    let app = spawn().await;
    app.seed_demo().await;
    let mut c = app.login("province", DEMO_PASSWORD).await;
    c.get("/dashboard").await;
    // No token.
    let r = c.post_raw("/account/logout-all", &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.body.contains("安全校验"));
    // Wrong token.
    let r = c
        .post_raw("/account/logout-all", &[("_csrf", "0000")])
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // Right token from another origin.
    let token = c.csrf.clone().expect("token");
    let req = Request::post("/account/logout-all")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ORIGIN, "https://evil.example")
        .body(Body::from(format!("_csrf={token}")))
        .expect("request");
    assert_eq!(c.send(req).await.status, StatusCode::FORBIDDEN);
    // Anonymous forms are protected too.
    let mut anon = app.client();
    let r = anon
        .post_raw(
            "/login",
            &[("username", "province"), ("password", DEMO_PASSWORD)],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // Still logged in: nothing happened.
    assert_eq!(c.get("/dashboard").await.status, StatusCode::OK);
    assert_eq!(app.audit_count("csrf.refused").await, 4);
    // The token in a header works (htmx).
    let req = Request::post("/account/logout-all")
        .header("x-csrf-token", token)
        .body(Body::empty())
        .expect("request");
    assert_eq!(c.send(req).await.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn security_headers_and_cookie_flags() {
    let app = spawn_with(Config {
        secure_cookies: true,
        ..Config::default()
    })
    .await;
    app.seed_demo().await;
    let mut c = app.client();
    let r = c.get("/login").await;
    let h = |n: &str| {
        r.headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    assert!(h("content-security-policy").contains("frame-ancestors 'none'"));
    assert!(h("content-security-policy").contains("script-src 'self'"));
    assert!(!h("content-security-policy").contains("unsafe-inline"));
    assert_eq!(h("x-content-type-options"), "nosniff");
    assert_eq!(h("referrer-policy"), "same-origin");
    let r = c
        .post(
            "/login",
            &[("username", "province"), ("password", DEMO_PASSWORD)],
        )
        .await;
    let cookie = r
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap_or("").to_string())
        .find(|v| v.starts_with("sb_session="))
        .expect("session cookie");
    assert!(cookie.contains("HttpOnly"));
    assert!(cookie.contains("SameSite=Lax"));
    assert!(cookie.contains("Secure"));
    // No inline script anywhere in the page.
    let page = c.get("/dashboard").await;
    assert!(!page.body.contains("<script>"));
    assert!(!page.body.contains("onclick"));
}

#[tokio::test]
async fn healthz_answers_when_the_database_does() {
    let app = spawn().await;
    let mut c = app.client();
    let r = c.get("/healthz").await;
    assert_eq!(r.status, StatusCode::OK);
}

/// An account holds at most `max_sessions_per_user` sessions: one more
/// login ends the session used longest ago, and only that one.
#[tokio::test]
async fn an_account_holds_a_bounded_number_of_sessions() {
    let app = crate::helpers::spawn_with(shenbao::config::Config {
        max_sessions_per_user: 2,
        ..Default::default()
    })
    .await;
    app.seed_demo().await;
    let mut a = app.login("qiye1", DEMO_PASSWORD).await;
    app.clock.advance(1_000);
    let mut b = app.login("qiye1", DEMO_PASSWORD).await;
    app.clock.advance(1_000);
    assert_eq!(a.get("/dashboard").await.status, StatusCode::OK);
    assert_eq!(b.get("/dashboard").await.status, StatusCode::OK);
    app.clock.advance(1_000);
    // b was used last; a was used before it: a third login ends neither b nor itself.
    let mut c = app.login("qiye1", DEMO_PASSWORD).await;
    assert_eq!(c.get("/dashboard").await.status, StatusCode::OK);
    assert_eq!(b.get("/dashboard").await.status, StatusCode::OK);
    let r = a.get("/dashboard").await;
    assert_ne!(r.status, StatusCode::OK, "the oldest session ended");
}
