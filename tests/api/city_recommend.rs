//! The city's recommendation: scoring by several reviewers, its own sheet
//! and hand-ordered ties, the cap, the deadline, the lock and the
//! province's reopening, and the 推荐表 read back by an independent reader.

use axum::http::StatusCode;
use serde_json::Value;

use crate::apply::{PDF, submitted};
use crate::city::{
    BATCH, DAY, add, count, download, pass, python, ready_recommendation, save_list, score,
    state_of, submit_rec, upload_file, wuhan_apps,
};
use crate::helpers::{DEMO_PASSWORD, spawn};

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
    assert!(r.flash() != "");
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
    assert!(r.flash() != "", "{}", r.location());
    assert!(!r.location().contains("error="), "{}", r.location());
    let page = wuhan.get(r.location()).await;
    assert!(page.body.contains("已达到本市推荐名额上限（1家）"));
    // A refused action, not a form problem under some field's name.
    assert!(page.body.contains("操作未完成"), "{}", page.body);
    assert!(!page.body.contains("请修改以下"), "{}", page.body);
    assert!(!page.body.contains("推荐名单：已达到"), "{}", page.body);
    // Shown once.
    let again = wuhan.get(r.location()).await;
    assert!(!again.body.contains("已达到本市推荐名额上限"));
    // At the cap, no page offers 加入推荐 any more.
    assert!(again.body.contains("已达名额上限"), "{}", again.body);
    assert!(!again.body.contains(">加入推荐</button>"), "{}", again.body);
    let ranking = wuhan.get(&format!("/city/ranking?batch={BATCH}")).await;
    assert!(
        !ranking.body.contains(">加入推荐</button>"),
        "{}",
        ranking.body
    );
    // A link cannot put words on an official's page.
    let forged = wuhan
        .get("/city/recommendation?error=%E8%AF%B7%E8%87%B4%E7%94%B5")
        .await;
    assert!(!forged.body.contains("请致电"));
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
    // The city's 审核意见 now fills its box on the 申报书.
    let bytes = download(&app, &wuhan, &format!("/apply/{own}/document.docx")).await;
    let doc = python("read_docx.py", &bytes, "docx");
    assert!(doc.to_string().contains("经审核，同意推荐。"));
    // The province package now holds exactly this list, in order, with reasons and opinions.
    let sel = shenbao::docs::package_selection(&app.state.db, BATCH)
        .await
        .unwrap();
    let wuhan_list = sel
        .iter()
        .find(|c| c.code == "420100")
        .expect("wuhan in the package");
    let got: Vec<&str> = wuhan_list
        .applications
        .iter()
        .map(|a| a.id.as_str())
        .collect();
    assert_eq!(got, vec![own.as_str(), ids[0].as_str()]);
    assert_eq!(wuhan_list.applications[0].reason, "推荐理由1");
    assert_eq!(wuhan_list.applications[1].reason, "推荐理由2");
    assert_eq!(
        wuhan_list.applications[0].opinion.as_deref(),
        Some("经审核，同意推荐。")
    );

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
    assert!(add(&mut wuhan, &ids[2]).await.flash() != "");
    let r = wuhan
        .post(
            "/city/recommendation/save",
            &[("batch", BATCH), ("_version", "99"), ("rank.x", "1")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(upload_file(&mut wuhan, "letter", PDF).await.flash() != "");
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
    assert!(r.flash() != "");
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
    assert!(r.flash() != "");
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
async fn a_city_without_its_own_sheet_scores_on_the_provinces_default() {
    let app = spawn().await;
    app.seed_demo().await;
    let (_, id) = submitted(&app, "qiye1", 7).await;
    let mut province = app.login("province", DEMO_PASSWORD).await;
    let page = province.get("/province/scoring-sheet").await;
    assert!(page.body.contains("上云投入与信息化基础"));
    let r = province
        .post(
            "/province/scoring-sheet",
            &[
                ("_version", "0"),
                ("name.0", "综合评价"),
                ("description.0", "按通知要求综合评价"),
                ("max.0", "100"),
                ("weight.0", "1"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let mut wuhan = app.login("wuhan", DEMO_PASSWORD).await;
    let sheet = wuhan.get("/city/sheet").await;
    assert!(sheet.body.contains("综合评价"));
    pass(&mut wuhan, &id).await;
    let page = wuhan.get(&format!("/city/applications/{id}/score")).await;
    assert!(page.body.contains("综合评价（0–100分）"));
    let r = wuhan
        .post(
            &format!("/city/applications/{id}/score"),
            &[("_version", "0"), ("score.c1", "88.5")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    // The city keeps the sheet it scored with when the province changes its default.
    let r = province
        .post(
            "/province/scoring-sheet",
            &[("_version", "1"), ("name.0", "新默认项"), ("max.0", "10")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let ranking = wuhan.get("/city/ranking").await;
    assert!(ranking.body.contains("综合评价（平均）"));
    assert!(ranking.body.contains("88.5"));
    let overview = province
        .get(&format!("/province/recommendations?batch={BATCH}"))
        .await;
    assert!(overview.body.contains("武汉市") && overview.body.contains("填报中"));
    assert_eq!(app.audit_count("scoring_sheet.change").await, 2);
}
