//! One error type for every handler; internal errors are logged, never shown.

use askama::Template;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};

#[derive(Debug)]
pub enum AppError {
    /// Not logged in (or session ended): go to the login page, then come back.
    LoginRequired {
        next: String,
        expired: bool,
    },
    Forbidden,
    NotFound,
    /// The request's CSRF token or origin did not match.
    Csrf,
    BadRequest(String),
    Internal(anyhow::Error),
}

pub type AppResult<T> = Result<T, AppError>;

impl<E: Into<anyhow::Error>> From<E> for AppError {
    fn from(e: E) -> Self {
        AppError::Internal(e.into())
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    title: &'a str,
    message: &'a str,
}

pub fn error_page(status: StatusCode, title: &str, message: &str) -> Response {
    let body = ErrorPage { title, message }
        .render()
        .unwrap_or_else(|_| message.to_string());
    (status, [(header::CACHE_CONTROL, "no-store")], Html(body)).into_response()
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        match self {
            AppError::LoginRequired { next, expired } => {
                let mut to = format!("/login?next={}", urlencode(&next));
                if expired {
                    to.push_str("&expired=1");
                }
                Redirect::to(&to).into_response()
            }
            AppError::Forbidden => error_page(
                StatusCode::FORBIDDEN,
                "无权访问",
                "您的账号无权查看或操作此页面。如确需办理，请联系省经信厅信息化推进处。",
            ),
            AppError::NotFound => error_page(
                StatusCode::NOT_FOUND,
                "页面不存在",
                "您访问的页面不存在或已被删除。",
            ),
            AppError::Csrf => error_page(
                StatusCode::FORBIDDEN,
                "请求未通过安全校验",
                "页面已过期或请求来源不明。请返回上一页，刷新后重新提交；已保存的内容不会丢失。",
            ),
            AppError::BadRequest(m) => error_page(StatusCode::BAD_REQUEST, "请求有误", &m),
            AppError::Internal(e) => {
                tracing::error!(error = %e, "internal error");
                error_page(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "系统繁忙",
                    "服务器处理时出错，请稍后重试。已保存的内容不会丢失。",
                )
            }
        }
    }
}

pub fn urlencode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// A generated file as a download: `ascii` names it for old clients, `name` for the rest.
pub fn file_response(bytes: Vec<u8>, mime: &'static str, ascii: &str, name: &str) -> Response {
    let mut resp = (StatusCode::OK, bytes).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static(mime),
    );
    h.insert(
        header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    if let Ok(v) = axum::http::HeaderValue::from_str(&format!(
        "attachment; filename=\"{ascii}\"; filename*=UTF-8''{}",
        urlencode(name)
    )) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    resp
}

pub const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
pub const DOCX: &str = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
