//! The `shenbao` command line.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand};

use crate::auth;
use crate::clock::Clock;
use crate::config::{Config, MINUTE};
use crate::demo;
use crate::domain::digest::Algo;
use crate::domain::form::ProgramDef;
use crate::domain::{password, region, role::Role};
use crate::files::FileStore;
use crate::store::audit::{self, Action, Actor};
use crate::store::users::{self, NewUser};
use crate::store::{Batch, Db, new_id, sessions};
use crate::web::{self, AppState, Shared};

#[derive(Parser)]
#[command(name = "shenbao", version, about = "湖北省上云标杆企业申报平台")]
struct Cli {
    #[command(flatten)]
    store: StoreArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Clone)]
struct StoreArgs {
    /// Data directory: SQLite file and attachments.
    #[arg(long, global = true, env = "SHENBAO_DATA", default_value = "./data")]
    data: PathBuf,
    /// postgres://user:pass@host/db (default: SQLite under --data).
    #[arg(long, global = true, env = "DATABASE_URL")]
    database_url: Option<String>,
    /// Program definition directory (program.toml + form.toml); default: the shipped 2021 program.
    #[arg(long, global = true, env = "SHENBAO_PROGRAM")]
    program: Option<PathBuf>,
    /// S3-compatible bucket for attachments and export packages (default: the
    /// folder <data>/attachments). Credentials: AWS_ACCESS_KEY_ID and
    /// AWS_SECRET_ACCESS_KEY.
    #[arg(long, global = true, env = "SHENBAO_S3_BUCKET")]
    s3_bucket: Option<String>,
    /// The bucket's endpoint, e.g. https://oss.example.gov.cn (path-style).
    #[arg(long, global = true, env = "SHENBAO_S3_ENDPOINT")]
    s3_endpoint: Option<String>,
    /// The bucket's region.
    #[arg(
        long,
        global = true,
        env = "SHENBAO_S3_REGION",
        default_value = "us-east-1"
    )]
    s3_region: String,
    /// Allow a plain-HTTP endpoint (only on a private network).
    #[arg(long, global = true, env = "SHENBAO_S3_ALLOW_HTTP")]
    s3_allow_http: bool,
}

impl StoreArgs {
    /// Where attachments and export packages are kept.
    fn files(&self) -> anyhow::Result<FileStore> {
        let s3 = self
            .s3_bucket
            .as_ref()
            .map(|bucket| crate::files::S3Settings {
                bucket: bucket.clone(),
                endpoint: self.s3_endpoint.clone(),
                region: Some(self.s3_region.clone()),
                allow_http: self.s3_allow_http,
            });
        FileStore::open(self.data.join("attachments"), s3.as_ref())
    }
}

#[derive(Subcommand)]
enum Command {
    /// Start the web server.
    Serve(ServeArgs),
    /// Apply database migrations and exit.
    Migrate,
    /// Create the demo accounts (idempotent), and optionally sample applications.
    Demo(DemoArgs),
    /// Manage staff accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Export the province package (per city: 推荐表, 申报书, 盖章扫描件; plus a summary) as a zip.
    Export(crate::docs::cli::ExportArgs),
    /// Write the blank 申报书 template (.docx).
    ExportBlank(crate::docs::cli::BlankArgs),
    /// Check every integrity chain, submitted fingerprint and attachment hash; names the first break.
    Verify(VerifyArgs),
    /// Back up the SQLite database (consistent online copy) and the attachments into one .tar.gz.
    Backup {
        /// The archive to write (.tar.gz).
        #[arg(long)]
        out: PathBuf,
    },
    /// Restore a backup into a new, empty data directory (--data).
    Restore {
        /// The archive written by `shenbao backup`.
        #[arg(long)]
        from: PathBuf,
    },
    /// The expert review: `review replay --draw ID` re-runs a recorded draw for an auditor.
    Review {
        #[command(subcommand)]
        cmd: ReviewCmd,
    },
}

#[derive(Subcommand)]
enum ReviewCmd {
    /// Re-run a recorded draw from its stored inputs and seed, and compare.
    Replay {
        /// The draw's 编号 (shown on the province's review page).
        #[arg(long)]
        draw: String,
    },
}

#[derive(Args)]
struct VerifyArgs {
    /// Seal the rows written more than --grace-seconds ago first (as the
    /// server does every few seconds).
    #[arg(long)]
    seal: bool,
    /// With --seal: how old a row must be to be sealed (0 only when no
    /// server is writing).
    #[arg(long, default_value_t = 30)]
    grace_seconds: i64,
    /// With --seal: the digest of new links.
    #[arg(long, env = "SHENBAO_DIGEST", default_value = "sha256", value_parser = parse_digest)]
    digest: Algo,
}

fn parse_digest(s: &str) -> Result<Algo, String> {
    Algo::parse(s).ok_or_else(|| format!("不支持的摘要算法：{s}（可选 sha256 或 sm3）"))
}

#[derive(Args)]
struct DemoArgs {
    /// Also create N complete, submitted sample applications across the 17 cities.
    #[arg(long, default_value_t = 0)]
    applications: usize,
    /// Also create N enterprises `rush0`… with a started draft each (load benchmarks).
    #[arg(long, default_value_t = 0)]
    drafts: usize,
}

#[derive(Args)]
struct ServeArgs {
    #[arg(long, env = "SHENBAO_ADDR", default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// Create the demo accounts first.
    #[arg(long)]
    demo: bool,
    /// Minutes without activity after which a session ends.
    #[arg(long, default_value_t = 30)]
    idle_timeout_minutes: i64,
    /// Hours after login after which a session ends.
    #[arg(long, default_value_t = 12)]
    absolute_timeout_hours: i64,
    /// Mark cookies Secure (serving over HTTPS, directly or behind a proxy).
    #[arg(long, env = "SHENBAO_SECURE_COOKIES")]
    secure_cookies: bool,
    /// Addresses or networks of the reverse proxies in front (for example
    /// 127.0.0.1 or 10.0.0.0/8, comma-separated): only a request from one
    /// of them has its client address taken from X-Forwarded-For.
    #[arg(long, env = "SHENBAO_TRUST_PROXY", value_delimiter = ',', value_parser = parse_net)]
    trust_proxy: Vec<ipnet::IpNet>,
    /// SMTP server for e-mail notifications; without it messages stay in-app only.
    #[arg(long, env = "SHENBAO_SMTP_HOST")]
    smtp_host: Option<String>,
    /// SMTP port (default: 25 plain, 587 STARTTLS, 465 TLS).
    #[arg(long, env = "SHENBAO_SMTP_PORT")]
    smtp_port: Option<u16>,
    /// How the SMTP connection is protected.
    #[arg(
        long,
        env = "SHENBAO_SMTP_SECURITY",
        value_enum,
        default_value = "starttls"
    )]
    smtp_security: crate::mail::Security,
    #[arg(long, env = "SHENBAO_SMTP_USER")]
    smtp_user: Option<String>,
    /// Prefer the environment variable: a flag shows in the process list.
    #[arg(long, env = "SHENBAO_SMTP_PASSWORD", hide_env_values = true)]
    smtp_password: Option<String>,
    /// The From address of notification e-mails.
    #[arg(
        long,
        env = "SHENBAO_SMTP_FROM",
        default_value = "湖北省上云标杆企业申报平台 <noreply@localhost>"
    )]
    smtp_from: String,
    /// The platform's address as users reach it (links in e-mails), e.g. https://shenbao.example.gov.cn
    #[arg(long, env = "SHENBAO_PUBLIC_URL")]
    public_url: Option<String>,
    /// Digest of the integrity chains' new links: sha256 or sm3 (商用密码).
    #[arg(long, env = "SHENBAO_DIGEST", default_value = "sha256", value_parser = parse_digest)]
    digest: Algo,
}

/// `10.0.0.0/8`, or one address (`127.0.0.1`, `::1`).
fn parse_net(s: &str) -> Result<ipnet::IpNet, String> {
    let s = s.trim();
    s.parse::<ipnet::IpNet>()
        .or_else(|_| s.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
        .map_err(|_| format!("不是IP地址或网段：{s}"))
}

#[derive(Subcommand)]
enum UserCommand {
    /// Add a staff account; prints a temporary password to change at first login.
    Add {
        #[arg(long)]
        role: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        display_name: Option<String>,
        /// City code (GB/T 2260) or pinyin, for city accounts.
        #[arg(long)]
        city: Option<String>,
    },
    /// Reset a password to a new temporary one and end the account's sessions.
    ResetPassword {
        #[arg(long)]
        name: String,
    },
}

pub fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "shenbao=info,warn".into()),
        )
        .init();
    let cli = Cli::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("无法启动运行时：{e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("错误：{e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The program definition: from `--program DIR` when given, else the shipped one.
/// A broken definition stops start-up with its file, line and reason.
fn load_program(s: &StoreArgs) -> anyhow::Result<ProgramDef> {
    match &s.program {
        Some(dir) => ProgramDef::load(dir).map_err(|e| anyhow::anyhow!("申报书定义有误：\n{e}")),
        None => Ok(ProgramDef::builtin().clone()),
    }
}

async fn open(s: &StoreArgs) -> anyhow::Result<Db> {
    private_files(&s.data)?;
    Db::open(s.database_url.as_deref(), &s.data).await
}

/// The data folder (database, attachments, exports) is the server's own:
/// the folder is 0700 and whatever the process creates from now on is
/// 0600 (folders 0700), so other accounts on the machine read nothing.
/// Files made before this ran keep their modes but sit in the closed folder.
fn private_files(data: &std::path::Path) -> anyhow::Result<()> {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::fs::PermissionsExt;
        // SAFETY: umask only sets the process's file-creation mask.
        unsafe {
            libc::umask(0o077);
        }
        std::fs::create_dir_all(data)?;
        std::fs::set_permissions(data, std::fs::Permissions::from_mode(0o700))?;
    }
    #[cfg(not(target_os = "linux"))]
    std::fs::create_dir_all(data)?;
    Ok(())
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Migrate => {
            let db = open(&cli.store).await?;
            println!("数据库已是最新结构（{}）。", db.backend());
        }
        Command::Demo(args) => {
            let db = open(&cli.store).await?;
            let password = seed_demo(&db, &cli.store).await?;
            let files = cli.store.files()?;
            let clock = Clock::system();
            for (n, prefix, state, what) in [
                (
                    args.applications,
                    "demo-e",
                    demo::DemoState::Submitted,
                    "已提交的示例申报书",
                ),
                (
                    args.drafts,
                    "rush",
                    demo::DemoState::Draft,
                    "带草稿的示例企业",
                ),
            ] {
                if n > 0 {
                    let made =
                        demo::seed_applications(&db, &files, &clock, &password, n, prefix, state)
                            .await?;
                    println!(
                        "{what}：新建 {made} 份（共要求 {n} 份，账号 {prefix}0 起，密码同上）"
                    );
                }
            }
        }
        Command::Serve(args) => serve(&cli.store, args).await?,
        Command::User(cmd) => {
            let db = open(&cli.store).await?;
            user_command(&db, cmd).await?;
        }
        Command::Export(a) => {
            let db = open(&cli.store).await?;
            crate::docs::cli::export(&db, &load_program(&cli.store)?, &cli.store.files()?, a)
                .await?;
        }
        Command::ExportBlank(a) => crate::docs::cli::export_blank(&load_program(&cli.store)?, a)?,
        Command::Verify(a) => verify(&cli.store, a).await?,
        Command::Backup { out } => {
            let Some(db_path) = sqlite_path(&cli.store) else {
                anyhow::bail!(
                    "PostgreSQL 数据库请用 pg_dump 备份、pg_restore 恢复（步骤见 README）；本命令备份 SQLite 数据库和附件目录"
                );
            };
            private_files(&cli.store.data)?;
            let data = cli.store.data.clone();
            let done = tokio::task::spawn_blocking(move || {
                crate::backup::backup(&data, &db_path, &out).map(|d| (d, out))
            })
            .await??;
            println!(
                "备份完成：{}（{} 个文件，{}，含 SHA-256 清单）",
                done.1.display(),
                done.0.files,
                crate::files::human_size(done.0.bytes)
            );
        }
        Command::Restore { from } => {
            let data = cli.store.data.clone();
            #[cfg(target_os = "linux")]
            // SAFETY: umask only sets the process's file-creation mask.
            unsafe {
                libc::umask(0o077);
            }
            let m =
                tokio::task::spawn_blocking(move || crate::backup::restore(&from, &data)).await??;
            println!(
                "恢复完成：{} 个文件已写入 {} 并逐一核对 SHA-256。请运行 shenbao --data {} verify 核对数据。",
                m.files.len(),
                cli.store.data.display(),
                cli.store.data.display()
            );
        }
        Command::Review {
            cmd: ReviewCmd::Replay { draw },
        } => {
            let db = open(&cli.store).await?;
            let (same, pairs) = crate::services::review::replay(&db, &draw).await?;
            if same {
                println!("复核一致：按记录的输入和随机种子重新抽取，得到相同的 {pairs} 对分配。");
            } else {
                anyhow::bail!("复核不一致：重新抽取的结果与记录不同（{pairs} 对）");
            }
        }
    }
    Ok(())
}

/// The SQLite file the store arguments name (`None` for PostgreSQL).
fn sqlite_path(s: &StoreArgs) -> Option<PathBuf> {
    match s.database_url.as_deref() {
        None => Some(s.data.join("shenbao.db")),
        Some(u) if u.starts_with("sqlite://") => {
            Some(PathBuf::from(u.trim_start_matches("sqlite://")))
        }
        Some(_) => None,
    }
}

async fn verify(s: &StoreArgs, a: VerifyArgs) -> anyhow::Result<()> {
    let db = open(s).await?;
    if a.seal {
        let now = jiff::Timestamp::now().as_millisecond();
        let n = crate::store::chain::seal(&db, a.digest, now - a.grace_seconds.max(0) * 1000, now)
            .await?;
        println!("封存：新增 {n} 环（{}）。", a.digest.code());
    }
    let files = s.files()?;
    let report = crate::verify::run(&db, &files).await?;
    for line in report.lines() {
        println!("{line}");
    }
    if !report.ok() {
        for b in report.breaks().iter().take(50) {
            eprintln!("{b}");
        }
        anyhow::bail!("完整性校验失败");
    }
    Ok(())
}

async fn seed_demo(db: &Db, s: &StoreArgs) -> anyhow::Result<String> {
    let r = demo::seed(
        db,
        &Clock::system(),
        &s.data,
        std::env::var("SHENBAO_DEMO_PASSWORD").ok(),
    )
    .await?;
    println!(
        "演示账号（新建 {} 个，共 {} 个），密码均为：{}",
        r.created,
        r.usernames.len(),
        r.password
    );
    println!("  省经信厅：province");
    println!("  市州经信局：{}", r.usernames[1..18].join(", "));
    println!("  评审专家：expert1 … expert5    申报企业：qiye1, qiye2, qiye3");
    println!(
        "  三权分立：sysadmin（系统管理员，账号管理）、secadmin（安全管理员，锁定与会话）、auditor（审计管理员，审计日志）"
    );
    println!(
        "  除企业外，所有账号登录还须动态验证码：演示环境的登录第二步页面直接显示当前验证码；\
         也可把演示密钥 {} 加入身份验证器App（基于时间，30秒，6位）。",
        demo::DEMO_TOTP_SECRET
    );
    Ok(r.password)
}

async fn serve(s: &StoreArgs, a: ServeArgs) -> anyhow::Result<()> {
    let db = open(s).await?;
    let demo_password = if a.demo {
        Some(seed_demo(&db, s).await?)
    } else {
        None
    };
    let config = Config {
        idle_timeout_ms: a.idle_timeout_minutes.max(1) * MINUTE,
        absolute_timeout_ms: a.absolute_timeout_hours.max(1) * 60 * MINUTE,
        secure_cookies: a.secure_cookies,
        trusted_proxies: a.trust_proxy.clone(),
        digest: a.digest,
        ..Config::default()
    };
    let program = Arc::new(load_program(s)?);
    let now = Clock::system().now();
    crate::store::batches::ensure(
        &db,
        &[crate::store::batches::from_program(&program.program)],
        now,
    )
    .await?;
    if let Some(p) = &demo_password {
        let files = s.files()?;
        if demo::stages::seed(&db, &files, &Clock::system(), &program, p).await? {
            println!("演示数据：51份示例申报，4个市州已报送推荐，专家评审进行中。");
        }
    }
    let files = s.files()?;
    let partials = files.remove_partials();
    if partials > 0 {
        tracing::info!("removed {partials} partial uploads left by a crash");
    }
    let carried =
        crate::services::exports::carry_over_local(&db, &files, &s.data.join("exports")).await?;
    if carried > 0 {
        tracing::info!("moved {carried} export packages kept locally into the file store");
    }
    let state = AppState::from(Shared {
        demo: demo::is_demo(&db).await?,
        db: db.clone(),
        clock: Clock::system(),
        config: Arc::new(config),
        files,
        data_dir: s.data.as_path().into(),
        form_plan: Arc::new(web::form_io::Plan::new(&program.form)),
        programs: Arc::new(web::shared::programs::Programs::new(program.clone())),
        pages: Default::default(),
        caches: Default::default(),
        program,
    });
    // Export jobs a stopped process held are taken over here (on SQLite,
    // after a restart; on PostgreSQL, by any of the processes).
    web::province::exports::spawn_worker(state.clone());
    spawn_housekeeping(state.clone());
    crate::services::sealer::spawn(db.clone(), state.clock.clone(), a.digest);
    crate::services::reminders::spawn(db.clone(), state.clock.clone());
    if let Some(host) = &a.smtp_host {
        let cfg = crate::mail::SmtpConfig {
            host: host.clone(),
            port: a.smtp_port,
            security: a.smtp_security,
            username: a.smtp_user.clone(),
            password: a.smtp_password.clone(),
            from: a.smtp_from.clone(),
            public_url: a.public_url.clone(),
        };
        crate::mail::Sender::new(db.clone(), state.clock.clone(), state.program.clone(), &cfg)?
            .spawn();
        println!("邮件通知：经 {host} 发送");
    }
    let app = web::router(state).into_make_service_with_connect_info::<SocketAddr>();
    let listener = tokio::net::TcpListener::bind(a.addr).await?;
    println!(
        "shenbao 已启动：http://{}/ （数据库：{}）",
        listener.local_addr()?,
        db.backend()
    );
    // SIGTERM (a service manager stopping us) ends like Ctrl-C: no new
    // connections, in-flight requests finish, acknowledged writes are on disk.
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    Ok(())
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = async {
                match term.as_mut() {
                    Some(t) => { t.recv().await; }
                    None => std::future::pending::<()>().await,
                }
            } => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Deletes expired sessions every few minutes (expiry is also checked on each request).
fn spawn_housekeeping(state: AppState) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(300));
        loop {
            tick.tick().await;
            let mut b = Batch::new();
            sessions::delete_expired(
                &mut b,
                state.clock.now(),
                state.config.idle_timeout_ms,
                state.config.absolute_timeout_ms,
            );
            if let Err(e) = state.db.write(b).await {
                tracing::warn!(error = %e, "session housekeeping failed");
            }
        }
    });
}

async fn user_command(db: &Db, cmd: UserCommand) -> anyhow::Result<()> {
    let now = Clock::system().now();
    let actor = Actor {
        name: "cli".into(),
        ..Actor::system()
    };
    match cmd {
        UserCommand::Add {
            role,
            name,
            display_name,
            city,
        } => {
            let role = Role::parse(&role)
                .filter(|r| *r != Role::Enterprise)
                .ok_or_else(|| {
                    anyhow::anyhow!(
                        "角色应为 province、city、expert、sysadmin、secadmin 或 auditor（企业请在网页上自行注册）"
                    )
                })?;
            let city = match (&role, city.as_deref()) {
                (Role::City, Some(c)) => Some(
                    region::city(c)
                        .or_else(|| region::city_by_pinyin(c))
                        .ok_or_else(|| anyhow::anyhow!("未知的市州：{c}"))?,
                ),
                (Role::City, None) => {
                    anyhow::bail!("市州经信局账号须用 --city 指定市州（如 420100 或 wuhan）")
                }
                _ => None,
            };
            if users::by_username(db, &name).await?.is_some() {
                anyhow::bail!("用户名 {name} 已存在");
            }
            let display = display_name.unwrap_or_else(|| match city {
                Some(c) => format!("{}经信局", c.name),
                None => name.clone(),
            });
            let temp = password::generate();
            let hash = auth::hash_password(temp.clone()).await;
            let id = new_id();
            let mut b = Batch::new();
            users::insert(
                &mut b,
                &NewUser {
                    id: &id,
                    username: &name,
                    role,
                    display_name: &display,
                    city_code: city.map(|c| c.code),
                    password_hash: &hash,
                    must_change_password: true,
                    is_demo: false,
                },
                now,
            );
            audit::record(
                &mut b,
                &actor,
                Action::AccountCreate,
                Some(&id),
                true,
                &format!("角色：{}", role.label()),
                now,
            );
            db.write(b).await?;
            println!(
                "已创建账号 {name}（{}）。临时密码：{temp}（72小时内有效，首次登录须绑定动态口令并修改密码）",
                role.label()
            );
        }
        UserCommand::ResetPassword { name } => {
            let user = users::by_username(db, &name)
                .await?
                .ok_or_else(|| anyhow::anyhow!("用户名 {name} 不存在"))?;
            let temp = password::generate();
            let hash = auth::hash_password(temp.clone()).await;
            let mut b = Batch::new();
            users::set_password(&mut b, &user.id, &hash, true, now);
            sessions::delete_all_for_user(&mut b, &user.id);
            users::clear_throttle(&mut b, &user.username);
            // A lost phone is the usual reason: the owner enrols again.
            crate::store::twofactor::remove(&mut b, &user.id);
            crate::services::notify::account_event(
                &mut b,
                &user.id,
                crate::domain::notify::Kind::PasswordReset,
                &[
                    ("user", user.display_name.clone()),
                    ("time", crate::clock::format_datetime(now)),
                ],
                now,
            );
            audit::record(
                &mut b,
                &actor,
                Action::PasswordReset,
                Some(&user.id),
                true,
                &user.username,
                now,
            );
            db.write(b).await?;
            println!(
                "已重置 {name} 的密码并解除其动态口令。临时密码：{temp}（72小时内有效，首次登录须修改并重新绑定动态口令）"
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    /// What the server makes in its data folder is readable by it alone.
    #[cfg(target_os = "linux")]
    #[test]
    fn the_data_folder_and_new_files_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let data = dir.path().join("data");
        super::private_files(&data).expect("private");
        let mode =
            |p: &std::path::Path| std::fs::metadata(p).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode(&data), 0o700);
        std::fs::write(data.join("f"), b"x").expect("write");
        std::fs::create_dir(data.join("d")).expect("mkdir");
        assert_eq!(mode(&data.join("f")), 0o600);
        assert_eq!(mode(&data.join("d")), 0o700);
    }
}
