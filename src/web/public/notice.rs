//! The notice (通知) of each batch for the public: its full text from the
//! program definition, the attachments to download (blank 申报书 and
//! 推荐表), the deadlines, the contacts and links to the batch's 公示 and
//! 公告; an archive of all batches, and an Atom feed of each batch's
//! 通知公告. Every page here is the same for every visitor: no user, no form
//! token, cacheable for a minute and revalidated by its ETag. Printable and
//! complete without JavaScript.

use askama::Template;
use atom_syndication::{Content, Entry, Feed, FixedDateTime, Generator, Link, Person, Text};
use axum::Router;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;
use jiff::Timestamp;
use sha2::{Digest, Sha256};

use super::shared::{HTML, shared};
use crate::clock;
use crate::docs::{RecommendationSheet, recommendation_docx, recommendation_xlsx};
use crate::domain::form::{Notice, NoticeBlock};
use crate::domain::region;
use crate::store::Millis;
use crate::store::batches::{self, BatchRow};
use crate::store::publication::{self as ps, Publicity};
use crate::web::AppState;
use crate::web::apply::documents::download;
use crate::web::shared::error::{AppError, AppResult};
use crate::web::shared::page::Page;

const ATOM: &str = "application/atom+xml; charset=utf-8";
const DOCX: &str = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/tongzhi", get(archive))
        .route("/tongzhi/{batch}", get(notice_page))
        .route("/tongzhi/{batch}/feed.atom", get(feed))
        .route("/forms/recommendation.docx", get(blank_recommendation_docx))
        .route("/forms/recommendation.xlsx", get(blank_recommendation_xlsx))
}

/// The notice of `batch`, when the batch belongs to the program this server
/// runs and that program's directory has one.
fn notice_of<'a>(state: &'a AppState, batch: &BatchRow) -> Option<&'a Notice> {
    state
        .program
        .notice
        .as_ref()
        .filter(|_| batch.program_key == state.program.program.key)
}

/// Whether the blank forms this server offers belong to `batch`.
fn own_program(state: &AppState, batch: &BatchRow) -> bool {
    batch.program_key == state.program.program.key
}

async fn batch_of(state: &AppState, id: &str) -> AppResult<BatchRow> {
    batches::by_id(&state.db, id)
        .await?
        .ok_or(AppError::NotFound)
}

/// One city's enterprise deadline.
pub struct CityDeadline {
    pub city: &'static str,
    pub deadline: String,
    /// Set for this city by the province (not the batch's default).
    pub own: bool,
}

async fn city_deadlines(state: &AppState, batch: &BatchRow) -> AppResult<Vec<CityDeadline>> {
    let own = batches::city_deadlines(&state.db, &batch.id).await?;
    Ok(region::cities()
        .iter()
        .map(|c| {
            let set = own.iter().find(|(code, _)| code == c.code).map(|(_, d)| *d);
            CityDeadline {
                city: c.name,
                deadline: clock::format_deadline(set.unwrap_or(batch.enterprise_deadline)),
                own: set.is_some_and(|d| d != batch.enterprise_deadline),
            }
        })
        .collect())
}

/// `2021年9月7日` for a `YYYY-MM-DD` date (as typed when unreadable).
fn chinese_date(s: &str) -> String {
    match s.parse::<jiff::civil::Date>() {
        Ok(d) => format!("{}年{}月{}日", d.year(), d.month(), d.day()),
        Err(_) => s.to_string(),
    }
}

#[derive(Template)]
#[template(path = "public/notice.html")]
struct NoticePage<'a> {
    page: Page,
    batch: BatchRow,
    notice: Option<&'a Notice>,
    doc_number: &'a str,
    title: String,
    forms: bool,
    office: &'a str,
    enterprise_deadline: String,
    recommend_deadline: String,
    cities: Vec<CityDeadline>,
    publicity: Option<Publicity>,
}

impl NoticePage<'_> {
    fn final_date(&self) -> String {
        self.publicity
            .as_ref()
            .and_then(|p| p.final_date.as_deref())
            .map(chinese_date)
            .unwrap_or_default()
    }
}

fn title_of(state: &AppState, batch: &BatchRow) -> String {
    if own_program(state, batch) {
        state.program.program.batch.notice_title.clone()
    } else {
        format!("关于组织申报{}的通知", batch.name)
    }
}

async fn notice_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let batch = batch_of(&state, &id).await?;
    let state = state.for_batch(&batch.id).await?;
    let forms = own_program(&state, &batch);
    let program = &state.program.program;
    let body = NoticePage {
        page: Page::public(&state, format!("{}申报通知", batch.name)),
        notice: notice_of(&state, &batch),
        doc_number: if forms { &program.batch.doc_number } else { "" },
        title: title_of(&state, &batch),
        forms,
        office: &program.office,
        enterprise_deadline: clock::format_deadline(batch.enterprise_deadline),
        recommend_deadline: clock::format_deadline(batch.recommend_deadline),
        cities: city_deadlines(&state, &batch).await?,
        publicity: ps::publicity(&state.db, &batch.id).await?,
        batch,
    }
    .render()?;
    Ok(shared(&headers, HTML, body))
}

/// One batch in the archive.
pub struct ArchiveRow {
    pub batch: BatchRow,
    pub doc_number: String,
    pub opens: String,
    pub enterprise_deadline: String,
    pub recommend_deadline: String,
    pub publicity: bool,
    pub final_list: bool,
}

#[derive(Template)]
#[template(path = "public/notices.html")]
struct ArchivePage {
    page: Page,
    rows: Vec<ArchiveRow>,
}

async fn archive(State(state): State<AppState>, headers: HeaderMap) -> AppResult<Response> {
    let mut rows = Vec::new();
    // Newest first, as `batches::all` orders them.
    for batch in batches::all(&state.db).await? {
        let p = ps::publicity(&state.db, &batch.id).await?;
        let own = state.for_batch(&batch.id).await?;
        rows.push(ArchiveRow {
            doc_number: if own_program(&own, &batch) {
                own.program.program.batch.doc_number.clone()
            } else {
                String::new()
            },
            opens: clock::date_of(batch.opens_at).to_string(),
            enterprise_deadline: clock::format_deadline(batch.enterprise_deadline),
            recommend_deadline: clock::format_deadline(batch.recommend_deadline),
            publicity: p.is_some(),
            final_list: p.as_ref().is_some_and(|p| p.final_at.is_some()),
            batch,
        });
    }
    let body = ArchivePage {
        page: Page::public(&state, "通知公告"),
        rows,
    }
    .render()?;
    Ok(shared(&headers, HTML, body))
}

/// An Atom date-time in Asia/Shanghai.
fn atom_time(ms: Millis) -> FixedDateTime {
    Timestamp::from_millisecond(ms)
        .ok()
        .map(|t| {
            t.to_zoned(clock::shanghai())
                .strftime("%Y-%m-%dT%H:%M:%S%:z")
                .to_string()
        })
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| Feed::default().updated)
}

/// A permanent entry id that does not depend on the host the platform is
/// reached by: a UUID (version 8, RFC 9562) from the SHA-256 of `name`.
fn urn(name: &str) -> String {
    let mut b: [u8; 16] = Sha256::digest(format!("shenbao:{name}").as_bytes())[..16]
        .try_into()
        .unwrap_or_default();
    b[6] = (b[6] & 0x0f) | 0x80;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!(
        "urn:uuid:{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

fn link(href: String, rel: &str, mime: Option<&str>) -> Link {
    Link {
        href,
        rel: rel.to_string(),
        mime_type: mime.map(str::to_string),
        ..Link::default()
    }
}

fn entry(id: String, title: String, updated: Millis, href: String, summary: String) -> Entry {
    Entry {
        id,
        title: Text::plain(title),
        updated: atom_time(updated),
        published: Some(atom_time(updated)),
        links: vec![link(href, "alternate", Some("text/html"))],
        summary: Some(Text::plain(summary)),
        ..Entry::default()
    }
}

/// The notice's text as plain text, a blank line between blocks.
fn plain_text(n: &Notice) -> String {
    n.blocks
        .iter()
        .map(|b| match b {
            NoticeBlock::Heading(t) | NoticeBlock::Paragraph(t) | NoticeBlock::Closing(t) => {
                t.as_str()
            }
        })
        .collect::<Vec<_>>()
        .join("\n\n")
}

async fn feed(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let batch = batch_of(&state, &id).await?;
    let state = state.for_batch(&batch.id).await?;
    let program = &state.program.program;
    let doc_number = if own_program(&state, &batch) {
        program.batch.doc_number.clone()
    } else {
        String::new()
    };
    let mut notice = entry(
        urn(&format!("tongzhi/{}", batch.id)),
        title_of(&state, &batch),
        batch.opens_at,
        format!("/tongzhi/{}", batch.id),
        format!(
            "{}企业向所在市州提交申报书的截止时间为 {}（各市州的时间以通知页面所列为准），市州向省经信厅报送推荐材料的截止时间为 {}。",
            if doc_number.is_empty() {
                String::new()
            } else {
                format!("{doc_number}。")
            },
            clock::format_deadline(batch.enterprise_deadline),
            clock::format_deadline(batch.recommend_deadline)
        ),
    );
    if let Some(n) = notice_of(&state, &batch) {
        notice.content = Some(Content {
            value: Some(plain_text(n)),
            content_type: Some("text".into()),
            ..Content::default()
        });
    }
    let mut entries = vec![notice];
    if let Some(p) = ps::publicity(&state.db, &batch.id).await? {
        entries.push(entry(
            urn(&format!("gongshi/{}", batch.id)),
            format!("{}拟入选名单公示", batch.name),
            p.opened_at,
            format!("/gongshi/{}", batch.id),
            format!(
                "公示期：{} 至 {}（{}个工作日）。公示期间可实名提出异议。",
                p.starts_on, p.ends_on, p.working_days
            ),
        ));
        if let Some(at) = p.final_at {
            let number = p.final_doc_number.clone().unwrap_or_default();
            entries.push(entry(
                urn(&format!("gonggao/{}", batch.id)),
                format!("关于公布{}名单的通知", batch.name),
                at,
                format!("/gonggao/{}", batch.id),
                format!(
                    "{number}，{}。",
                    chinese_date(p.final_date.as_deref().unwrap_or(""))
                ),
            ));
        }
    }
    entries.sort_by_key(|e| std::cmp::Reverse(e.updated));
    let updated = entries
        .iter()
        .map(|e| e.updated)
        .max()
        .unwrap_or_else(|| atom_time(batch.opens_at));
    let author = Person {
        name: program.office.clone(),
        ..Person::default()
    };
    let feed = Feed {
        id: urn(&format!("tongzhi/{}/feed", batch.id)),
        title: Text::plain(format!("{}通知公告", batch.name)),
        updated,
        authors: vec![author],
        links: vec![
            link(
                format!("/tongzhi/{}/feed.atom", batch.id),
                "self",
                Some("application/atom+xml"),
            ),
            link(
                format!("/tongzhi/{}", batch.id),
                "alternate",
                Some("text/html"),
            ),
        ],
        generator: Some(Generator {
            value: "shenbao".into(),
            ..Generator::default()
        }),
        lang: Some("zh-CN".into()),
        entries,
        ..Feed::default()
    };
    Ok(shared(&headers, ATOM, feed.to_string()))
}

/// The blank 推荐表 (附件2): no rows, the stamp and date lines to fill by hand.
async fn blank_recommendation(state: AppState, xlsx: bool) -> AppResult<Response> {
    let def = state.program.clone();
    let name = format!("{}申报推荐表（空白）", def.program.batch.name);
    let bytes = tokio::task::spawn_blocking(move || {
        let sheet = RecommendationSheet {
            recommender: "",
            date: "",
            rows: &[],
        };
        if xlsx {
            recommendation_xlsx(&def, &sheet)
        } else {
            recommendation_docx(&def, &sheet)
        }
    })
    .await?;
    Ok(if xlsx {
        download(bytes, XLSX, &format!("{name}.xlsx"))
    } else {
        download(bytes, DOCX, &format!("{name}.docx"))
    })
}

async fn blank_recommendation_docx(State(state): State<AppState>) -> AppResult<Response> {
    blank_recommendation(state, false).await
}

async fn blank_recommendation_xlsx(State(state): State<AppState>) -> AppResult<Response> {
    blank_recommendation(state, true).await
}
