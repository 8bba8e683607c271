use axum::http::StatusCode;

use crate::helpers::{DEMO_PASSWORD, spawn};
use shenbao::params;
use shenbao::store::Batch;

#[tokio::test]
async fn security_events_are_recorded_and_the_audit_administrator_can_filter_them() {
    let app = spawn().await;
    app.seed_demo().await;
    let mut bad = app.client();
    bad.login("shiyan", "Wrong-pass-123").await;
    let mut p = app.login("auditor", DEMO_PASSWORD).await;

    let r = p.get("/admin/audit").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("登录失败"));
    assert!(r.body.contains("登录成功"));
    assert!(r.body.contains("创建演示数据"));
    // When is shown in Asia/Shanghai: the test clock starts 2021-09-10 10:00 there.
    assert!(r.body.contains("2021-09-10 10:00:00"));

    let r = p.get("/admin/audit?action=login.failure").await;
    assert!(r.body.contains("shiyan"));
    assert!(!r.body.contains("登录成功</td>"));
    let r = p.get("/admin/audit?outcome=failure&actor=shiyan").await;
    assert!(r.body.contains("密码错误"));
    let r = p.get("/admin/audit?from=2021-09-11").await;
    assert!(r.body.contains("没有符合条件的记录"));
    let r = p.get(&format!("/admin/audit?ip={}", bad.addr.ip())).await;
    assert!(r.body.contains("shiyan"));
}

#[tokio::test]
async fn the_audit_log_cannot_be_changed_or_deleted() {
    let app = spawn().await;
    app.seed_demo().await;
    let before = app.audit_count("demo.seed").await;
    assert_eq!(before, 1);
    let upd = app
        .state
        .db
        .write(Batch::one(
            "UPDATE audit_log SET detail = $1",
            params!["tampered"],
        ))
        .await;
    assert!(upd.is_err(), "update must be refused");
    let del = app
        .state
        .db
        .write(Batch::one("DELETE FROM audit_log", vec![]))
        .await;
    assert!(del.is_err(), "delete must be refused");
    assert_eq!(app.audit_count("demo.seed").await, 1);
    // No route offers a change either.
    let mut p = app.login("auditor", DEMO_PASSWORD).await;
    let r = p.post("/admin/audit", &[("action", "x")]).await;
    assert!(r.status == StatusCode::METHOD_NOT_ALLOWED || r.status == StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn demo_seed_is_idempotent() {
    let app = spawn().await;
    app.seed_demo().await;
    app.seed_demo().await;
    let rows = app
        .state
        .db
        .query("SELECT COUNT(*) FROM users", vec![])
        .await
        .unwrap();
    assert_eq!(rows[0].int(0), 1 + 17 + 5 + 3 + 3);
    let rows = app
        .state
        .db
        .query("SELECT COUNT(*) FROM enterprises", vec![])
        .await
        .unwrap();
    assert_eq!(rows[0].int(0), 3);
}
