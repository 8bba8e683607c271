//! The e-mail sender against a real SMTP server (aiosmtpd, started here from
//! `tests/smtp_sink.py` on a free port; `scripts/test` installs it): the
//! recipient, subject and Chinese body of a message as received; a message
//! committed while no sender ran is delivered by the next; a leased message
//! of a sender that died is sent again only after its lease; two senders on
//! one database send each message once; a refused recipient is recorded as
//! failed with the server's answer, an unreachable server is tried again
//! later.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use axum::http::StatusCode;
use serde_json::Value;

use crate::apply::submitted;
use crate::city::screen;
use crate::helpers::{DEMO_PASSWORD, TestApp, spawn};
use shenbao::domain::notify::Kind;
use shenbao::mail::{LEASE_MS, Round, Security, Sender, SmtpConfig, backoff};
use shenbao::store::outbox::{self, NewMessage};
use shenbao::store::{Batch, Row};

/// aiosmtpd on a free port, writing each message it accepts to a folder.
struct Sink {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl Sink {
    fn start() -> Sink {
        let dir = tempfile::tempdir().expect("temp dir");
        let port = free_port();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/smtp_sink.py");
        let mut child = Command::new("python3")
            .arg(script)
            .arg(dir.path())
            .arg(port.to_string())
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 with aiosmtpd (scripts/test installs it)");
        // The script prints "ready" once it listens.
        let mut line = String::new();
        let out = child.stdout.take().expect("stdout");
        std::io::BufRead::read_line(&mut std::io::BufReader::new(out), &mut line).expect("read");
        assert_eq!(line.trim(), "ready", "aiosmtpd did not start");
        Sink { child, port, dir }
    }

    /// Every message received so far.
    fn received(&self) -> Vec<Value> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.dir.path())
            .expect("dir")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        files.sort();
        files
            .iter()
            .map(|p| serde_json::from_slice(&std::fs::read(p).expect("read")).expect("json"))
            .collect()
    }

    fn config(&self) -> SmtpConfig {
        smtp_at(self.port)
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

fn smtp_at(port: u16) -> SmtpConfig {
    SmtpConfig {
        host: "127.0.0.1".into(),
        port: Some(port),
        security: Security::Plain,
        username: None,
        password: None,
        from: "湖北省上云标杆企业申报平台 <noreply@shenbao.test>".into(),
        public_url: Some("https://shenbao.example.gov.cn/".into()),
    }
}

fn sender(app: &TestApp, cfg: &SmtpConfig) -> Sender {
    Sender::new(
        app.state.db.clone(),
        app.clock.clone(),
        app.state.program.clone(),
        cfg,
    )
    .expect("sender")
}

async fn row(app: &TestApp, id: &str) -> Row {
    app.state
        .db
        .query_opt(
            "SELECT mail_state, attempts, answer, next_attempt_at, sent_at FROM outbox WHERE id = $1",
            vec![id.into()],
        )
        .await
        .expect("q")
        .expect("row")
}

async fn user_id(app: &TestApp, username: &str) -> String {
    shenbao::store::users::by_username(&app.state.db, username)
        .await
        .expect("q")
        .expect("user")
        .id
}

/// `n` messages to `username`, committed directly.
async fn queue(app: &TestApp, username: &str, n: usize) -> Vec<String> {
    queue_kind(app, username, n, Kind::ApplicationPassed).await
}

async fn queue_kind(app: &TestApp, username: &str, n: usize, kind: Kind) -> Vec<String> {
    let to = user_id(app, username).await;
    let mut b = Batch::new();
    for i in 0..n {
        outbox::push(
            &mut b,
            &NewMessage {
                recipient_id: &to,
                kind,
                vars: BTreeMap::from([("enterprise".to_string(), format!("企业{i}"))]),
                link: "/dashboard".into(),
                dedup_key: None,
            },
            app.clock.now(),
        );
    }
    app.state.db.write(b).await.expect("write");
    outbox::all(&app.state.db)
        .await
        .expect("all")
        .into_iter()
        .filter(|m| m.recipient_id == to && m.kind == kind)
        .map(|m| m.id)
        .collect()
}

#[tokio::test]
async fn a_returned_application_is_mailed_to_the_enterprise_in_chinese() {
    let sink = Sink::start();
    let app = spawn().await;
    app.seed_demo().await;
    let (_, id) = submitted(&app, "qiye1", 7).await;
    let mut wuhan = app.login("wuhan", DEMO_PASSWORD).await;
    // Committed while no sender runs: it waits in the outbox.
    let r = screen(
        &mut wuhan,
        &id,
        "returned",
        "缺少2020年度审计报告",
        "",
        false,
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let m = outbox::all(&app.state.db).await.expect("all").remove(0);
    assert_eq!(row(&app, &m.id).await.text(0), "pending");

    // The next sender to start delivers it.
    let round = sender(&app, &sink.config())
        .deliver_due()
        .await
        .expect("round");
    assert_eq!(
        round,
        Round {
            sent: 1,
            ..Round::default()
        }
    );
    let got = sink.received();
    assert_eq!(got.len(), 1);
    let mail = &got[0];
    assert_eq!(mail["rcpt_tos"], serde_json::json!(["qiye1@example.com"]));
    assert_eq!(mail["mail_from"], "noreply@shenbao.test");
    assert_eq!(mail["subject"], "【湖北省上云标杆企业】申报书已退回修改");
    assert_eq!(mail["message_id"], m.message_id.as_str());
    let body = mail["body"].as_str().expect("body");
    assert!(
        body.contains("您提交的申报书已被市州经信局退回修改。"),
        "{body}"
    );
    assert!(body.contains("退回修改：缺少2020年度审计报告"), "{body}");
    assert!(
        body.contains(&format!(
            "查看详情：https://shenbao.example.gov.cn/apply/{id}"
        )),
        "{body}"
    );
    let r = row(&app, &m.id).await;
    assert_eq!(r.text(0), "sent");
    assert!(
        r.text(2).starts_with("250"),
        "the server's answer: {}",
        r.text(2)
    );
    assert_eq!(r.opt_int(4), Some(app.clock.now()));

    // Sent once: the next round has nothing to do.
    let round = sender(&app, &sink.config())
        .deliver_due()
        .await
        .expect("round");
    assert_eq!(round, Round::default());
    assert_eq!(sink.received().len(), 1);
}

#[tokio::test]
async fn two_senders_on_one_database_send_each_message_once() {
    let sink = Sink::start();
    let app = spawn().await;
    app.seed_demo().await;
    let ids = queue(&app, "qiye1", 40).await;
    let (a, b) = (sender(&app, &sink.config()), sender(&app, &sink.config()));
    let (ra, rb) = tokio::join!(a.deliver_due(), b.deliver_due());
    let (ra, rb) = (ra.expect("a"), rb.expect("b"));
    assert_eq!(ra.sent + rb.sent, 40, "{ra:?} {rb:?}");
    let mut seen: HashMap<String, usize> = HashMap::new();
    for m in sink.received() {
        *seen
            .entry(m["message_id"].as_str().expect("id").to_string())
            .or_default() += 1;
    }
    assert_eq!(seen.len(), 40);
    assert!(seen.values().all(|n| *n == 1), "{seen:?}");
    for id in &ids {
        assert_eq!(row(&app, id).await.text(0), "sent");
    }
}

#[tokio::test]
async fn a_lease_left_by_a_dead_sender_is_sent_again_only_after_it_expires() {
    let sink = Sink::start();
    let app = spawn().await;
    app.seed_demo().await;
    let id = queue(&app, "qiye1", 1).await.remove(0);
    // A sender took the lease and died before recording anything.
    let now = app.clock.now();
    assert!(
        outbox::claim(&app.state.db, &id, "dead", now, now + LEASE_MS)
            .await
            .expect("claim")
    );
    let s = sender(&app, &sink.config());
    assert_eq!(s.deliver_due().await.expect("round"), Round::default());
    assert!(sink.received().is_empty());
    app.clock.advance(LEASE_MS + 1);
    assert_eq!(s.deliver_due().await.expect("round").sent, 1);
    let got = sink.received();
    assert_eq!(got.len(), 1);
    let m = outbox::all(&app.state.db).await.expect("all").remove(0);
    assert_eq!(got[0]["message_id"], m.message_id.as_str());
    // The dead sender's late record is not taken: the lease is no longer its.
    assert!(
        !outbox::record(
            &app.state.db,
            &id,
            "dead",
            "failed",
            "x",
            0,
            app.clock.now()
        )
        .await
        .expect("record")
    );
    assert_eq!(row(&app, &id).await.text(0), "sent");
}

#[tokio::test]
async fn an_unreachable_server_is_tried_again_later_and_a_refusal_is_final() {
    let sink = Sink::start();
    let app = spawn().await;
    app.seed_demo().await;
    let id = queue(&app, "qiye1", 1).await.remove(0);
    // Nothing listens on this port.
    let down = sender(&app, &smtp_at(free_port()));
    let round = down.deliver_due().await.expect("round");
    assert_eq!(
        round,
        Round {
            retried: 1,
            ..Round::default()
        }
    );
    let r = row(&app, &id).await;
    assert_eq!((r.text(0).as_str(), r.int(1)), ("pending", 1));
    assert!(!r.text(2).is_empty(), "the error is recorded");
    assert_eq!(r.int(3), app.clock.now() + backoff(1));
    // Not due again before its delay.
    let up = sender(&app, &sink.config());
    assert_eq!(up.deliver_due().await.expect("round"), Round::default());
    app.clock.advance(backoff(1));
    assert_eq!(up.deliver_due().await.expect("round").sent, 1);
    let r = row(&app, &id).await;
    assert_eq!((r.text(0).as_str(), r.int(1)), ("sent", 2));

    // A recipient the server refuses (550) fails at once, with the answer.
    let to = user_id(&app, "qiye2").await;
    app.state
        .db
        .write(Batch::one(
            "UPDATE enterprises SET email = 'nobody@reject.example' WHERE user_id = $1",
            vec![to.into()],
        ))
        .await
        .expect("write");
    let id = queue(&app, "qiye2", 1).await.remove(0);
    assert_eq!(up.deliver_due().await.expect("round").failed, 1);
    let r = row(&app, &id).await;
    assert_eq!(r.text(0), "failed");
    assert!(r.text(2).contains("550"), "{}", r.text(2));
    assert_eq!(sink.received().len(), 1);

    // An account without an address (the province) keeps it in-app only.
    let id = queue(&app, "province", 1).await.remove(0);
    assert_eq!(up.deliver_due().await.expect("round").skipped, 1);
    assert_eq!(row(&app, &id).await.text(0), "none");
}

#[tokio::test]
async fn an_email_turned_off_stays_in_app_but_a_must_send_one_is_mailed() {
    let sink = Sink::start();
    let app = spawn().await;
    app.seed_demo().await;
    let mut ent = app.login("qiye1", DEMO_PASSWORD).await;
    let page = ent.get("/account/messages/settings").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("形式审查通过"));
    assert!(page.body.contains("申报退回修改（必发）"));
    assert!(
        !page.body.contains("评审任务"),
        "an expert's kind is not offered"
    );
    // Everything but 申报退回修改 (must send) and 入选通知 off.
    let r = ent
        .post(
            "/account/messages/settings",
            &[("email", "application_selected")],
        )
        .await;
    assert_eq!(r.location(), "/account/messages/settings?saved=1");
    let page = ent.get(r.location()).await;
    assert!(page.body.contains("value=\"application_selected\" checked"));
    assert!(!page.body.contains("value=\"application_passed\" checked"));

    let off = queue_kind(&app, "qiye1", 1, Kind::ApplicationPassed)
        .await
        .remove(0);
    let must = queue_kind(&app, "qiye1", 1, Kind::ApplicationReturned)
        .await
        .remove(0);
    let on = queue_kind(&app, "qiye1", 1, Kind::ApplicationSelected)
        .await
        .remove(0);
    let round = sender(&app, &sink.config())
        .deliver_due()
        .await
        .expect("round");
    assert_eq!(
        round,
        Round {
            sent: 2,
            skipped: 1,
            ..Round::default()
        }
    );
    let r = row(&app, &off).await;
    assert_eq!(
        (r.text(0).as_str(), r.text(2).as_str()),
        ("none", "收件人已关闭此类邮件通知")
    );
    assert_eq!(row(&app, &must).await.text(0), "sent");
    assert_eq!(row(&app, &on).await.text(0), "sent");
    let subjects: Vec<String> = sink
        .received()
        .iter()
        .map(|m| m["subject"].as_str().unwrap_or("").to_string())
        .collect();
    assert!(
        subjects.iter().any(|s| s.ends_with("申报书已退回修改")),
        "{subjects:?}"
    );
    assert!(
        subjects.iter().any(|s| s.ends_with("恭喜入选")),
        "{subjects:?}"
    );
    // In-app, all three are there.
    let list = ent.get("/account/messages").await;
    assert!(list.body.contains("（3条未读）"), "{}", list.body);
}
