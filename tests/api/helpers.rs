use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Request, StatusCode, header};
use http_body_util::BodyExt;
use tower::ServiceExt;

use shenbao::clock::Clock;
use shenbao::config::Config;
use shenbao::store::Db;
use shenbao::web::{AppState, Shared, router};

pub const DEMO_PASSWORD: &str = "Demo-Pass-2021";
/// 2021-09-10 10:00 Asia/Shanghai.
pub const START: i64 = 1_631_239_200_000;

pub struct TestApp {
    pub state: AppState,
    pub router: Router,
    pub clock: Clock,
    _dir: tempfile::TempDir,
}

static NEXT_IP: AtomicU32 = AtomicU32::new(1);

pub async fn spawn() -> TestApp {
    spawn_with(Config::default()).await
}

pub async fn spawn_with(config: Config) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = match std::env::var("TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => {
            let schema = format!("t_{}", shenbao::store::new_id());
            Db::open_postgres_schema(&url, &schema)
                .await
                .expect("postgres schema")
        }
        _ => Db::open(None, dir.path()).await.expect("sqlite"),
    };
    spawn_on(dir, db, config).await
}

/// A server on the SQLite store in `dir` (made if missing), whatever
/// TEST_DATABASE_URL says: backup archives are SQLite's.
pub async fn spawn_sqlite_in(dir: tempfile::TempDir) -> TestApp {
    let db = Db::open(None, dir.path()).await.expect("sqlite");
    spawn_on(dir, db, Config::default()).await
}

async fn spawn_on(dir: tempfile::TempDir, db: Db, config: Config) -> TestApp {
    let clock = Clock::manual(START);
    let program = Arc::new(shenbao::domain::form::ProgramDef::builtin().clone());
    shenbao::store::batches::ensure(
        &db,
        &[shenbao::store::batches::from_program(&program.program)],
        START,
    )
    .await
    .expect("batch");
    let state = AppState::from(Shared {
        db,
        clock: clock.clone(),
        config: Arc::new(config),
        demo: false,
        files: shenbao::files::FileStore::local(dir.path().join("attachments")),
        data_dir: dir.path().into(),
        form_plan: Arc::new(shenbao::web::form_io::Plan::new(&program.form)),
        programs: Arc::new(shenbao::web::shared::programs::Programs::new(
            program.clone(),
        )),
        pages: Default::default(),
        caches: Default::default(),
        program,
    });
    TestApp {
        router: router(state.clone()),
        state,
        clock,
        _dir: dir,
    }
}

impl TestApp {
    /// Creates the demo accounts (province, 17 cities, experts, enterprises).
    pub async fn seed_demo(&self) {
        shenbao::demo::seed(
            &self.state.db,
            &self.clock,
            self._dir.path(),
            Some(DEMO_PASSWORD.into()),
        )
        .await
        .expect("demo seed");
    }

    /// The demo accounts and, as `serve --demo` has them, the demo's
    /// applications at every stage (cities recommended, a review under way).
    pub async fn seed_demo_stages(&self) {
        self.seed_demo().await;
        let s = &self.state;
        shenbao::demo::stages::seed(&s.db, &s.files, &self.clock, &s.program, DEMO_PASSWORD)
            .await
            .expect("demo stages");
    }

    /// A browser-like client with its own cookies and client address.
    pub fn client(&self) -> Client {
        let n = NEXT_IP.fetch_add(1, Ordering::Relaxed);
        Client {
            router: self.router.clone(),
            state: self.state.clone(),
            cookies: HashMap::new(),
            csrf: None,
            addr: SocketAddr::from(([10, (n >> 16) as u8, (n >> 8) as u8, n as u8], 40000)),
        }
    }

    /// A client already logged in as `username`.
    pub async fn login(&self, username: &str, password: &str) -> Client {
        let mut c = self.client();
        let r = c.login(username, password).await;
        assert_eq!(
            r.status,
            StatusCode::SEE_OTHER,
            "login of {username} failed: {}",
            r.body
        );
        c
    }

    /// The data directory (SQLite file, attachments).
    pub fn data_dir(&self) -> &std::path::Path {
        self._dir.path()
    }

    pub async fn audit_count(&self, action: &str) -> i64 {
        let rows = self
            .state
            .db
            .query(
                "SELECT COUNT(*) FROM audit_log WHERE action = $1",
                vec![action.into()],
            )
            .await
            .expect("audit query");
        rows[0].int(0)
    }
}

pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
    /// The body's bytes as sent (`body` is their lossy UTF-8 reading).
    pub raw: Vec<u8>,
}

impl Resp {
    pub fn location(&self) -> &str {
        self.headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// The one-shot message this redirect carries to its page
    /// (`shenbao::web::shared::flash`), decoded; "" when there is none.
    pub fn flash(&self) -> String {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter_map(|c| c.split(';').next()?.strip_prefix("sb_flash="))
            .flat_map(|v| form_urlencoded::parse(v.as_bytes()))
            .find(|(k, _)| k == "m")
            .map(|(_, m)| m.into_owned())
            .unwrap_or_default()
    }
}

pub struct Client {
    router: Router,
    state: AppState,
    pub cookies: HashMap<String, String>,
    pub csrf: Option<String>,
    pub addr: SocketAddr,
}

impl Client {
    pub async fn send(&mut self, req: Request<Body>) -> Resp {
        let (resp, bytes) = self.send_streamed(req).await;
        let bytes = bytes.expect("body");
        let status = resp.status;
        let headers = resp.headers;
        let body = String::from_utf8_lossy(&bytes).into_owned();
        if let Some(t) = extract_csrf(&body) {
            self.csrf = Some(t);
        }
        Resp {
            status,
            headers,
            body,
            raw: bytes,
        }
    }

    /// Sends `req`; the body is read to its end or to the error that cut
    /// its stream off (a file failing its checksum, say).
    pub async fn send_streamed(&mut self, req: Request<Body>) -> (Resp, Result<Vec<u8>, String>) {
        let mut req = req;
        if !self.cookies.is_empty() {
            let c: Vec<String> = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            req.headers_mut()
                .insert(header::COOKIE, c.join("; ").parse().expect("cookie header"));
        }
        req.headers_mut()
            .insert(header::HOST, "localhost".parse().expect("host"));
        req.extensions_mut().insert(ConnectInfo(self.addr));
        let resp = self.router.clone().oneshot(req).await.expect("router");
        let status = resp.status();
        let headers = resp.headers().clone();
        keep_cookies(&headers, &mut self.cookies);
        let bytes = resp
            .into_body()
            .collect()
            .await
            .map(|b| b.to_bytes().to_vec())
            .map_err(|e| e.to_string());
        let head = Resp {
            status,
            headers,
            body: String::new(),
            raw: Vec::new(),
        };
        (head, bytes)
    }

    pub async fn get(&mut self, path: &str) -> Resp {
        self.send(Request::get(path).body(Body::empty()).expect("request"))
            .await
    }

    /// A GET with a `Range` header.
    pub async fn get_range(&mut self, path: &str, range: &str) -> Resp {
        self.send(
            Request::get(path)
                .header(header::RANGE, range)
                .body(Body::empty())
                .expect("request"),
        )
        .await
    }

    /// Posts a form with the client's current CSRF token.
    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Resp {
        if self.csrf.is_none() {
            self.get("/login").await;
        }
        let token = self.csrf.clone().unwrap_or_default();
        let mut all: Vec<(&str, &str)> = vec![("_csrf", token.as_str())];
        all.extend_from_slice(fields);
        self.post_raw(path, &all).await
    }

    /// Posts a multipart form as the upload pages do (the CSRF token in the
    /// query): text `fields`, then `file` as (field, file name, bytes).
    pub async fn post_multipart(
        &mut self,
        path: &str,
        fields: &[(&str, &str)],
        file: Option<(&str, &str, &[u8])>,
    ) -> Resp {
        let boundary = "----shenbaotestmultipart";
        let mut body = Vec::new();
        for (k, v) in fields {
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n"
                )
                .as_bytes(),
            );
        }
        if let Some((field, name, bytes)) = file {
            body.extend_from_slice(
                format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n")
                    .as_bytes(),
            );
            body.extend_from_slice(bytes);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        // A visitor without a session has its token only in the cookie.
        let token = self
            .csrf
            .clone()
            .or_else(|| self.cookies.get("sb_csrf").cloned())
            .unwrap_or_default();
        let sep = if path.contains('?') { '&' } else { '?' };
        let req = Request::post(format!("{path}{sep}_csrf={token}"))
            .header(
                header::CONTENT_TYPE,
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(Body::from(body))
            .expect("request");
        self.send(req).await
    }

    /// Posts exactly `fields` (no token added).
    pub async fn post_raw(&mut self, path: &str, fields: &[(&str, &str)]) -> Resp {
        let body = serde_urlencoded::to_string(fields).expect("form");
        let req = Request::post(path)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .expect("request");
        self.send(req).await
    }

    /// Posts `body` as JSON, with the CSRF token in its header when `token` (as app.js does).
    pub async fn post_json(&mut self, path: &str, body: &str, token: bool) -> Resp {
        let mut req = Request::post(path).header(header::CONTENT_TYPE, "application/json");
        if token {
            req = req.header("x-csrf-token", self.csrf.clone().unwrap_or_default());
        }
        self.send(req.body(Body::from(body.to_string())).expect("request"))
            .await
    }

    pub async fn login(&mut self, username: &str, password: &str) -> Resp {
        self.get("/login").await;
        let r = self
            .post("/login", &[("username", username), ("password", password)])
            .await;
        let r = self.pass_second_factor(r).await;
        if r.status == StatusCode::SEE_OTHER {
            // Pick up the session's CSRF token, as a browser following the redirect would.
            let to = r.location().to_string();
            self.get(&to).await;
        }
        r
    }
}

impl Client {
    /// The account of this client's session (logged in or half-way).
    pub async fn session_user_id(&self) -> Option<String> {
        let token = self.cookies.get("sb_session")?;
        let hash = shenbao::web::shared::context::token_hash(token);
        self.state
            .db
            .query_opt(
                "SELECT user_id FROM sessions WHERE id_hash = $1",
                vec![hash.into()],
            )
            .await
            .expect("session query")
            .map(|r| r.text(0))
    }

    /// The code an authenticator app with the account's secret shows now,
    /// computed here with `totp-rs` from the secret in the database (opened
    /// with the server's key, as an authenticator app holds it). A code
    /// is accepted once: when the three steps the server accepts at this
    /// moment (one either side) are all spent by earlier logins, the
    /// manual clock moves on to the next step, as a person would wait.
    pub async fn totp_code(&self, user_id: &str) -> String {
        let row = self
            .state
            .db
            .query_opt(
                "SELECT secret, last_step FROM user_totp WHERE user_id = $1",
                vec![user_id.into()],
            )
            .await
            .expect("totp query")
            .expect("the account has a TOTP secret");
        let secret = self
            .state
            .db
            .secret_key()
            .open(user_id, &row.text(0))
            .expect("a secret sealed by this server's key");
        let last_step = row.int(1);
        let mut step = self.state.clock.now() / 30_000;
        if step < last_step {
            self.state.clock.advance((last_step - step) * 30_000);
            step = self.state.clock.now() / 30_000;
        }
        let use_step = (step - 1).max(last_step + 1);
        totp_at(&secret, use_step)
    }

    /// Completes the second login step when `r` (the answer to a password
    /// login) leads to it, as the owner with an authenticator would: types
    /// the current code, or enrols first (the secret the page shows) and
    /// takes note of the recovery codes. Returns the redirect that leads
    /// past the login (the enrolment's answer is its page of recovery
    /// codes: its "continue" link is returned as that redirect).
    pub async fn pass_second_factor(&mut self, r: Resp) -> Resp {
        if r.status != StatusCode::SEE_OTHER || !r.location().starts_with("/login/2fa") {
            return r;
        }
        let page = self.get(r.location()).await;
        assert_eq!(page.status, StatusCode::OK, "2FA page: {}", page.body);
        let next = hidden_field(&page.body, "next").unwrap_or_default();
        let user_id = self.session_user_id().await.expect("half-open session");
        let code = self.totp_code(&user_id).await;
        if page.body.contains("action=\"/login/2fa/enrol\"") {
            let r = self
                .post("/login/2fa/enrol", &[("code", &code), ("next", &next)])
                .await;
            assert_eq!(r.status, StatusCode::OK, "enrolment: {}", r.body);
            assert!(r.body.contains("保存恢复码"), "{}", r.body);
            let marker = "class=\"btn btn-primary\" href=\"";
            let i = r.body.find(marker).expect("continue link") + marker.len();
            let to = unescape(&r.body[i..i + r.body[i..].find('"').expect("quote")]);
            let mut headers = HeaderMap::new();
            headers.insert(header::LOCATION, to.parse().expect("location"));
            return Resp {
                status: StatusCode::SEE_OTHER,
                headers,
                body: r.body,
                raw: r.raw,
            };
        }
        let r = self
            .post("/login/2fa", &[("code", &code), ("next", &next)])
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "2FA code: {}", r.body);
        r
    }
}

/// Keeps the cookies an answer sets, and forgets those it clears, as a browser does.
pub fn keep_cookies(headers: &HeaderMap, jar: &mut HashMap<String, String>) {
    for sc in headers.get_all(header::SET_COOKIE) {
        let s = sc.to_str().expect("ascii cookie");
        let (kv, attrs) = s.split_once(';').unwrap_or((s, ""));
        if let Some((k, v)) = kv.split_once('=') {
            if v.is_empty() || attrs.contains("Max-Age=0") {
                jar.remove(k);
            } else {
                jar.insert(k.to_string(), v.to_string());
            }
        }
    }
}

#[path = "../support/totp.rs"]
mod totp;
pub use totp::totp_at;

/// The value of a hidden form field of a page.
pub fn hidden_field(body: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let i = body.find(&marker)? + marker.len();
    let rest = &body[i..];
    Some(unescape(&rest[..rest.find('"')?]))
}

fn unescape(s: &str) -> String {
    s.replace("&#x2f;", "/")
        .replace("&#47;", "/")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&quot;", "\"")
        .replace("&#34;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

fn extract_csrf(body: &str) -> Option<String> {
    let marker = "name=\"_csrf\" value=\"";
    let i = body.find(marker)? + marker.len();
    let rest = &body[i..];
    Some(rest[..rest.find('"')?].to_string())
}
