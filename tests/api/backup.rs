//! The restore drill (issue #20): back up a server while it takes writes
//! (`shenbao backup`, the built binary, beside the running server), restore
//! into a fresh directory, start a server on it, and verify every chain,
//! submitted fingerprint and attachment hash. On PostgreSQL the drill is
//! the README's: `pg_dump` while the server writes, `pg_restore` into a
//! database of its own, and `verify` on it.

use std::path::Path;
use std::process::Output;

use axum::http::StatusCode;

use crate::apply::{fill, start, submitted, upload_required};
use crate::helpers::{DEMO_PASSWORD, spawn_sqlite_in};
use shenbao::domain::digest::Algo;
use shenbao::services::sealer::system_now;
use shenbao::store::chain;

fn shenbao(data: &Path, args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_shenbao"))
        .arg("--data")
        .arg(data)
        .args(args)
        // The test's own database never leaks into the binary's.
        .env_remove("DATABASE_URL")
        .output()
        .expect("run shenbao")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[tokio::test]
async fn a_backup_taken_during_writes_restores_into_a_server_that_verifies() {
    let app = spawn_sqlite_in(tempfile::tempdir().expect("dir")).await;
    app.seed_demo().await;
    let (_c, first) = submitted(&app, "qiye1", 5).await;
    chain::seal(
        &app.state.db,
        Algo::Sha256,
        system_now() + 60_000,
        app.clock.now(),
    )
    .await
    .expect("seal");

    let work = tempfile::tempdir().expect("dir");
    let archive = work.path().join("shenbao-backup.tar.gz");
    let data = app.data_dir().to_path_buf();
    let out = archive.clone();
    let backup = tokio::task::spawn_blocking(move || {
        shenbao(&data, &["backup", "--out", out.to_str().expect("utf-8")])
    });
    // The server goes on: logins, a draft with uploads, another submission.
    let (_c2, second) = submitted(&app, "qiye2", 6).await;
    let mut c3 = app.login("qiye3", DEMO_PASSWORD).await;
    let draft = start(&mut c3).await;
    fill(&app, &mut c3, &draft, 7).await;
    upload_required(&mut c3, &draft).await;
    let o = backup.await.expect("join");
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("备份完成"), "{}", text(&o));

    let fresh = tempfile::tempdir().expect("dir");
    let o = shenbao(
        fresh.path(),
        &["restore", "--from", archive.to_str().expect("utf-8")],
    );
    assert!(o.status.success(), "{}", text(&o));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(fresh.path().join("shenbao.db"))
            .expect("db")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // Restoring over it again is refused: the target is not empty.
    let o = shenbao(
        fresh.path(),
        &["restore", "--from", archive.to_str().expect("utf-8")],
    );
    assert!(
        !o.status.success() && text(&o).contains("不是空的"),
        "{}",
        text(&o)
    );

    // The binary seals what the backup holds beyond the last seal and checks all.
    let o = shenbao(fresh.path(), &["verify", "--seal", "--grace-seconds", "0"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("校验通过"), "{}", text(&o));

    // A server on the restored directory: it serves, and the library's
    // check agrees, fingerprint by fingerprint and file by file.
    let restored = spawn_sqlite_in(fresh).await;
    let mut p = restored.login("auditor", DEMO_PASSWORD).await;
    assert_eq!(p.get("/admin/audit").await.status, StatusCode::OK);
    let report = shenbao::verify::run(&restored.state.db, &restored.state.files)
        .await
        .expect("verify");
    assert!(report.ok(), "{:?}", report.lines());
    let fingerprints = |db: shenbao::store::Db| async move {
        db.query(
            "SELECT id, fingerprint FROM applications WHERE fingerprint IS NOT NULL ORDER BY id",
            vec![],
        )
        .await
        .expect("query")
        .iter()
        .map(|r| (r.text(0), r.text(1)))
        .collect::<Vec<_>>()
    };
    let before = fingerprints(app.state.db.clone()).await;
    let after = fingerprints(restored.state.db.clone()).await;
    assert!(after.iter().any(|(id, _)| *id == first), "{after:?}");
    for (id, fp) in &after {
        assert!(before.contains(&(id.clone(), fp.clone())), "{id}");
    }
    // Whatever the copy caught of the second submission, it is whole.
    let _ = second;
    assert!(
        report.versions >= 1 && report.files >= 6,
        "{:?}",
        report.lines()
    );

    // And a tampered restore is caught by the binary: one attachment byte.
    let key = restored
        .state
        .db
        .query_opt(
            "SELECT storage_key FROM attachments ORDER BY id LIMIT 1",
            vec![],
        )
        .await
        .expect("query")
        .expect("row")
        .text(0);
    let path = restored
        .state
        .files
        .local_path(&key)
        .expect("a local store");
    let mut bytes = std::fs::read(&path).expect("read");
    bytes[0] ^= 0x20;
    std::fs::write(&path, bytes).expect("write");
    let dir = restored.data_dir().to_path_buf();
    let o = tokio::task::spawn_blocking(move || shenbao(&dir, &["verify"]))
        .await
        .expect("join");
    assert!(!o.status.success(), "{}", text(&o));
    assert!(text(&o).contains(&key), "{}", text(&o));
}

/// A fingerprint per application, in id order.
async fn fingerprints(db: &shenbao::store::Db) -> Vec<(String, String)> {
    db.query(
        "SELECT id, COALESCE(fingerprint, '') FROM applications ORDER BY id",
        Vec::new(),
    )
    .await
    .expect("fingerprints")
    .iter()
    .map(|r| (r.text(0), r.text(1)))
    .collect()
}

/// The PostgreSQL drill of the README, when the suite runs on PostgreSQL:
/// `pg_dump` of the store while a submission is under way, `pg_restore`
/// into a new database, a server's store opened on it (migrations checked
/// by checksum), and every chain, fingerprint and file verified.
#[tokio::test]
async fn a_postgres_dump_taken_during_writes_restores_and_verifies() {
    let Some(url) = std::env::var("TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty())
    else {
        // On SQLite the drill above is the one (`shenbao backup`).
        return;
    };
    use sqlx::{Connection, Executor};

    let app = crate::helpers::spawn().await;
    app.seed_demo().await;
    let (_c, _first) = submitted(&app, "qiye1", 5).await;
    chain::seal(
        &app.state.db,
        Algo::Sha256,
        system_now() + 60_000,
        app.clock.now(),
    )
    .await
    .expect("seal");
    let heads = |db: shenbao::store::Db| async move {
        let mut out = Vec::new();
        for c in [chain::Chain::Audit, chain::Chain::Versions] {
            let h = chain::head(&db, c).await.expect("head").expect("sealed");
            out.push((h.n, h.hash));
        }
        out
    };
    let sealed = heads(app.state.db.clone()).await;
    let schema = app
        .state
        .db
        .query("SELECT current_schema()", Vec::new())
        .await
        .expect("schema")[0]
        .text(0);

    let work = tempfile::tempdir().expect("dir");
    let dump = work.path().join("shenbao.dump");
    let (u, sc, d) = (url.clone(), schema.clone(), dump.clone());
    let dumping = tokio::task::spawn_blocking(move || {
        std::process::Command::new("pg_dump")
            .arg(format!("--dbname={u}"))
            .args(["--schema", &sc, "--format=custom", "--no-owner", "--file"])
            .arg(&d)
            .output()
            .expect("run pg_dump")
    });
    let (_c2, _second) = submitted(&app, "qiye2", 6).await;
    let o = dumping.await.expect("pg_dump");
    assert!(o.status.success(), "{}", text(&o));

    let name = format!("shenbao_restore_{}", &shenbao::store::new_id()[..12]);
    let mut admin = sqlx::PgConnection::connect(&url).await.expect("connect");
    admin
        .execute(format!("CREATE DATABASE {name}").as_str())
        .await
        .expect("create database (the role needs CREATEDB; scripts/test grants it)");
    let restored_url = format!(
        "{}/{name}",
        &url[..url.rfind('/').expect("a database in the url")]
    );
    let o = std::process::Command::new("pg_restore")
        .arg(format!("--dbname={restored_url}"))
        .args(["--no-owner", "--exit-on-error"])
        .arg(&dump)
        .output()
        .expect("run pg_restore");
    assert!(o.status.success(), "{}", text(&o));

    let restored = shenbao::store::Db::open_postgres_schema(&restored_url, &schema)
        .await
        .expect("open the restored database");
    let report = shenbao::verify::run(&restored, &app.state.files)
        .await
        .expect("verify");
    assert!(report.ok(), "{:?}", report.lines());
    // The chains came over whole: the heads sealed before the dump.
    assert_eq!(heads(restored.clone()).await, sealed);
    // What the dump holds reads as the original: every application it has,
    // fingerprint for fingerprint (the second submission may or may not
    // have been in the snapshot).
    let before = fingerprints(&app.state.db).await;
    let after = fingerprints(&restored).await;
    assert!(!after.is_empty(), "{after:?}");
    for row in &after {
        let same = before.iter().find(|b| b.0 == row.0).expect("an original");
        if !row.1.is_empty() {
            assert_eq!(same, row);
        }
    }
    drop(restored);
    admin
        .execute(format!("DROP DATABASE {name} WITH (FORCE)").as_str())
        .await
        .expect("drop the restored database");
}
