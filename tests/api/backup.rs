//! The restore drill (issue #20): back up a server while it takes writes
//! (`shenbao backup`, the built binary, beside the running server), restore
//! into a fresh directory, start a server on it, and verify every chain,
//! submitted fingerprint and attachment hash. SQLite only: PostgreSQL is
//! backed up with pg_dump (README), and its chains are verified by the
//! integrity tests on either backend.

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
    let path = restored.state.files.local_path(&key);
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
