//! The province's review through the real router: the pool imported from
//! .xlsx (all or nothing), the draw with 回避 and its replay, the pledge,
//! experts scoring only their own assignments, a declared conflict and its
//! re-draw, the locked criteria, the panel's signed opinion, the shortlist
//! with its reasons and lock, the 评审汇总表 read back, and who may open what.

use axum::http::StatusCode;

use crate::city::{
    BATCH, download, python, ready_recommendation, state_of, submit_rec, wuhan_apps,
};
use crate::helpers::{Client, DEMO_PASSWORD, TestApp, spawn};

pub(crate) fn sheet(rows: &[[&str; 8]]) -> Vec<u8> {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    let head = [
        "姓名",
        "工作单位",
        "职称",
        "专业领域",
        "所在市州",
        "手机",
        "电子邮箱",
        "回避单位",
    ];
    for (c, h) in head.iter().enumerate() {
        ws.write_string(0, c as u16, *h).expect("cell");
    }
    for (r, row) in rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            ws.write_string(r as u32 + 1, c as u16, *v).expect("cell");
        }
    }
    wb.save_to_buffer().expect("xlsx")
}

pub(crate) async fn import(c: &mut Client, bytes: &[u8]) -> String {
    let r = c
        .post_multipart(
            "/province/experts/import",
            &[],
            Some(("file", "experts.xlsx", bytes)),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    r.body
}

pub(crate) async fn name(app: &TestApp, id: &str) -> String {
    app.state
        .db
        .query(
            "SELECT enterprise_name FROM applications WHERE id = $1",
            vec![id.into()],
        )
        .await
        .expect("q")[0]
        .text(0)
}

async fn scalar(app: &TestApp, sql: &'static str, p: &str) -> i64 {
    app.state
        .db
        .query(sql, vec![p.into()])
        .await
        .expect("query")[0]
        .int(0)
}

/// Expert accounts made by the import get the demo password, so the test can log in.
pub(crate) async fn usable(app: &TestApp) {
    app.state
        .db
        .write(shenbao::store::Batch::one(
            "UPDATE users SET must_change_password = 0, password_hash = \
             (SELECT password_hash FROM users WHERE username = 'province') WHERE username LIKE 'zj%'",
            vec![],
        ))
        .await
        .expect("write");
}

pub(crate) const EXPERTS: [[&str; 8]; 6] = [
    [
        "李华",
        "武汉大学",
        "教授",
        "云计算",
        "武汉市",
        "13900000001",
        "a1@example.com",
        "",
    ],
    [
        "王芳",
        "华中科技大学",
        "教授",
        "工业互联网",
        "宜昌市",
        "13900000002",
        "a2@example.com",
        "",
    ],
    [
        "赵强",
        "湖北工业大学",
        "副教授",
        "智能制造",
        "襄阳市",
        "13900000003",
        "a3@example.com",
        "",
    ],
    [
        "钱明",
        "湖北省信息中心",
        "高级工程师",
        "信息化",
        "荆州市",
        "13900000004",
        "a4@example.com",
        "",
    ],
    [
        "孙丽",
        "三峡大学",
        "教授",
        "大数据",
        "宜昌市",
        "13900000005",
        "a5@example.com",
        "",
    ],
    [
        "周杰",
        "长江大学",
        "教授",
        "网络安全",
        "荆州市",
        "13900000006",
        "a6@example.com",
        "",
    ],
];

/// The row of the province's list that names `name` (found by searching it).
async fn list_row(prov: &mut Client, name: &str) -> String {
    let r = prov
        .get(&format!(
            "/province/applications?batch={BATCH}&q={}",
            shenbao::web::shared::error::urlencode(name)
        ))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let at = r
        .body
        .find(&format!(">{name}</a>"))
        .unwrap_or_else(|| panic!("{name} not listed"));
    let start = r.body[..at].rfind("<tr>").expect("row start");
    let end = at + r.body[at..].find("</tr>").expect("row end");
    r.body[start..end].to_string()
}

#[tokio::test]
async fn the_review_runs_from_the_pool_to_a_locked_shortlist() {
    let app = spawn().await;
    app.seed_demo().await;
    let ids = wuhan_apps(&app, 3).await;
    let mut wuhan = app.login("wuhan", DEMO_PASSWORD).await;
    ready_recommendation(&mut wuhan, &[&ids[0], &ids[1], &ids[2]]).await;
    assert_eq!(submit_rec(&mut wuhan).await.status, StatusCode::SEE_OTHER);
    let mut prov = app.login("province", DEMO_PASSWORD).await;
    // The province's list, read before and after each change below (it is
    // kept between writes and must follow every one of them).
    let n0 = name(&app, &ids[0]).await;
    let row = list_row(&mut prov, &n0).await;
    assert!(row.contains("已推荐至省经信厅"), "{row}");

    // A bad row stops the whole import, named by row and column.
    let mut bad = EXPERTS;
    bad[2][5] = "12345";
    let body = import(&mut prov, &sheet(&bad)).await;
    assert!(body.contains("第4行“手机”列"), "{body}");
    assert_eq!(
        scalar(&app, "SELECT COUNT(*) FROM experts WHERE name <> $1", "").await,
        0
    );
    // The good file: six experts, each with an account shown once.
    let body = import(&mut prov, &sheet(&EXPERTS)).await;
    assert!(body.contains("已添加 6 名专家"), "{body}");
    assert!(body.contains("zj13900000001"));
    assert_eq!(
        scalar(&app, "SELECT COUNT(*) FROM users WHERE role = $1", "expert").await,
        5 + 6
    );
    usable(&app).await;

    // Three experts per application; the Wuhan expert is never drawn for Wuhan.
    let page = prov.get(&format!("/province/review?batch={BATCH}")).await;
    let version = crate::city::hidden(&page.body, "_version");
    let mut settings = vec![
        ("batch", BATCH.to_string()),
        ("_version", version),
        ("per_application", "3".into()),
        ("max_per_expert", "3".into()),
        ("spread_threshold", "20".into()),
        ("same_city", "1".into()),
        ("trimmed", "1".into()),
    ];
    let crit = shenbao::domain::scoring::province_default();
    let criteria: Vec<(String, String)> = crit
        .criteria
        .iter()
        .enumerate()
        .flat_map(|(i, c)| {
            [
                (format!("c.{i}.key"), c.key.clone()),
                (format!("c.{i}.name"), c.name.clone()),
                (format!("c.{i}.description"), c.description.clone()),
                (format!("c.{i}.max"), shenbao::domain::scoring::show(c.max)),
                (format!("c.{i}.weight"), "1".into()),
            ]
        })
        .collect();
    let post_settings = |settings: &Vec<(&'static str, String)>, extra: &[(String, String)]| {
        let mut v: Vec<(String, String)> = settings
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        v.extend(criteria.iter().cloned());
        v.extend(extra.iter().cloned());
        v
    };
    let fields = post_settings(&settings, &[]);
    let refs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let r = prov.post("/province/review/settings", &refs).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);

    // Five experts outside Wuhan, at most three applications each: room for 9 pairs and a re-draw.
    let r = prov
        .post("/province/review/draw", &[("batch", BATCH)])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert!(r.location().contains("done=draw"));
    let pairs = app
        .state
        .db
        .query(
            "SELECT a.application_id, e.name, u.username FROM review_assignments a JOIN experts e ON e.id = a.expert_id \
             JOIN users u ON u.id = e.user_id ORDER BY a.application_id, e.name",
            vec![],
        )
        .await
        .expect("query");
    assert_eq!(pairs.len(), 9);
    assert!(
        pairs.iter().all(|p| p.text(1) != "李华"),
        "same-city expert drawn"
    );
    let row = list_row(&mut prov, &n0).await;
    assert!(row.contains("专家评审中"), "{row}");
    for id in &ids {
        assert_eq!(state_of(&app, id).await, "under_review");
        assert_eq!(pairs.iter().filter(|p| p.text(0) == *id).count(), 3);
    }
    // The draw replays to the same pairs from its stored seed and inputs.
    let draw_id = app
        .state
        .db
        .query("SELECT id FROM review_draws", vec![])
        .await
        .expect("query")[0]
        .text(0);
    let (same, n) = shenbao::services::review::replay(&app.state.db, &draw_id)
        .await
        .expect("replay");
    assert!(same);
    assert_eq!(n, 9);

    // An expert reads nothing before the pledge, then only their own assignments.
    let mine = |u: &str| -> Vec<String> {
        pairs
            .iter()
            .filter(|p| p.text(2) == u)
            .map(|p| p.text(0))
            .collect()
    };
    let first = pairs[0].text(2);
    let mut e1 = app.login(&first, DEMO_PASSWORD).await;
    let target = mine(&first)[0].clone();
    let r = e1.get(&format!("/expert/review/{target}")).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body.contains("保密与回避承诺"));
    let r = e1
        .post("/expert/pledge", &[("batch", BATCH), ("agree", "1")])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let r = e1.get(&format!("/expert/review/{target}")).await;
    assert_eq!(r.status, StatusCode::OK);
    if let Some(other) = ids.iter().find(|i| !mine(&first).contains(i)) {
        let r = e1.get(&format!("/expert/review/{other}")).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
    }

    // A score above the criterion's maximum is refused, nothing saved.
    let page = e1.get(&format!("/expert/review/{target}")).await;
    let v = crate::city::hidden(&page.body, "_version");
    let r = e1
        .post(
            &format!("/expert/review/{target}/score"),
            &[
                ("_version", &v),
                ("score.c1", "21"),
                ("action", "save"),
                ("comment", ""),
            ],
        )
        .await;
    assert!(r.body.contains("不能超过该项满分20分"), "{}", r.body);
    assert_eq!(
        scalar(&app, "SELECT COUNT(*) FROM review_assignments WHERE saved_at IS NOT NULL AND expert_id <> $1", "").await,
        0
    );

    // The first expert declares a conflict on one application: a new expert is drawn.
    let r = e1
        .post(
            &format!("/expert/review/{target}/decline"),
            &[("reason", "近三年曾为该企业提供咨询服务")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let live = scalar(
        &app,
        "SELECT COUNT(*) FROM review_assignments WHERE application_id = $1 AND status <> 'declined'",
        &target,
    )
    .await;
    assert_eq!(live, 3, "the declined place is filled again");

    // Every live assignment is scored and submitted: expert i gives 60 + 5i in total.
    let live_pairs = app
        .state
        .db
        .query(
            "SELECT a.application_id, u.username FROM review_assignments a JOIN experts e ON e.id = a.expert_id \
             JOIN users u ON u.id = e.user_id WHERE a.status = 'assigned' ORDER BY u.username, a.application_id",
            vec![],
        )
        .await
        .expect("query");
    let mut clients: std::collections::HashMap<String, Client> = Default::default();
    for p in &live_pairs {
        let (id, user) = (p.text(0), p.text(1));
        if !clients.contains_key(&user) {
            let mut c = app.login(&user, DEMO_PASSWORD).await;
            c.post("/expert/pledge", &[("batch", BATCH), ("agree", "1")])
                .await;
            clients.insert(user.clone(), c);
        }
        let c = clients.get_mut(&user).expect("client");
        let page = c.get(&format!("/expert/review/{id}")).await;
        let v = crate::city::hidden(&page.body, "_version");
        // c1..c5 = 12, 15, 15, 9, 9 → 60 for the first application id, more for later ones.
        let bump = ids.iter().position(|x| *x == id).expect("ours") as i32;
        let c3 = (15 + bump * 5).to_string();
        let r = c
            .post(
                &format!("/expert/review/{id}/score"),
                &[
                    ("_version", &v),
                    ("score.c1", "12"),
                    ("score.c2", "15"),
                    ("score.c3", &c3),
                    ("score.c4", "9"),
                    ("score.c5", "9"),
                    ("comment", "上云应用较深入"),
                    ("action", "submit"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    }

    // The criteria are locked now.
    let page = prov.get(&format!("/province/review?batch={BATCH}")).await;
    settings[1].1 = crate::city::hidden(&page.body, "_version");
    let fields = post_settings(&settings, &[("c.0.max".into(), "30".into())]);
    let refs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let r = prov.post("/province/review/settings", &refs).await;
    assert!(r.body.contains("评价标准已锁定"), "{}", r.body);

    // The ranking: 70, 65, 60 by construction, ids[2] first.
    let r = prov
        .get(&format!("/province/review/results?batch={BATCH}"))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let n2 = name(&app, &ids[2]).await;
    assert!(r.body.find(&n2).expect("n2") < r.body.find(&n0).expect("n0"));
    assert!(r.body.contains("70.00") && r.body.contains("60.00"));
    // The list shows the final score as soon as the scores are in.
    let row = list_row(&mut prov, &n2).await;
    assert!(row.contains("<td>70</td>"), "{row}");

    // The panel leader signs each opinion off.
    let leader = pairs[pairs.len() - 1].text(2);
    let leader_id = app
        .state
        .db
        .query(
            "SELECT e.id FROM experts e JOIN users u ON u.id = e.user_id WHERE u.username = $1",
            vec![leader.clone().into()],
        )
        .await
        .expect("q")[0]
        .text(0);
    let page = prov.get(&format!("/province/review?batch={BATCH}")).await;
    settings[1].1 = crate::city::hidden(&page.body, "_version");
    let fields = post_settings(&settings, &[("leader".into(), leader_id)]);
    let refs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let r = prov.post("/province/review/settings", &refs).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let mut lead = app.login(&leader, DEMO_PASSWORD).await;
    for id in &ids {
        let r = lead
            .post(
                &format!("/expert/panel/{id}"),
                &[
                    ("batch", BATCH),
                    ("opinion", "该企业上云投入持续，成效明显，同意推荐。"),
                    ("conclusion", "recommend"),
                    ("action", "sign"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    }
    // Signed means locked.
    let r = lead
        .post(
            &format!("/expert/panel/{}", ids[0]),
            &[
                ("batch", BATCH),
                ("opinion", "改"),
                ("conclusion", "not_recommend"),
                ("action", "save"),
            ],
        )
        .await;
    assert!(r.body.contains("已签署确认"));
    // A non-leader expert cannot reach the panel.
    let other = clients
        .keys()
        .find(|u| **u != leader)
        .expect("another")
        .clone();
    let r = clients
        .get_mut(&other)
        .expect("c")
        .get(&format!("/expert/panel?batch={BATCH}"))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    // Picking the third without a reason is refused; with one, saved and locked.
    let r = prov
        .post(
            "/province/review/shortlist",
            &[("batch", BATCH), ("pick", &ids[0]), ("action", "save")],
        )
        .await;
    assert!(r.body.contains("请填写入围理由"), "{}", r.body);
    let reason_key = format!("reason.{}", ids[0]);
    let r = prov
        .post(
            "/province/review/shortlist",
            &[
                ("batch", BATCH),
                ("pick", &ids[2]),
                ("pick", &ids[0]),
                (&reason_key, "行业代表性突出"),
                ("action", "lock"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(state_of(&app, &ids[2]).await, "shortlisted");
    assert_eq!(state_of(&app, &ids[0]).await, "shortlisted");
    assert_eq!(state_of(&app, &ids[1]).await, "not_selected");
    let r = prov
        .post(
            "/province/review/shortlist",
            &[("batch", BATCH), ("action", "save")],
        )
        .await;
    assert!(r.body.contains("已锁定"));

    // The 评审汇总表, read back by openpyxl: ranks and final scores.
    let bytes = download(
        &app,
        &prov,
        &format!("/province/review/summary.xlsx?batch={BATCH}"),
    )
    .await;
    let sheet = python("read_xlsx.py", &bytes, "xlsx");
    let text = sheet.to_string();
    assert!(text.contains(&n2) && text.contains("去掉"), "{text}");
    assert!(text.contains("70"));
    // The expert's score sheet and the panel opinions open as Word documents.
    let doc = download(
        &app,
        &prov,
        &format!("/province/review/opinions.docx?batch={BATCH}"),
    )
    .await;
    let doc = python("read_docx.py", &doc, "docx").to_string();
    assert!(doc.contains("同意推荐") && doc.contains("组长"), "{doc}");
    assert!(app.audit_count("review.draw").await >= 2);
    assert_eq!(app.audit_count("shortlist.lock").await, 1);
}

#[tokio::test]
async fn review_rooms_admit_only_their_role() {
    let app = spawn().await;
    app.seed_demo().await;
    let province_gets = [
        "/province/applications",
        "/province/experts",
        "/province/experts/template.xlsx",
        "/province/review",
        "/province/review/results",
        "/province/review/summary.xlsx",
        "/province/review/opinions.docx",
        "/province/publication",
        "/province/cases",
        "/province/cases/compilation.docx",
    ];
    let expert_gets = ["/expert", "/expert/score-sheet.docx"];
    let mut anon = app.client();
    for p in province_gets.iter().chain(&expert_gets) {
        let r = anon.get(p).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{p}");
        assert!(r.location().starts_with("/login"), "{p}");
    }
    for who in ["qiye1", "wuhan", "expert1"] {
        let mut c = app.login(who, DEMO_PASSWORD).await;
        for p in province_gets {
            assert_eq!(c.get(p).await.status, StatusCode::FORBIDDEN, "{who} {p}");
        }
        for p in [
            "/province/review/draw",
            "/province/review/shortlist",
            "/province/experts",
            "/province/publication/open",
            "/province/publication/final",
        ] {
            let r = c.post(p, &[("batch", BATCH)]).await;
            assert_eq!(r.status, StatusCode::FORBIDDEN, "{who} POST {p}");
        }
    }
    for who in ["qiye1", "wuhan", "province"] {
        let mut c = app.login(who, DEMO_PASSWORD).await;
        for p in expert_gets {
            assert_eq!(c.get(p).await.status, StatusCode::FORBIDDEN, "{who} {p}");
        }
        let r = c
            .post("/expert/pledge", &[("batch", BATCH), ("agree", "1")])
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{who}");
    }
    let mut prov = app.login("province", DEMO_PASSWORD).await;
    for p in province_gets {
        assert_eq!(prov.get(p).await.status, StatusCode::OK, "{p}");
    }
    // The city's objection desk is the city's; the public pages are everyone's.
    for who in ["qiye1", "province", "expert1"] {
        let mut c = app.login(who, DEMO_PASSWORD).await;
        assert_eq!(
            c.get("/city/objections").await.status,
            StatusCode::FORBIDDEN,
            "{who}"
        );
    }
    let mut anon = app.client();
    assert_eq!(
        anon.get("/city/objections").await.status,
        StatusCode::SEE_OTHER
    );
    for p in ["/", "/tongzhi", "/anli"] {
        assert_eq!(anon.get(p).await.status, StatusCode::OK, "{p}");
    }
    // A demo expert account outside the pool sees no one's material.
    let mut e = app.login("expert1", DEMO_PASSWORD).await;
    let ids = wuhan_apps(&app, 1).await;
    assert_eq!(
        e.get(&format!("/expert/review/{}", ids[0])).await.status,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn a_panel_by_specialty_draws_experts_of_its_fields_and_has_its_own_leader() {
    let app = spawn().await;
    app.seed_demo().await;
    let ids = wuhan_apps(&app, 3).await;
    let mut wuhan = app.login("wuhan", DEMO_PASSWORD).await;
    ready_recommendation(&mut wuhan, &[&ids[0], &ids[1], &ids[2]]).await;
    assert_eq!(submit_rec(&mut wuhan).await.status, StatusCode::SEE_OTHER);
    let mut prov = app.login("province", DEMO_PASSWORD).await;
    let body = import(&mut prov, &sheet(&EXPERTS)).await;
    assert!(body.contains("已添加 6 名专家"), "{body}");
    usable(&app).await;
    let industry = app
        .state
        .db
        .query(
            "SELECT industry FROM applications WHERE id = $1",
            vec![ids[0].clone().into()],
        )
        .await
        .expect("q")[0]
        .text(0);
    let expert_id = |name: &'static str| {
        let db = app.state.db.clone();
        async move {
            db.query("SELECT id FROM experts WHERE name = $1", vec![name.into()])
                .await
                .expect("q")[0]
                .text(0)
        }
    };
    let (zhao, li) = (expert_id("赵强").await, expert_id("李华").await);
    let page = prov.get(&format!("/province/review?batch={BATCH}")).await;
    let version = crate::city::hidden(&page.body, "_version");
    let mut fields: Vec<(String, String)> = vec![
        ("batch".into(), BATCH.into()),
        ("_version".into(), version),
        ("per_application".into(), "2".into()),
        ("max_per_expert".into(), "10".into()),
        ("spread_threshold".into(), "20".into()),
        ("same_city".into(), "1".into()),
        ("p.0.name".into(), "智能制造组".into()),
        ("p.0.industries".into(), industry.clone()),
        ("p.0.fields".into(), "智能制造、大数据".into()),
        ("p.0.leader".into(), zhao.clone()),
        ("leader".into(), li.clone()),
    ];
    for (i, c) in shenbao::domain::scoring::province_default()
        .criteria
        .iter()
        .enumerate()
    {
        fields.push((format!("c.{i}.key"), c.key.clone()));
        fields.push((format!("c.{i}.name"), c.name.clone()));
        fields.push((format!("c.{i}.max"), shenbao::domain::scoring::show(c.max)));
        fields.push((format!("c.{i}.weight"), "1".into()));
    }
    let refs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let r = prov.post("/province/review/settings", &refs).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let r = prov
        .post("/province/review/draw", &[("batch", BATCH)])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    // Every application of the panel's industry got only experts of its fields.
    let rows = app
        .state
        .db
        .query(
            "SELECT a.application_id, e.fields FROM review_assignments a JOIN experts e ON e.id = a.expert_id \
             JOIN applications p ON p.id = a.application_id WHERE p.industry = $1",
            vec![industry.clone().into()],
        )
        .await
        .expect("q");
    assert!(!rows.is_empty());
    for r in &rows {
        let f = r.text(1);
        assert!(f.contains("智能制造") || f.contains("大数据"), "{f}");
    }
    // The panel's leader leads it; the general panel's leader does not.
    let s = shenbao::services::review::settings(&app.state.db, &app.state.program, BATCH)
        .await
        .expect("settings");
    assert_eq!(s.leader_for(&industry), Some(zhao.as_str()));
    assert_eq!(s.panels.len(), 1);
    // An industry in two panels is refused.
    let page = prov.get(&format!("/province/review?batch={BATCH}")).await;
    fields[1].1 = crate::city::hidden(&page.body, "_version");
    fields.push(("p.1.name".into(), "另一组".into()));
    fields.push(("p.1.industries".into(), industry.clone()));
    let refs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let r = prov.post("/province/review/settings", &refs).await;
    assert!(r.body.contains("分在了两个评审组"), "{}", r.body);
}

/// A save writes without reading first when the same expert saved the same
/// assignment before (`ScoreHints`); the write itself must then refuse what
/// the read would have: a form loaded before the last save, and a save
/// after the province moved the scoring deadline into the past.
#[tokio::test]
async fn a_save_on_a_kept_assignment_is_checked_by_the_write_itself() {
    let app = spawn().await;
    app.seed_demo_stages().await;
    // The demo's third expert has pledged and saved one draft score.
    let rows = app
        .state
        .db
        .query(
            "SELECT a.application_id, u.username, a.batch_id FROM review_assignments a JOIN experts e ON e.id = a.expert_id \
             JOIN users u ON u.id = e.user_id JOIN expert_pledges p ON p.expert_id = e.id \
             WHERE a.status = 'assigned' AND a.saved_at IS NOT NULL",
            vec![],
        )
        .await
        .expect("query");
    let (target, who, batch) = (rows[0].text(0), rows[0].text(1), rows[0].text(2));
    let mut e = app.login(&who, DEMO_PASSWORD).await;
    let page = e.get(&format!("/expert/review/{target}")).await;
    let v = crate::city::hidden(&page.body, "_version");
    let save = |version: String, c1: &'static str| {
        vec![
            ("_version".to_string(), version),
            ("score.c1".to_string(), c1.to_string()),
            ("action".to_string(), "save".to_string()),
            ("comment".to_string(), String::new()),
        ]
    };
    let post = |e: &mut Client, fields: Vec<(String, String)>| {
        let path = format!("/expert/review/{target}/score");
        let mut e = std::mem::replace(e, app.client());
        async move {
            let refs: Vec<(&str, &str)> = fields
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            let r = e.post(&path, &refs).await;
            (e, r)
        }
    };
    let version_now = || async {
        scalar(
            &app,
            "SELECT version FROM review_assignments WHERE application_id = $1 AND status = 'assigned'",
            &target,
        )
        .await
    };
    let (e2, r) = post(&mut e, save(v.clone(), "11")).await;
    e = e2;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let after_first = version_now().await;
    assert_eq!(after_first, v.parse::<i64>().expect("version") + 1);
    // A second tab still at the old version: refused, nothing written.
    let (e2, r) = post(&mut e, save(v.clone(), "12")).await;
    e = e2;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("数据已被他人修改"), "{}", r.body);
    assert_eq!(version_now().await, after_first);
    // The next save from the fresh form passes (the kept assignment moved on with it).
    let (e2, r) = post(&mut e, save(after_first.to_string(), "13")).await;
    e = e2;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let kept = version_now().await;
    assert_eq!(kept, after_first + 1);
    // The province closes scoring an hour ago: the kept settings are out of date.
    let program = &app.state.program;
    let mut s = shenbao::services::review::settings(&app.state.db, program, &batch)
        .await
        .expect("settings");
    let now = app.clock.now();
    s.score_deadline = Some(now - 3_600_000);
    let province = shenbao::store::audit::Actor {
        id: None,
        name: "province".into(),
        role: Some("province"),
        ip: "127.0.0.1".into(),
    };
    shenbao::services::review::save_settings(&app.state.db, &province, s, now)
        .await
        .expect("save settings");
    let (_, r) = post(&mut e, save(kept.to_string(), "14")).await;
    assert!(r.body.contains("评分截止时间"), "{}", r.body);
    assert_eq!(version_now().await, kept);
}
