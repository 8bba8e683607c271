//! What a hostile probe found (issue #20), each reproduced here first.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use shenbao::config::Config;

use crate::helpers::{Client, DEMO_PASSWORD, spawn, spawn_with};

/// Logs in as qiye1 with `next` as the login form would post it.
async fn login_next(c: &mut Client, next: &str) -> crate::helpers::Resp {
    c.get("/login").await;
    c.post(
        "/login",
        &[
            ("username", "qiye1"),
            ("password", DEMO_PASSWORD),
            ("next", next),
        ],
    )
    .await
}

/// Finding 3: after login only a path on this site is followed; a tab or a
/// backslash that browsers drop or turn into a slash cannot reach another
/// host, and a newline is no 500.
#[tokio::test]
async fn login_follows_only_local_paths() {
    let app = spawn().await;
    app.seed_demo().await;
    for next in [
        "/\t/evil.example",
        "/\\evil.example",
        "//evil.example",
        "/\n/evil.example",
        "https://evil.example/",
        "/ /evil.example",
        "\t//evil.example",
    ] {
        let mut c = app.client();
        let r = login_next(&mut c, next).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{next:?}: {}", r.body);
        assert_eq!(r.location(), "/dashboard", "{next:?}");
    }
    let mut c = app.client();
    let r = login_next(&mut c, "/apply?batch=x").await;
    assert_eq!(r.location(), "/apply?batch=x");
}

/// The address the last login failure was audited under.
async fn last_failure_ip(app: &crate::helpers::TestApp) -> String {
    app.state
        .db
        .query(
            "SELECT ip FROM audit_log WHERE action = 'login.failure' ORDER BY at DESC, id DESC",
            vec![],
        )
        .await
        .expect("audit")[0]
        .text(0)
}

async fn fail_login_with(c: &mut Client, forwarded: &str) {
    c.get("/login").await;
    let token = c.csrf.clone().unwrap_or_default();
    let body = serde_urlencoded::to_string([
        ("_csrf", token.as_str()),
        ("username", "qiye1"),
        ("password", "wrong-password-1"),
    ])
    .expect("form");
    let req = Request::post("/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header("x-forwarded-for", forwarded)
        .body(Body::from(body))
        .expect("request");
    let r = c.send(req).await;
    assert_eq!(r.status, StatusCode::OK);
}

/// Finding 5: X-Forwarded-For is believed only from a configured proxy,
/// and then only its right-most address that is not a proxy itself.
#[tokio::test]
async fn forwarded_addresses_are_believed_only_from_configured_proxies() {
    let config = Config {
        trusted_proxies: vec!["192.0.2.0/24".parse().expect("net")],
        ..Config::default()
    };
    let app = spawn_with(config).await;
    app.seed_demo().await;
    // A client straight to the port forges the header: ignored.
    let mut direct = app.client();
    fail_login_with(&mut direct, "198.51.100.7").await;
    assert_eq!(last_failure_ip(&app).await, direct.addr.ip().to_string());
    // Through the proxy: the client's own address, whatever it put on the left.
    let mut proxied = app.client();
    proxied.addr = "192.0.2.10:50000".parse().expect("addr");
    fail_login_with(&mut proxied, "6.6.6.6, 203.0.113.5, 192.0.2.11").await;
    assert_eq!(last_failure_ip(&app).await, "203.0.113.5");
}
