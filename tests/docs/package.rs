//! The province package from a fresh store: a folder per city with its
//! 推荐表, every 申报书 and stamped scan, the summary, progress.

use std::io::Read;

use shenbao::clock::Clock;
use shenbao::demo::{self, DemoState};
use shenbao::docs::{
    draft_doc, load_city, package_selection, submitted_doc, write_package, write_package_stream,
};
use shenbao::files::FileStore;
use shenbao::store::{Db, batches};

use super::{def, read_docx, read_xlsx};

/// 2021-09-10 10:00 Asia/Shanghai.
const START: i64 = 1_631_239_200_000;

async fn store(n: usize) -> (Db, FileStore, tempfile::TempDir, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = match std::env::var("TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => {
            Db::open_postgres_schema(&url, &format!("t_{}", shenbao::store::new_id()))
                .await
                .expect("postgres schema")
        }
        _ => Db::open(None, dir.path()).await.expect("sqlite"),
    };
    let clock = Clock::manual(START);
    let files = FileStore::local(dir.path().join("attachments"));
    demo::seed(&db, &clock, dir.path(), Some("Demo-Pass-2021".into()))
        .await
        .expect("demo seed");
    let made = demo::seed_applications(
        &db,
        &files,
        &clock,
        "Demo-Pass-2021",
        n,
        "pkg",
        DemoState::Submitted,
    )
    .await
    .expect("sample applications");
    assert_eq!(made, n);
    let batch = batches::current(&db, START).await.unwrap().expect("batch");
    (db, files, dir, batch.id)
}

fn entries(zip_bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut z = zip::ZipArchive::new(std::io::Cursor::new(zip_bytes)).expect("a valid zip");
    (0..z.len())
        .map(|i| {
            let mut f = z.by_index(i).unwrap();
            let mut buf = Vec::new();
            f.read_to_end(&mut buf).unwrap();
            (f.name().unwrap().to_string(), buf)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_package_has_a_folder_per_city_with_every_document() {
    let (db, files, _dir, batch_id) = store(12).await;
    let selection = package_selection(&db, &batch_id).await.unwrap();
    let total: usize = selection.iter().map(|c| c.len()).sum();
    assert_eq!(total, 12);
    let rt = tokio::runtime::Handle::current();
    let (db2, files2, sel2) = (db.clone(), files.clone(), selection.clone());
    let (bytes, calls, streamed) = tokio::task::spawn_blocking(move || {
        let mut calls = Vec::new();
        let cities = sel2
            .iter()
            .map(|c| rt.block_on(load_city(&db2, &files2, def(), c, rt.clone())));
        let out = write_package(
            std::io::Cursor::new(Vec::new()),
            def(),
            total,
            cities,
            |d, t| calls.push((d, t)),
        )
        .unwrap()
        .into_inner();
        let cities = sel2
            .iter()
            .map(|c| rt.block_on(load_city(&db2, &files2, def(), c, rt.clone())));
        let streamed = write_package_stream(Vec::new(), def(), total, cities, |_, _| {}).unwrap();
        (out, calls, streamed)
    })
    .await
    .unwrap();
    assert_eq!(calls.first(), Some(&(0, 12)));
    assert_eq!(calls.last(), Some(&(12, 12)));
    assert_eq!(calls.len(), 13);

    let list = entries(&bytes);
    let names: Vec<&str> = list.iter().map(|e| e.0.as_str()).collect();
    for city in &selection {
        let dir = format!("{}-{}", city.code, city.name);
        assert!(
            names.contains(&format!("{dir}/推荐表.docx").as_str()),
            "{names:?}"
        );
        assert!(names.contains(&format!("{dir}/推荐表.xlsx").as_str()));
        for (i, app) in city.applications.iter().enumerate() {
            let stem = format!("{dir}/{:02}-{}", i + 1, app.enterprise_name);
            let docx = list
                .iter()
                .find(|e| e.0 == format!("{stem}-申报书.docx"))
                .expect("申报书");
            let pdf = list
                .iter()
                .find(|e| e.0 == format!("{stem}-盖章扫描件.pdf"))
                .expect("scan");
            assert_eq!(pdf.1, demo::SAMPLE_PDF, "the stored scan, byte for byte");
            if i == 0 {
                let d = read_docx(&docx.1);
                let footer = d.strings("footers").join("\n");
                let fp = app.fingerprint.clone().unwrap();
                assert!(footer.contains(&format!("申报编号 {}", app.id)), "{footer}");
                assert!(footer.contains(&format!("第{}版", app.submitted_version)));
                assert!(
                    footer.contains(&fp[..12]),
                    "stored fingerprint in the footer"
                );
                assert_eq!(d.value("企业基本信息", "企业名称"), app.enterprise_name);
            }
        }
        // The city's 推荐表 lists its applications in order.
        let x = list
            .iter()
            .find(|e| e.0 == format!("{dir}/推荐表.xlsx"))
            .unwrap();
        let x = read_xlsx(&x.1);
        let rows = x["推荐表"]["rows"].as_array().unwrap();
        assert_eq!(rows.len(), 3 + city.len());
        for (i, app) in city.applications.iter().enumerate() {
            assert_eq!(rows[3 + i][1], app.enterprise_name.as_str());
            assert_eq!(rows[3 + i][9], i as u64 + 1);
        }
    }
    assert_eq!(
        names.iter().filter(|n| n.ends_with("-申报书.docx")).count(),
        12
    );
    let summary = list.iter().find(|e| e.0 == "汇总表.xlsx").expect("summary");
    let x = read_xlsx(&summary.1);
    let rows = x["汇总表"]["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 13);
    assert_eq!(rows[0][1], "市州");
    let all: Vec<String> = selection
        .iter()
        .flat_map(|c| c.applications.iter().map(|a| a.id.clone()))
        .collect();
    let listed: Vec<String> = rows[1..]
        .iter()
        .map(|r| r[13].as_str().unwrap().to_string())
        .collect();
    assert_eq!(listed, all, "every application once, city by city");
    for r in &rows[1..] {
        assert_eq!(r[15].as_str().unwrap().len(), 64, "full fingerprint");
    }

    // The streamed variant (no seeking) holds the same entries.
    let streamed = entries(&streamed);
    assert_eq!(streamed.len(), list.len());
    for (a, b) in streamed.iter().zip(&list) {
        assert_eq!(a.0, b.0);
        if a.0.ends_with(".pdf") {
            assert_eq!(a.1, b.1);
        }
    }
}

#[tokio::test]
async fn only_submitted_applications_are_selected() {
    let (db, _files, _dir, batch_id) = store(3).await;
    let clock = Clock::manual(START);
    let files = FileStore::local(_dir.path().join("attachments"));
    demo::seed_applications(
        &db,
        &files,
        &clock,
        "Demo-Pass-2021",
        2,
        "drf",
        DemoState::Draft,
    )
    .await
    .unwrap();
    let sel = package_selection(&db, &batch_id).await.unwrap();
    assert_eq!(
        sel.iter().map(|c| c.len()).sum::<usize>(),
        3,
        "drafts left out"
    );
    let order: Vec<usize> = sel
        .iter()
        .map(|c| {
            shenbao::domain::region::cities()
                .iter()
                .position(|x| x.code == c.code)
                .unwrap()
        })
        .collect();
    assert!(
        order.windows(2).all(|w| w[0] < w[1]),
        "cities in GB/T 2260 order"
    );
}

#[tokio::test]
async fn a_stored_application_loads_as_submitted_and_as_draft() {
    let (db, _files, _dir, batch_id) = store(1).await;
    let sel = package_selection(&db, &batch_id).await.unwrap();
    let app = &sel[0].applications[0];
    let doc = submitted_doc(&db, &app.id, app.submitted_version)
        .await
        .unwrap()
        .expect("submitted version");
    assert_eq!(doc.fingerprint, app.fingerprint, "the stored fingerprint");
    assert!(!doc.draft);
    assert!(doc.attachments.iter().any(|a| a.slot == "stamped_scan"));
    assert!(
        submitted_doc(&db, &app.id, 1).await.unwrap().is_none(),
        "version 1 is a draft"
    );
    let draft = draft_doc(&db, &app.id).await.unwrap().expect("content");
    assert!(draft.draft);
    assert_eq!(
        draft.fingerprint, app.fingerprint,
        "unchanged since submission: the draft prints the submitted fingerprint"
    );
    assert_eq!(draft.enterprise_name, app.enterprise_name);
    let d = read_docx(&shenbao::docs::application_docx(def(), &draft));
    assert!(d.strings("headers").concat().contains("草稿"));
}
