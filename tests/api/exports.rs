use std::io::Read;

use axum::http::StatusCode;

use crate::apply::submitted;
use crate::helpers::{DEMO_PASSWORD, spawn};

#[tokio::test]
async fn the_province_exports_the_package_as_a_job_and_downloads_it() {
    let app = spawn().await;
    app.seed_demo().await;
    submitted(&app, "qiye1", 31).await;
    submitted(&app, "qiye2", 32).await;
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
    // The body went through a lossy UTF-8 conversion in the test client; fetch the file itself.
    let id = job.rsplit('/').next().unwrap();
    let bytes =
        std::fs::read(app.state.data_dir.join("exports").join(format!("{id}.zip"))).unwrap();
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let names: Vec<String> = (0..zip.len())
        .map(|i| zip.by_index(i).unwrap().name().unwrap().to_string())
        .collect();
    assert!(
        names
            .iter()
            .any(|n| n.starts_with("420100-武汉市/") && n.ends_with("推荐表.xlsx")),
        "{names:?}"
    );
    assert!(
        names
            .iter()
            .any(|n| n.starts_with("420500-宜昌市/") && n.ends_with("申报书.docx")),
        "{names:?}"
    );
    assert!(names.contains(&"汇总表.xlsx".to_string()));
    let pdf = names
        .iter()
        .find(|n| n.ends_with(".pdf"))
        .expect("a stamped scan");
    let mut head = [0u8; 5];
    zip.by_name(pdf).unwrap().read_exact(&mut head).unwrap();
    assert_eq!(&head, b"%PDF-");
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
