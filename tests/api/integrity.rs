//! The tamper-evident trail (issue #20, finding 8): whoever holds the
//! database file and drops the triggers to delete, change or slip in rows
//! is named by `verify`, table, row and what differs; a clean store
//! verifies; the audit page shows the chains' heads.

use axum::http::StatusCode;

use crate::apply::submitted;
use crate::helpers::{DEMO_PASSWORD, TestApp, spawn, spawn_with};
use shenbao::config::Config;
use shenbao::domain::digest::Algo;
use shenbao::services::sealer::system_now;
use shenbao::store::chain::{self, Chain};
use shenbao::store::{Batch, Value};

/// A store with accounts, logins and one submitted application (six
/// attachments), everything sealed.
async fn sealed_store(app: &TestApp, algo: Algo) -> String {
    app.seed_demo().await;
    let (_c, id) = submitted(app, "qiye1", 3).await;
    // Everything written so far is older than this horizon.
    let n = chain::seal(&app.state.db, algo, system_now() + 60_000, app.clock.now())
        .await
        .expect("seal");
    assert!(n > 5, "sealed {n} links");
    id
}

/// Raw SQL as an attacker holding the file would run it (no triggers can
/// stop a `DROP TRIGGER`).
async fn raw(app: &TestApp, sqlite: &'static str, postgres: &'static str, params: Vec<Value>) {
    let sql = if app.state.db.backend() == "sqlite" {
        sqlite
    } else {
        postgres
    };
    app.state
        .db
        .write(Batch::one(sql, params))
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

async fn drop_audit_triggers(app: &TestApp) {
    raw(
        app,
        "DROP TRIGGER audit_log_no_update",
        "DROP TRIGGER audit_log_no_change ON audit_log",
        vec![],
    )
    .await;
    raw(app, "DROP TRIGGER audit_log_no_delete", "SELECT 1", vec![]).await;
}

async fn drop_version_triggers(app: &TestApp) {
    raw(
        app,
        "DROP TRIGGER submitted_version_immutable",
        "DROP TRIGGER submitted_version_immutable ON application_versions",
        vec![],
    )
    .await;
}

async fn breaks(app: &TestApp) -> Vec<String> {
    let r = shenbao::verify::run(&app.state.db, &app.state.files)
        .await
        .expect("verify");
    r.breaks()
}

/// A sealed audit row, by its place in the chain.
async fn sealed_audit_id(app: &TestApp, n: i64) -> String {
    app.state
        .db
        .query_opt(
            "SELECT row_ref FROM integrity_links WHERE chain = 'audit' AND n = $1",
            vec![n.into()],
        )
        .await
        .expect("query")
        .expect("link")
        .text(0)
}

#[tokio::test]
async fn a_clean_store_verifies_and_the_audit_page_shows_the_chain_heads() {
    let app = spawn().await;
    sealed_store(&app, Algo::Sha256).await;
    let report = shenbao::verify::run(&app.state.db, &app.state.files)
        .await
        .expect("verify");
    assert!(report.ok(), "{:?}", report.lines());
    assert_eq!(report.versions, 1);
    assert!(report.files >= 6, "{}", report.files);
    // Rows written after the seal wait for the sealer: not a break.
    let mut c = app.login("auditor", DEMO_PASSWORD).await;
    let report = shenbao::verify::run(&app.state.db, &app.state.files)
        .await
        .expect("verify");
    assert!(report.ok(), "{:?}", report.lines());
    assert!(report.chains[0].1.pending >= 1);

    let head = chain::head(&app.state.db, Chain::Audit)
        .await
        .expect("head")
        .expect("sealed");
    let page = c.get("/admin/audit").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("防篡改链头"), "{}", page.body);
    assert!(page.body.contains(&head.hash), "the head hash is shown");
    assert!(page.body.contains(&head.n.to_string()));
}

#[tokio::test]
async fn a_changed_audit_detail_is_named_by_its_row() {
    let app = spawn().await;
    sealed_store(&app, Algo::Sha256).await;
    let id = sealed_audit_id(&app, 3).await;
    drop_audit_triggers(&app).await;
    raw(
        &app,
        "UPDATE audit_log SET detail = 'nothing happened' WHERE id = $1",
        "UPDATE audit_log SET detail = 'nothing happened' WHERE id = $1",
        vec![id.as_str().into()],
    )
    .await;
    let b = breaks(&app).await;
    assert_eq!(b.len(), 1, "{b:?}");
    assert!(
        b[0].contains("审计日志链第 3 环") && b[0].contains(&id) && b[0].contains("已被修改"),
        "{b:?}"
    );
}

#[tokio::test]
async fn a_deleted_audit_row_is_named_by_its_row() {
    let app = spawn().await;
    sealed_store(&app, Algo::Sha256).await;
    let id = sealed_audit_id(&app, 2).await;
    drop_audit_triggers(&app).await;
    raw(
        &app,
        "DELETE FROM audit_log WHERE id = $1",
        "DELETE FROM audit_log WHERE id = $1",
        vec![id.as_str().into()],
    )
    .await;
    let b = breaks(&app).await;
    assert_eq!(b.len(), 1, "{b:?}");
    assert!(
        b[0].contains("第 2 环") && b[0].contains(&id) && b[0].contains("已被删除"),
        "{b:?}"
    );
}

/// The attack of the issue: triggers dropped, a forged submitted version
/// (with a fingerprint that fits its content) slipped in below the sealed
/// head; and a sealed submitted version's content rewritten in place.
#[tokio::test]
async fn a_forged_or_rewritten_submitted_version_is_named() {
    let app = spawn().await;
    let id = sealed_store(&app, Algo::Sha256).await;
    let head = chain::head(&app.state.db, Chain::Versions)
        .await
        .expect("head")
        .expect("sealed");
    let key: i64 = head.row_ref.parse().expect("row key");
    drop_version_triggers(&app).await;
    let content =
        serde_json::json!({"application": id, "content": {"name": "冒用"}, "attachments": []});
    let fp = shenbao::domain::form::fingerprint(&content["content"]);
    raw(
        &app,
        "INSERT INTO application_versions (row_key, application_id, version, kind, content, fingerprint, created_at, created_by) \
         VALUES ($1, $2, 99, 'submitted', $3, $4, 0, 'forger')",
        "INSERT INTO application_versions (row_key, application_id, version, kind, content, fingerprint, created_at, created_by) \
         VALUES ($1, $2, 99, 'submitted', $3, $4, 0, 'forger')",
        vec![
            (key - 1).into(),
            id.as_str().into(),
            content.to_string().into(),
            fp.into(),
        ],
    )
    .await;
    let b = breaks(&app).await;
    assert_eq!(b.len(), 1, "{b:?}");
    assert!(
        b[0].contains("application_versions")
            && b[0].contains(&(key - 1).to_string())
            && b[0].contains("未被封存"),
        "{b:?}"
    );

    // The genuine submitted version, its text changed in place.
    raw(
        &app,
        "UPDATE application_versions SET content = replace(content, '\"content\":{', '\"content\":{\"x\":1,') WHERE row_key = $1",
        "UPDATE application_versions SET content = replace(content, '\"content\":{', '\"content\":{\"x\":1,') WHERE row_key = $1",
        vec![key.into()],
    )
    .await;
    let b = breaks(&app).await;
    assert_eq!(b.len(), 3, "{b:?}");
    assert!(
        b.iter().any(|l| l.contains("已提交版本链第 1 环")
            && l.contains(&key.to_string())
            && l.contains("已被修改")),
        "{b:?}"
    );
    assert!(
        b.iter().any(
            |l| l.contains(&format!("application_versions 表的行 {key}")) && l.contains("指纹")
        ),
        "{b:?}"
    );
}

#[tokio::test]
async fn a_changed_attachment_byte_is_named_by_its_row_and_file() {
    let app = spawn().await;
    sealed_store(&app, Algo::Sha256).await;
    let row = app
        .state
        .db
        .query_opt(
            "SELECT id, storage_key FROM attachments ORDER BY id LIMIT 1",
            vec![],
        )
        .await
        .expect("query")
        .expect("attachment");
    let (att, key) = (row.text(0), row.text(1));
    let path = app.state.files.local_path(&key).expect("a local store");
    let mut bytes = std::fs::read(&path).expect("read");
    let last = bytes.len() - 2;
    bytes[last] ^= 1;
    std::fs::write(&path, bytes).expect("write");
    let b = breaks(&app).await;
    assert_eq!(b.len(), 1, "{b:?}");
    assert!(
        b[0].contains(&format!("attachments 表的行 {att}"))
            && b[0].contains(&key)
            && b[0].contains("不符"),
        "{b:?}"
    );
}

/// SM3 (商用密码) links verify as SHA-256 ones do, say their algorithm, and
/// a change is found the same way.
#[tokio::test]
async fn sm3_links_verify_and_find_a_change() {
    let app = spawn_with(Config {
        digest: Algo::Sm3,
        ..Config::default()
    })
    .await;
    sealed_store(&app, Algo::Sm3).await;
    let head = chain::head(&app.state.db, Chain::Audit)
        .await
        .expect("head")
        .expect("sealed");
    assert_eq!(head.algo, "sm3");
    assert!(breaks(&app).await.is_empty());
    let id = sealed_audit_id(&app, 1).await;
    drop_audit_triggers(&app).await;
    raw(
        &app,
        "UPDATE audit_log SET ip = '127.0.0.1' WHERE id = $1",
        "UPDATE audit_log SET ip = '127.0.0.1' WHERE id = $1",
        vec![id.as_str().into()],
    )
    .await;
    let b = breaks(&app).await;
    assert_eq!(b.len(), 1, "{b:?}");
    assert!(b[0].contains(&id), "{b:?}");
}

/// A second sealer (another server on the same PostgreSQL) neither
/// duplicates links nor breaks the chain; a rewritten link is named.
#[tokio::test]
async fn sealing_twice_adds_nothing_and_a_rewritten_link_is_named() {
    let app = spawn().await;
    sealed_store(&app, Algo::Sha256).await;
    let again = chain::seal(
        &app.state.db,
        Algo::Sha256,
        system_now() + 60_000,
        app.clock.now(),
    )
    .await
    .expect("seal");
    // Only the rows the first seal wrote... none: sealing writes no audit row.
    assert_eq!(again, 0);
    raw(
        &app,
        "DROP TRIGGER integrity_links_no_update",
        "DROP TRIGGER integrity_links_no_change ON integrity_links",
        vec![],
    )
    .await;
    raw(
        &app,
        "UPDATE integrity_links SET row_hash = 'x' WHERE chain = 'audit' AND n = 4",
        "UPDATE integrity_links SET row_hash = 'x' WHERE chain = 'audit' AND n = 4",
        vec![],
    )
    .await;
    let b = breaks(&app).await;
    assert!(
        !b.is_empty() && b[0].contains("第 4 环") && b[0].contains("链接哈希"),
        "{b:?}"
    );
}

/// With SM3 chosen, a submission's fingerprint is SM3 and says so; the
/// submitted 申报书 carries the same; verify recomputes it by SM3, and a
/// SHA-256 fingerprint stored before the change still verifies.
#[tokio::test]
async fn sm3_fingerprints_are_tagged_and_verified_beside_older_sha256_ones() {
    let app = spawn_with(Config {
        digest: Algo::Sm3,
        ..Config::default()
    })
    .await;
    app.seed_demo().await;
    let (mut c, id) = submitted(&app, "qiye1", 4).await;
    let row = app
        .state
        .db
        .query_opt(
            "SELECT fingerprint, content FROM application_versions WHERE application_id = $1 AND kind = 'submitted'",
            vec![id.as_str().into()],
        )
        .await
        .expect("query")
        .expect("submitted");
    let fp = row.text(0);
    let snapshot: serde_json::Value = serde_json::from_str(&row.text(1)).expect("json");
    assert!(fp.starts_with("sm3:") && fp.len() == 4 + 64, "{fp}");
    assert_eq!(
        fp,
        shenbao::domain::form::fingerprint_with(Algo::Sm3, &snapshot["content"])
    );
    assert_ne!(
        &fp[4..],
        shenbao::domain::form::fingerprint(&snapshot["content"])
    );
    let page = c.get(&format!("/apply/{id}")).await;
    assert!(page.body.contains(&fp[..12]), "the fingerprint is shown");
    // An older SHA-256 submission (another enterprise, before the switch).
    let sha = spawn().await;
    sha.seed_demo().await;
    submitted(&sha, "qiye2", 5).await;
    assert!(breaks(&sha).await.is_empty());
    assert!(breaks(&app).await.is_empty());
}

/// A running sealer skips what it has looked through, not what came after:
/// a submission made after a round is sealed by the next.
#[tokio::test]
async fn the_sealer_seals_what_came_after_its_last_round() {
    let app = spawn().await;
    app.seed_demo().await;
    let mut scanned = chain::Scanned::default();
    let db = &app.state.db;
    chain::seal_from(
        db,
        Algo::Sha256,
        system_now(),
        app.clock.now(),
        &mut scanned,
    )
    .await
    .expect("seal");
    assert!(
        chain::head(db, Chain::Versions)
            .await
            .expect("head")
            .is_none()
    );
    submitted(&app, "qiye1", 3).await;
    chain::seal_from(
        db,
        Algo::Sha256,
        system_now() + 60_000,
        app.clock.now(),
        &mut scanned,
    )
    .await
    .expect("seal");
    let head = chain::head(db, Chain::Versions)
        .await
        .expect("head")
        .expect("the submission is sealed");
    assert_eq!(head.n, 1);
    assert!(breaks(&app).await.is_empty());
}
