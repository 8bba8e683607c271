//! Two-factor login (issue #20, 身份鉴别): staff pass a TOTP code after the
//! password, enrolling at the first login; a half-open session reaches
//! nothing but the two-factor pages; recovery codes work once; wrong codes
//! count toward the lock-out; enterprises may enrol from their account page.

use axum::http::{Method, StatusCode};
use shenbao::config::{Config, MINUTE};

use crate::helpers::{Client, DEMO_PASSWORD, TestApp, hidden_field, spawn, spawn_with, totp_at};

/// Posts the password only: the answer and the client, half logged in.
async fn password_only(app: &TestApp, username: &str, password: &str) -> (Client, String) {
    let mut c = app.client();
    c.get("/login").await;
    let r = c
        .post("/login", &[("username", username), ("password", password)])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    (c, r.location().to_string())
}

async fn user_id(app: &TestApp, username: &str) -> String {
    app.state
        .db
        .query(
            "SELECT id FROM users WHERE username = $1",
            vec![username.into()],
        )
        .await
        .expect("user")[0]
        .text(0)
}

/// Creates a staff account as the system administrator does; returns its temporary password.
pub(crate) async fn create_staff(app: &TestApp, role: &str, username: &str, city: &str) -> String {
    let mut p = app.login("sysadmin", DEMO_PASSWORD).await;
    p.get("/admin/users/new").await;
    let r = p
        .post(
            "/admin/users",
            &[
                ("role", role),
                ("username", username),
                ("display_name", "测试账号"),
                ("city", city),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let marker = "临时密码：<code>";
    let i = r.body.find(marker).expect("temporary password shown") + marker.len();
    r.body[i..i + r.body[i..].find('<').expect("end")].to_string()
}

/// The recovery codes a page lists.
fn recovery_codes(body: &str) -> Vec<String> {
    let start = body.find("id=\"recovery-codes\"").expect("codes list");
    let end = start + body[start..].find("</ol>").expect("end of list");
    body[start..end]
        .split("<code>")
        .skip(1)
        .map(|s| s[..s.find('<').expect("code end")].to_string())
        .collect()
}

/// The secret an enrolment page shows (its groups joined).
fn shown_secret(body: &str) -> String {
    let marker = "id=\"totp-secret\">";
    let i = body.find(marker).expect("secret shown") + marker.len();
    body[i..i + body[i..].find('<').expect("end")].replace(' ', "")
}

fn step(app: &TestApp) -> i64 {
    app.clock.now() / 30_000
}

#[tokio::test]
async fn a_staff_login_needs_the_code_and_the_half_open_session_reaches_nothing_else() {
    let app = spawn().await;
    app.seed_demo().await;
    let (mut c, to) = password_only(&app, "province", DEMO_PASSWORD).await;
    assert!(to.starts_with("/login/2fa"), "{to}");
    // Every page but the two-factor ones sends the half-open session back.
    for path in [
        "/dashboard",
        "/admin/users",
        "/admin/audit",
        "/admin/security",
        "/account",
        "/account/password",
        "/account/2fa",
        "/account/messages",
        "/city/inbox",
        "/",
    ] {
        let r = c.get(path).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{path}");
        assert_eq!(r.location(), "/login/2fa", "{path}");
    }
    let r = c.get(&to).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("动态口令验证"), "{}", r.body);
    assert!(
        !r.body.contains("id=\"demo-code\""),
        "no hint off a demo server"
    );
    // A state change is refused the same way (token and all).
    let r = c.post("/account/logout-all", &[]).await;
    assert_eq!(r.location(), "/login/2fa");
    assert_eq!(app.audit_count("logout.everywhere").await, 0);

    // A wrong code: the field says so, and it counts as a failed login.
    let r = c.post("/login/2fa", &[("code", "000000")]).await;
    let wrong_is_right = totp_at(shenbao::demo::DEMO_TOTP_SECRET, step(&app)) == "000000";
    if !wrong_is_right {
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.body.contains("动态验证码不正确"), "{}", r.body);
        assert_eq!(app.audit_count("login.failure").await, 1);
        assert_eq!(c.get("/dashboard").await.location(), "/login/2fa");
    }
    // The code of the authenticator opens the session.
    let code = totp_at(shenbao::demo::DEMO_TOTP_SECRET, step(&app));
    let r = c.post("/login/2fa", &[("code", &code)]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.location(), "/dashboard");
    assert_eq!(c.get("/dashboard").await.status, StatusCode::OK);
    assert_eq!(app.audit_count("2fa.passed").await, 1);

    // The same code cannot open a second session, and is not counted as a guess.
    let (mut d, _) = password_only(&app, "province", DEMO_PASSWORD).await;
    d.get("/login/2fa").await;
    let r = d.post("/login/2fa", &[("code", &code)]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("已使用过"), "{}", r.body);
    assert_eq!(
        app.audit_count("login.failure").await,
        if wrong_is_right { 0 } else { 1 }
    );
    // The next step's code does.
    app.clock.advance(30_000);
    let r = d
        .post(
            "/login/2fa",
            &[(
                "code",
                &totp_at(shenbao::demo::DEMO_TOTP_SECRET, step(&app)),
            )],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
}

/// Every declared route, asked by a session that passed only the password:
/// nothing but the two-factor pages (and logging out) is reached.
#[tokio::test]
async fn no_route_serves_a_half_open_session() {
    let app = spawn().await;
    app.seed_demo().await;
    let (mut c, _) = password_only(&app, "province", DEMO_PASSWORD).await;
    c.get("/login/2fa").await;
    let mut wrong = Vec::new();
    for (method, pattern) in crate::route_matrix::declared_routes() {
        if pattern.starts_with("/login") || pattern.starts_with("/logout") {
            continue;
        }
        let path = pattern.replace("{id}", "0").replace(['{', '}'], "");
        let r = if method == Method::GET {
            c.get(&path).await
        } else {
            c.post(&path, &[]).await
        };
        let public_page =
            method == Method::GET && ["/static/", "/healthz"].iter().any(|p| path.starts_with(p));
        let sent_back = r.status == StatusCode::SEE_OTHER && r.location() == "/login/2fa";
        if !(public_page || sent_back) {
            wrong.push(format!("{method} {path}: {} {}", r.status, r.location()));
        }
    }
    assert!(wrong.is_empty(), "reached half-open: {wrong:#?}");
}

#[tokio::test]
async fn a_new_staff_account_enrols_at_first_login_with_recovery_codes_that_work_once() {
    let app = spawn().await;
    app.seed_demo().await;
    let temp = create_staff(&app, "city", "wuhan-li", "420100").await;
    let (mut c, to) = password_only(&app, "wuhan-li", &temp).await;
    let r = c.get(&to).await;
    assert!(r.body.contains("绑定动态口令"), "{}", r.body);
    assert!(r.body.contains("<svg"), "QR code shown");
    let secret = shown_secret(&r.body);
    assert_eq!(secret.len(), 32, "{secret}");
    // Reloading shows the same secret (the QR code in a phone stays valid).
    assert_eq!(shown_secret(&c.get(&to).await.body), secret);
    let r = c.post("/login/2fa/enrol", &[("code", "12345")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("动态验证码不正确"));
    assert_eq!(c.get("/dashboard").await.location(), "/login/2fa");

    let next = hidden_field(&r.body, "next").unwrap_or_default();
    let r = c
        .post(
            "/login/2fa/enrol",
            &[("code", &totp_at(&secret, step(&app))), ("next", &next)],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let codes = recovery_codes(&r.body);
    assert_eq!(codes.len(), 10);
    assert_eq!(app.audit_count("2fa.enrol").await, 1);
    // Logged in now, but the temporary password comes first.
    assert!(r.body.contains("href=\"/account/password\""), "{}", r.body);
    assert_eq!(c.get("/dashboard").await.location(), "/account/password");
    // Only hashes are kept.
    let stored = app
        .state
        .db
        .query("SELECT code_hash FROM recovery_codes", vec![])
        .await
        .expect("codes");
    assert_eq!(stored.len(), 10);
    assert!(stored.iter().all(|r| !codes.contains(&r.text(0))));
    // The TOTP secret is stored sealed by the key outside the database.
    let sealed = app
        .state
        .db
        .query(
            "SELECT secret FROM user_totp WHERE user_id = $1",
            vec![user_id(&app, "wuhan-li").await.into()],
        )
        .await
        .expect("secret")[0]
        .text(0);
    assert!(sealed.starts_with("v1."), "{sealed}");
    assert!(!sealed.contains(&secret), "{sealed}");

    // A recovery code instead of the app, typed loosely: once only.
    let (mut d, _) = password_only(&app, "wuhan-li", &temp).await;
    d.get("/login/2fa").await;
    let typed = codes[3].to_lowercase().replace('-', " ");
    let r = d.post("/login/2fa", &[("code", &typed)]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(app.audit_count("2fa.recovery_used").await, 1);
    // The owner is told (a recovery code in other hands passes the factor).
    let told: Vec<_> = crate::notify::messages(&app)
        .await
        .into_iter()
        .filter(|m| m.to == "wuhan-li" && m.kind == shenbao::domain::notify::Kind::RecoveryCodeUsed)
        .collect();
    assert_eq!(told.len(), 1);
    assert!(told[0].body.contains("剩余恢复码9个"), "{}", told[0].body);
    let (mut e, _) = password_only(&app, "wuhan-li", &temp).await;
    e.get("/login/2fa").await;
    let r = e.post("/login/2fa", &[("code", &codes[3])]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "used twice");
    assert_eq!(e.get("/dashboard").await.location(), "/login/2fa");
}

#[tokio::test]
async fn wrong_codes_lock_the_name_from_that_address_and_end_the_half_open_session() {
    let app = spawn().await;
    app.seed_demo().await;
    let (mut c, _) = password_only(&app, "expert1", DEMO_PASSWORD).await;
    c.get("/login/2fa").await;
    let right = totp_at(shenbao::demo::DEMO_TOTP_SECRET, step(&app));
    let mut last = None;
    let mut wrong_codes = (100_000..).map(|n: u32| n.to_string()).filter(|n| {
        (-1..=1).all(|d| *n != totp_at(shenbao::demo::DEMO_TOTP_SECRET, step(&app) + d))
    });
    for _ in 0..5 {
        let code = wrong_codes.next().expect("a wrong code");
        last = Some(c.post("/login/2fa", &[("code", &code)]).await);
    }
    let r = last.expect("five tries");
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location(), "/login?locked=1");
    assert_eq!(app.audit_count("account.locked").await, 1);
    // The half-open session is gone: the right code no longer helps.
    let r = c.post("/login/2fa", &[("code", &right)]).await;
    assert_ne!(r.status, StatusCode::OK);
    assert_ne!(c.get("/dashboard").await.status, StatusCode::OK);
    // And the password alone is refused from this address for now.
    let mut again = c;
    again.get("/login").await;
    let r = again
        .post(
            "/login",
            &[("username", "expert1"), ("password", DEMO_PASSWORD)],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("暂停登录"), "{}", r.body);
}

#[tokio::test]
async fn a_half_open_session_runs_out_after_ten_minutes() {
    let app = spawn().await;
    app.seed_demo().await;
    let (mut c, _) = password_only(&app, "wuhan", DEMO_PASSWORD).await;
    assert_eq!(c.get("/login/2fa").await.status, StatusCode::OK);
    app.clock.advance(11 * MINUTE);
    let r = c.get("/login/2fa").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(r.location().starts_with("/login"), "{}", r.location());
    assert_ne!(r.location(), "/dashboard");
    assert_ne!(c.get("/dashboard").await.status, StatusCode::OK);
}

#[tokio::test]
async fn an_enterprise_may_enrol_from_its_account_page_and_remove_it_again() {
    let app = spawn().await;
    app.seed_demo().await;
    // Optional: the password alone logs an enterprise in.
    let mut q = app.login("qiye1", DEMO_PASSWORD).await;
    assert_eq!(q.get("/dashboard").await.status, StatusCode::OK);
    let r = q.get("/account/2fa").await;
    assert!(r.body.contains("企业账号可自愿启用"), "{}", r.body);
    let secret = shown_secret(&r.body);
    let r = q
        .post(
            "/account/2fa/enrol",
            &[("code", &totp_at(&secret, step(&app)))],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(recovery_codes(&r.body).len(), 10);

    // From now on its login asks for the code too.
    let (mut c, to) = password_only(&app, "qiye1", DEMO_PASSWORD).await;
    assert!(to.starts_with("/login/2fa"), "{to}");
    assert_eq!(c.get("/dashboard").await.location(), "/login/2fa");
    app.clock.advance(30_000);
    c.get("/login/2fa").await;
    let r = c
        .post("/login/2fa", &[("code", &totp_at(&secret, step(&app)))])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);

    // New recovery codes replace the old ones (with a current code).
    app.clock.advance(30_000);
    c.get("/account/2fa").await;
    let r = c
        .post(
            "/account/2fa/recovery-codes",
            &[("code", &totp_at(&secret, step(&app)))],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(recovery_codes(&r.body).len(), 10);
    assert_eq!(app.audit_count("2fa.recovery_renew").await, 1);

    // Removal needs a current code, then the password suffices again.
    app.clock.advance(30_000);
    c.get("/account/2fa").await;
    let r = c
        .post("/account/2fa/remove", &[("remove_code", "000000")])
        .await;
    if totp_at(&secret, step(&app)) != "000000" {
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let r = c
        .post(
            "/account/2fa/remove",
            &[("remove_code", &totp_at(&secret, step(&app) + 1))],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(app.audit_count("2fa.remove").await, 1);
    let told = crate::notify::messages(&app)
        .await
        .into_iter()
        .any(|m| m.to == "qiye1" && m.kind == shenbao::domain::notify::Kind::TwoFactorRemoved);
    assert!(told, "the owner is told of the removal");
    let (_, to) = password_only(&app, "qiye1", DEMO_PASSWORD).await;
    assert_eq!(to, "/dashboard");
}

#[tokio::test]
async fn staff_cannot_remove_their_second_factor() {
    let app = spawn().await;
    app.seed_demo().await;
    let mut p = app.login("province", DEMO_PASSWORD).await;
    let r = p.get("/account/2fa").await;
    assert!(r.body.contains("已启用"));
    assert!(
        !r.body.contains("/account/2fa/remove"),
        "no removal offered"
    );
    app.clock.advance(60_000);
    let code = totp_at(shenbao::demo::DEMO_TOTP_SECRET, step(&app));
    let r = p
        .post("/account/2fa/remove", &[("remove_code", &code)])
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("不能解除"), "{}", r.body);
    assert!(
        shenbao::store::twofactor::enrolled(&app.state.db, &user_id(&app, "province").await)
            .await
            .expect("enrolled")
    );
}

/// The switch: with `require_staff_2fa` off, staff without a factor log in
/// with the password alone (an enrolled account still needs its code).
#[tokio::test]
async fn with_the_requirement_off_an_unenrolled_official_needs_only_the_password() {
    let app = spawn_with(Config {
        require_staff_2fa: false,
        ..Config::default()
    })
    .await;
    app.seed_demo().await;
    let temp = create_staff(&app, "expert", "expert-wang", "").await;
    let (_, to) = password_only(&app, "expert-wang", &temp).await;
    assert_eq!(to, "/account/password");
    let (_, to) = password_only(&app, "province", DEMO_PASSWORD).await;
    assert!(to.starts_with("/login/2fa"), "enrolled: {to}");
}

/// A reset (a lost phone) removes the factor: the owner enrols again, and
/// is told of the reset.
#[tokio::test]
async fn a_password_reset_removes_the_factor_and_tells_the_owner() {
    let app = spawn().await;
    app.seed_demo().await;
    let id = user_id(&app, "expert2").await;
    let mut p = app.login("sysadmin", DEMO_PASSWORD).await;
    p.get(&format!("/admin/users/{id}")).await;
    let r = p
        .post(&format!("/admin/users/{id}/reset-password"), &[])
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let marker = "临时密码：<code>";
    let i = r.body.find(marker).expect("temporary password") + marker.len();
    let temp = r.body[i..i + r.body[i..].find('<').expect("end")].to_string();
    assert!(
        !shenbao::store::twofactor::enrolled(&app.state.db, &id)
            .await
            .expect("enrolled")
    );
    let told = crate::notify::messages(&app)
        .await
        .into_iter()
        .any(|m| m.to == "expert2" && m.kind == shenbao::domain::notify::Kind::PasswordReset);
    assert!(told, "the owner is told of the reset");
    let (mut c, to) = password_only(&app, "expert2", &temp).await;
    let r = c.get(&to).await;
    assert!(r.body.contains("绑定动态口令"), "{}", r.body);
}

/// A secret an older version kept in clear is sealed when the store opens,
/// and still passes; a sealed value copied to another account opens for
/// nobody (the account is its associated data).
#[tokio::test]
async fn secrets_kept_in_clear_are_sealed_and_a_moved_secret_opens_for_nobody() {
    let app = spawn().await;
    app.seed_demo().await;
    let db = &app.state.db;
    let province = user_id(&app, "province").await;
    let mut b = shenbao::store::Batch::new();
    b.push(
        "UPDATE user_totp SET secret = $2 WHERE user_id = $1",
        vec![
            province.clone().into(),
            shenbao::demo::DEMO_TOTP_SECRET.into(),
        ],
    );
    db.write(b).await.expect("an older version's row");
    shenbao::store::twofactor::seal_kept_in_clear(db)
        .await
        .expect("seal");
    let stored = |id: String| async move {
        db.query(
            "SELECT secret FROM user_totp WHERE user_id = $1",
            vec![id.into()],
        )
        .await
        .expect("q")[0]
            .text(0)
    };
    let sealed = stored(province.clone()).await;
    assert!(sealed.starts_with("v1.") && !sealed.contains(shenbao::demo::DEMO_TOTP_SECRET));
    app.clock.advance(60_000);
    let (mut c, _) = password_only(&app, "province", DEMO_PASSWORD).await;
    c.get("/login/2fa").await;
    let code = totp_at(shenbao::demo::DEMO_TOTP_SECRET, step(&app));
    let r = c.post("/login/2fa", &[("code", &code)]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);

    // The province's sealed secret pasted into expert1's row: no code passes.
    let expert = user_id(&app, "expert1").await;
    let mut b = shenbao::store::Batch::new();
    b.push(
        "UPDATE user_totp SET secret = $2 WHERE user_id = $1",
        vec![expert.into(), sealed.into()],
    );
    db.write(b).await.expect("moved");
    app.clock.advance(60_000);
    let (mut e, _) = password_only(&app, "expert1", DEMO_PASSWORD).await;
    e.get("/login/2fa").await;
    let code = totp_at(shenbao::demo::DEMO_TOTP_SECRET, step(&app));
    let r = e.post("/login/2fa", &[("code", &code)]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
}
