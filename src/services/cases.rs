//! 典型案例: a selected enterprise that consented (申报要求 二（四）) writes its
//! case, prefilled from its 申报书; the province edits it and approves it
//! (or returns it with a note); approved cases are public.

use serde_json::Value;

use super::{Outcome, Refusal};
use crate::domain::form::ProgramDef;
use crate::domain::lifecycle::State;
use crate::store::applications::{self, Application};
use crate::store::audit::{self, Action, Actor};
use crate::store::cases::{self as cs, Case, Image, Status};
use crate::store::{Batch, Db, Millis};

/// The declaration by which an applicant agrees to its case being published.
pub const CONSENT: &str = "case_consent";
/// Most pictures per case.
pub const MAX_IMAGES: usize = 6;
/// Largest picture.
pub const MAX_IMAGE: u64 = 5 * 1024 * 1024;

/// What the enterprise or the province typed.
#[derive(Debug, Clone, Default)]
pub struct CaseInput {
    pub title: String,
    pub summary: String,
    pub body: String,
}

pub fn consented(app: &Application) -> bool {
    serde_json::from_str::<Vec<String>>(&app.declarations)
        .map(|d| d.iter().any(|k| k == CONSENT))
        .unwrap_or(false)
}

/// A first draft from the 申报书: sections 三 and 四 and the effects summary.
pub async fn prefill(db: &Db, program: &ProgramDef, app: &Application) -> Outcome<CaseInput> {
    let answers = applications::content(db, &app.id)
        .await?
        .map(|(_, v)| v)
        .unwrap_or(Value::Null);
    let text = |k: &str| {
        answers
            .get(k)
            .and_then(Value::as_str)
            .unwrap_or("")
            .trim()
            .to_string()
    };
    let mut body = String::new();
    for (k, heading) in [
        ("construction", "一、项目建设内容"),
        ("investment", "二、项目建设投入"),
        ("innovation", "三、技术难点和主要创新点"),
        ("direct_effects", "四、上云成效"),
        ("demonstration", "五、示范作用"),
    ] {
        let t = text(k);
        if !t.is_empty() {
            body.push_str(heading);
            body.push('\n');
            body.push_str(&t);
            body.push_str("\n\n");
        }
    }
    let row = crate::docs::RecommendationRow::from_answers(program, &answers, "", 0);
    Ok(CaseInput {
        title: format!("{}上云典型案例", app.enterprise_name),
        summary: row.effects.chars().take(300).collect(),
        body: body.trim_end().to_string(),
    })
}

fn check(input: &CaseInput, complete: bool) -> Vec<(&'static str, String)> {
    let mut errors = Vec::new();
    let n = |s: &str| s.trim().chars().count();
    if n(&input.title) == 0 || n(&input.title) > 60 {
        errors.push(("title", "请填写案例标题（不超过60字）".to_string()));
    }
    if n(&input.summary) > 500 || (complete && n(&input.summary) == 0) {
        errors.push(("summary", "请填写案例摘要（不超过500字）".to_string()));
    }
    if n(&input.body) > 20000 {
        errors.push(("body", "案例正文不能超过20000字".to_string()));
    } else if complete && n(&input.body) < 200 {
        errors.push(("body", "案例正文不少于200字".to_string()));
    }
    errors
}

fn case_of(app: &Application, input: &CaseInput) -> Case {
    Case {
        application_id: app.id.clone(),
        batch_id: app.batch_id.clone(),
        title: input.title.trim().into(),
        summary: input.summary.trim().into(),
        body: input.body.trim().into(),
        status: Status::Draft,
        note: String::new(),
        version: 0,
        updated_at: 0,
        approved_at: None,
    }
}

/// Whether `app` (the enterprise's) may have a case written now.
fn writable(app: &Application, current: Option<&Case>) -> Outcome<()> {
    if app.state != State::Selected {
        return Err(Refusal::Rule("入选上云标杆企业后才能撰写典型案例。".into()));
    }
    if !consented(app) {
        return Err(Refusal::Rule(
            "申报时未同意公开发布典型案例，如需发布请联系省经信厅。".into(),
        ));
    }
    if let Some(c) = current
        && matches!(c.status, Status::Submitted | Status::Approved)
    {
        return Err(Refusal::Rule(format!(
            "案例{}，不能再修改。",
            c.status.label()
        )));
    }
    Ok(())
}

/// The enterprise saves its case (with `submit`: complete, then sent to the province).
pub async fn save(
    db: &Db,
    actor: &Actor,
    app: &Application,
    input: &CaseInput,
    submit: bool,
    expected: i64,
    now: Millis,
) -> Outcome<()> {
    let current = cs::get(db, &app.id).await?;
    writable(app, current.as_ref())?;
    if current.as_ref().map_or(0, |c| c.version) != expected {
        return Err(Refusal::Stale);
    }
    let errors = check(input, submit);
    if !errors.is_empty() {
        return Err(Refusal::Fields(errors));
    }
    let status = if submit {
        Status::Submitted
    } else {
        current.as_ref().map_or(Status::Draft, |c| c.status)
    };
    let mut b = Batch::new();
    cs::save(
        &mut b,
        &case_of(app, input),
        expected,
        status,
        "",
        &actor.name,
        now,
        false,
    );
    audit::record(
        &mut b,
        actor,
        if submit {
            Action::CaseSubmit
        } else {
            Action::CaseSave
        },
        Some(&app.id),
        true,
        input.title.trim(),
        now,
    );
    db.write(b).await.map_err(Refusal::from_write)?;
    Ok(())
}

/// The province edits a submitted (or approved) case and approves it, or
/// returns it to the enterprise with a note.
#[allow(clippy::too_many_arguments)]
pub async fn review(
    db: &Db,
    actor: &Actor,
    app: &Application,
    input: &CaseInput,
    approve: bool,
    note: &str,
    expected: i64,
    now: Millis,
) -> Outcome<()> {
    let current = cs::get(db, &app.id).await?.ok_or(Refusal::Stale)?;
    if !matches!(current.status, Status::Submitted | Status::Approved) {
        return Err(Refusal::Rule("企业尚未提交该案例。".into()));
    }
    if current.version != expected {
        return Err(Refusal::Stale);
    }
    let mut errors = check(input, approve);
    if !approve && note.trim().is_empty() {
        errors.push(("note", "退回时请写明修改意见".to_string()));
    }
    if !errors.is_empty() {
        return Err(Refusal::Fields(errors));
    }
    let status = if approve {
        Status::Approved
    } else {
        Status::Returned
    };
    let mut b = Batch::new();
    cs::save(
        &mut b,
        &case_of(app, input),
        expected,
        status,
        note.trim(),
        &actor.name,
        now,
        approve,
    );
    audit::record(
        &mut b,
        actor,
        if approve {
            Action::CaseApprove
        } else {
            Action::CaseReturn
        },
        Some(&app.id),
        true,
        input.title.trim(),
        now,
    );
    db.write(b).await.map_err(Refusal::from_write)?;
    Ok(())
}

/// Records a picture already stored under `image.storage_key` (JPEG or PNG).
pub async fn add_image(db: &Db, app: &Application, image: &Image, now: Millis) -> Outcome<()> {
    let current = cs::get(db, &app.id).await?;
    writable(app, current.as_ref())?;
    if !matches!(image.content_type.as_str(), "image/jpeg" | "image/png") {
        return Err(Refusal::Fields(vec![(
            "image",
            "案例图片只接受 JPG 或 PNG".to_string(),
        )]));
    }
    if cs::images(db, &app.id).await?.len() >= MAX_IMAGES {
        return Err(Refusal::Fields(vec![(
            "image",
            format!("每个案例最多{MAX_IMAGES}张图片"),
        )]));
    }
    let mut b = Batch::new();
    cs::add_image(&mut b, image, now);
    db.write(b).await.map_err(Refusal::from_write)?;
    Ok(())
}
