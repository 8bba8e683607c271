//! 企业更名 (#20 finding 7): the 申报书's 企业名称 is bound to the registered
//! name; a renamed enterprise asks its city with the new 营业执照, and only
//! the city's approval renames it.

use axum::http::StatusCode;

use crate::apply::{PDF, fill_with, input_value, start};
use crate::helpers::{DEMO_PASSWORD, spawn};

async fn registered_name(app: &crate::helpers::TestApp, who: &str) -> String {
    app.state
        .db
        .query(
            "SELECT e.name FROM enterprises e JOIN users u ON u.id = e.user_id WHERE u.username = $1",
            vec![who.into()],
        )
        .await
        .unwrap()[0]
        .text(0)
}

#[tokio::test]
async fn a_new_name_takes_effect_only_when_the_enterprises_city_approves() {
    let app = spawn().await;
    app.seed_demo().await;
    let old = registered_name(&app, "qiye1").await;
    let mut e = app.login("qiye1", DEMO_PASSWORD).await;
    let id = start(&mut e).await;
    let new = "武汉云帆数字科技有限公司";

    // The form still refuses a name other than the registered one.
    let page = e.get("/apply/name-change").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains(&old));
    // Refused at its fields: no file, the same name.
    let r = e
        .post_multipart("/apply/name-change", &[("new_name", &old)], None)
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("与现在登记的企业名称相同"), "{}", r.body);
    assert!(r.body.contains("请上传变更后的营业执照"), "{}", r.body);
    let r = e
        .post_multipart(
            "/apply/name-change",
            &[("new_name", new), ("reason", "2021年8月工商变更")],
            Some(("license", "新营业执照.pdf", PDF)),
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(app.audit_count("name_change.request").await, 1);
    // One open request at a time; the name is unchanged until decided.
    let page = e.get("/apply/name-change").await;
    assert!(page.body.contains("待市州审核"));
    assert!(!page.body.contains("提交更名申请</button>"));
    assert_eq!(registered_name(&app, "qiye1").await, old);

    // Another city sees nothing of it and cannot decide it.
    let request_id = app
        .state
        .db
        .query("SELECT id FROM name_changes", Vec::new())
        .await
        .unwrap()[0]
        .text(0);
    let mut yichang = app.login("yichang", DEMO_PASSWORD).await;
    let list = yichang.get("/city/name-changes").await;
    assert!(!list.body.contains(new));
    let r = yichang
        .post(
            &format!("/city/name-changes/{request_id}"),
            &[("action", "approve"), ("decision", "")],
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = yichang
        .get(&format!("/city/name-changes/{request_id}/license"))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(registered_name(&app, "qiye1").await, old);

    // 武汉 sees it with the license, and approves.
    let mut wuhan = app.login("wuhan", DEMO_PASSWORD).await;
    let list = wuhan.get("/city/name-changes").await;
    assert!(list.body.contains(new) && list.body.contains("新营业执照.pdf"));
    let lic = wuhan
        .get(&format!("/city/name-changes/{request_id}/license"))
        .await;
    assert_eq!(lic.status, StatusCode::OK);
    assert_eq!(lic.headers["content-type"], "application/pdf");
    let r = wuhan
        .post(
            &format!("/city/name-changes/{request_id}"),
            &[("action", "approve"), ("decision", "")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(registered_name(&app, "qiye1").await, new);
    assert_eq!(app.audit_count("name_change.decide").await, 1);
    // Decided once only.
    let r = wuhan
        .post(
            &format!("/city/name-changes/{request_id}"),
            &[("action", "reject"), ("decision", "重复")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("此申请已审核"));

    // The draft now takes the new name, and refuses the old one.
    let a = shenbao::store::applications::by_id(&app.state.db, &id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(a.enterprise_name, new);
    fill_with(&app, &mut e, &id, 3, &[("company_name", new)]).await;
    let page = e.get(&format!("/apply/{id}?check=1")).await;
    assert_eq!(input_value(&page.body, "company_name"), new);
    assert!(!page.body.contains("应与注册的企业名称"), "{}", page.body);

    // Submitted, the city sees the rename with its 营业执照 at screening.
    crate::apply::upload_required(&mut e, &id).await;
    let r = crate::apply::submit(&mut e, &id).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let mut wuhan = app.login("wuhan", DEMO_PASSWORD).await;
    let page = wuhan.get(&format!("/city/applications/{id}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("查看变更后的营业执照"), "{}", page.body);
}

#[tokio::test]
async fn a_refused_name_change_says_why_and_changes_nothing() {
    let app = spawn().await;
    app.seed_demo().await;
    let old = registered_name(&app, "qiye1").await;
    let mut e = app.login("qiye1", DEMO_PASSWORD).await;
    e.get("/apply/name-change").await;
    let r = e
        .post_multipart(
            "/apply/name-change",
            &[("new_name", "华为技术有限公司")],
            Some(("license", "执照.pdf", PDF)),
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let request_id = app
        .state
        .db
        .query("SELECT id FROM name_changes", Vec::new())
        .await
        .unwrap()[0]
        .text(0);
    let mut wuhan = app.login("wuhan", DEMO_PASSWORD).await;
    // A refusal needs its reason.
    let r = wuhan
        .post(
            &format!("/city/name-changes/{request_id}"),
            &[("action", "reject"), ("decision", "")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("不同意时请写明理由"));
    let r = wuhan
        .post(
            &format!("/city/name-changes/{request_id}"),
            &[
                ("action", "reject"),
                ("decision", "营业执照上的统一社会信用代码与本企业不符"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(registered_name(&app, "qiye1").await, old);
    let page = e.get("/apply/name-change").await;
    assert!(page.body.contains("未同意"));
    assert!(
        page.body
            .contains("营业执照上的统一社会信用代码与本企业不符")
    );
    // It may ask again.
    assert!(page.body.contains("提交更名申请</button>"));
}
