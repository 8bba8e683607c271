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

/// What a download serves: an attachment-like stored file, or an export package.
#[derive(Clone, Copy)]
pub enum Source<'a> {
    File(&'a str),
    Export(&'a str),
}

/// A stored object as the browser gets it.
pub struct Download<'a> {
    pub source: Source<'a>,
    /// Shown to the user (`filename*`); `ascii` is the plain fallback.
    pub name: &'a str,
    pub ascii: &'a str,
    /// `None`: judged from the first bytes (PDF, JPEG, PNG).
    pub mime: Option<&'a str>,
    /// Whole reads are checked against it as they stream.
    pub sha256: Option<&'a str>,
    /// `inline` (opened in the browser) or `attachment` (saved).
    pub disposition: &'static str,
}

/// Streams a stored object: whole (its SHA-256 checked on the way when
/// known) or, for a `Range: bytes=…` request, the one range asked for (206,
/// so an interrupted download of a large package resumes); a range past the
/// end is answered 416. The object is read from wherever the store keeps it,
/// so any `serve` process answers for a file another one stored.
pub async fn stream(
    state: &AppState,
    headers: &axum::http::HeaderMap,
    d: Download<'_>,
) -> crate::web::shared::error::AppResult<axum::response::Response> {
    use crate::web::shared::error::AppError;
    use axum::http::{HeaderValue, StatusCode, header};
    use axum::response::IntoResponse;
    use futures_util::StreamExt;
    let io = |e: std::io::Error| {
        if e.kind() == std::io::ErrorKind::NotFound {
            AppError::NotFound
        } else {
            AppError::Internal(anyhow::Error::from(e))
        }
    };
    let files = &state.files;
    let size = || async {
        match d.source {
            Source::File(k) => files.size(k).await,
            Source::Export(id) => files.export_size(id).await,
        }
    };
    let read = |r: Option<std::ops::Range<u64>>| async move {
        match d.source {
            Source::File(k) => files.read(k, r).await,
            Source::Export(id) => files.read_export(id, r).await,
        }
    };
    // One range, validated against the object's size; several ranges or a
    // header that does not parse are ignored (the whole is sent).
    let mut wanted = None;
    if let Some(v) = headers.get(header::RANGE).and_then(|v| v.to_str().ok())
        && let Ok(parsed) = http_range_header::parse_range_header(v)
    {
        let total = size().await.map_err(io)?.ok_or(AppError::NotFound)?;
        match parsed.validate(total) {
            Ok(r) if r.len() == 1 => wanted = Some(*r[0].start()..*r[0].end() + 1),
            Ok(_) => {}
            Err(_) => {
                let mut resp = StatusCode::RANGE_NOT_SATISFIABLE.into_response();
                if let Ok(v) = HeaderValue::from_str(&format!("bytes */{total}")) {
                    resp.headers_mut().insert(header::CONTENT_RANGE, v);
                }
                return Ok(resp);
            }
        }
    }
    // Judged from the first bytes when the caller does not know it.
    let mime = match d.mime {
        Some(m) => m.to_string(),
        None => {
            let mut head = read(Some(0..8)).await.map_err(io)?;
            let head = head.stream.next().await.transpose().map_err(io)?;
            crate::files::FileKind::sniff(&head.unwrap_or_default())
                .map_or("application/octet-stream", |k| k.mime())
                .to_string()
        }
    };
    let reading = match (wanted.clone(), d.source, d.sha256) {
        (None, Source::File(k), Some(sha)) => files.read_checked(k, sha).await.map_err(io)?,
        (r, _, _) => read(r).await.map_err(io)?,
    };
    let len = reading.range.end - reading.range.start;
    let partial = wanted.is_some();
    let range = reading.range.clone();
    let total = reading.total;
    let body = axum::body::Body::from_stream(reading.stream);
    let status = if partial {
        StatusCode::PARTIAL_CONTENT
    } else {
        StatusCode::OK
    };
    let mut resp = (status, body).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&mime)
            .unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    if partial
        && let Ok(v) = HeaderValue::from_str(&format!(
            "bytes {}-{}/{total}",
            range.start,
            range.end.saturating_sub(1)
        ))
    {
        h.insert(header::CONTENT_RANGE, v);
    }
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{}; filename=\"{}\"; filename*=UTF-8''{}",
        d.disposition,
        d.ascii,
        crate::web::shared::error::urlencode(d.name)
    )) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    Ok(resp)
}

/// A stored file (PDF or image) shown in the browser under its own name,
/// its type read from its first bytes, a whole read checked against `sha256`.
pub async fn file_response(
    state: &AppState,
    headers: &axum::http::HeaderMap,
    key: &str,
    name: &str,
    sha256: &str,
) -> crate::web::shared::error::AppResult<axum::response::Response> {
    stream(
        state,
        headers,
        Download {
            source: Source::File(key),
            name,
            ascii: "file",
            mime: None,
            sha256: Some(sha256),
            disposition: "inline",
        },
    )
    .await
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
