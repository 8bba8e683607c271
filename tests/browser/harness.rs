//! The app served on a real TCP port, and a headless Chromium driven through
//! chromedriver (WebDriver), with helpers that work the way a person does:
//! fields are found by their visible label, buttons and links by their text.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};
use tokio::task::JoinHandle;

use shenbao::clock::Clock;
use shenbao::config::Config;
use shenbao::domain::form::ProgramDef;
use shenbao::files::FileStore;
use shenbao::store::{Db, batches};
use shenbao::web::{AppState, Shared, router};

pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
pub const DEMO_PASSWORD: &str = "Demo-Pass-2021";

/// How long a helper keeps looking for something before it fails the test.
const WAIT: Duration = Duration::from_secs(15);
const POLL: Duration = Duration::from_millis(100);

// ---------------------------------------------------------------- the app

/// The real router on 127.0.0.1:<random port>, over a fresh database: a temp
/// SQLite file, or a fresh PostgreSQL schema when TEST_DATABASE_URL is set.
pub struct TestApp {
    pub state: AppState,
    pub base_url: String,
    server: JoinHandle<()>,
    _dir: tempfile::TempDir,
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        TestApp::start(false, Clock::system()).await
    }

    /// With the server clock standing at 2021-09-10 10:00 (Asia/Shanghai),
    /// while the built-in batch is open for applications.
    pub async fn spawn_while_open() -> TestApp {
        TestApp::start(false, Clock::manual(1_631_239_200_000)).await
    }

    /// With the demo accounts (province, the city bureaus, experts,
    /// enterprises), all with password [`DEMO_PASSWORD`].
    pub async fn spawn_demo() -> TestApp {
        TestApp::start(true, Clock::system()).await
    }

    /// With the demo accounts and the server clock standing at `at` (moved with `state.clock`).
    pub async fn spawn_demo_at(at: i64) -> TestApp {
        TestApp::start(true, Clock::manual(at)).await
    }

    async fn start(seed_demo: bool, clock: Clock) -> TestApp {
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
        if seed_demo {
            shenbao::demo::seed(&db, &clock, dir.path(), Some(DEMO_PASSWORD.into()))
                .await
                .expect("demo seed");
        }
        let program = ProgramDef::builtin();
        batches::ensure(&db, &[batches::from_program(&program.program)], clock.now())
            .await
            .expect("batch");
        // As `shenbao serve` does: the banner shows when the store holds demo accounts.
        let demo = shenbao::demo::is_demo(&db).await.expect("demo flag");
        let state = AppState::from(Shared {
            db,
            clock,
            config: Arc::new(Config::default()),
            demo,
            files: FileStore::local(dir.path().join("attachments")),
            data_dir: dir.path().into(),
            form_plan: Arc::new(shenbao::web::form_io::Plan::new(&program.form)),
            programs: Arc::new(shenbao::web::shared::programs::Programs::new(Arc::new(
                program.clone(),
            ))),
            pages: Default::default(),
            caches: Default::default(),
            program: Arc::new(program.clone()),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        let app = router(state.clone()).into_make_service_with_connect_info::<SocketAddr>();
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("server");
        });
        TestApp {
            state,
            base_url: format!("http://{addr}"),
            server,
            _dir: dir,
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.server.abort();
    }
}

// ------------------------------------------------------------ chromedriver

/// A chromedriver child process, killed when dropped.
struct Driver {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Driver {
    fn start(work: &Path) -> Driver {
        let port = free_port();
        let log = work.join("chromedriver.log");
        let out = std::fs::File::create(&log).expect("chromedriver log file");
        let err = out.try_clone().expect("chromedriver log file");
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("could not start {CHROMEDRIVER}: {e}"));
        let mut d = Driver { child, port, log };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(Some(status)) = d.child.try_wait() {
                panic!(
                    "{CHROMEDRIVER} exited ({status}) before answering:\n{}",
                    d.log_text()
                );
            }
            if let Ok((200, body)) = http(port, "GET", "/status")
                && body.contains("\"ready\":true")
            {
                return d;
            }
            if Instant::now() > deadline {
                panic!(
                    "{CHROMEDRIVER} did not answer on port {port} within 30 s:\n{}",
                    d.log_text()
                );
            }
            std::thread::sleep(POLL);
        }
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

/// Fails the test (never skips it) when the browser is not installed.
fn require_browser() {
    let missing: Vec<&str> = [CHROMIUM, CHROMEDRIVER]
        .into_iter()
        .filter(|p| !Path::new(p).exists())
        .collect();
    assert!(
        missing.is_empty(),
        "browser tests need Chromium and chromedriver; missing: {}. Install them with \
         `sudo apt-get install chromium chromium-driver fonts-noto-cjk` (scripts/test does this).",
        missing.join(" and ")
    );
}

/// The code an authenticator app shows for a base32 secret at `now_ms`
/// (RFC 6238: SHA-1, six digits, 30-second steps), by `totp-rs`.
pub fn totp_now(secret: &str, now_ms: i64) -> String {
    totp_at(secret, now_ms / 30_000)
}

#[path = "../support/totp.rs"]
mod totp;
pub use totp::totp_at;

// ----------------------------------------------------------------- browser

/// One headless Chromium session on a fresh profile, pointed at a [`TestApp`].
///
/// Dropped while the test is panicking, it saves
/// `target/browser-screenshots/<test>-failure.png` and prints the page's address.
pub struct Browser {
    pub client: Client,
    base_url: String,
    /// The server's clock (two-factor codes are computed for its time).
    clock: Clock,
    /// The secrets of the accounts this browser enrolled, with the time
    /// step of the last code it typed (a code is accepted once).
    secrets: std::sync::Mutex<std::collections::HashMap<String, (String, i64)>>,
    test: String,
    session: String,
    closed: bool,
    driver: Driver,
    _work: tempfile::TempDir,
}

impl Browser {
    /// `test` names the screenshots.
    pub async fn open(app: &TestApp, test: &str) -> Browser {
        require_browser();
        // A picture of an earlier failure would mislead.
        let _ = std::fs::remove_file(screenshot_dir().join(format!("{test}-failure.png")));
        let work = tempfile::tempdir().expect("temp dir");
        let profile = work.path().join("profile");
        std::fs::create_dir(&profile).expect("profile dir");
        let driver = Driver::start(work.path());
        let caps = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": [
                    "--headless=new",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-dev-shm-usage",
                    "--disable-quic",
                    "--no-first-run",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    format!("--user-data-dir={}", profile.display()),
                    "--window-size=1280,1600",
                ],
            },
        });
        let Value::Object(caps) = caps else {
            unreachable!()
        };
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{}", driver.port))
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "could not open a Chromium session through chromedriver: {e}\n{}",
                    driver.log_text()
                )
            });
        let session = client
            .session_id()
            .await
            .expect("session id")
            .expect("session id");
        Browser {
            client,
            base_url: app.base_url.clone(),
            clock: app.state.clock.clone(),
            secrets: Default::default(),
            test: test.to_string(),
            session,
            closed: false,
            driver,
            _work: work,
        }
    }

    /// Ends the browser session (Chromium exits); chromedriver stops on drop.
    pub async fn close(mut self) {
        self.closed = true;
        self.client.clone().close().await.expect("close session");
    }

    pub async fn goto(&self, path: &str) {
        let url = format!("{}{path}", self.base_url);
        self.client
            .goto(&url)
            .await
            .unwrap_or_else(|e| panic!("goto {url}: {e}"));
    }

    /// The current path and query, e.g. `/dashboard?welcome=1`.
    pub async fn path(&self) -> String {
        let url = self.client.current_url().await.expect("current url");
        match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_string(),
        }
    }

    /// The page's visible text.
    pub async fn text(&self) -> String {
        self.client
            .find(Locator::Css("body"))
            .await
            .expect("body")
            .text()
            .await
            .expect("body text")
    }

    /// The text of the page's `<h1>`.
    pub async fn heading(&self) -> String {
        self.wait_until("an <h1>", || async {
            let h = self.client.find(Locator::Css("h1")).await.ok()?;
            h.text().await.ok()
        })
        .await
    }

    /// Waits until the page's visible text contains `needle`.
    pub async fn wait_for_text(&self, needle: &str) {
        let deadline = Instant::now() + WAIT;
        loop {
            let text = self.text().await;
            if text.contains(needle) {
                return;
            }
            if Instant::now() > deadline {
                panic!(
                    "page {} never showed {needle:?}; it shows:\n{text}",
                    self.path().await
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// The form control whose `<label>` text is `label` (or, if no label is
    /// exactly that, the one label containing it).
    pub async fn control(&self, label: &str) -> Element {
        let xpath = format!(
            "//label[contains(normalize-space(.), {})]",
            xpath_str(label)
        );
        let what = format!("the field labelled {label:?}");
        let target = self
            .wait_until(&what, || async {
                let labels = self.client.find_all(Locator::XPath(&xpath)).await.ok()?;
                let mut texts = Vec::new();
                for l in &labels {
                    texts.push(l.text().await.ok()?.trim().to_string());
                }
                let pick = match texts.iter().position(|t| t == label) {
                    Some(i) => i,
                    None if texts.len() == 1 => 0,
                    None if texts.is_empty() => return None,
                    None => panic!("{label:?} matches several labels: {texts:?}"),
                };
                labels[pick].attr("for").await.ok()?
            })
            .await;
        self.client
            .find(Locator::Id(&target))
            .await
            .unwrap_or_else(|e| panic!("label {label:?} points at #{target}, not found: {e}"))
    }

    /// Replaces the content of the field labelled `label` with `value`, by typing.
    pub async fn fill(&self, label: &str, value: &str) {
        let el = self.control(label).await;
        el.clear().await.expect("clear field");
        el.send_keys(value)
            .await
            .unwrap_or_else(|e| panic!("typing into {label:?}: {e}"));
        let typed = el.prop("value").await.expect("value").unwrap_or_default();
        assert_eq!(typed, value, "field {label:?} did not take the typed text");
    }

    /// The current value of the field labelled `label`.
    pub async fn value(&self, label: &str) -> String {
        let el = self.control(label).await;
        el.prop("value").await.expect("value").unwrap_or_default()
    }

    /// The error message shown next to the field labelled `label`, if any.
    pub async fn field_error(&self, label: &str) -> Option<String> {
        let el = self.control(label).await;
        let near = "./ancestor::div[contains(concat(' ', normalize-space(@class), ' '), ' field ')][1]\
                    //*[contains(concat(' ', normalize-space(@class), ' '), ' field-error ')]";
        let e = el.find(Locator::XPath(near)).await.ok()?;
        Some(e.text().await.expect("error text"))
    }

    /// Chooses, in the drop-down labelled `label`, the option whose visible
    /// text is `option` (or, if none is exactly that, the one containing it).
    pub async fn select(&self, label: &str, option: &str) {
        let select = self.control(label).await;
        let options = select
            .find_all(Locator::Css("option"))
            .await
            .expect("options");
        let mut texts = Vec::new();
        for o in &options {
            texts.push(o.text().await.expect("option text").trim().to_string());
        }
        let hits: Vec<usize> = (0..texts.len()).filter(|&i| texts[i] == option).collect();
        let hits = if hits.is_empty() {
            (0..texts.len())
                .filter(|&i| texts[i].contains(option))
                .collect()
        } else {
            hits
        };
        let [i] = hits[..] else {
            panic!("{label:?} has {} options matching {option:?}", hits.len())
        };
        options[i].click().await.expect("choose option");
        let chosen = options[i].prop("selected").await.expect("selected");
        assert_eq!(
            chosen.as_deref(),
            Some("true"),
            "option {:?} of {label:?} was not selected",
            texts[i]
        );
    }

    /// Clicks the visible button or link whose text is `text` (or, failing
    /// that, contains it), preferring one in the page's `<main>` over the
    /// header and navigation, then waits for the next page to load (every
    /// button and link of this server-rendered app loads a page).
    pub async fn click(&self, text: &str) {
        let el = self.clickable(text).await;
        self.press(el, text, None).await;
    }

    /// Like [`Browser::click`], for a button that first asks "are you sure?"
    /// (`data-confirm`, shown by `window.confirm`): checks the dialog shows
    /// `dialog` and accepts it.
    pub async fn click_and_confirm(&self, text: &str, dialog: &str) {
        let el = self.clickable(text).await;
        self.press(el, text, Some(dialog)).await;
    }

    async fn clickable(&self, text: &str) -> Element {
        let lit = xpath_str(text);
        let exact = format!(
            "//*[self::a or self::button][normalize-space(.)={lit}] \
             | //input[(@type='submit' or @type='button') and normalize-space(@value)={lit}]"
        );
        let partial = format!(
            "//*[self::a or self::button][contains(normalize-space(.), {lit})] \
             | //input[(@type='submit' or @type='button') and contains(@value, {lit})]"
        );
        let in_main = |x: &str| {
            x.replace("//*[", "//main//*[")
                .replace("//input", "//main//input")
        };
        let queries = [in_main(&exact), exact.clone(), in_main(&partial), partial];
        let what = format!("a button or link {text:?}");
        self.wait_until(&what, || async {
            for q in &queries {
                for el in self.client.find_all(Locator::XPath(q)).await.ok()? {
                    if el.is_displayed().await.unwrap_or(false) {
                        return Some(el);
                    }
                }
            }
            None
        })
        .await
    }

    /// Clicks `el` (described as `text`), accepts the confirmation dialog
    /// showing `dialog` if given, and waits for the next page to load.
    async fn press(&self, el: Element, text: &str, dialog: Option<&str>) {
        let old_page = self.client.find(Locator::Css("html")).await.expect("html");
        self.scroll_to_middle(&el).await;
        el.click()
            .await
            .unwrap_or_else(|e| panic!("clicking {text:?}: {e}"));
        if let Some(want) = dialog {
            let what = format!("a confirmation dialog after clicking {text:?}");
            let shown = self
                .wait_until(&what, || async { self.client.get_alert_text().await.ok() })
                .await;
            assert!(shown.contains(want), "the dialog says {shown:?}");
            self.client.accept_alert().await.expect("accept the dialog");
        }
        // The old document's root goes stale once the next page replaces it.
        self.wait_replaced(&old_page, &format!("a new page after clicking {text:?}"))
            .await
    }

    /// Waits until `old` has gone stale (replaced by what answered), then
    /// until the document has loaded.
    async fn wait_replaced(&self, old: &Element, what: &str) {
        self.wait_until(what, || async {
            old.tag_name().await.is_err().then_some(())
        })
        .await;
        self.wait_until("the page to load", || async {
            let state = self
                .client
                .execute("return document.readyState", vec![])
                .await
                .ok()?;
            (state == "complete").then_some(())
        })
        .await
    }

    /// Scrolls `el` to the middle of the window, as a person does before
    /// clicking it. (WebDriver's own scrolling stops with it at the window's
    /// edge, where the form's sticky save bar covers it.)
    async fn scroll_to_middle(&self, el: &Element) {
        let arg = serde_json::to_value(el).expect("element reference");
        self.client
            .execute("arguments[0].scrollIntoView({block: 'center'})", vec![arg])
            .await
            .expect("scroll into view");
    }

    /// Ticks the checkbox or radio button labelled `label` (if it is not already).
    pub async fn check(&self, label: &str) {
        let el = self.control(label).await;
        if !el.is_selected().await.expect("selected") {
            self.scroll_to_middle(&el).await;
            el.click()
                .await
                .unwrap_or_else(|e| panic!("ticking {label:?}: {e}"));
        }
        assert!(
            el.is_selected().await.expect("selected"),
            "{label:?} is not ticked"
        );
    }

    /// In the radio group named `group` (a fieldset's legend, or the
    /// `aria-label` of a `role=radiogroup`), chooses the option `option`.
    pub async fn choose(&self, group: &str, option: &str) {
        let (g, o) = (xpath_str(group), xpath_str(option));
        let xpath = format!(
            "//*[@role='radiogroup'][@aria-label={g}]//label[normalize-space(.)={o}]//input[@type='radio'] \
             | //fieldset[legend[contains(normalize-space(.), {g})]]//label[normalize-space(.)={o}]//input[@type='radio']"
        );
        let what = format!("the choice {option:?} of {group:?}");
        let el = self
            .wait_until(&what, || async {
                let mut hits = self.client.find_all(Locator::XPath(&xpath)).await.ok()?;
                match hits.len() {
                    0 => None,
                    1 => hits.pop(),
                    n => panic!("{group:?} has {n} options {option:?}"),
                }
            })
            .await;
        self.scroll_to_middle(&el).await;
        el.click()
            .await
            .unwrap_or_else(|e| panic!("choosing {option:?} of {group:?}: {e}"));
        assert!(
            el.is_selected().await.expect("selected"),
            "{what} not chosen"
        );
    }

    /// Sets the value of the control `#id` by script, as a paste would, and
    /// fires its `input` and `change` events: for very long texts and for
    /// date pickers, whose typing depends on the browser's locale.
    pub async fn set_value(&self, id: &str, value: &str) {
        let script = "const el = document.getElementById(arguments[0]);\
                      el.value = arguments[1];\
                      el.dispatchEvent(new Event('input', { bubbles: true }));\
                      el.dispatchEvent(new Event('change', { bubbles: true }));\
                      return el.value;";
        let set = self
            .client
            .execute(script, vec![json!(id), json!(value)])
            .await
            .unwrap_or_else(|e| panic!("setting #{id}: {e}"));
        assert_eq!(set.as_str(), Some(value), "#{id} did not take the value");
    }

    /// The attachment slot (upload block) whose heading contains `heading`.
    pub async fn slot(&self, heading: &str) -> Element {
        let xpath = format!(
            "//*[contains(concat(' ', normalize-space(@class), ' '), ' slot ')]\
             [h3[contains(normalize-space(.), {})]]",
            xpath_str(heading)
        );
        let what = format!("the upload block {heading:?}");
        self.wait_until(&what, || async {
            let mut hits = self.client.find_all(Locator::XPath(&xpath)).await.ok()?;
            match hits.len() {
                0 => None,
                1 => hits.pop(),
                n => panic!("{n} upload blocks are headed {heading:?}"),
            }
        })
        .await
    }

    /// The visible text of the slot headed `heading`.
    pub async fn slot_text(&self, heading: &str) -> String {
        self.slot(heading).await.text().await.expect("slot text")
    }

    /// Chooses `file` in the file input of the slot headed `heading`
    /// (as the file dialog does), without sending it; returns the slot.
    pub async fn choose_file(&self, heading: &str, file: &Path) -> Element {
        let block = self.slot(heading).await;
        let input = block
            .find(Locator::Css("input[type=file]"))
            .await
            .unwrap_or_else(|e| panic!("no file input under {heading:?}: {e}"));
        input
            .send_keys(&file.display().to_string())
            .await
            .unwrap_or_else(|e| panic!("choosing {} for {heading:?}: {e}", file.display()));
        block
    }

    /// In the upload block whose heading contains `heading`, chooses `file`
    /// in its file input, clicks its upload button and waits for the
    /// answer: the block replaced, by the server's fragment (htmx) or with
    /// the whole page (a plain form post).
    pub async fn upload(&self, heading: &str, file: &Path) {
        let block = self.choose_file(heading, file).await;
        let button = block
            .find(Locator::Css("form.upload button[type=submit]"))
            .await
            .unwrap_or_else(|e| panic!("no upload button under {heading:?}: {e}"));
        self.scroll_to_middle(&button).await;
        button
            .click()
            .await
            .unwrap_or_else(|e| panic!("clicking upload under {heading:?}: {e}"));
        // The old block goes stale once the answer replaces it.
        self.wait_replaced(
            &block,
            &format!("the answer to the upload under {heading:?}"),
        )
        .await
    }

    /// What an automated accessibility check finds on the page: form
    /// controls without a label, not exactly one h1, skipped heading levels,
    /// images without alt text, and text whose contrast against its
    /// background is below WCAG AA (4.5:1; 3:1 for large text).
    pub async fn accessibility_problems(&self) -> Vec<String> {
        let script = r#"
const out = [];
for (const el of document.querySelectorAll('input:not([type=hidden]), select, textarea')) {
  const id = el.id;
  const labelled = (id && document.querySelector('label[for="' + id + '"]')) || el.closest('label')
    || el.getAttribute('aria-label') || el.getAttribute('aria-labelledby');
  if (!labelled) out.push('unlabelled control ' + (el.name || el.id || el.type));
}
const h1 = document.querySelectorAll('h1').length;
if (h1 !== 1) out.push(h1 + ' h1 elements');
let last = 0;
for (const h of document.querySelectorAll('h1, h2, h3, h4, h5, h6')) {
  const level = Number(h.tagName[1]);
  if (last && level > last + 1) out.push('heading jumps to h' + level + ': ' + h.textContent.trim());
  last = level;
}
for (const img of document.querySelectorAll('img:not([alt])')) out.push('image without alt ' + img.src);
const rgb = (c) => (c.match(/[\d.]+/g) || []).map(Number);
const lum = ([r, g, b]) => [r, g, b].map((v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); })
  .reduce((a, v, i) => a + v * [0.2126, 0.7152, 0.0722][i], 0);
const bg = (el) => { for (let e = el; e; e = e.parentElement) { const c = rgb(getComputedStyle(e).backgroundColor); if (c.length >= 3 && (c.length < 4 || c[3] > 0.5)) return c; } return [255, 255, 255]; };
for (const el of document.querySelectorAll('p, a, td, th, label, button, li, dd, dt, h1, h2, h3, span, legend, caption')) {
  if (!el.offsetParent || !el.textContent.trim()) continue;
  const s = getComputedStyle(el);
  const fg = rgb(s.color);
  const [l1, l2] = [lum(fg), lum(bg(el))].sort((a, b) => b - a);
  const ratio = (l1 + 0.05) / (l2 + 0.05);
  const large = parseFloat(s.fontSize) >= 24 || (parseFloat(s.fontSize) >= 18.66 && Number(s.fontWeight) >= 700);
  if (ratio < (large ? 3 : 4.5)) out.push('contrast ' + ratio.toFixed(2) + ' for ' + el.tagName + ': ' + el.textContent.trim().slice(0, 30));
}
return out;
"#;
        let v = self
            .client
            .execute(script, vec![])
            .await
            .expect("accessibility check");
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Logs in through the `/login` form, and through its second step as
    /// a newcomer to the demo would: an official of the demo types the code
    /// the demo's page shows (after a moment's wait when the codes of this
    /// moment are spent); an account not yet enrolled enrols with the
    /// secret its page shows, its code computed here with `totp-rs` as an
    /// authenticator app would, and goes on past its recovery codes.
    pub async fn login(&self, username: &str, password: &str) {
        self.goto("/login").await;
        self.fill("用户名", username).await;
        self.fill("密码", password).await;
        self.click("登录").await;
        if !self.path().await.starts_with("/login/2fa") {
            return;
        }
        let text = self.text().await;
        if let Some(secret) = self.enrolment_secret().await {
            let step = self.clock.now() / 30_000;
            self.fill("动态验证码", &totp_at(&secret, step)).await;
            self.click("完成绑定").await;
            self.wait_for_text("我已保存恢复码，继续").await;
            self.remember(username, &secret, step);
            self.click("我已保存恢复码，继续").await;
            return;
        }
        let known = self.secrets.lock().expect("secrets").get(username).cloned();
        if let Some((secret, last)) = known {
            // An account this browser enrolled: the app's next unused code.
            let mut now = self.clock.now() / 30_000;
            while last > now {
                self.clock.advance(30_000);
                if self.clock.now() / 30_000 == now {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                now = self.clock.now() / 30_000;
            }
            let step = (now - 1).max(last + 1);
            self.fill("动态验证码或恢复码", &totp_at(&secret, step))
                .await;
            self.remember(username, &secret, step);
            self.click("验证并登录").await;
            return;
        }
        let mut text = text;
        for _ in 0..3 {
            if text.contains("演示账号的当前验证码") {
                break;
            }
            // All codes of this moment were used (a manual clock): wait one step.
            self.clock.advance(30_000);
            self.goto("/login/2fa").await;
            text = self.text().await;
        }
        let code = text
            .split_once("演示账号的当前验证码：")
            .map(|(_, rest)| rest.chars().take(6).collect::<String>())
            .unwrap_or_else(|| panic!("no code for {username} on the second step:\n{text}"));
        self.fill("动态验证码或恢复码", &code).await;
        self.click("验证并登录").await;
    }

    fn remember(&self, username: &str, secret: &str, step: i64) {
        self.secrets
            .lock()
            .expect("secrets")
            .insert(username.to_string(), (secret.to_string(), step));
    }

    /// The secret an enrolment page shows (None on other pages).
    pub async fn enrolment_secret(&self) -> Option<String> {
        let el = self.client.find(Locator::Id("totp-secret")).await.ok()?;
        Some(el.text().await.ok()?.replace(' ', ""))
    }

    /// Saves `target/browser-screenshots/<test>.png`.
    pub async fn screenshot(&self) -> PathBuf {
        self.save_screenshot(&self.test).await
    }

    /// Saves `target/browser-screenshots/<test>-<step>.png`.
    pub async fn screenshot_step(&self, step: &str) -> PathBuf {
        self.save_screenshot(&format!("{}-{step}", self.test)).await
    }

    async fn save_screenshot(&self, name: &str) -> PathBuf {
        let png = self.client.screenshot().await.expect("screenshot");
        write_screenshot(name, &png)
    }

    /// Polls `probe` until it yields something, failing the test after [`WAIT`].
    async fn wait_until<T, F, Fut>(&self, what: &str, mut probe: F) -> T
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Option<T>>,
    {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(v) = probe().await {
                return v;
            }
            if Instant::now() > deadline {
                let path = self.path().await;
                let text = self.text().await;
                panic!("gave up waiting for {what} on {path}; the page shows:\n{text}");
            }
            tokio::time::sleep(POLL).await;
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let port = self.driver.port;
        let session = format!("/session/{}", self.session);
        if std::thread::panicking() {
            // A picture of the page the test failed on. Plain blocking HTTP:
            // no async work can run in a destructor.
            if let Ok((200, body)) = http(port, "GET", &format!("{session}/screenshot"))
                && let Ok(v) = serde_json::from_str::<Value>(&body)
                && let Some(png) = v["value"].as_str().and_then(base64_decode)
            {
                let file = write_screenshot(&format!("{}-failure", self.test), &png);
                eprintln!("browser screenshot at failure: {}", file.display());
            }
            if let Ok((200, body)) = http(port, "GET", &format!("{session}/url")) {
                eprintln!("browser was at: {body}");
            }
        }
        if !self.closed {
            let _ = http(port, "DELETE", &session);
        }
    }
}

fn screenshot_dir() -> PathBuf {
    // CARGO_TARGET_TMPDIR is <target dir>/tmp.
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("target dir")
        .join("browser-screenshots")
}

fn write_screenshot(name: &str, png: &[u8]) -> PathBuf {
    let dir = screenshot_dir();
    std::fs::create_dir_all(&dir).expect("screenshot dir");
    let file = dir.join(format!("{name}.png"));
    std::fs::write(&file, png).expect("write screenshot");
    file
}

/// An XPath string literal for `s`.
fn xpath_str(s: &str) -> String {
    if !s.contains('"') {
        format!("\"{s}\"")
    } else if !s.contains('\'') {
        format!("'{s}'")
    } else {
        let parts: Vec<String> = s.split('"').map(|p| format!("\"{p}\"")).collect();
        format!("concat({})", parts.join(", '\"', "))
    }
}

/// A bodiless blocking HTTP/1.1 exchange with chromedriver (which always
/// sends Content-Length): (status, body).
fn http(port: u16, method: &str, path: &str) -> std::io::Result<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\
         Content-Length: 0\r\n\r\n"
    )?;
    // chromedriver keeps the connection open: read exactly Content-Length.
    let mut raw = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    let mut expect: Option<(usize, usize)> = None; // (header end, body length)
    loop {
        if let Some((split, len)) = expect
            && raw.len() >= split + len
        {
            break;
        }
        let n = s.read(&mut buf)?;
        if n == 0 {
            break;
        }
        raw.extend_from_slice(&buf[..n]);
        if expect.is_none()
            && let Some(i) = raw.windows(4).position(|w| w == b"\r\n\r\n")
        {
            let head = String::from_utf8_lossy(&raw[..i]).to_ascii_lowercase();
            let len = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(usize::MAX - i - 4);
            expect = Some((i + 4, len));
        }
    }
    let (split, len) = expect.unwrap_or((raw.len(), 0));
    let status = String::from_utf8_lossy(&raw[..split])
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let end = raw.len().min(split.saturating_add(len));
    Ok((
        status,
        String::from_utf8_lossy(&raw[split..end]).into_owned(),
    ))
}

fn base64_decode(s: &str) -> Option<Vec<u8>> {
    fn val(c: u8) -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    }
    let bytes: Vec<u8> = s.bytes().filter(|c| !c.is_ascii_whitespace()).collect();
    let mut out = Vec::with_capacity(bytes.len() / 4 * 3);
    for chunk in bytes.chunks(4) {
        let data: Vec<u8> = chunk.iter().copied().filter(|&c| c != b'=').collect();
        if data.len() < 2 {
            break;
        }
        let mut n = 0u32;
        for &c in &data {
            n = n << 6 | val(c)?;
        }
        n <<= 6 * (4 - data.len() as u32);
        let b = n.to_be_bytes();
        out.extend_from_slice(&b[1..data.len()]);
    }
    Some(out)
}
