//! The province package as a job through the router: it holds exactly what
//! the cities submitted (报送), whatever the applications' state since.

use std::io::Read;

use axum::http::StatusCode;
use serde_json::Value;

use crate::apply::{PDF, submitted};
use crate::city::{python, ready_recommendation, state_of, submit_rec, wuhan_apps};
use crate::helpers::{DEMO_PASSWORD, TestApp, spawn};
use shenbao::domain::lifecycle::State;
use shenbao::domain::role::Role;
use shenbao::store::audit::Actor;
use shenbao::store::{Batch, applications};

async fn name(app: &TestApp, id: &str) -> String {
    applications::by_id(&app.state.db, id)
        .await
        .expect("query")
        .expect("application")
        .enterprise_name
}

/// The province's expert draw moves a recommended application on.
async fn under_review(app: &TestApp, id: &str) {
    let a = applications::by_id(&app.state.db, id)
        .await
        .expect("query")
        .expect("application");
    let actor = Actor {
        id: None,
        name: "province".into(),
        role: Some(Role::Province.as_str()),
        ip: "test".into(),
    };
    let mut b = Batch::new();
    applications::push_transition(
        &mut b,
        &a,
        State::UnderReview,
        Role::Province,
        &actor,
        "专家抽取",
        app.clock.now(),
    )
    .expect("allowed");
    app.state.db.write(b).await.expect("write");
}

fn text(v: &Value) -> &str {
    v.as_str().unwrap_or_default()
}

#[tokio::test]
async fn the_province_exports_what_the_cities_submitted_as_a_job_and_downloads_it() {
    let app = spawn().await;
    app.seed_demo().await;
    // 武汉 recommends two of three, in its own order, and submits.
    let ids = wuhan_apps(&app, 3).await;
    let mut wuhan = app.login("wuhan", DEMO_PASSWORD).await;
    ready_recommendation(&mut wuhan, &[&ids[2], &ids[0]]).await;
    let r = submit_rec(&mut wuhan).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    under_review(&app, &ids[2]).await;
    assert_eq!(state_of(&app, &ids[2]).await, "under_review");
    // 宜昌 has received an application but not submitted anything.
    let (_, yichang_app) = submitted(&app, "qiye2", 32).await;

    let mut p = app.login("province", DEMO_PASSWORD).await;
    p.get("/province/exports").await;
    let r = p
        .post(
            "/province/exports",
            &[("batch", "hubei-cloud-benchmark-2021")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let job = r.location().to_string();
    let mut done = false;
    for _ in 0..200 {
        let page = p.get(&job).await;
        if page.body.contains("下载压缩包") {
            done = true;
            assert!(page.body.contains("已完成：2份申报书"), "{}", page.body);
            break;
        }
        assert!(!page.body.contains("导出失败"), "{}", page.body);
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(done, "the export finished");
    let r = p.get(&format!("{job}/download")).await;
    assert_eq!(r.status, StatusCode::OK);
    let bytes = r.raw.clone();
    assert_eq!(
        r.headers["content-length"].to_str().unwrap(),
        bytes.len().to_string()
    );
    // A download cut off resumes where it stopped: the rest, from byte 100.
    let rest = p.get_range(&format!("{job}/download"), "bytes=100-").await;
    assert_eq!(rest.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        rest.headers["content-range"].to_str().unwrap(),
        format!("bytes 100-{}/{}", bytes.len() - 1, bytes.len())
    );
    assert_eq!(rest.raw, bytes[100..]);
    let past = p
        .get_range(
            &format!("{job}/download"),
            &format!("bytes={}-", bytes.len() + 5),
        )
        .await;
    assert_eq!(past.status, StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(
        past.headers["content-range"].to_str().unwrap(),
        format!("bytes */{}", bytes.len())
    );
    // A package finished before packages went into the file store lies in
    // `<data>/exports`: at start it is moved into the store, and served.
    let id = job.rsplit('/').next().unwrap();
    let stored = app.data_dir().join(format!("attachments/exports/{id}.zip"));
    let old = app.data_dir().join(format!("exports/{id}.zip"));
    std::fs::create_dir_all(old.parent().unwrap()).unwrap();
    std::fs::rename(&stored, &old).unwrap();
    assert_ne!(
        p.get(&format!("{job}/download")).await.status,
        StatusCode::OK
    );
    let moved = shenbao::services::exports::carry_over_local(
        &app.state.db,
        &app.state.files,
        &app.data_dir().join("exports"),
    )
    .await
    .unwrap();
    assert_eq!(moved, 1);
    assert!(!old.exists(), "the local copy is gone");
    let r = p.get(&format!("{job}/download")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.raw, bytes, "the package moved whole");
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let names: Vec<String> = (0..zip.len())
        .map(|i| zip.by_index(i).unwrap().name().unwrap().to_string())
        .collect();
    let mut read = |name: &str| {
        let mut f = zip
            .by_name(name)
            .unwrap_or_else(|_| panic!("no {name} in {names:?}"));
        let mut buf = Vec::new();
        f.read_to_end(&mut buf).unwrap();
        buf
    };

    // 武汉's folder: its stamped files as uploaded, its list in its order.
    let dir = "420100-武汉市";
    assert_eq!(read(&format!("{dir}/市州推荐文件（盖章）-盖章.pdf")), PDF);
    assert_eq!(
        read(&format!("{dir}/市州推荐表扫描件（盖章）-盖章.pdf")),
        PDF
    );
    let listed = [ids[2].clone(), ids[0].clone()];
    for (i, a) in listed.iter().enumerate() {
        let stem = format!("{dir}/{:02}-{}", i + 1, name(&app, a).await);
        assert!(read(&format!("{stem}-申报书.docx")).starts_with(b"PK"));
        assert!(read(&format!("{stem}-盖章扫描件.pdf")).starts_with(b"%PDF-"));
    }
    let unlisted = name(&app, &ids[1]).await;
    assert!(
        names.iter().all(|n| !n.contains(&unlisted)),
        "{unlisted} was not recommended: {names:?}"
    );
    let table = python("read_xlsx.py", &read(&format!("{dir}/推荐表.xlsx")), "xlsx");
    let rows = table["推荐表"]["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 3 + 2);
    for (i, a) in listed.iter().enumerate() {
        assert_eq!(text(&rows[3 + i][1]), name(&app, a).await);
        assert_eq!(text(&rows[3 + i][8]), format!("推荐理由{}", i + 1));
        assert_eq!(rows[3 + i][9], i as u64 + 1);
    }

    // 宜昌 has no folder, nothing of its application, and reads 未报送.
    assert!(names.iter().all(|n| !n.starts_with("420500-")), "{names:?}");
    let yichang_name = name(&app, &yichang_app).await;
    assert!(names.iter().all(|n| !n.contains(&yichang_name)));
    let report = String::from_utf8(read("报送情况.txt")).unwrap();
    assert!(report.contains("420100 武汉市：已报送（"), "{report}");
    assert!(report.contains("推荐2家）"), "{report}");
    assert!(report.contains("420500 宜昌市：未报送\r\n"), "{report}");
    assert_eq!(report.matches("：未报送").count(), 16, "{report}");

    // The summary: the two recommended applications with their state.
    let summary = python("read_xlsx.py", &read("汇总表.xlsx"), "xlsx");
    let rows = summary["汇总表"]["rows"].as_array().unwrap();
    assert_eq!(rows[0][4], "状态");
    assert_eq!(rows.len(), 1 + 2);
    let number = |id: &str| {
        let db = app.state.db.clone();
        let id = id.to_string();
        async move {
            shenbao::store::applications::number_of(&db, &id)
                .await
                .unwrap()
        }
    };
    assert_eq!(text(&rows[1][14]), number(&ids[2]).await);
    assert_eq!(text(&rows[1][4]), "专家评审中");
    assert_eq!(rows[1][2], 1);
    assert_eq!(text(&rows[1][11]), "推荐理由1");
    assert_eq!(text(&rows[2][14]), number(&ids[0]).await);
    assert_eq!(text(&rows[2][4]), "已推荐至省经信厅");
    assert_eq!(rows[2][2], 2);
    let sheet = summary["报送情况"]["rows"].as_array().unwrap();
    let yichang = sheet.iter().find(|r| r[2] == "宜昌市").expect("宜昌 row");
    assert_eq!(yichang[3], "未报送");
    let wh = sheet.iter().find(|r| r[2] == "武汉市").expect("武汉 row");
    assert_eq!((wh[3].as_str(), wh[5].as_u64()), (Some("已报送"), Some(2)));

    assert_eq!(app.audit_count("export.package").await, 1);
    // Nobody else may export or download.
    let mut city = app.login("wuhan", DEMO_PASSWORD).await;
    assert_eq!(
        city.get(&format!("{job}/download")).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        city.get("/province/exports").await.status,
        StatusCode::FORBIDDEN
    );
}
