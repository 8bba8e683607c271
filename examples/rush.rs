//! The deadline-rush load generator: N enterprises, logged in, each saving
//! its ~5 KB draft through the autosave endpoint as fast as it can, as the
//! browser sends it (JSON pairs, CSRF token in a header; static/app.js),
//! every save carrying the version the previous one returned (optimistic
//! concurrency, as a browser tab does). Reports saves/s, p50/p99 and errors;
//! writes each application's last acknowledged version (and how many saves
//! were acknowledged) to a file, so that `rush check` can prove after a
//! kill -9 that each acknowledged save is on disk: versions are sequential,
//! so the last one stands for all before it.
//!
//! rush run  --base URL --users N --seconds S --password P [--acked FILE] [--prefix rush] [--warmup 1]
//!           [--trace FILE]   (each timed save: µs since start it was sent, latency µs, user)
//!           [--typing FIELD] (the field that changes between two saves; overview by default)
//! rush post --url URL --conns N --seconds S [--warmup 1]   (bare baselines: same body, no app)
//!
//! Both time the requests started after the warm-up (1 s by default) and
//! report saves/s over the timed seconds; errors are counted throughout.
//! `run` also watches the machine itself (`HostProbe`): on this kind of
//! virtual machine the host slows the guest's CPUs down now and then, for
//! 50–300 ms at a time, even when the guest does nothing else; the report
//! says how often that happened and how many slow saves were in flight then.
//! rush check --data DIR [--database-url URL] --acked FILE
//! rush probe --seconds S   (the host probe alone, on an otherwise idle machine)

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
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
    location: String,
    cookies: Vec<(String, String)>,
    body: String,
}

async fn send(http: &Http, req: Request<Full<Bytes>>) -> anyhow::Result<Resp> {
    let resp = http.request(req).await?;
    let status = resp.status().as_u16();
    let location = resp
        .headers()
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
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
        location,
        cookies,
        body,
    })
}

/// The autosave body as the browser sends it (static/app.js): the draft's
/// pairs as a JSON array, the token and `_version` last. As a person types
/// between two autosaves, one field changes each time: `typing` ends with a
/// count of the saves. Given as the text around that count and the version
/// number: body = `[0]` count `[1]` version `[2]`.
fn autosave_body(draft: &[(String, String)], typing: &str, csrf: &str) -> [String; 3] {
    const COUNT: &str = "@@COUNT@@";
    let typed: Vec<(&str, String)> = draft
        .iter()
        .map(|(k, v)| match k == typing {
            true => (k.as_str(), format!("{v}（已保存{COUNT}次）")),
            false => (k.as_str(), v.clone()),
        })
        .collect();
    let tail = [("_csrf", csrf), ("_version", "")];
    let pairs: Vec<(&str, &str)> = typed
        .iter()
        .map(|(k, v)| (*k, v.as_str()))
        .chain(tail)
        .collect();
    let json = serde_json::to_string(&pairs).expect("strings serialize");
    let (head, rest) = json
        .split_once(COUNT)
        .unwrap_or_else(|| panic!("the draft has no field {typing}"));
    let suffix = "\"]]";
    let middle = rest
        .strip_suffix(suffix)
        .expect("ends with the empty version");
    [head.to_string(), middle.to_string(), suffix.to_string()]
}

fn between<'a>(s: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let i = s.find(start)? + start.len();
    Some(&s[i..i + s[i..].find(end)?])
}

fn get(base: &str, path: &str, cookie: &str) -> Request<Full<Bytes>> {
    Request::get(format!("{base}{path}"))
        .header(header::COOKIE, cookie)
        .body(Full::new(Bytes::new()))
        .expect("request")
}

fn post(base: &str, path: &str, cookie: &str, body: String) -> Request<Full<Bytes>> {
    Request::post(format!("{base}{path}"))
        .header(header::COOKIE, cookie)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Full::new(Bytes::from(body)))
        .expect("request")
}

/// One keep-alive HTTP/1.1 connection for the timed loops: the request is
/// written as one buffer and the answer read by its Content-Length, so each
/// request costs the load generator a write and a read or two, not a client
/// stack's worth of work (it shares the machine's cores with the server it
/// measures, and the bare baseline is driven the same way).
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
            out: Vec::with_capacity(16 * 1024),
            buf: Vec::with_capacity(4096),
        }
    }

    /// POSTs a JSON body (given in pieces), with the CSRF token in its
    /// header as the browser's autosave sends it; returns the status and body.
    async fn post(
        &mut self,
        path: &str,
        cookie: &str,
        csrf: &str,
        body: &[&[u8]],
    ) -> anyhow::Result<(u16, &str)> {
        use std::io::Write;
        use tokio::io::AsyncWriteExt;
        let len: usize = body.iter().map(|b| b.len()).sum();
        self.out.clear();
        write!(
            self.out,
            "POST {path} HTTP/1.1\r\nHost: {}\r\nCookie: {cookie}\r\nX-CSRF-Token: {csrf}\r\n\
             Content-Type: application/json\r\nContent-Length: {len}\r\n\r\n",
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
        let sent = stream.write_all(&self.out).await;
        if sent.is_err() {
            self.stream = None;
            sent?;
        }
        self.buf.clear();
        let (head_end, body_len) = loop {
            if let Some(i) = memchr::memmem::find(&self.buf, b"\r\n\r\n") {
                let head = std::str::from_utf8(&self.buf[..i])?;
                let body_len: usize = head
                    .lines()
                    .find_map(|l| {
                        let (k, v) = l.split_once(':')?;
                        if k.eq_ignore_ascii_case("content-length") {
                            v.trim().parse().ok()
                        } else {
                            None
                        }
                    })
                    .ok_or_else(|| anyhow::anyhow!("no Content-Length"))?;
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
        let status = std::str::from_utf8(self.buf.get(9..12).unwrap_or_default())?.parse()?;
        Ok((
            status,
            std::str::from_utf8(&self.buf[head_end..head_end + body_len])?,
        ))
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

struct User {
    cookie: String,
    csrf: String,
    app: String,
    version: u64,
}

async fn login(http: &Http, base: &str, username: &str, password: &str) -> anyhow::Result<User> {
    let r = send(http, get(base, "/login", "")).await?;
    let csrf_cookie = r
        .cookies
        .iter()
        .find(|c| c.0 == "sb_csrf")
        .map(|c| c.1.clone())
        .unwrap_or_default();
    let token = between(&r.body, "name=\"_csrf\" value=\"", "\"")
        .unwrap_or("")
        .to_string();
    let form = serde_urlencoded::to_string([
        ("_csrf", token.as_str()),
        ("username", username),
        ("password", password),
    ])?;
    let r = send(
        http,
        post(base, "/login", &format!("sb_csrf={csrf_cookie}"), form),
    )
    .await?;
    let session = r
        .cookies
        .iter()
        .find(|c| c.0 == "sb_session")
        .map(|c| c.1.clone());
    let session =
        session.ok_or_else(|| anyhow::anyhow!("login of {username} failed ({})", r.status))?;
    let cookie = format!("sb_session={session}");
    let r = send(http, get(base, "/apply", &cookie)).await?;
    anyhow::ensure!(
        r.location.starts_with("/apply/"),
        "{username} has no draft ({})",
        r.status
    );
    let app = r.location.trim_start_matches("/apply/").to_string();
    let r = send(http, get(base, &r.location, &cookie)).await?;
    let csrf = between(&r.body, "name=\"_csrf\" value=\"", "\"")
        .unwrap_or("")
        .to_string();
    let version = between(&r.body, "name=\"_version\" value=\"", "\"")
        .unwrap_or("1")
        .parse()?;
    Ok(User {
        cookie,
        csrf,
        app,
        version,
    })
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i] as f64 / 1000.0
}

fn report(label: &str, lat: &mut [u64], errors: u64, secs: f64) -> f64 {
    lat.sort_unstable();
    let rate = lat.len() as f64 / secs;
    println!(
        "{label:<10} {rate:>10.0}/s  p50 {:>7.2} ms  p99 {:>7.2} ms  ok {:>8}  errors {errors}",
        percentile(lat, 0.50),
        percentile(lat, 0.99),
        lat.len()
    );
    println!(
        "{:<10} p90 {:.2} ms  p95 {:.2} ms  p99.9 {:.2} ms  max {:.2} ms",
        "",
        percentile(lat, 0.90),
        percentile(lat, 0.95),
        percentile(lat, 0.999),
        percentile(lat, 1.0)
    );
    rate
}

async fn run() -> anyhow::Result<()> {
    let mode = std::env::args().nth(1).unwrap_or_default();
    let http: Http = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(1024)
        .build_http();
    let seconds: f64 = arg("--seconds", "10").parse()?;
    // Requests started in the first second (every connection's first
    // request at the same instant, cold caches) are sent but not timed.
    let warmup = Duration::from_secs_f64(arg("--warmup", "1").parse()?);
    match mode.as_str() {
        "run" => {
            let base = arg("--base", "http://127.0.0.1:18181");
            let n: usize = arg("--users", "32").parse()?;
            let password = arg("--password", "Bench-Pass-2021");
            let prefix = arg("--prefix", "rush");
            // The field typed in between two saves (its text grows a count).
            let typing = arg("--typing", "overview");
            let acked_path = arg("--acked", "");
            let trace_path = arg("--trace", "");
            let mut users = Vec::new();
            let login_start = Instant::now();
            for chunk in (0..n).collect::<Vec<_>>().chunks(16) {
                // Spawned before the first is awaited: 16 logins at a time.
                let logins: Vec<_> = chunk
                    .iter()
                    .map(|i| {
                        let (http, base, password) = (http.clone(), base.clone(), password.clone());
                        let name = format!("{prefix}{i}");
                        tokio::spawn(async move { login(&http, &base, &name, &password).await })
                    })
                    .collect();
                for l in logins {
                    users.push(l.await??);
                }
            }
            println!(
                "logins {n} in {:.2} s, 16 at a time",
                login_start.elapsed().as_secs_f64()
            );
            let body_pairs = shenbao::web::form_io::sample_draft_pairs();
            let body_len = {
                let [a, b, c] = autosave_body(&body_pairs, &typing, &users[0].csrf);
                a.len() + b.len() + c.len() + 2
            };
            let json_len = {
                let def = shenbao::domain::form::ProgramDef::builtin();
                let plan = shenbao::web::form_io::Plan::new(&def.form);
                let body = autosave_body(&body_pairs, &typing, "").join("1");
                let pairs: Vec<(String, String)> =
                    serde_json::from_str(&body).expect("the body is JSON pairs");
                let pairs = pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()));
                shenbao::web::form_io::answers(&plan, pairs).to_json().len()
            };
            println!(
                "users {n}, form body {body_len} bytes, stored draft {json_len} bytes \
                 (the working copy, rewritten by each save), typing in {typing}"
            );
            let stop = Arc::new(AtomicBool::new(false));
            let errors = Arc::new(AtomicU64::new(0));
            let start = Instant::now();
            let timed_from = start + warmup;
            let probe = HostProbe::start(start, stop.clone());
            let mut tasks = Vec::new();
            for (n, mut u) in users.into_iter().enumerate() {
                let (base, stop, errors) = (base.clone(), stop.clone(), errors.clone());
                // Encoded once, as the baseline's body is: the load generator
                // shares the two cores with the server, so it must stay cheap.
                let [head, middle, suffix] = autosave_body(&body_pairs, &typing, &u.csrf);
                tasks.push(tokio::spawn(async move {
                    // (sent, µs after start; latency, µs; user) of each timed save.
                    let mut timed = Vec::new();
                    // Acknowledged saves: how many, and the last version.
                    let mut acked = (0u64, 0u64);
                    let mut conn = RawConn::new(&base);
                    let path = format!("/apply/{}/autosave", u.app);
                    while !stop.load(Ordering::Relaxed) {
                        let (count, version) = (acked.0.to_string(), u.version.to_string());
                        let t = Instant::now();
                        let saved = match conn
                            .post(
                                &path,
                                &u.cookie,
                                &u.csrf,
                                &[
                                    head.as_bytes(),
                                    count.as_bytes(),
                                    middle.as_bytes(),
                                    version.as_bytes(),
                                    suffix.as_bytes(),
                                ],
                            )
                            .await
                        {
                            Ok((200, body)) => between(body, "已自动保存（第", "版")
                                .and_then(|v| v.parse::<u64>().ok()),
                            _ => None,
                        };
                        match saved {
                            Some(v) => {
                                if t >= timed_from {
                                    timed.push((
                                        t.duration_since(start).as_micros() as u64,
                                        t.elapsed().as_micros() as u64,
                                        n,
                                    ));
                                }
                                u.version = v;
                                acked = (acked.0 + 1, v);
                            }
                            None => {
                                errors.fetch_add(1, Ordering::Relaxed);
                                tokio::time::sleep(Duration::from_millis(50)).await;
                            }
                        }
                    }
                    (timed, (u.app, acked))
                }));
            }
            tokio::time::sleep(warmup + Duration::from_secs_f64(seconds)).await;
            stop.store(true, Ordering::Relaxed);
            let elapsed = timed_from.elapsed().as_secs_f64();
            let mut trace = Vec::new();
            let mut acked = Vec::new();
            for t in tasks {
                let (d, a) = t.await?;
                trace.extend(d);
                acked.push(a);
            }
            let mut lat: Vec<u64> = trace.iter().map(|(_, l, _)| *l).collect();
            if !trace_path.is_empty() {
                trace.sort_unstable();
                let text: String = trace
                    .iter()
                    .map(|(at, l, n)| format!("{at}\t{l}\t{n}\n"))
                    .collect();
                std::fs::write(&trace_path, text)?;
            }
            report("saves", &mut lat, errors.load(Ordering::Relaxed), elapsed);
            probe.report(&trace, timed_from.duration_since(start));
            if !acked_path.is_empty() {
                // One line per application: its last acknowledged version
                // (every earlier one was acknowledged before it) and how many.
                let text: String = acked
                    .iter()
                    .filter(|(_, (n, _))| *n > 0)
                    .map(|(a, (n, v))| format!("{a}\t{v}\t{n}\n"))
                    .collect();
                std::fs::write(&acked_path, text)?;
            }
        }
        "post" => {
            let url = arg("--url", "http://127.0.0.1:18182/post/60");
            let conns: usize = arg("--conns", "32").parse()?;
            // A token as long as a real one (64 hex digits): the same bytes go over the wire.
            let token = "0".repeat(64);
            let body = {
                autosave_body(
                    &shenbao::web::form_io::sample_draft_pairs(),
                    "overview",
                    &token,
                )
                .join("1")
            };
            let stop = Arc::new(AtomicBool::new(false));
            let timed_from = Instant::now() + warmup;
            let (base, path) = url
                .split_once("://")
                .map_or(url.as_str(), |(_, rest)| rest)
                .split_once('/')
                .map(|(h, p)| (h.to_string(), format!("/{p}")))
                .ok_or_else(|| anyhow::anyhow!("--url needs a path"))?;
            let mut tasks = Vec::new();
            for _ in 0..conns {
                let (base, path, stop, body, token) = (
                    base.clone(),
                    path.clone(),
                    stop.clone(),
                    body.clone(),
                    token.clone(),
                );
                tasks.push(tokio::spawn(async move {
                    let mut lat = Vec::new();
                    let mut errors = 0u64;
                    let mut conn = RawConn::new(&base);
                    while !stop.load(Ordering::Relaxed) {
                        let t = Instant::now();
                        match conn.post(&path, "", &token, &[body.as_bytes()]).await {
                            Ok((200, _)) => {
                                if t >= timed_from {
                                    lat.push(t.elapsed().as_micros() as u64)
                                }
                            }
                            _ => errors += 1,
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
            report("baseline", &mut lat, errors, elapsed);
        }
        "check" => {
            let data = std::path::PathBuf::from(arg("--data", "./data"));
            let url = arg("--database-url", "");
            let db = shenbao::store::Db::open(
                if url.is_empty() {
                    None
                } else {
                    Some(url.as_str())
                },
                &data,
            )
            .await?;
            let text = std::fs::read_to_string(arg("--acked", "acked.tsv"))?;
            let mut last: std::collections::HashMap<String, i64> = std::collections::HashMap::new();
            let mut total = 0;
            for line in text.lines() {
                let mut cols = line.split('\t');
                if let (Some(a), Some(v), Some(n)) = (cols.next(), cols.next(), cols.next()) {
                    let v: i64 = v.parse()?;
                    total += n.parse::<usize>()?;
                    let e = last.entry(a.to_string()).or_insert(0);
                    *e = (*e).max(v);
                }
            }
            let mut missing = 0;
            for (app, v) in &last {
                // The working copy is at the last acknowledged save or after
                // it (a save committed as the server died, not yet answered).
                let stored = shenbao::store::applications::content(&db, app)
                    .await?
                    .map_or(0, |(version, _)| version);
                if stored < *v {
                    missing += 1;
                }
            }
            println!(
                "acknowledged saves: {total}; applications: {}; last acknowledged version missing after restart: {missing}",
                last.len()
            );
            anyhow::ensure!(missing == 0, "{missing} acknowledged saves were lost");
        }
        "probe" => {
            // The host probe alone, on a machine doing nothing else.
            let stop = Arc::new(AtomicBool::new(false));
            let start = Instant::now();
            let probe = HostProbe::start(start, stop.clone());
            tokio::time::sleep(Duration::from_secs_f64(seconds)).await;
            stop.store(true, Ordering::Relaxed);
            probe.report(&[], Duration::ZERO);
        }
        _ => anyhow::bail!("usage: rush run|post|check|probe …"),
    }
    Ok(())
}

/// Watches how fast the machine's CPUs run while the rush goes on. One
/// thread per core, each pinned to it and scheduled ahead of every ordinary
/// thread (SCHED_FIFO; needs root, else nothing is measured), does the same
/// piece of work (~0.2 ms on a quiet CPU: about 2% of the machine) every
/// 10 ms and times it. A slot whose work took more than twice the quickest
/// ran at under half speed (the report also gives each core's mean speed
/// against its quickest slot); an interrupt can do that to one slot, but only
/// the host slows a virtual CPU down for three slots or more in a row. Such
/// runs are the host's slowdowns: they come on an idle guest too (the probe
/// alone sees them, about every 1.5 s on some hours), and no server code
/// can make up for them.
struct HostProbe {
    threads: Vec<std::thread::JoinHandle<Option<Vec<Slot>>>>,
}

/// One slot of a probe: µs after the start, time taken / quickest time.
type Slot = (u64, f64);

const SLOT_US: u64 = 10_000;

impl HostProbe {
    fn start(start: Instant, stop: Arc<AtomicBool>) -> HostProbe {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let threads = (0..cores)
            .map(|core| {
                let stop = stop.clone();
                std::thread::spawn(move || probe_core(core, start, &stop))
            })
            .collect();
        HostProbe { threads }
    }

    /// Prints each core's mean speed and the host's slowdowns in the timed
    /// part of the run, and how many of the slow saves (over 50 ms) against
    /// all saves were waiting while one went on.
    fn report(self, trace: &[(u64, u64, usize)], timed_from: Duration) {
        let from = timed_from.as_micros() as u64;
        let mut speeds = Vec::new();
        let mut per_core = Vec::new();
        for t in self.threads {
            let Ok(Some(samples)) = t.join() else {
                println!("host probe: not measured (its real-time threads need root)");
                return;
            };
            let timed: Vec<Slot> = samples.into_iter().filter(|s| s.0 >= from).collect();
            let speed = timed.iter().map(|s| 1.0 / s.1).sum::<f64>() / timed.len().max(1) as f64;
            speeds.push(format!("{:.0}%", 100.0 * speed));
            per_core.push(slowdowns(&timed));
        }
        // How long every core was slow at once (then no thread of the
        // server could have run at full speed).
        let length = |spans: &[(u64, u64)]| spans.iter().map(|(a, b)| b - a).sum::<u64>() / 1000;
        let all_at_once = per_core.split_first().map_or(0, |(first, rest)| {
            let common = rest.iter().fold(first.clone(), |common, core| {
                common
                    .iter()
                    .flat_map(|&(a, b)| core.iter().map(move |&(c, d)| (a.max(c), b.min(d))))
                    .filter(|(x, y)| x < y)
                    .collect()
            });
            length(&common)
        });
        let spans = per_core.concat();
        let head = format!(
            "host: CPUs at {} of their best speed on average; slowdowns: {} (a CPU at under half speed for 30 ms or more), {} ms in all, {all_at_once} ms on every CPU at once",
            speeds.join(" and "),
            spans.len(),
            length(&spans),
        );
        if trace.is_empty() {
            println!("{head}");
            return;
        }
        let during = |&(sent, lat, _): &(u64, u64, usize)| {
            spans.iter().any(|&(a, b)| a < sent + lat && sent < b)
        };
        let over: Vec<_> = trace.iter().filter(|(_, l, _)| *l > 50_000).collect();
        let over_during = over.iter().filter(|s| during(s)).count();
        let all_during = trace.iter().filter(|s| during(s)).count();
        println!(
            "{head}; saves over 50 ms: {}, {over_during} of them in flight during one; all saves: {:.0}% in flight during one",
            over.len(),
            100.0 * all_during as f64 / trace.len().max(1) as f64
        );
    }
}

/// The slowdowns of one core: (from, to) µs of each run of three slots or
/// more in a row at under half speed.
fn slowdowns(slots: &[Slot]) -> Vec<(u64, u64)> {
    let mut spans = Vec::new();
    // (from, to, slots) of the run going on.
    let mut run: Option<(u64, u64, usize)> = None;
    for &(at, ratio) in slots {
        if ratio > 2.0 {
            let r = run.get_or_insert((at, at, 0));
            r.1 = at + SLOT_US;
            r.2 += 1;
        } else if let Some((a, b, n)) = run.take()
            && n >= 3
        {
            spans.push((a, b));
        }
    }
    if let Some((a, b, n)) = run
        && n >= 3
    {
        spans.push((a, b));
    }
    spans
}

/// The probe of one core, a `Slot` every 10 ms; None when it may not run
/// ahead of other threads.
#[cfg(target_os = "linux")]
fn probe_core(core: usize, start: Instant, stop: &AtomicBool) -> Option<Vec<Slot>> {
    // SAFETY: plain system calls on the calling thread, with values that
    // live on this stack for the length of each call.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(core, &mut set);
        if libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) != 0 {
            return None;
        }
        let param = libc::sched_param { sched_priority: 10 };
        if libc::sched_setscheduler(0, libc::SCHED_FIFO, &param) != 0 {
            return None;
        }
    }
    let work = |n: u64| {
        let t = Instant::now();
        let mut x = 0u64;
        for i in 0..n {
            x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(i));
        }
        std::hint::black_box(x);
        t.elapsed()
    };
    // As many steps as take 0.2 ms at the quickest.
    let quickest = |n| {
        (0..20)
            .map(|_| work(n))
            .min()
            .unwrap_or(Duration::from_micros(1))
    };
    let per_step = quickest(100_000).as_secs_f64() / 100_000.0;
    let n = (0.000_2 / per_step.max(1e-12)) as u64;
    let best = quickest(n).as_secs_f64();
    let mut out = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        let at = start.elapsed().as_micros() as u64;
        out.push((at, work(n).as_secs_f64() / best));
        std::thread::sleep(Duration::from_micros(SLOT_US));
    }
    // Against the quickest of the whole run, should the start have been slow.
    let floor = out.iter().map(|s| s.1).fold(1.0, f64::min);
    for s in &mut out {
        s.1 /= floor;
    }
    Some(out)
}

#[cfg(not(target_os = "linux"))]
fn probe_core(_: usize, _: Instant, _: &AtomicBool) -> Option<Vec<Slot>> {
    None
}

/// One thread: the load generator shares the machine's cores with the
/// server it measures, so it should take as little of them as it can (on
/// one thread it spends about a fifth less CPU per request than on two).
#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    run().await
}
