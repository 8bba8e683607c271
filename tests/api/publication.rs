//! Publication through the real router: the 公示 period in working days
//! across National Day and its 调休 Saturday, objections refused before the
//! start and one second after the end, the per-phone and per-address limits,
//! nothing private on any public page, the objector's identity hidden from
//! the city, the decision, and the final 公告.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};

use crate::city::{BATCH, wuhan_apps};
use crate::helpers::{Client, DEMO_PASSWORD, START, TestApp, spawn};

pub(crate) const HOUR: i64 = 3600 * 1000;
/// 2021-09-28 00:00 Asia/Shanghai, the first day of the 公示 below.
pub(crate) const SEPT_28: i64 = 1_632_758_400_000;
/// 2021-10-09 23:59:59.999 Asia/Shanghai, its last moment.
const OCT_09_END: i64 = 1_633_795_200_000 - 1;

/// Three 武汉 applications on a locked shortlist (set up in the store: the
/// review that leads here is tested in `review.rs`).
pub(crate) async fn shortlisted(app: &TestApp) -> Vec<String> {
    let ids = wuhan_apps(app, 3).await;
    let mut b = shenbao::store::Batch::new();
    b.push(
        "INSERT INTO shortlists (batch_id, locked_at, locked_by, rule, updated_at) VALUES ($1, $2, 'test', '', $2)",
        vec![BATCH.into(), START.into()],
    );
    for (i, id) in ids.iter().enumerate() {
        b.push(
            "UPDATE applications SET state = 'shortlisted' WHERE id = $1",
            vec![id.clone().into()],
        );
        b.push(
            "INSERT INTO shortlist_items (batch_id, application_id, rank, final_h, reason) VALUES ($1, $2, $3, 8000, '')",
            vec![BATCH.into(), id.clone().into(), (i as i64 + 1).into()],
        );
    }
    app.state.db.write(b).await.expect("setup");
    ids
}

pub(crate) async fn object(
    c: &mut Client,
    app_id: &str,
    name: &str,
    phone: &str,
) -> (StatusCode, String) {
    if !c.cookies.contains_key("sb_csrf") {
        c.get(&format!("/gongshi/{BATCH}/objection")).await;
    }
    let r = c
        .post_multipart(
            &format!("/gongshi/{BATCH}/objection"),
            &[
                ("application", app_id),
                ("name", name),
                ("unit", "某某科技有限公司"),
                ("phone", phone),
                ("email", "objector@example.com"),
                (
                    "facts",
                    "该企业申报书所列上云投入与其审计报告不符，2020年度并无相关支出记录。",
                ),
            ],
            Some(("evidence", "证据.pdf", crate::apply::PDF)),
        )
        .await;
    (r.status, r.body)
}

fn receipt_of(body: &str) -> String {
    let i = body
        .find("您的查询码：<strong class=\"mono\">")
        .expect("receipt")
        + "您的查询码：<strong class=\"mono\">".len();
    body[i..i + 12].to_string()
}

async fn contacts_of(app: &TestApp, id: &str) -> Vec<(String, String)> {
    let (_, answers) = shenbao::store::applications::content(&app.state.db, id)
        .await
        .expect("q")
        .expect("content");
    ["contact_mobile", "contact_email"]
        .iter()
        .filter_map(|k| {
            answers
                .get(*k)
                .and_then(|v| v.as_str())
                .filter(|v| !v.is_empty())
                .map(|v| (k.to_string(), v.to_string()))
        })
        .collect()
}

async fn contacts(app: &TestApp, ids: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for id in ids {
        let (_, answers) = shenbao::store::applications::content(&app.state.db, id)
            .await
            .expect("q")
            .expect("content");
        for k in ["contact_mobile", "contact_email", "contact_name"] {
            if let Some(v) = answers.get(k).and_then(|v| v.as_str())
                && !v.is_empty()
            {
                out.push(v.to_string());
            }
        }
    }
    out
}

#[tokio::test]
async fn the_publicity_runs_from_opening_to_the_final_list() {
    let app = spawn().await;
    app.seed_demo().await;
    let ids = shortlisted(&app).await;
    let mut prov = app.login("province", DEMO_PASSWORD).await;

    // Five working days from Tuesday 2021-09-28: 9-28, 9-29, 9-30, then
    // National Day (10-01..10-07), Friday 10-08 and Saturday 10-09 (调休).
    let r = prov
        .get(&format!(
            "/province/publication?batch={BATCH}&start=2021-09-28&days=5"
        ))
        .await;
    assert!(
        r.body.contains("公示期：2021-09-28 至 2021-10-09"),
        "{}",
        r.body
    );
    let r = prov
        .post(
            "/province/publication/open",
            &[("batch", BATCH), ("start", "2021-09-28"), ("days", "5")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let p = shenbao::store::publication::publicity(&app.state.db, BATCH)
        .await
        .expect("q")
        .expect("opened");
    assert_eq!((p.start_at, p.end_at), (SEPT_28, OCT_09_END));
    // Opened once only.
    let r = prov
        .post(
            "/province/publication/open",
            &[("batch", BATCH), ("start", "2021-09-28"), ("days", "5")],
        )
        .await;
    assert!(r.body.contains("不能重复发布"));

    // The public page: the list, the period, how to object; cached briefly, no cookie.
    let mut visitor = app.client();
    let r = visitor.get(&format!("/gongshi/{BATCH}")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("2021-09-28 至 2021-10-09"));
    assert_eq!(
        r.headers.get(header::CACHE_CONTROL).unwrap(),
        "public, max-age=60"
    );
    assert!(r.headers.get(header::SET_COOKIE).is_none());
    let etag = r.headers.get(header::ETAG).expect("etag").clone();
    let again = visitor
        .send(
            Request::get(format!("/gongshi/{BATCH}"))
                .header(header::IF_NONE_MATCH, etag)
                .body(Body::empty())
                .expect("req"),
        )
        .await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);

    // Before the start: refused, nothing stored.
    let (status, body) = object(&mut visitor, &ids[0], "张伟", "13812345678").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("开始前不受理异议"), "{body}");

    // During the period: a 实名 objection with evidence gets a receipt.
    app.clock.advance(SEPT_28 - START + 10 * HOUR);
    let (status, body) = object(&mut visitor, &ids[0], "张伟", "13812345678").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let receipt = receipt_of(&body);
    let r = visitor
        .get(&format!("/gongshi/query?receipt={receipt}"))
        .await;
    assert!(r.body.contains("已受理"), "{}", r.body);
    // Anonymous objections are refused at the field.
    let (status, body) = object(&mut visitor, &ids[1], "", "13812345679").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("请填写真实姓名"));

    // Per phone: three in one 公示.
    for _ in 0..2 {
        let (s, b) = object(&mut visitor, &ids[1], "张伟", "13812345678").await;
        assert_eq!(s, StatusCode::OK, "{b}");
    }
    let (s, b) = object(&mut visitor, &ids[1], "张伟", "13812345678").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(b.contains("同一手机号在本次公示期内最多提交3件异议"), "{b}");
    // Per address: ten in 24 hours, whatever the phone.
    for i in 0..7 {
        let (s, b) = object(&mut visitor, &ids[2], "王五", &format!("1390000{:04}", i)).await;
        assert_eq!(s, StatusCode::OK, "{b}");
    }
    let (s, b) = object(&mut visitor, &ids[2], "王五", "13900009999").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(b.contains("同一网络地址24小时内最多提交10件异议"), "{b}");
    let mut other = app.client();
    let (s, b) = object(&mut other, &ids[2], "赵六", "13900009999").await;
    assert_eq!(s, StatusCode::OK, "another address is not blocked: {b}");

    // The city verifies without learning who objected; another city sees nothing.
    let first = app
        .state
        .db
        .query(
            "SELECT id FROM objections WHERE receipt = $1",
            vec![receipt.clone().into()],
        )
        .await
        .expect("q")[0]
        .text(0);
    // Sessions end after 30 idle minutes: the clock moved on by days.
    let mut prov = app.login("province", DEMO_PASSWORD).await;
    let r = prov
        .post(
            &format!("/province/objections/{first}/verify"),
            &[
                ("request", "请核实该企业2020年度上云投入"),
                ("deadline", "2021-10-08T17:00"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let mut wuhan = app.login("wuhan", DEMO_PASSWORD).await;
    let r = wuhan.get(&format!("/city/objections/{first}")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("2020年度并无相关支出记录"));
    for private in [
        "张伟",
        "13812345678",
        "objector@example.com",
        "某某科技有限公司",
        receipt.as_str(),
    ] {
        assert!(!r.body.contains(private), "the city sees {private}");
    }
    // Nor in the application's timeline, which the city and the enterprise read.
    let r = wuhan.get(&format!("/city/applications/{}", ids[0])).await;
    assert!(r.body.contains("收到公示期间实名异议") && r.body.contains("公示异议交所在市州核查"));
    for private in ["张伟", "13812345678", receipt.as_str()] {
        assert!(
            !r.body.contains(private),
            "the city's application page shows {private}"
        );
    }
    let mut yichang = app.login("yichang", DEMO_PASSWORD).await;
    assert_eq!(
        yichang
            .get(&format!("/city/objections/{first}"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let r = wuhan
        .post(
            &format!("/city/objections/{first}/findings"),
            &[(
                "findings",
                "经核查，该企业2020年度上云投入有合同和发票，异议所述不属实。",
            )],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    // The enterprise's own pages never show the objector either.
    let mut owner = app.client();
    let user = app
        .state
        .db
        .query(
            "SELECT u.username FROM users u JOIN applications a ON a.enterprise_id = u.id WHERE a.id = $1",
            vec![ids[0].clone().into()],
        )
        .await
        .expect("q")[0]
        .text(0);
    owner.login(&user, DEMO_PASSWORD).await;
    let r = owner.get("/dashboard").await;
    assert!(!r.body.contains("张伟"));
    // It answers (申辩) once, seeing the facts but not who objected.
    let r = owner.get(&format!("/apply/{}/objections", ids[0])).await;
    assert!(r.body.contains("2020年度并无相关支出记录"), "{}", r.body);
    for private in [
        "张伟",
        "13812345678",
        "objector@example.com",
        "某某科技有限公司",
    ] {
        assert!(!r.body.contains(private), "the enterprise sees {private}");
    }
    let answer = "2020年度上云投入见审计报告附注第12项及相关合同发票，异议不实。";
    let r = owner
        .post(
            &format!("/apply/{}/objections/{first}/answer", ids[0]),
            &[("answer", answer)],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let r = owner
        .post(
            &format!("/apply/{}/objections/{first}/answer", ids[0]),
            &[("answer", answer)],
        )
        .await;
    assert!(r.body.contains("只能申辩一次"), "{}", r.body);
    let r = prov.get(&format!("/province/objections/{first}")).await;
    assert!(r.body.contains("审计报告附注第12项"));

    // One second after the end: refused.
    let now = app.clock.now();
    app.clock.advance(OCT_09_END + 1000 - now);
    let (s, b) = object(&mut other, &ids[0], "赵六", "13900008888").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(b.contains("不再受理异议"), "{b}");

    // The final list waits for every objection to be decided.
    let mut prov = app.login("province", DEMO_PASSWORD).await;
    let r = prov
        .post(
            "/province/publication/final",
            &[
                ("batch", BATCH),
                ("doc_number", "鄂经信办函〔2021〕90号"),
                ("date", "2021-10-12"),
            ],
        )
        .await;
    assert!(r.body.contains("件异议未办结"), "{}", r.body);
    let all = shenbao::store::publication::for_batch(&app.state.db, BATCH)
        .await
        .expect("q");
    for o in &all {
        let (decision, outcome) = if o.id == first {
            ("upheld", "cancel")
        } else {
            ("rejected", "keep")
        };
        let r = prov
            .post(
                &format!("/province/objections/{}/decide", o.id),
                &[
                    ("decision", decision),
                    ("outcome", outcome),
                    ("reason", "经核查并研究决定。"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    }
    let r = visitor
        .get(&format!("/gongshi/query?receipt={receipt}"))
        .await;
    assert!(r.body.contains("异议成立，取消入选"), "{}", r.body);
    let r = prov
        .post(
            "/province/publication/final",
            &[
                ("batch", BATCH),
                ("doc_number", "鄂经信办函〔2021〕90号"),
                ("date", "2021-10-12"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(crate::city::state_of(&app, &ids[0]).await, "not_selected");
    assert_eq!(crate::city::state_of(&app, &ids[1]).await, "selected");
    assert_eq!(crate::city::state_of(&app, &ids[2]).await, "selected");
    let r = visitor.get(&format!("/gonggao/{BATCH}")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("鄂经信办函〔2021〕90号"));
    let names: Vec<String> = {
        let mut v = Vec::new();
        for id in &ids {
            v.push(crate::review::name(&app, id).await);
        }
        v
    };
    assert!(!r.body.contains(&names[0]) && r.body.contains(&names[1]));
    // Published once.
    let r = prov
        .post(
            "/province/publication/final",
            &[
                ("batch", BATCH),
                ("doc_number", "改"),
                ("date", "2021-10-13"),
            ],
        )
        .await;
    assert!(r.body.contains("不能再修改"));

    // A winner sees 入选 on its dashboard and prints its certificate; the cancelled one has none.
    let winner = app
        .state
        .db
        .query(
            "SELECT u.username FROM users u JOIN applications a ON a.enterprise_id = u.id WHERE a.id = $1",
            vec![ids[1].clone().into()],
        )
        .await
        .expect("q")[0]
        .text(0);
    let mut w = app.login(&winner, DEMO_PASSWORD).await;
    let r = w.get("/dashboard").await;
    assert!(r.body.contains("贵单位已入选"), "{}", r.body);
    let cert =
        crate::city::download(&app, &w, &format!("/apply/{}/certificate.docx", ids[1])).await;
    let text = crate::city::python("read_docx.py", &cert, "docx").to_string();
    assert!(
        text.contains(&names[1]) && text.contains("鄂经信办函〔2021〕90号"),
        "{text}"
    );
    let mut loser = app.login(&user, DEMO_PASSWORD).await;
    let r = loser
        .get(&format!("/apply/{}/certificate.docx", ids[0]))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // Nothing private on any public page.
    let private = contacts(&app, &ids).await;
    assert!(!private.is_empty());
    for path in [
        "/".to_string(),
        "/tongzhi".to_string(),
        format!("/tongzhi/{BATCH}"),
        format!("/tongzhi/{BATCH}/feed.atom"),
        format!("/gongshi/{BATCH}"),
        format!("/gongshi/{BATCH}/objection"),
        format!("/gonggao/{BATCH}"),
        format!("/gongshi/query?receipt={receipt}"),
        "/anli".to_string(),
    ] {
        let body = visitor.get(&path).await.body;
        for v in private.iter().map(String::as_str).chain([
            "张伟",
            "赵六",
            "objector@example.com",
            "13812345678",
        ]) {
            assert!(!body.contains(v), "{path} shows {v}");
        }
    }
    assert_eq!(app.audit_count("publicity.final").await, 1);
    assert_eq!(app.audit_count("objection.file").await, 11);
}

#[tokio::test]
async fn a_winner_writes_its_case_the_province_approves_it_and_it_is_public() {
    let app = spawn().await;
    app.seed_demo().await;
    let ids = wuhan_apps(&app, 2).await;
    app.state
        .db
        .write(shenbao::store::Batch::one(
            "UPDATE applications SET state = 'selected' WHERE id = $1 OR id = $2",
            vec![ids[0].clone().into(), ids[1].clone().into()],
        ))
        .await
        .expect("setup");
    let user_of = |id: String| {
        let db = app.state.db.clone();
        async move {
            db.query(
                "SELECT u.username FROM users u JOIN applications a ON a.enterprise_id = u.id WHERE a.id = $1",
                vec![id.into()],
            )
            .await
            .expect("q")[0]
                .text(0)
        }
    };
    let mut owner = app
        .login(&user_of(ids[0].clone()).await, DEMO_PASSWORD)
        .await;
    let mut other = app
        .login(&user_of(ids[1].clone()).await, DEMO_PASSWORD)
        .await;
    let case = format!("/apply/{}/case", ids[0]);

    // Prefilled from the 申报书; another enterprise cannot open it.
    let r = owner.get(&case).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("一、项目建设内容"), "{}", r.body);
    assert_eq!(other.get(&case).await.status, StatusCode::NOT_FOUND);
    let body = {
        let i = r.body.find("name=\"body\"").expect("body field");
        let start = i + r.body[i..].find('>').expect(">") + 1;
        let end = start + r.body[start..].find("</textarea>").expect("end");
        r.body[start..end].replace("&#10;", "\n")
    };
    // Too short to submit: refused at the field, nothing lost.
    let r = owner
        .post(
            &case,
            &[
                ("_version", "0"),
                ("title", "云帆案例"),
                ("summary", "摘要"),
                ("body", "太短"),
                ("action", "submit"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("案例正文不少于200字") && r.body.contains("太短"));
    // A picture: PNG accepted, PDF refused.
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";
    let (s1, _) = upload_image(&mut owner, &ids[0], "现场.png", png).await;
    assert_eq!(s1, StatusCode::SEE_OTHER);
    let (s2, b2) = upload_image(&mut owner, &ids[0], "说明.pdf", crate::apply::PDF).await;
    assert_eq!(s2, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(b2.contains("只接受 JPG 或 PNG"), "{b2}");
    let image = app
        .state
        .db
        .query(
            "SELECT id FROM case_images WHERE application_id = $1",
            vec![ids[0].clone().into()],
        )
        .await
        .expect("q")[0]
        .text(0);
    let r = owner
        .post(
            &case,
            &[
                ("_version", "0"),
                ("title", "云帆上云典型案例"),
                ("summary", "设备上云，年节约成本120万元。"),
                ("body", &body),
                ("action", "submit"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("案例已提交"));
    // Not public yet, nor its picture.
    let mut visitor = app.client();
    assert!(!visitor.get("/anli").await.body.contains("云帆上云典型案例"));
    assert_eq!(
        visitor.get(&format!("/anli/images/{image}")).await.status,
        StatusCode::NOT_FOUND
    );

    // The province returns it with a note, then approves the corrected case.
    let mut prov = app.login("province", DEMO_PASSWORD).await;
    let page = prov.get(&format!("/province/cases/{}", ids[0])).await;
    let v = crate::city::hidden(&page.body, "_version");
    let r = prov
        .post(
            &format!("/province/cases/{}", ids[0]),
            &[
                ("_version", &v),
                ("title", "云帆上云典型案例"),
                ("summary", "设备上云，年节约成本120万元。"),
                ("body", &body),
                ("note", ""),
                ("action", "return"),
            ],
        )
        .await;
    assert!(r.body.contains("退回时请写明修改意见"));
    let r = prov
        .post(
            &format!("/province/cases/{}", ids[0]),
            &[
                ("_version", &v),
                ("title", "云帆上云典型案例"),
                ("summary", "设备上云，年节约成本120万元。"),
                ("body", &body),
                ("note", "请补充量化成效"),
                ("action", "return"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let r = owner.get(&case).await;
    assert!(r.body.contains("请补充量化成效"));
    let v = crate::city::hidden(&r.body, "_version");
    let body2 = format!("{body}\n六、量化成效\n设备综合效率提升18%，年节约成本120万元。");
    let r = owner
        .post(
            &case,
            &[
                ("_version", &v),
                ("title", "云帆上云典型案例"),
                ("summary", "设备上云，年节约成本120万元。"),
                ("body", &body2),
                ("action", "submit"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let page = prov.get(&format!("/province/cases/{}", ids[0])).await;
    let v = crate::city::hidden(&page.body, "_version");
    let r = prov
        .post(
            &format!("/province/cases/{}", ids[0]),
            &[
                ("_version", &v),
                ("title", "云帆上云典型案例"),
                ("summary", "设备上云，年节约成本120万元。"),
                ("body", &body2),
                ("note", ""),
                ("action", "approve"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);

    // Public: in the gallery, filterable, on its own page with its picture.
    let name = crate::review::name(&app, &ids[0]).await;
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
    let r = visitor
        .get(&format!(
            "/anli?industry={}",
            shenbao::web::shared::error::urlencode(&industry)
        ))
        .await;
    assert!(r.body.contains("云帆上云典型案例"), "{}", r.body);
    let r = visitor.get("/anli?city=%E9%BB%84%E7%9F%B3%E5%B8%82").await;
    assert!(!r.body.contains("云帆上云典型案例"));
    let r = visitor.get(&format!("/anli/{}", ids[0])).await;
    assert!(r.body.contains("设备综合效率提升18%") && r.body.contains(&name));
    // The case page shows the case, never the contacts of the 申报书.
    for (_, v) in contacts_of(&app, &ids[0]).await {
        assert!(!r.body.contains(&v), "the case page shows {v}");
    }
    assert_eq!(
        visitor.get(&format!("/anli/images/{image}")).await.status,
        StatusCode::OK
    );
    // The enterprise can no longer change it; the province's 汇编 has it.
    let r = owner
        .post(
            &case,
            &[
                ("_version", "9"),
                ("title", "改"),
                ("summary", "改"),
                ("body", &body2),
                ("action", "save"),
            ],
        )
        .await;
    assert!(r.body.contains("已审定发布，不能再修改"), "{}", r.body);
    let doc = crate::city::download(&app, &prov, "/province/cases/compilation.docx").await;
    let text = crate::city::python("read_docx.py", &doc, "docx").to_string();
    assert!(
        text.contains("云帆上云典型案例") && text.contains("设备综合效率提升18%"),
        "{text}"
    );

    // Without consent, no case.
    app.state
        .db
        .write(shenbao::store::Batch::one(
            "UPDATE applications SET declarations = '[]' WHERE id = $1",
            vec![ids[1].clone().into()],
        ))
        .await
        .expect("consent");
    let r = other
        .post(
            &format!("/apply/{}/case", ids[1]),
            &[
                ("_version", "0"),
                ("title", "案例"),
                ("summary", ""),
                ("body", ""),
                ("action", "save"),
            ],
        )
        .await;
    assert!(r.body.contains("未同意公开发布典型案例"), "{}", r.body);
    assert_eq!(app.audit_count("case.approve").await, 1);
}

async fn upload_image(c: &mut Client, id: &str, name: &str, bytes: &[u8]) -> (StatusCode, String) {
    let r = c
        .post_multipart(
            &format!("/apply/{id}/case/images"),
            &[],
            Some(("image", name, bytes)),
        )
        .await;
    (r.status, r.body)
}
