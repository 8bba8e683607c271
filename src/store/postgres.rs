//! PostgreSQL backend (sqlx). Several `shenbao serve` processes can share it.

use sqlx::postgres::{PgArguments, PgConnectOptions, PgPoolOptions, PgRow};
use sqlx::query::Query;
use sqlx::{Column, Connection, Executor, PgPool, Postgres, Row as _, TypeInfo, ValueRef};

use super::{Batch, Expect, Guard, Result, Row, StoreError, Value};

const MIGRATIONS: &[(i64, &str)] = &[
    (
        1,
        include_str!("../../migrations/postgres/0001_foundation.sql"),
    ),
    (
        2,
        include_str!("../../migrations/postgres/0002_applications.sql"),
    ),
    (3, include_str!("../../migrations/postgres/0003_city.sql")),
    (
        4,
        include_str!("../../migrations/postgres/0004_exports.sql"),
    ),
    (
        5,
        include_str!("../../migrations/postgres/0005_version_chain.sql"),
    ),
    (
        6,
        include_str!("../../migrations/postgres/0006_version_deltas.sql"),
    ),
    (7, include_str!("../../migrations/postgres/0007_review.sql")),
    (
        8,
        include_str!("../../migrations/postgres/0008_publication.sql"),
    ),
    (9, include_str!("../../migrations/postgres/0009_outbox.sql")),
    (
        10,
        include_str!("../../migrations/postgres/0010_audit_logins.sql"),
    ),
    (
        11,
        include_str!("../../migrations/postgres/0011_application_numbers.sql"),
    ),
    (
        12,
        include_str!("../../migrations/postgres/0012_two_factor_passwords.sql"),
    ),
    (
        13,
        include_str!("../../migrations/postgres/0013_integrity_chain.sql"),
    ),
    (
        14,
        include_str!("../../migrations/postgres/0014_batch_programs.sql"),
    ),
    (
        15,
        include_str!("../../migrations/postgres/0015_name_changes.sql"),
    ),
    (
        16,
        include_str!("../../migrations/postgres/0016_export_leases.sql"),
    ),
    (
        17,
        include_str!("../../migrations/postgres/0017_list_index.sql"),
    ),
    (
        18,
        include_str!("../../migrations/postgres/0018_working_copy.sql"),
    ),
];

#[derive(Clone)]
pub struct PgDb {
    pool: PgPool,
    secret_key: std::sync::Arc<std::sync::OnceLock<std::sync::Arc<super::secret_key::SecretKey>>>,
}

fn err(e: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(d) = &e
        && d.code().as_deref() == Some("23505")
    {
        return StoreError::Unique(d.constraint().unwrap_or_default().to_string());
    }
    StoreError::Other(e.to_string())
}

fn bind<'q>(
    mut q: Query<'q, Postgres, PgArguments>,
    params: &'q [Value],
) -> Query<'q, Postgres, PgArguments> {
    for v in params {
        q = match v {
            Value::Int(n) => q.bind(*n),
            Value::Text(s) => q.bind(s.as_str()),
            Value::Blob(b) => q.bind(b.as_slice()),
            Value::NullInt => q.bind(None::<i64>),
            Value::NullText => q.bind(None::<String>),
        };
    }
    q
}

fn convert(row: &PgRow) -> Result<Row> {
    let mut vals = Vec::with_capacity(row.len());
    for (i, col) in row.columns().iter().enumerate() {
        let raw = row.try_get_raw(i).map_err(err)?;
        if raw.is_null() {
            vals.push(Value::NullText);
            continue;
        }
        let v = match col.type_info().name() {
            "INT8" => Value::Int(row.try_get::<i64, _>(i).map_err(err)?),
            "INT4" => Value::Int(row.try_get::<i32, _>(i).map_err(err)? as i64),
            "INT2" => Value::Int(row.try_get::<i16, _>(i).map_err(err)? as i64),
            "BOOL" => Value::Int(row.try_get::<bool, _>(i).map_err(err)? as i64),
            "BYTEA" => Value::Blob(row.try_get::<Vec<u8>, _>(i).map_err(err)?),
            "NUMERIC" | "FLOAT8" | "FLOAT4" => {
                Value::Int(row.try_get::<f64, _>(i).unwrap_or_default() as i64)
            }
            _ => Value::Text(row.try_get::<String, _>(i).map_err(err)?),
        };
        vals.push(v);
    }
    Ok(Row(vals))
}

impl PgDb {
    pub(super) fn secret_key_cell(
        &self,
    ) -> &std::sync::OnceLock<std::sync::Arc<super::secret_key::SecretKey>> {
        &self.secret_key
    }

    pub async fn open(url: &str, schema: Option<&str>) -> anyhow::Result<PgDb> {
        let mut opts: PgConnectOptions = url.parse()?;
        if let Some(s) = schema {
            anyhow::ensure!(
                s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
                "bad schema name"
            );
            let mut conn = sqlx::PgConnection::connect_with(&opts).await?;
            conn.execute(format!("CREATE SCHEMA IF NOT EXISTS {s}").as_str())
                .await?;
            conn.close().await?;
            opts = opts.options([("search_path", s)]);
        }
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .min_connections(0)
            .connect_with(opts)
            .await?;
        let db = PgDb {
            pool,
            secret_key: Default::default(),
        };
        db.migrate().await?;
        Ok(db)
    }

    async fn migrate(&self) -> anyhow::Result<()> {
        let mut conn = self.pool.acquire().await?;
        // One migrator at a time when several servers start together.
        conn.execute("SELECT pg_advisory_lock(7341)").await?;
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL, checksum TEXT)",
        )
        .await?;
        // A table made before migrations carried their checksum gets the column.
        conn.execute("ALTER TABLE schema_migrations ADD COLUMN IF NOT EXISTS checksum TEXT")
            .await?;
        for (version, sql) in MIGRATIONS {
            let sum = super::migration_checksum(sql);
            let stored: Option<Option<String>> =
                sqlx::query_scalar("SELECT checksum FROM schema_migrations WHERE version = $1")
                    .bind(version)
                    .fetch_optional(&mut *conn)
                    .await?;
            match stored {
                None => {
                    let mut tx = conn.begin().await?;
                    tx.execute(*sql).await?;
                    if *version == 18 {
                        super::draft_migration::postgres(&mut tx).await?;
                    }
                    sqlx::query(
                        "INSERT INTO schema_migrations (version, applied_at, checksum) VALUES ($1, $2, $3)",
                    )
                    .bind(version)
                    .bind(jiff::Timestamp::now().as_millisecond())
                    .bind(&sum)
                    .execute(&mut *tx)
                    .await?;
                    tx.commit().await?;
                }
                // Applied before checksums were kept: recorded as it is now.
                Some(None) => {
                    sqlx::query("UPDATE schema_migrations SET checksum = $2 WHERE version = $1")
                        .bind(version)
                        .bind(&sum)
                        .execute(&mut *conn)
                        .await?;
                }
                Some(Some(s)) => {
                    if let Err(e) = super::check_migration(*version, &s, &sum) {
                        conn.execute("SELECT pg_advisory_unlock(7341)").await?;
                        return Err(e);
                    }
                }
            }
        }
        conn.execute("SELECT pg_advisory_unlock(7341)").await?;
        Ok(())
    }

    pub async fn query(&self, sql: &'static str, params: Vec<Value>) -> Result<Vec<Row>> {
        let rows = bind(sqlx::query(sql), &params)
            .fetch_all(&self.pool)
            .await
            .map_err(err)?;
        rows.iter().map(convert).collect()
    }

    pub async fn write(&self, batch: Batch) -> Result<Vec<u64>> {
        let quiet = super::derived::quiet(&batch);
        // One statement needs no transaction around it: sent alone it is
        // atomic, and committed in one round trip instead of three (BEGIN,
        // the statement, COMMIT). A statement that must change one row
        // targets it by its key, so "not one" means none: nothing to undo.
        if let [stmt] = &batch.0[..] {
            let n = bind(sqlx::query(stmt.sql), &stmt.params)
                .execute(&self.pool)
                .await
                .map_err(err)?
                .rows_affected();
            if stmt.expect == Expect::One && n != 1 {
                return Err(StoreError::Conflict(
                    stmt.guard.unwrap_or(Guard::Statement(0)),
                ));
            }
            if !quiet {
                self.bump().await;
            }
            return Ok(vec![n]);
        }
        let mut tx = self.pool.begin().await.map_err(err)?;
        let mut counts = Vec::with_capacity(batch.0.len());
        for (i, stmt) in batch.0.iter().enumerate() {
            let n = bind(sqlx::query(stmt.sql), &stmt.params)
                .execute(&mut *tx)
                .await
                .map_err(err)?
                .rows_affected();
            if stmt.expect == Expect::One && n != 1 {
                return Err(StoreError::Conflict(
                    stmt.guard.unwrap_or(Guard::Statement(i)),
                ));
            }
            counts.push(n);
        }
        tx.commit().await.map_err(err)?;
        if !quiet {
            self.bump().await;
        }
        Ok(counts)
    }

    /// Moves the store's stamp on, after a commit (see [`PgDb::stamp`]).
    async fn bump(&self) {
        if let Err(e) = sqlx::query("SELECT nextval('shenbao_generation')")
            .execute(&self.pool)
            .await
        {
            tracing::warn!(error = %e, "moving the store's stamp on failed");
        }
    }

    /// A number that moves on after every committed write of any process:
    /// each write moves it on after its commit, before it is answered. Read
    /// before a read, it tells whether what that read saw may since have
    /// changed (`derived`): a write committed after the read moves it on
    /// after, and one committed before was either seen by the read or moved
    /// it on before the stamp was taken.
    pub async fn stamp(&self) -> Result<u64> {
        let v: i64 = sqlx::query_scalar("SELECT last_value FROM shenbao_generation")
            .fetch_one(&self.pool)
            .await
            .map_err(err)?;
        Ok(v as u64)
    }
}

tokio::task_local! {
    /// The stamp of a read-only request (`Db::read_scope`), read once: a
    /// stamp taken earlier than a read is only more cautious (`derived`
    /// recomputes sooner, never later), so one read of it serves every
    /// derived value of the request, until the request writes.
    static SCOPED_STAMP: std::cell::Cell<Option<u64>>;
}

pub async fn read_scope<F: std::future::Future>(stamp: Option<u64>, fut: F) -> F::Output {
    SCOPED_STAMP.scope(std::cell::Cell::new(stamp), fut).await
}

/// The request's stamp if it has one, else `read`'s (kept for the request).
pub async fn scoped_stamp(read: impl std::future::Future<Output = Result<u64>>) -> Result<u64> {
    if let Ok(Some(v)) = SCOPED_STAMP.try_with(|c| c.get()) {
        return Ok(v);
    }
    let v = read.await?;
    let _ = SCOPED_STAMP.try_with(|c| c.set(Some(v)));
    Ok(v)
}

pub fn forget_scoped_stamp() {
    let _ = SCOPED_STAMP.try_with(|c| c.set(None));
}
