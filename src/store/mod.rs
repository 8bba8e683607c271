//! Persistence behind one interface.
//!
//! SQL is written once, with `$1 … $n` placeholders, and runs on both SQLite
//! (embedded default) and PostgreSQL. Only the DDL differs, kept apart under
//! `migrations/sqlite` and `migrations/postgres`. Reads return plain rows;
//! writes are atomic batches of statements, which lets the SQLite backend group
//! many requests' batches into one durable commit.

mod postgres;
mod sqlite;

pub mod applications;
pub mod attachments;
pub mod audit;
pub mod batches;
pub mod cases;
pub mod chain;
pub mod derived;
mod draft_migration;
pub mod name_changes;
pub mod outbox;
pub mod publication;
pub mod recommendations;
pub mod review;
pub mod scoring;
pub mod screening;
pub mod secret_key;
pub mod sessions;
pub mod settings;
pub mod twofactor;
pub mod users;

use std::path::Path;
use std::sync::Arc;

/// A value bound to or read from SQL. Nulls carry their type because
/// PostgreSQL needs it.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Int(i64),
    Text(String),
    Blob(Vec<u8>),
    NullInt,
    NullText,
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}
impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Int(v as i64)
    }
}
impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(v.to_string())
    }
}
impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Text(v)
    }
}
impl From<&String> for Value {
    fn from(v: &String) -> Self {
        Value::Text(v.clone())
    }
}
impl From<Vec<u8>> for Value {
    fn from(v: Vec<u8>) -> Self {
        Value::Blob(v)
    }
}
impl From<Option<i64>> for Value {
    fn from(v: Option<i64>) -> Self {
        v.map_or(Value::NullInt, Value::Int)
    }
}
impl From<Option<String>> for Value {
    fn from(v: Option<String>) -> Self {
        v.map_or(Value::NullText, Value::Text)
    }
}
impl From<Option<&str>> for Value {
    fn from(v: Option<&str>) -> Self {
        v.map_or(Value::NullText, |s| Value::Text(s.to_string()))
    }
}

/// Builds a `Vec<Value>` from expressions: `params![a, b, c]`.
#[macro_export]
macro_rules! params {
    ($($v:expr),* $(,)?) => { vec![$($crate::store::Value::from($v)),*] };
}

/// One result row; columns are read by position.
#[derive(Debug, Clone)]
pub struct Row(pub Vec<Value>);

impl Row {
    /// Column `i` as text, moved out of the row (which keeps an empty value).
    pub fn take_text(&mut self, i: usize) -> String {
        match &mut self.0[i] {
            Value::Text(s) => std::mem::take(s),
            Value::Int(n) => n.to_string(),
            _ => String::new(),
        }
    }
    pub fn text(&self, i: usize) -> String {
        match &self.0[i] {
            Value::Text(s) => s.clone(),
            Value::Int(n) => n.to_string(),
            _ => String::new(),
        }
    }
    pub fn opt_text(&self, i: usize) -> Option<String> {
        match &self.0[i] {
            Value::Text(s) => Some(s.clone()),
            _ => None,
        }
    }
    pub fn int(&self, i: usize) -> i64 {
        match &self.0[i] {
            Value::Int(n) => *n,
            _ => 0,
        }
    }
    pub fn opt_int(&self, i: usize) -> Option<i64> {
        match &self.0[i] {
            Value::Int(n) => Some(*n),
            _ => None,
        }
    }
    pub fn bool(&self, i: usize) -> bool {
        self.int(i) != 0
    }
}

/// What a statement in a batch must have done for the batch to commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    Any,
    /// Exactly one row changed; otherwise the batch is rolled back with `Conflict`.
    One,
}

#[derive(Debug, Clone)]
pub struct Stmt {
    pub sql: &'static str,
    pub params: Vec<Value>,
    pub expect: Expect,
    /// The logins this statement may change (see `sessions::LoginCache`).
    pub logins: Option<LoginKey>,
    /// What an `Expect::One` statement guards, named for the caller (by
    /// its place in the batch when not named).
    pub guard: Option<Guard>,
}

/// The rule an `Expect::One` statement upholds: what [`StoreError::Conflict`]
/// says did not hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Guard {
    /// An unnamed statement, by its place in the batch.
    Statement(usize),
    /// The city's recommendation is still a draft (at the version read).
    RecommendationDraft,
    /// The city's recommendation list has room under its cap.
    RecommendationRoom,
    /// The application's attachments stay within their total.
    AttachmentTotal,
    /// The attachment is still live (not replaced or deleted meanwhile).
    AttachmentLive,
}

/// Whose login a statement may change: the session cache drops exactly
/// those entries after the commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginKey {
    /// An account (its password, role, name, state, or all its sessions).
    User(String),
    /// One session.
    Session(String),
    /// Any (housekeeping of expired sessions).
    Every,
}

/// Statements applied atomically, in order.
#[derive(Debug, Clone, Default)]
pub struct Batch(pub Vec<Stmt>);

impl Batch {
    pub fn new() -> Self {
        Batch(Vec::new())
    }
    pub fn push(&mut self, sql: &'static str, params: Vec<Value>) -> &mut Self {
        self.0.push(Stmt {
            sql,
            params,
            expect: Expect::Any,
            logins: None,
            guard: None,
        });
        self
    }
    pub fn push_one(&mut self, sql: &'static str, params: Vec<Value>) -> &mut Self {
        self.0.push(Stmt {
            sql,
            params,
            expect: Expect::One,
            logins: None,
            guard: None,
        });
        self
    }
    /// Names the rule of the `push_one` statement pushed last.
    pub fn guarding(&mut self, guard: Guard) -> &mut Self {
        if let Some(s) = self.0.last_mut() {
            s.guard = Some(guard);
        }
        self
    }
    /// Marks the statement pushed last as changing `key`'s logins.
    pub fn changing_logins(&mut self, key: LoginKey) -> &mut Self {
        if let Some(s) = self.0.last_mut() {
            s.logins = Some(key);
        }
        self
    }
    pub fn one(sql: &'static str, params: Vec<Value>) -> Self {
        let mut b = Batch::new();
        b.push(sql, params);
        b
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("unique constraint violated: {0}")]
    Unique(String),
    /// A statement marked `Expect::One` changed no row (lost race, stale
    /// version): the rule it guards no longer holds.
    #[error("conflict: {0:?} does not hold")]
    Conflict(Guard),
    #[error("database: {0}")]
    Other(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// SHA-256 (hex) of a migration's text, recorded when it is applied.
pub(crate) fn migration_checksum(sql: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(sql.as_bytes()))
}

/// An applied migration whose file has changed since stops the start: the
/// database was built by other text than the binary carries.
pub(crate) fn check_migration(version: i64, stored: &str, now: &str) -> anyhow::Result<()> {
    if stored == now {
        return Ok(());
    }
    anyhow::bail!(
        "第{version}号数据库迁移已应用，但程序中的迁移文件已被修改（应用时校验和 {}…，现为 {}…）。\
         已应用的迁移不能修改，请使用与该数据库相符的程序版本，或把修改写成新的迁移。",
        stored.get(..12).unwrap_or(stored),
        now.get(..12).unwrap_or(now)
    )
}

/// The database: SQLite or PostgreSQL.
#[derive(Clone)]
pub enum Db {
    Sqlite(sqlite::SqliteDb),
    Postgres(postgres::PgDb),
}

impl Db {
    /// Opens `url` (postgres://…) or, without one, the SQLite file under `data_dir`,
    /// and applies pending migrations.
    pub async fn open(url: Option<&str>, data_dir: &Path) -> anyhow::Result<Db> {
        let db = Db::open_any(url, data_dir).await?;
        applications::row_keys_above_stored(&db).await?;
        std::fs::create_dir_all(data_dir)?;
        db.take_secret_key(Some(data_dir)).await?;
        Ok(db)
    }

    /// Loads the key of the sealed secrets (see [`secret_key::SecretKey::path`];
    /// without one, the process's own) and seals any secret kept in clear.
    async fn take_secret_key(&self, data_dir: Option<&Path>) -> anyhow::Result<()> {
        if let Some(path) = secret_key::SecretKey::path(data_dir) {
            let key = secret_key::SecretKey::load_or_create(&path)?;
            let _ = self.secret_key_cell().set(Arc::new(key));
        }
        twofactor::seal_kept_in_clear(self).await?;
        Ok(())
    }

    async fn open_any(url: Option<&str>, data_dir: &Path) -> anyhow::Result<Db> {
        match url {
            Some(u) if u.starts_with("postgres://") || u.starts_with("postgresql://") => {
                Ok(Db::Postgres(postgres::PgDb::open(u, None).await?))
            }
            Some(u) if u.starts_with("sqlite://") => {
                let path = u.trim_start_matches("sqlite://");
                Ok(Db::Sqlite(sqlite::SqliteDb::open(Path::new(path))?))
            }
            Some(u) => anyhow::bail!("不支持的数据库地址：{u}（应为 postgres://… 或 sqlite://…）"),
            None => {
                std::fs::create_dir_all(data_dir)?;
                Ok(Db::Sqlite(sqlite::SqliteDb::open(
                    &data_dir.join("shenbao.db"),
                )?))
            }
        }
    }

    /// PostgreSQL in its own schema (created if missing): one fresh schema per test.
    /// Its secrets are sealed by the process's own key (or the file
    /// `SHENBAO_SECRET_KEY_FILE` names).
    pub async fn open_postgres_schema(url: &str, schema: &str) -> anyhow::Result<Db> {
        let db = Db::Postgres(postgres::PgDb::open(url, Some(schema)).await?);
        applications::row_keys_above_stored(&db).await?;
        db.take_secret_key(None).await?;
        Ok(db)
    }

    fn secret_key_cell(&self) -> &std::sync::OnceLock<Arc<secret_key::SecretKey>> {
        match self {
            Db::Sqlite(db) => db.secret_key_cell(),
            Db::Postgres(db) => db.secret_key_cell(),
        }
    }

    /// The key sealing the secrets the database holds (see `secret_key`).
    pub fn secret_key(&self) -> &secret_key::SecretKey {
        self.secret_key_cell()
            .get()
            .unwrap_or(&secret_key::EPHEMERAL)
    }

    pub fn backend(&self) -> &'static str {
        match self {
            Db::Sqlite(_) => "sqlite",
            Db::Postgres(_) => "postgres",
        }
    }

    pub async fn query(&self, sql: &'static str, params: Vec<Value>) -> Result<Vec<Row>> {
        match self {
            Db::Sqlite(db) => db.query(sql, params),
            Db::Postgres(db) => db.query(sql, params).await,
        }
    }

    pub async fn query_opt(&self, sql: &'static str, params: Vec<Value>) -> Result<Option<Row>> {
        Ok(self.query(sql, params).await?.into_iter().next())
    }

    /// Moves on after every committed write: on SQLite the count of this
    /// handle's writes (one process writes the file); on PostgreSQL a
    /// sequence every process moves on after each commit (one round trip).
    pub async fn stamp(&self) -> Result<u64> {
        match self {
            Db::Sqlite(db) => Ok(db.generation()),
            Db::Postgres(db) => postgres::scoped_stamp(db.stamp()).await,
        }
    }

    /// The cache of session reads (SQLite only; see `sessions`).
    pub(crate) fn login_cache(&self) -> Option<&sessions::LoginCache> {
        match self {
            Db::Sqlite(db) => Some(db.login_cache()),
            Db::Postgres(_) => None,
        }
    }

    /// Applies `batch` atomically; returns the rows changed by each statement.
    pub async fn write(&self, batch: Batch) -> Result<Vec<u64>> {
        if batch.0.is_empty() {
            return Ok(Vec::new());
        }
        match self {
            Db::Sqlite(db) => db.write(batch).await,
            Db::Postgres(db) => {
                let out = db.write(batch).await;
                // Later reads of this request must see the stamp it moved.
                postgres::forget_scoped_stamp();
                out
            }
        }
    }

    /// Runs a read-only request's work with all its reads in one snapshot
    /// (SQLite: one read transaction). On PostgreSQL the request's stamp is
    /// read once, or taken from `stamp` (read with its session), and kept
    /// for its derived values until it writes.
    pub async fn read_scope<F: std::future::Future>(
        &self,
        stamp: Option<u64>,
        fut: F,
    ) -> F::Output {
        match self {
            Db::Sqlite(_) => sqlite::read_scope(fut).await,
            Db::Postgres(_) => postgres::read_scope(stamp, fut).await,
        }
    }

    pub async fn ping(&self) -> bool {
        self.query("SELECT 1", Vec::new()).await.is_ok()
    }
}

/// Milliseconds since the Unix epoch, the storage form of every instant.
pub type Millis = i64;

pub fn new_id() -> String {
    uuid::Uuid::now_v7().simple().to_string()
}
