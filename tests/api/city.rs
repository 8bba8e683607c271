//! The city bureau's work: its inbox and nothing else, screening with the
//! province's checklist, return → revise → resubmit, scoring by several
//! reviewers, ranking with hand-ordered ties, the recommendation within the
//! cap and before the deadline, the lock and the province's reopening, and
//! the 推荐表 read back by an independent reader.

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

const BATCH: &str = "hubei-cloud-benchmark-2021";
const DAY: i64 = 24 * 3600 * 1000;

// ───────────────────────────── helpers ─────────────────────────────

/// The value of the first `name="…" value="…"` in a page.
fn hidden(body: &str, name: &str) -> String {
    let m = format!("name=\"{name}\" value=\"");
    let i = body.find(&m).unwrap_or_else(|| panic!("no {name} in page")) + m.len();
    body[i..i + body[i..].find('"').expect("end")].to_string()
}

/// Every checklist key offered on the screening form.
fn check_keys(body: &str) -> Vec<String> {
    body.match_indices("name=\"check\" value=\"")
        .map(|(i, m)| {
            let s = &body[i + m.len()..];
            s[..s.find('"').expect("end")].to_string()
        })
        .collect()
}

/// Posts a screening decision; all checklist items ticked when `all_checks`.
async fn screen(
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

async fn pass(c: &mut Client, id: &str) {
    let r = screen(c, id, "passed", "", "", true).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
}

/// Scores the five criteria of the default sheet.
async fn score(c: &mut Client, id: &str, v: [&str; 5]) -> Resp {
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

async fn add(c: &mut Client, id: &str) -> Resp {
    c.post(
        "/city/recommendation/add",
        &[("batch", BATCH), ("application", id)],
    )
    .await
}

/// Saves ranks, reasons and opinions: `(id, rank, reason, opinion)`.
async fn save_list(c: &mut Client, items: &[(&str, &str, &str, &str)]) -> Resp {
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

async fn upload_file(c: &mut Client, kind: &str, bytes: &[u8]) -> Resp {
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

async fn submit_rec(c: &mut Client) -> Resp {
    let page = c.get(&format!("/city/recommendation?batch={BATCH}")).await;
    let version = hidden(&page.body, "_version");
    c.post(
        "/city/recommendation/submit",
        &[("batch", BATCH), ("_version", &version), ("confirm", "yes")],
    )
    .await
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

async fn count(app: &TestApp, sql: &'static str, id: &str) -> i64 {
    app.state
        .db
        .query(sql, vec![id.into()])
        .await
        .expect("query")[0]
        .int(0)
}

/// At least `n` submitted sample applications in 武汉 (420100), made directly in the store.
async fn wuhan_apps(app: &TestApp, n: usize) -> Vec<String> {
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
async fn ready_recommendation(c: &mut Client, ids: &[&str]) {
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

fn python(script: &str, bytes: &[u8], ext: &str) -> Value {
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
async fn download(app: &TestApp, c: &Client, path: &str) -> Vec<u8> {
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
    for (k, v) in pairs.iter_mut() {
        if k == "region.county" {
            *v = county.clone();
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
async fn the_cap_is_enforced() {
    let app = spawn().await;
    app.seed_demo().await;
    let ids = wuhan_apps(&app, 2).await;
    let mut province = app.login("province", DEMO_PASSWORD).await;
    let r = province
        .post(
            "/province/recommendations/caps",
            &[("batch", BATCH), ("cap.420100", "x")],
        )
        .await;
    assert!(r.location().contains("error="));
    let r = province
        .post(
            "/province/recommendations/caps",
            &[("batch", BATCH), ("cap.420100", "1")],
        )
        .await;
    assert!(r.location().contains("done=caps"), "{}", r.location());
    let mut wuhan = app.login("wuhan", DEMO_PASSWORD).await;
    for id in &ids {
        pass(&mut wuhan, id).await;
    }
    assert!(
        add(&mut wuhan, &ids[0])
            .await
            .location()
            .contains("done=added")
    );
    let r = add(&mut wuhan, &ids[1]).await;
    assert!(r.location().contains("error="), "{}", r.location());
    let page = wuhan.get(r.location()).await;
    assert!(page.body.contains("已达到本市推荐名额上限（1家）"));
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM recommendation_items WHERE city_code = $1",
            "420100"
        )
        .await,
        1
    );
    // Lowered after the fact: submission is refused until the list fits.
    let r = province
        .post(
            "/province/recommendations/caps",
            &[("batch", BATCH), ("cap.420100", "0")],
        )
        .await;
    assert!(r.location().contains("done=caps"));
    save_list(&mut wuhan, &[(ids[0].as_str(), "1", "理由", "同意推荐")]).await;
    for kind in ["letter", "table_scan"] {
        upload_file(&mut wuhan, kind, PDF).await;
    }
    let r = submit_rec(&mut wuhan).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("超过本市推荐名额上限（0家）"), "{}", r.body);
    assert_eq!(state_of(&app, &ids[0]).await, "city_passed");
    assert_eq!(app.audit_count("city_cap.change").await, 2);
}

#[tokio::test]
async fn a_late_recommendation_is_refused_naming_the_deadline_and_nothing_is_lost() {
    let app = spawn().await;
    app.seed_demo().await;
    let (_, id) = submitted(&app, "qiye1", 7).await;
    let mut wuhan = app.login("wuhan", DEMO_PASSWORD).await;
    ready_recommendation(&mut wuhan, &[&id]).await;
    // 2021-09-20 23:59:59 is the deadline; the clock is at 09-10 10:00.
    app.clock.advance(10 * DAY + 14 * 3600 * 1000);
    let mut wuhan = app.login("wuhan", DEMO_PASSWORD).await;
    let page = wuhan
        .get(&format!("/city/recommendation?batch={BATCH}"))
        .await;
    assert!(page.body.contains("已过推荐截止时间"));
    let r = submit_rec(&mut wuhan).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.body.contains("推荐截止时间（2021年9月20日 23:59）"),
        "{}",
        r.body
    );
    assert!(r.body.contains("推荐理由1"), "the list is kept");
    assert_eq!(state_of(&app, &id).await, "city_passed");
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM recommendation_items WHERE city_code = $1",
            "420100"
        )
        .await,
        1
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM recommendation_files WHERE deleted_at IS NULL AND city_code = $1",
            "420100"
        )
        .await,
        2
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM recommendations WHERE status = 'submitted' AND city_code = $1",
            "420100"
        )
        .await,
        0
    );
    let refused = app
        .state
        .db
        .query(
            "SELECT outcome, detail FROM audit_log WHERE action = 'recommendation.submit'",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0].text(0), "failure");
}

#[tokio::test]
async fn submission_locks_everything_until_the_province_reopens_with_a_reason() {
    let app = spawn().await;
    app.seed_demo().await;
    let ids = wuhan_apps(&app, 3).await;
    let (mut ent, own) = submitted(&app, "qiye1", 7).await;
    let mut wuhan = app.login("wuhan", DEMO_PASSWORD).await;
    pass(&mut wuhan, &ids[2]).await;
    ready_recommendation(&mut wuhan, &[&own, &ids[0]]).await;
    let r = submit_rec(&mut wuhan).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(state_of(&app, &own).await, "recommended");
    assert_eq!(state_of(&app, &ids[0]).await, "recommended");
    assert_eq!(state_of(&app, &ids[2]).await, "not_recommended");
    assert_eq!(state_of(&app, &ids[1]).await, "submitted");
    let page = ent.get(&format!("/apply/{own}")).await;
    assert!(page.body.contains("已推荐至省经信厅"));

    // Locked: nothing changes, whatever is tried.
    let before = count(
        &app,
        "SELECT COUNT(*) FROM audit_log WHERE action <> $1",
        "login.success",
    )
    .await;
    let page = wuhan.get(&format!("/city/applications/{}", ids[1])).await;
    assert!(!page.body.contains("提交审查结论"), "the form is gone");
    let r = wuhan
        .post(
            &format!("/city/applications/{}/screen", ids[1]),
            &[
                ("_version", "2"),
                ("decision", "rejected"),
                ("reason", "锁定后"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("已锁定"));
    assert!(add(&mut wuhan, &ids[2]).await.location().contains("error="));
    let r = wuhan
        .post(
            "/city/recommendation/save",
            &[("batch", BATCH), ("_version", "99"), ("rank.x", "1")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        upload_file(&mut wuhan, "letter", PDF)
            .await
            .location()
            .contains("error=")
    );
    let r = wuhan
        .post(
            "/city/sheet",
            &[
                ("_version", "0"),
                ("source", "city"),
                ("name.0", "新细则"),
                ("max.0", "10"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = wuhan
        .post(
            "/city/recommendation/submit",
            &[("batch", BATCH), ("_version", "3"), ("confirm", "yes")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("已锁定"));
    let after = count(
        &app,
        "SELECT COUNT(*) FROM audit_log WHERE action <> $1",
        "login.success",
    )
    .await;
    assert_eq!(before, after, "nothing was written");
    assert_eq!(state_of(&app, &ids[1]).await, "submitted");

    // Only the province reopens, and only with a reason.
    let r = wuhan
        .post(
            "/province/recommendations/reopen",
            &[("batch", BATCH), ("city", "420100"), ("reason", "x")],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let mut province = app.login("province", DEMO_PASSWORD).await;
    let r = province
        .post(
            "/province/recommendations/reopen",
            &[("batch", BATCH), ("city", "420100"), ("reason", "")],
        )
        .await;
    assert!(r.location().contains("error="));
    assert_eq!(state_of(&app, &own).await, "recommended");
    let r = province
        .post(
            "/province/recommendations/reopen",
            &[
                ("batch", BATCH),
                ("city", "420100"),
                ("reason", "推荐表盖章不清晰，请重新上传"),
            ],
        )
        .await;
    assert!(r.location().contains("done=reopened"), "{}", r.location());
    for id in [&own, &ids[0], &ids[2]] {
        assert_eq!(state_of(&app, id).await, "city_passed");
    }
    let page = wuhan
        .get(&format!("/city/recommendation?batch={BATCH}"))
        .await;
    assert!(page.body.contains("推荐表盖章不清晰，请重新上传"));
    assert!(
        upload_file(&mut wuhan, "table_scan", PDF)
            .await
            .location()
            .contains("done=uploaded")
    );
    let r = submit_rec(&mut wuhan).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(state_of(&app, &own).await, "recommended");
    assert_eq!(app.audit_count("recommendation.reopen").await, 1);
    assert_eq!(app.audit_count("recommendation.submit").await, 2);
}

#[tokio::test]
async fn two_city_reviewers_scoring_at_once_do_not_overwrite_each_other() {
    let app = spawn().await;
    app.seed_demo().await;
    let (_, id) = submitted(&app, "qiye1", 7).await;
    // A second reviewer of the same bureau.
    let hash = shenbao::auth::hash_password(DEMO_PASSWORD.to_string()).await;
    let mut b = shenbao::store::Batch::new();
    shenbao::store::users::insert(
        &mut b,
        &shenbao::store::users::NewUser {
            id: &shenbao::store::new_id(),
            username: "wuhan-ps2",
            role: shenbao::domain::role::Role::City,
            display_name: "武汉市经信局评审人二",
            city_code: Some("420100"),
            password_hash: &hash,
            must_change_password: false,
            is_demo: false,
        },
        app.clock.now(),
    );
    app.state.db.write(b).await.unwrap();
    let mut a = app.login("wuhan", DEMO_PASSWORD).await;
    let mut b = app.login("wuhan-ps2", DEMO_PASSWORD).await;
    pass(&mut a, &id).await;
    // Both open the form, then both save at the same moment.
    let (ra, rb) = tokio::join!(
        score(&mut a, &id, ["18", "20", "22", "12", "10"]),
        score(&mut b, &id, ["10", "15", "20", "10", "5.5"]),
    );
    assert_eq!(ra.status, StatusCode::SEE_OTHER, "{}", ra.body);
    assert_eq!(rb.status, StatusCode::SEE_OTHER, "{}", rb.body);
    let rows = app.state.db
        .query("SELECT reviewer_name, scores FROM city_scores WHERE application_id = $1 ORDER BY reviewer_name", vec![id.clone().into()])
        .await.unwrap();
    assert_eq!(rows.len(), 2);
    let totals: Vec<f64> = rows
        .iter()
        .map(|r| {
            let v: Value = serde_json::from_str(&r.text(1)).unwrap();
            v.as_object()
                .unwrap()
                .values()
                .map(|x| x.as_f64().unwrap())
                .sum()
        })
        .collect();
    assert!(
        totals.contains(&82.0) && totals.contains(&60.5),
        "{totals:?}"
    );
    let ranking = a.get("/city/ranking").await;
    assert!(ranking.body.contains("71.25"), "the average of 82 and 60.5");
    assert!(ranking.body.contains("21.5"), "the spread");
    // A stale page of the same reviewer changes nothing.
    let r = a
        .post(
            &format!("/city/applications/{id}/score"),
            &[
                ("_version", "0"),
                ("score.c1", "1"),
                ("score.c2", "1"),
                ("score.c3", "1"),
                ("score.c4", "1"),
                ("score.c5", "1"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r.body.contains("本次评分未保存"));
    assert!(a.get("/city/ranking").await.body.contains("71.25"));
    // Out of range is refused at the field.
    let r = score(&mut a, &id, ["21", "20", "22", "12", "10"]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("得分须为0到20之间"));
    assert_eq!(app.audit_count("city.score").await, 2);
    // Scores fix the sheet.
    let r = a
        .post(
            "/city/sheet",
            &[
                ("_version", "1"),
                ("source", "city"),
                ("name.0", "新细则"),
                ("max.0", "10"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn a_citys_own_sheet_and_hand_ordered_ties_drive_the_ranking() {
    let app = spawn().await;
    app.seed_demo().await;
    let ids = wuhan_apps(&app, 2).await;
    let mut wuhan = app.login("wuhan", DEMO_PASSWORD).await;
    let r = wuhan
        .post(
            "/city/sheet",
            &[
                ("_version", "0"),
                ("source", "city"),
                ("name.0", "上云成效"),
                ("max.0", "abc"),
                ("weight.0", "1"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("最高分须为大于0"));
    let r = wuhan
        .post(
            "/city/sheet",
            &[
                ("_version", "0"),
                ("source", "city"),
                ("name.0", "上云成效"),
                ("description.0", "量化指标"),
                ("max.0", "60"),
                ("weight.0", "1"),
                ("name.1", "示范作用"),
                ("description.1", ""),
                ("max.1", "20"),
                ("weight.1", "2"),
                ("name.2", ""),
                ("max.2", ""),
                ("weight.2", "1"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    for id in &ids {
        pass(&mut wuhan, id).await;
        let page = wuhan.get(&format!("/city/applications/{id}/score")).await;
        assert!(page.body.contains("示范作用（0–20分，权重2）"));
        let r = wuhan
            .post(
                &format!("/city/applications/{id}/score"),
                &[("_version", "0"), ("score.c1", "50"), ("score.c2", "15")],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    }
    let page = wuhan.get("/city/ranking").await;
    assert!(page.body.contains("并列第1组：平均总分 80"));
    // Ordered by submission until ordered by hand: put the second first.
    let (top, bottom) = if page.body.find(&ids[0]).unwrap() < page.body.find(&ids[1]).unwrap() {
        (ids[0].clone(), ids[1].clone())
    } else {
        (ids[1].clone(), ids[0].clone())
    };
    let fields = |reason: &'static str| -> Vec<(String, String)> {
        vec![
            ("batch".into(), BATCH.into()),
            ("app".into(), top.clone()),
            (format!("pos.{top}"), "2".into()),
            ("app".into(), bottom.clone()),
            (format!("pos.{bottom}"), "1".into()),
            ("reason".into(), reason.into()),
        ]
    };
    let f = fields("");
    let refs: Vec<(&str, &str)> = f.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let r = wuhan.post("/city/ranking/ties", &refs).await;
    assert!(r.location().contains("error="));
    let f = fields("后者近两年上云投入更高");
    let refs: Vec<(&str, &str)> = f.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let r = wuhan.post("/city/ranking/ties", &refs).await;
    assert!(r.location().contains("saved=1"), "{}", r.location());
    let page = wuhan.get("/city/ranking").await;
    assert!(
        page.body.find(&bottom).unwrap() < page.body.find(&top).unwrap(),
        "the hand order wins"
    );
    assert!(page.body.contains("并列排序理由：后者近两年上云投入更高"));
    let audit = app
        .state
        .db
        .query(
            "SELECT detail FROM audit_log WHERE action = 'city.tie_order'",
            vec![],
        )
        .await
        .unwrap();
    assert!(audit[0].text(0).contains("后者近两年上云投入更高"));
    assert_eq!(app.audit_count("scoring_sheet.change").await, 1);
}

#[tokio::test]
async fn the_recommendation_table_has_the_citys_order_and_reasons() {
    let app = spawn().await;
    app.seed_demo().await;
    let ids = wuhan_apps(&app, 3).await;
    let mut wuhan = app.login("wuhan", DEMO_PASSWORD).await;
    ready_recommendation(&mut wuhan, &[&ids[0], &ids[1], &ids[2]]).await;
    // Reorder: the third first, the first last.
    let r = save_list(
        &mut wuhan,
        &[
            (
                ids[0].as_str(),
                "3",
                "两化融合贯标企业，成效显著",
                "同意推荐",
            ),
            (ids[1].as_str(), "2", "工业互联网平台应用深入", "同意推荐"),
            (
                ids[2].as_str(),
                "1",
                "上云投入持续，示范作用明显",
                "同意推荐",
            ),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let names: Vec<String> = {
        let mut v = Vec::new();
        for id in [&ids[2], &ids[1], &ids[0]] {
            v.push(
                app.state
                    .db
                    .query(
                        "SELECT enterprise_name FROM applications WHERE id = $1",
                        vec![id.clone().into()],
                    )
                    .await
                    .unwrap()[0]
                    .text(0),
            );
        }
        v
    };
    let reasons = [
        "上云投入持续，示范作用明显",
        "工业互联网平台应用深入",
        "两化融合贯标企业，成效显著",
    ];
    let x = python(
        "read_xlsx.py",
        &download(
            &app,
            &wuhan,
            &format!("/city/recommendation/table.xlsx?batch={BATCH}"),
        )
        .await,
        "xlsx",
    );
    let rows = x["推荐表"]["rows"].as_array().unwrap();
    assert!(
        rows[1][0]
            .as_str()
            .unwrap()
            .contains("武汉市经济和信息化局")
    );
    assert_eq!(rows.len(), 6);
    for (i, row) in rows[3..].iter().enumerate() {
        assert_eq!(row[1].as_str().unwrap(), names[i]);
        assert_eq!(row[8].as_str().unwrap(), reasons[i]);
        assert_eq!(row[9].as_i64().unwrap(), i as i64 + 1);
    }
    let d = python(
        "read_docx.py",
        &download(
            &app,
            &wuhan,
            &format!("/city/recommendation/table.docx?batch={BATCH}"),
        )
        .await,
        "docx",
    );
    let table = d["tables"][0]["view"].as_array().unwrap();
    assert_eq!(table.len(), 4);
    for (i, row) in table[1..].iter().enumerate() {
        assert_eq!(row[1]["text"].as_str().unwrap(), names[i]);
        assert_eq!(row[8]["text"].as_str().unwrap(), reasons[i]);
        assert_eq!(row[9]["text"].as_str().unwrap(), (i + 1).to_string());
    }
    // The province downloads the same table for 武汉.
    let province = app.login("province", DEMO_PASSWORD).await;
    let x2 = python(
        "read_xlsx.py",
        &download(
            &app,
            &province,
            &format!("/city/recommendation/table.xlsx?batch={BATCH}&city=420100"),
        )
        .await,
        "xlsx",
    );
    assert_eq!(x2["推荐表"]["rows"], x["推荐表"]["rows"]);
    assert!(app.audit_count("recommendation.change").await >= 4);
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
