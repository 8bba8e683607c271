//! Who may see what: every staff page refuses enterprises, every province page
//! refuses other roles, a city sees only its own region, an enterprise only itself.

use axum::http::StatusCode;

use crate::helpers::{DEMO_PASSWORD, TestApp, spawn};

const PROVINCE_PAGES: &[&str] = &[
    "/province/benchmarks",
    "/province/batches",
    "/province/batches/hubei-cloud-benchmark-2021",
];
/// The administrators' pages (三权分立): accounts, security, audit.
const ADMIN_PAGES: &[&str] = &[
    "/admin/users",
    "/admin/users/new",
    "/admin/security",
    "/admin/audit",
    "/admin/audit/export.csv",
];
const CITY_PAGES: &[&str] = &["/city/enterprises"];
const ANY_USER_PAGES: &[&str] = &[
    "/dashboard",
    "/account",
    "/account/password",
    "/account/messages",
    "/account/messages/settings",
];

async fn user_id(app: &TestApp, username: &str) -> String {
    shenbao::store::users::by_username(&app.state.db, username)
        .await
        .expect("query")
        .expect("user")
        .id
}

#[tokio::test]
async fn anonymous_visitors_are_sent_to_login() {
    let app = spawn().await;
    let mut c = app.client();
    for p in PROVINCE_PAGES
        .iter()
        .chain(ADMIN_PAGES)
        .chain(CITY_PAGES)
        .chain(ANY_USER_PAGES)
    {
        let r = c.get(p).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{p}");
        assert!(r.location().starts_with("/login?next="), "{p}");
    }
    assert_eq!(c.get("/").await.status, StatusCode::OK);
    assert_eq!(c.get("/register").await.status, StatusCode::OK);
}

#[tokio::test]
async fn every_staff_page_refuses_an_enterprise() {
    let app = spawn().await;
    app.seed_demo().await;
    let wuhan = user_id(&app, "wuhan").await;
    let mut e = app.login("qiye1", DEMO_PASSWORD).await;
    let mut pages: Vec<String> = PROVINCE_PAGES
        .iter()
        .chain(ADMIN_PAGES)
        .chain(CITY_PAGES)
        .map(|s| s.to_string())
        .collect();
    pages.push(format!("/admin/users/{wuhan}"));
    for p in &pages {
        let r = e.get(p).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "GET {p}");
        assert!(r.body.contains("无权访问"));
    }
    e.get("/dashboard").await;
    for p in [
        "/admin/users".to_string(),
        format!("/admin/users/{wuhan}"),
        format!("/admin/users/{wuhan}/reset-password"),
        format!("/admin/users/{wuhan}/disable"),
    ] {
        let r = e
            .post(
                &p,
                &[
                    ("role", "province"),
                    ("username", "evil"),
                    ("display_name", "x"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "POST {p}");
        assert!(
            r.body.contains("无权访问"),
            "refused for its role, not its token: {p}"
        );
    }
    // Nothing changed.
    assert!(
        shenbao::store::users::by_username(&app.state.db, "evil")
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(app.audit_count("password.reset").await, 0);
}

#[tokio::test]
async fn province_pages_refuse_city_and_expert_accounts() {
    let app = spawn().await;
    app.seed_demo().await;
    for who in ["wuhan", "expert1"] {
        let mut c = app.login(who, DEMO_PASSWORD).await;
        for p in PROVINCE_PAGES.iter().chain(ADMIN_PAGES) {
            assert_eq!(c.get(p).await.status, StatusCode::FORBIDDEN, "{who} {p}");
        }
    }
    let mut x = app.login("expert2", DEMO_PASSWORD).await;
    assert_eq!(
        x.get("/city/enterprises").await.status,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn a_city_sees_only_enterprises_of_its_own_region() {
    let app = spawn().await;
    app.seed_demo().await;
    let mut wuhan = app.login("wuhan", DEMO_PASSWORD).await;
    let r = wuhan.get("/city/enterprises").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("湖北楚云智造科技有限公司"));
    assert!(!r.body.contains("宜昌三峡精细化工"));
    assert!(!r.body.contains("襄阳汉江汽车零部件"));
    let mut yichang = app.login("yichang", DEMO_PASSWORD).await;
    let r = yichang.get("/city/enterprises").await;
    assert!(r.body.contains("宜昌三峡精细化工"));
    assert!(!r.body.contains("湖北楚云智造科技有限公司"));
}

#[tokio::test]
async fn an_enterprise_sees_only_itself() {
    let app = spawn().await;
    app.seed_demo().await;
    let mut one = app.login("qiye1", DEMO_PASSWORD).await;
    let mut two = app.login("qiye2", DEMO_PASSWORD).await;
    let a = one.get("/dashboard").await.body;
    let b = two.get("/dashboard").await.body;
    assert!(a.contains("湖北楚云智造科技有限公司") && !a.contains("宜昌三峡精细化工"));
    assert!(b.contains("宜昌三峡精细化工") && !b.contains("湖北楚云智造科技有限公司"));
    // Staff-style ids in URLs give nothing either.
    let other = user_id(&app, "qiye2").await;
    assert_eq!(
        one.get(&format!("/admin/users/{other}")).await.status,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn the_system_administrator_changes_a_role_and_the_change_takes_effect_at_once() {
    let app = spawn().await;
    app.seed_demo().await;
    let expert = user_id(&app, "expert3").await;
    let mut x = app.login("expert3", DEMO_PASSWORD).await;
    assert_eq!(x.get("/dashboard").await.status, StatusCode::OK);
    let mut p = app.login("sysadmin", DEMO_PASSWORD).await;
    p.get(&format!("/admin/users/{expert}")).await;
    let r = p
        .post(
            &format!("/admin/users/{expert}"),
            &[
                ("role", "city"),
                ("display_name", "黄石市经信局（二）"),
                ("city", "420200"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    // Sessions under the old role end.
    assert_eq!(x.get("/dashboard").await.status, StatusCode::SEE_OTHER);
    let mut y = app.login("expert3", DEMO_PASSWORD).await;
    assert_eq!(y.get("/city/enterprises").await.status, StatusCode::OK);
    assert_eq!(app.audit_count("account.update").await, 1);
}

#[tokio::test]
async fn a_disabled_account_cannot_log_in_and_loses_its_sessions() {
    let app = spawn().await;
    app.seed_demo().await;
    let id = user_id(&app, "jingzhou").await;
    let mut j = app.login("jingzhou", DEMO_PASSWORD).await;
    // Read once, so that the session is the one the server has just read
    // (and, on SQLite, kept): the disable must reach it all the same.
    assert_eq!(j.get("/dashboard").await.status, StatusCode::OK);
    let mut p = app.login("sysadmin", DEMO_PASSWORD).await;
    p.get(&format!("/admin/users/{id}")).await;
    let r = p.post(&format!("/admin/users/{id}/disable"), &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(j.get("/dashboard").await.status, StatusCode::SEE_OTHER);
    let mut again = app.client();
    assert_eq!(
        again.login("jingzhou", DEMO_PASSWORD).await.status,
        StatusCode::OK
    );
    p.get(&format!("/admin/users/{id}")).await;
    p.post(&format!("/admin/users/{id}/enable"), &[]).await;
    assert_eq!(
        again.login("jingzhou", DEMO_PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(app.audit_count("account.disable").await, 1);
    assert_eq!(app.audit_count("account.enable").await, 1);
}
