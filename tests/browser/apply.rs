//! A new enterprise fills the whole 申报书 in the browser, field by field,
//! fixes what the server points out, uploads the required attachments and
//! submits; and the draft saves itself while the enterprise types.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use fantoccini::Locator;
use serde_json::json;

use crate::harness::{Browser, TestApp};
use crate::{COMPANY, GOOD_CODE};
use shenbao::domain::form::{ProgramDef, sample_answers_on};
use shenbao::web::form_io::pairs_from_answers;

const PDF: &[u8] = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n";

/// Texts longer than this are pasted (set by script) rather than typed.
const TYPE_AT_MOST: usize = 300;

/// Registers the enterprise at /register and lands on its dashboard.
pub(crate) async fn register(b: &Browser) {
    crate::fill_registration(b, GOOD_CODE).await;
    assert_eq!(b.path().await, "/dashboard?welcome=1");
    assert_eq!(b.heading().await, "我的申报");
}

/// From the dashboard: confirms the five 申报条件 and opens the new draft.
pub(crate) async fn start_application(b: &Browser) -> String {
    b.click("填写 / 查看申报书").await;
    assert_eq!(b.path().await, "/apply");
    for d in [
        "独立法人",
        "工业企业",
        "信用良好且无违法记录",
        "近两年上云持续投入",
        "同意公开发布典型案例",
    ] {
        b.check(d).await;
    }
    b.screenshot_step("01-declarations").await;
    b.click("确认并开始填写申报书").await;
    let path = b.path().await;
    assert!(path.starts_with("/apply/"), "{path}");
    assert_eq!(b.heading().await, "第二批湖北省上云标杆企业申报书");
    path
}

/// Scrolls `#id` to the top of the window and saves a screenshot.
async fn shot_at(b: &Browser, id: &str, step: &str) {
    b.client
        .execute(
            "document.getElementById(arguments[0]).scrollIntoView({block: 'start'})",
            vec![json!(id)],
        )
        .await
        .unwrap_or_else(|e| panic!("scrolling to #{id}: {e}"));
    b.screenshot_step(step).await;
}

/// Types `value` into the field labelled `label`, or pastes it when long.
async fn enter_text(b: &Browser, label: &str, id: &str, value: &str) {
    if value.chars().count() <= TYPE_AT_MOST {
        b.fill(label, value).await;
    } else {
        // Still found by its label: the label must point at this control.
        let el = b.control(label).await;
        assert_eq!(el.attr("id").await.expect("id").as_deref(), Some(id));
        b.set_value(id, value).await;
    }
}

/// The text of the first element matching `css`.
pub(crate) async fn text_of_css(b: &Browser, css: &str) -> String {
    b.client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .text()
        .await
        .expect("text")
}

/// Waits until no autosave is pending or in flight, so that a click on
/// 保存草稿 does not race it (the form autosaves 1–3 s after the last edit).
pub(crate) async fn let_autosave_settle(b: &Browser) {
    tokio::time::sleep(Duration::from_millis(3300)).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let busy = b
            .client
            .execute(
                "return document.querySelector('form.app-form').classList.contains('htmx-request')",
                vec![],
            )
            .await
            .expect("htmx state");
        if busy == json!(false) {
            return;
        }
        assert!(Instant::now() < deadline, "an autosave never finished");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Writes a small PDF named `name` into `dir`.
pub(crate) fn pdf(dir: &Path, name: &str) -> PathBuf {
    let file = dir.join(name);
    std::fs::write(&file, PDF).expect("write pdf");
    file
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_enterprise_registers_fills_every_section_fixes_an_error_uploads_and_submits() {
    let started = Instant::now();
    let app = TestApp::spawn_while_open().await;
    let b = Browser::open(
        &app,
        "new_enterprise_registers_fills_every_section_fixes_an_error_uploads_and_submits",
    )
    .await;
    let form = &ProgramDef::builtin().form;
    let answers = sample_answers_on(3, app.state.today());
    let pairs: HashMap<String, String> = pairs_from_answers(form, &answers).into_iter().collect();
    let a = |name: &str| -> String {
        pairs
            .get(name)
            .unwrap_or_else(|| panic!("the sample has no {name}"))
            .clone()
    };

    register(&b).await;
    let form_path = start_application(&b).await;
    // What registration already knew is filled in.
    assert_eq!(b.value("企业名称").await, COMPANY);
    assert_eq!(b.value("组织机构代码").await, GOOD_CODE);
    assert_eq!(b.value("移动电话").await, "13507162678");
    b.screenshot_step("02-new-draft").await;

    // ── 一、申请表: 企业基本信息
    b.choose("所属行业", "机械").await;
    b.set_value("f-founded", &a("founded")).await;
    b.choose("规上企业", "是").await;
    b.choose("是否设立独立的信息化部门", "是").await;
    b.fill("主要产品/服务", "数控机床功能部件、工业机器人减速器")
        .await;
    b.fill("详细地址", "武汉市武昌区和平大道 1108 号云帆产业园")
        .await;
    for year in ["2018", "2019", "2020"] {
        for (col, label) in [
            ("total_assets", "总资产（万元）"),
            ("debt_ratio", "资产负债率（%）"),
            ("revenue", "主营业务收入（万元）"),
            ("tax", "税金（万元）"),
            ("profit", "利润（万元）"),
            ("it_staff", "信息技术人员（人）"),
        ] {
            let value = a(&format!("finance.{year}.{col}"));
            b.fill(&format!("{year}年 {label}"), &value).await;
        }
    }
    shot_at(&b, "w-company_name", "03-basic-info").await;
    shot_at(&b, "w-finance", "04-finance").await;

    // 联系人信息
    b.fill("姓名", "李华").await;
    b.fill("职务", &a("contact_title")).await;
    b.fill("电子邮箱", "lihua@example.com").await;
    // A typing slip, caught by the server below.
    b.fill("移动电话", "12345").await;

    // 企业荣誉, row 1
    b.fill("第1行 奖项名称", &a("honours.0.name")).await;
    b.select("第1行 级别", &a("honours.0.level")).await;
    b.set_value("f-honours.0.date", &a("honours.0.date")).await;

    // 使用云服务类型: the platform row
    b.check("使用工业互联网平台服务").await;
    b.fill(
        "工业互联网平台服务 云服务名称",
        &a("cloud_services.platform.service_name"),
    )
    .await;
    b.fill(
        "工业互联网平台服务 云服务商名称",
        &a("cloud_services.platform.provider"),
    )
    .await;
    b.choose("工业互联网平台服务 是否资源池内服务商", "是")
        .await;
    shot_at(&b, "w-contact_name", "05-contact-honours-cloud").await;

    // 企业上云实现目标, costs, 成效描述
    for goal in ["生产工艺流程优化", "设备管理优化", "全流程质量优化"] {
        b.check(goal).await;
    }
    b.fill("近两年上云总费用", &a("cloud_spend")).await;
    b.fill("上云后节约成本", &a("cost_saving")).await;
    b.fill("节约成本所占比例", &a("cost_saving_ratio")).await;
    enter_text(
        &b,
        "上云过程成效描述",
        "f-effect_summary",
        &a("effect_summary"),
    )
    .await;

    // 申报单位承诺; the 申报条件声明 came ticked from the start page.
    for c in &ProgramDef::builtin().program.commitments {
        b.check(&c.text).await;
    }
    for d in &ProgramDef::builtin().program.declarations {
        let el = b.control(&d.text).await;
        assert!(el.is_selected().await.expect("selected"), "{}", d.key);
    }
    shot_at(&b, "w-cloud_goals", "06-goals-commitments").await;

    // ── 二、三、四: the long texts
    for (key, label) in [
        ("overview", "（一）申报单位概况"),
        ("technology", "（二）技术水平"),
        ("industry_advantage", "（三）行业优势"),
        ("construction", "（一）项目建设内容"),
        ("team", "（二）项目实施团队基本情况和任务分工情况"),
        ("investment", "（三）项目建设投入情况"),
        ("innovation", "（四）项目中克服的技术难点和主要创新点"),
        (
            "direct_effects",
            "（一）项目实施在上云服务内容等方面所取得的直接效果",
        ),
        ("demonstration", "（二）项目实施对行业的示范作用"),
    ] {
        enter_text(&b, label, &format!("f-{key}"), &a(key)).await;
    }
    assert!(a("construction").chars().count() >= 3000);
    shot_at(&b, "s-profile", "07-profile").await;
    shot_at(&b, "w-construction", "08-construction").await;

    // ── Saved with the slip: the message is at the field and in the summary.
    let_autosave_settle(&b).await;
    b.click("保存草稿").await;
    assert!(b.path().await.starts_with(&format!("{form_path}?saved=")));
    let error = b
        .field_error("移动电话")
        .await
        .expect("an error next to 移动电话");
    assert!(error.contains("请填写11位中国大陆手机号码"), "{error}");
    let summary = text_of_css(&b, "#error-summary").await;
    assert!(
        summary.contains("移动电话：请填写11位中国大陆手机号码"),
        "{summary}"
    );
    assert!(b.text().await.contains("草稿已保存"));
    // Everything else typed was kept.
    assert_eq!(b.value("移动电话").await, "12345");
    assert_eq!(b.value("企业名称").await, COMPANY);
    assert_eq!(
        b.value("主要产品/服务").await,
        "数控机床功能部件、工业机器人减速器"
    );
    assert_eq!(b.value("职务").await, a("contact_title"));
    assert_eq!(
        b.value("2020年 利润（万元）").await,
        a("finance.2020.profit")
    );
    assert_eq!(b.value("第1行 奖项名称").await, a("honours.0.name"));
    assert_eq!(b.value("（一）项目建设内容").await, a("construction"));
    assert_eq!(b.field_error("详细地址").await, None);
    b.screenshot_step("09-summary-at-top").await;
    shot_at(&b, "w-contact_name", "10-mobile-error-at-field").await;

    b.fill("移动电话", "13507162678").await;
    let_autosave_settle(&b).await;
    b.click("保存草稿").await;
    assert_eq!(b.field_error("移动电话").await, None);
    // What remains is the attachments, and nothing of the form itself.
    let links = b
        .client
        .find_all(Locator::Css("#error-summary a"))
        .await
        .expect("summary links");
    assert!(!links.is_empty(), "the attachments are still missing");
    for l in &links {
        let href = l.attr("href").await.expect("href").unwrap_or_default();
        let text = l.text().await.expect("link text");
        assert!(href.contains("#f-slot-"), "{text} ({href})");
    }
    b.screenshot_step("11-saved-only-attachments-missing").await;

    // ── 五、相关附件
    let files = tempfile::tempdir().expect("temp dir");
    let page = b.path().await;
    for (heading, name) in [
        ("企业营业执照复印件", "营业执照.pdf"),
        ("审计报告复印件（2019年度）", "2019年度审计报告.pdf"),
        ("审计报告复印件（2020年度）", "2020年度审计报告.pdf"),
        ("“上云”相关项目证明材料", "上云合同及发票.pdf"),
        ("荣誉证明文件复印件", "荣誉证书.pdf"),
        ("盖章扫描件", "申报书盖章扫描件.pdf"),
    ] {
        b.upload(heading, &pdf(files.path(), name)).await;
        // Sent by htmx: the page stays, the slot says so.
        assert_eq!(b.path().await, page);
        let said = b.slot_text(heading).await;
        assert!(said.contains(&format!("“{name}”已上传。")), "{said}");
        let listed = format!(
            "//*[contains(@class, 'slot')][h3[contains(., '{heading}')]]//ul[@class='files']"
        );
        let listed = b
            .client
            .find(Locator::XPath(&listed))
            .await
            .unwrap_or_else(|e| panic!("the files under {heading:?}: {e}"));
        let listed = listed.text().await.expect("file list");
        assert!(listed.contains(name), "{heading}: {listed}");
    }
    shot_at(&b, "attachments", "12-attachments").await;

    // ── 提交
    b.click("提交申报书").await;
    assert_eq!(b.path().await, format!("{form_path}/submit"));
    assert_eq!(b.heading().await, "提交申报书");
    b.wait_for_text("检查通过").await;
    b.check("我已核对申报书全部内容和附件，确认提交。").await;
    b.screenshot_step("13-submit").await;
    b.click_and_confirm("确认提交", "确定提交申报书吗？提交后不能修改。")
        .await;

    assert_eq!(b.path().await, format!("{form_path}?submitted=1"));
    let text = b.text().await;
    assert!(text.contains("已提交，待市州审核"), "{text}");
    let fingerprint = b
        .client
        .find(Locator::Css(".fingerprint code"))
        .await
        .expect("the fingerprint")
        .text()
        .await
        .expect("fingerprint text");
    assert_eq!(fingerprint.len(), 64, "{fingerprint}");
    assert!(
        fingerprint
            .chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()),
        "{fingerprint}"
    );
    assert!(
        text.contains(&format!("提交版本指纹：{fingerprint}")),
        "{text}"
    );
    assert!(!text.contains("保存草稿"), "{text}");
    assert!(!text.contains("提交申报书"), "{text}");
    b.screenshot_step("14-submitted").await;
    b.close().await;
    eprintln!("walkthrough took {:.1} s", started.elapsed().as_secs_f64());
}

/// Waits until the save status line (autosave's answer) shows `needle`.
async fn wait_for_status(b: &Browser, needle: &str) {
    let deadline = Instant::now() + Duration::from_secs(8);
    loop {
        let status = text_of_css(b, "#save-status").await;
        if status.contains(needle) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "no {needle:?} within 8 s of typing; the status line shows {status:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn autosave_saves_while_typing() {
    let app = TestApp::spawn_while_open().await;
    let b = Browser::open(&app, "autosave_saves_while_typing").await;
    register(&b).await;
    let form_path = start_application(&b).await;
    let before = text_of_css(&b, "#save-status").await;
    assert!(!before.contains("已自动保存"), "{before}");

    b.fill("主要产品/服务", "光通信器件").await;
    wait_for_status(&b, "已自动保存").await;
    b.screenshot_step("autosaved").await;

    b.goto(&form_path).await;
    assert_eq!(b.value("主要产品/服务").await, "光通信器件");

    // The login ends (cookies gone) while the page is open: the next
    // autosave is refused, the status line says why, and the page keeps
    // what was typed.
    b.client.delete_all_cookies().await.expect("delete cookies");
    b.fill("主要产品/服务", "光通信器件及模块").await;
    wait_for_status(&b, "登录已超时").await;
    assert_eq!(b.path().await, form_path);
    assert_eq!(b.value("主要产品/服务").await, "光通信器件及模块");
    b.screenshot_step("autosave-refused").await;
    b.close().await;
}
