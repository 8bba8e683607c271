//! Separation of duties (三权分立, issue #20): the system administrator
//! manages accounts, the security administrator lock-outs and sessions,
//! the audit administrator reads and exports the audit log; the province's
//! business role reaches none of these, and none of them the others' pages.

use axum::http::StatusCode;

use crate::helpers::{DEMO_PASSWORD, TestApp, spawn};

const USERS: &str = "/admin/users";
const SECURITY: &str = "/admin/security";
const AUDIT: &str = "/admin/audit";
const EXPORT: &str = "/admin/audit/export.csv";

async fn status(app: &TestApp, who: &str, path: &str) -> StatusCode {
    app.login(who, DEMO_PASSWORD).await.get(path).await.status
}

async fn user_id(app: &TestApp, username: &str) -> String {
    shenbao::store::users::by_username(&app.state.db, username)
        .await
        .expect("query")
        .expect("user")
        .id
}

#[tokio::test]
async fn each_administrator_reaches_only_its_own_pages_and_the_province_none() {
    let app = spawn().await;
    app.seed_demo().await;
    let expect = [
        ("sysadmin", [true, false, false, false]),
        ("secadmin", [false, true, false, false]),
        ("auditor", [false, false, true, true]),
        ("province", [false, false, false, false]),
        ("wuhan", [false, false, false, false]),
        ("expert1", [false, false, false, false]),
        ("qiye1", [false, false, false, false]),
    ];
    for (who, allowed) in expect {
        for (path, ok) in [USERS, SECURITY, AUDIT, EXPORT].into_iter().zip(allowed) {
            let want = if ok {
                StatusCode::OK
            } else {
                StatusCode::FORBIDDEN
            };
            assert_eq!(status(&app, who, path).await, want, "{who} GET {path}");
        }
    }
    // The administrators do no business either.
    for who in ["sysadmin", "secadmin", "auditor"] {
        for path in [
            "/province/batches",
            "/province/applications",
            "/city/applications",
            "/expert",
        ] {
            assert_eq!(
                status(&app, who, path).await,
                StatusCode::FORBIDDEN,
                "{who} {path}"
            );
        }
    }
}

#[tokio::test]
async fn the_audit_administrator_exports_the_log_as_csv_and_the_export_is_audited() {
    let app = spawn().await;
    app.seed_demo().await;
    // A login name that a spreadsheet would run as a formula.
    let mut bad = app.client();
    bad.login("=HYPERLINK(\"x\")", "Wrong-pass-123").await;
    let mut a = app.login("auditor", DEMO_PASSWORD).await;
    let page = a.get(AUDIT).await;
    assert!(
        page.body.contains("/admin/audit/export.csv?"),
        "export link"
    );
    let r = a.get(&format!("{EXPORT}?action=login.failure")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.headers[axum::http::header::CONTENT_TYPE]
            .to_str()
            .expect("type")
            .starts_with("text/csv")
    );
    assert!(r.body.starts_with('\u{feff}'), "BOM for Excel");
    let lines: Vec<&str> = r.body.lines().collect();
    assert!(lines[0].contains("时间,操作人"), "{}", lines[0]);
    assert_eq!(lines.len(), 2, "one failure only: {lines:?}");
    assert!(
        lines[1].contains("\"'=hyperlink"),
        "formula neutralised: {}",
        lines[1]
    );
    assert!(lines[1].contains("login.failure"));
    assert_eq!(app.audit_count("audit.export").await, 1);
    // Nobody can change the log through the pages: no such route.
    let r = a.post(AUDIT, &[]).await;
    assert!(matches!(
        r.status,
        StatusCode::METHOD_NOT_ALLOWED | StatusCode::NOT_FOUND
    ));
}

#[tokio::test]
async fn the_security_administrator_ends_a_lock_out_and_an_accounts_sessions() {
    let app = spawn().await;
    app.seed_demo().await;
    let mut guesser = app.client();
    for _ in 0..5 {
        guesser.login("wuhan", "Wrong-pass-123").await;
    }
    assert_eq!(app.audit_count("account.locked").await, 1);
    let mut q = app.login("qiye1", DEMO_PASSWORD).await;
    assert_eq!(q.get("/dashboard").await.status, StatusCode::OK);

    let mut s = app.login("secadmin", DEMO_PASSWORD).await;
    let page = s.get(SECURITY).await;
    assert!(page.body.contains("解除锁定（wuhan）"), "{}", page.body);
    assert!(page.body.contains("强制下线（qiye1）"));
    assert!(page.body.contains("工作人员密码有效期"));
    let key = format!("wuhan|{}", guesser.addr.ip());
    let r = s.post("/admin/security/unlock", &[("key", &key)]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(app.audit_count("account.unlock").await, 1);
    // The owner logs in from that address again.
    assert_eq!(
        guesser.login("wuhan", DEMO_PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
    // A lock-out that is not there: refused, nothing recorded.
    s.get(SECURITY).await;
    let r = s.post("/admin/security/unlock", &[("key", &key)]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(app.audit_count("account.unlock").await, 1);

    let qiye1 = user_id(&app, "qiye1").await;
    s.get(SECURITY).await;
    let r = s
        .post("/admin/security/revoke", &[("user_id", &qiye1)])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(q.get("/dashboard").await.status, StatusCode::SEE_OTHER);
    assert_eq!(app.audit_count("session.revoke").await, 1);

    // The system administrator cannot do either.
    let mut sys = app.login("sysadmin", DEMO_PASSWORD).await;
    sys.get("/dashboard").await;
    let r = sys
        .post("/admin/security/revoke", &[("user_id", &qiye1)])
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn no_administrator_gives_itself_another_duty() {
    let app = spawn().await;
    app.seed_demo().await;
    let me = user_id(&app, "sysadmin").await;
    let mut sys = app.login("sysadmin", DEMO_PASSWORD).await;
    sys.get(&format!("{USERS}/{me}")).await;
    let r = sys
        .post(
            &format!("{USERS}/{me}"),
            &[("role", "auditor"), ("display_name", "系统管理员")],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body.contains("只能由服务器上的命令行"), "{}", r.body);
    assert_eq!(app.audit_count("account.update").await, 0);
    // Nor creates one for someone else: it would know its temporary password.
    sys.get(&format!("{USERS}/new")).await;
    let r = sys
        .post(
            USERS,
            &[
                ("role", "auditor"),
                ("username", "audit-2"),
                ("display_name", "审计员二"),
                ("city", ""),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("只能由服务器上的命令行"), "{}", r.body);
    assert!(!r.body.contains("临时密码"));
    assert_eq!(app.audit_count("account.create").await, 0);
    // A business account it may create (it must enrol at its first login).
    let r = sys
        .post(
            USERS,
            &[
                ("role", "expert"),
                ("username", "expert-zhao"),
                ("display_name", "赵专家"),
                ("city", ""),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("临时密码"));
}

/// The system administrator cannot take over another administrator's
/// account: no reset (it would know the temporary password), no disabling,
/// no change; the page offers none and says where it is done.
#[tokio::test]
async fn the_system_administrator_cannot_reset_or_disable_another_administrator() {
    let app = spawn().await;
    app.seed_demo().await;
    let mut sys = app.login("sysadmin", DEMO_PASSWORD).await;
    for who in ["auditor", "secadmin", "sysadmin"] {
        let id = user_id(&app, who).await;
        let r = sys.get(&format!("{USERS}/{id}")).await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(
            !r.body.contains("reset-password\""),
            "no reset offered: {}",
            r.body
        );
        assert!(r.body.contains("shenbao user reset-password"), "{}", r.body);
        for action in ["reset-password", "disable", "enable"] {
            let r = sys.post(&format!("{USERS}/{id}/{action}"), &[]).await;
            assert_eq!(r.status, StatusCode::BAD_REQUEST, "{who} {action}");
            assert!(r.body.contains("三权分立"), "{}", r.body);
        }
    }
    assert_eq!(app.audit_count("password.reset").await, 0);
    assert_eq!(app.audit_count("account.disable").await, 0);
    // The auditor still logs in with its own password.
    let mut a = app.login("auditor", DEMO_PASSWORD).await;
    assert_eq!(a.get("/admin/audit").await.status, StatusCode::OK);
    // A business account is reset as before.
    let id = user_id(&app, "expert3").await;
    let r = sys.post(&format!("{USERS}/{id}/reset-password"), &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}
