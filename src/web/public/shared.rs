//! Public pages are the same for every visitor: they are sent with a short
//! public cache lifetime and an ETag (304 on revalidation), and the 公示,
//! which the public opens all at once on publication day, is kept rendered.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use crate::store::Db;
use crate::store::publication::{self as ps, Stamp};
use crate::web::shared::error::{AppError, AppResult};

pub const HTML: &str = "text/html; charset=utf-8";

pub fn etag_of(body: &[u8]) -> String {
    format!("\"{}\"", &hex::encode(Sha256::digest(body))[..32])
}

/// `body` for everyone: cached briefly by browsers and proxies, revalidated by its ETag.
pub fn shared(headers: &HeaderMap, content_type: &'static str, body: String) -> Response {
    let etag = etag_of(body.as_bytes());
    respond(headers, content_type, etag, Bytes::from(body))
}

/// [`shared`] for a body whose ETag is known.
pub fn respond(
    headers: &HeaderMap,
    content_type: &'static str,
    etag: String,
    body: Bytes,
) -> Response {
    // If-None-Match compares weakly: a W/ prefix still matches.
    let matches = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .map(|t| t.trim().trim_start_matches("W/"))
                .any(|t| t == etag || t == "*")
        });
    let mut resp = if matches {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        ([(header::CONTENT_TYPE, content_type)], body).into_response()
    };
    let h = resp.headers_mut();
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=60"),
    );
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    resp
}

/// Each batch's stamp is trusted this long: browsers and proxies may keep
/// the page 60 s anyway, so a second's delay after the 公示 opens or the
/// final list is published is invisible, and the page then needs no read.
const STAMP_TTL: Duration = Duration::from_secs(1);
/// A handful of batches and phases: the maps are bounded by clearing.
const MAX_ENTRIES: usize = 256;

/// Rendered public pages by everything they are made from (batch, its name,
/// when the 公示 opened, the final list, the phase): the key says exactly
/// when a page changes, so every process keeps its own copy without going
/// stale. Rendering and hashing each request made the 公示 a seventh of a
/// bare handler's rate.
#[derive(Default)]
pub struct PageCache {
    pages: RwLock<HashMap<String, (String, Bytes)>>,
    stamps: RwLock<HashMap<String, (Instant, Arc<Stamp>)>>,
}

fn put<V>(map: &RwLock<HashMap<String, V>>, key: String, value: V) {
    if let Ok(mut m) = map.write() {
        if m.len() > MAX_ENTRIES {
            m.clear();
        }
        m.insert(key, value);
    }
}

impl PageCache {
    pub async fn stamp(&self, db: &Db, batch: &str) -> AppResult<Arc<Stamp>> {
        if let Some((at, st)) = self.stamps.read().ok().and_then(|m| m.get(batch).cloned())
            && at.elapsed() < STAMP_TTL
        {
            return Ok(st);
        }
        let st = Arc::new(ps::stamp(db, batch).await?.ok_or(AppError::NotFound)?);
        put(
            &self.stamps,
            batch.to_string(),
            (Instant::now(), st.clone()),
        );
        Ok(st)
    }

    pub fn get(&self, key: &str) -> Option<(String, Bytes)> {
        self.pages.read().ok()?.get(key).cloned()
    }

    pub fn put(&self, key: String, etag: String, body: Bytes) {
        put(&self.pages, key, (etag, body));
    }
}
