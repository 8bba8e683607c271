//! The experts' score saves under load, for `scripts/bench-review`: N
//! connections, each logged in as its own expert (the `expert=` lines that
//! `review_seed` printed), each looping over its own open assignments and
//! POSTing the score form as the browser's 保存评分 button sends it
//! (urlencoded `_csrf`, `_version`, `score.c1`…`score.c5`, `comment`,
//! `action=save`). The version of each assignment is read once from its
//! review page; only this connection writes those rows, so each acknowledged
//! save (303) moves it on by one and the next save carries the next version.
//! Times the requests started after a warm-up (1 s) for the given seconds;
//! reports saves/s, p50, p99 and errors (anything but 303).
//!
//! With `--baseline URL` it drives a bare handler instead (the SQLite upsert
//! of `examples/bench_baseline.rs`, `POST /upsert/0`: its answer is as empty
//! as the 303's) the same way: as many connections, the same body size and
//! headers, a 200 counting as success.
//!
//! review_load --base URL --users-file FILE [--conns 32] [--seconds 10] [--password P] [--warmup 1]
//! review_load --baseline URL [--conns 32] [--seconds 10] [--warmup 1]
//!
//! The last line is `result rate=… p50_ms=… p99_ms=… ok=… errors=…`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{Request, header};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

type Http = Client<HttpConnector, Full<Bytes>>;

fn arg(name: &str, default: &str) -> String {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
        .unwrap_or_else(|| default.to_string())
}

struct Resp {
    status: u16,
    cookies: Vec<(String, String)>,
    body: String,
}

async fn send(http: &Http, req: Request<Full<Bytes>>) -> anyhow::Result<Resp> {
    let resp = http.request(req).await?;
    let status = resp.status().as_u16();
    let cookies = resp
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next()?.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let body = String::from_utf8_lossy(&resp.into_body().collect().await?.to_bytes()).into_owned();
    Ok(Resp {
        status,
        cookies,
        body,
    })
}

fn get(base: &str, path: &str, cookie: &str) -> Request<Full<Bytes>> {
    Request::get(format!("{base}{path}"))
        .header(header::COOKIE, cookie)
        .body(Full::new(Bytes::new()))
        .expect("request")
}

fn post_form(base: &str, path: &str, cookie: &str, body: String) -> Request<Full<Bytes>> {
    Request::post(format!("{base}{path}"))
        .header(header::COOKIE, cookie)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Full::new(Bytes::from(body)))
        .expect("request")
}

fn between<'a>(s: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let i = s.find(start)? + start.len();
    Some(&s[i..i + s[i..].find(end)?])
}

/// One keep-alive HTTP/1.1 connection for the timed loop: the request goes
/// out as one buffer and the answer is read by its Content-Length, so the
/// load generator (which shares the two cores with the server) stays cheap;
/// the baseline is driven through the same code.
struct RawConn {
    addr: String,
    stream: Option<tokio::net::TcpStream>,
    out: Vec<u8>,
    buf: Vec<u8>,
}

impl RawConn {
    fn new(base: &str) -> RawConn {
        let addr = base
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string();
        RawConn {
            addr,
            stream: None,
            out: Vec::with_capacity(4096),
            buf: Vec::with_capacity(4096),
        }
    }

    /// POSTs an urlencoded form body given in pieces; returns the status.
    async fn post(&mut self, path: &str, cookie: &str, body: &[&[u8]]) -> anyhow::Result<u16> {
        use std::io::Write;
        use tokio::io::AsyncWriteExt;
        let len: usize = body.iter().map(|b| b.len()).sum();
        self.out.clear();
        write!(
            self.out,
            "POST {path} HTTP/1.1\r\nHost: {}\r\nCookie: {cookie}\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len}\r\n\r\n",
            self.addr
        )?;
        for b in body {
            self.out.extend_from_slice(b);
        }
        if self.stream.is_none() {
            let s = tokio::net::TcpStream::connect(&self.addr).await?;
            s.set_nodelay(true)?;
            self.stream = Some(s);
        }
        let stream = self.stream.as_mut().expect("connected");
        if let Err(e) = stream.write_all(&self.out).await {
            self.stream = None;
            return Err(e.into());
        }
        self.buf.clear();
        let (head_end, body_len) = loop {
            if let Some(i) = memchr::memmem::find(&self.buf, b"\r\n\r\n") {
                let head = std::str::from_utf8(&self.buf[..i])?;
                // An answer without Content-Length (none here) counts as empty.
                let body_len: usize = head
                    .lines()
                    .find_map(|l| {
                        let (k, v) = l.split_once(':')?;
                        k.eq_ignore_ascii_case("content-length")
                            .then(|| v.trim().parse().ok())?
                    })
                    .unwrap_or(0);
                break (i + 4, body_len);
            }
            if self.read_more().await? == 0 {
                anyhow::bail!("connection closed");
            }
        };
        while self.buf.len() < head_end + body_len {
            if self.read_more().await? == 0 {
                anyhow::bail!("connection closed");
            }
        }
        Ok(std::str::from_utf8(self.buf.get(9..12).unwrap_or_default())?.parse()?)
    }

    async fn read_more(&mut self) -> anyhow::Result<usize> {
        use tokio::io::AsyncReadExt;
        let stream = self.stream.as_mut().expect("connected");
        let mut chunk = [0u8; 4096];
        let n = match stream.read(&mut chunk).await {
            Ok(n) => n,
            Err(e) => {
                self.stream = None;
                return Err(e.into());
            }
        };
        if n == 0 {
            self.stream = None;
        }
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(n)
    }
}

/// The expert's comment, as typed (about 60 characters).
const COMMENT: &str = "企业近两年上云投入持续，研发、生产和管理环节的应用较深入，成效有量化数据支撑，具有一定的行业代表性，建议进一步加强数据安全管理。";

/// The form body around the version and the changing score: body =
/// `[0]` version `[1]` score `[2]`. The first criterion's score changes
/// from one save to the next, as an expert revising it.
fn form_body(csrf: &str) -> [String; 3] {
    let comment = serde_urlencoded::to_string([("comment", COMMENT)]).expect("encodes");
    [
        format!("_csrf={csrf}&_version="),
        "&score.c1=".to_string(),
        format!("&score.c2=20.5&score.c3=19&score.c4=12&score.c5=11.5&{comment}&action=save"),
    ]
}

/// A score for the first criterion (max 20) that differs between saves.
fn score(n: u64) -> String {
    let halves = 20 + n % 21;
    if halves % 2 == 0 {
        (halves / 2).to_string()
    } else {
        format!("{}.5", halves / 2)
    }
}

/// One of the expert's open assignments and its current version.
struct Task {
    path: String,
    version: i64,
}

struct Expert {
    username: String,
    cookie: String,
    csrf: String,
    tasks: Vec<Task>,
}

/// The second login step of an official's half-open session `cookie`: the
/// current code of the secret its enrolment page shows (an expert's first
/// login), or of the demo officials' secret. Returns the full session's cookie.
async fn second_factor(
    http: &Http,
    base: &str,
    username: &str,
    cookie: &str,
) -> anyhow::Result<String> {
    let r = send(http, get(base, "/login/2fa", cookie)).await?;
    if r.status != 200 {
        return Ok(cookie.to_string());
    }
    let token = between(&r.body, "name=\"_csrf\" value=\"", "\"").unwrap_or("");
    let shown = between(&r.body, "id=\"totp-secret\">", "<").map(|s| s.replace(' ', ""));
    let secret = shown
        .clone()
        .unwrap_or_else(|| shenbao::demo::DEMO_TOTP_SECRET.to_string());
    let step = shenbao::domain::totp::step_of(jiff::Timestamp::now().as_millisecond());
    let code = shenbao::domain::totp::code_at(&secret, step)
        .ok_or_else(|| anyhow::anyhow!("{username}: not a TOTP secret"))?;
    let path = if shown.is_some() {
        "/login/2fa/enrol"
    } else {
        "/login/2fa"
    };
    let form = serde_urlencoded::to_string([("_csrf", token), ("code", code.as_str())])?;
    let r = send(http, post_form(base, path, cookie, form)).await?;
    let session = r
        .cookies
        .iter()
        .find(|c| c.0 == "sb_session")
        .map(|c| c.1.clone())
        .ok_or_else(|| anyhow::anyhow!("{username}: second login step failed ({})", r.status))?;
    Ok(format!("sb_session={session}"))
}

/// Logs in as `username` (the login form with its CSRF cookie and field),
/// then reads the tasks page and each assignment's review page for the
/// open ones (those still showing the score form) and their versions.
async fn login(http: &Http, base: &str, username: &str, password: &str) -> anyhow::Result<Expert> {
    let r = send(http, get(base, "/login", "")).await?;
    let csrf_cookie = r
        .cookies
        .iter()
        .find(|c| c.0 == "sb_csrf")
        .map(|c| c.1.clone())
        .unwrap_or_default();
    let token = between(&r.body, "name=\"_csrf\" value=\"", "\"").unwrap_or("");
    let form = serde_urlencoded::to_string([
        ("_csrf", token),
        ("username", username),
        ("password", password),
    ])?;
    let r = send(
        http,
        post_form(base, "/login", &format!("sb_csrf={csrf_cookie}"), form),
    )
    .await?;
    let session = r
        .cookies
        .iter()
        .find(|c| c.0 == "sb_session")
        .map(|c| c.1.clone())
        .ok_or_else(|| anyhow::anyhow!("login of {username} failed ({})", r.status))?;
    let cookie = second_factor(http, base, username, &format!("sb_session={session}")).await?;
    let r = send(http, get(base, "/expert", &cookie)).await?;
    anyhow::ensure!(r.status == 200, "{username}: /expert answered {}", r.status);
    let mut ids: Vec<&str> = r
        .body
        .split("href=\"/expert/review/")
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .collect();
    ids.dedup();
    let mut tasks = Vec::new();
    let mut csrf = String::new();
    for id in ids {
        let r = send(http, get(base, &format!("/expert/review/{id}"), &cookie)).await?;
        let Some(v) = between(&r.body, "name=\"_version\" value=\"", "\"") else {
            continue; // submitted: no score form any more
        };
        csrf = between(&r.body, "name=\"_csrf\" value=\"", "\"")
            .unwrap_or("")
            .to_string();
        tasks.push(Task {
            path: format!("/expert/review/{id}/score"),
            version: v.parse()?,
        });
    }
    anyhow::ensure!(!tasks.is_empty(), "{username} has no open assignment");
    Ok(Expert {
        username: username.to_string(),
        cookie,
        csrf,
        tasks,
    })
}

/// The version an assignment is at now, from its review page (after a
/// failed save, whose effect is unknown).
async fn current_version(http: &Http, base: &str, e: &Expert, path: &str) -> Option<i64> {
    let page = path.trim_end_matches("/score");
    let r = send(http, get(base, page, &e.cookie)).await.ok()?;
    between(&r.body, "name=\"_version\" value=\"", "\"")?
        .parse()
        .ok()
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i] as f64 / 1000.0
}

fn report(label: &str, lat: &mut [u64], errors: u64, secs: f64) {
    lat.sort_unstable();
    let rate = lat.len() as f64 / secs;
    let (p50, p99) = (percentile(lat, 0.50), percentile(lat, 0.99));
    println!(
        "{label:<10} {rate:>8.0}/s  p50 {p50:>7.2} ms  p99 {p99:>7.2} ms  max {:>7.2} ms  ok {:>7}  errors {errors}",
        percentile(lat, 1.0),
        lat.len()
    );
    println!(
        "result rate={rate:.0} p50_ms={p50:.2} p99_ms={p99:.2} ok={} errors={errors}",
        lat.len()
    );
}

async fn run() -> anyhow::Result<()> {
    let conns: usize = arg("--conns", "32").parse()?;
    let seconds: f64 = arg("--seconds", "10").parse()?;
    let warmup = Duration::from_secs_f64(arg("--warmup", "1").parse()?);
    let baseline = arg("--baseline", "");
    let http: Http = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(1024)
        .build_http();

    // Each connection: its base (host:port), its experts' assignments (or,
    // for the baseline, one path), cookie and token.
    let (base, experts) = if baseline.is_empty() {
        let base = arg("--base", "http://127.0.0.1:18201");
        let password = arg("--password", "Bench-Pass-2021");
        let users_file = arg("--users-file", "");
        anyhow::ensure!(
            !users_file.is_empty(),
            "--users-file FILE (or --baseline URL)"
        );
        let names: Vec<String> = std::fs::read_to_string(&users_file)?
            .lines()
            .filter_map(|l| match l.split_once('=') {
                Some(("expert", v)) => Some(v.trim().to_string()),
                Some(_) => None,
                None => Some(l.trim().to_string()).filter(|s| !s.is_empty()),
            })
            .collect();
        anyhow::ensure!(
            names.len() >= conns,
            "{conns} connections need as many experts; {users_file} names {}",
            names.len()
        );
        let started = Instant::now();
        let mut experts = Vec::new();
        for chunk in names[..conns].chunks(16) {
            let logins: Vec<_> = chunk
                .iter()
                .map(|name| {
                    let (http, base, password, name) =
                        (http.clone(), base.clone(), password.clone(), name.clone());
                    tokio::spawn(async move { login(&http, &base, &name, &password).await })
                })
                .collect();
            for l in logins {
                experts.push(l.await??);
            }
        }
        let open: usize = experts.iter().map(|e| e.tasks.len()).sum();
        println!(
            "logins {conns} in {:.2} s; open assignments: {open} ({:.1} per expert)",
            started.elapsed().as_secs_f64(),
            open as f64 / conns as f64
        );
        (base, experts)
    } else {
        let (host, path) = baseline
            .split_once("://")
            .map_or(baseline.as_str(), |(_, rest)| rest)
            .split_once('/')
            .map(|(h, p)| (h.to_string(), format!("/{p}")))
            .ok_or_else(|| anyhow::anyhow!("--baseline needs a path"))?;
        // As many bytes as a logged-in expert sends: a session cookie and a
        // token as long as real ones.
        let experts = (0..conns)
            .map(|i| Expert {
                username: format!("baseline{i}"),
                cookie: format!("sb_session={}", "0".repeat(64)),
                csrf: "0".repeat(64),
                tasks: vec![Task {
                    path: path.clone(),
                    version: 1,
                }],
            })
            .collect();
        (format!("http://{host}"), experts)
    };
    let body_len = {
        let [a, b, c] = form_body(&experts[0].csrf);
        a.len() + b.len() + c.len() + 4
    };
    println!("connections {conns}, form body about {body_len} bytes");

    let stop = Arc::new(AtomicBool::new(false));
    let start = Instant::now();
    let timed_from = start + warmup;
    let want = if baseline.is_empty() { 303 } else { 200 };
    let mut tasks = Vec::new();
    for mut e in experts {
        let (base, stop, http, real) = (
            base.clone(),
            stop.clone(),
            http.clone(),
            baseline.is_empty(),
        );
        // Encoded once: the load generator must stay cheap.
        let [head, middle, tail] = form_body(&e.csrf);
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut errors = 0u64;
            let mut conn = RawConn::new(&base);
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let i = (n as usize) % e.tasks.len();
                let (version, c1) = (e.tasks[i].version.to_string(), score(n));
                n += 1;
                let t = Instant::now();
                let status = conn
                    .post(
                        &e.tasks[i].path,
                        &e.cookie,
                        &[
                            head.as_bytes(),
                            version.as_bytes(),
                            middle.as_bytes(),
                            c1.as_bytes(),
                            tail.as_bytes(),
                        ],
                    )
                    .await;
                match status {
                    Ok(s) if s == want => {
                        if t >= timed_from {
                            lat.push(t.elapsed().as_micros() as u64);
                        }
                        if real {
                            e.tasks[i].version += 1;
                        }
                    }
                    other => {
                        errors += 1;
                        if errors <= 3 {
                            eprintln!("{}: {} answered {other:?}", e.username, e.tasks[i].path);
                        }
                        if real
                            && let Some(v) =
                                current_version(&http, &base, &e, &e.tasks[i].path).await
                        {
                            e.tasks[i].version = v;
                        }
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
            }
            (lat, errors)
        }));
    }
    tokio::time::sleep(warmup + Duration::from_secs_f64(seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let elapsed = timed_from.elapsed().as_secs_f64();
    let (mut lat, mut errors) = (Vec::new(), 0);
    for t in tasks {
        let (l, e) = t.await?;
        lat.extend(l);
        errors += e;
    }
    report(
        if baseline.is_empty() {
            "saves"
        } else {
            "baseline"
        },
        &mut lat,
        errors,
        elapsed,
    );
    Ok(())
}

/// One thread, as `examples/rush.rs`: the load generator shares the
/// machine's cores with the server it measures.
#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    run().await
}
