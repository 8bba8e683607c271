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

/// The fields of a new batch copied from the 2021 one, for 2022.
fn third_batch(notice: &str) -> Vec<(&'static str, String)> {
    vec![
        ("from", BATCH.into()),
        ("name", "第三批湖北省上云标杆企业".into()),
        ("doc_number", "鄂经信办函〔2022〕12号".into()),
        (
            "notice_title",
            "省经信厅办公室关于组织申报第三批湖北省上云标杆企业的通知".into(),
        ),
        ("notice_date", "2022-08-01".into()),
        ("reference_date", "2022-08-01".into()),
        ("quota", "40".into()),
        ("opens_at", "2022-08-01T09:00".into()),
        ("enterprise_deadline", "2022-08-31T17:00".into()),
        ("recommend_deadline", "2022-09-10T23:59".into()),
        ("notice_md", notice.into()),
    ]
}

async fn post_fields(
    c: &mut crate::helpers::Client,
    fields: &[(&str, String)],
) -> crate::helpers::Resp {
    let refs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    c.post("/province/batches/new", &refs).await
}

#[tokio::test]
async fn a_batch_created_in_the_browser_takes_applications_and_the_earlier_one_stays_as_it_was() {
    use shenbao::domain::form::{ProgramDef, sample_answers_for};

    let app = spawn().await;
    app.seed_demo().await;
    let (_, old) = crate::apply::submitted(&app, "qiye2", 6).await;

    // 武汉's recommendation cap in the 2021 batch.
    let mut b = shenbao::store::Batch::new();
    shenbao::store::recommendations::set_cap(&mut b, BATCH, "420100", Some(5));
    app.state.db.write(b).await.unwrap();
    let mut p = app.login("province", DEMO_PASSWORD).await;
    let page = p.get("/province/batches/new").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("复制自“第二批湖北省上云标杆企业”"));
    assert!(
        page.body.contains("评价标准 5 项，满分 100"),
        "{}",
        page.body
    );
    // The notice is offered as the earlier batch's, to edit.
    let notice = crate::apply::input_textarea(&page.body, "notice_md");
    assert!(notice.contains("鄂政办发〔2020〕28号"));
    let notice = notice.replace("第二批", "第三批");

    // Refused, each at its field, nothing created.
    let mut bad = third_batch(&notice);
    bad[1].1 = "第二批湖北省上云标杆企业".into();
    bad[5].1 = "去年".into();
    bad[8].1 = "2022-07-01T17:00".into();
    let r = post_fields(&mut p, &bad).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    for m in [
        "已有同名批次",
        "请填写日期，如 2022-09-07",
        "截止时间应晚于开始申报时间",
    ] {
        assert!(r.body.contains(m), "{m}: {}", r.body);
    }
    assert!(r.body.contains("value=\"去年\""));
    // A notice that does not read is refused at its field, with its line.
    let mut bad = third_batch(&notice);
    bad[10].1 = "+++\nissuer = 1\n+++\n正文".into();
    let r = post_fields(&mut p, &bad).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("id=\"e-notice_md\""), "{}", r.body);
    assert!(r.body.contains("第2行"), "{}", r.body);
    assert_eq!(app.audit_count("batch.create").await, 0);

    let r = post_fields(&mut p, &third_batch(&notice)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.location(), "/province/batches/batch-2022-1?created=1");
    assert_eq!(app.audit_count("batch.create").await, 1);
    let page = p.get(r.location()).await;
    assert!(page.body.contains("新批次已建立"));
    // Caps and 评价标准 start as the earlier batch's.
    let caps = shenbao::store::recommendations::caps(&app.state.db, "batch-2022-1")
        .await
        .unwrap();
    assert_eq!(caps.get("420100"), Some(&5));
    let s = shenbao::store::review::settings(&app.state.db, "batch-2022-1")
        .await
        .unwrap()
        .expect("review settings");
    assert_eq!(s.criteria.criteria.len(), 5);

    // Published at once, with its own number and text.
    let mut anon = app.client();
    let n = anon.get("/tongzhi/batch-2022-1").await;
    assert_eq!(n.status, StatusCode::OK);
    assert!(n.body.contains("鄂经信办函〔2022〕12号"), "{}", n.body);
    assert!(
        n.body
            .contains("现将第三批湖北省上云标杆企业申报工作有关事项通知如下")
    );

    // 2022-08-05: the new batch is the one enterprises apply to, with its
    // own years (finance 2019–2021, audit reports 2020 and 2021).
    app.clock.advance(329 * 24 * 3600 * 1000);
    let mut e = app.login("qiye1", DEMO_PASSWORD).await;
    let id = crate::apply::start(&mut e).await;
    let a = shenbao::store::applications::by_id(&app.state.db, &id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(a.batch_id, "batch-2022-1");
    assert!(a.number.starts_with("2022-4201-"), "{}", a.number);
    let form = e.get(&format!("/apply/{id}")).await;
    assert!(form.body.contains("name=\"finance.2021.revenue\""));
    assert!(!form.body.contains("name=\"finance.2018.revenue\""));
    let def = app
        .state
        .programs
        .of(&app.state.db, "batch-2022-1")
        .await
        .unwrap();
    let answers = sample_answers_for(1, app.state.today(), 2022);
    crate::apply::fill_in(&mut e, &id, &def.form, &answers, &[]).await;
    crate::apply::upload_required_for(&mut e, &id, 2022).await;
    let r = submit(&mut e, &id).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);

    // The 2021 application reads as it was: its form of 2018–2020.
    let mut old_ent = app.login("qiye2", DEMO_PASSWORD).await;
    let page = old_ent.get(&format!("/apply/{old}")).await;
    assert!(page.body.contains("2018年"), "{}", page.body);

    // A restarted server (a fresh registry) reads the stored definition.
    let fresh = shenbao::web::shared::programs::Programs::new(std::sync::Arc::new(
        ProgramDef::builtin().clone(),
    ));
    let d = fresh.of(&app.state.db, "batch-2022-1").await.unwrap();
    assert_eq!(d.program.batch.doc_number, "鄂经信办函〔2022〕12号");
    assert_eq!(d.program.batch.quota, 40);
    let d = fresh.of(&app.state.db, BATCH).await.unwrap();
    assert_eq!(d.program.batch.doc_number, "鄂经信办函〔2021〕75号");
}
