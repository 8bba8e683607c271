//! Upgrading a PostgreSQL database made before the version chain (migration
//! 5) with data in it. The SQLite upgrade has its own test next to the
//! SQLite store (`src/store/sqlite.rs`); this one runs with the PostgreSQL
//! suite, when TEST_DATABASE_URL is set.

use shenbao::store::{Batch, Db, applications};
use sqlx::{Connection, Executor};

const BEFORE_CHAIN: &[&str] = &[
    include_str!("../../migrations/postgres/0001_foundation.sql"),
    include_str!("../../migrations/postgres/0002_applications.sql"),
    include_str!("../../migrations/postgres/0003_city.sql"),
    include_str!("../../migrations/postgres/0004_exports.sql"),
];

#[tokio::test]
async fn an_older_postgres_database_is_upgraded_to_the_version_chain() {
    let Ok(url) = std::env::var("TEST_DATABASE_URL") else {
        return;
    };
    if url.is_empty() {
        return;
    }
    let schema = format!("t_{}", shenbao::store::new_id());
    let mut conn = sqlx::PgConnection::connect(&url).await.expect("connect");
    conn.execute(format!("CREATE SCHEMA {schema}; SET search_path TO {schema};").as_str())
        .await
        .expect("schema");
    conn.execute(
        "CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)",
    )
    .await
    .expect("migrations table");
    for (i, sql) in BEFORE_CHAIN.iter().enumerate() {
        conn.execute(*sql).await.expect("old migration");
        conn.execute(format!("INSERT INTO schema_migrations VALUES ({}, 0)", i + 1).as_str())
            .await
            .expect("record");
    }
    conn.execute(
        "INSERT INTO batches (id, program_key, name, quota, opens_at, enterprise_deadline, recommend_deadline, created_at) \
         VALUES ('batch', 'p', '批次', 50, 0, 0, 0, 0); \
         INSERT INTO users (id, username, role, display_name, password_hash, created_at, updated_at) \
         VALUES ('ent', 'ent', 'enterprise', '企业', 'x', 0, 0);",
    )
    .await
    .expect("parents");
    for (app, versions) in [("app-b", 3i64), ("app-a", 2)] {
        conn.execute(
            format!(
                "INSERT INTO applications (id, batch_id, enterprise_id, credit_code, enterprise_name, \
                 city_code, county_code, state, version, declarations, created_at, updated_at) \
                 VALUES ('{app}', 'batch', 'ent', '{app}', '企业', '420100', '420102', 'draft', {versions}, '{{}}', 0, 0)"
            )
            .as_str(),
        )
        .await
        .expect("application");
        for v in 1..=versions {
            let kind = if app == "app-a" && v == 2 {
                "submitted"
            } else {
                "draft"
            };
            conn.execute(
                format!(
                    "INSERT INTO application_versions (application_id, version, kind, content, created_at, created_by) \
                     VALUES ('{app}', {v}, '{kind}', '{{\"v\":\"{app}-{v}\"}}', {v}, 'test')"
                )
                .as_str(),
            )
            .await
            .expect("version");
        }
    }
    conn.close().await.expect("close");

    let db = Db::open_postgres_schema(&url, &schema)
        .await
        .expect("upgrade");
    for (app, versions) in [("app-a", 2i64), ("app-b", 3)] {
        let listed: Vec<i64> = applications::versions(&db, app)
            .await
            .expect("versions")
            .iter()
            .map(|v| v.version)
            .collect();
        assert_eq!(listed, (1..=versions).rev().collect::<Vec<_>>(), "{app}");
        for v in 1..=versions {
            let (_, text) = applications::version_content(&db, app, v)
                .await
                .expect("read")
                .unwrap_or_else(|| panic!("{app} version {v} missing"));
            assert_eq!(text, format!("{{\"v\":\"{app}-{v}\"}}"));
        }
    }
    let (version, current) = applications::content(&db, "app-b")
        .await
        .expect("content")
        .expect("app-b");
    assert_eq!((version, current["v"].as_str()), (3, Some("app-b-3")));
    let frozen = db
        .write(Batch::one(
            "UPDATE application_versions SET content = '{}' WHERE application_id = 'app-a' AND version = 2",
            vec![],
        ))
        .await;
    assert!(frozen.is_err(), "the submitted version stays immutable");

    let saved = applications::save_draft(
        &db,
        "app-b",
        "ent",
        3,
        "{\"v\":\"app-b-4\"}".into(),
        &applications::DraftSummary::default(),
        "test",
        0,
    )
    .await
    .expect("save");
    assert_eq!(saved, applications::SaveOutcome::Saved { version: 4 });
    let listed: Vec<i64> = applications::versions(&db, "app-b")
        .await
        .expect("versions")
        .iter()
        .map(|v| v.version)
        .collect();
    assert_eq!(listed, vec![4, 3, 2, 1]);
}
