use axum::http::StatusCode;

use crate::apply::{fill, start, submit, upload_required};
use crate::helpers::{DEMO_PASSWORD, spawn};

const BATCH: &str = "hubei-cloud-benchmark-2021";

#[tokio::test]
async fn a_city_deadline_set_by_the_province_applies_to_that_city_only() {
    let app = spawn().await;
    app.seed_demo().await;
    let mut p = app.login("province", DEMO_PASSWORD).await;
    let page = p.get(&format!("/province/batches/{BATCH}")).await;
    assert!(page.body.contains("value=\"2021-09-15T17:00\""));
    // Wuhan closes at 2021-09-12 12:00; the others keep the default 09-15 17:00.
    let r = p
        .post(
            &format!("/province/batches/{BATCH}"),
            &[
                ("opens_at", "2021-09-07T00:00"),
                ("enterprise_deadline", "2021-09-15T17:00"),
                ("recommend_deadline", "2021-09-20T23:59"),
                ("city.420100", "2021-09-12T12:00"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(app.audit_count("batch.update").await, 1);

    let mut wuhan_ent = app.login("qiye1", DEMO_PASSWORD).await;
    let w = start(&mut wuhan_ent).await;
    fill(&app, &mut wuhan_ent, &w, 5).await;
    upload_required(&mut wuhan_ent, &w).await;
    let mut yichang_ent = app.login("qiye2", DEMO_PASSWORD).await;
    let y = start(&mut yichang_ent).await;
    fill(&app, &mut yichang_ent, &y, 6).await;
    upload_required(&mut yichang_ent, &y).await;

    // 2021-09-13 09:00: past Wuhan's deadline, before the default.
    app.clock.advance(2 * 24 * 3600 * 1000 + 23 * 3600 * 1000);
    let mut wuhan_ent = app.login("qiye1", DEMO_PASSWORD).await;
    let r = wuhan_ent
        .post(
            &format!("/apply/{w}/submit"),
            &[("_version", "2"), ("confirm", "yes")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("2021年9月12日 12:00"));
    let mut yichang_ent = app.login("qiye2", DEMO_PASSWORD).await;
    let r = submit(&mut yichang_ent, &y).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
}

#[tokio::test]
async fn bad_batch_dates_are_refused_with_messages_and_nothing_changes() {
    let app = spawn().await;
    app.seed_demo().await;
    let mut p = app.login("province", DEMO_PASSWORD).await;
    p.get(&format!("/province/batches/{BATCH}")).await;
    let r = p
        .post(
            &format!("/province/batches/{BATCH}"),
            &[
                ("opens_at", "2021-09-07T00:00"),
                ("enterprise_deadline", "2021-09-01T17:00"),
                ("recommend_deadline", "明天"),
                ("city.420500", "2021-09-30T17:00"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("请填写日期和时间"));
    assert!(r.body.contains("value=\"明天\""));
    let b = shenbao::store::batches::by_id(&app.state.db, BATCH)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        shenbao::clock::to_local_input(b.enterprise_deadline),
        "2021-09-15T17:00"
    );
    // Only the province may change dates.
    let mut city = app.login("wuhan", DEMO_PASSWORD).await;
    assert_eq!(
        city.get(&format!("/province/batches/{BATCH}")).await.status,
        StatusCode::FORBIDDEN
    );
    city.get("/dashboard").await;
    let r = city
        .post(
            &format!("/province/batches/{BATCH}"),
            &[("opens_at", "2021-09-07T00:00")],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}
