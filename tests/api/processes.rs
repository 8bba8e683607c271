//! Issue #22: several `serve` processes behind one address. Three real
//! processes share one PostgreSQL database and one S3-compatible object
//! store (moto's server, started here); a user's requests go to them in
//! turn. Runs on PostgreSQL only (`TEST_DATABASE_URL`): on SQLite one
//! process owns the store.

use std::collections::HashMap;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use reqwest::StatusCode;
use sqlx::{Connection, Executor};

use crate::apply::PDF;
use crate::helpers::{DEMO_PASSWORD, hidden_field, keep_cookies, totp_at};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// A child process killed when the test ends, however it ends.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A browser of one user: its cookies, its CSRF token, no redirects followed.
struct Browser {
    http: reqwest::Client,
    cookies: HashMap<String, String>,
    csrf: String,
}

struct Answer {
    status: StatusCode,
    location: String,
    body: Vec<u8>,
}

impl Answer {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

impl Browser {
    fn new() -> Browser {
        Browser {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            cookies: HashMap::new(),
            csrf: String::new(),
        }
    }

    async fn send(&mut self, req: reqwest::RequestBuilder) -> Answer {
        let cookie: Vec<String> = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let r = req
            .header("cookie", cookie.join("; "))
            .send()
            .await
            .expect("request");
        keep_cookies(r.headers(), &mut self.cookies);
        let status = r.status();
        let location = r
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let body = r.bytes().await.expect("body").to_vec();
        let a = Answer {
            status,
            location,
            body,
        };
        if let Some(t) = hidden_field(&a.text(), "_csrf") {
            self.csrf = t;
        }
        a
    }

    async fn get(&mut self, base: &str, path: &str) -> Answer {
        let req = self.http.get(format!("{base}{path}"));
        self.send(req).await
    }

    async fn post(&mut self, base: &str, path: &str, fields: &[(&str, &str)]) -> Answer {
        let mut all: Vec<(&str, &str)> = fields.to_vec();
        let token = self.csrf.clone();
        all.push(("_csrf", &token));
        let req = self
            .http
            .post(format!("{base}{path}"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(serde_urlencoded::to_string(&all).expect("form"));
        self.send(req).await
    }

    async fn upload(&mut self, base: &str, app: &str, slot: &str, bytes: &[u8]) -> Answer {
        let boundary = "----shenbaoprocesses";
        let mut body = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"slot\"\r\n\r\n{slot}\r\n\
             --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"营业执照.pdf\"\r\n\
             Content-Type: application/pdf\r\n\r\n"
        )
        .into_bytes();
        body.extend_from_slice(bytes);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let req = self
            .http
            .post(format!(
                "{base}/apply/{app}/attachments?_csrf={}",
                self.csrf
            ))
            .header(
                "content-type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(body);
        self.send(req).await
    }

    /// Logs in on `base` with the demo password; staff pass the second step
    /// with the demo secret's current code.
    async fn login(&mut self, base: &str, user: &str) {
        self.get(base, "/login").await;
        let r = self
            .post(
                base,
                "/login",
                &[("username", user), ("password", DEMO_PASSWORD)],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        if r.location.starts_with("/login/2fa") {
            let page = self.get(base, &r.location).await;
            let next = hidden_field(&page.text(), "next").unwrap_or_default();
            let step = jiff::Timestamp::now().as_second() / 30;
            let code = totp_at(shenbao::demo::DEMO_TOTP_SECRET, step);
            let r = self
                .post(base, "/login/2fa", &[("code", &code), ("next", &next)])
                .await;
            assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        }
    }
}

async fn wait_until_up(base: &str, child: &mut Child) {
    let http = reqwest::Client::new();
    for _ in 0..600 {
        if let Ok(r) = http.get(format!("{base}/login")).send().await
            && r.status() == StatusCode::OK
        {
            return;
        }
        assert!(
            child.try_wait().expect("child").is_none(),
            "{base} exited while starting"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{base} did not start");
}

#[tokio::test]
async fn three_processes_share_sessions_files_and_export_jobs() {
    let Ok(url) = std::env::var("TEST_DATABASE_URL") else {
        eprintln!("skipped: several processes need PostgreSQL (TEST_DATABASE_URL)");
        return;
    };
    // reqwest is built without a TLS provider of its own (see Cargo.toml).
    #[allow(deprecated)]
    let _ = rustls::crypto::ring::default_provider().install_default();
    // The object store: moto's S3 server, and a bucket in it.
    let s3_port = free_port();
    let _moto = Proc(
        Command::new("python3")
            .args(["-m", "moto.server", "-H", "127.0.0.1", "-p"])
            .arg(s3_port.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto's S3 server (scripts/test installs moto[server])"),
    );
    let endpoint = format!("http://127.0.0.1:{s3_port}");
    let bucket = "shenbao-test";
    let http = reqwest::Client::new();
    let mut made = false;
    for _ in 0..300 {
        if let Ok(r) = http.put(format!("{endpoint}/{bucket}")).send().await {
            assert!(r.status().is_success(), "bucket: {}", r.status());
            made = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(made, "the S3 server answered");

    // A database of its own.
    let name = format!("shenbao_procs_{}", &shenbao::store::new_id()[..12]);
    let mut admin = sqlx::PgConnection::connect(&url).await.expect("connect");
    admin
        .execute(format!("CREATE DATABASE {name}").as_str())
        .await
        .expect("create database (the role needs CREATEDB; scripts/test grants it)");
    let db_url = format!(
        "{}/{name}",
        &url[..url.rfind('/').expect("a database in the url")]
    );

    let data = tempfile::tempdir().expect("dir");
    // One key for the secrets (TOTP) of every process, as docs/deploy.md says.
    let key_file = data.path().join("shared-secret.key");
    let start = |port: u16, demo: bool, drill: bool| {
        let dir = data.path().join(port.to_string());
        let mut c = Command::new(env!("CARGO_BIN_EXE_shenbao"));
        c.arg("serve")
            .args(["--addr", &format!("127.0.0.1:{port}")])
            .arg("--data")
            .arg(&dir)
            .env("DATABASE_URL", &db_url)
            .env("SHENBAO_S3_BUCKET", bucket)
            .env("SHENBAO_S3_ENDPOINT", &endpoint)
            .env("SHENBAO_S3_ALLOW_HTTP", "true")
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("SHENBAO_DEMO_PASSWORD", DEMO_PASSWORD)
            .env("SHENBAO_SECRET_KEY_FILE", &key_file)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if demo {
            c.arg("--demo");
        }
        if drill {
            // Its export jobs wait before writing: it surely holds one when killed.
            c.env("SHENBAO_EXPORT_DRILL_DELAY_MS", "600000");
        }
        c.spawn().expect("start serve")
    };
    let ports = [free_port(), free_port(), free_port()];
    let base: Vec<String> = ports
        .iter()
        .map(|p| format!("http://127.0.0.1:{p}"))
        .collect();
    // The first seeds the demo (its files go to the bucket); then the others.
    let mut a = Proc(start(ports[0], true, false));
    wait_until_up(&base[0], &mut a.0).await;
    let mut b = Proc(start(ports[1], false, true));
    let mut c = Proc(start(ports[2], false, false));
    wait_until_up(&base[1], &mut b.0).await;
    wait_until_up(&base[2], &mut c.0).await;

    // An enterprise: logs in on A, starts on B, uploads on C, downloads on A.
    let mut e = Browser::new();
    e.login(&base[0], "qiye1").await;
    e.get(&base[1], "/apply").await;
    let r = e
        .post(
            &base[1],
            "/apply/start",
            &[
                ("declaration", "independent_legal_person"),
                ("declaration", "industrial_enterprise"),
                ("declaration", "good_credit"),
                ("declaration", "continuous_cloud_investment"),
                ("declaration", "case_consent"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let app_id = r.location.trim_start_matches("/apply/").to_string();
    let page = e.get(&base[2], &r.location).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    // Large enough to go up to the bucket as a multipart upload (5 MiB parts).
    let mut pdf = PDF.to_vec();
    pdf.extend((0..(6u32 << 20)).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8));
    let r = e.upload(&base[2], &app_id, "business_license", &pdf).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    assert!(r.location.contains("uploaded=1"), "{}", r.location);
    let page = e.get(&base[0], &format!("/apply/{app_id}")).await.text();
    let at = page.find("href=\"/files/").expect("the file is listed") + 6;
    let link = &page[at..at + page[at..].find('"').expect("quote")];
    let got = e.get(&base[0], link).await;
    assert_eq!(got.status, StatusCode::OK);
    assert!(
        got.body == pdf,
        "the file stored through C reads whole through A"
    );
    let part = e
        .http
        .get(format!("{}{link}", base[1]))
        .header("range", "bytes=5242870-5242889")
        .header(
            "cookie",
            e.cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; "),
        )
        .send()
        .await
        .expect("range");
    assert_eq!(part.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        part.bytes().await.expect("bytes").to_vec(),
        pdf[5_242_870..5_242_890].to_vec(),
        "a range across the parts' boundary, through B"
    );

    // The province: logs in on C, starts an export on B, B dies holding it;
    // another process takes the job over, and A serves the package.
    let mut db = sqlx::PgConnection::connect(&db_url).await.expect("connect");
    let batch: String = sqlx::query_scalar(
        "SELECT batch_id FROM recommendations WHERE status = 'submitted' LIMIT 1",
    )
    .fetch_one(&mut db)
    .await
    .expect("the demo has cities that submitted");
    let mut p = Browser::new();
    p.login(&base[2], "province").await;
    p.get(&base[1], "/province/exports").await;
    let r = p
        .post(&base[1], "/province/exports", &[("batch", &batch)])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let job = r.location.clone();
    let page = p.get(&base[0], &job).await.text();
    assert!(page.contains("正在生成"), "A shows B's job running: {page}");
    b.0.kill().expect("kill -9 B");
    b.0.wait().expect("B ended");
    let mut done = false;
    for _ in 0..900 {
        let page = p.get(&base[2], &job).await.text();
        assert!(!page.contains("导出失败"), "{page}");
        if page.contains("下载压缩包") {
            done = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(done, "the job B held was finished by another process");
    let zip = p.get(&base[0], &format!("{job}/download")).await;
    assert_eq!(zip.status, StatusCode::OK);
    let archive = zip::ZipArchive::new(std::io::Cursor::new(zip.body)).expect("a whole zip");
    let names: Vec<String> = archive
        .file_names()
        .filter_map(|n| n.ok().map(|n| n.to_string()))
        .collect();
    assert!(
        names.iter().any(|n| n.ends_with("-申报书.docx")),
        "the package holds 申报书: {names:?}"
    );
    let attempts: i64 = sqlx::query_scalar("SELECT attempts FROM export_jobs")
        .fetch_one(&mut db)
        .await
        .expect("job");
    assert_eq!(attempts, 2, "taken over once");

    // Logged out on A, the session is gone on C too.
    e.get(&base[0], &format!("/apply/{app_id}")).await;
    e.post(&base[0], "/logout", &[]).await;
    let r = e.get(&base[2], &format!("/apply/{app_id}")).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(r.location.starts_with("/login"), "{}", r.location);

    drop((a, c));
    db.close().await.ok();
    admin
        .execute(format!("DROP DATABASE {name} WITH (FORCE)").as_str())
        .await
        .ok();
}

/// A `DATABASE_URL` with `sslmode=require` gets an encrypted connection
/// (rustls with ring), so the database may sit across a network; as with
/// libpq, `sslmode=disable` keeps it plain.
#[tokio::test]
async fn a_database_url_asking_for_tls_gets_an_encrypted_connection() {
    let Ok(url) = std::env::var("TEST_DATABASE_URL") else {
        eprintln!("skipped: TLS to the database needs PostgreSQL (TEST_DATABASE_URL)");
        return;
    };
    let sep = if url.contains('?') { '&' } else { '?' };
    let schema = format!("t_{}", shenbao::store::new_id());
    // Whether a store opened with `sslmode` reads over an encrypted connection.
    let encrypted = |mode: &'static str| {
        let (url, schema) = (url.clone(), schema.clone());
        async move {
            let db = shenbao::store::Db::open_postgres_schema(
                &format!("{url}{sep}sslmode={mode}"),
                &schema,
            )
            .await
            .unwrap_or_else(|e| panic!("sslmode={mode}: {e}"));
            let rows = db
                .query(
                    "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
                    Vec::new(),
                )
                .await
                .expect("pg_stat_ssl");
            rows.first().expect("this connection's row").bool(0)
        }
    };
    assert!(encrypted("require").await, "the connection is encrypted");
    assert!(
        !encrypted("disable").await,
        "with sslmode=disable it is not (so the check above can fail)"
    );
}
