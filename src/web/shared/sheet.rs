//! The 评审细则 editor both a city (its own sheet, or the province's
//! default adopted) and the province (its default) use: the criteria rows,
//! reading them back from a post, and the page.

use askama::Template;

use crate::domain::scoring::{Criterion, MAX_CRITERIA, Sheet, parse_score, show};
use crate::store::scoring::{self, StoredSheet};
use crate::web::AppState;
use crate::web::shared::context::Ctx;
use crate::web::shared::error::AppResult;
use crate::web::shared::page::{Errors, Page};

#[derive(Template)]
#[template(path = "shared/sheet.html")]
struct SheetPage {
    page: Page,
    title: String,
    /// Where the form posts.
    action: String,
    batch_id: String,
    /// The city page offers adopting the province's default.
    city: bool,
    own: bool,
    version: i64,
    rows: Vec<SheetRow>,
    default_rows: Vec<SheetRow>,
    max_total: String,
    lock: String,
    errors: Errors,
    notice: &'static str,
    updated: String,
}

/// Blank rows offered below the criteria for new ones.
const BLANK_ROWS: usize = 3;

pub struct SheetRow {
    pub index: usize,
    pub name: String,
    pub description: String,
    pub max: String,
    pub weight: String,
    pub error: String,
}

pub fn rows_of(sheet: &Sheet) -> Vec<SheetRow> {
    let mut rows: Vec<SheetRow> = sheet
        .criteria
        .iter()
        .enumerate()
        .map(|(i, c)| SheetRow {
            index: i,
            name: c.name.clone(),
            description: c.description.clone(),
            max: show(c.max),
            weight: show(c.weight),
            error: String::new(),
        })
        .collect();
    let n = rows.len();
    for i in n..(n + BLANK_ROWS).min(MAX_CRITERIA) {
        rows.push(SheetRow {
            index: i,
            name: String::new(),
            description: String::new(),
            max: String::new(),
            weight: "1".into(),
            error: String::new(),
        });
    }
    rows
}

/// Reads the posted rows into a sheet; rows without a name are dropped.
pub fn parse_rows(pairs: &[(String, String)], errors: &mut Errors) -> (Sheet, Vec<SheetRow>) {
    let mut sheet = Sheet::default();
    let mut rows = Vec::new();
    for i in 0..MAX_CRITERIA + BLANK_ROWS {
        let get = |k: &str| {
            let key = format!("{k}.{i}");
            pairs
                .iter()
                .find(|(n, _)| *n == key)
                .map(|(_, v)| v.trim().to_string())
                .unwrap_or_default()
        };
        if !pairs.iter().any(|(k, _)| k == &format!("name.{i}")) {
            continue;
        }
        let mut row = SheetRow {
            index: rows.len(),
            name: get("name").chars().take(50).collect(),
            description: get("description").chars().take(300).collect(),
            max: get("max"),
            weight: get("weight"),
            error: String::new(),
        };
        if row.name.is_empty() {
            if !row.description.is_empty() || !row.max.is_empty() {
                row.error = "请填写评分项名称，或清空本行".into();
            }
        } else {
            let max = parse_score(&row.max).filter(|v| *v > 0.0 && *v <= 1000.0);
            let weight = if row.weight.is_empty() {
                Some(1.0)
            } else {
                parse_score(&row.weight).filter(|v| *v > 0.0 && *v <= 10.0)
            };
            match (max, weight) {
                (None, _) => row.error = "最高分须为大于0、不超过1000的数字（最多一位小数）".into(),
                (_, None) => row.error = "权重须为大于0、不超过10的数字（最多一位小数）".into(),
                (Some(max), Some(weight)) => sheet.criteria.push(Criterion {
                    key: format!("c{}", sheet.criteria.len() + 1),
                    name: row.name.clone(),
                    description: row.description.clone(),
                    max,
                    weight,
                }),
            }
        }
        if !row.error.is_empty() {
            errors.add(
                "criteria",
                "评分项",
                format!("第{}行：{}", row.index + 1, row.error),
            );
        }
        rows.push(row);
    }
    if sheet.criteria.len() > MAX_CRITERIA {
        errors.add("criteria", "评分项", format!("评分项最多{MAX_CRITERIA}项"));
    }
    (sheet, rows)
}

/// What a sheet page shows besides the sheet itself.
pub struct View<'a> {
    pub title: String,
    /// Where the form posts.
    pub action: String,
    pub batch_id: &'a str,
    /// The city page offers adopting the province's default.
    pub city: bool,
    pub own: bool,
    /// Why the sheet can no longer change ("" when it can).
    pub lock: String,
    pub errors: Errors,
    pub notice: &'static str,
}

/// The page of `stored` (or of the rows as posted).
pub async fn render(
    state: &AppState,
    ctx: &Ctx,
    stored: &StoredSheet,
    rows: Option<Vec<SheetRow>>,
    v: View<'_>,
) -> AppResult<String> {
    let default = scoring::province_default(&state.db).await?;
    let page = SheetPage {
        page: Page::new(state, ctx, "评审细则"),
        title: v.title,
        action: v.action,
        batch_id: v.batch_id.to_string(),
        city: v.city,
        own: v.own,
        version: stored.version,
        rows: rows.unwrap_or_else(|| rows_of(&stored.sheet)),
        max_total: show(stored.sheet.max_total()),
        default_rows: rows_of(&default.sheet)
            .into_iter()
            .filter(|r| !r.name.is_empty())
            .collect(),
        lock: v.lock,
        errors: v.errors,
        notice: v.notice,
        updated: if stored.version > 0 {
            format!(
                "{}（{}）",
                crate::clock::format_datetime(stored.updated_at),
                stored.updated_by
            )
        } else {
            String::new()
        },
    };
    Ok(page.render()?)
}
