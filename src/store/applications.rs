//! Applications: the current draft, every saved version, the immutable
//! submitted snapshots, and the timeline of states. All state changes go
//! through [`transition`].

use std::sync::LazyLock;
use std::sync::atomic::{AtomicI64, Ordering};

use super::audit::{self, Action, Actor};
use super::deltas;
pub use super::deltas::Draft;
use super::{Batch, Db, Millis, Result, Row, StoreError, Value, new_id};
use crate::domain::lifecycle::{self, State};
use crate::domain::role::Role;
use crate::params;

#[derive(Debug, Clone)]
pub struct Application {
    pub id: String,
    pub batch_id: String,
    pub enterprise_id: String,
    pub credit_code: String,
    pub enterprise_name: String,
    pub city_code: String,
    pub county_code: String,
    pub industry: String,
    pub state: State,
    pub version: i64,
    pub declarations: String,
    pub submitted_version: Option<i64>,
    pub fingerprint: Option<String>,
    pub submitted_at: Option<Millis>,
    pub created_at: Millis,
    pub updated_at: Millis,
    /// 申报编号 people read out: batch year, city, place in the city
    /// (2021-4201-0007). The `id` stays the key.
    pub number: String,
}

macro_rules! app_cols {
    () => {
        "id, batch_id, enterprise_id, credit_code, enterprise_name, city_code, county_code, industry, \
         state, version, declarations, submitted_version, fingerprint, submitted_at, created_at, updated_at, number"
    };
}

impl Application {
    fn from_row(r: &Row) -> Application {
        Application {
            id: r.text(0),
            batch_id: r.text(1),
            enterprise_id: r.text(2),
            credit_code: r.text(3),
            enterprise_name: r.text(4),
            city_code: r.text(5),
            county_code: r.text(6),
            industry: r.text(7),
            state: State::parse(&r.text(8)).unwrap_or(State::Draft),
            version: r.int(9),
            declarations: r.text(10),
            submitted_version: r.opt_int(11),
            fingerprint: r.opt_text(12),
            submitted_at: r.opt_int(13),
            created_at: r.int(14),
            updated_at: r.int(15),
            number: r.text(16),
        }
    }
}

/// The one application matching a `WHERE` clause over its columns.
async fn one_where(
    db: &Db,
    sql: &'static str,
    params: Vec<crate::store::Value>,
) -> Result<Option<Application>> {
    Ok(db
        .query_opt(sql, params)
        .await?
        .as_ref()
        .map(Application::from_row))
}

pub async fn by_id(db: &Db, id: &str) -> Result<Option<Application>> {
    one_where(
        db,
        concat!("SELECT ", app_cols!(), " FROM applications WHERE id = $1"),
        params![id],
    )
    .await
}

/// The enterprise's application in `batch_id`, if it started one.
pub async fn for_enterprise(
    db: &Db,
    batch_id: &str,
    enterprise_id: &str,
) -> Result<Option<Application>> {
    one_where(
        db,
        concat!(
            "SELECT ",
            app_cols!(),
            " FROM applications WHERE batch_id = $1 AND enterprise_id = $2"
        ),
        params![batch_id, enterprise_id],
    )
    .await
}

pub async fn for_credit_code(
    db: &Db,
    batch_id: &str,
    credit_code: &str,
) -> Result<Option<Application>> {
    one_where(
        db,
        concat!(
            "SELECT ",
            app_cols!(),
            " FROM applications WHERE batch_id = $1 AND credit_code = $2"
        ),
        params![batch_id, credit_code],
    )
    .await
}

/// Every application of an enterprise, newest first.
pub async fn of_enterprise(db: &Db, enterprise_id: &str) -> Result<Vec<Application>> {
    let rows = db
        .query(
            concat!(
                "SELECT ",
                app_cols!(),
                " FROM applications WHERE enterprise_id = $1 ORDER BY created_at DESC, id"
            ),
            params![enterprise_id],
        )
        .await?;
    Ok(rows.iter().map(Application::from_row).collect())
}

/// Every application of a batch past its draft, in the province's view.
pub async fn submitted_in_batch(db: &Db, batch_id: &str) -> Result<Vec<Application>> {
    let rows = db
        .query(
            concat!(
                "SELECT ",
                app_cols!(),
                " FROM applications WHERE batch_id = $1 AND state <> 'draft' ORDER BY city_code, enterprise_name, id"
            ),
            params![batch_id],
        )
        .await?;
    Ok(rows.iter().map(Application::from_row).collect())
}

/// What the province's list shows of one submitted application.
#[derive(Debug, Clone)]
pub struct Listed {
    pub id: String,
    pub credit_code: String,
    pub enterprise_name: String,
    pub city_code: String,
    pub industry: String,
    pub state: State,
    pub submitted_at: Option<Millis>,
}

/// Every submitted application of a batch, by city, name and id: only the
/// columns of the list (read from the city inbox's covering index).
pub async fn listed_in_batch(db: &Db, batch_id: &str) -> Result<Vec<Listed>> {
    let rows = db
        .query(
            "SELECT id, credit_code, enterprise_name, city_code, industry, state, submitted_at \
             FROM applications WHERE batch_id = $1 AND state <> 'draft'",
            params![batch_id],
        )
        .await?;
    // Each row's strings are moved, not copied, and the row freed as it
    // goes: at 100,000 applications the list is built without a second copy.
    let mut out: Vec<Listed> = rows
        .into_iter()
        .map(|mut r| Listed {
            id: r.take_text(0),
            credit_code: r.take_text(1),
            enterprise_name: r.take_text(2),
            city_code: r.take_text(3),
            industry: r.take_text(4),
            state: State::parse(&r.text(5)).unwrap_or(State::Submitted),
            submitted_at: r.opt_int(6),
        })
        .collect();
    out.sort_by(|a, b| {
        (&a.city_code, &a.enterprise_name, &a.id).cmp(&(&b.city_code, &b.enterprise_name, &b.id))
    });
    Ok(out)
}

/// The current version and its answers (for a submitted application, its
/// snapshot's answers).
pub async fn content(db: &Db, id: &str) -> Result<Option<(i64, serde_json::Value)>> {
    Ok(rebuilt(db, id, i64::MAX)
        .await?
        .map(|(version, kind, text)| (version, answers_of(&kind, &text))))
}

/// The newest version of `id` up to `upto`, rebuilt: its number, kind and
/// content. The chain is walked from the head back to that version, then on
/// to the whole row it was built on.
async fn rebuilt(db: &Db, id: &str, upto: i64) -> Result<Option<(i64, String, String)>> {
    let rows = db
        .query(
            "WITH RECURSIVE chain(k) AS ( \
               SELECT head FROM applications WHERE id = $1 \
               UNION ALL \
               SELECT v.prev FROM application_versions v JOIN chain ON v.row_key = chain.k \
               WHERE (v.version > $2 OR v.depth > 0) AND v.prev IS NOT NULL) \
             SELECT v.version, v.kind, v.depth, v.content FROM chain JOIN application_versions v ON v.row_key = chain.k \
             WHERE v.version <= $2 ORDER BY v.version",
            params![id, upto],
        )
        .await?;
    deltas::rebuild(&rows)
}

/// [`content`] when the application is known to be at `version`: the
/// server's copy of the draft it last saved, if it still holds that version.
pub async fn content_at(
    db: &Db,
    id: &str,
    version: i64,
) -> Result<Option<(i64, serde_json::Value)>> {
    match db.drafts().answers_at(id, version) {
        Some(answers) => Ok(Some((version, answers))),
        None => content(db, id).await,
    }
}

/// The answers in a version row's content.
fn answers_of(kind: &str, text: &str) -> serde_json::Value {
    let stored = serde_json::from_str::<serde_json::Value>(text).ok();
    let answers = if kind == "submitted" {
        // A snapshot holds the answers under "content".
        stored.and_then(|mut v| v.get_mut("content").map(serde_json::Value::take))
    } else {
        stored
    };
    answers.unwrap_or_else(|| serde_json::Value::Object(Default::default()))
}

/// Version rows are keyed by an increasing number, not by (application,
/// version): rows are appended at the end of the table and no index has a
/// page per application to rewrite on every save (migrations/*/0005). Each
/// row points to the version before it, and `applications.head` to the
/// current one.
///
/// Keys are microseconds since the epoch times 64 plus a tag drawn once per
/// process (two processes may write to one PostgreSQL database), kept above
/// every key already stored ([`row_keys_above_stored`]) and increasing even if the
/// clock steps back.
static LAST_ROW_KEY: AtomicI64 = AtomicI64::new(0);
static ROW_KEY_TAG: LazyLock<i64> = LazyLock::new(|| {
    let mut b = [0u8; 1];
    getrandom::fill(&mut b).expect("operating system random source");
    i64::from(b[0] % 64)
});

fn next_row_key() -> i64 {
    let tag = *ROW_KEY_TAG;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64)
        * 64
        + tag;
    let mut last = LAST_ROW_KEY.load(Ordering::Relaxed);
    loop {
        let next = now.max(last - last.rem_euclid(64) + 64 + tag);
        match LAST_ROW_KEY.compare_exchange_weak(last, next, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return next,
            Err(seen) => last = seen,
        }
    }
}

/// Called when a database is opened: new keys go above its largest one.
pub(super) async fn row_keys_above_stored(db: &Db) -> Result<()> {
    let max = db
        .query_opt(
            "SELECT COALESCE(MAX(row_key), 0) FROM application_versions",
            params![],
        )
        .await?
        .map_or(0, |r| r.int(0));
    LAST_ROW_KEY.fetch_max(max, Ordering::Relaxed);
    Ok(())
}

/// The stored content of `version`: every save, submission and reopening
/// adds one row, and nothing else writes content. The row goes on the
/// application's chain after its current head; the caller's own update of
/// the application, pushed after this, makes the returned key the head (in
/// the same statement that moves the version on, so a save stays at three
/// statements).
#[allow(clippy::too_many_arguments)]
#[must_use = "the key must become the application's head"]
pub(super) fn push_version(
    b: &mut Batch,
    app_id: &str,
    version: i64,
    kind: &'static str,
    content: impl Into<Value>,
    fingerprint: Option<&str>,
    by: &str,
    now: Millis,
) -> i64 {
    push_row(b, app_id, version, kind, 0, content, fingerprint, by, now)
}

/// [`push_version`] of a row at `depth` (0: whole content; see `deltas`).
#[allow(clippy::too_many_arguments)]
#[must_use = "the key must become the application's head"]
fn push_row(
    b: &mut Batch,
    app_id: &str,
    version: i64,
    kind: &'static str,
    depth: i64,
    content: impl Into<Value>,
    fingerprint: Option<&str>,
    by: &str,
    now: Millis,
) -> i64 {
    // Taken as it comes: a draft's JSON is moved in, not copied.
    let content: Value = content.into();
    let key = next_row_key();
    b.push(
        "INSERT INTO application_versions \
         (row_key, prev, application_id, version, kind, depth, content, fingerprint, created_at, created_by) \
         VALUES ($1, (SELECT head FROM applications WHERE id = $2), $2, $3, $4, $5, $6, $7, $8, $9)",
        params![key, app_id, version, kind, depth, content, fingerprint, now, by],
    );
    key
}

pub struct NewApplication<'a> {
    pub id: &'a str,
    pub batch_id: &'a str,
    pub enterprise_id: &'a str,
    pub credit_code: &'a str,
    pub enterprise_name: &'a str,
    pub city_code: &'a str,
    pub county_code: &'a str,
    pub content: &'a str,
    pub declarations: &'a str,
    /// The batch's part of the 申报编号 (`batches::number_prefix`).
    pub number_prefix: &'a str,
}

/// The batch of application `id`.
pub async fn batch_of(db: &Db, id: &str) -> Result<Option<String>> {
    Ok(db
        .query_opt(
            "SELECT batch_id FROM applications WHERE id = $1",
            params![id],
        )
        .await?
        .map(|r| r.text(0)))
}

/// The 申报编号 of an application ("" when there is none).
pub async fn number_of(db: &Db, id: &str) -> Result<String> {
    Ok(db
        .query_opt("SELECT number FROM applications WHERE id = $1", params![id])
        .await?
        .map(|r| r.text(0))
        .unwrap_or_default())
}

pub fn insert(b: &mut Batch, a: &NewApplication<'_>, actor: &Actor, now: Millis) {
    b.push(
        "INSERT INTO applications (id, batch_id, enterprise_id, credit_code, enterprise_name, city_code, county_code, \
         industry, state, version, declarations, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, '', 'draft', 1, $8, $9, $9)",
        params![
            a.id,
            a.batch_id,
            a.enterprise_id,
            a.credit_code,
            a.enterprise_name,
            a.city_code,
            a.county_code,
            a.declarations,
            now
        ],
    );
    // The next place in the city, taken inside the write (one writer on
    // SQLite; on PostgreSQL the unique index refuses a twin).
    b.push(
        "UPDATE applications SET seq = (SELECT COALESCE(MAX(seq), 0) + 1 FROM applications \
         WHERE batch_id = $2 AND city_code = $3) WHERE id = $1",
        params![a.id, a.batch_id, a.city_code],
    );
    let prefix = format!(
        "{}-{}-",
        a.number_prefix,
        a.city_code.get(..4).unwrap_or(a.city_code)
    );
    b.push(
        "UPDATE applications SET number = $2 || CASE WHEN seq < 10 THEN '000' WHEN seq < 100 THEN '00' \
         WHEN seq < 1000 THEN '0' ELSE '' END || CAST(seq AS TEXT) WHERE id = $1",
        params![a.id, prefix],
    );
    let head = push_version(b, a.id, 1, "draft", a.content, None, &actor.name, now);
    b.push(
        "UPDATE applications SET head = $1 WHERE id = $2",
        params![head, a.id],
    );
    audit::record(
        b,
        actor,
        Action::ApplicationStart,
        Some(a.id),
        true,
        a.enterprise_name,
        now,
    );
}

#[derive(Debug, PartialEq, Eq)]
pub enum SaveOutcome {
    Saved {
        version: i64,
    },
    /// Someone saved since `expected`: nothing was written.
    Stale {
        current: i64,
    },
    NotEditable(State),
    NotFound,
}

/// Saves a new draft version if the application is still at `expected` and
/// editable by its own enterprise. Region and industry are kept in columns for
/// the city inbox.
#[allow(clippy::too_many_arguments)]
pub async fn save_draft(
    db: &Db,
    id: &str,
    enterprise_id: &str,
    expected: i64,
    draft: Draft,
    summary: &DraftSummary<'_>,
    actor_name: &str,
    now: Millis,
) -> Result<SaveOutcome> {
    let mut b = Batch::new();
    // Only what changed since `expected`, when the server still holds it.
    let stored = db.drafts().to_store(id, expected, &draft);
    let depth = stored.depth;
    // The version row first (it is chained after the current head); the
    // update that follows checks owner, state and version, and undoes the
    // whole save when one does not hold. Only the version and head move on
    // a draft save: the inbox index holds the summary columns, so they are
    // rewritten only when they really changed (the third statement matches
    // no row in the common case and writes nothing), which keeps a save to
    // the pages it must touch.
    if db.backend() == "postgres" {
        // PostgreSQL: the whole save as one statement, one round trip. The
        // version row is inserted only when the update matched (its CTE
        // returns the row), and reads the head as it was before the update.
        // Rewriting unchanged summary columns costs nothing extra there (an
        // update writes a whole new row version anyway).
        b.push_one(
            "WITH u AS (UPDATE applications SET version = version + 1, head = $1, industry = $10, \
             county_code = CASE WHEN $11 <> '' AND substr($11, 1, 4) = substr(city_code, 1, 4) THEN $11 ELSE county_code END \
             WHERE id = $2 AND enterprise_id = $8 AND version = $9 AND state IN ('draft', 'returned') RETURNING id) \
             INSERT INTO application_versions \
             (row_key, prev, application_id, version, kind, depth, content, fingerprint, created_at, created_by) \
             SELECT $1, (SELECT head FROM applications WHERE id = $2), $2, $3, 'draft', $4, $5, NULL, $6, $7 FROM u",
            params![
                next_row_key(),
                id,
                expected + 1,
                depth,
                stored.content,
                now,
                actor_name,
                enterprise_id,
                expected,
                summary.industry,
                summary.county_code
            ],
        );
        return finish_save(db, b, id, enterprise_id, expected, depth, draft).await;
    }
    let head = push_row(
        &mut b,
        id,
        expected + 1,
        "draft",
        depth,
        stored.content,
        None,
        actor_name,
        now,
    );
    b.push_one(
        "UPDATE applications SET version = version + 1, head = $4 \
         WHERE id = $1 AND enterprise_id = $2 AND version = $3 AND state IN ('draft', 'returned')",
        params![id, enterprise_id, expected, head],
    );
    // The city is the registration's and never follows the form: a county
    // is taken only inside it (the city's code is the county's first four
    // digits and two zeros).
    b.push(
        "UPDATE applications SET industry = $2, \
         county_code = CASE WHEN $3 <> '' AND substr($3, 1, 4) = substr(city_code, 1, 4) THEN $3 ELSE county_code END \
         WHERE id = $1 AND (industry <> $2 OR ($3 <> '' AND county_code <> $3 AND substr($3, 1, 4) = substr(city_code, 1, 4)))",
        params![id, summary.industry, summary.county_code],
    );
    finish_save(db, b, id, enterprise_id, expected, depth, draft).await
}

/// Writes a draft save and says how it went (a refused one: why).
async fn finish_save(
    db: &Db,
    b: Batch,
    id: &str,
    enterprise_id: &str,
    expected: i64,
    depth: i64,
    draft: Draft,
) -> Result<SaveOutcome> {
    match db.write(b).await {
        Ok(_) => {
            db.drafts().saved(id, expected + 1, depth, draft);
            Ok(SaveOutcome::Saved {
                version: expected + 1,
            })
        }
        Err(StoreError::Conflict(_)) | Err(StoreError::Unique(_)) => {
            let row = db
                .query_opt(
                    "SELECT version, state, enterprise_id FROM applications WHERE id = $1",
                    params![id],
                )
                .await?;
            Ok(match row {
                None => SaveOutcome::NotFound,
                Some(r) if r.text(2) != enterprise_id => SaveOutcome::NotFound,
                Some(r) => match State::parse(&r.text(1)) {
                    Some(s) if !s.editable() => SaveOutcome::NotEditable(s),
                    _ => SaveOutcome::Stale { current: r.int(0) },
                },
            })
        }
        Err(e) => Err(e),
    }
}

/// Columns kept beside the JSON for lists and filters.
#[derive(Debug, Default)]
pub struct DraftSummary<'a> {
    pub industry: &'a str,
    pub county_code: &'a str,
}

#[derive(Debug, Clone)]
pub struct VersionInfo {
    pub version: i64,
    pub kind: String,
    pub fingerprint: Option<String>,
    pub created_at: Millis,
    pub created_by: String,
}

impl VersionInfo {
    pub fn at_text(&self) -> String {
        crate::clock::format_datetime(self.created_at)
    }
}

impl Event {
    pub fn at_text(&self) -> String {
        crate::clock::format_datetime(self.at)
    }
}

/// The newest 500 versions along the chain, and every submitted version
/// however old: officials are shown only the submitted ones, and a long
/// run of autosaves after a return for revision must not push the earlier
/// submission out of their view.
pub async fn versions(db: &Db, id: &str) -> Result<Vec<VersionInfo>> {
    let rows = db
        .query(
            "WITH RECURSIVE chain(k, n) AS ( \
               SELECT head, 1 FROM applications WHERE id = $1 \
               UNION ALL \
               SELECT v.prev, chain.n + 1 FROM application_versions v JOIN chain ON v.row_key = chain.k \
               WHERE v.prev IS NOT NULL AND chain.n < 500) \
             SELECT v.version, v.kind, v.fingerprint, v.created_at, v.created_by \
             FROM chain JOIN application_versions v ON v.row_key = chain.k \
             UNION \
             SELECT version, kind, fingerprint, created_at, created_by FROM application_versions \
             WHERE application_id = $1 AND kind = 'submitted' \
             ORDER BY 1 DESC",
            params![id],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| VersionInfo {
            version: r.int(0),
            kind: r.text(1),
            fingerprint: r.opt_text(2),
            created_at: r.int(3),
            created_by: r.text(4),
        })
        .collect())
}

/// The kind and content of `version`, as it was saved (a change row is
/// rebuilt into the whole answers).
pub async fn version_content(db: &Db, id: &str, version: i64) -> Result<Option<(String, String)>> {
    Ok(rebuilt(db, id, version)
        .await?
        .filter(|(v, _, _)| *v == version)
        .map(|(_, kind, text)| (kind, text)))
}

#[derive(Debug, Clone)]
pub struct Event {
    pub at: Millis,
    pub actor_name: String,
    pub from: State,
    pub to: State,
    pub reason: String,
}

pub async fn events(db: &Db, id: &str) -> Result<Vec<Event>> {
    let rows = db
        .query(
            "SELECT at, actor_name, from_state, to_state, reason FROM application_events \
             WHERE application_id = $1 ORDER BY at, id",
            params![id],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| Event {
            at: r.int(0),
            actor_name: r.text(1),
            from: State::parse(&r.text(2)).unwrap_or(State::Draft),
            to: State::parse(&r.text(3)).unwrap_or(State::Draft),
            reason: r.text(4),
        })
        .collect())
}

#[derive(Debug, thiserror::Error)]
pub enum TransitionError {
    #[error("无权进行此操作")]
    Forbidden,
    #[error("申报书状态已变化，请刷新页面后重试")]
    Stale,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Moves `app` to `to` on behalf of `actor` (whose role is `role`), with the
/// timeline event and audit entry, plus `extra` statements, in one atomic
/// write. Refused unless the life cycle allows `role` this move and the
/// application is still in the state the caller saw.
#[allow(clippy::too_many_arguments)]
pub async fn transition(
    db: &Db,
    app: &Application,
    to: State,
    role: Role,
    actor: &Actor,
    reason: &str,
    mut extra: Batch,
    now: Millis,
) -> Result<(), TransitionError> {
    if !lifecycle::may(role, app.state, to) {
        return Err(TransitionError::Forbidden);
    }
    let mut b = Batch::new();
    b.push_one(
        "UPDATE applications SET state = $3, updated_at = $4 WHERE id = $1 AND state = $2",
        params![app.id.as_str(), app.state.as_str(), to.as_str(), now],
    );
    b.0.append(&mut extra.0);
    push_event(&mut b, app, to, actor, reason, now);
    match db.write(b).await {
        Ok(_) => Ok(()),
        Err(StoreError::Conflict(_)) => Err(TransitionError::Stale),
        Err(e) => Err(e.into()),
    }
}

/// The statements of one transition (checked as [`transition`] checks it),
/// for callers that move several applications in one atomic write.
pub fn push_transition(
    b: &mut Batch,
    app: &Application,
    to: State,
    role: Role,
    actor: &Actor,
    reason: &str,
    now: Millis,
) -> Result<(), TransitionError> {
    if !lifecycle::may(role, app.state, to) {
        return Err(TransitionError::Forbidden);
    }
    b.push_one(
        "UPDATE applications SET state = $3, updated_at = $4 WHERE id = $1 AND state = $2",
        params![app.id.as_str(), app.state.as_str(), to.as_str(), now],
    );
    push_event(b, app, to, actor, reason, now);
    Ok(())
}

/// The timeline event and audit entry of a transition.
fn push_event(
    b: &mut Batch,
    app: &Application,
    to: State,
    actor: &Actor,
    reason: &str,
    now: Millis,
) {
    timeline(b, app, to, actor, reason, now);
    // The enterprise hears of every move it must know about, in the same write.
    if let Some(kind) = crate::domain::notify::Kind::for_move(app.state, to) {
        super::outbox::push(
            b,
            &super::outbox::NewMessage {
                recipient_id: &app.enterprise_id,
                kind,
                vars: std::collections::BTreeMap::from([
                    ("enterprise".to_string(), app.enterprise_name.clone()),
                    ("reason".to_string(), reason.to_string()),
                ]),
                link: format!("/apply/{}", app.id),
                dedup_key: None,
            },
            now,
        );
    }
    let detail = format!(
        "{} → {}{}{}",
        app.state.label(),
        to.label(),
        if reason.is_empty() { "" } else { "；" },
        reason
    );
    audit::record(
        b,
        actor,
        Action::ApplicationTransition,
        Some(&app.id),
        true,
        &detail,
        now,
    );
}

/// A line in the application's 办理进度: a move to `to`, or with `to` its
/// current state, a step that changes no state (an objection's handling).
pub fn timeline(
    b: &mut Batch,
    app: &Application,
    to: State,
    actor: &Actor,
    reason: &str,
    now: Millis,
) {
    b.push(
        "INSERT INTO application_events (id, application_id, at, actor_id, actor_name, from_state, to_state, reason) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        params![
            new_id(),
            app.id.as_str(),
            now,
            actor.id.clone(),
            actor.name.as_str(),
            app.state.as_str(),
            to.as_str(),
            reason
        ],
    );
}

/// Statements that freeze the current draft as submitted version `version`
/// (used with [`transition`] to `Submitted`).
pub fn snapshot(
    b: &mut Batch,
    app_id: &str,
    version: i64,
    snapshot_json: &str,
    fingerprint: &str,
    by: &str,
    now: Millis,
) {
    let head = push_version(
        b,
        app_id,
        version + 1,
        "submitted",
        snapshot_json,
        Some(fingerprint),
        by,
        now,
    );
    b.push_one(
        "UPDATE applications SET version = $2, submitted_version = $2, fingerprint = $4, submitted_at = $5, head = $6 \
         WHERE id = $1 AND version = $3",
        params![app_id, version + 1, version, fingerprint, now, head],
    );
}

/// Is this credit code on the province's list of existing benchmark enterprises?
pub async fn benchmark_listed(db: &Db, credit_code: &str) -> Result<Option<(String, String)>> {
    let row = db
        .query_opt(
            "SELECT name, note FROM benchmark_list WHERE credit_code = $1",
            params![credit_code],
        )
        .await?;
    Ok(row.map(|r| (r.text(0), r.text(1))))
}

pub async fn benchmark_list(db: &Db) -> Result<Vec<(String, String, String)>> {
    let rows = db
        .query(
            "SELECT credit_code, name, note FROM benchmark_list ORDER BY note, name",
            Vec::new(),
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| (r.text(0), r.text(1), r.text(2)))
        .collect())
}

pub fn benchmark_upsert(
    b: &mut Batch,
    credit_code: &str,
    name: &str,
    note: &str,
    by: &str,
    now: Millis,
) {
    b.push(
        "INSERT INTO benchmark_list (credit_code, name, note, added_at, added_by) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (credit_code) DO UPDATE SET name = $2, note = $3",
        params![credit_code, name, note, now, by],
    );
}

pub fn benchmark_remove(b: &mut Batch, credit_code: &str) {
    b.push(
        "DELETE FROM benchmark_list WHERE credit_code = $1",
        params![credit_code],
    );
}

#[cfg(test)]
mod row_key_tests {
    use super::{LAST_ROW_KEY, ROW_KEY_TAG, next_row_key};
    use std::sync::atomic::Ordering;

    /// Keys increase, carry this process's tag, and stay above a stored key
    /// even one far ahead of the clock (a clock that stepped back).
    #[test]
    fn row_keys_increase_above_every_stored_key() {
        let mut last = next_row_key();
        for _ in 0..1000 {
            let k = next_row_key();
            assert!(k > last, "{k} after {last}");
            assert_eq!(k.rem_euclid(64), *ROW_KEY_TAG);
            last = k;
        }
        let ahead = last + 64 * 1_000_000_000 + 5;
        LAST_ROW_KEY.fetch_max(ahead, Ordering::Relaxed);
        let k = next_row_key();
        assert!(k > ahead, "{k} above the stored {ahead}");
        assert_eq!(k.rem_euclid(64), *ROW_KEY_TAG);
    }
}
