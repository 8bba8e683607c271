//! SQLite backend: reads on pooled connections inline on the caller's thread
//! (point reads take microseconds), writes through one writer thread that
//! groups the batches waiting at that moment into one transaction, each in its
//! own savepoint. A sync thread makes each commit durable before its batches
//! are answered: an acknowledged write is on disk; a failing batch does not
//! disturb its neighbours. A background thread copies the WAL back into the
//! database; the writer starts the WAL again when it has a moment without
//! work (at the latest once per 64 MiB in a sustained rush), and cuts its file
//! to nothing after `QUIET` without a write.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, OpenFlags, ToSql, types::ValueRef};
use tokio::sync::oneshot;

use super::{Batch, Expect, Guard, Result, Row, StoreError, Value};

const MIGRATIONS: &[(i64, &str)] = &[
    (
        1,
        include_str!("../../migrations/sqlite/0001_foundation.sql"),
    ),
    (
        2,
        include_str!("../../migrations/sqlite/0002_applications.sql"),
    ),
    (3, include_str!("../../migrations/sqlite/0003_city.sql")),
    (4, include_str!("../../migrations/sqlite/0004_exports.sql")),
    (
        5,
        include_str!("../../migrations/sqlite/0005_version_chain.sql"),
    ),
    (
        6,
        include_str!("../../migrations/sqlite/0006_version_deltas.sql"),
    ),
    (7, include_str!("../../migrations/sqlite/0007_review.sql")),
    (
        8,
        include_str!("../../migrations/sqlite/0008_publication.sql"),
    ),
    (9, include_str!("../../migrations/sqlite/0009_outbox.sql")),
    (
        10,
        include_str!("../../migrations/sqlite/0010_audit_logins.sql"),
    ),
    (
        11,
        include_str!("../../migrations/sqlite/0011_application_numbers.sql"),
    ),
    (
        12,
        include_str!("../../migrations/sqlite/0012_two_factor_passwords.sql"),
    ),
    (
        13,
        include_str!("../../migrations/sqlite/0013_integrity_chain.sql"),
    ),
    (
        14,
        include_str!("../../migrations/sqlite/0014_batch_programs.sql"),
    ),
    (
        15,
        include_str!("../../migrations/sqlite/0015_name_changes.sql"),
    ),
    (
        16,
        include_str!("../../migrations/sqlite/0016_export_leases.sql"),
    ),
    (
        17,
        include_str!("../../migrations/sqlite/0017_list_index.sql"),
    ),
    (
        18,
        include_str!("../../migrations/sqlite/0018_working_copy.sql"),
    ),
];
const MAX_GROUP: usize = 512;
/// The WAL is copied back into the database by a background thread, but
/// under a constant stream of commits it never catches up with the end, so
/// the WAL would grow without bound (it is only started again from its
/// beginning once everything in it has been copied). The writer itself
/// finishes the copy between two commits, when nobody else can append:
/// once the WAL holds `WAL_IDLE_FRAMES` and the writer has had nothing to do
/// for `IDLE` (then no save waits for it), or at once past `WAL_MAX_FRAMES`
/// (a sustained rush; the pause is then taken once per 64 MiB written).
///
/// The maximum was 1 GiB, but every frame appended past the file's end
/// makes the kernel allocate and zero a new block: in a profile of 32
/// experts saving scores that zeroing was a quarter of the writer's time.
/// Written over from its beginning every 64 MiB, the file stops growing
/// after the first lap.
///
/// Starting the WAL again keeps its file, which is written over from its
/// beginning. The file is cut back to nothing only after `QUIET` without a
/// write: cutting a file of hundreds of MB took the writer 100–140 ms, and
/// a lull of 50 ms in a rush is followed by more saves that would wait for
/// it (measured: it was the longest pause of the rush). Writing over blocks
/// the file already has also spares each WAL sync a journal commit.
const WAL_IDLE_FRAMES: i64 = 4 * 1024;
const WAL_MAX_FRAMES: i64 = 16 * 1024;
const IDLE: std::time::Duration = std::time::Duration::from_millis(50);
const QUIET: std::time::Duration = std::time::Duration::from_secs(2);
const RESTART_WHEN_IDLE: u8 = 1;
const RESTART_NOW: u8 = 2;
const MAX_IDLE_READERS: usize = 16;

type Job = (Batch, oneshot::Sender<Result<Vec<u64>>>);

type ScopedReader = Arc<Mutex<Option<(SqliteDb, Connection)>>>;

tokio::task_local! {
    static READ_SCOPE: ScopedReader;
}

/// Runs `fut` with its SQLite reads in one read transaction (one snapshot,
/// one lock acquisition), ended when `fut` completes. For requests that only
/// read: a write made inside the scope is not seen by its later reads.
pub async fn read_scope<F: std::future::Future>(fut: F) -> F::Output {
    let slot: ScopedReader = Arc::new(Mutex::new(None));
    let out = READ_SCOPE.scope(slot.clone(), fut).await;
    let taken = slot.lock().ok().and_then(|mut g| g.take());
    if let Some((db, conn)) = taken {
        if conn.execute_batch("COMMIT").is_ok() {
            db.give_back(conn);
        }
    }
    out
}

#[derive(Clone)]
pub struct SqliteDb {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    logins: super::sessions::LoginCache,
    secret_key: std::sync::OnceLock<Arc<super::secret_key::SecretKey>>,
    readers: Mutex<Vec<Connection>>,
    writer: Mutex<mpsc::Sender<Job>>,
    /// Moves on after every write (see [`SqliteDb::generation`]).
    writes: std::sync::atomic::AtomicU64,
}

fn open_conn(path: &Path, read_only: bool) -> rusqlite::Result<Connection> {
    let flags = if read_only {
        OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI
    } else {
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI
    };
    let conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.execute_batch("PRAGMA foreign_keys = ON; PRAGMA temp_store = MEMORY;")?;
    conn.set_prepared_statement_cache_capacity(128);
    Ok(conn)
}

fn err(e: rusqlite::Error) -> StoreError {
    if let rusqlite::Error::SqliteFailure(f, msg) = &e
        && (f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
            || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY)
    {
        return StoreError::Unique(msg.clone().unwrap_or_default());
    }
    StoreError::Other(e.to_string())
}

/// `$1` → `?1`: SQLite numbers `$name` parameters by first appearance, `?N` by N.
fn rewrite(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '$' && chars.peek().is_some_and(|d| d.is_ascii_digit()) {
            out.push('?');
        } else {
            out.push(c);
        }
    }
    out
}

fn to_sql(v: &Value) -> &dyn ToSql {
    match v {
        Value::Int(n) => n,
        Value::Text(s) => s,
        Value::Blob(b) => b,
        Value::NullInt | Value::NullText => &rusqlite::types::Null,
    }
}

thread_local! {
    /// `rewrite` of each statement text, by its address: every statement is a
    /// `&'static str`, so it is rewritten once per thread, not per execution.
    static REWRITTEN: std::cell::RefCell<std::collections::HashMap<(usize, usize), std::rc::Rc<str>>> =
        Default::default();
}

fn rewritten(sql: &'static str) -> std::rc::Rc<str> {
    REWRITTEN.with(|cache| {
        cache
            .borrow_mut()
            .entry((sql.as_ptr() as usize, sql.len()))
            .or_insert_with(|| rewrite(sql).into())
            .clone()
    })
}

fn run_query(conn: &Connection, sql: &'static str, params: &[Value]) -> rusqlite::Result<Vec<Row>> {
    let sql = rewritten(sql);
    let mut stmt = conn.prepare_cached(&sql)?;
    let n = stmt.column_count();
    let args: Vec<&dyn ToSql> = params.iter().map(to_sql).collect();
    let mut rows = stmt.query(args.as_slice())?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let mut vals = Vec::with_capacity(n);
        for i in 0..n {
            vals.push(match r.get_ref(i)? {
                ValueRef::Null => Value::NullText,
                ValueRef::Integer(v) => Value::Int(v),
                ValueRef::Real(f) => Value::Int(f as i64),
                ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
                ValueRef::Blob(b) => Value::Blob(b.to_vec()),
            });
        }
        out.push(Row(vals));
    }
    Ok(out)
}

fn run_execute(conn: &Connection, sql: &'static str, params: &[Value]) -> rusqlite::Result<usize> {
    let sql = rewritten(sql);
    let mut stmt = conn.prepare_cached(&sql)?;
    let args: Vec<&dyn ToSql> = params.iter().map(to_sql).collect();
    stmt.execute(args.as_slice())
}

fn migrate(conn: &Connection) -> anyhow::Result<()> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL, checksum TEXT)",
    )?;
    // A table made before migrations carried their checksum gets the column.
    let has_checksum: bool = conn.query_row(
        "SELECT COUNT(*) > 0 FROM pragma_table_info('schema_migrations') WHERE name = 'checksum'",
        [],
        |r| r.get(0),
    )?;
    if !has_checksum {
        conn.execute_batch("ALTER TABLE schema_migrations ADD COLUMN checksum TEXT")?;
    }
    for (version, sql) in MIGRATIONS {
        let sum = super::migration_checksum(sql);
        let stored: Option<Option<String>> = conn
            .query_row(
                "SELECT checksum FROM schema_migrations WHERE version = ?1",
                [version],
                |r| r.get(0),
            )
            .map(Some)
            .or_else(|e| match e {
                rusqlite::Error::QueryReturnedNoRows => Ok(None),
                e => Err(e),
            })?;
        match stored {
            None => {
                let tx = conn.unchecked_transaction()?;
                tx.execute_batch(sql)?;
                if *version == 18 {
                    super::draft_migration::sqlite(&tx)?;
                }
                tx.execute(
                    "INSERT INTO schema_migrations (version, applied_at, checksum) VALUES (?1, ?2, ?3)",
                    rusqlite::params![*version, jiff::Timestamp::now().as_millisecond(), sum],
                )?;
                tx.commit()?;
            }
            // Applied before checksums were kept: recorded as it is now.
            Some(None) => {
                conn.execute(
                    "UPDATE schema_migrations SET checksum = ?2 WHERE version = ?1",
                    rusqlite::params![*version, sum],
                )?;
            }
            Some(Some(s)) => super::check_migration(*version, &s, &sum)?,
        }
    }
    Ok(())
}

impl SqliteDb {
    pub fn open(path: &Path) -> anyhow::Result<SqliteDb> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let conn = open_conn(path, false)?;
        // Checkpoints run on their own thread; the writer only finishes one
        // when the WAL has grown, or cuts it when quiet (see `WAL_IDLE_FRAMES`). A commit does not
        // wait for the disk: the sync thread makes it durable before anyone
        // hears of it (`sync_loop`); checkpoints still sync as under FULL.
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA wal_autocheckpoint = 0;",
        )?;
        migrate(&conn)?;
        let checkpointer = open_conn(path, false)?;
        let (tx, rx) = mpsc::channel::<Job>();
        let (acks, committed) = mpsc::channel::<Acks>();
        let restart = Arc::new(AtomicU8::new(0));
        let wanted = restart.clone();
        let mut wal = path.as_os_str().to_owned();
        wal.push("-wal");
        std::thread::Builder::new()
            .name("sqlite-sync".into())
            .spawn(move || sync_loop(&PathBuf::from(wal), &committed))?;
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || writer_loop(conn, rx, &acks, &wanted))?;
        let inner = Arc::new(Inner {
            path: path.to_path_buf(),
            logins: Default::default(),
            secret_key: Default::default(),
            readers: Mutex::new(Vec::new()),
            writer: Mutex::new(tx),
            writes: Default::default(),
        });
        let weak = Arc::downgrade(&inner);
        std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || checkpoint_loop(checkpointer, weak, &restart))?;
        Ok(SqliteDb { inner })
    }

    fn take_reader(&self) -> Result<Connection> {
        let pooled = self
            .inner
            .readers
            .lock()
            .map_err(|_| StoreError::Other("pool poisoned".into()))?
            .pop();
        match pooled {
            Some(c) => Ok(c),
            None => open_conn(&self.inner.path, true).map_err(err),
        }
    }

    fn give_back(&self, conn: Connection) {
        if let Ok(mut pool) = self.inner.readers.lock()
            && pool.len() < MAX_IDLE_READERS
        {
            pool.push(conn);
        }
    }

    pub fn query(&self, sql: &'static str, params: Vec<Value>) -> Result<Vec<Row>> {
        // Inside a read scope, every read of the request shares one snapshot
        // and takes the WAL read lock once.
        let scoped = READ_SCOPE.try_with(|slot| {
            let mut guard = slot.lock().ok()?;
            if guard.is_none() {
                let conn = self.take_reader().ok()?;
                if conn.execute_batch("BEGIN").is_err() {
                    self.give_back(conn);
                    return None;
                }
                *guard = Some((self.clone(), conn));
            }
            match guard.as_ref() {
                Some((db, conn)) if Arc::ptr_eq(&db.inner, &self.inner) => {
                    Some(run_query(conn, sql, &params).map_err(err))
                }
                _ => None,
            }
        });
        if let Ok(Some(out)) = scoped {
            return out;
        }
        let conn = self.take_reader()?;
        let out = run_query(&conn, sql, &params).map_err(err);
        self.give_back(conn);
        out
    }

    pub(super) fn secret_key_cell(
        &self,
    ) -> &std::sync::OnceLock<Arc<super::secret_key::SecretKey>> {
        &self.inner.secret_key
    }

    /// A number that moves on after every write through this handle (the
    /// only writer of the file). Read before a read, it tells whether what
    /// that read saw may since have changed: see `derived`.
    pub(super) fn generation(&self) -> u64 {
        self.inner.writes.load(Ordering::SeqCst)
    }

    pub(super) fn login_cache(&self) -> &super::sessions::LoginCache {
        &self.inner.logins
    }

    pub async fn write(&self, batch: Batch) -> Result<Vec<u64>> {
        let logins: Vec<super::LoginKey> =
            batch.0.iter().filter_map(|s| s.logins.clone()).collect();
        let quiet = super::derived::quiet(&batch);
        let out = self.write_batch(batch).await;
        // After the commit (or its failure), as for the logins below.
        if !quiet {
            self.inner.writes.fetch_add(1, Ordering::SeqCst);
        }
        if !logins.is_empty() {
            // After the commit (or its failure): a read that started before
            // it is not cached (see `sessions`).
            self.inner.logins.changed(logins.iter());
        }
        out
    }

    async fn write_batch(&self, batch: Batch) -> Result<Vec<u64>> {
        let (tx, rx) = oneshot::channel();
        self.inner
            .writer
            .lock()
            .map_err(|_| StoreError::Other("writer poisoned".into()))?
            .send((batch, tx))
            .map_err(|_| StoreError::Other("writer stopped".into()))?;
        rx.await
            .map_err(|_| StoreError::Other("writer stopped".into()))?
    }
}

fn apply(conn: &Connection, batch: &Batch) -> Result<Vec<u64>> {
    let mut counts = Vec::with_capacity(batch.0.len());
    for (i, stmt) in batch.0.iter().enumerate() {
        let n = run_execute(conn, stmt.sql, &stmt.params).map_err(err)?;
        if stmt.expect == Expect::One && n != 1 {
            return Err(StoreError::Conflict(
                stmt.guard.unwrap_or(Guard::Statement(i)),
            ));
        }
        counts.push(n as u64);
    }
    Ok(counts)
}

/// Copies the WAL back into the database file in the background (PASSIVE:
/// never blocks readers or the writer), and tells the writer when the WAL
/// should be finished and started again. Ends when the database is dropped.
///
/// SQLite flushes the database file only when a checkpoint reaches the end
/// of the WAL, which in a rush is the writer's restart (once per GiB when
/// this was written: that flush held every page copied since, hundreds of
/// MB, and stalled all saves for 200–300 ms). So after each copy this thread
/// starts writing the copied pages out itself (`start_writeback`), off the
/// writer's path, and the writer's flush finds little left.
fn checkpoint_loop(conn: Connection, db: std::sync::Weak<Inner>, restart: &AtomicU8) {
    let mut catching_up = false;
    let file = conn.path().and_then(|p| std::fs::File::open(p).ok());
    let mut flushed = 0;
    loop {
        std::thread::sleep(std::time::Duration::from_millis(if catching_up {
            5
        } else {
            100
        }));
        if db.upgrade().is_none() {
            break;
        }
        let Ok((log, copied)) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
            Ok((r.get::<_, i64>(1)?, r.get::<_, i64>(2)?))
        }) else {
            break;
        };
        if copied != flushed {
            if let Some(f) = &file {
                start_writeback(f);
            }
            flushed = copied;
        }
        // Past the maximum, catch up first, so that the writer's part (and
        // its pause) is short.
        catching_up = log > WAL_MAX_FRAMES;
        if catching_up {
            if log - copied < WAL_IDLE_FRAMES / 4 {
                restart.store(RESTART_NOW, Ordering::Relaxed);
            }
        } else if log > WAL_IDLE_FRAMES {
            restart.store(RESTART_WHEN_IDLE, Ordering::Relaxed);
        }
    }
}

/// Starts writing the file's dirty pages to disk without waiting for them.
/// Nothing depends on it for durability: SQLite syncs the database file
/// itself before the WAL may start again. A full `fdatasync` here also did
/// the job, but it made the file system commit its journal, and a WAL sync
/// arriving meanwhile waited for all of it (WAL syncs of 10–100 ms in a
/// rush, against 0.2–0.3 ms otherwise).
#[cfg(target_os = "linux")]
fn start_writeback(f: &std::fs::File) {
    use std::os::fd::AsRawFd;
    // SAFETY: the descriptor belongs to `f`, which outlives the call; the
    // call reads no memory of ours.
    unsafe {
        libc::sync_file_range(f.as_raw_fd(), 0, 0, libc::SYNC_FILE_RANGE_WRITE);
    }
}

#[cfg(not(target_os = "linux"))]
fn start_writeback(f: &std::fs::File) {
    let _ = f.sync_data();
}

/// Finishes the checkpoint on the writer's connection: no commit can slip
/// in meanwhile, so it reaches the end of the WAL and the next commit starts
/// the WAL again from its beginning. With `cut` (only after `QUIET`) the WAL
/// file is also cut back to nothing. Whether the checkpoint got to the end.
fn finish_checkpoint(conn: &Connection, restart: &AtomicU8, cut: bool) -> bool {
    restart.store(0, Ordering::Relaxed);
    let sql = if cut {
        "PRAGMA wal_checkpoint(TRUNCATE)"
    } else {
        "PRAGMA wal_checkpoint(PASSIVE)"
    };
    conn.query_row(sql, [], |r| r.get::<_, i64>(0))
        .is_ok_and(|busy| busy == 0)
}

/// The replies of one committed group, waiting for its WAL frames to be on disk.
type Acks = Vec<(oneshot::Sender<Result<Vec<u64>>>, Result<Vec<u64>>)>;

/// Makes commits durable, then answers them. The writer commits without
/// waiting for the disk (synchronous=NORMAL) and goes on with the next
/// group while this thread syncs the WAL, so the CPU work of one group
/// overlaps the disk wait of the one before. A reply goes out only after a
/// sync that began once its group's commit had returned: an acknowledged
/// write survives a power cut, as under synchronous=FULL. (A reader may see
/// a commit a moment before it is durable; a write that depends on it
/// commits later and is answered after a later sync, which covers both.)
/// After a failed sync (or a WAL that cannot be opened) nothing is
/// acknowledged again: the kernel may have dropped pages it could not
/// write, and a later sync would not say so.
fn sync_loop(wal_path: &Path, rx: &mpsc::Receiver<Acks>) {
    let mut wal: Option<std::fs::File> = None;
    let mut failed: Option<String> = None;
    while let Ok(first) = rx.recv() {
        let mut groups = vec![first];
        groups.extend(rx.try_iter());
        let synced = match &failed {
            Some(e) => Err(e.clone()),
            None => sync_wal(wal_path, &mut wal).inspect_err(|e| {
                tracing::error!("{e}; no write is acknowledged from now on");
                failed = Some(e.clone());
            }),
        };
        for (reply, r) in groups.into_iter().flatten() {
            let _ = reply.send(synced.clone().map_err(StoreError::Other).and(r));
        }
    }
}

/// One `fdatasync` of the WAL. The file stays while the writer's connection
/// is open (an idle checkpoint only cuts it to nothing); checking the inode
/// keeps the sync on the file SQLite writes, should it ever be replaced.
fn sync_wal(path: &Path, wal: &mut Option<std::fs::File>) -> std::result::Result<(), String> {
    use std::os::unix::fs::MetadataExt;
    let inode = |m: std::io::Result<std::fs::Metadata>| m.ok().map(|m| m.ino());
    if inode(std::fs::metadata(path)) != wal.as_ref().and_then(|f| inode(f.metadata())) {
        *wal = std::fs::File::open(path).ok();
    }
    let f = wal
        .as_ref()
        .ok_or_else(|| format!("cannot open {}", path.display()))?;
    f.sync_data()
        .map_err(|e| format!("syncing {} failed: {e}", path.display()))
}

fn writer_loop(
    conn: Connection,
    rx: mpsc::Receiver<Job>,
    acks: &mpsc::Sender<Acks>,
    restart: &AtomicU8,
) {
    // When the last group was committed, while the WAL file may hold
    // something written since it was last cut.
    let mut last_write = Some(std::time::Instant::now());
    loop {
        let first = match rx.recv_timeout(IDLE) {
            Ok(job) => job,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if last_write.is_some_and(|t| t.elapsed() >= QUIET) {
                    if finish_checkpoint(&conn, restart, true) {
                        last_write = None;
                    }
                } else if restart.load(Ordering::Relaxed) != 0 {
                    finish_checkpoint(&conn, restart, false);
                }
                continue;
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        };
        let mut jobs = vec![first];
        while jobs.len() < MAX_GROUP {
            match rx.try_recv() {
                Ok(j) => jobs.push(j),
                Err(_) => break,
            }
        }
        let mut results: Vec<Result<Vec<u64>>> = Vec::with_capacity(jobs.len());
        let committed = (|| -> rusqlite::Result<()> {
            conn.prepare_cached("BEGIN IMMEDIATE")?.execute([])?;
            for (batch, _) in &jobs {
                conn.prepare_cached("SAVEPOINT b")?.execute([])?;
                let r = apply(&conn, batch);
                if r.is_err() {
                    conn.prepare_cached("ROLLBACK TO b")?.execute([])?;
                }
                conn.prepare_cached("RELEASE b")?.execute([])?;
                results.push(r);
            }
            conn.prepare_cached("COMMIT")?.execute([])?;
            Ok(())
        })();
        if let Err(e) = committed {
            let _ = conn.execute_batch("ROLLBACK");
            let msg = e.to_string();
            results = jobs
                .iter()
                .map(|_| Err(StoreError::Other(msg.clone())))
                .collect();
        }
        let group: Acks = jobs
            .into_iter()
            .map(|(_, reply)| reply)
            .zip(results)
            .collect();
        if acks.send(group).is_err() {
            break;
        }
        last_write = Some(std::time::Instant::now());
        if restart.load(Ordering::Relaxed) == RESTART_NOW {
            finish_checkpoint(&conn, restart, false);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{QUIET, SqliteDb, WAL_IDLE_FRAMES, rewrite};
    use crate::store::{Batch, Value};

    /// A fresh database file `name` in a temporary folder, with `tables` made.
    async fn scratch(name: &str, tables: &[&'static str]) -> (tempfile::TempDir, SqliteDb) {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = SqliteDb::open(&dir.path().join(name)).expect("open");
        let mut b = Batch::new();
        for sql in tables {
            b.push(sql, vec![]);
        }
        db.write(b).await.expect("create");
        (dir, db)
    }

    /// Writes well past the WAL threshold, then goes quiet: a short lull
    /// leaves the WAL file as it is (cutting it would hold up the writes
    /// that follow), a quiet of `QUIET` has it copied back and cut to
    /// nothing, with every row still there.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_wal_is_emptied_once_the_writer_is_idle() {
        let (dir, db) = scratch("wal.db", &["CREATE TABLE blobs (n INTEGER, b BLOB)"]).await;
        let rows = (WAL_IDLE_FRAMES * 3 / 2) as usize;
        for chunk in 0..rows / 100 {
            let mut b = Batch::new();
            for i in 0..100 {
                b.push(
                    "INSERT INTO blobs (n, b) VALUES ($1, $2)",
                    vec![
                        Value::Int((chunk * 100 + i) as i64),
                        Value::Blob(vec![7u8; 4000]),
                    ],
                );
            }
            db.write(b).await.expect("insert");
        }
        let last_write = std::time::Instant::now();
        let wal = dir.path().join("wal.db-wal");
        let written = std::fs::metadata(&wal).expect("wal").len();
        assert!(
            written > (WAL_IDLE_FRAMES * 4096) as u64,
            "WAL only {written} bytes"
        );
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        let after_lull = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
        // (Only if this thread really woke before `QUIET` was over.)
        if last_write.elapsed() < QUIET {
            assert_eq!(after_lull, written, "the WAL was cut after a short lull");
        }
        let mut size = written;
        for _ in 0..200 {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            size = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
            if size == 0 {
                break;
            }
        }
        assert_eq!(size, 0, "the WAL was not emptied ({written} bytes written)");
        let n = db
            .query("SELECT COUNT(*), SUM(LENGTH(b)) FROM blobs", vec![])
            .expect("count");
        assert_eq!(n[0].int(0), (rows / 100 * 100) as i64);
        assert_eq!(n[0].int(1), (rows / 100 * 100 * 4000) as i64);
    }

    /// A write is acknowledged only once the WAL holding it was synced: if
    /// the WAL file is gone from under SQLite (it goes on writing into the
    /// unlinked file), writes are refused, never answered as saved.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn no_write_is_acknowledged_without_a_synced_wal() {
        let (dir, db) = scratch("sync.db", &["CREATE TABLE t (n INTEGER)"]).await;
        let insert = |n: i64| {
            let mut b = Batch::new();
            b.push("INSERT INTO t (n) VALUES ($1)", vec![Value::Int(n)]);
            b
        };
        db.write(insert(1)).await.expect("a synced write");
        std::fs::remove_file(dir.path().join("sync.db-wal")).expect("remove the WAL");
        let refused = db.write(insert(2)).await;
        assert!(refused.is_err(), "acknowledged without a sync: {refused:?}");
    }

    /// Many batches at once, so that the writer groups them: those that
    /// succeed stay, a stale one changes nothing, and one that fails after
    /// its first statement changed a row is undone alone.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_batch_that_fails_leaves_its_group_alone() {
        use crate::store::StoreError;
        let dir = tempfile::tempdir().expect("tempdir");
        let db = SqliteDb::open(&dir.path().join("group.db")).expect("open");
        let mut b = Batch::new();
        b.push(
            "CREATE TABLE t (k INTEGER PRIMARY KEY, v INTEGER NOT NULL)",
            vec![],
        );
        b.push("CREATE TABLE seen (k INTEGER NOT NULL)", vec![]);
        for k in 0..300 {
            b.push("INSERT INTO t (k, v) VALUES ($1, 0)", vec![Value::Int(k)]);
        }
        db.write(b).await.expect("setup");
        let tasks: Vec<_> = (0..300i64)
            .map(|k| {
                let db = db.clone();
                tokio::spawn(async move {
                    let mut b = Batch::new();
                    match k % 3 {
                        // Succeeds.
                        0 => {
                            b.push_one("UPDATE t SET v = 1 WHERE k = $1", vec![Value::Int(k)]);
                            b.push("INSERT INTO seen (k) VALUES ($1)", vec![Value::Int(k)]);
                        }
                        // Stale: its first statement matches nothing.
                        1 => {
                            b.push_one(
                                "UPDATE t SET v = 1 WHERE k = $1 AND v = 5",
                                vec![Value::Int(k)],
                            );
                        }
                        // Changes a row, then fails.
                        _ => {
                            b.push_one("UPDATE t SET v = 1 WHERE k = $1", vec![Value::Int(k)]);
                            b.push("INSERT INTO seen (k) VALUES ($1)", vec![Value::Int(k)]);
                            b.push("INSERT INTO t (k, v) VALUES (0, 0)", vec![]);
                        }
                    }
                    (k, db.write(b).await)
                })
            })
            .collect();
        for t in tasks {
            let (k, r) = t.await.expect("task");
            match k % 3 {
                0 => assert!(r.is_ok(), "{k}: {r:?}"),
                1 => assert!(
                    matches!(
                        r,
                        Err(StoreError::Conflict(crate::store::Guard::Statement(0)))
                    ),
                    "{k}: {r:?}"
                ),
                _ => assert!(matches!(r, Err(StoreError::Unique(_))), "{k}: {r:?}"),
            }
        }
        let rows = db
            .query("SELECT k FROM t WHERE v = 1 ORDER BY k", vec![])
            .expect("changed");
        let changed: Vec<i64> = rows.iter().map(|r| r.int(0)).collect();
        assert_eq!(changed, (0..300).step_by(3).collect::<Vec<i64>>());
        let seen = db
            .query("SELECT k FROM seen ORDER BY k", vec![])
            .expect("seen");
        assert_eq!(seen.iter().map(|r| r.int(0)).collect::<Vec<_>>(), changed);
    }

    #[test]
    fn placeholders_are_rewritten_outside_of_other_dollars() {
        assert_eq!(
            rewrite("SELECT $1, $12 WHERE a = '$x'"),
            "SELECT ?1, ?12 WHERE a = '$x'"
        );
    }
}
