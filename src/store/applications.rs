//! Applications: the current draft, every saved version, the immutable
//! submitted snapshots, and the timeline of states. All state changes go
//! through [`transition`].

use std::sync::LazyLock;
use std::sync::atomic::{AtomicI64, Ordering};

use super::audit::{self, Action, Actor};
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

/// A city's applications of a batch in one of `states` (at most three), by id.
pub async fn in_city(
    db: &Db,
    batch_id: &str,
    city_code: &str,
    states: &[State],
) -> Result<Vec<Application>> {
    let s = |i: usize| states.get(i).map_or("", |s| s.as_str());
    let rows = db
        .query(
            concat!(
                "SELECT ",
                app_cols!(),
                " FROM applications WHERE batch_id = $1 AND city_code = $2 \
                 AND state IN ($3, $4, $5) ORDER BY id"
            ),
            params![batch_id, city_code, s(0), s(1), s(2)],
        )
        .await?;
    Ok(rows.iter().map(Application::from_row).collect())
}

/// How many of a city's applications of a batch are in `state`.
pub async fn count_in_city(db: &Db, batch_id: &str, city_code: &str, state: State) -> Result<i64> {
    Ok(db
        .query_opt(
            "SELECT COUNT(*) FROM applications WHERE batch_id = $1 AND city_code = $2 AND state = $3",
            params![batch_id, city_code, state.as_str()],
        )
        .await?
        .map_or(0, |r| r.int(0)))
}

/// A city inbox's filter ('' = any); `name_pattern` is a LIKE pattern
/// with `\\` as its escape.
pub struct InboxFilter<'a> {
    pub batch_id: &'a str,
    pub city_code: &'a str,
    pub state: &'a str,
    pub industry: &'a str,
    pub county_code: &'a str,
    pub name_pattern: &'a str,
}

impl InboxFilter<'_> {
    fn params(&self) -> Vec<Value> {
        params![
            self.batch_id,
            self.city_code,
            self.state,
            self.industry,
            self.county_code,
            self.name_pattern
        ]
    }
}

/// One line of a city's inbox.
#[derive(Debug, Clone)]
pub struct InboxEntry {
    pub id: String,
    pub enterprise_name: String,
    pub credit_code: String,
    pub county_code: String,
    pub industry: String,
    pub state: State,
    pub submitted_at: Option<Millis>,
}

/// The WHERE clause shared by the inbox and its count; `$1` batch, `$2`
/// city, `$3` state, `$4` industry, `$5` county, `$6` name pattern.
macro_rules! inbox_where {
    () => {
        " FROM applications WHERE batch_id = $1 AND city_code = $2 AND state <> 'draft' \
          AND ($3 = '' OR state = $3) AND ($4 = '' OR industry = $4) AND ($5 = '' OR county_code = $5) \
          AND ($6 = '' OR enterprise_name LIKE $6 ESCAPE '\\')"
    };
}

macro_rules! inbox_list {
    ($order:literal) => {
        concat!(
            "SELECT id, enterprise_name, credit_code, county_code, industry, state, submitted_at",
            inbox_where!(),
            " ORDER BY ",
            $order,
            " LIMIT $7 OFFSET $8"
        )
    };
}

/// A city's applications past their draft, counted by state and industry
/// (one pass over the inbox's covering index).
pub async fn inbox_groups(
    db: &Db,
    batch_id: &str,
    city_code: &str,
) -> Result<Vec<(String, String, i64)>> {
    let rows = db
        .query(
            "SELECT state, industry, COUNT(*) FROM applications WHERE batch_id = $1 AND city_code = $2 \
             AND state <> 'draft' GROUP BY state, industry",
            params![batch_id, city_code],
        )
        .await?;
    Ok(rows
        .into_iter()
        .map(|mut r| (r.take_text(0), r.take_text(1), r.int(2)))
        .collect())
}

/// How many applications the inbox filter matches.
pub async fn inbox_count(db: &Db, filter: &InboxFilter<'_>) -> Result<i64> {
    Ok(db
        .query_opt(concat!("SELECT COUNT(*)", inbox_where!()), filter.params())
        .await?
        .map_or(0, |r| r.int(0)))
}

/// One page of the inbox: `sort` is `old`, `name`, `updated` or (else)
/// newest submission first.
pub async fn inbox_page(
    db: &Db,
    filter: &InboxFilter<'_>,
    sort: &str,
    limit: i64,
    offset: i64,
) -> Result<Vec<InboxEntry>> {
    let sql = match sort {
        "old" => inbox_list!("submitted_at, id"),
        "name" => inbox_list!("enterprise_name, id"),
        "updated" => inbox_list!("updated_at DESC, id DESC"),
        _ => inbox_list!("submitted_at DESC, id DESC"),
    };
    let mut params = filter.params();
    params.push(limit.into());
    params.push(offset.into());
    Ok(db
        .query(sql, params)
        .await?
        .into_iter()
        .map(|mut r| InboxEntry {
            id: r.take_text(0),
            enterprise_name: r.take_text(1),
            credit_code: r.take_text(2),
            county_code: r.take_text(3),
            industry: r.take_text(4),
            state: State::parse(&r.text(5)).unwrap_or(State::Submitted),
            submitted_at: r.opt_int(6),
        })
        .collect())
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

/// The submitted applications of a batch in one city, by name and id: only
/// the columns of the list (read from the city inbox's index). The
/// province's list reads a batch city by city, so that no more than one
/// city's rows are held as read at a time.
pub async fn listed_in_city(db: &Db, batch_id: &str, city_code: &str) -> Result<Vec<Listed>> {
    let rows = db
        .query(
            "SELECT id, credit_code, enterprise_name, city_code, industry, state, submitted_at \
             FROM applications WHERE batch_id = $1 AND city_code = $2 AND state <> 'draft'",
            params![batch_id, city_code],
        )
        .await?;
    // Each row's strings are moved, not copied.
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
    out.sort_by(|a, b| (&a.enterprise_name, &a.id).cmp(&(&b.enterprise_name, &b.id)));
    Ok(out)
}

/// The current version and its answers: the working copy (for a submitted
/// application, the answers it submitted).
pub async fn content(db: &Db, id: &str) -> Result<Option<(i64, serde_json::Value)>> {
    let row = db
        .query_opt(
            "SELECT a.version, d.content FROM applications a JOIN drafts d ON d.application_id = a.id \
             WHERE a.id = $1",
            params![id],
        )
        .await?;
    Ok(row.map(|r| (r.int(0), answers_of("draft", &r.text(1)))))
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

/// Version rows are keyed by an increasing number: rows are appended at
/// the end of the table, and the integrity chain (`chain`) seals them in
/// key order.
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

/// A version row: a meaningful moment of the application (its start, an
/// explicit save, a submission, a reopening, an autosave checkpoint). The
/// working copy itself lives in `drafts`.
#[allow(clippy::too_many_arguments)]
pub(super) fn push_version(
    b: &mut Batch,
    app_id: &str,
    version: i64,
    kind: &'static str,
    content: impl Into<Value>,
    fingerprint: Option<&str>,
    by: &str,
    now: Millis,
) {
    b.push(
        "INSERT INTO application_versions \
         (row_key, application_id, version, kind, content, fingerprint, created_at, created_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        params![
            next_row_key(),
            app_id,
            version,
            kind,
            content.into(),
            fingerprint,
            now,
            by
        ],
    );
}

/// An autosave keeps a version at most this often (besides the moments
/// that always keep one).
pub const CHECKPOINT_EVERY: Millis = 10 * 60 * 1000;

/// Keeps the working copy of `app_id` as a version unless its current
/// version is already kept (the stamped scan's upload: the text the stamp
/// covers is compared with the one submitted).
pub fn checkpoint(b: &mut Batch, app_id: &str, by: &str, now: Millis) {
    b.push(
        "INSERT INTO application_versions \
         (row_key, application_id, version, kind, content, fingerprint, created_at, created_by) \
         SELECT $1, a.id, a.version, 'draft', d.content, NULL, $3, $4 \
         FROM applications a JOIN drafts d ON d.application_id = a.id \
         WHERE a.id = $2 AND a.state IN ('draft', 'returned') AND NOT EXISTS \
         (SELECT 1 FROM application_versions v WHERE v.application_id = a.id AND v.version = a.version)",
        params![next_row_key(), app_id, now, by],
    );
    b.push(
        "UPDATE applications SET versioned_at = $2 WHERE id = $1",
        params![app_id, now],
    );
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
         industry, state, version, declarations, created_at, updated_at, versioned_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, '', 'draft', 1, $8, $9, $9, $9)",
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
    b.push(
        "INSERT INTO drafts (application_id, content, saved_at) VALUES ($1, $2, $3)",
        params![a.id, a.content, now],
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
    push_version(b, a.id, 1, "draft", a.content, None, &actor.name, now);
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

/// Whether a save keeps a version of the draft.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    /// An explicit 保存草稿 (or a merge the user confirmed): always.
    Always,
    /// An autosave: when the last kept version is [`CHECKPOINT_EVERY`] old.
    IfDue,
}

/// Saves `draft` (the answers' JSON) as the working copy if the application
/// is still at `expected` and editable by its own enterprise; the version
/// moves on, and a version row is kept as `keep` says. Region and industry
/// are kept in columns for the city inbox.
#[allow(clippy::too_many_arguments)]
pub async fn save_draft(
    db: &Db,
    id: &str,
    enterprise_id: &str,
    expected: i64,
    draft: String,
    keep: Keep,
    summary: &DraftSummary<'_>,
    actor_name: &str,
    now: Millis,
) -> Result<SaveOutcome> {
    let mut b = Batch::new();
    // A version is kept when asked, or when the last one is old enough.
    let due_before = match keep {
        Keep::Always => Millis::MAX,
        Keep::IfDue => now - CHECKPOINT_EVERY,
    };
    // The city is the registration's and never follows the form: a county
    // is taken only inside it (the city's code is the county's first four
    // digits and two zeros). The update checks owner, state and version,
    // and undoes the whole save when one does not hold.
    if db.backend() == "postgres" {
        // PostgreSQL: the whole save as one statement, one round trip. The
        // version row is inserted when the update matched and the last kept
        // version (as read before it: every part of a statement sees one
        // snapshot) is old enough; the statement's count is the update's
        // (one row, or none when refused).
        b.push_one(
            "WITH old AS (SELECT versioned_at FROM applications WHERE id = $1), \
             u AS (UPDATE applications SET version = version + 1, industry = $6, \
             county_code = CASE WHEN $7 <> '' AND substr($7, 1, 4) = substr(city_code, 1, 4) THEN $7 ELSE county_code END, \
             versioned_at = CASE WHEN versioned_at <= $8 THEN $9 ELSE versioned_at END \
             WHERE id = $1 AND enterprise_id = $2 AND version = $4 AND state IN ('draft', 'returned') \
             RETURNING id, version), \
             d AS (UPDATE drafts SET content = $3, saved_at = $9 FROM u WHERE drafts.application_id = u.id), \
             k AS (INSERT INTO application_versions \
             (row_key, application_id, version, kind, content, fingerprint, created_at, created_by) \
             SELECT $5, u.id, u.version, 'draft', $3, NULL, $9, $10 FROM u, old WHERE old.versioned_at <= $8) \
             SELECT 1 FROM u",
            params![
                id,
                enterprise_id,
                draft,
                expected,
                next_row_key(),
                summary.industry,
                summary.county_code,
                due_before,
                now,
                actor_name
            ],
        );
        return finish_save(db, b, id, enterprise_id, expected).await;
    }
    // The working copy first (its own table, so the application's row, read
    // by every list, stays small); then the version row, copied from it,
    // when the last kept one is old enough (read before the update below
    // moves it on); the update then checks owner, state and version, and
    // undoes the whole save when one does not hold.
    b.push(
        "UPDATE drafts SET content = $2, saved_at = $3 WHERE application_id = $1",
        params![id, draft, now],
    );
    b.push(
        "INSERT INTO application_versions \
         (row_key, application_id, version, kind, content, fingerprint, created_at, created_by) \
         SELECT $1, a.id, a.version + 1, 'draft', d.content, NULL, $4, $5 \
         FROM applications a JOIN drafts d ON d.application_id = a.id \
         WHERE a.id = $2 AND a.version = $3 AND a.versioned_at <= $6",
        params![next_row_key(), id, expected, now, actor_name, due_before],
    );
    b.push_one(
        "UPDATE applications SET version = version + 1, \
         versioned_at = CASE WHEN versioned_at <= $4 THEN $5 ELSE versioned_at END \
         WHERE id = $1 AND enterprise_id = $2 AND version = $3 AND state IN ('draft', 'returned')",
        params![id, enterprise_id, expected, due_before, now],
    );
    // The inbox index holds the summary columns: they are rewritten only
    // when they really changed (this matches no row in the common case).
    b.push(
        "UPDATE applications SET industry = $2, \
         county_code = CASE WHEN $3 <> '' AND substr($3, 1, 4) = substr(city_code, 1, 4) THEN $3 ELSE county_code END \
         WHERE id = $1 AND (industry <> $2 OR ($3 <> '' AND county_code <> $3 AND substr($3, 1, 4) = substr(city_code, 1, 4)))",
        params![id, summary.industry, summary.county_code],
    );
    finish_save(db, b, id, enterprise_id, expected).await
}

/// Writes a draft save and says how it went (a refused one: why).
async fn finish_save(
    db: &Db,
    b: Batch,
    id: &str,
    enterprise_id: &str,
    expected: i64,
) -> Result<SaveOutcome> {
    match db.write(b).await {
        Ok(_) => Ok(SaveOutcome::Saved {
            version: expected + 1,
        }),
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

/// Every kept version, newest first, and the working copy when its version
/// is not kept (kind `current`: autosaved since the last kept version).
pub async fn versions(db: &Db, id: &str) -> Result<Vec<VersionInfo>> {
    let rows = db
        .query(
            "SELECT version, kind, fingerprint, created_at, created_by FROM application_versions \
             WHERE application_id = $1 \
             UNION ALL \
             SELECT a.version, 'current', NULL, d.saved_at, '' FROM applications a \
             JOIN drafts d ON d.application_id = a.id \
             WHERE a.id = $1 AND NOT EXISTS (SELECT 1 FROM application_versions v \
               WHERE v.application_id = a.id AND v.version = a.version) \
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

/// The kind and content of `version` as kept, or of the working copy when
/// that is `version` (kind `draft`).
pub async fn version_content(db: &Db, id: &str, version: i64) -> Result<Option<(String, String)>> {
    let row = db
        .query_opt(
            "SELECT kind, content, 0 FROM application_versions WHERE application_id = $1 AND version = $2 \
             UNION ALL \
             SELECT 'draft', d.content, 1 FROM applications a JOIN drafts d ON d.application_id = a.id \
             WHERE a.id = $1 AND a.version = $2 \
             ORDER BY 3 LIMIT 1",
            params![id, version],
        )
        .await?;
    Ok(row.map(|r| (r.text(0), r.text(1))))
}

/// The newest version at or before `version` that can be read back (kept,
/// or the working copy): a merge's common base when the exact version an
/// older page was loaded from was an autosave not kept. An older base only
/// makes a merge ask about more fields, never lose one.
pub async fn version_at_or_before(
    db: &Db,
    id: &str,
    version: i64,
) -> Result<Option<(i64, String, String)>> {
    let row = db
        .query_opt(
            "SELECT version, kind, content FROM application_versions WHERE application_id = $1 AND version <= $2 \
             UNION ALL \
             SELECT a.version, 'draft', d.content FROM applications a JOIN drafts d ON d.application_id = a.id \
             WHERE a.id = $1 AND a.version <= $2 \
             ORDER BY 1 DESC LIMIT 1",
            params![id, version],
        )
        .await?;
    Ok(row.map(|r| (r.int(0), r.text(1), r.text(2))))
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
/// (used with [`transition`] to `Submitted`). The working copy holds the
/// answers it submitted.
pub fn snapshot(
    b: &mut Batch,
    app_id: &str,
    version: i64,
    snapshot_json: &str,
    fingerprint: &str,
    by: &str,
    now: Millis,
) {
    push_version(
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
        "UPDATE applications SET version = $2, submitted_version = $2, fingerprint = $4, submitted_at = $5, versioned_at = $5 \
         WHERE id = $1 AND version = $3",
        params![app_id, version + 1, version, fingerprint, now],
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
