//! The province's review walked in Chromium: the province imports the pool
//! from .xlsx and sets the review up, draws; two experts sign the pledge,
//! score and submit; the panel leader signs an opinion off; the province
//! shortlists with a reason and locks.

use crate::harness::{Browser, DEMO_PASSWORD, TestApp};

const POOL: [[&str; 8]; 3] = [
    [
        "王芳",
        "华中科技大学",
        "教授",
        "工业互联网",
        "宜昌市",
        "13900000002",
        "wf@example.com",
        "",
    ],
    [
        "赵强",
        "湖北工业大学",
        "副教授",
        "智能制造",
        "襄阳市",
        "13900000003",
        "zq@example.com",
        "",
    ],
    [
        "李华",
        "长江大学",
        "教授",
        "云计算",
        "荆州市",
        "13900000001",
        "lh@example.com",
        "",
    ],
];

fn pool_xlsx(dir: &std::path::Path) -> std::path::PathBuf {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    for (c, h) in shenbao::services::review::IMPORT_COLUMNS.iter().enumerate() {
        ws.write_string(0, c as u16, h.1).expect("cell");
    }
    for (r, row) in POOL.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            ws.write_string(r as u32 + 1, c as u16, *v).expect("cell");
        }
    }
    let path = dir.join("专家名单.xlsx");
    wb.save(&path).expect("xlsx");
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn province_draws_experts_score_panel_signs_province_locks_the_shortlist() {
    let app = TestApp::spawn_demo().await;
    let clock = shenbao::clock::Clock::system();
    shenbao::demo::stages::cities(
        &app.state.db,
        &app.state.files,
        &clock,
        DEMO_PASSWORD,
        &["421000"],
        None,
    )
    .await
    .expect("demo cities");
    let dir = tempfile::tempdir().expect("dir");
    let sheet = pool_xlsx(dir.path());
    let b = Browser::open(
        &app,
        "province_draws_experts_score_panel_signs_province_locks_the_shortlist",
    )
    .await;

    // The pool, imported.
    b.login("province", DEMO_PASSWORD).await;
    b.click("专家库").await;
    assert_eq!(b.heading().await, "专家库");
    let input = b.control("专家名单文件").await;
    input
        .send_keys(&sheet.display().to_string())
        .await
        .expect("choose file");
    b.click("导入").await;
    b.wait_for_text("已添加 3 名专家").await;
    b.screenshot_step("01-pool-imported").await;
    // The test logs the experts in with the demo password instead of their temporary ones.
    app.state
        .db
        .write(shenbao::store::Batch::one(
            "UPDATE users SET must_change_password = 0, password_hash = \
             (SELECT password_hash FROM users WHERE username = 'province') WHERE username LIKE 'zj%'",
            vec![],
        ))
        .await
        .expect("passwords");

    // Settings: two experts per application, 王芳 leads the panel.
    b.click("专家评审").await;
    assert_eq!(b.heading().await, "专家评审");
    b.fill("每项申报的评审专家人数", "2").await;
    b.select("评审组组长（填写专家组意见）", "王芳（华中科技大学）")
        .await;
    b.click("保存评审设置").await;
    b.wait_for_text("评审设置已保存").await;
    b.click_and_confirm("随机抽取", "随机抽取将立即生成评审任务")
        .await;
    b.wait_for_text("已完成随机抽取，随机种子").await;
    b.screenshot_step("02-drawn").await;
    let apps = under_review(&app).await;
    assert!(!apps.is_empty());
    b.click("退出登录").await;

    // Both experts outside 荆州 (李华 is same-city): pledge, score, submit.
    for (who, base) in [("zj13900000002", 12), ("zj13900000003", 14)] {
        b.login(who, DEMO_PASSWORD).await;
        b.click("评审任务").await;
        b.check("本人已阅读并承诺遵守以上内容").await;
        b.click("签署承诺并查看评审材料").await;
        b.wait_for_text("已签署保密与回避承诺").await;
        for (i, (_, name)) in apps.iter().enumerate() {
            b.click("评审任务").await;
            b.click(name).await;
            b.wait_for_text("按评价标准逐项打分").await;
            let c3 = (base + i as i32 * 3).to_string();
            for (label, v) in [
                ("上云投入与信息化基础", "16"),
                ("上云应用深度", "20"),
                ("上云成效", c3.as_str()),
                ("可复制推广与示范作用", "12"),
                ("行业和区域代表性", "11"),
            ] {
                b.fill(label, v).await;
            }
            b.fill("评审意见", "上云投入持续，成效有量化数据支撑。")
                .await;
            if i == 0 && who.ends_with('2') {
                b.screenshot_step("03-expert-scores").await;
            }
            b.click_and_confirm("提交评分", "提交后评分锁定").await;
            b.wait_for_text("评分已提交").await;
        }
        b.click("退出登录").await;
    }

    // The leader signs the panel's opinion on the first application off.
    b.login("zj13900000002", DEMO_PASSWORD).await;
    b.click("评审任务").await;
    b.click("专家组意见（组长）").await;
    let first = &apps[0].1;
    b.click(&format!("填写意见：{first}")).await;
    b.fill("专家组意见", "该企业上云应用深入，成效明显，同意推荐。")
        .await;
    b.choose("评审结论", "推荐").await;
    b.click_and_confirm("签署确认", "签署确认后专家组意见锁定")
        .await;
    b.wait_for_text("专家组意见已签署确认并锁定").await;
    b.screenshot_step("04-panel-signed").await;
    b.click("退出登录").await;

    // The province shortlists the last-ranked with a reason, and locks.
    b.login("province", DEMO_PASSWORD).await;
    b.click("专家评审").await;
    b.click("评审结果与入围名单").await;
    b.wait_for_text("去掉一个最高分和一个最低分").await;
    let last = &apps[0].1;
    b.check(&format!("入围：{last}")).await;
    b.fill(&format!("入围理由：{last}"), "行业代表性突出").await;
    b.screenshot_step("05-results").await;
    b.click_and_confirm("锁定入围名单", "锁定后入围名单不能修改")
        .await;
    b.wait_for_text("入围名单已锁定").await;
    b.screenshot_step("06-locked").await;
    let state = app
        .state
        .db
        .query(
            "SELECT state FROM applications WHERE id = $1",
            vec![apps[0].0.clone().into()],
        )
        .await
        .expect("q")[0]
        .text(0);
    assert_eq!(state, "shortlisted");
    b.close().await;
}

/// The applications now under review, by id (the experts see them by name).
async fn under_review(app: &TestApp) -> Vec<(String, String)> {
    app.state
        .db
        .query(
            "SELECT id, enterprise_name FROM applications WHERE state = 'under_review' ORDER BY id",
            vec![],
        )
        .await
        .expect("query")
        .iter()
        .map(|r| (r.text(0), r.text(1)))
        .collect()
}
