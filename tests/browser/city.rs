//! A city bureau's day in the browser: it screens one application and
//! passes it, returns another with a reason, scores the passed one, puts it
//! on the recommendation with a reason and an opinion, uploads the stamped
//! files and submits to the province.

use std::path::{Path, PathBuf};

use crate::harness::{Browser, DEMO_PASSWORD, TestApp};
use shenbao::demo::{DemoState, seed_applications};

const PDF: &[u8] = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n";

fn pdf(dir: &Path, name: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, PDF).expect("write pdf");
    p
}

/// Two submitted sample applications in 武汉, made in the store: (id, name).
async fn two_in_wuhan(app: &TestApp) -> Vec<(String, String)> {
    let mut n = 0;
    loop {
        n += 20;
        seed_applications(
            &app.state.db,
            &app.state.files,
            &app.state.clock,
            DEMO_PASSWORD,
            n,
            "cityb",
            DemoState::Submitted,
        )
        .await
        .expect("sample applications");
        let rows = app
            .state
            .db
            .query(
                "SELECT id, enterprise_name FROM applications WHERE city_code = '420100' \
                 AND state = 'submitted' ORDER BY enterprise_name",
                Vec::new(),
            )
            .await
            .expect("query");
        if rows.len() >= 2 {
            return rows
                .iter()
                .take(2)
                .map(|r| (r.text(0), r.text(1)))
                .collect();
        }
        assert!(n < 400, "no sample applications in 武汉");
    }
}

async fn state_of(app: &TestApp, id: &str) -> String {
    app.state
        .db
        .query(
            "SELECT state FROM applications WHERE id = $1",
            vec![id.into()],
        )
        .await
        .expect("query")[0]
        .text(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn city_screens_returns_scores_recommends_and_submits() {
    let app = TestApp::spawn_demo().await;
    let apps = two_in_wuhan(&app).await;
    let (pass_id, pass_name) = &apps[0];
    let (return_id, return_name) = &apps[1];
    let files = tempfile::tempdir().expect("temp dir");
    let b = Browser::open(&app, "city_screens_returns_scores_recommends_and_submits").await;

    b.login("wuhan", DEMO_PASSWORD).await;
    b.click("申报受理").await;
    assert_eq!(b.heading().await, "武汉市申报受理");
    b.wait_for_text(pass_name).await;
    b.wait_for_text(return_name).await;
    b.screenshot_step("01-inbox").await;

    // Screening: every item checked, passed.
    b.click(pass_name).await;
    assert_eq!(b.heading().await, *pass_name);
    b.wait_for_text("版本指纹（SHA-256）").await;
    for item in [
        "材料齐全",
        "营业执照有效",
        "近两年审计报告齐全",
        "盖章扫描件与在线版本一致",
        "符合申报要求",
    ] {
        b.check(item).await;
    }
    b.choose("审查结论", "通过").await;
    b.screenshot_step("02-screening").await;
    b.click_and_confirm("提交审查结论", "确定提交审查结论吗")
        .await;
    b.wait_for_text("形式审查已通过").await;
    assert_eq!(state_of(&app, pass_id).await, "city_passed");

    // The other goes back with a reason; the checklist is left as found.
    b.click("申报受理").await;
    b.click(return_name).await;
    b.choose("审查结论", "退回修改").await;
    b.fill(
        "原因或意见",
        "近两年审计报告缺少2020年度，请补充后重新提交。",
    )
    .await;
    b.click_and_confirm("提交审查结论", "确定提交审查结论吗")
        .await;
    b.wait_for_text("已退回企业修改").await;
    b.wait_for_text("近两年审计报告缺少2020年度").await;
    b.screenshot_step("03-returned").await;
    assert_eq!(state_of(&app, return_id).await, "returned");

    // Scoring the passed one on the province's default sheet.
    b.click("申报受理").await;
    b.click(pass_name).await;
    b.click("评分").await;
    for (label, score) in [
        ("上云投入与信息化基础", "18"),
        ("上云应用深度", "22"),
        ("上云成效", "21.5"),
        ("可复制推广性", "13"),
        ("行业和区域代表性", "12"),
    ] {
        b.fill(label, score).await;
    }
    b.fill("评语", "上云投入持续，成效可量化。").await;
    b.click("保存评分").await;
    b.wait_for_text("评分已保存").await;
    b.wait_for_text("您的总分：86.5").await;

    // Ranking, then onto the recommendation.
    b.click("评审排名").await;
    b.wait_for_text("86.5").await;
    b.screenshot_step("04-ranking").await;
    b.click("加入推荐").await;
    assert_eq!(b.heading().await, "武汉市推荐报送");
    b.wait_for_text("已加入推荐名单").await;
    b.fill(
        &format!("推荐理由（{pass_name}）"),
        "上云投入持续，示范带动作用明显。",
    )
    .await;
    b.fill(
        &format!("审核意见（{pass_name}）"),
        "经审核，该企业申报材料齐全、真实有效，同意推荐。",
    )
    .await;
    b.click("保存排序与意见").await;
    b.wait_for_text("推荐排序、推荐理由和审核意见已保存").await;
    b.upload("盖章推荐文件", &pdf(files.path(), "推荐文件.pdf"))
        .await;
    b.wait_for_text("文件已上传").await;
    b.upload("盖章推荐表扫描件", &pdf(files.path(), "推荐表.pdf"))
        .await;
    b.wait_for_text("推荐表.pdf").await;
    b.screenshot_step("05-recommendation").await;
    b.check("我已核对推荐名单").await;
    b.click_and_confirm("报送推荐", "确定将推荐名单报送省经信厅吗")
        .await;
    b.wait_for_text("推荐已报送省经信厅").await;
    b.wait_for_text("已锁定").await;
    b.screenshot().await;

    assert_eq!(state_of(&app, pass_id).await, "recommended");
    assert_eq!(state_of(&app, return_id).await, "returned");
    let rec = app
        .state
        .db
        .query(
            "SELECT status FROM recommendations WHERE city_code = '420100'",
            Vec::new(),
        )
        .await
        .expect("query");
    assert_eq!(rec[0].text(0), "submitted");
    b.close().await;
}
