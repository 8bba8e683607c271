//! Streaming a multipart upload into the file store, bounded and never
//! whole in memory: the plumbing every room's upload route shares (the
//! enterprise's attachments, the city's stamped files, case images,
//! objection evidence).

use axum::extract::Multipart;

use crate::files::PutError;
use crate::web::AppState;

/// The largest request body of an upload route whose file may be `file`
/// bytes: the file, its few text fields and the multipart framing. Beyond
/// it the body is cut off as it streams (nothing is buffered whole).
pub fn upload_body_limit(file: u64) -> usize {
    (file + 64 * 1024) as usize
}

/// How much of a body the enterprise's upload route reads at most: a
/// refused body (a file over its slot's limit, say) is read to its end and
/// dropped as it comes, up to four times the largest accepted body, so the
/// refusal reaches the browser. Answering while the browser is still
/// sending makes it see the connection reset instead (Chromium's English
/// "ERR_CONNECTION_RESET" page, issue #21). Past this bound the connection
/// is cut. Every limit on what is kept is still the slot's own.
pub fn upload_drain_limit(file: u64) -> usize {
    4 * upload_body_limit(file)
}

/// Reads what is left of a multipart body and drops it, chunk by chunk,
/// until it ends or the route's body limit cuts it off.
pub async fn drain(mp: &mut Multipart) {
    while let Ok(Some(mut field)) = mp.next_field().await {
        while let Ok(Some(_)) = field.chunk().await {}
    }
}

/// Longest text field of an upload form (the slot's or kind's key).
pub const MAX_UPLOAD_TEXT: usize = 1024;

/// Reads a text field of a multipart form, at most `max` bytes: `None` when
/// longer (it is never read whole), cut off or not UTF-8.
pub async fn small_text(
    field: &mut axum::extract::multipart::Field<'_>,
    max: usize,
) -> Option<String> {
    let mut buf = Vec::new();
    loop {
        match field.chunk().await {
            Ok(Some(chunk)) if buf.len() + chunk.len() <= max => buf.extend_from_slice(&chunk),
            Ok(Some(_)) | Err(_) => return None,
            Ok(None) => return String::from_utf8(buf).ok(),
        }
    }
}

/// Why streaming an uploaded field into the file store failed.
pub enum StreamError {
    /// Refused by the store (too large, wrong type, empty, disk).
    Put(PutError),
    /// The client's body ended early or was malformed.
    Interrupted,
}

/// Streams one multipart field into the file store under `key`, at most
/// `limit` bytes, never holding it whole in memory; the partial file is
/// removed on any failure.
pub async fn stream_field(
    state: &AppState,
    mut field: axum::extract::multipart::Field<'_>,
    key: &str,
    limit: u64,
) -> Result<crate::files::Stored, StreamError> {
    let mut up = state
        .files
        .create(key, limit)
        .await
        .map_err(StreamError::Put)?;
    loop {
        match field.chunk().await {
            Ok(Some(chunk)) => up.write(&chunk).await.map_err(StreamError::Put)?,
            Ok(None) => break,
            Err(_) => return Err(StreamError::Interrupted),
        }
    }
    up.finish().await.map_err(StreamError::Put)
}

/// Bytes of each application's uploads still streaming in this process, so
/// that parallel uploads share the application's total as they stream
/// (issue #20: eight parallel 19 MB uploads, each checked against the total
/// before streaming, stored 159 MB of a 100 MB allowance).
#[derive(Default)]
pub struct InFlight {
    bytes: std::sync::Mutex<std::collections::HashMap<String, u64>>,
}

impl InFlight {
    /// A share of `application`'s allowance for one upload, empty at first.
    pub fn reserve<'a>(&'a self, application: &str) -> Reservation<'a> {
        Reservation {
            pool: self,
            application: application.to_string(),
            bytes: 0,
        }
    }
}

/// One upload's bytes counted against its application's total; given back
/// when dropped (the upload refused, or its row written).
pub struct Reservation<'a> {
    pool: &'a InFlight,
    application: String,
    bytes: u64,
}

impl Reservation<'_> {
    /// Counts `n` more bytes if the application's stored bytes (`stored`)
    /// and every upload in flight, this one included, stay within `total`.
    pub fn grow(&mut self, n: u64, stored: u64, total: u64) -> bool {
        let Ok(mut map) = self.pool.bytes.lock() else {
            return false;
        };
        let flying = map.entry(self.application.clone()).or_insert(0);
        if stored + *flying + n > total {
            return false;
        }
        *flying += n;
        self.bytes += n;
        true
    }
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        if let Ok(mut map) = self.pool.bytes.lock()
            && let Some(flying) = map.get_mut(&self.application)
        {
            *flying = flying.saturating_sub(self.bytes);
            if *flying == 0 {
                map.remove(&self.application);
            }
        }
    }
}

/// Keeps a display name only: no path, no control characters, bounded
/// length; `fallback` when nothing is left.
pub fn clean_name(raw: &str, fallback: &str) -> String {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or(raw);
    // Bidi controls would show `invoice\u{202e}fdp.exe` as "invoiceexe.pdf".
    let bidi = |c: &char| matches!(c, '\u{200e}' | '\u{200f}' | '\u{061c}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
    let s: String = base
        .chars()
        .filter(|c| !c.is_control() && !bidi(c))
        .take(120)
        .collect();
    if s.trim().is_empty() {
        fallback.into()
    } else {
        s.trim().to_string()
    }
}

/// A stored file (PDF or image) shown in the browser under its own name,
/// its type read from its first bytes.
pub async fn file_response(
    state: &AppState,
    key: &str,
    name: &str,
) -> crate::web::shared::error::AppResult<axum::response::Response> {
    use axum::http::{HeaderValue, StatusCode, header};
    use axum::response::IntoResponse;
    use tokio::io::{AsyncReadExt, AsyncSeekExt};
    let not_found = |_| crate::web::shared::error::AppError::NotFound;
    let mut f = state.files.open(key).await.map_err(not_found)?;
    let mut head = [0u8; 8];
    let n = f.read(&mut head).await.map_err(anyhow::Error::from)?;
    f.seek(std::io::SeekFrom::Start(0))
        .await
        .map_err(anyhow::Error::from)?;
    let mime =
        crate::files::FileKind::sniff(&head[..n]).map_or("application/octet-stream", |k| k.mime());
    let body = axum::body::Body::from_stream(tokio_util::io::ReaderStream::new(f));
    let mut resp = (StatusCode::OK, body).into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
    if let Ok(v) = HeaderValue::from_str(&format!(
        "inline; filename=\"file\"; filename*=UTF-8''{}",
        crate::web::shared::error::urlencode(name)
    )) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::{InFlight, clean_name};

    /// Two uploads streaming at once share one total; bytes given back by
    /// one are free for the other.
    #[test]
    fn parallel_uploads_share_the_total_while_they_stream() {
        let pool = InFlight::default();
        let mut a = pool.reserve("app");
        let mut b = pool.reserve("app");
        let mut other = pool.reserve("other");
        assert!(a.grow(60, 20, 100));
        assert!(!b.grow(30, 20, 100), "20 stored + 60 in flight + 30 > 100");
        assert!(b.grow(20, 20, 100));
        assert!(other.grow(90, 0, 100), "another application has its own");
        drop(a);
        assert!(b.grow(60, 20, 100));
    }

    /// Issue #20, finding 9: NUL, ESC and bidi overrides leave file names.
    #[test]
    fn names_lose_paths_controls_and_bidi_overrides() {
        assert_eq!(clean_name("invoice\u{202e}fdp.exe", "x"), "invoicefdp.exe");
        assert_eq!(clean_name("a\0b\u{1b}[31mc.pdf", "x"), "ab[31mc.pdf");
        assert_eq!(clean_name("C:\\dir\\营业执照.pdf", "x"), "营业执照.pdf");
        assert_eq!(clean_name("\u{2066}\u{2069}", "附件"), "附件");
    }
}
