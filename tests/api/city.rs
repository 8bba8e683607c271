//! The city bureau's inbox and screening: it sees and changes only its own
//! region, other roles are refused, the province's checklist, return →
//! revise → resubmit with the difference, the resubmission deadline, the
//! inbox's filters. Helpers here serve `city_recommend` too.

use std::path::Path;
use std::process::Command;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

use crate::apply::{PDF, submit, submitted};
use crate::helpers::{Client, DEMO_PASSWORD, Resp, TestApp, spawn};
use shenbao::domain::form::{ProgramDef, sample_answers_on};
use shenbao::web::form_io::pairs_from_answers;

pub(crate) const BATCH: &str = "hubei-cloud-benchmark-2021";
pub(crate) const DAY: i64 = 24 * 3600 * 1000;

// ───────────────────────────── helpers ─────────────────────────────

/// The value of the first `name="…" value="…"` in a page.
pub(crate) fn hidden(body: &str, name: &str) -> String {
    let m = format!("name=\"{name}\" value=\"");
    let i = body.find(&m).unwrap_or_else(|| panic!("no {name} in page")) + m.len();
    body[i..i + body[i..].find('"').expect("end")].to_string()
}

/// Every checklist key offered on the screening form.
pub(crate) fn check_keys(body: &str) -> Vec<String> {
    body.match_indices("name=\"check\" value=\"")
        .map(|(i, m)| {
            let s = &body[i + m.len()..];
            s[..s.find('"').expect("end")].to_string()
        })
        .collect()
}

/// Posts a screening decision; all checklist items ticked when `all_checks`.
pub(crate) async fn screen(
    c: &mut Client,
    id: &str,
    decision: &str,
    reason: &str,
    deadline: &str,
    all_checks: bool,
) -> Resp {
    let page = c.get(&format!("/city/applications/{id}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let version = hidden(&page.body, "_version");
    let keys = check_keys(&page.body);
    let mut fields: Vec<(&str, &str)> = vec![
        ("_version", &version),
        ("decision", decision),
        ("reason", reason),
        ("resubmit_deadline", deadline),
    ];
    let n = if all_checks {
        keys.len()
    } else {
        keys.len() - 1
    };
    for k in &keys[..n] {
        fields.push(("check", k));
    }
    c.post(&format!("/city/applications/{id}/screen"), &fields)
        .await
}

pub(crate) async fn pass(c: &mut Client, id: &str) {
    let r = screen(c, id, "passed", "", "", true).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
}

/// Scores the five criteria of the default sheet.
pub(crate) async fn score(c: &mut Client, id: &str, v: [&str; 5]) -> Resp {
    let page = c.get(&format!("/city/applications/{id}/score")).await;
    let version = hidden(&page.body, "_version");
    c.post(
        &format!("/city/applications/{id}/score"),
        &[
            ("_version", &version),
            ("score.c1", v[0]),
            ("score.c2", v[1]),
            ("score.c3", v[2]),
            ("score.c4", v[3]),
            ("score.c5", v[4]),
            ("comment", "材料扎实"),
        ],
    )
    .await
}

pub(crate) async fn add(c: &mut Client, id: &str) -> Resp {
    c.post(
        "/city/recommendation/add",
        &[("batch", BATCH), ("application", id)],
    )
    .await
}

/// Saves ranks, reasons and opinions: `(id, rank, reason, opinion)`.
pub(crate) async fn save_list(c: &mut Client, items: &[(&str, &str, &str, &str)]) -> Resp {
    let page = c.get(&format!("/city/recommendation?batch={BATCH}")).await;
    let version = hidden(&page.body, "_version");
    let mut owned: Vec<(String, String)> =
        vec![("batch".into(), BATCH.into()), ("_version".into(), version)];
    for (id, rank, reason, opinion) in items {
        owned.push((format!("rank.{id}"), rank.to_string()));
        owned.push((format!("reason.{id}"), reason.to_string()));
        owned.push((format!("opinion.{id}"), opinion.to_string()));
    }
    let refs: Vec<(&str, &str)> = owned
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    c.post("/city/recommendation/save", &refs).await
}

pub(crate) async fn upload_file(c: &mut Client, kind: &str, bytes: &[u8]) -> Resp {
    let boundary = "----shenbaocityboundary";
    let mut body = Vec::new();
    body.extend_from_slice(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"kind\"\r\n\r\n{kind}\r\n")
            .as_bytes(),
    );
    body.extend_from_slice(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"盖章.pdf\"\r\nContent-Type: application/pdf\r\n\r\n").as_bytes(),
    );
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let token = c.csrf.clone().unwrap_or_default();
    let req = Request::post(format!(
        "/city/recommendation/files?batch={BATCH}&_csrf={token}"
    ))
    .header(
        header::CONTENT_TYPE,
        format!("multipart/form-data; boundary={boundary}"),
    )
    .body(Body::from(body))
    .expect("request");
    c.send(req).await
}

pub(crate) async fn submit_rec(c: &mut Client) -> Resp {
    let page = c.get(&format!("/city/recommendation?batch={BATCH}")).await;
    let version = hidden(&page.body, "_version");
    c.post(
        "/city/recommendation/submit",
        &[("batch", BATCH), ("_version", &version), ("confirm", "yes")],
    )
    .await
}

pub(crate) async fn state_of(app: &TestApp, id: &str) -> String {
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

pub(crate) async fn count(app: &TestApp, sql: &'static str, id: &str) -> i64 {
    app.state
        .db
        .query(sql, vec![id.into()])
        .await
        .expect("query")[0]
        .int(0)
}

/// At least `n` submitted sample applications in 武汉 (420100), made directly in the store.
pub(crate) async fn wuhan_apps(app: &TestApp, n: usize) -> Vec<String> {
    let mut total = 0;
    loop {
        total += 20;
        shenbao::demo::seed_applications(
            &app.state.db,
            &app.state.files,
            &app.clock,
            DEMO_PASSWORD,
            total,
            "wh",
            shenbao::demo::DemoState::Submitted,
        )
        .await
        .expect("seed");
        let rows = app
            .state
            .db
            .query(
                "SELECT id FROM applications WHERE city_code = '420100' AND enterprise_name LIKE $1 ORDER BY enterprise_name",
                vec!["%示例数据%".into()],
            )
            .await
            .expect("query");
        if rows.len() >= n {
            return rows.iter().take(n).map(|r| r.text(0)).collect();
        }
        assert!(total < 400, "not enough sample applications in 武汉");
    }
}

/// A complete, submittable recommendation of `ids` (passed, listed in this
/// order with reasons and opinions, files uploaded).
pub(crate) async fn ready_recommendation(c: &mut Client, ids: &[&str]) {
    for id in ids {
        pass(c, id).await;
        let r = add(c, id).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        assert!(r.location().contains("done=added"), "{}", r.location());
    }
    let items: Vec<(String, String)> = ids
        .iter()
        .enumerate()
        .map(|(i, _)| ((i + 1).to_string(), format!("推荐理由{}", i + 1)))
        .collect();
    let list: Vec<(&str, &str, &str, &str)> = ids
        .iter()
        .zip(&items)
        .map(|(id, (rank, reason))| (*id, rank.as_str(), reason.as_str(), "经审核，同意推荐。"))
        .collect();
    let r = save_list(c, &list).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    for kind in ["letter", "table_scan"] {
        let r = upload_file(c, kind, PDF).await;
        assert!(r.location().contains("done=uploaded"), "{}", r.location());
    }
}

pub(crate) fn python(script: &str, bytes: &[u8], ext: &str) -> Value {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join(format!("doc.{ext}"));
    std::fs::write(&path, bytes).expect("write");
    let out = Command::new("python3")
        .arg(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/docs")
                .join(script),
        )
        .arg(&path)
        .output()
        .expect("python3 (scripts/test installs python-docx and openpyxl)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("json")
}

/// A binary download as `c` (the client keeps bodies as text).
pub(crate) async fn download(app: &TestApp, c: &Client, path: &str) -> Vec<u8> {
    let mut req = Request::get(path).body(Body::empty()).expect("request");
    let cookie: Vec<String> = c.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect();
    req.headers_mut()
        .insert(header::COOKIE, cookie.join("; ").parse().expect("cookie"));
    req.headers_mut()
        .insert(header::HOST, "localhost".parse().expect("host"));
    req.extensions_mut().insert(ConnectInfo(c.addr));
    let resp = app.router.clone().oneshot(req).await.expect("router");
    assert_eq!(resp.status(), StatusCode::OK, "{path}");
    resp.into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes()
        .to_vec()
}

// ───────────────────────────── tests ─────────────────────────────

#[tokio::test]
async fn a_city_sees_and_changes_only_its_own_region() {
    let app = spawn().await;
    app.seed_demo().await;
    let (_, wuhan_app) = submitted(&app, "qiye1", 7).await;
    let (_, yichang_app) = submitted(&app, "qiye2", 8).await;
    let mut wuhan = app.login("wuhan", DEMO_PASSWORD).await;
    ready_recommendation(&mut wuhan, &[&wuhan_app]).await;
    score(&mut wuhan, &wuhan_app, ["10", "10", "10", "10", "10"]).await;
    let file_id = app
        .state
        .db
        .query(
            "SELECT id FROM recommendation_files WHERE city_code = '420100'",
            vec![],
        )
        .await
        .unwrap()[0]
        .text(0);

    let mut yichang = app.login("yichang", DEMO_PASSWORD).await;
    let inbox = yichang.get("/city/applications").await;
    assert_eq!(inbox.status, StatusCode::OK);
    assert!(inbox.body.contains("宜昌三峡精细化工"));
    assert!(!inbox.body.contains("湖北楚云智造"));
    assert!(!inbox.body.contains(&wuhan_app));
    let ranking = yichang.get("/city/ranking").await;
    assert!(!ranking.body.contains(&wuhan_app));
    let rec = yichang.get("/city/recommendation").await;
    assert!(!rec.body.contains(&wuhan_app));

    for p in [
        format!("/city/applications/{wuhan_app}"),
        format!("/city/applications/{wuhan_app}/score"),
        format!("/city/recommendation/files/{file_id}"),
    ] {
        assert_eq!(
            yichang.get(&p).await.status,
            StatusCode::NOT_FOUND,
            "GET {p}"
        );
    }
    let page = yichang
        .get(&format!("/city/applications/{yichang_app}"))
        .await;
    let keys = check_keys(&page.body);
    let mut screen_fields: Vec<(&str, &str)> = vec![
        ("_version", "2"),
        ("decision", "rejected"),
        ("reason", "越权"),
    ];
    for k in &keys {
        screen_fields.push(("check", k));
    }
    let posts: Vec<(String, Vec<(&str, &str)>)> = vec![
        (
            format!("/city/applications/{wuhan_app}/screen"),
            screen_fields.clone(),
        ),
        (
            format!("/city/applications/{wuhan_app}/score"),
            vec![("_version", "0"), ("score.c1", "1")],
        ),
        (
            "/city/recommendation/add".into(),
            vec![("batch", BATCH), ("application", &wuhan_app)],
        ),
        (
            "/city/recommendation/save".into(),
            vec![("batch", BATCH), ("_version", "0"), ("remove", &wuhan_app)],
        ),
        (
            "/city/ranking/ties".into(),
            vec![("batch", BATCH), ("app", &wuhan_app), ("reason", "越权")],
        ),
    ];
    for (p, fields) in &posts {
        let r = yichang.post(p, fields).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "POST {p}: {}", r.body);
    }
    // Its 推荐表 is its own whatever city is named.
    let bytes = download(
        &app,
        &yichang,
        &format!("/city/recommendation/table.xlsx?batch={BATCH}&city=420100"),
    )
    .await;
    let x = python("read_xlsx.py", &bytes, "xlsx");
    assert_eq!(
        x["推荐表"]["rows"].as_array().unwrap().len(),
        3,
        "header rows only"
    );
    // 武汉's work is untouched.
    assert_eq!(state_of(&app, &wuhan_app).await, "city_passed");
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM recommendation_items WHERE application_id = $1",
            &wuhan_app
        )
        .await,
        1
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM city_scores WHERE application_id = $1",
            &wuhan_app
        )
        .await,
        1
    );
    // The province reads every city's; 宜昌 its own.
    let mut province = app.login("province", DEMO_PASSWORD).await;
    assert_eq!(
        province
            .get(&format!("/city/recommendation/files/{file_id}"))
            .await
            .status,
        StatusCode::OK
    );
    let r = yichang
        .get(&format!("/city/applications/{yichang_app}"))
        .await;
    assert_eq!(r.status, StatusCode::OK);
}

#[tokio::test]
async fn enterprise_and_expert_accounts_are_refused_on_city_routes() {
    let app = spawn().await;
    app.seed_demo().await;
    let (_, id) = submitted(&app, "qiye1", 7).await;
    for who in ["qiye1", "expert1"] {
        let mut c = app.login(who, DEMO_PASSWORD).await;
        for p in [
            "/city/applications".to_string(),
            format!("/city/applications/{id}"),
            format!("/city/applications/{id}/score"),
            "/city/ranking".into(),
            "/city/sheet".into(),
            "/city/recommendation".into(),
            "/city/recommendation/table.docx".into(),
            "/city/recommendation/table.xlsx".into(),
        ] {
            let r = c.get(&p).await;
            assert_eq!(r.status, StatusCode::FORBIDDEN, "{who} GET {p}");
        }
        for p in [
            format!("/city/applications/{id}/screen"),
            format!("/city/applications/{id}/score"),
            "/city/sheet".into(),
            "/city/ranking/ties".into(),
            "/city/recommendation/add".into(),
            "/city/recommendation/save".into(),
            "/city/recommendation/submit".into(),
        ] {
            let r = c
                .post(
                    &p,
                    &[
                        ("batch", BATCH),
                        ("application", &id),
                        ("decision", "passed"),
                    ],
                )
                .await;
            assert_eq!(r.status, StatusCode::FORBIDDEN, "{who} POST {p}");
        }
        let r = upload_file(&mut c, "letter", PDF).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{who} upload");
        for p in [
            "/province/recommendations",
            "/province/screening-checklist",
            "/province/scoring-sheet",
        ] {
            assert_eq!(
                c.get(p).await.status,
                StatusCode::FORBIDDEN,
                "{who} GET {p}"
            );
        }
    }
    assert_eq!(state_of(&app, &id).await, "submitted");
}

/// The answers of a sample, posted with one field changed.
async fn revise(app: &TestApp, c: &mut Client, id: &str, seed: u64, address: &str) {
    let page = c.get(&format!("/apply/{id}")).await;
    assert_eq!(page.status, StatusCode::OK);
    let mut answers = sample_answers_on(seed, app.state.today());
    answers["address"] = address.into();
    let mut pairs = pairs_from_answers(&ProgramDef::builtin().form, &answers);
    let i = page.body.find("name=\"region.county\"").expect("region");
    let sel = i + page.body[i..].find("\" selected>").expect("selected");
    let start = page.body[..sel].rfind("value=\"").expect("value") + 7;
    let county = page.body[start..sel].to_string();
    let name = crate::apply::input_value(&page.body, "company_name");
    let code = crate::apply::input_value(&page.body, "credit_code");
    for (k, v) in pairs.iter_mut() {
        match k.as_str() {
            "region.county" => *v = county.clone(),
            "company_name" => *v = name.clone(),
            "credit_code" => *v = code.clone(),
            _ => {}
        }
    }
    pairs.push(("_version".into(), hidden(&page.body, "_version")));
    let refs: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let r = c.post(&format!("/apply/{id}"), &refs).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
}

#[tokio::test]
async fn return_revise_resubmit_keeps_both_versions_and_shows_the_difference() {
    let app = spawn().await;
    app.seed_demo().await;
    let (mut ent, id) = submitted(&app, "qiye1", 7).await;
    let first_fp = app
        .state
        .db
        .query(
            "SELECT fingerprint, submitted_version FROM applications WHERE id = $1",
            vec![id.clone().into()],
        )
        .await
        .unwrap()[0]
        .clone();
    let mut wuhan = app.login("wuhan", DEMO_PASSWORD).await;
    // A reason is required.
    let r = screen(&mut wuhan, &id, "returned", "", "", false).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("请填写退回原因"));
    assert_eq!(state_of(&app, &id).await, "submitted");
    // Passing needs every checklist item.
    let r = screen(&mut wuhan, &id, "passed", "", "", false).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("形式审查通过须全部核查项目均符合"));
    let r = screen(
        &mut wuhan,
        &id,
        "returned",
        "详细地址与营业执照不一致",
        "2021-09-14T17:00",
        false,
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(state_of(&app, &id).await, "returned");

    // The enterprise sees it at once and edits a new version.
    let page = ent.get(&format!("/apply/{id}")).await;
    assert!(page.body.contains("详细地址与营业执照不一致"));
    assert!(page.body.contains("2021年9月14日 17:00"));
    assert!(page.body.contains("保存草稿"), "editable again");
    revise(&app, &mut ent, &id, 7, "武汉市洪山区光谷大道77号（已更正）").await;
    let r = submit(&mut ent, &id).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(state_of(&app, &id).await, "submitted");

    let subs = app.state.db
        .query("SELECT version, fingerprint FROM application_versions WHERE application_id = $1 AND kind = 'submitted' ORDER BY version", vec![id.clone().into()])
        .await.unwrap();
    assert_eq!(subs.len(), 2, "both submitted versions kept");
    assert_eq!(subs[0].int(0), first_fp.int(1));
    assert_eq!(subs[0].text(1), first_fp.text(0));
    assert_ne!(subs[0].text(1), subs[1].text(1));
    let page = wuhan.get(&format!("/city/applications/{id}")).await;
    assert!(
        page.body
            .contains(&format!("自退回版本（第{}版）以来的修改", subs[0].int(0)))
    );
    assert!(page.body.contains("武汉市洪山区光谷大道77号（已更正）"));
    assert!(page.body.contains("详细地址"));
    assert!(page.body.contains(&subs[1].text(1)), "the new fingerprint");
    // Now it can be passed.
    pass(&mut wuhan, &id).await;
    assert_eq!(state_of(&app, &id).await, "city_passed");
    let page = ent.get(&format!("/apply/{id}")).await;
    assert!(page.body.contains("形式审查通过"));
}

#[tokio::test]
async fn resubmission_after_the_citys_resubmission_deadline_is_refused() {
    let app = spawn().await;
    app.seed_demo().await;
    let (_, id) = submitted(&app, "qiye1", 7).await;
    let mut wuhan = app.login("wuhan", DEMO_PASSWORD).await;
    // A deadline in the past or after the recommendation deadline is refused at the field.
    let r = screen(
        &mut wuhan,
        &id,
        "returned",
        "补充审计报告",
        "2021-09-01T17:00",
        false,
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("重新提交截止时间应晚于当前时间"));
    let r = screen(
        &mut wuhan,
        &id,
        "returned",
        "补充审计报告",
        "2021-09-25T17:00",
        false,
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("不能晚于市州推荐截止时间"));
    let r = screen(
        &mut wuhan,
        &id,
        "returned",
        "补充审计报告",
        "2021-09-11T12:00",
        false,
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    app.clock.advance(2 * DAY);
    let mut ent = app.login("qiye1", DEMO_PASSWORD).await;
    let page = ent.get(&format!("/apply/{id}/submit")).await;
    assert!(
        page.body.contains("2021年9月11日 12:00"),
        "names the deadline"
    );
    let v = count(&app, "SELECT version FROM applications WHERE id = $1", &id)
        .await
        .to_string();
    let r = ent
        .post(
            &format!("/apply/{id}/submit"),
            &[("_version", &v), ("confirm", "yes")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("2021年9月11日 12:00"), "names the deadline");
    assert_eq!(state_of(&app, &id).await, "returned");
}

#[tokio::test]
async fn the_inbox_filters_counts_and_pages() {
    let app = spawn().await;
    app.seed_demo().await;
    let ids = wuhan_apps(&app, 3).await;
    let (_, own) = submitted(&app, "qiye1", 7).await;
    let mut wuhan = app.login("wuhan", DEMO_PASSWORD).await;
    let total = count(
        &app,
        "SELECT COUNT(*) FROM applications WHERE city_code = $1 AND state <> 'draft'",
        "420100",
    )
    .await;
    pass(&mut wuhan, &ids[0]).await;
    let page = wuhan.get("/city/applications").await;
    assert!(
        page.body
            .contains(&format!("本地区已提交的申报书共 {total} 份"))
    );
    assert!(page.body.contains("形式审查通过</a> <strong>1</strong>"));
    let page = wuhan.get("/city/applications?state=city_passed").await;
    assert!(page.body.contains(&ids[0]) && !page.body.contains(&own));
    let q = serde_urlencoded::to_string([("q", "楚云智造科技")]).unwrap();
    let page = wuhan.get(&format!("/city/applications?{q}")).await;
    assert!(page.body.contains(&own));
    assert!(page.body.contains("符合条件 1 份"));
    let page = wuhan.get("/city/applications?county=420106").await;
    assert!(page.body.contains(&own), "qiye1 is in 武昌区");
    let page = wuhan.get("/city/applications?q=%25").await;
    assert!(
        page.body.contains("符合条件 0 份"),
        "LIKE wildcards are literal"
    );
    let page = wuhan.get("/city/applications?sort=name&page=99").await;
    assert_eq!(page.status, StatusCode::OK);
    // The province edits the checklist; the city's form follows.
    let mut province = app.login("province", DEMO_PASSWORD).await;
    let cl = province.get("/province/screening-checklist").await;
    assert!(cl.body.contains("盖章扫描件与在线版本一致"));
    // Keep 材料齐全, retire the others, add one.
    let r = province
        .post(
            "/province/screening-checklist",
            &[
                ("label.complete", "材料齐全"),
                ("hint.complete", ""),
                ("position.complete", "1"),
                ("active.complete", "1"),
                ("label.license_valid", "营业执照有效"),
                ("position.license_valid", "2"),
                ("label.audit_reports", "近两年审计报告齐全"),
                ("position.audit_reports", "3"),
                ("label.scan_matches", "盖章扫描件与在线版本一致"),
                ("position.scan_matches", "4"),
                ("label.eligible", "符合申报要求"),
                ("position.eligible", "5"),
                ("label.new0", "无重大安全环保事故"),
                ("hint.new0", "查询信用中国"),
                ("position.new0", "6"),
                ("label.new1", ""),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let page = wuhan.get(&format!("/city/applications/{}", ids[1])).await;
    assert!(page.body.contains("无重大安全环保事故"));
    assert!(
        !page.body.contains("营业执照有效"),
        "retired items are not offered"
    );
    assert_eq!(check_keys(&page.body).len(), 2);
}

/// 2,000 autosaves across a return for revision (a working day of editing,
/// 15 s apart): the city still sees both submitted versions, and the owner every
/// kept version, none lost to a walk of fixed length.
#[tokio::test]
async fn every_submission_stays_listed_after_two_thousand_autosaves() {
    let app = spawn().await;
    app.seed_demo().await;
    let (mut ent, id) = submitted(&app, "qiye1", 7).await;
    let submitted_version = || async {
        app.state
            .db
            .query(
                "SELECT submitted_version FROM applications WHERE id = $1",
                vec![id.clone().into()],
            )
            .await
            .unwrap()[0]
            .int(0)
    };
    let first = submitted_version().await;
    let mut wuhan = app.login("wuhan", DEMO_PASSWORD).await;
    let r = screen(&mut wuhan, &id, "returned", "请补充上云成效数据", "", false).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let mut v = app
        .state
        .db
        .query(
            "SELECT version FROM applications WHERE id = $1",
            vec![id.clone().into()],
        )
        .await
        .unwrap()[0]
        .int(0);
    // The browser posts every field; these autosaves post the one typed in
    // and what the resubmission below reads back from the form.
    let page = ent.get(&format!("/apply/{id}")).await;
    let i = page.body.find("name=\"region.county\"").expect("region");
    let sel = i + page.body[i..].find("\" selected>").expect("selected");
    let from = page.body[..sel].rfind("value=\"").expect("value") + 7;
    let county = page.body[from..sel].to_string();
    let name = crate::apply::input_value(&page.body, "company_name");
    let code = crate::apply::input_value(&page.body, "credit_code");
    for i in 0..2000 {
        app.clock.advance(15_000);
        let body = serde_json::json!([
            ["_version", v.to_string()],
            ["products", format!("产品第{i}稿")],
            ["region.city", "420100"],
            ["region.county", county],
            ["company_name", name],
            ["credit_code", code],
        ])
        .to_string();
        let r = ent
            .post_json(&format!("/apply/{id}/autosave"), &body, true)
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        v += 1;
    }
    revise(&app, &mut ent, &id, 7, "武汉市洪山区光谷大道77号（已更正）").await;
    // The stamped scan shows the text of the first submission (the version
    // kept at its upload): it is resubmitted with the current text confirmed.
    let r = submit(&mut ent, &id).await;
    assert!(
        r.body.contains("盖章扫描件是按较早的内容打印的"),
        "{}",
        r.body
    );
    let version = hidden(&r.body, "_version");
    let r = ent
        .post(
            &format!("/apply/{id}/submit"),
            &[
                ("_version", version.as_str()),
                ("confirm", "yes"),
                ("confirm_stale", "yes"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let second = submitted_version().await;
    assert!(second > first + 2000, "{first} {second}");
    // A day later: the city logs in again.
    let mut wuhan = app.login("wuhan", DEMO_PASSWORD).await;
    let page = wuhan.get(&format!("/apply/{id}/versions")).await;
    assert_eq!(page.status, StatusCode::OK);
    for s in [first, second] {
        assert!(
            page.body.contains(&format!("第{s}版")),
            "the submission of version {s} is listed: {}",
            page.body
        );
    }
    assert_eq!(page.body.matches("<strong>提交版本</strong>").count(), 2);
    assert!(!page.body.contains(">草稿<"), "officials see no drafts");
    // The owner sees them too, with the kept drafts: one per 10 minutes of
    // the 500 minutes of autosaves, the reopening and the last save.
    let page = ent.get(&format!("/apply/{id}/versions")).await;
    assert!(page.body.contains(&format!("第{first}版")));
    assert!(page.body.contains(&format!("第{second}版")));
    let kept = shenbao::store::applications::versions(&app.state.db, &id)
        .await
        .unwrap();
    let drafts_after_return = kept
        .iter()
        .filter(|k| k.kind == "draft" && k.version > first)
        .count();
    assert!(
        (50..=53).contains(&drafts_after_return),
        "{drafts_after_return} kept drafts"
    );
    for k in &kept {
        assert!(
            shenbao::store::applications::version_content(&app.state.db, &id, k.version)
                .await
                .unwrap()
                .is_some(),
            "version {} reads back",
            k.version
        );
    }
}

/// An official opening an enterprise's file is on record; the enterprise
/// opening its own is not.
#[tokio::test]
async fn officials_opening_an_enterprises_files_are_audited() {
    let app = spawn().await;
    app.seed_demo().await;
    let (mut ent, id) = submitted(&app, "qiye1", 7).await;
    let att = app
        .state
        .db
        .query(
            "SELECT id FROM attachments WHERE application_id = $1 AND deleted_at IS NULL ORDER BY id LIMIT 1",
            vec![id.clone().into()],
        )
        .await
        .unwrap()[0]
        .text(0);
    let r = ent.get(&format!("/files/{att}")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(app.audit_count("attachment.download").await, 0);
    let mut wuhan = app.login("wuhan", DEMO_PASSWORD).await;
    let r = wuhan.get(&format!("/files/{att}")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(app.audit_count("attachment.download").await, 1);
    // Another city is refused, and nothing is recorded as read.
    let mut huangshi = app.login("huangshi", DEMO_PASSWORD).await;
    let r = huangshi.get(&format!("/files/{att}")).await;
    assert_ne!(r.status, StatusCode::OK);
    assert_eq!(app.audit_count("attachment.download").await, 1);
}

/// `demo --applications 34` gives every one of the 17 cities two
/// applications, so no city's pages are empty (#21 item 10).
#[tokio::test]
async fn demo_applications_go_round_every_city() {
    let app = spawn().await;
    app.seed_demo().await;
    shenbao::demo::seed_applications(
        &app.state.db,
        &app.state.files,
        &app.clock,
        DEMO_PASSWORD,
        34,
        "round",
        shenbao::demo::DemoState::Submitted,
    )
    .await
    .expect("seed");
    let rows = app
        .state
        .db
        .query(
            "SELECT city_code, COUNT(*) FROM applications GROUP BY city_code",
            Vec::new(),
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 17);
    assert!(rows.iter().all(|r| r.int(1) == 2));
}
