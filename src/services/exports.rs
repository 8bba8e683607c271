//! The province package as a job (issue #22). A job is held by a lease in
//! the database, renewed with every progress write by the process writing
//! the package; when that process dies, the lease runs out and the next
//! `serve` process to look ([`claim_orphan`], every few seconds) takes the
//! job over and writes the package again. The package goes to the file
//! store (a bucket in production), so any process serves its download.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock};

use crate::clock::Clock;
use crate::domain::form::ProgramDef;
use crate::files::FileStore;
use crate::params;
use crate::services::sealer::system_now;
use crate::store::audit::{self, Action, Actor};
use crate::store::{Batch, Db, Millis, Result, new_id};

/// How long a lease lasts without a renewal.
pub const LEASE_MS: Millis = 15_000;
/// How often a process looks for jobs whose holder died.
pub const POLL: std::time::Duration = std::time::Duration::from_secs(3);
/// A job taken over this many times (a package that kills its process,
/// say) fails instead of being tried again.
pub const MAX_ATTEMPTS: i64 = 3;
/// How often progress is written (and the lease renewed).
const REPORT: std::time::Duration = std::time::Duration::from_millis(500);

/// This process's name on the leases it holds.
static OWNER: LazyLock<String> = LazyLock::new(new_id);

pub struct Claimed {
    pub id: String,
    pub batch_id: String,
}

/// An export job as the province's pages show it.
pub struct Job {
    pub id: String,
    pub batch_id: String,
    pub state: String,
    pub done: i64,
    pub total: i64,
    pub file_name: String,
    pub size: Option<i64>,
    pub error: String,
    pub created_by: String,
    pub created_at: Millis,
}

impl Job {
    pub fn percent(&self) -> i64 {
        if self.total == 0 {
            if self.state == "done" { 100 } else { 0 }
        } else {
            self.done * 100 / self.total
        }
    }
    pub fn created_text(&self) -> String {
        crate::clock::format_datetime(self.created_at)
    }
    pub fn size_text(&self) -> String {
        self.size
            .map(|s| crate::files::human_size(s.max(0) as u64))
            .unwrap_or_default()
    }
}

fn job_from(r: &crate::store::Row) -> Job {
    Job {
        id: r.text(0),
        batch_id: r.text(1),
        state: r.text(2),
        done: r.int(3),
        total: r.int(4),
        file_name: r.text(5),
        size: r.opt_int(6),
        error: r.text(7),
        created_by: r.text(8),
        created_at: r.int(9),
    }
}

/// One export job.
pub async fn job(db: &Db, id: &str) -> Result<Option<Job>> {
    Ok(db
        .query_opt(
            "SELECT id, batch_id, state, done, total, file_name, size, error, created_by, created_at \
             FROM export_jobs WHERE id = $1",
            params![id],
        )
        .await?
        .as_ref()
        .map(job_from))
}

/// The newest `n` export jobs.
pub async fn recent(db: &Db, n: i64) -> Result<Vec<Job>> {
    Ok(db
        .query(
            "SELECT id, batch_id, state, done, total, file_name, size, error, created_by, created_at \
             FROM export_jobs ORDER BY created_at DESC LIMIT $1",
            params![n],
        )
        .await?
        .iter()
        .map(job_from)
        .collect())
}

/// Starts a package job for `batch_id`, held by this process: the row and its
/// audit entry in one write. The caller runs it ([`run`]).
pub async fn start(
    db: &Db,
    actor: &Actor,
    batch_id: &str,
    batch_name: &str,
    now: Millis,
) -> Result<Claimed> {
    let id = new_id();
    let file_name = format!(
        "{batch_name}-申报材料-{}.zip",
        crate::clock::to_local_input(now).replace(['T', ':'], "")
    );
    let mut b = Batch::new();
    b.push(
        "INSERT INTO export_jobs (id, batch_id, state, done, total, file_name, size, error, created_by, created_at, finished_at, \
         lease_owner, lease_until, attempts) \
         VALUES ($1, $2, 'running', 0, 0, $3, NULL, '', $4, $5, NULL, $6, $7, 1)",
        params![
            id.as_str(),
            batch_id,
            file_name.as_str(),
            actor.name.as_str(),
            now,
            OWNER.as_str(),
            system_now() + LEASE_MS
        ],
    );
    audit::record(
        &mut b,
        actor,
        Action::Export,
        Some(&id),
        true,
        batch_name,
        now,
    );
    db.write(b).await?;
    Ok(Claimed {
        id,
        batch_id: batch_id.to_string(),
    })
}

/// Takes over the oldest running job whose lease has run out; a job already
/// tried [`MAX_ATTEMPTS`] times is marked failed instead.
pub async fn claim_orphan(db: &Db, now: Millis) -> Result<Option<Claimed>> {
    let t = system_now();
    db.write(Batch::one(
        "UPDATE export_jobs SET state = 'failed', error = '导出过程多次中断，请重新发起导出。', finished_at = $3 \
         WHERE state = 'running' AND (lease_until IS NULL OR lease_until < $1) AND attempts >= $2",
        params![t, MAX_ATTEMPTS, now],
    ))
    .await?;
    let Some(row) = db
        .query_opt(
            "SELECT id, batch_id FROM export_jobs WHERE state = 'running' \
             AND (lease_until IS NULL OR lease_until < $1) ORDER BY created_at LIMIT 1",
            params![t],
        )
        .await?
    else {
        return Ok(None);
    };
    let (id, batch_id) = (row.text(0), row.text(1));
    // Conditional: of several processes that saw the job free, one takes it.
    let n = db
        .write(Batch::one(
            "UPDATE export_jobs SET lease_owner = $2, lease_until = $3, attempts = attempts + 1, done = 0 \
             WHERE id = $1 AND state = 'running' AND (lease_until IS NULL OR lease_until < $4)",
            params![id.as_str(), OWNER.as_str(), t + LEASE_MS, t],
        ))
        .await?;
    if n.first().copied().unwrap_or(0) == 1 {
        tracing::info!(job = %id, "took over an export job whose process stopped");
        Ok(Some(Claimed { id, batch_id }))
    } else {
        Ok(None)
    }
}

/// Packages finished before they went into the file store were kept in
/// `dir` (`<data>/exports`, now the jobs' scratch folder): each one whose
/// job is done is moved into the store, unless the store has it already,
/// so that every process serves it. A file of a job not done is left to
/// its job. Run at start; returns how many were moved.
pub async fn carry_over_local(
    db: &Db,
    files: &FileStore,
    dir: &std::path::Path,
) -> anyhow::Result<usize> {
    let Ok(mut entries) = tokio::fs::read_dir(dir).await else {
        return Ok(0);
    };
    let mut moved = 0;
    while let Some(entry) = entries.next_entry().await? {
        let path = entry.path();
        let Some(id) = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".zip"))
        else {
            continue;
        };
        if job(db, id).await?.is_none_or(|j| j.state != "done") {
            continue;
        }
        if files.export_size(id).await?.is_none() {
            files.put_export(id, &path).await?;
            moved += 1;
        }
        tokio::fs::remove_file(&path).await?;
    }
    Ok(moved)
}

/// Writes the package of a job this process holds: to `scratch` (a local
/// folder), then into the file store; progress and the lease are written
/// every half second. When the lease is lost (this process was too slow
/// and another took the job), it stops without recording anything.
pub async fn run(
    db: Db,
    files: FileStore,
    program: Arc<ProgramDef>,
    clock: Clock,
    scratch: PathBuf,
    job: Claimed,
) {
    let path = scratch.join(format!("{}.zip", job.id));
    let _ = tokio::fs::create_dir_all(&scratch).await;
    let done = Arc::new(AtomicUsize::new(0));
    let total = Arc::new(AtomicUsize::new(0));
    let (d2, t2) = (done.clone(), total.clone());
    let lost = Arc::new(tokio::sync::Notify::new());
    let reporter = {
        let (db, id, lost) = (db.clone(), job.id.clone(), lost.clone());
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(REPORT).await;
                let b = Batch::one(
                    "UPDATE export_jobs SET done = $2, total = $3, lease_until = $5 \
                     WHERE id = $1 AND state = 'running' AND lease_owner = $4",
                    params![
                        id.as_str(),
                        done.load(Ordering::Relaxed) as i64,
                        total.load(Ordering::Relaxed) as i64,
                        OWNER.as_str(),
                        system_now() + LEASE_MS
                    ],
                );
                match db.write(b).await {
                    Ok(n) if n.first().copied().unwrap_or(0) == 1 => {}
                    Ok(_) => {
                        tracing::warn!(job = %id, "export lease lost; stopping");
                        lost.notify_one();
                        break;
                    }
                    // A write that failed (database restarting): try again.
                    Err(e) => tracing::warn!(job = %id, error = %e, "export lease renewal failed"),
                }
            }
        })
    };
    let work = async {
        if let Some(ms) = drill_delay() {
            tracing::warn!(ms, "export drill: the job waits before writing");
            tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
        }
        let n = crate::docs::export::package_to_file(
            &db,
            program,
            &files,
            &job.batch_id,
            &path,
            move |d, t| {
                d2.store(d, Ordering::Relaxed);
                t2.store(t, Ordering::Relaxed);
            },
        )
        .await?;
        let size = files.put_export(&job.id, &path).await?;
        Ok::<_, anyhow::Error>((n, size))
    };
    let result = tokio::select! {
        r = work => Some(r),
        _ = lost.notified() => None,
    };
    reporter.abort();
    let _ = tokio::fs::remove_file(&path).await;
    let Some(result) = result else {
        return;
    };
    let now = clock.now();
    let b = match result {
        Ok((n, size)) => Batch::one(
            "UPDATE export_jobs SET state = 'done', done = $2, total = $2, size = $3, finished_at = $4, lease_until = NULL \
             WHERE id = $1 AND lease_owner = $5 AND state = 'running'",
            params![job.id.as_str(), n as i64, size as i64, now, OWNER.as_str()],
        ),
        Err(e) => {
            tracing::error!(error = %e, "export failed");
            Batch::one(
                "UPDATE export_jobs SET state = 'failed', error = $2, finished_at = $3, lease_until = NULL \
                 WHERE id = $1 AND lease_owner = $4 AND state = 'running'",
                params![
                    job.id.as_str(),
                    format!("{e:#}").chars().take(500).collect::<String>(),
                    now,
                    OWNER.as_str()
                ],
            )
        }
    };
    if let Err(e) = db.write(b).await {
        tracing::error!(job = %job.id, error = %e, "recording the export's end failed");
    }
}

/// `SHENBAO_EXPORT_DRILL_DELAY_MS`: each job waits this long before writing,
/// holding its lease, so that the takeover drill (and its test) can stop the
/// process while a job is surely under way. Unset in production.
fn drill_delay() -> Option<u64> {
    std::env::var("SHENBAO_EXPORT_DRILL_DELAY_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&ms| ms > 0)
}
