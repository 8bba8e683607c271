//! The province sets a batch's dates: opening, the default enterprise
//! deadline, each city's own enterprise deadline, and the recommendation
//! deadline. Deadlines are Asia/Shanghai and checked against the server clock.
//! A new batch is created here as a copy of an earlier one.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Router};
use serde::Deserialize;

use crate::clock;
use crate::domain::region;
use crate::domain::role::Role;
use crate::services::Refusal;
use crate::services::batches::NewBatch;
use crate::store::Batch;
use crate::store::audit::{self, Action};
use crate::store::batches::{self, BatchRow};
use crate::web::AppState;
use crate::web::shared::context::Ctx;
use crate::web::shared::error::{AppError, AppResult};
use crate::web::shared::page::{Errors, Page};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/province/batches", get(list))
        .route("/province/batches/new", get(new_page).post(create))
        .route("/province/batches/{id}", get(edit_page).post(save))
}

#[derive(Template)]
#[template(path = "province/batches.html")]
struct ListPage {
    page: Page,
    rows: Vec<(BatchRow, String, String)>,
}

async fn list(State(state): State<AppState>, ctx: Ctx) -> AppResult<Html<String>> {
    ctx.require_role(Role::Province)?;
    let rows = batches::all(&state.db)
        .await?
        .into_iter()
        .map(|b| {
            let e = clock::format_deadline(b.enterprise_deadline);
            let r = clock::format_deadline(b.recommend_deadline);
            (b, e, r)
        })
        .collect();
    let page = ListPage {
        page: Page::new(&state, &ctx, "申报批次"),
        rows,
    };
    Ok(Html(page.render()?))
}

pub struct CityRow {
    pub code: &'static str,
    pub name: &'static str,
    pub value: String,
}

#[derive(Template)]
#[template(path = "province/batch.html")]
struct EditPage {
    page: Page,
    batch: BatchRow,
    opens_at: String,
    enterprise_deadline: String,
    recommend_deadline: String,
    cities: Vec<CityRow>,
    errors: Errors,
    notice: &'static str,
}

#[derive(Deserialize, Default)]
struct SavedQuery {
    #[serde(default)]
    saved: Option<String>,
    #[serde(default)]
    created: Option<String>,
}

async fn edit_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    Query(q): Query<SavedQuery>,
) -> AppResult<Html<String>> {
    ctx.require_role(Role::Province)?;
    let batch = batches::by_id(&state.db, &id)
        .await?
        .ok_or(AppError::NotFound)?;
    let own = batches::city_deadlines(&state.db, &id).await?;
    let cities = region::cities()
        .iter()
        .map(|c| CityRow {
            code: c.code,
            name: c.name,
            value: own
                .iter()
                .find(|(k, _)| k == c.code)
                .map(|(_, v)| clock::to_local_input(*v))
                .unwrap_or_default(),
        })
        .collect();
    let page = EditPage {
        page: Page::new(&state, &ctx, format!("批次设置：{}", batch.name)),
        opens_at: clock::to_local_input(batch.opens_at),
        enterprise_deadline: clock::to_local_input(batch.enterprise_deadline),
        recommend_deadline: clock::to_local_input(batch.recommend_deadline),
        batch,
        cities,
        errors: Errors::default(),
        notice: if q.saved.is_some() {
            "已保存。新的截止时间立即生效。"
        } else if q.created.is_some() {
            "新批次已建立，到开始申报时间即对企业开放。如需为个别市州单独设置企业截止时间，请在下方填写并保存；评价标准可在“专家评审”中修改。"
        } else {
            ""
        },
    };
    Ok(Html(page.render()?))
}

async fn save(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    ctx.require_role(Role::Province)?;
    let batch = batches::by_id(&state.db, &id)
        .await?
        .ok_or(AppError::NotFound)?;
    let get = |k: &str| {
        pairs
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_default()
    };
    let mut errors = Errors::default();
    let mut time = |field: &'static str, label: &'static str| {
        let v = get(field);
        let t = clock::parse_local_datetime(&v);
        if t.is_none() {
            errors.add(field, label, "请填写日期和时间，如 2021-09-15 17:00");
        }
        t
    };
    let opens = time("opens_at", "开始申报时间");
    let ent = time("enterprise_deadline", "企业申报截止时间（默认）");
    let rec = time("recommend_deadline", "市州推荐截止时间");
    let mut city_values = Vec::new();
    for c in region::cities() {
        let v = get(&format!("city.{}", c.code));
        if v.is_empty() {
            city_values.push((c.code, None));
        } else {
            match clock::parse_local_datetime(&v) {
                Some(t) => city_values.push((c.code, Some(t))),
                None => {
                    errors.add(
                        "cities",
                        "各市州企业申报截止时间",
                        format!("{}的截止时间格式不正确", c.name),
                    );
                }
            }
        }
    }
    if let (Some(o), Some(e), Some(r)) = (opens, ent, rec) {
        if e <= o {
            errors.add(
                "enterprise_deadline",
                "企业申报截止时间（默认）",
                "截止时间应晚于开始申报时间",
            );
        }
        if r < e {
            errors.add(
                "recommend_deadline",
                "市州推荐截止时间",
                "市州推荐截止时间不应早于企业申报截止时间",
            );
        }
        for (code, t) in &city_values {
            if let Some(t) = t
                && *t > r
            {
                let name = region::city(code).map_or("", |c| c.name);
                errors.add(
                    "cities",
                    "各市州企业申报截止时间",
                    format!("{name}的企业截止时间晚于市州推荐截止时间"),
                );
            }
        }
    }
    if !errors.is_empty() {
        let cities = region::cities()
            .iter()
            .map(|c| CityRow {
                code: c.code,
                name: c.name,
                value: get(&format!("city.{}", c.code)),
            })
            .collect();
        let page = EditPage {
            page: Page::new(&state, &ctx, format!("批次设置：{}", batch.name)),
            opens_at: get("opens_at"),
            enterprise_deadline: get("enterprise_deadline"),
            recommend_deadline: get("recommend_deadline"),
            batch,
            cities,
            errors,
            notice: "",
        };
        return Ok((
            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
            Html(page.render()?),
        )
            .into_response());
    }
    let (o, e, r) = (
        opens.unwrap_or_default(),
        ent.unwrap_or_default(),
        rec.unwrap_or_default(),
    );
    let now = state.clock.now();
    let mut b = Batch::new();
    batches::update_dates(&mut b, &id, o, e, r);
    let mut detail = format!(
        "开始 {}；企业截止 {}；推荐截止 {}",
        clock::format_deadline(o),
        clock::format_deadline(e),
        clock::format_deadline(r)
    );
    for (code, t) in city_values {
        match t {
            Some(t) => {
                batches::set_city_deadline(&mut b, &id, code, t);
                detail.push_str(&format!(
                    "；{} {}",
                    region::city(code).map_or("", |c| c.name),
                    clock::format_deadline(t)
                ));
            }
            None => batches::clear_city_deadline(&mut b, &id, code),
        }
    }
    audit::record(
        &mut b,
        &ctx.actor(),
        Action::BatchUpdate,
        Some(&id),
        true,
        &detail,
        now,
    );
    state.db.write(b).await?;
    Ok(Redirect::to(&format!("/province/batches/{id}?saved=1")).into_response())
}

#[derive(Deserialize)]
struct FromQuery {
    #[serde(default)]
    from: String,
}

/// The fields of the new-batch form: key, label.
const NEW_FIELDS: [(&str, &str); 10] = [
    ("name", "批次名称"),
    ("doc_number", "通知文号"),
    ("notice_title", "通知标题"),
    ("notice_date", "通知日期"),
    ("reference_date", "年度基准日"),
    ("quota", "遴选名额"),
    ("opens_at", "开始申报时间"),
    ("enterprise_deadline", "企业申报截止时间（默认）"),
    ("recommend_deadline", "市州推荐截止时间"),
    ("notice_md", "通知全文"),
];

#[derive(Template)]
#[template(path = "province/batch_new.html")]
struct NewPage {
    page: Page,
    source: BatchRow,
    input: NewBatch,
    /// The 评价标准 the copy starts from: (name, max).
    criteria: Vec<(String, f64)>,
    total: f64,
    benchmarks: usize,
    /// Cities with a recommendation cap in the source batch.
    caps: usize,
    errors: Errors,
}

async fn source_of(state: &AppState, from: &str) -> AppResult<BatchRow> {
    let all = batches::all(&state.db).await?;
    // Without a choice, the newest batch that is not a demo copy.
    all.iter()
        .find(|b| b.id == from)
        .or_else(|| all.iter().find(|b| from.is_empty() && !b.is_demo))
        .or_else(|| all.first().filter(|_| from.is_empty()))
        .cloned()
        .ok_or(AppError::NotFound)
}

async fn render_new(
    state: &AppState,
    ctx: &Ctx,
    source: BatchRow,
    input: NewBatch,
    errors: Errors,
) -> AppResult<String> {
    let s = crate::services::review::settings(&state.db, &state.program, &source.id).await?;
    let criteria: Vec<(String, f64)> = s
        .criteria
        .criteria
        .iter()
        .map(|c| (c.name.clone(), c.max * c.weight))
        .collect();
    let page = NewPage {
        page: Page::new(state, ctx, "新建申报批次"),
        total: criteria.iter().map(|c| c.1).sum(),
        criteria,
        caps: crate::store::recommendations::caps(&state.db, &source.id)
            .await?
            .len(),
        benchmarks: crate::store::applications::benchmark_list(&state.db)
            .await?
            .len(),
        source,
        input,
        errors,
    };
    Ok(page.render()?)
}

async fn new_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<FromQuery>,
) -> AppResult<Html<String>> {
    ctx.require_role(Role::Province)?;
    let source = source_of(&state, &q.from).await?;
    let state = state.for_batch(&source.id).await?;
    let input = NewBatch::copy_of(&source, &state.program);
    Ok(Html(
        render_new(&state, &ctx, source, input, Errors::default()).await?,
    ))
}

async fn create(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(input): Form<NewBatchForm>,
) -> AppResult<Response> {
    ctx.require_role(Role::Province)?;
    let source = source_of(&state, &input.from).await?;
    let state = state.for_batch(&source.id).await?;
    let input = input.fields;
    let result = crate::services::batches::create(
        &state.db,
        &ctx.actor(),
        &source,
        &state.program,
        &input,
        state.clock.now(),
    )
    .await;
    let mut errors = Errors::default();
    match result {
        Ok(id) => {
            return Ok(Redirect::to(&format!("/province/batches/{id}?created=1")).into_response());
        }
        Err(Refusal::Fields(fs)) => {
            for (k, m) in fs {
                let label = NEW_FIELDS.iter().find(|f| f.0 == k).map_or("", |f| f.1);
                errors.add(k, label, m);
            }
        }
        Err(Refusal::Forbidden) => return Err(AppError::Forbidden),
        Err(Refusal::Stale) => {
            errors.1 = "刚才已有同名或同编号的批次建成，请回到批次列表查看后再试。".into()
        }
        Err(Refusal::Rule(m)) => errors.1 = m,
        Err(e) => return Err(anyhow::anyhow!(e.to_string()).into()),
    }
    Ok((
        axum::http::StatusCode::UNPROCESSABLE_ENTITY,
        Html(render_new(&state, &ctx, source, input, errors).await?),
    )
        .into_response())
}

#[derive(Deserialize)]
struct NewBatchForm {
    #[serde(default)]
    from: String,
    #[serde(flatten)]
    fields: NewBatch,
}
