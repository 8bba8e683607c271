//! A new batch of a program, created by the province in the browser as a
//! copy of an earlier one: its own name, document number, reference date,
//! dates, quota and notice, the earlier batch's form and 评价标准. It keeps
//! the definition texts it was created from, so it opens for applications
//! at once (no file edit, no restart) and reads later as it was.

use jiff::civil::Date;

use super::{Outcome, Refusal};
use crate::clock;
use crate::domain::form::{DefError, NOTICE_FILE, ProgramDef, Sources};
use crate::store::audit::{self, Action, Actor};
use crate::store::batches::{self, BatchRow};
use crate::store::recommendations;
use crate::store::review::{self as rs, Settings};
use crate::store::{Batch, Db, Millis, StoreError};

/// What the province types for a new batch (as posted).
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct NewBatch {
    pub name: String,
    pub doc_number: String,
    pub notice_title: String,
    pub notice_date: String,
    pub reference_date: String,
    pub quota: String,
    pub opens_at: String,
    pub enterprise_deadline: String,
    pub recommend_deadline: String,
    pub notice_md: String,
}

impl NewBatch {
    /// The form for a copy of `source` (defined by `def`): its texts, with
    /// the name, dates and document number left for the province to fill.
    pub fn copy_of(source: &BatchRow, def: &ProgramDef) -> NewBatch {
        let b = &def.program.batch;
        NewBatch {
            name: String::new(),
            doc_number: String::new(),
            notice_title: String::new(),
            notice_date: String::new(),
            reference_date: String::new(),
            quota: source.quota.to_string(),
            opens_at: String::new(),
            enterprise_deadline: String::new(),
            recommend_deadline: String::new(),
            notice_md: def.sources.notice_md.clone().unwrap_or_else(|| {
                format!(
                    "+++\nissuer = \"{}\"\n+++\n\n{}\n",
                    def.program.issuer, b.notice_title
                )
            }),
        }
    }
}

/// Longest name, document number and title, in characters.
const MAX_NAME: usize = 100;
const MAX_NOTICE: usize = 100_000;

/// Creates the batch and returns its id. Refused with the fields at fault.
pub async fn create(
    db: &Db,
    actor: &Actor,
    source: &BatchRow,
    source_def: &ProgramDef,
    input: &NewBatch,
    now: Millis,
) -> Outcome<String> {
    let mut errors: Vec<(&'static str, String)> = Vec::new();
    let text = |v: &str, field: &'static str, label: &str, errors: &mut Vec<_>| {
        let v = v.trim().to_string();
        if v.is_empty() {
            errors.push((field, format!("请填写{label}")));
        } else if v.chars().count() > MAX_NAME {
            errors.push((field, format!("{label}不超过{MAX_NAME}字")));
        } else if v.chars().any(char::is_control) {
            errors.push((field, format!("{label}含有不可见字符")));
        }
        v
    };
    let name = text(&input.name, "name", "批次名称", &mut errors);
    let doc_number = text(&input.doc_number, "doc_number", "通知文号", &mut errors);
    let notice_title = text(&input.notice_title, "notice_title", "通知标题", &mut errors);
    let all = batches::all(db).await?;
    if !name.is_empty() && all.iter().any(|b| b.name == name) {
        errors.push((
            "name",
            "已有同名批次，请换一个名称（如写明年份或批次）".into(),
        ));
    }
    let date = |v: &str, field: &'static str, errors: &mut Vec<_>| {
        let d = v.trim().parse::<Date>().ok();
        if d.is_none() {
            errors.push((field, "请填写日期，如 2022-09-07".to_string()));
        }
        d
    };
    let notice_date = date(&input.notice_date, "notice_date", &mut errors);
    let reference_date = date(&input.reference_date, "reference_date", &mut errors);
    let quota = match input.quota.trim().parse::<u32>() {
        Ok(q) if (1..=10_000).contains(&q) => Some(q),
        _ => {
            errors.push(("quota", "请填写 1–10000 之间的整数".into()));
            None
        }
    };
    let time = |v: &str, field: &'static str, errors: &mut Vec<_>| {
        let t = clock::parse_local_datetime(v);
        if t.is_none() {
            errors.push((field, "请填写日期和时间，如 2022-09-15 17:00".to_string()));
        }
        t
    };
    let opens = time(&input.opens_at, "opens_at", &mut errors);
    let ent = time(
        &input.enterprise_deadline,
        "enterprise_deadline",
        &mut errors,
    );
    let rec = time(&input.recommend_deadline, "recommend_deadline", &mut errors);
    if let (Some(o), Some(e), Some(r)) = (opens, ent, rec) {
        if e <= o {
            errors.push(("enterprise_deadline", "截止时间应晚于开始申报时间".into()));
        }
        if r < e {
            errors.push((
                "recommend_deadline",
                "市州推荐截止时间不应早于企业申报截止时间".into(),
            ));
        }
    }
    let notice_md = input.notice_md.replace("\r\n", "\n");
    if notice_md.chars().count() > MAX_NOTICE {
        errors.push(("notice_md", format!("通知全文不超过{MAX_NOTICE}字")));
    }
    if !errors.is_empty() {
        return Err(Refusal::Fields(errors));
    }
    let (Some(notice_date), Some(reference_date), Some(quota), Some(o), Some(e), Some(r)) =
        (notice_date, reference_date, quota, opens, ent, rec)
    else {
        return Err(Refusal::Rule("填写有误".into()));
    };

    // The 评价标准 the earlier batch reviews with now (edited or not).
    let criteria = rs::settings(db, &source.id)
        .await?
        .map(|s| s.criteria)
        .unwrap_or_else(|| source_def.review_criteria());
    let program_toml = program_text(
        &source_def.sources.program_toml,
        &Fields {
            name: &name,
            doc_number: &doc_number,
            notice_title: &notice_title,
            notice_date,
            reference_date,
            quota,
            enterprise_deadline: e,
            recommend_deadline: r,
        },
        &criteria,
    )
    .map_err(|e| Refusal::Rule(format!("原批次的申报书定义无法复制：{e}")))?;
    let sources = Sources {
        program_toml,
        form_toml: source_def.sources.form_toml.clone(),
        notice_md: (!notice_md.trim().is_empty()).then_some(notice_md),
    };
    // The copy is checked as a definition file is at start.
    let def = ProgramDef::from_sources_with_notice(
        &sources.program_toml,
        &sources.form_toml,
        sources.notice_md.as_deref(),
    )
    .map_err(definition_refusal)?;

    let year = reference_date.year();
    let n = all
        .iter()
        .filter(|b| b.id.starts_with(&format!("batch-{year}-")))
        .count();
    let id = format!("batch-{year}-{}", n + 1);
    let row = BatchRow {
        id: id.clone(),
        program_key: def.program.key.clone(),
        name: name.clone(),
        quota: i64::from(quota),
        opens_at: o,
        enterprise_deadline: e,
        recommend_deadline: r,
        is_demo: false,
    };
    let mut b = Batch::new();
    batches::create(&mut b, &row, &sources, now);
    // The review starts from the earlier batch's settings, without its
    // deadline, leader and panels (people of another year).
    let mut settings = Settings::defaults(&id, criteria);
    if let Some(old) = rs::settings(db, &source.id).await? {
        settings.per_application = old.per_application;
        settings.max_per_expert = old.max_per_expert;
        settings.same_city = old.same_city;
        settings.blind = old.blind;
        settings.trimmed = old.trimmed;
        settings.zscore = old.zscore;
        settings.spread_threshold = old.spread_threshold;
    }
    rs::save_settings(&mut b, &settings, &actor.name, now);
    // Each city's recommendation cap, as the earlier batch had it.
    let caps = recommendations::caps(db, &source.id).await?;
    for (city, cap) in &caps {
        recommendations::set_cap(&mut b, &id, city, Some(*cap));
    }
    audit::record(
        &mut b,
        actor,
        Action::BatchCreate,
        Some(&id),
        true,
        &format!(
            "{name}（{doc_number}），复制自“{}”（含{}个市州推荐名额上限）；开始 {}；企业截止 {}；推荐截止 {}；名额 {quota}",
            source.name,
            caps.len(),
            clock::format_deadline(o),
            clock::format_deadline(e),
            clock::format_deadline(r)
        ),
        now,
    );
    match db.write(b).await {
        Ok(_) => Ok(id),
        Err(StoreError::Unique(_)) | Err(StoreError::Conflict(_)) => Err(Refusal::Stale),
        Err(e) => Err(e.into()),
    }
}

struct Fields<'a> {
    name: &'a str,
    doc_number: &'a str,
    notice_title: &'a str,
    notice_date: Date,
    reference_date: Date,
    quota: u32,
    enterprise_deadline: Millis,
    recommend_deadline: Millis,
}

/// `program.toml` of the source with its `[batch]` table and 评价标准
/// replaced; comments and everything else kept as written.
fn program_text(
    source: &str,
    f: &Fields<'_>,
    criteria: &crate::domain::scoring::Sheet,
) -> Result<String, toml_edit::TomlError> {
    use toml_edit::{ArrayOfTables, DocumentMut, Item, Table, value};
    let mut doc: DocumentMut = source.parse()?;
    if !doc.contains_table("batch") {
        doc.insert("batch", Item::Table(Table::new()));
    }
    let batch = &mut doc["batch"];
    batch["name"] = value(f.name);
    batch["doc_number"] = value(f.doc_number);
    batch["notice_title"] = value(f.notice_title);
    batch["notice_date"] = value(f.notice_date.to_string());
    batch["reference_date"] = value(f.reference_date.to_string());
    batch["quota"] = value(i64::from(f.quota));
    batch["enterprise_deadline"] = value(clock::rfc3339(f.enterprise_deadline));
    batch["recommend_deadline"] = value(clock::rfc3339(f.recommend_deadline));
    let mut list = ArrayOfTables::new();
    for c in &criteria.criteria {
        let mut t = Table::new();
        t["key"] = value(c.key.as_str());
        t["name"] = value(c.name.as_str());
        t["description"] = value(c.description.as_str());
        t["max"] = value(c.max);
        t["weight"] = value(c.weight);
        list.push(t);
    }
    doc.insert("review_criteria", Item::ArrayOfTables(list));
    Ok(doc.to_string())
}

/// A copy that does not load: problems in the notice text go to its field
/// (with their line), any other is the province's to report.
fn definition_refusal(e: DefError) -> Refusal {
    let mut notice = Vec::new();
    let mut other = Vec::new();
    for p in e.problems() {
        if p.file == NOTICE_FILE {
            notice.push(format!("第{}行：{}", p.line, p.reason));
        } else {
            other.push(p.to_string());
        }
    }
    if !other.is_empty() {
        return Refusal::Rule(format!(
            "新批次的申报书定义有误，请联系系统管理员：{}",
            other.join("；")
        ));
    }
    if notice.is_empty() {
        return Refusal::Rule(e.to_string());
    }
    Refusal::Fields(vec![("notice_md", notice.join("；"))])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_copy_keeps_the_form_and_takes_the_new_batch_fields() {
        let def = ProgramDef::builtin();
        let f = Fields {
            name: "第三批湖北省上云标杆企业",
            doc_number: "鄂经信办函〔2022〕12号",
            notice_title: "关于组织申报第三批湖北省上云标杆企业的通知",
            notice_date: "2022-08-01".parse().unwrap(),
            reference_date: "2022-08-01".parse().unwrap(),
            quota: 40,
            enterprise_deadline: clock::parse_local_datetime("2022-08-20T17:00").unwrap(),
            recommend_deadline: clock::parse_local_datetime("2022-08-30T23:59").unwrap(),
        };
        let mut sheet = def.review_criteria();
        sheet.criteria.truncate(2);
        let text = program_text(&def.sources.program_toml, &f, &sheet).unwrap();
        // Comments of the source stay.
        assert!(text.contains("# 申报单位承诺"));
        let copy = ProgramDef::from_sources_with_notice(
            &text,
            &def.sources.form_toml,
            def.sources.notice_md.as_deref(),
        )
        .unwrap();
        let b = &copy.program.batch;
        assert_eq!(b.name, f.name);
        assert_eq!(b.doc_number, f.doc_number);
        assert_eq!(b.quota, 40);
        assert_eq!(b.reference_date.to_string(), "2022-08-01");
        assert_eq!(
            b.enterprise_deadline.as_millisecond(),
            f.enterprise_deadline
        );
        assert_eq!(copy.program.review_criteria.len(), 2);
        // The form's {Y-n} years follow the new reference year.
        assert_ne!(
            serde_json::to_string(&copy.form).unwrap(),
            serde_json::to_string(&def.form).unwrap()
        );
        assert!(serde_json::to_string(&copy.form).unwrap().contains("2021"));
        assert_eq!(
            copy.program.commitments.len(),
            def.program.commitments.len()
        );
    }

    #[test]
    fn a_broken_notice_is_refused_at_its_field_with_its_line() {
        let def = ProgramDef::builtin();
        let e = ProgramDef::from_sources_with_notice(
            &def.sources.program_toml,
            &def.sources.form_toml,
            Some("+++\nissuer = 1\n+++\n正文"),
        )
        .unwrap_err();
        match definition_refusal(e) {
            Refusal::Fields(f) => {
                assert_eq!(f[0].0, "notice_md");
                assert!(f[0].1.starts_with("第2行"), "{}", f[0].1);
            }
            other => panic!("{other:?}"),
        }
    }
}
