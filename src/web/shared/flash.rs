//! A message carried across one redirect (post → redirect → page) in a
//! short-lived cookie, shown once at the field it concerns.
//!
//! It replaced `?error=<text>` in the address: there any link could make an
//! official's page show a message of the sender's choosing under the
//! system's name, and the page labelled it by guesswork (a cap refusal came
//! out as "并列排序：…", a bad stamped file as "推荐名单：…"). A cookie can only
//! be set by this site, and the redirecting handler names the field.

use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Redirect, Response};

use super::context::{cookie, set_cookie};
use crate::web::AppState;

pub const FLASH_COOKIE: &str = "sb_flash";
/// Longest message kept (characters); a cookie holds about 4 KB.
const MAX_CHARS: usize = 300;
/// Seconds the message waits for its page.
const MAX_AGE: i64 = 120;

/// A one-shot message and the field (a page's own key) it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flash {
    pub field: String,
    pub message: String,
}

/// Redirects to `to`, carrying `message` for `field` to the page there.
pub fn redirect(state: &AppState, to: &str, field: &str, message: &str) -> Response {
    (cookie_header(state, field, message), Redirect::to(to)).into_response()
}

/// The `Set-Cookie` that carries `message` for `field` to the next page
/// (for answers that are not plain redirects, such as htmx's).
pub fn cookie_header(
    state: &AppState,
    field: &str,
    message: &str,
) -> [(header::HeaderName, axum::http::HeaderValue); 1] {
    let message: String = message.chars().take(MAX_CHARS).collect();
    let value: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("f", field)
        .append_pair("m", &message)
        .finish();
    // `&` and `=` are cookie-safe; the serializer escapes `;`, `,` and spaces.
    [(
        header::SET_COOKIE,
        set_cookie(state, FLASH_COOKIE, &value, Some(MAX_AGE)),
    )]
}

/// The message a request carries, if any.
pub fn read(headers: &HeaderMap) -> Option<Flash> {
    let raw = cookie(headers, FLASH_COOKIE)?;
    let (mut field, mut message) = (None, None);
    for (k, v) in form_urlencoded::parse(raw.as_bytes()) {
        match &*k {
            "f" => field = Some(v.into_owned()),
            "m" => message = Some(v.chars().take(MAX_CHARS).collect::<String>()),
            _ => {}
        }
    }
    let field = field.filter(|f| {
        !f.is_empty()
            && f.len() <= 64
            && f.bytes().all(|b| {
                b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'.' | b':')
            })
    })?;
    let message = message.filter(|m| !m.trim().is_empty())?;
    Some(Flash { field, message })
}

impl Flash {
    /// The message when it belongs to `field`.
    pub fn for_field(&self, field: &str) -> Option<&str> {
        (self.field == field).then_some(self.message.as_str())
    }
}
