//! The e-mail sender inside `serve`: delivers the outbox's pending e-mails
//! over SMTP with `lettre` (plain for a local server, STARTTLS or TLS with
//! credentials in production). It runs only when an SMTP host is configured.
//!
//! Each e-mail is leased in the database before it is sent (a conditional
//! UPDATE of its row), so several senders sharing one database never send
//! the same e-mail at once; the Message-ID was fixed when the row was written.
//! The outcome is recorded with the server's answer: sent, tried again later
//! with a growing delay, or failed for good. A sender that dies between
//! sending and recording leaves its lease to expire, and the e-mail is sent
//! again with the same Message-ID (at least once).

use std::sync::Arc;
use std::time::Duration;

use lettre::message::{Mailbox, header::ContentType};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::clock::Clock;
use crate::domain::form::ProgramDef;
use crate::services::notify;
use crate::store::{Db, Millis, new_id, outbox};

/// How the connection to the SMTP server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Security {
    /// No TLS (a server on this machine or a trusted local network).
    Plain,
    /// Plain connection upgraded with STARTTLS (port 587).
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
}

#[derive(Debug, Clone)]
pub struct SmtpConfig {
    pub host: String,
    /// Default by `security`: 25, 587 or 465.
    pub port: Option<u16>,
    pub security: Security,
    pub username: Option<String>,
    pub password: Option<String>,
    /// The From address, e.g. `湖北省上云标杆企业申报平台 <noreply@example.gov.cn>`.
    pub from: String,
    /// The platform's address as users reach it, for links in e-mails.
    pub public_url: Option<String>,
}

/// How long a lease lasts: longer than any one send (the SMTP timeout).
pub const LEASE_MS: Millis = 5 * 60_000;
const SMTP_TIMEOUT: Duration = Duration::from_secs(60);
/// Attempts before an e-mail is given up as failed.
pub const MAX_ATTEMPTS: i64 = 8;
/// E-mails taken per round, and sent at once.
const ROUND: i64 = 200;
const PARALLEL: usize = 8;

/// The delay before attempt `n + 1` after `n` failed ones: 1, 2, 4 … 60 minutes.
pub fn backoff(attempts: i64) -> Millis {
    let minutes = 1i64 << attempts.clamp(0, 6);
    minutes.min(60) * 60_000
}

/// What one round did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Round {
    pub sent: usize,
    pub retried: usize,
    pub failed: usize,
    /// No address (or none usable): in-app only.
    pub skipped: usize,
}

#[derive(Clone)]
pub struct Sender {
    db: Db,
    clock: Clock,
    program: Arc<ProgramDef>,
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    public_url: Option<String>,
    /// This sender's name on the leases it takes.
    owner: String,
}

impl Sender {
    pub fn new(
        db: Db,
        clock: Clock,
        program: Arc<ProgramDef>,
        cfg: &SmtpConfig,
    ) -> anyhow::Result<Sender> {
        let from: Mailbox = cfg
            .from
            .parse()
            .map_err(|e| anyhow::anyhow!("发件人地址“{}”无效：{e}", cfg.from))?;
        let builder = match cfg.security {
            Security::Plain => {
                AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&cfg.host).port(25)
            }
            Security::Starttls => {
                let tls = TlsParameters::new(cfg.host.clone())?;
                AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&cfg.host)
                    .port(587)
                    .tls(Tls::Required(tls))
            }
            Security::Tls => {
                let tls = TlsParameters::new(cfg.host.clone())?;
                AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&cfg.host)
                    .port(465)
                    .tls(Tls::Wrapper(tls))
            }
        };
        let mut builder = builder.timeout(Some(SMTP_TIMEOUT));
        if let Some(port) = cfg.port {
            builder = builder.port(port);
        }
        if let (Some(u), Some(p)) = (&cfg.username, &cfg.password) {
            builder = builder.credentials(Credentials::new(u.clone(), p.clone()));
        }
        Ok(Sender {
            db,
            clock,
            program,
            transport: builder.build(),
            from,
            public_url: cfg
                .public_url
                .as_ref()
                .map(|u| u.trim_end_matches('/').to_string()),
            owner: new_id(),
        })
    }

    /// Sends what is due now (by the sender's clock): the leases of a round
    /// taken in one write, then up to `PARALLEL` e-mails in flight (their
    /// records are grouped into shared commits by the store).
    pub async fn deliver_due(&self) -> anyhow::Result<Round> {
        let mut round = Round::default();
        let now = self.clock.now();
        let due = outbox::due(&self.db, now, ROUND).await?;
        if due.is_empty() {
            return Ok(round);
        }
        let claimed = outbox::claim_many(&self.db, &due, &self.owner, now, now + LEASE_MS).await?;
        let mut running = tokio::task::JoinSet::new();
        let mut first_error = None;
        let mut collect = |done: Result<anyhow::Result<Round>, tokio::task::JoinError>| match done {
            Ok(Ok(r)) => {
                round.sent += r.sent;
                round.retried += r.retried;
                round.failed += r.failed;
                round.skipped += r.skipped;
            }
            Ok(Err(e)) => {
                first_error.get_or_insert(e);
            }
            Err(e) => {
                first_error.get_or_insert(e.into());
            }
        };
        for id in claimed {
            if running.len() >= PARALLEL
                && let Some(done) = running.join_next().await
            {
                collect(done);
            }
            let me = self.clone();
            running.spawn(async move {
                let mut r = Round::default();
                me.deliver(&id, &mut r).await.map(|()| r)
            });
        }
        while let Some(done) = running.join_next().await {
            collect(done);
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(round),
        }
    }

    async fn deliver(&self, id: &str, round: &mut Round) -> anyhow::Result<()> {
        let Some(out) = outbox::for_sending(&self.db, id).await? else {
            return Ok(());
        };
        let (m, address, name) = (out.message, out.address, out.name);
        let record = |state: &'static str, answer: String, next_at: Millis| {
            let now = self.clock.now();
            let db = self.db.clone();
            let owner = self.owner.clone();
            let id = id.to_string();
            async move { outbox::record(&db, &id, &owner, state, &answer, next_at, now).await }
        };
        if !out.wanted && !m.kind.must_send() {
            round.skipped += 1;
            record("none", "收件人已关闭此类邮件通知".into(), 0).await?;
            return Ok(());
        }
        let to = match address.parse::<lettre::Address>() {
            Ok(a) => Mailbox::new(Some(name), a),
            Err(_) => {
                round.skipped += 1;
                record("none", "收件人未登记有效的电子邮箱".into(), 0).await?;
                return Ok(());
            }
        };
        let r = notify::render(&self.program, &m);
        let mut body = r.body;
        if let Some(base) = &self.public_url {
            body.push_str(&format!("\n\n查看详情：{base}{}", m.link));
        }
        body.push_str("\n\n（本邮件由系统自动发送，请勿直接回复。）\n");
        let email = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(r.subject)
            .message_id(Some(m.message_id.clone()))
            .header(ContentType::TEXT_PLAIN)
            .body(body)?;
        match self.transport.send(email).await {
            Ok(resp) => {
                round.sent += 1;
                let answer = format!(
                    "{} {}",
                    resp.code(),
                    resp.message().collect::<Vec<_>>().join(" ")
                );
                record("sent", answer, 0).await?;
            }
            Err(e) => {
                let answer = e.to_string();
                let tries = m.attempts + 1;
                if e.is_permanent() || tries >= MAX_ATTEMPTS {
                    round.failed += 1;
                    tracing::warn!(message = %m.message_id, "e-mail failed: {answer}");
                    record("failed", answer, 0).await?;
                } else {
                    round.retried += 1;
                    let next = self.clock.now() + backoff(tries);
                    record("pending", answer, next).await?;
                }
            }
        }
        Ok(())
    }

    /// Delivers until the process ends: round after round while e-mails are
    /// due, then every few seconds.
    pub fn spawn(self) {
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(5));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                match self.deliver_due().await {
                    Ok(r) if r.sent + r.retried + r.failed + r.skipped > 0 => continue,
                    Ok(_) => {}
                    Err(e) => tracing::warn!("e-mail sender: {e:#}"),
                }
                tick.tick().await;
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::backoff;

    #[test]
    fn backoff_doubles_up_to_an_hour() {
        let minutes: Vec<i64> = (1..=8).map(|n| backoff(n) / 60_000).collect();
        assert_eq!(minutes, [2, 4, 8, 16, 32, 60, 60, 60]);
    }
}
