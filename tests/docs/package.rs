//! The province package from a fresh store: exactly what the cities
//! submitted. A folder per city that has submitted (its 推荐表, its stamped
//! 推荐文件 and 推荐表 scan, every recommended 申报书 and stamped scan in its
//! order), 报送情况 for every city, the summary with each state, progress.

use std::collections::BTreeMap;
use std::io::Read;

use serde_json::Value;
use shenbao::clock::Clock;
use shenbao::demo::{self, DemoState};
use shenbao::docs::{
    CitySelection, draft_doc, load_city, package_selection, submitted_doc, write_package,
    write_package_stream,
};
use shenbao::domain::lifecycle::State;
use shenbao::domain::region;
use shenbao::domain::role::Role;
use shenbao::files::FileStore;
use shenbao::store::audit::Actor;
use shenbao::store::recommendations::{self, File, FileKind};
use shenbao::store::{Batch, Db, applications, batches, new_id};

use super::{def, read_docx, read_xlsx};

/// 2021-09-10 10:00 Asia/Shanghai.
const START: i64 = 1_631_239_200_000;
const LETTER: &[u8] = b"%PDF-1.4\n% city letter\n%%EOF\n";
const TABLE_SCAN: &[u8] = b"%PDF-1.4\n% city table scan\n%%EOF\n";

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

/// The submitted applications per city: (id, enterprise name), by submission.
async fn by_city(db: &Db, batch_id: &str) -> BTreeMap<String, Vec<(String, String)>> {
    let rows = db
        .query(
            "SELECT city_code, id, enterprise_name FROM applications \
             WHERE batch_id = $1 AND state = 'submitted' ORDER BY submitted_at, id",
            vec![batch_id.into()],
        )
        .await
        .unwrap();
    let mut out: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for r in &rows {
        out.entry(r.text(0))
            .or_default()
            .push((r.text(1), r.text(2)));
    }
    out
}

fn actor(role: Role) -> Actor {
    Actor {
        id: None,
        name: "test".into(),
        role: Some(role.as_str()),
        ip: "test".into(),
    }
}

async fn move_to(db: &Db, id: &str, to: State, role: Role) {
    let app = applications::by_id(db, id).await.unwrap().expect("app");
    let mut b = Batch::new();
    applications::push_transition(&mut b, &app, to, role, &actor(role), "test", START)
        .expect("allowed transition");
    db.write(b).await.unwrap();
}

/// `city` passes `ids` and lists them in this order (推荐理由 `理由{rank}`),
/// with its stamped files; submits when `submit` (as the city's submission
/// does: the list locked, its applications recommended).
async fn recommend(
    db: &Db,
    files: &FileStore,
    batch_id: &str,
    city: &str,
    ids: &[&str],
    submit: bool,
) {
    for id in ids {
        move_to(db, id, State::CityPassed, Role::City).await;
    }
    let mut b = Batch::new();
    recommendations::guard(&mut b, batch_id, city, START);
    for (i, id) in ids.iter().enumerate() {
        let rank = i as i64 + 1;
        recommendations::add_item(&mut b, id, batch_id, city, rank, None, "test", START);
        recommendations::update_item(
            &mut b,
            id,
            rank,
            &format!("理由{rank}"),
            &format!("意见{rank}：同意推荐。"),
            "test",
            START,
        );
    }
    for (kind, bytes, name) in [
        (FileKind::Letter, LETTER, "推荐文件.pdf"),
        (FileKind::TableScan, TABLE_SCAN, "推荐表扫描.pdf"),
    ] {
        let key = new_id();
        let stored = files.put_bytes(&key, bytes, 1 << 20).await.unwrap();
        recommendations::put_file(
            &mut b,
            &File {
                id: new_id(),
                batch_id: batch_id.into(),
                city_code: city.into(),
                kind,
                file_name: format!("{city}{name}"),
                size: stored.size as i64,
                sha256: stored.sha256.clone(),
                storage_key: key,
                created_at: START,
                created_by: "test".into(),
            },
            START,
        );
    }
    if submit {
        recommendations::submit(&mut b, batch_id, city, 0, "test", START + 60_000);
    }
    db.write(b).await.unwrap();
    if submit {
        for id in ids {
            move_to(db, id, State::Recommended, Role::City).await;
        }
    }
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

/// The package of `selection` written both ways (seekable, streamed), with
/// the progress calls of the first.
async fn package(
    db: &Db,
    files: &FileStore,
    selection: &[CitySelection],
) -> (Vec<u8>, Vec<(usize, usize)>, Vec<u8>) {
    let total: usize = selection.iter().map(|c| c.len()).sum();
    let rt = tokio::runtime::Handle::current();
    let (db2, files2, sel2) = (db.clone(), files.clone(), selection.to_vec());
    tokio::task::spawn_blocking(move || {
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
    .unwrap()
}

/// 报送情况.txt without its byte order mark, by line.
fn report_lines(list: &[(String, Vec<u8>)]) -> Vec<String> {
    let txt = list
        .iter()
        .find(|e| e.0 == "报送情况.txt")
        .expect("报送情况.txt");
    let text = String::from_utf8(txt.1.clone()).expect("UTF-8");
    let text = text.strip_prefix('\u{feff}').expect("byte order mark");
    text.split("\r\n").map(String::from).collect()
}

fn text(v: &Value) -> &str {
    v.as_str().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_package_holds_exactly_what_the_cities_submitted() {
    let (db, files, _dir, batch_id) = store(40).await;
    let apps = by_city(&db, &batch_id).await;
    let order = |code: &str| region::cities().iter().position(|c| c.code == code);
    let mut cities: Vec<&String> = apps.keys().filter(|c| apps[*c].len() >= 3).collect();
    cities.sort_by_key(|c| order(c));
    let (sent, unsent) = (cities[0].clone(), cities[1].clone());
    let a = &apps[&sent];
    // The city's order is not the order of submission.
    let listed = [a[2].clone(), a[0].clone(), a[1].clone()];
    let ids: Vec<&str> = listed.iter().map(|x| x.0.as_str()).collect();
    recommend(&db, &files, &batch_id, &sent, &ids, true).await;
    // After the province's draw the first is under review: still in the folder.
    move_to(&db, ids[0], State::UnderReview, Role::Province).await;
    // The other city has listed one application but not submitted.
    let draft_only = apps[&unsent][0].0.clone();
    recommend(&db, &files, &batch_id, &unsent, &[&draft_only], false).await;

    let selection = package_selection(&db, &batch_id).await.unwrap();
    assert_eq!(selection.len(), region::cities().len(), "every city");
    assert!(
        selection
            .iter()
            .zip(region::cities())
            .all(|(s, c)| s.code == c.code),
        "cities in GB/T 2260 order"
    );
    for c in &selection {
        assert_eq!(c.submitted, c.code == sent, "{}", c.code);
        assert_eq!(c.is_empty(), c.code != sent, "{}", c.code);
    }
    let city = selection.iter().find(|c| c.code == sent).unwrap();
    let got: Vec<&str> = city.applications.iter().map(|x| x.id.as_str()).collect();
    assert_eq!(got, ids, "the city's order");
    assert_eq!(city.applications[0].state, "under_review");
    assert_eq!(city.applications[1].reason, "理由2");
    assert_eq!(
        city.applications[2].opinion.as_deref(),
        Some("意见3：同意推荐。")
    );
    assert_eq!(city.submitted_at, Some(START + 60_000));

    let (bytes, calls, streamed) = package(&db, &files, &selection).await;
    assert_eq!(calls.first(), Some(&(0, 3)));
    assert_eq!(calls.last(), Some(&(3, 3)));
    assert_eq!(calls.len(), 4);

    let list = entries(&bytes);
    let names: Vec<&str> = list.iter().map(|e| e.0.as_str()).collect();
    let dir = format!("{}-{}", city.code, city.name);
    let get = |name: &str| {
        list.iter()
            .find(|e| e.0 == name)
            .unwrap_or_else(|| panic!("no {name} in {names:?}"))
    };
    // Only the city that submitted has a folder; nothing else of the other city.
    assert!(
        names
            .iter()
            .all(|n| !n.contains('/') || n.starts_with(&format!("{dir}/"))),
        "{names:?}"
    );
    assert!(
        names.iter().all(|n| !n.contains(&apps[&unsent][0].1)),
        "{names:?}"
    );
    assert_eq!(
        names.len(),
        2 + 2 + 3 * 2 + 2,
        "推荐表 ×2, stamped files ×2, 申报书 and scan ×3, 报送情况, 汇总表: {names:?}"
    );
    get(&format!("{dir}/推荐表.docx"));
    // The city's own stamped files, as uploaded.
    assert_eq!(
        get(&format!("{dir}/市州推荐文件（盖章）-{sent}推荐文件.pdf")).1,
        LETTER
    );
    assert_eq!(
        get(&format!(
            "{dir}/市州推荐表扫描件（盖章）-{sent}推荐表扫描.pdf"
        ))
        .1,
        TABLE_SCAN
    );
    for (i, (id, name)) in listed.iter().enumerate() {
        let stem = format!("{dir}/{:02}-{name}", i + 1);
        let docx = get(&format!("{stem}-申报书.docx"));
        assert_eq!(get(&format!("{stem}-盖章扫描件.pdf")).1, demo::SAMPLE_PDF);
        if i == 0 {
            let sel = &city.applications[0];
            let d = read_docx(&docx.1);
            let footer = d.strings("footers").join("\n");
            let fp = sel.fingerprint.clone().unwrap();
            let number = shenbao::store::applications::number_of(&db, id)
                .await
                .unwrap();
            assert!(
                number.len() == "2021-4201-0001".len() && number[5..9] == city.code[..4],
                "{number}"
            );
            assert!(footer.contains(&format!("申报编号 {number}")), "{footer}");
            assert!(footer.contains(&format!("第{}版", sel.submitted_version)));
            assert!(
                footer.contains(&fp[..12]),
                "stored fingerprint in the footer"
            );
            assert_eq!(d.value("企业基本信息", "企业名称"), *name);
            assert!(
                d.all_text().contains("意见1：同意推荐。"),
                "the city's 审核意见"
            );
        }
    }
    // The city's 推荐表 lists its applications in its order, with its reasons.
    let x = read_xlsx(&get(&format!("{dir}/推荐表.xlsx")).1);
    let rows = x["推荐表"]["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 3 + 3);
    for (i, (_, name)) in listed.iter().enumerate() {
        assert_eq!(rows[3 + i][1], name.as_str());
        assert_eq!(rows[3 + i][8], format!("理由{}", i + 1).as_str());
        assert_eq!(rows[3 + i][9], i as u64 + 1);
    }

    // 报送情况: every city, 已报送 with time and count or 未报送.
    let lines = report_lines(&list);
    for c in region::cities() {
        let line = lines
            .iter()
            .find(|l| l.contains(&format!(" {} {}：", c.code, c.name)))
            .unwrap_or_else(|| panic!("no line for {} in {lines:?}", c.name));
        if c.code == sent {
            assert!(
                line.ends_with("：已报送（2021-09-10 10:01:00，推荐3家）"),
                "{line}"
            );
        } else {
            assert!(line.ends_with("：未报送"), "{line}");
        }
    }
    assert!(
        lines.contains(&"合计：已报送1个市州，推荐3家；未报送16个市州。".to_string()),
        "{lines:?}"
    );

    // The summary: only the recommended applications, each with its state.
    let x = read_xlsx(&get("汇总表.xlsx").1);
    let rows = x["汇总表"]["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 1 + 3);
    assert_eq!(rows[0][1], "市州");
    assert_eq!(rows[0][2], "推荐排序");
    assert_eq!(rows[0][4], "状态");
    assert_eq!(rows[0][14], "申报编号");
    for (i, r) in rows[1..].iter().enumerate() {
        assert_eq!(text(&r[1]), city.name);
        assert_eq!(r[2], i as u64 + 1);
        let number = shenbao::store::applications::number_of(&db, ids[i])
            .await
            .unwrap();
        assert_eq!(text(&r[14]), number);
        assert_eq!(text(&r[11]), format!("理由{}", i + 1));
        assert_eq!(text(&r[16]).len(), 64, "full fingerprint");
    }
    assert_eq!(text(&rows[1][4]), State::UnderReview.label());
    assert_eq!(text(&rows[2][4]), State::Recommended.label());
    let report = x["报送情况"]["rows"].as_array().unwrap();
    assert_eq!(report.len(), 1 + region::cities().len());
    assert_eq!(report[0][3], "报送情况");
    for r in &report[1..] {
        if text(&r[1]) == sent {
            assert_eq!(r[3], "已报送");
            assert_eq!(r[4], "2021-09-10 10:01:00");
            assert_eq!(r[5], 3);
        } else {
            assert_eq!(r[3], "未报送", "{r:?}");
            assert!(r[5].is_null() || r[5] == "", "no count: {r:?}");
        }
    }

    // The streamed variant (no seeking) holds the same entries.
    let streamed = entries(&streamed);
    assert_eq!(streamed.len(), list.len());
    for (a, b) in streamed.iter().zip(&list) {
        assert_eq!(a.0, b.0);
        if a.0.ends_with(".pdf") || a.0.ends_with(".txt") {
            assert_eq!(a.1, b.1);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn before_any_city_submits_the_package_recommends_nothing() {
    let (db, files, dir, batch_id) = store(3).await;
    let clock = Clock::manual(START);
    let drafts = FileStore::local(dir.path().join("attachments"));
    demo::seed_applications(
        &db,
        &drafts,
        &clock,
        "Demo-Pass-2021",
        2,
        "drf",
        DemoState::Draft,
    )
    .await
    .unwrap();
    let sel = package_selection(&db, &batch_id).await.unwrap();
    assert_eq!(sel.len(), region::cities().len());
    assert!(sel.iter().all(|c| !c.submitted && c.is_empty()));
    let (bytes, calls, _) = package(&db, &files, &sel).await;
    assert_eq!(calls, vec![(0, 0)]);
    let list = entries(&bytes);
    let names: Vec<&str> = list.iter().map(|e| e.0.as_str()).collect();
    assert_eq!(names, vec!["报送情况.txt", "汇总表.xlsx"], "no city folder");
    let lines = report_lines(&list);
    assert_eq!(
        lines.iter().filter(|l| l.ends_with("：未报送")).count(),
        region::cities().len()
    );
    let x = read_xlsx(&list[1].1);
    assert_eq!(
        x["汇总表"]["rows"].as_array().unwrap().len(),
        1,
        "header only"
    );
}

#[tokio::test]
async fn a_stored_application_loads_as_submitted_and_as_draft() {
    let (db, _files, _dir, _batch_id) = store(1).await;
    let row = &db
        .query(
            "SELECT id, submitted_version, fingerprint, enterprise_name FROM applications",
            vec![],
        )
        .await
        .unwrap()[0];
    let (id, version, fingerprint, name) = (row.text(0), row.int(1), row.opt_text(2), row.text(3));
    let doc = submitted_doc(&db, &id, version)
        .await
        .unwrap()
        .expect("submitted version");
    assert_eq!(doc.fingerprint, fingerprint, "the stored fingerprint");
    assert!(!doc.draft);
    assert!(doc.attachments.iter().any(|a| a.slot == "stamped_scan"));
    assert!(
        submitted_doc(&db, &id, 1).await.unwrap().is_none(),
        "version 1 is a draft"
    );
    let draft = draft_doc(&db, &id).await.unwrap().expect("content");
    assert!(draft.draft);
    assert_eq!(
        draft.fingerprint, fingerprint,
        "unchanged since submission: the draft prints the submitted fingerprint"
    );
    assert_eq!(draft.enterprise_name, name);
    let d = read_docx(&shenbao::docs::application_docx(def(), &draft));
    assert!(d.strings("headers").concat().contains("草稿"));
}
