//! The bare baseline of the load benchmark: a minimal axum handler that answers
//! `GET /bytes/{n}` with n bytes of HTML, nothing else (no database, no
//! templates, no middleware). `scripts/bench-load` reports every page as a ratio
//! of this handler serving the same number of bytes in the same run.

use axum::Router;
use axum::extract::Path;
use axum::response::Html;
use axum::routing::get;

async fn bytes(Path(n): Path<usize>) -> Html<String> {
    Html("a".repeat(n.min(10 << 20)))
}

/// Reads a posted body and answers n bytes: the bare baseline for draft saves.
async fn post_bytes(Path(n): Path<usize>, body: String) -> Html<String> {
    drop(body);
    Html("a".repeat(n.min(10 << 20)))
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:18182".into());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    axum::serve(
        listener,
        Router::new()
            .route("/bytes/{n}", get(bytes))
            .route("/post/{n}", axum::routing::post(post_bytes)),
    )
    .await
}
