//! Upgrading a database made before the version chain (migration 5) with
//! data in it: a temp SQLite file, or a fresh PostgreSQL schema when
//! TEST_DATABASE_URL is set. The old database is built from the old
//! migration files themselves.

use shenbao::store::{Batch, Db, applications};

const SQLITE_BEFORE_CHAIN: &[&str] = &[
    include_str!("../../migrations/sqlite/0001_foundation.sql"),
    include_str!("../../migrations/sqlite/0002_applications.sql"),
    include_str!("../../migrations/sqlite/0003_city.sql"),
    include_str!("../../migrations/sqlite/0004_exports.sql"),
];
const POSTGRES_BEFORE_CHAIN: &[&str] = &[
    include_str!("../../migrations/postgres/0001_foundation.sql"),
    include_str!("../../migrations/postgres/0002_applications.sql"),
    include_str!("../../migrations/postgres/0003_city.sql"),
    include_str!("../../migrations/postgres/0004_exports.sql"),
];
/// Applications and how many versions each has; version 2 of app-a is submitted.
const APPS: [(&str, i64); 2] = [("app-a", 2), ("app-b", 3)];

/// A batch and an enterprise account, in the columns every schema has.
const BATCH_AND_ENTERPRISE: &str = "INSERT INTO batches (id, program_key, name, quota, opens_at, enterprise_deadline, recommend_deadline, created_at) \
            VALUES ('batch', 'p', '批次', 50, 0, 0, 0, 0);\n\
            INSERT INTO users (id, username, role, display_name, password_hash, created_at, updated_at) \
            VALUES ('ent', 'ent', 'enterprise', '企业', 'x', 0, 0);\n";

/// `migrations` applied and recorded as the store records them (before
/// checksums were kept).
fn migrated(migrations: &[&str]) -> String {
    let mut sql = String::from(
        "CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL);\n",
    );
    for (i, m) in migrations.iter().enumerate() {
        sql += m;
        sql += &format!(";\nINSERT INTO schema_migrations VALUES ({}, 0);\n", i + 1);
    }
    sql
}

/// The old schema, recorded as migrated, with two applications and their versions.
fn before_chain(migrations: &[&str]) -> String {
    let mut sql = migrated(migrations);
    sql += BATCH_AND_ENTERPRISE;
    for (app, versions) in APPS {
        sql += &format!(
            "INSERT INTO applications (id, batch_id, enterprise_id, credit_code, enterprise_name, \
             city_code, county_code, state, version, declarations, created_at, updated_at) \
             VALUES ('{app}', 'batch', 'ent', '{app}', '企业', '420100', '420102', 'draft', {versions}, '{{}}', 0, 0);\n"
        );
        for v in 1..=versions {
            let kind = if app == "app-a" && v == 2 {
                "submitted"
            } else {
                "draft"
            };
            sql += &format!(
                "INSERT INTO application_versions (application_id, version, kind, content, created_at, created_by) \
                 VALUES ('{app}', {v}, '{kind}', '{}', {v}, 'test');\n",
                content(app, v)
            );
        }
    }
    sql
}

/// An old database made by `postgres_sql` (a fresh schema, when
/// TEST_DATABASE_URL is set) or `sqlite_sql` (a file in `dir`), then opened,
/// which runs the migrations it lacks.
async fn upgraded(dir: &std::path::Path, postgres_sql: &str, sqlite_sql: &str) -> Db {
    match std::env::var("TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => {
            use sqlx::{Connection, Executor};
            let schema = format!("t_{}", shenbao::store::new_id());
            let mut conn = sqlx::PgConnection::connect(&url).await.expect("connect");
            conn.execute(format!("CREATE SCHEMA {schema}; SET search_path TO {schema};").as_str())
                .await
                .expect("schema");
            conn.execute(postgres_sql).await.expect("old database");
            conn.close().await.expect("close");
            Db::open_postgres_schema(&url, &schema)
                .await
                .expect("upgrade")
        }
        _ => {
            rusqlite::Connection::open(dir.join("shenbao.db"))
                .expect("open")
                .execute_batch(sqlite_sql)
                .expect("old database");
            Db::open(None, dir).await.expect("upgrade")
        }
    }
}

fn content(app: &str, v: i64) -> String {
    format!("{{\"v\":\"{app}-{v}\"}}")
}

async fn history(db: &Db, app: &str) -> Vec<i64> {
    applications::versions(db, app)
        .await
        .expect("versions")
        .iter()
        .map(|v| v.version)
        .collect()
}

/// After the upgrade every version reads as before, along the chain, the
/// head is the current version, the submitted row is still immutable, and a
/// new save goes on the chain.
#[tokio::test]
async fn an_older_database_is_upgraded_to_the_version_chain() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = upgraded(
        dir.path(),
        &before_chain(POSTGRES_BEFORE_CHAIN),
        &before_chain(SQLITE_BEFORE_CHAIN),
    )
    .await;

    // Existing applications get their 申报编号 in their city's order
    // (the batch opened at the epoch: 1970 in Asia/Shanghai).
    assert_eq!(
        applications::number_of(&db, "app-a").await.unwrap(),
        "1970-4201-0001"
    );
    assert_eq!(
        applications::number_of(&db, "app-b").await.unwrap(),
        "1970-4201-0002"
    );
    // Every version was within a minute of the one before: of app-b's
    // drafts the first and the last are kept (migration 18), and app-a's
    // submission.
    let kept = [("app-a", vec![2, 1]), ("app-b", vec![3, 1])];
    for (app, versions) in kept {
        assert_eq!(history(&db, app).await, versions, "{app}");
        for v in versions {
            let (_, text) = applications::version_content(&db, app, v)
                .await
                .expect("read")
                .unwrap_or_else(|| panic!("{app} version {v} missing"));
            assert_eq!(text, content(app, v));
        }
    }
    assert!(
        applications::version_content(&db, "app-b", 2)
            .await
            .expect("read")
            .is_none()
    );
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

    // A new explicit save keeps version 4, above the old keys.
    let saved = applications::save_draft(
        &db,
        "app-b",
        "ent",
        3,
        content("app-b", 4),
        applications::Keep::Always,
        &applications::DraftSummary::default(),
        "test",
        0,
    )
    .await
    .expect("save");
    assert_eq!(saved, applications::SaveOutcome::Saved { version: 4 });
    assert_eq!(history(&db, "app-b").await, vec![4, 3, 1]);
    let (_, text) = applications::version_content(&db, "app-b", 3)
        .await
        .expect("read")
        .expect("version 3");
    assert_eq!(text, content("app-b", 3));
}

/// Migrations 1 to 17 of one backend's folder.
macro_rules! migrations_upto_17 {
    ($backend:literal) => {
        &[
            include_str!(concat!(
                "../../migrations/",
                $backend,
                "/0001_foundation.sql"
            )),
            include_str!(concat!(
                "../../migrations/",
                $backend,
                "/0002_applications.sql"
            )),
            include_str!(concat!("../../migrations/", $backend, "/0003_city.sql")),
            include_str!(concat!("../../migrations/", $backend, "/0004_exports.sql")),
            include_str!(concat!(
                "../../migrations/",
                $backend,
                "/0005_version_chain.sql"
            )),
            include_str!(concat!(
                "../../migrations/",
                $backend,
                "/0006_version_deltas.sql"
            )),
            include_str!(concat!("../../migrations/", $backend, "/0007_review.sql")),
            include_str!(concat!(
                "../../migrations/",
                $backend,
                "/0008_publication.sql"
            )),
            include_str!(concat!("../../migrations/", $backend, "/0009_outbox.sql")),
            include_str!(concat!(
                "../../migrations/",
                $backend,
                "/0010_audit_logins.sql"
            )),
            include_str!(concat!(
                "../../migrations/",
                $backend,
                "/0011_application_numbers.sql"
            )),
            include_str!(concat!(
                "../../migrations/",
                $backend,
                "/0012_two_factor_passwords.sql"
            )),
            include_str!(concat!(
                "../../migrations/",
                $backend,
                "/0013_integrity_chain.sql"
            )),
            include_str!(concat!(
                "../../migrations/",
                $backend,
                "/0014_batch_programs.sql"
            )),
            include_str!(concat!(
                "../../migrations/",
                $backend,
                "/0015_name_changes.sql"
            )),
            include_str!(concat!(
                "../../migrations/",
                $backend,
                "/0016_export_leases.sql"
            )),
            include_str!(concat!(
                "../../migrations/",
                $backend,
                "/0017_list_index.sql"
            )),
        ]
    };
}

const LONG: &str = "上云过程成效：降本增效明显，业务系统全部迁移上云。";
const MINUTE: i64 = 60_000;

/// The schema of migration 17 with one application whose history the old
/// code wrote: change rows (a changed entry, and a long text as the edit
/// of its JSON text), a submission, a reopening after a return, more
/// change rows.
fn with_change_rows(migrations: &[&str]) -> String {
    let mut sql = migrated(migrations);
    sql += BATCH_AND_ENTERPRISE;
    sql += "INSERT INTO applications (id, batch_id, enterprise_id, credit_code, enterprise_name, \
            city_code, county_code, state, version, declarations, created_at, updated_at, seq, number, \
            submitted_version, fingerprint, submitted_at, head) \
            VALUES ('app-c', 'batch', 'ent', 'c', '企业', '420100', '420102', 'returned', 8, '{}', 0, 0, 1, \
            '1970-4201-0001', 5, 'fp-c', 960000, 8);\n";
    let submitted = serde_json::json!({"application": "app-c", "content": {"a": "三", "t": format!("X{LONG}")}});
    let rows: [(i64, &str, i64, String, i64); 8] = [
        (
            1,
            "draft",
            0,
            serde_json::json!({"a": "一", "t": LONG}).to_string(),
            0,
        ),
        (2, "draft", 1, r#"{"a":["二"]}"#.into(), MINUTE),
        (3, "draft", 2, r#"{"t":[1,0,"X"]}"#.into(), 2 * MINUTE),
        (4, "draft", 3, r#"{"a":["三"]}"#.into(), 15 * MINUTE),
        (5, "submitted", 0, submitted.to_string(), 16 * MINUTE),
        (
            6,
            "draft",
            0,
            serde_json::json!({"a": "三", "t": format!("X{LONG}")}).to_string(),
            20 * MINUTE,
        ),
        (7, "draft", 1, r#"{"a":["四"]}"#.into(), 21 * MINUTE),
        (8, "draft", 2, r#"{"a":["五"]}"#.into(), 22 * MINUTE),
    ];
    for (v, kind, depth, content, at) in rows {
        let prev = if v == 1 {
            "NULL".to_string()
        } else {
            (v - 1).to_string()
        };
        let fp = if kind == "submitted" {
            "'fp-c'"
        } else {
            "NULL"
        };
        sql += &format!(
            "INSERT INTO application_versions (row_key, prev, application_id, version, kind, depth, content, fingerprint, created_at, created_by) \
             VALUES ({v}, {prev}, 'app-c', {v}, '{kind}', {depth}, '{content}', {fp}, {at}, 'ent');\n"
        );
    }
    sql
}

/// Migration 18 carries drafts stored as change rows over to the working
/// copy and the versions worth keeping, each read back whole; the
/// submitted version, its key and fingerprint are untouched.
#[tokio::test]
async fn change_rows_of_migration_17_become_a_working_copy_and_kept_versions() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = upgraded(
        dir.path(),
        &with_change_rows(migrations_upto_17!("postgres")),
        &with_change_rows(migrations_upto_17!("sqlite")),
    )
    .await;
    // 2 and 3 are within ten minutes of 1, 7 of the reopening (6).
    assert_eq!(history(&db, "app-c").await, vec![8, 6, 5, 4, 1]);
    let whole = |a: &str| serde_json::json!({"a": a, "t": format!("X{LONG}")});
    for (v, a) in [(4, "三"), (6, "三"), (8, "五")] {
        let (kind, text) = applications::version_content(&db, "app-c", v)
            .await
            .expect("read")
            .unwrap_or_else(|| panic!("version {v}"));
        assert_eq!(kind, "draft");
        let value: serde_json::Value = serde_json::from_str(&text).expect("json");
        assert_eq!(value, whole(a), "version {v}");
    }
    let first = applications::version_content(&db, "app-c", 1)
        .await
        .expect("read")
        .expect("version 1");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&first.1).expect("json"),
        serde_json::json!({"a": "一", "t": LONG})
    );
    let row = db
        .query(
            "SELECT row_key, content, fingerprint FROM application_versions WHERE application_id = 'app-c' AND kind = 'submitted'",
            vec![],
        )
        .await
        .expect("submitted");
    assert_eq!(row.len(), 1);
    assert_eq!(row[0].int(0), 5);
    assert_eq!(
        row[0].text(1),
        serde_json::json!({"application": "app-c", "content": {"a": "三", "t": format!("X{LONG}")}}).to_string()
    );
    assert_eq!(row[0].text(2), "fp-c");
    let (version, current) = applications::content(&db, "app-c")
        .await
        .expect("content")
        .expect("app-c");
    assert_eq!((version, current), (8, whole("五")));

    // An autosave a minute after the last kept version keeps none; it is
    // listed as the working copy.
    let saved = applications::save_draft(
        &db,
        "app-c",
        "ent",
        8,
        whole("六").to_string(),
        applications::Keep::IfDue,
        &applications::DraftSummary::default(),
        "ent",
        23 * MINUTE,
    )
    .await
    .expect("save");
    assert_eq!(saved, applications::SaveOutcome::Saved { version: 9 });
    let listed = applications::versions(&db, "app-c")
        .await
        .expect("versions");
    assert_eq!(
        listed
            .iter()
            .map(|v| (v.version, v.kind.as_str()))
            .collect::<Vec<_>>(),
        vec![
            (9, "current"),
            (8, "draft"),
            (6, "draft"),
            (5, "submitted"),
            (4, "draft"),
            (1, "draft")
        ]
    );
}

const SQLITE_BEFORE_OUTBOX: &[&str] = &[
    include_str!("../../migrations/sqlite/0001_foundation.sql"),
    include_str!("../../migrations/sqlite/0002_applications.sql"),
    include_str!("../../migrations/sqlite/0003_city.sql"),
    include_str!("../../migrations/sqlite/0004_exports.sql"),
    include_str!("../../migrations/sqlite/0005_version_chain.sql"),
    include_str!("../../migrations/sqlite/0006_version_deltas.sql"),
    include_str!("../../migrations/sqlite/0007_review.sql"),
    include_str!("../../migrations/sqlite/0008_publication.sql"),
];
const POSTGRES_BEFORE_OUTBOX: &[&str] = &[
    include_str!("../../migrations/postgres/0001_foundation.sql"),
    include_str!("../../migrations/postgres/0002_applications.sql"),
    include_str!("../../migrations/postgres/0003_city.sql"),
    include_str!("../../migrations/postgres/0004_exports.sql"),
    include_str!("../../migrations/postgres/0005_version_chain.sql"),
    include_str!("../../migrations/postgres/0006_version_deltas.sql"),
    include_str!("../../migrations/postgres/0007_review.sql"),
    include_str!("../../migrations/postgres/0008_publication.sql"),
];

/// The schema of migration 8 with an account in it.
fn before_outbox(migrations: &[&str]) -> String {
    let mut sql = migrated(migrations);
    sql += "INSERT INTO users (id, username, role, display_name, password_hash, created_at, updated_at) \
            VALUES ('ent', 'ent', 'enterprise', '企业', 'x', 0, 0);\n";
    sql
}

/// Migration 9 adds the outbox to a database of migration 8: the existing
/// account can receive a message, and a reminder's key is kept once.
#[tokio::test]
async fn a_database_of_migration_8_gets_the_outbox() {
    use shenbao::domain::notify::Kind;
    use shenbao::store::outbox::{self, NewMessage};
    let dir = tempfile::tempdir().expect("temp dir");
    let db = upgraded(
        dir.path(),
        &before_outbox(POSTGRES_BEFORE_OUTBOX),
        &before_outbox(SQLITE_BEFORE_OUTBOX),
    )
    .await;
    for _ in 0..2 {
        let mut b = Batch::new();
        outbox::push(
            &mut b,
            &NewMessage {
                recipient_id: "ent",
                kind: Kind::ApplicationPassed,
                vars: [("enterprise".to_string(), "企业".to_string())].into(),
                link: "/dashboard".into(),
                dedup_key: Some("ent/passed/1".into()),
            },
            5,
        );
        db.write(b).await.expect("write");
    }
    assert_eq!(outbox::unread_count(&db, "ent").await.expect("count"), 1);
    let m = &outbox::all(&db).await.expect("all")[0];
    assert_eq!(
        (m.kind, m.mail_state.as_str()),
        (Kind::ApplicationPassed, "pending")
    );
}

/// Each applied migration's checksum is kept (and filled in for a database
/// made before checksums were); a migration file changed after it was
/// applied stops the start with the migration named.
#[tokio::test]
async fn a_migration_changed_after_it_was_applied_stops_the_start() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = std::env::var("TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty());
    let schema = format!("t_{}", shenbao::store::new_id());
    let open = || async {
        match &url {
            Some(url) => Db::open_postgres_schema(url, &schema).await,
            None => Db::open(None, dir.path()).await,
        }
    };
    let db = open().await.expect("open");
    let unrecorded = db
        .query(
            "SELECT COUNT(*) FROM schema_migrations WHERE checksum IS NULL OR checksum = ''",
            Vec::new(),
        )
        .await
        .expect("query")[0]
        .int(0);
    assert_eq!(unrecorded, 0);
    // Opened again unchanged: fine.
    drop(open().await.expect("reopen"));
    db.write(Batch::one(
        "UPDATE schema_migrations SET checksum = 'changed' WHERE version = 3",
        Vec::new(),
    ))
    .await
    .expect("tamper");
    let e = open().await.err().expect("refused");
    assert!(e.to_string().contains("第3号数据库迁移"), "{e}");
}

const SQLITE_BEFORE_TWO_FACTOR: &[&str] = &[
    include_str!("../../migrations/sqlite/0001_foundation.sql"),
    include_str!("../../migrations/sqlite/0002_applications.sql"),
    include_str!("../../migrations/sqlite/0003_city.sql"),
    include_str!("../../migrations/sqlite/0004_exports.sql"),
    include_str!("../../migrations/sqlite/0005_version_chain.sql"),
    include_str!("../../migrations/sqlite/0006_version_deltas.sql"),
    include_str!("../../migrations/sqlite/0007_review.sql"),
    include_str!("../../migrations/sqlite/0008_publication.sql"),
    include_str!("../../migrations/sqlite/0009_outbox.sql"),
    include_str!("../../migrations/sqlite/0010_audit_logins.sql"),
    include_str!("../../migrations/sqlite/0011_application_numbers.sql"),
];
const POSTGRES_BEFORE_TWO_FACTOR: &[&str] = &[
    include_str!("../../migrations/postgres/0001_foundation.sql"),
    include_str!("../../migrations/postgres/0002_applications.sql"),
    include_str!("../../migrations/postgres/0003_city.sql"),
    include_str!("../../migrations/postgres/0004_exports.sql"),
    include_str!("../../migrations/postgres/0005_version_chain.sql"),
    include_str!("../../migrations/postgres/0006_version_deltas.sql"),
    include_str!("../../migrations/postgres/0007_review.sql"),
    include_str!("../../migrations/postgres/0008_publication.sql"),
    include_str!("../../migrations/postgres/0009_outbox.sql"),
    include_str!("../../migrations/postgres/0010_audit_logins.sql"),
    include_str!("../../migrations/postgres/0011_application_numbers.sql"),
];

/// Migration 12 (two-factor login, password policy) on a database of
/// migration 11 with a staff account and its session: the password counts
/// from its last change, is in the history, the session stays a full one
/// and the account has no second factor yet.
#[tokio::test]
async fn a_database_of_migration_11_gets_two_factor_and_password_history() {
    let base = String::from(
        "CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL);\n",
    );
    let with = |migrations: &[&str]| {
        let mut sql = base.clone();
        for (i, m) in migrations.iter().enumerate() {
            sql += m;
            sql += &format!(";\nINSERT INTO schema_migrations VALUES ({}, 0);\n", i + 1);
        }
        sql += "INSERT INTO users (id, username, role, display_name, password_hash, created_at, updated_at) \
                VALUES ('off', 'off', 'province', '省厅', 'old-hash', 5, 77);\n\
                INSERT INTO sessions (id_hash, user_id, csrf, created_at, last_seen, ip, user_agent) \
                VALUES ('s', 'off', 'c', 70, 70, '10.0.0.1', 'ua');\n";
        sql
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let db = upgraded(
        dir.path(),
        &with(POSTGRES_BEFORE_TWO_FACTOR),
        &with(SQLITE_BEFORE_TWO_FACTOR),
    )
    .await;
    let user = shenbao::store::users::by_id(&db, "off")
        .await
        .expect("read")
        .expect("the account");
    assert_eq!(user.password_set_at, 77);
    assert_eq!(
        shenbao::store::users::recent_password_hashes(&db, "off", 5)
            .await
            .expect("history"),
        vec!["old-hash".to_string()]
    );
    let (session, _) = shenbao::store::sessions::find(&db, "s")
        .await
        .expect("read")
        .expect("the session");
    assert!(!session.mfa_pending);
    assert!(
        !shenbao::store::twofactor::enrolled(&db, "off")
            .await
            .expect("read")
    );
}
