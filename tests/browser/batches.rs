//! Issue #21 items 9 and 11 in the browser: a stamped scan older than the
//! answers is flagged at submission, and the province creates the next
//! batch in the browser, which then takes an application with its own form.

use serde_json::json;

use crate::apply::{let_autosave_settle, pdf, register, start_application};
use crate::harness::{Browser, DEMO_PASSWORD, TestApp};
use shenbao::domain::form::{ProgramDef, sample_answers_on};
use shenbao::web::form_io::pairs_from_answers;

/// Posts a complete sample as the whole form of the page open in `b`, the
/// way its 保存草稿 button does (same form, same token, same version),
/// keeping the registration's name, code and region; then reloads.
async fn post_sample(b: &Browser, app: &TestApp, seed: u64) {
    let form = &ProgramDef::builtin().form;
    let answers = sample_answers_on(seed, app.state.today());
    let pairs: Vec<(String, String)> = pairs_from_answers(form, &answers)
        .into_iter()
        .filter(|(k, _)| {
            !matches!(k.as_str(), "company_name" | "credit_code") && !k.starts_with("region.")
        })
        .collect();
    let script = "const form = document.querySelector('form.app-form');\
                  const body = new URLSearchParams(new FormData(form));\
                  const pairs = arguments[0];\
                  for (const [k] of pairs) body.delete(k);\
                  for (const [k, v] of pairs) body.append(k, v);\
                  return fetch(form.action, {method: 'POST', body, credentials: 'same-origin', redirect: 'manual'})\
                    .then(r => r.type === 'opaqueredirect' ? 303 : r.status);";
    let status = b
        .client
        .execute(script, vec![json!(pairs)])
        .await
        .expect("posting the form");
    assert_eq!(status, json!(303), "the sample was not saved");
    let path = b.path().await;
    b.goto(&path).await;
}

/// Item 9: the 盖章扫描件 is uploaded, then 详细地址 changes; the submit page
/// says the scan is older than the answers and names the change, and the
/// submission goes only with the explicit confirmation, which is recorded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stamped_scan_older_than_the_answers_is_flagged_and_confirmed_at_submission() {
    let app = TestApp::spawn_while_open().await;
    let b = Browser::open(
        &app,
        "a_stamped_scan_older_than_the_answers_is_flagged_and_confirmed_at_submission",
    )
    .await;
    register(&b).await;
    let form_path = start_application(&b).await;
    post_sample(&b, &app, 3).await;
    let files = tempfile::tempdir().expect("temp dir");
    for (heading, name) in [
        ("企业营业执照复印件", "营业执照.pdf"),
        ("审计报告复印件（2019年度）", "2019年度审计报告.pdf"),
        ("审计报告复印件（2020年度）", "2020年度审计报告.pdf"),
        ("“上云”相关项目证明材料", "上云合同及发票.pdf"),
        ("荣誉证明文件复印件", "荣誉证书.pdf"),
        ("盖章扫描件", "申报书盖章扫描件.pdf"),
    ] {
        b.upload(heading, &pdf(files.path(), name)).await;
    }
    // A minute later the address is corrected, after the scan was made.
    app.state.clock.advance(60_000);
    b.goto(&form_path).await;
    b.fill("详细地址", "武汉市东湖新技术开发区光谷大道77号")
        .await;
    let_autosave_settle(&b).await;
    b.click("保存草稿").await;
    b.wait_for_text("草稿已保存").await;

    b.goto(&format!("{form_path}/submit")).await;
    b.wait_for_text("盖章扫描件与当前内容不一致").await;
    let text = b.text().await;
    assert!(text.contains("详细地址"), "{text}");
    b.screenshot_step("stale-scan").await;
    // The usual confirmation alone is not enough.
    b.check("我已核对申报书全部内容和附件，确认提交。").await;
    b.click_and_confirm("确认提交", "确定提交申报书吗？提交后不能修改。")
        .await;
    b.wait_for_text("盖章扫描件是按较早的内容打印的").await;
    assert!(b.path().await.starts_with(&form_path));
    b.check("我知悉扫描件早于上述修改，确认以当前内容为准提交。")
        .await;
    b.check("我已核对申报书全部内容和附件，确认提交。").await;
    b.click_and_confirm("确认提交", "确定提交申报书吗？提交后不能修改。")
        .await;
    b.wait_for_text("已提交").await;
    let id = form_path.trim_start_matches("/apply/");
    let rows = app
        .state
        .db
        .query(
            "SELECT state FROM applications WHERE id = $1",
            vec![id.into()],
        )
        .await
        .expect("query");
    assert_eq!(rows[0].text(0), "submitted");
    let recorded = app
        .state
        .db
        .query(
            "SELECT COUNT(*) FROM audit_log WHERE target = $1 AND detail LIKE '%确认以当前内容为准提交%'",
            vec![id.into()],
        )
        .await
        .expect("query")[0]
        .int(0);
    assert_eq!(recorded, 1, "the confirmation is not in the trail");
    b.close().await;
}

/// Item 11: the province copies the 2021 batch as 第三批 (reference year
/// 2022) in the browser; it opens at once, and an enterprise's new
/// application is in it, with the finance years 2019–2021.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_province_creates_the_next_batch_in_the_browser_and_it_takes_an_application() {
    // 2021-09-10 10:00, with the demo accounts.
    let app = TestApp::spawn_demo_at(1_631_239_200_000).await;
    let b = Browser::open(
        &app,
        "the_province_creates_the_next_batch_in_the_browser_and_it_takes_an_application",
    )
    .await;
    b.login("province", DEMO_PASSWORD).await;
    b.goto("/province/batches").await;
    b.click("新建批次").await;
    assert_eq!(b.heading().await, "新建申报批次");
    b.fill("批次名称", "第三批湖北省上云标杆企业").await;
    b.fill("通知文号", "鄂经信办函〔2022〕12号").await;
    b.fill(
        "通知标题",
        "省经信厅办公室关于组织申报第三批湖北省上云标杆企业的通知",
    )
    .await;
    b.set_value("f-notice_date", "2022-08-01").await;
    b.set_value("f-reference_date", "2022-08-01").await;
    b.fill("遴选名额", "40").await;
    b.set_value("f-opens_at", "2021-09-10T00:00").await;
    b.set_value("f-enterprise_deadline", "2021-10-15T17:00")
        .await;
    b.set_value("f-recommend_deadline", "2021-10-25T23:59")
        .await;
    b.screenshot_step("new-batch-form").await;
    b.click_and_confirm(
        "新建批次",
        "确定新建此批次吗？到开始申报时间，企业即可按新批次申报。",
    )
    .await;
    b.wait_for_text("新批次已建立").await;
    assert_eq!(b.path().await, "/province/batches/batch-2022-1?created=1");
    b.goto("/tongzhi/batch-2022-1").await;
    b.wait_for_text("鄂经信办函〔2022〕12号").await;

    b.client.delete_all_cookies().await.expect("log out");
    register(&b).await;
    assert!(b.text().await.contains("第三批湖北省上云标杆企业申报"));
    b.click("填写 / 查看申报书").await;
    for d in [
        "独立法人",
        "工业企业",
        "信用良好且无违法记录",
        "近两年上云持续投入",
        "同意公开发布典型案例",
    ] {
        b.check(d).await;
    }
    b.click("确认并开始填写申报书").await;
    assert_eq!(b.heading().await, "第三批湖北省上云标杆企业申报书");
    let text = b.text().await;
    assert!(text.contains("2021年"), "{text}");
    assert!(!text.contains("2018年"), "{text}");
    b.fill("主要产品/服务", "工业互联网平台服务").await;
    let_autosave_settle(&b).await;
    b.click("保存草稿").await;
    b.wait_for_text("草稿已保存").await;
    b.screenshot_step("form-of-the-new-batch").await;
    let rows = app
        .state
        .db
        .query(
            "SELECT batch_id, number FROM applications WHERE enterprise_name = $1",
            vec![crate::COMPANY.into()],
        )
        .await
        .expect("query");
    assert_eq!(rows[0].text(0), "batch-2022-1");
    b.close().await;
}
