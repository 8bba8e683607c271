//! The enterprise's application: eligibility, drafts, versions, attachments,
//! submission before the deadline.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};

use crate::helpers::{Client, DEMO_PASSWORD, TestApp, spawn, spawn_with};
use shenbao::config::{Config, MB};
use shenbao::domain::form::{ProgramDef, sample_answers_on};
use shenbao::web::form_io::pairs_from_answers;

pub const PDF: &[u8] = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n";

/// Starts the application of a logged-in enterprise; returns its id.
pub async fn start(c: &mut Client) -> String {
    let r = c.get("/apply").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = c
        .post(
            "/apply/start",
            &[
                ("declaration", "independent_legal_person"),
                ("declaration", "industrial_enterprise"),
                ("declaration", "good_credit"),
                ("declaration", "continuous_cloud_investment"),
                ("declaration", "case_consent"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let loc = r.location().to_string();
    c.get(&loc).await;
    loc.trim_start_matches("/apply/").to_string()
}

fn selected_county(body: &str) -> String {
    let i = body.find("name=\"region.county\"").expect("region select");
    let sel = i + body[i..].find("\" selected>").expect("a selected county");
    let start = body[..sel].rfind("value=\"").expect("value") + 7;
    body[start..sel].to_string()
}

/// The value of the text input `name` as the page shows it.
pub fn input_value(body: &str, name: &str) -> String {
    let i = body
        .find(&format!("name=\"{name}\""))
        .unwrap_or_else(|| panic!("input {name}"));
    let tag_start = body[..i].rfind('<').expect("tag");
    let tag = &body[tag_start..tag_start + body[tag_start..].find('>').expect("tag end")];
    let m = "value=\"";
    let v = tag.find(m).map(|j| j + m.len()).expect("value");
    tag[v..v + tag[v..].find('"').expect("end")].to_string()
}

fn version_of(body: &str) -> String {
    let m = "name=\"_version\" value=\"";
    let i = body.find(m).expect("version field") + m.len();
    body[i..i + body[i..].find('"').expect("end")].to_string()
}

/// Posts the whole form filled with a complete valid sample.
pub async fn fill(app: &TestApp, c: &mut Client, id: &str, seed: u64) {
    fill_with(app, c, id, seed, &[]).await;
}

/// `fill` with some fields given other values.
pub async fn fill_with(app: &TestApp, c: &mut Client, id: &str, seed: u64, other: &[(&str, &str)]) {
    let answers = sample_answers_on(seed, app.state.today());
    fill_in(c, id, &ProgramDef::builtin().form, &answers, other).await;
}

/// Posts `answers` (for `form`) as the whole form of `id`, keeping the
/// enterprise's own region, name and code, with `other` values over them.
pub async fn fill_in(
    c: &mut Client,
    id: &str,
    form: &shenbao::domain::form::FormDef,
    answers: &serde_json::Value,
    other: &[(&str, &str)],
) {
    let page = c.get(&format!("/apply/{id}")).await;
    let mut pairs = pairs_from_answers(form, answers);
    // Keep the enterprise's own region, name and code (prefilled from
    // registration): they are bound to it.
    let own = selected_county(&page.body);
    let (name, code) = (
        input_value(&page.body, "company_name"),
        input_value(&page.body, "credit_code"),
    );
    for (k, v) in pairs.iter_mut() {
        match k.as_str() {
            "region.county" => *v = own.clone(),
            "company_name" => *v = name.clone(),
            "credit_code" => *v = code.clone(),
            _ => {}
        }
        if let Some((_, x)) = other.iter().find(|(o, _)| o == k) {
            *v = x.to_string();
        }
    }
    pairs.push(("_version".into(), version_of(&page.body)));
    let refs: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let r = c.post(&format!("/apply/{id}"), &refs).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
}

pub async fn upload(
    c: &mut Client,
    id: &str,
    slot: &str,
    name: &str,
    bytes: &[u8],
) -> (StatusCode, String) {
    let boundary = "----shenbaotestboundary";
    let mut body = Vec::new();
    body.extend_from_slice(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"slot\"\r\n\r\n{slot}\r\n")
            .as_bytes(),
    );
    body.extend_from_slice(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n")
            .as_bytes(),
    );
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let token = c.csrf.clone().unwrap_or_default();
    let req = Request::post(format!("/apply/{id}/attachments?_csrf={token}"))
        .header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(Body::from(body))
        .expect("request");
    let r = c.send(req).await;
    (r.status, r.location().to_string())
}

pub async fn upload_required(c: &mut Client, id: &str) {
    upload_required_for(c, id, 2021).await;
}

/// The required files of a form whose reference year is `year` (its audit
/// reports are of the two years before).
pub async fn upload_required_for(c: &mut Client, id: &str, year: i32) {
    let audits = [
        format!("audit_reports.{}", year - 2),
        format!("audit_reports.{}", year - 1),
    ];
    for slot in [
        "business_license",
        &audits[0],
        &audits[1],
        "cloud_proof",
        "honour_proof",
        "stamped_scan",
    ] {
        let (status, loc) = upload(c, id, slot, "扫描件.pdf", PDF).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert!(loc.contains("uploaded=1"), "{slot}: {loc}");
    }
}

pub async fn submit(c: &mut Client, id: &str) -> crate::helpers::Resp {
    let page = c.get(&format!("/apply/{id}/submit")).await;
    let m = "name=\"_version\" value=\"";
    let Some(i) = page.body.find(m) else {
        return page;
    };
    let i = i + m.len();
    let v = page.body[i..i + page.body[i..].find('"').expect("end")].to_string();
    c.post(
        &format!("/apply/{id}/submit"),
        &[("_version", &v), ("confirm", "yes")],
    )
    .await
}

/// An enterprise with a submitted application; returns (client, application id).
pub async fn submitted(app: &TestApp, who: &str, seed: u64) -> (Client, String) {
    let mut c = app.login(who, DEMO_PASSWORD).await;
    let id = start(&mut c).await;
    fill(app, &mut c, &id, seed).await;
    upload_required(&mut c, &id).await;
    let r = submit(&mut c, &id).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    (c, id)
}

/// The form keeps a table of contents with each section's state: what is
/// left in a section until it is complete, attachments included.
#[tokio::test]
async fn the_section_navigation_shows_what_is_left_in_each_section() {
    let app = spawn().await;
    app.seed_demo().await;
    let mut c = app.login("qiye1", DEMO_PASSWORD).await;
    let id = start(&mut c).await;
    let page = c.get(&format!("/apply/{id}")).await;
    let nav = |body: &str| {
        let i = body.find(r#"aria-label="申报书目录""#).expect("nav");
        body[i..i + body[i..].find("</nav>").expect("end")].to_string()
    };
    let n = nav(&page.body);
    assert!(n.contains("一、申请表") && n.contains("还有"), "{n}");
    assert!(n.contains(r##"href="#attachments""##), "{n}");
    fill(&app, &mut c, &id, 7).await;
    let n = nav(&c.get(&format!("/apply/{id}")).await.body);
    assert!(
        n.contains("五、相关附件</a> <span class=\"nav-left\">还有"),
        "{n}"
    );
    upload_required(&mut c, &id).await;
    let n = nav(&c.get(&format!("/apply/{id}")).await.body);
    assert!(!n.contains("还有"), "{n}");
    assert_eq!(
        n.matches("已完成").count(),
        ProgramDef::builtin().form.sections.len(),
        "{n}"
    );
}

/// Each application gets a number people can read out: the batch's year,
/// the city, its place in the city; shown on the form.
#[tokio::test]
async fn applications_are_numbered_per_city_in_order() {
    let app = spawn().await;
    app.seed_demo().await;
    let mut numbers = Vec::new();
    for who in ["qiye1", "qiye2"] {
        let mut c = app.login(who, DEMO_PASSWORD).await;
        let id = start(&mut c).await;
        let n = shenbao::store::applications::number_of(&app.state.db, &id)
            .await
            .unwrap();
        let page = c.get(&format!("/apply/{id}")).await;
        assert!(page.body.contains(&n), "{n}");
        let city = shenbao::store::applications::by_id(&app.state.db, &id)
            .await
            .unwrap()
            .unwrap()
            .city_code;
        numbers.push((city, n));
    }
    let seq = |n: &str| n[10..].parse::<u32>().unwrap();
    for (city, n) in &numbers {
        assert_eq!(n.len(), "2021-4201-0001".len(), "{n}");
        assert!(n[..4].bytes().all(|b| b.is_ascii_digit()), "{n}");
        assert_eq!(&n[4..10], format!("-{}-", &city[..4]), "{n}");
        assert!(seq(n) >= 1, "{n}");
    }
    if numbers[0].0 == numbers[1].0 {
        assert_eq!(seq(&numbers[1].1), seq(&numbers[0].1) + 1);
    }
}

/// The stored answers of application `id`.
async fn answers_of(app: &TestApp, id: &str) -> serde_json::Value {
    shenbao::store::applications::content(&app.state.db, id)
        .await
        .unwrap()
        .unwrap()
        .1
}

/// The whole form as a tab holding `answers` at `version` posts it, with
/// `changes` typed in.
fn tab_post(
    answers: &serde_json::Value,
    version: &str,
    changes: &[(&str, &str)],
) -> Vec<(String, String)> {
    let mut p: Vec<(String, String)> =
        shenbao::web::form_io::pairs_from_answers(&ProgramDef::builtin().form, answers)
            .into_iter()
            .map(|(k, x)| {
                let x = changes
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map_or(x, |(_, y)| y.to_string());
                (k, x)
            })
            .collect();
    p.push(("_version".into(), version.to_string()));
    p
}

async fn post_tab(c: &mut Client, path: &str, pairs: &[(String, String)]) -> crate::helpers::Resp {
    let refs: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    c.post(path, &refs).await
}

/// Two tabs saving from the same version: changes to different fields are
/// merged (saving as advised no longer reverts the other tab); the same
/// field changed in both is shown with both values, and the user chooses.
#[tokio::test]
async fn two_tabs_saving_different_fields_both_survive_and_a_clash_is_chosen() {
    let app = spawn().await;
    app.seed_demo().await;
    let mut c = app.login("qiye1", DEMO_PASSWORD).await;
    let id = start(&mut c).await;
    fill(&app, &mut c, &id, 7).await;
    let path = format!("/apply/{id}");
    let page = c.get(&path).await;
    let v = version_of(&page.body);
    // Both tabs hold the whole form at version v; A changes 详细地址, B 主要产品.
    let held = answers_of(&app, &id).await;
    let a = tab_post(&held, &v, &[("address", "武汉市洪山区珞喻路1号")]);
    let b = tab_post(&held, &v, &[("products", "工业互联网平台")]);
    let r = post_tab(&mut c, &path, &a).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let r = post_tab(&mut c, &path, &b).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert!(r.location().contains("merged="), "{}", r.location());
    let now = answers_of(&app, &id).await;
    assert_eq!(now["address"], "武汉市洪山区珞喻路1号");
    assert_eq!(now["products"], "工业互联网平台");
    let page = c.get(r.location()).await;
    assert!(page.body.contains("已一并合并保留"), "{}", page.body);

    // Now both change 详细地址 from the same version; A also 职务.
    let v = version_of(&page.body);
    let held = answers_of(&app, &id).await;
    let a = tab_post(
        &held,
        &v,
        &[("address", "甲地址"), ("contact_title", "总经理")],
    );
    let b = tab_post(&held, &v, &[("address", "乙地址")]);
    let r = post_tab(&mut c, &path, &a).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let r = post_tab(&mut c, &path, &b).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    assert!(r.body.contains("1处冲突"), "{}", r.body);
    assert!(
        r.body.contains("甲地址") && r.body.contains("乙地址"),
        "{}",
        r.body
    );
    // Nothing of either is lost: A's other change is merged into the form.
    assert_eq!(input_value(&r.body, "contact_title"), "总经理");
    assert_eq!(input_value(&r.body, "address"), "乙地址");
    assert_eq!(answers_of(&app, &id).await["address"], "甲地址");
    // B chooses A's value for 详细地址.
    let v = version_of(&r.body);
    let held = answers_of(&app, &id).await;
    let mut again = tab_post(&held, &v, &[("address", "乙地址")]);
    again.push(("_take".into(), "address".into()));
    again.push(("_theirs".into(), v.clone()));
    let r = post_tab(&mut c, &path, &again).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let now = answers_of(&app, &id).await;
    assert_eq!(now["address"], "甲地址");
    assert_eq!(now["contact_title"], "总经理");
}

/// A stamped scan uploaded before the last change of the answers is
/// flagged at submission, with what changed; submitting anyway needs an
/// explicit confirmation, recorded with the submission. A new scan clears it.
#[tokio::test]
async fn a_stamped_scan_older_than_the_answers_is_flagged_at_submission() {
    let app = spawn().await;
    app.seed_demo().await;
    let mut c = app.login("qiye1", DEMO_PASSWORD).await;
    let id = start(&mut c).await;
    fill(&app, &mut c, &id, 7).await;
    upload_required(&mut c, &id).await;
    app.clock.advance(60_000);
    fill_with(
        &app,
        &mut c,
        &id,
        7,
        &[("address", "武汉市东湖新技术开发区光谷大道77号")],
    )
    .await;
    let page = c.get(&format!("/apply/{id}/submit")).await;
    assert!(
        page.body.contains("盖章扫描件与当前内容不一致"),
        "{}",
        page.body
    );
    assert!(page.body.contains("详细地址"), "{}", page.body);
    // The plain confirmation is not enough.
    let r = submit(&mut c, &id).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(
        r.body.contains("盖章扫描件是按较早的内容打印的"),
        "{}",
        r.body
    );
    assert_eq!(crate::city::state_of(&app, &id).await, "draft");
    // A scan of the current version clears the warning.
    app.clock.advance(60_000);
    let (status, _) = upload(&mut c, &id, "stamped_scan", "盖章扫描件.pdf", PDF).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let page = c.get(&format!("/apply/{id}/submit")).await;
    assert!(!page.body.contains("盖章扫描件与当前内容不一致"));
    // Changed again: submitted with the explicit confirmation, recorded.
    app.clock.advance(60_000);
    fill_with(&app, &mut c, &id, 7, &[("products", "工业互联网平台服务")]).await;
    let page = c.get(&format!("/apply/{id}/submit")).await;
    let m = "name=\"_version\" value=\"";
    let i = page.body.find(m).expect("version") + m.len();
    let v = page.body[i..i + page.body[i..].find('"').expect("end")].to_string();
    let r = c
        .post(
            &format!("/apply/{id}/submit"),
            &[
                ("_version", &v),
                ("confirm", "yes"),
                ("confirm_stale", "yes"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let page = c.get(&format!("/apply/{id}")).await;
    assert!(
        page.body.contains("申报单位确认以当前内容为准提交"),
        "{}",
        page.body
    );
}

#[tokio::test]
async fn complete_application_is_submitted_with_a_stable_fingerprint() {
    let app = spawn().await;
    app.seed_demo().await;
    let (mut c, id) = submitted(&app, "qiye1", 7).await;
    let page = c.get(&format!("/apply/{id}?submitted=1")).await;
    assert!(page.body.contains("已提交，待市州审核"));
    let row = app
        .state
        .db
        .query(
            "SELECT fingerprint, submitted_version, state FROM applications WHERE id = $1",
            vec![id.clone().into()],
        )
        .await
        .unwrap();
    let fp = row[0].text(0);
    assert_eq!(fp.len(), 64);
    assert!(page.body.contains(&fp));
    assert_eq!(row[0].text(2), "submitted");
    // The stored snapshot hashes to the fingerprint, whatever the key order.
    let v = row[0].int(1);
    let snap = app
        .state
        .db
        .query(
            "SELECT content FROM application_versions WHERE application_id = $1 AND version = $2",
            vec![id.clone().into(), v.into()],
        )
        .await
        .unwrap();
    let value: serde_json::Value = serde_json::from_str(&snap[0].text(0)).unwrap();
    assert_eq!(shenbao::domain::form::fingerprint(&value["content"]), fp);
    // The snapshot cannot be changed, not even by SQL.
    let upd = app
        .state
        .db
        .write(shenbao::store::Batch::one(
            "UPDATE application_versions SET content = '{}' WHERE application_id = $1 AND kind = 'submitted'",
            vec![id.clone().into()],
        ))
        .await;
    assert!(upd.is_err());
    // Nor through the product: saving is refused and nothing changes.
    let r = c
        .post(
            &format!("/apply/{id}"),
            &[("_version", &v.to_string()), ("company_name", "改名")],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let (status, _) = upload(&mut c, &id, "other", "a.pdf", PDF).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        shenbao::store::attachments::for_application(&app.state.db, &id)
            .await
            .unwrap()
            .len(),
        6
    );
    assert_eq!(app.audit_count("application.transition").await, 1);
}

#[tokio::test]
async fn draft_with_invalid_values_is_saved_and_messages_show_at_the_fields() {
    let app = spawn().await;
    app.seed_demo().await;
    let mut c = app.login("qiye1", DEMO_PASSWORD).await;
    let id = start(&mut c).await;
    let page = c.get(&format!("/apply/{id}")).await;
    let v = version_of(&page.body);
    let r = c
        .post(
            &format!("/apply/{id}"),
            &[
                ("_version", &v),
                ("company_name", "湖北楚云智造科技有限公司（演示）"),
                ("founded", "2099-01-01"),
                ("cloud_spend", "十万"),
                ("finance.2019.debt_ratio", "120"),
                ("effect_summary", &"效".repeat(1001)),
                ("contact_mobile", "12345"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let page = c.get(r.location()).await;
    assert!(page.body.contains("草稿已保存"));
    // Everything typed is still there, valid or not.
    assert!(page.body.contains("value=\"2099-01-01\""));
    assert!(page.body.contains("value=\"十万\""));
    assert!(page.body.contains("value=\"120\""));
    // Messages next to the fields, and a summary linking to them.
    assert!(page.body.contains("id=\"e-founded-0\""));
    assert!(page.body.contains("href=\"/apply/"));
    assert!(page.body.contains("#f-cloud_spend"));
    assert!(page.body.contains("已输入 <strong>1001</strong> 字"));
    // 资产负债率 above 100 is a warning, not an error.
    assert!(page.body.contains("请核对以下"));
    // Submitting is refused with the list of problems; the draft is intact.
    let r = c.get(&format!("/apply/{id}/submit")).await;
    assert!(r.body.contains("还有"));
    assert!(!r.body.contains("确认提交</button>"));
    let r = c
        .post(
            &format!("/apply/{id}/submit"),
            &[("_version", "2"), ("confirm", "yes")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("未完成"));
    let page = c.get(&format!("/apply/{id}")).await;
    assert!(page.body.contains("value=\"十万\""));
    assert!(page.body.contains("草稿"));
}

#[tokio::test]
async fn submission_after_the_city_deadline_is_refused_and_the_draft_kept() {
    let app = spawn().await;
    app.seed_demo().await;
    let mut c = app.login("qiye2", DEMO_PASSWORD).await;
    let id = start(&mut c).await;
    fill(&app, &mut c, &id, 3).await;
    upload_required(&mut c, &id).await;
    // 2021-09-15 17:00 is the default city deadline; the test clock is at 09-10 10:00.
    app.clock
        .advance(5 * 24 * 3600 * 1000 + 7 * 3600 * 1000 + 60_000);
    let mut c = app.login("qiye2", DEMO_PASSWORD).await;
    let r = submit(&mut c, &id).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("不能提交"));
    let r = c
        .post(
            &format!("/apply/{id}/submit"),
            &[("_version", "2"), ("confirm", "yes")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("2021年9月15日 17:00"));
    assert!(r.body.contains("草稿已保留"));
    let rows = app
        .state
        .db
        .query(
            "SELECT state, version FROM applications WHERE id = $1",
            vec![id.into()],
        )
        .await
        .unwrap();
    assert_eq!(rows[0].text(0), "draft");
    assert_eq!(rows[0].int(1), 2);
}

#[tokio::test]
async fn the_second_tab_saving_an_old_version_is_refused_and_keeps_its_text() {
    let app = spawn().await;
    app.seed_demo().await;
    let mut c = app.login("qiye1", DEMO_PASSWORD).await;
    let id = start(&mut c).await;
    let r1 = c
        .post(
            &format!("/apply/{id}"),
            &[("_version", "1"), ("products", "第一个标签页的内容")],
        )
        .await;
    assert_eq!(r1.status, StatusCode::SEE_OTHER);
    let r2 = c
        .post(
            &format!("/apply/{id}"),
            &[("_version", "1"), ("products", "第二个标签页的内容")],
        )
        .await;
    assert_eq!(r2.status, StatusCode::CONFLICT);
    assert!(r2.body.contains("保存冲突"));
    assert!(
        r2.body.contains("第二个标签页的内容"),
        "the refused text stays on screen"
    );
    // The first tab's save is what is stored; saving again from the second tab overwrites on purpose.
    let stored = shenbao::store::applications::content(&app.state.db, &id)
        .await
        .unwrap()
        .unwrap()
        .1
        .to_string();
    assert!(stored.contains("第一个标签页的内容"));
    let v = version_of(&r2.body);
    assert_eq!(v, "2");
    let r3 = c
        .post(
            &format!("/apply/{id}"),
            &[("_version", &v), ("products", "第二个标签页的内容")],
        )
        .await;
    assert_eq!(r3.status, StatusCode::SEE_OTHER);
    // Autosave reports the conflict instead of overwriting.
    let r = c
        .post(
            &format!("/apply/{id}/autosave"),
            &[("_version", "1"), ("products", "旧")],
        )
        .await;
    assert!(r.body.contains("自动保存已暂停"));
    let r = c
        .post(
            &format!("/apply/{id}/autosave"),
            &[("_version", "3"), ("products", "新")],
        )
        .await;
    assert!(r.body.contains("已自动保存（第4版"));
    assert!(r.body.contains("hx-swap-oob"));
}

#[tokio::test]
async fn autosave_reads_the_json_pairs_the_browser_sends() {
    let app = spawn().await;
    app.seed_demo().await;
    let mut c = app.login("qiye3", DEMO_PASSWORD).await;
    let id = start(&mut c).await;
    let path = format!("/apply/{id}/autosave");
    let stored = |app: &TestApp| {
        let db = app.state.db.clone();
        let id = id.clone();
        async move {
            shenbao::store::applications::content(&db, &id)
                .await
                .unwrap()
                .unwrap()
                .1
        }
    };
    // The same pairs saved as a plain form and as JSON store the same answers.
    let pairs = [
        ("products", "汽车零部件，\"精密\"\\铸件\n第二行 😀"),
        ("cloud_goals", "设备管理优化"),
        ("cloud_goals", "能源效率优化"),
        ("finance.2019.profit", "-12.5"),
    ];
    let mut form = vec![("_version", "1")];
    form.extend(pairs);
    assert_eq!(
        c.post(&format!("/apply/{id}"), &form).await.status,
        StatusCode::SEE_OTHER
    );
    let as_form = stored(&app).await;
    let mut json: Vec<(&str, &str)> = vec![("_version", "2")];
    json.extend(pairs);
    let body = serde_json::to_string(&json).unwrap();
    let r = c.post_json(&path, &body, true).await;
    assert!(r.body.contains("已自动保存（第3版"), "{}", r.body);
    assert_eq!(stored(&app).await, as_form);
    // Escapes a browser may write are read: \u4e2d, a surrogate pair, \/.
    let r = c
        .post_json(
            &path,
            r#"[["_version","3"],["products","\u4e2d\ud83d\ude00a\/b"]]"#,
            true,
        )
        .await;
    assert!(r.body.contains("已自动保存（第4版"), "{}", r.body);
    assert_eq!(stored(&app).await["products"], "中😀a/b");
    // A malformed body is refused with a message; the draft stays as it was.
    for bad in [
        r#"{"_version":"4"}"#,
        r#"[["_version","4"],["products","x"]"#,
        r#"[["_version","4"],["products",1]]"#,
        "[[\"_version\",\"4\"],[\"products\",\"a\u{1}b\"]]",
    ] {
        let r = c.post_json(&path, bad, true).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}");
        assert!(r.body.contains("自动保存的内容格式不正确"), "{bad}");
    }
    assert_eq!(stored(&app).await["products"], "中😀a/b");
    // Without the token in its header a JSON body is refused as cross-site.
    let r = c
        .post_json(&path, r#"[["_version","4"],["products","x"]]"#, false)
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(stored(&app).await["products"], "中😀a/b");
}

#[tokio::test]
async fn versions_are_listed_and_compared() {
    let app = spawn().await;
    app.seed_demo().await;
    let mut c = app.login("qiye3", DEMO_PASSWORD).await;
    let id = start(&mut c).await;
    c.post(
        &format!("/apply/{id}"),
        &[("_version", "1"), ("products", "汽车零部件")],
    )
    .await;
    c.post(
        &format!("/apply/{id}"),
        &[("_version", "2"), ("products", "新能源汽车零部件")],
    )
    .await;
    let r = c.get(&format!("/apply/{id}/versions")).await;
    assert!(r.body.contains("第3版"));
    let r = c.get(&format!("/apply/{id}/diff?a=2&b=3")).await;
    assert!(r.body.contains("主要产品/服务"));
    assert!(r.body.contains("新能源汽车零部件"));
    assert!(r.body.contains("共1处不同"));
}

/// The same multi-line text autosaved (LF, as a textarea's value) and then
/// saved by the form (CRLF, as a browser posts it) is no change; a finance
/// cell is named by its year and column.
#[tokio::test]
async fn an_unchanged_save_shows_no_difference_and_changes_read_as_labels() {
    let app = spawn().await;
    app.seed_demo().await;
    let mut c = app.login("qiye3", DEMO_PASSWORD).await;
    let id = start(&mut c).await;
    // Ten minutes after the start: the autosave is kept as a version.
    app.clock.advance(10 * 60_000);
    let r = c
        .post_json(
            &format!("/apply/{id}/autosave"),
            r#"[["_version","1"],["overview","第一段\n第二段"]]"#,
            true,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    c.post(
        &format!("/apply/{id}"),
        &[("_version", "2"), ("overview", "第一段\r\n第二段")],
    )
    .await;
    let r = c.get(&format!("/apply/{id}/diff?a=2&b=3")).await;
    assert!(r.body.contains("共0处不同"), "{}", r.body);
    c.post(
        &format!("/apply/{id}"),
        &[
            ("_version", "3"),
            ("overview", "第一段\r\n第二段"),
            ("finance.2020.profit", "12.5"),
        ],
    )
    .await;
    let r = c.get(&format!("/apply/{id}/diff?a=3&b=4")).await;
    assert!(r.body.contains("共1处不同"), "{}", r.body);
    assert!(
        r.body.contains("主要财务指标 › 2020年 › 利润（万元）"),
        "{}",
        r.body
    );
}

/// Autosaves rewrite the working copy; a version is kept at the start, for
/// an explicit 保存草稿, and of autosaves at most once per 10 minutes of
/// editing. Every listed version reads back whole, the working copy too.
#[tokio::test]
async fn autosaves_rewrite_the_working_copy_and_keep_a_version_every_ten_minutes() {
    use shenbao::store::applications;
    use shenbao::web::form_io;
    let app = spawn().await;
    app.seed_demo().await;
    let mut c = app.login("qiye3", DEMO_PASSWORD).await;
    let id = start(&mut c).await;
    let path = format!("/apply/{id}/autosave");
    let mut posted = std::collections::BTreeMap::new();
    let mut version = 1;
    // 20 autosaves a minute apart, then one 10 minutes after the 10th's.
    for i in 1..=21 {
        app.clock
            .advance(if i == 21 { 10 * 60_000 } else { 60_000 });
        let products = format!("产品第{i}稿");
        let overview = format!("{}第{i}段，\"引号\"\n", "概况".repeat(300));
        let pairs = [
            ("products", products.as_str()),
            ("overview", overview.as_str()),
        ];
        let v = version.to_string();
        let mut body: Vec<(&str, &str)> = pairs.to_vec();
        body.push(("_version", &v));
        let r = c
            .post_json(&path, &serde_json::to_string(&body).unwrap(), true)
            .await;
        version += 1;
        assert!(
            r.body.contains(&format!("已自动保存（第{version}版")),
            "{}",
            r.body
        );
        posted.insert(
            version,
            form_io::answers(&app.state.form_plan, pairs.into_iter()).to_json(),
        );
    }
    // An explicit save keeps its version whatever the time.
    let r = c
        .post(
            &format!("/apply/{id}"),
            &[("_version", &version.to_string()), ("products", "明确保存")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    version += 1;
    let kept: Vec<i64> = applications::versions(&app.state.db, &id)
        .await
        .unwrap()
        .iter()
        .map(|v| v.version)
        .collect();
    // The start (1), the autosaves ten minutes after the last kept one (11
    // and 21: the 10th and the 20th), the one after the pause (22), the
    // explicit save.
    assert_eq!(kept, vec![version, 22, 21, 11, 1]);
    let rows = app
        .state
        .db
        .query(
            "SELECT COUNT(*) FROM application_versions WHERE application_id = $1",
            vec![id.clone().into()],
        )
        .await
        .unwrap()[0]
        .int(0);
    assert_eq!(rows, 5, "21 autosaves wrote three versions");
    for v in [11, 22] {
        let (kind, text) = applications::version_content(&app.state.db, &id, v)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("version {v}"));
        assert_eq!(
            (kind.as_str(), &text),
            ("draft", &posted[&v]),
            "version {v}"
        );
    }
    assert!(
        applications::version_content(&app.state.db, &id, 12)
            .await
            .unwrap()
            .is_none(),
        "an autosave not kept"
    );
    // One more autosave: the working copy is listed as the current draft.
    let body = serde_json::to_string(&[
        ("_version", version.to_string()),
        ("products", "最新".into()),
    ])
    .unwrap();
    c.post_json(&path, &body, true).await;
    let (current, answers) = applications::content(&app.state.db, &id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (current, answers["products"].as_str()),
        (version + 1, Some("最新"))
    );
    let r = c.get(&format!("/apply/{id}/versions")).await;
    assert!(r.body.contains("当前草稿（自动保存）"), "{}", r.body);
    assert!(r.body.contains(&format!("第{}版", version + 1)));
    // The comparison reads kept versions and the working copy alike.
    let r = c
        .get(&format!("/apply/{id}/diff?a=22&b={}", version + 1))
        .await;
    assert!(
        r.body.contains("产品第21稿") && r.body.contains("最新"),
        "{}",
        r.body
    );
}

#[tokio::test]
async fn attachments_are_judged_by_content_and_bounded_in_size() {
    let app = spawn_with(Config {
        max_file_bytes: MB,
        ..Config::default()
    })
    .await;
    app.seed_demo().await;
    let mut c = app.login("qiye1", DEMO_PASSWORD).await;
    let id = start(&mut c).await;
    // An executable renamed .pdf.
    let (_, loc) = upload(
        &mut c,
        &id,
        "business_license",
        "营业执照.pdf",
        b"MZ\x90\x00\x03\x00\x00\x00\x04\x00",
    )
    .await;
    assert!(!loc.contains("uploaded=1"), "{loc}");
    let page = c.get(&loc).await;
    assert!(page.body.contains("只接受 PDF、JPG 或 PNG"));
    // Over the limit: cut off with a clear message.
    let big = {
        let mut v = PDF.to_vec();
        v.resize(3 * MB as usize, b'0');
        v
    };
    let (_, loc) = upload(&mut c, &id, "business_license", "大文件.pdf", &big).await;
    let page = c.get(&loc).await;
    assert!(
        page.body.contains("文件超过1 MB上限"),
        "{}",
        &page.body[..200.min(page.body.len())]
    );
    // A PNG in a PDF-only slot.
    let (_, loc) = upload(
        &mut c,
        &id,
        "stamped_scan",
        "scan.png",
        b"\x89PNG\r\n\x1a\nrest",
    )
    .await;
    assert!(c.get(&loc).await.body.contains("只接受PDF"));
    // A good one, with its Chinese name kept for display.
    let (_, loc) = upload(&mut c, &id, "business_license", "营业执照（副本）.pdf", PDF).await;
    assert!(loc.contains("uploaded=1"));
    let files = shenbao::store::attachments::for_application(&app.state.db, &id)
        .await
        .unwrap();
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].file_name, "营业执照（副本）.pdf");
    assert_ne!(files[0].storage_key, files[0].file_name);
    let r = c.get(&format!("/files/{}", files[0].id)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.headers.get(header::CONTENT_TYPE).unwrap(),
        "application/pdf"
    );
    assert!(r.body.starts_with("%PDF"));
    // Replace the single stamped scan; delete while in draft.
    upload(&mut c, &id, "stamped_scan", "1.pdf", PDF).await;
    upload(&mut c, &id, "stamped_scan", "2.pdf", PDF).await;
    let files = shenbao::store::attachments::for_application(&app.state.db, &id)
        .await
        .unwrap();
    assert_eq!(files.iter().filter(|f| f.slot == "stamped_scan").count(), 1);
    let lic = files
        .iter()
        .find(|f| f.slot == "business_license")
        .unwrap()
        .id
        .clone();
    c.get(&format!("/apply/{id}")).await;
    let r = c
        .post(&format!("/apply/{id}/attachments/{lic}/delete"), &[])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(
        shenbao::store::attachments::for_application(&app.state.db, &id)
            .await
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn another_enterprise_can_neither_read_nor_change_nor_download() {
    let app = spawn().await;
    app.seed_demo().await;
    let (mut owner, id) = submitted(&app, "qiye1", 11).await;
    let _ = &mut owner;
    let att = shenbao::store::attachments::for_application(&app.state.db, &id)
        .await
        .unwrap()[0]
        .id
        .clone();
    let mut other = app.login("qiye2", DEMO_PASSWORD).await;
    for p in [
        format!("/apply/{id}"),
        format!("/apply/{id}/versions"),
        format!("/apply/{id}/diff?a=1&b=2"),
        format!("/apply/{id}/submit"),
        format!("/files/{att}"),
    ] {
        let r = other.get(&p).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "GET {p}");
        assert!(!r.body.contains("湖北楚云智造"), "{p} leaks");
    }
    other.get("/dashboard").await;
    for p in [
        format!("/apply/{id}"),
        format!("/apply/{id}/autosave"),
        format!("/apply/{id}/submit"),
        format!("/apply/{id}/attachments/{att}/delete"),
    ] {
        let r = other
            .post(&p, &[("_version", "3"), ("products", "篡改")])
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "POST {p}");
    }
    let (status, _) = upload(&mut other, &id, "other", "x.pdf", PDF).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let stored = shenbao::store::applications::content(&app.state.db, &id)
        .await
        .unwrap()
        .unwrap()
        .1
        .to_string();
    assert!(!stored.contains("篡改"));
    // The city of the application may read it; another city may not.
    let mut wuhan = app.login("wuhan", DEMO_PASSWORD).await;
    assert_eq!(
        wuhan.get(&format!("/apply/{id}")).await.status,
        StatusCode::OK
    );
    // Officials see submitted versions only, never the enterprise's working drafts.
    let versions = wuhan.get(&format!("/apply/{id}/versions")).await;
    assert!(versions.body.contains("提交版本"));
    assert!(!versions.body.contains("<td>草稿</td>"));
    assert_eq!(
        wuhan.get(&format!("/apply/{id}/diff?a=1&b=2")).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        wuhan.get(&format!("/files/{att}")).await.status,
        StatusCode::OK
    );
    let mut yichang = app.login("yichang", DEMO_PASSWORD).await;
    assert_eq!(
        yichang.get(&format!("/apply/{id}")).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        yichang.get(&format!("/files/{att}")).await.status,
        StatusCode::NOT_FOUND
    );
    let mut expert = app.login("expert1", DEMO_PASSWORD).await;
    assert_eq!(
        expert.get(&format!("/files/{att}")).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn eligibility_is_checked_before_filling() {
    let app = spawn().await;
    app.seed_demo().await;
    // On the province's list of existing benchmark enterprises.
    let code = shenbao::store::users::enterprise(
        &app.state.db,
        &shenbao::store::users::by_username(&app.state.db, "qiye2")
            .await
            .unwrap()
            .unwrap()
            .id,
    )
    .await
    .unwrap()
    .unwrap()
    .credit_code;
    let mut p = app.login("province", DEMO_PASSWORD).await;
    p.get("/province/benchmarks").await;
    let r = p
        .post(
            "/province/benchmarks",
            &[(
                "lines",
                &format!("{code},宜昌三峡精细化工股份有限公司,第一批"),
            )],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let mut c = app.login("qiye2", DEMO_PASSWORD).await;
    let r = c.get("/apply").await;
    assert!(r.body.contains("已经成为湖北省上云标杆企业的不再申报"));
    let r = c
        .post(
            "/apply/start",
            &[("declaration", "independent_legal_person")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    // Declarations must all be confirmed.
    let mut d = app.login("qiye3", DEMO_PASSWORD).await;
    d.get("/apply").await;
    let r = d
        .post("/apply/start", &[("declaration", "good_credit")])
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("请逐项确认"));
    // One application per code and batch: starting again leads to the same one.
    let id = start(&mut d).await;
    let r = d.get("/apply").await;
    assert_eq!(r.location(), format!("/apply/{id}"));
    let rows = app
        .state
        .db
        .query("SELECT COUNT(*) FROM applications", vec![])
        .await
        .unwrap();
    assert_eq!(rows[0].int(0), 1);
}

#[tokio::test]
async fn an_enterprise_registered_outside_hubei_cannot_apply() {
    let app = spawn().await;
    app.seed_demo().await;
    // Registration refuses such codes; an account migrated from elsewhere is still checked.
    let id = shenbao::store::users::by_username(&app.state.db, "qiye3")
        .await
        .unwrap()
        .unwrap()
        .id;
    let code = shenbao::domain::credit_code::CreditCode::synthesize("440300", 99);
    app.state
        .db
        .write(shenbao::store::Batch::one(
            "UPDATE enterprises SET credit_code = $1 WHERE user_id = $2",
            vec![code.as_str().into(), id.into()],
        ))
        .await
        .unwrap();
    let mut c = app.login("qiye3", DEMO_PASSWORD).await;
    let r = c.get("/apply").await;
    assert!(r.body.contains("不在湖北省"));
    assert!(!r.body.contains("确认并开始填写"));
}

/// The text of the textarea `name` as the page shows it (entities undone).
pub fn input_textarea(body: &str, name: &str) -> String {
    let i = body
        .find(&format!("name=\"{name}\""))
        .unwrap_or_else(|| panic!("textarea {name}"));
    let start = i + body[i..].find('>').expect("tag end") + 1;
    let end = start + body[start..].find("</textarea>").expect("end");
    body[start..end]
        .replace("&quot;", "\"")
        .replace("&#34;", "\"")
        .replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}
