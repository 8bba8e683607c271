//! Publication walked in Chromium: the province opens the 公示, a visitor
//! objects with evidence, the city verifies, the province decides, and after
//! the period the final list is published; a winner's case is approved and
//! appears in the gallery. Public pages pass an automated accessibility check.

use crate::harness::{Browser, DEMO_PASSWORD, TestApp};

/// 2021-09-10 10:00 Asia/Shanghai, while the built-in batch is open.
const SEPT_10: i64 = 1_631_239_200_000;
/// 2021-09-28 10:00, the first day of the 公示.
const SEPT_28_10H: i64 = 1_632_794_400_000;
/// 2021-10-11 10:00, after its last day (2021-10-09, a 调休 Saturday).
const OCT_11_10H: i64 = 1_633_917_600_000;
const BATCH: &str = "hubei-cloud-benchmark-2021";

/// Three sample 武汉 applications on a locked shortlist (the review that
/// leads there has its own walk).
async fn shortlisted(app: &TestApp) -> Vec<(String, String)> {
    shenbao::demo::seed_applications(
        &app.state.db,
        &app.state.files,
        &app.state.clock,
        DEMO_PASSWORD,
        40,
        "pub",
        shenbao::demo::DemoState::Submitted,
    )
    .await
    .expect("seed");
    let rows = app
        .state
        .db
        .query(
            "SELECT id, enterprise_name FROM applications WHERE batch_id = $1 ORDER BY id LIMIT 3",
            vec![BATCH.into()],
        )
        .await
        .expect("q");
    let mut b = shenbao::store::Batch::new();
    b.push(
        "INSERT INTO shortlists (batch_id, locked_at, locked_by, rule, updated_at) VALUES ($1, $2, 'test', '', $2)",
        vec![BATCH.into(), SEPT_10.into()],
    );
    for (i, r) in rows.iter().enumerate() {
        b.push(
            "UPDATE applications SET state = 'shortlisted' WHERE id = $1",
            vec![r.text(0).into()],
        );
        b.push(
            "INSERT INTO shortlist_items (batch_id, application_id, rank, final_h, reason) VALUES ($1, $2, $3, 8000, '')",
            vec![BATCH.into(), r.text(0).into(), (i as i64 + 1).into()],
        );
    }
    app.state.db.write(b).await.expect("setup");
    rows.iter().map(|r| (r.text(0), r.text(1))).collect()
}

fn set_clock(app: &TestApp, at: i64) {
    let now = app.state.clock.now();
    app.state.clock.advance(at - now);
}

async fn city_of(app: &TestApp, id: &str) -> String {
    let code = app
        .state
        .db
        .query(
            "SELECT city_code FROM applications WHERE id = $1",
            vec![id.into()],
        )
        .await
        .expect("q")[0]
        .text(0);
    shenbao::domain::region::city(&code)
        .expect("city")
        .pinyin
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn province_opens_the_publicity_a_visitor_objects_city_verifies_province_decides_and_publishes_a_case()
 {
    let app = TestApp::spawn_demo_at(SEPT_10).await;
    let apps = shortlisted(&app).await;
    let (target_id, target) = apps[0].clone();
    let dir = tempfile::tempdir().expect("dir");
    let evidence = dir.path().join("证据.pdf");
    std::fs::write(
        &evidence,
        b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n",
    )
    .expect("pdf");
    let b = Browser::open(
        &app,
        "province_opens_the_publicity_a_visitor_objects_city_verifies_province_decides_and_publishes_a_case",
    )
    .await;

    // The province opens five working days from 2021-09-28.
    b.login("province", DEMO_PASSWORD).await;
    // The demo batch (dates around the clock) is open too: go to the 2021 one.
    b.goto(&format!("/province/publication?batch={BATCH}"))
        .await;
    assert_eq!(b.heading().await, "公示与公告");
    b.set_value("f-start", "2021-09-28").await;
    b.click("重新计算公示期").await;
    b.wait_for_text("公示期：2021-09-28 至 2021-10-09").await;
    b.screenshot_step("01-period").await;
    b.click_and_confirm("发布公示", "发布后公示页面立即公开")
        .await;
    b.wait_for_text("公示已发布").await;
    b.click("退出登录").await;

    // A visitor reads the 公示 and objects with evidence on its first day.
    set_clock(&app, SEPT_28_10H);
    b.goto(&format!("/gongshi/{BATCH}")).await;
    b.wait_for_text(&target).await;
    let problems = b.accessibility_problems().await;
    assert!(problems.is_empty(), "公示 page: {problems:?}");
    b.screenshot_step("02-publicity").await;
    b.click("在线提出异议").await;
    b.select("被异议企业", &target).await;
    b.fill("姓名", "张伟").await;
    b.fill("工作单位", "武汉某某科技有限公司").await;
    b.fill("联系电话", "13812345678").await;
    b.fill("电子邮箱", "zhangwei@example.com").await;
    b.fill(
        "事实和理由",
        "该企业申报书所列上云投入与其审计报告不符，2020年度并无相关支出记录。",
    )
    .await;
    b.control("证明材料")
        .await
        .send_keys(&evidence.display().to_string())
        .await
        .expect("evidence");
    let problems = b.accessibility_problems().await;
    assert!(problems.is_empty(), "objection form: {problems:?}");
    b.click("提交异议").await;
    b.wait_for_text("您的查询码").await;
    b.screenshot_step("03-receipt").await;
    let text = b.text().await;
    let receipt = text
        .split_once("您的查询码：")
        .and_then(|(_, r)| r.split_whitespace().next())
        .expect("receipt")
        .to_string();

    // The province asks the city to verify.
    b.login("province", DEMO_PASSWORD).await;
    b.goto(&format!("/province/publication?batch={BATCH}"))
        .await;
    b.click("已受理").await;
    b.wait_for_text("张伟").await;
    b.fill("核查事项", "请核实该企业2020年度上云投入及合同发票。")
        .await;
    b.set_value("f-deadline", "2021-09-30T17:00").await;
    b.click("交市州核查").await;
    b.wait_for_text("市州核查中").await;
    b.click("退出登录").await;

    // The city verifies, without learning who objected.
    b.login(&city_of(&app, &target_id).await, DEMO_PASSWORD)
        .await;
    b.click("异议核查").await;
    b.click(&target).await;
    let page = b.text().await;
    assert!(!page.contains("张伟") && !page.contains("13812345678"));
    b.fill(
        "核查情况",
        "经核查，该企业2020年度上云投入有合同和发票为证，异议所述不属实。",
    )
    .await;
    b.click_and_confirm("提交核查情况", "提交后核查情况报省经信厅")
        .await;
    b.wait_for_text("市州已核查").await;
    b.screenshot_step("04-city-verified").await;
    b.click("退出登录").await;

    // The province decides: not upheld, kept.
    b.login("province", DEMO_PASSWORD).await;
    b.goto(&format!("/province/publication?batch={BATCH}"))
        .await;
    b.click("市州已核查").await;
    b.choose("异议是否成立", "不成立").await;
    b.choose("对该企业", "维持入选").await;
    b.fill("处理理由", "经市州核查，异议所述与事实不符，不予采纳。")
        .await;
    b.click_and_confirm("提交处理决定", "处理决定提交后异议办结")
        .await;
    b.wait_for_text("异议不成立，维持入选").await;
    b.click("退出登录").await;

    // The objector follows it by the receipt number.
    b.goto(&format!("/gongshi/query?receipt={receipt}")).await;
    b.wait_for_text("异议不成立，维持入选").await;

    // After the period the final list is published.
    set_clock(&app, OCT_11_10H);
    b.login("province", DEMO_PASSWORD).await;
    b.goto(&format!("/province/publication?batch={BATCH}"))
        .await;
    b.fill("公告文号", "鄂经信办函〔2021〕90号").await;
    b.click_and_confirm("公布最终名单", "公布后名单不可更改")
        .await;
    b.wait_for_text("最终名单已公布").await;
    b.click("退出登录").await;
    b.goto(&format!("/gonggao/{BATCH}")).await;
    b.wait_for_text("鄂经信办函〔2021〕90号").await;
    for (_, name) in &apps {
        b.wait_for_text(name).await;
    }
    let problems = b.accessibility_problems().await;
    assert!(problems.is_empty(), "公告 page: {problems:?}");
    b.screenshot_step("05-final").await;

    // The winner writes its case (prefilled from its 申报书) and submits it.
    let owner = app
        .state
        .db
        .query(
            "SELECT u.username FROM users u JOIN applications a ON a.enterprise_id = u.id WHERE a.id = $1",
            vec![target_id.clone().into()],
        )
        .await
        .expect("q")[0]
        .text(0);
    b.login(&owner, DEMO_PASSWORD).await;
    b.wait_for_text("贵单位已入选").await;
    b.click("撰写典型案例").await;
    b.wait_for_text("一、项目建设内容").await;
    b.fill("案例标题", "仙桃九州设备上云典型案例").await;
    b.click_and_confirm("提交审定", "提交后由省经信厅审定")
        .await;
    b.wait_for_text("案例已提交").await;
    b.click("退出登录").await;

    // The province approves it; it appears in the public gallery.
    b.login("province", DEMO_PASSWORD).await;
    b.goto("/province/cases").await;
    b.click("仙桃九州设备上云典型案例").await;
    b.click_and_confirm("审定发布", "审定后案例在本平台公开")
        .await;
    b.wait_for_text("已审定发布").await;
    b.click("退出登录").await;
    b.goto("/anli").await;
    b.wait_for_text("仙桃九州设备上云典型案例").await;
    let problems = b.accessibility_problems().await;
    assert!(problems.is_empty(), "gallery: {problems:?}");
    b.click("仙桃九州设备上云典型案例").await;
    b.wait_for_text("一、项目建设内容").await;
    b.screenshot_step("06-case").await;
    b.close().await;
}
