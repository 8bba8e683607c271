//! The bare baselines of the load benchmarks: minimal axum handlers with
//! nothing else (no templates, no middleware, no sessions).
//! - `GET /bytes/{n}` answers n bytes of HTML: `scripts/bench-load` reports
//!   every page as a ratio of this handler serving as many bytes in the same run.
//! - `POST /post/{n}` reads the body and answers n bytes: the bare HTTP cost
//!   of a draft save.
//! - `POST /upsert/{n}` also upserts the body as one row per connection into
//!   SQLite (WAL, synchronous=FULL), one writer thread committing whatever is
//!   waiting in one transaction: the bare handler the issue measures drafts
//!   against, for the save rate and tail a database write allows here.
//! - `POST /pgupsert/{n}`, when a PostgreSQL URL is given: its twin on
//!   PostgreSQL (issue #22): each request upserts the body as its
//!   connection's row through a pool of 16 (the size `serve` uses), one
//!   prepared statement, one round trip, committed (synchronous_commit as
//!   the server has it).
//!
//! Usage: bench_baseline [ADDR] [SQLITE FILE] [POSTGRES URL]

use std::net::SocketAddr;
use std::sync::mpsc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::StatusCode;
use axum::response::Html;
use axum::routing::{get, post};
use tokio::sync::oneshot;

type Upsert = (u16, Bytes, oneshot::Sender<bool>);

#[derive(Clone)]
struct Bases {
    writer: mpsc::Sender<Upsert>,
    pg: Option<sqlx::PgPool>,
}

impl axum::extract::FromRef<Bases> for mpsc::Sender<Upsert> {
    fn from_ref(b: &Bases) -> Self {
        b.writer.clone()
    }
}

/// The PostgreSQL twin of [`upsert`].
async fn pg_upsert(
    State(b): State<Bases>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(n): Path<usize>,
    body: Bytes,
) -> Result<Html<String>, StatusCode> {
    let pool = b.pg.as_ref().ok_or(StatusCode::NOT_FOUND)?;
    sqlx::query(
        "INSERT INTO bench_drafts (k, body, at) VALUES ($1, $2, (extract(epoch from clock_timestamp()) * 1000)::bigint) \
         ON CONFLICT (k) DO UPDATE SET body = excluded.body, at = excluded.at",
    )
    .bind(i32::from(peer.port()))
    .bind(&body[..])
    .execute(pool)
    .await
    .map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?;
    Ok(Html("a".repeat(n.min(10 << 20))))
}

async fn bytes(Path(n): Path<usize>) -> Html<String> {
    Html("a".repeat(n.min(10 << 20)))
}

/// Reads a posted body and answers n bytes: the bare baseline for draft saves.
async fn post_bytes(Path(n): Path<usize>, body: String) -> Html<String> {
    drop(body);
    Html("a".repeat(n.min(10 << 20)))
}

/// Upserts the body as the row of the client's connection, answers n bytes
/// once it is committed.
async fn upsert(
    State(writer): State<mpsc::Sender<Upsert>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(n): Path<usize>,
    body: Bytes,
) -> Result<Html<String>, StatusCode> {
    let (tx, rx) = oneshot::channel();
    let sent = writer.send((peer.port(), body, tx)).is_ok();
    match sent && rx.await == Ok(true) {
        true => Ok(Html("a".repeat(n.min(10 << 20)))),
        false => Err(StatusCode::INTERNAL_SERVER_ERROR),
    }
}

fn writer(path: std::path::PathBuf, rx: mpsc::Receiver<Upsert>) -> rusqlite::Result<()> {
    let conn = rusqlite::Connection::open(path)?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;
         CREATE TABLE IF NOT EXISTS drafts (k INTEGER PRIMARY KEY, body BLOB NOT NULL, at INTEGER NOT NULL);",
    )?;
    while let Ok(first) = rx.recv() {
        let mut group = vec![first];
        group.extend(rx.try_iter());
        let tx = conn.unchecked_transaction()?;
        let mut ok = Vec::with_capacity(group.len());
        {
            let mut stmt = tx.prepare_cached(
                "INSERT INTO drafts (k, body, at) VALUES (?1, ?2, unixepoch('subsec') * 1000) \
                 ON CONFLICT (k) DO UPDATE SET body = excluded.body, at = excluded.at",
            )?;
            for (k, body, _) in &group {
                ok.push(stmt.execute(rusqlite::params![k, &body[..]]).is_ok());
            }
        }
        let committed = tx.commit().is_ok();
        for ((_, _, reply), ok) in group.into_iter().zip(ok) {
            let _ = reply.send(committed && ok);
        }
    }
    Ok(())
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:18182".into());
    let db = args.next().map_or_else(
        || std::env::temp_dir().join(format!("bench-baseline-{}.db", std::process::id())),
        std::path::PathBuf::from,
    );
    let pg = match args.next() {
        Some(url) => {
            let pool = sqlx::postgres::PgPoolOptions::new()
                .max_connections(16)
                .connect(&url)
                .await
                .map_err(std::io::Error::other)?;
            sqlx::query(
                "CREATE TABLE IF NOT EXISTS bench_drafts (k INTEGER PRIMARY KEY, body BYTEA NOT NULL, at BIGINT NOT NULL)",
            )
            .execute(&pool)
            .await
            .map_err(std::io::Error::other)?;
            Some(pool)
        }
        None => None,
    };
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        if let Err(e) = writer(db, rx) {
            eprintln!("bench_baseline: SQLite writer stopped: {e}");
        }
    });
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    axum::serve(
        listener,
        Router::new()
            .route("/bytes/{n}", get(bytes))
            .route("/post/{n}", post(post_bytes))
            .route("/upsert/{n}", post(upsert))
            .route("/pgupsert/{n}", post(pg_upsert))
            .with_state(Bases { writer: tx, pg })
            .into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await
}
