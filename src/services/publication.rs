//! Publication: opening the 公示 of the locked shortlist, 实名 objections
//! (taken only during the period, limited per address and per phone), their
//! verification by the applicant's city and the province's decision, and the
//! final 公告. One function per state change (see the module above).

use jiff::ToSpan;
use jiff::civil::Date;
use serde_json::json;

use super::{Outcome, Refusal};
use crate::clock;
use crate::domain::calendar;
use crate::domain::contact::{Email, MobilePhone};
use crate::domain::form::{ProgramDef, canonical_json, fingerprint};
use crate::domain::lifecycle::State;
use crate::domain::region;
use crate::domain::role::Role;
use crate::store::applications;
use crate::store::audit::{self, Action, Actor};
use crate::store::batches::BatchRow;
use crate::store::publication::{self as ps, Evidence, Item, Objection, Publicity, Status};
use crate::store::review as rs;
use crate::store::{Batch, Db, Millis, new_id};

/// The notice's usual period.
pub const DEFAULT_WORKING_DAYS: u32 = 5;
/// Objections one phone number may file in one 公示.
pub const PER_PHONE: i64 = 3;
/// Objections one address may file in 24 hours (an office behind one NAT files a few).
pub const PER_ADDRESS_PER_DAY: i64 = 10;
/// Longest statement of facts and reasons.
pub const MAX_FACTS: usize = 5000;
/// Shortest statement: facts, not a word.
pub const MIN_FACTS: usize = 20;

const DAY_MS: Millis = 24 * 3600 * 1000;

/// The instant a day starts in Asia/Shanghai.
fn day_start(d: Date) -> Millis {
    d.to_zoned(clock::shanghai())
        .map(|z| z.timestamp().as_millisecond())
        .unwrap_or(0)
}

/// The period of `n` working days that begins on `start` (the first working
/// day on or after it): (first day, last day).
pub fn period(start: Date, n: u32) -> (Date, Date) {
    let first = calendar::next_working_day(start);
    (first, calendar::period_end(first, n))
}

/// Opens the 公示 of the batch's locked shortlist, from `start` for `days`
/// working days; the public list is fixed now (name, city, industry, main
/// cloud services: nothing private).
pub async fn open(
    db: &Db,
    program: &ProgramDef,
    actor: &Actor,
    batch: &BatchRow,
    start: Date,
    days: u32,
    now: Millis,
) -> Outcome<Publicity> {
    if ps::publicity(db, &batch.id).await?.is_some() {
        return Err(Refusal::Rule("本批次已发布公示，不能重复发布。".into()));
    }
    let shortlist = rs::shortlist(db, &batch.id).await?;
    if shortlist.locked_at.is_none() || shortlist.items.is_empty() {
        return Err(Refusal::Rule(
            "入围名单尚未锁定，请先在“评审结果与入围名单”中锁定后再发布公示。".into(),
        ));
    }
    let mut errors = Vec::new();
    if start < clock::date_of(now) {
        errors.push(("start", "公示开始日期不能早于今天".to_string()));
    }
    if !(1..=30).contains(&days) {
        errors.push(("days", "公示期应为 1–30 个工作日".to_string()));
    }
    if !errors.is_empty() {
        return Err(Refusal::Fields(errors));
    }
    let (first, last) = period(start, days);
    let p = Publicity {
        batch_id: batch.id.clone(),
        starts_on: first.to_string(),
        ends_on: last.to_string(),
        start_at: day_start(first),
        end_at: day_start(last.saturating_add(1.day())) - 1,
        working_days: days as i64,
        opened_at: now,
        opened_by: actor.name.clone(),
        final_doc_number: None,
        final_date: None,
        final_at: None,
        final_list: None,
        final_fingerprint: None,
    };
    let mut b = Batch::new();
    ps::open(&mut b, &p);
    for (i, it) in shortlist.items.iter().enumerate() {
        let app = applications::by_id(db, &it.application_id)
            .await?
            .ok_or(Refusal::Stale)?;
        let answers = applications::content(db, &app.id)
            .await?
            .map(|(_, v)| v)
            .unwrap_or_default();
        let row = crate::docs::RecommendationRow::from_answers(program, &answers, "", 0);
        ps::add_item(
            &mut b,
            &batch.id,
            &Item {
                application_id: app.id.clone(),
                position: i as i64 + 1,
                enterprise_name: app.enterprise_name.clone(),
                city: region::city(&app.city_code).map_or("", |c| c.name).into(),
                industry: app.industry.clone(),
                services: row.cloud_services,
            },
        );
        super::notify::publicity_opened(
            &mut b,
            &app.enterprise_id,
            &app.enterprise_name,
            (&batch.id, &batch.name),
            (&p.starts_on, &p.ends_on),
            now,
        );
    }
    audit::record(
        &mut b,
        actor,
        Action::PublicityOpen,
        Some(&batch.id),
        true,
        &format!(
            "公示{}家，{} 至 {}（{}个工作日）",
            shortlist.items.len(),
            p.starts_on,
            p.ends_on,
            days
        ),
        now,
    );
    db.write(b).await.map_err(Refusal::from_write)?;
    Ok(p)
}

/// An objection as typed on the public form.
#[derive(Debug, Clone, Default)]
pub struct ObjectionInput {
    pub application_id: String,
    pub name: String,
    pub unit: String,
    pub phone: String,
    pub email: String,
    pub facts: String,
}

/// A receipt number (查询码): 12 characters without look-alikes.
fn receipt() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut b = [0u8; 12];
    getrandom::fill(&mut b).expect("operating system random source");
    b.iter()
        .map(|x| ALPHABET[*x as usize % ALPHABET.len()] as char)
        .collect()
}

/// The objector as the audit log and timeline name them: by receipt, never by name.
fn who_of(o: &Objection, ip: &str) -> Actor {
    Actor {
        id: None,
        name: format!("异议人（查询码 {}）", o.receipt),
        role: None,
        ip: ip.into(),
    }
}

/// The field problems of an objection (before anything is stored).
pub fn check_objection(input: &ObjectionInput, listed: &[Item]) -> Vec<(&'static str, String)> {
    let mut errors = Vec::new();
    let len = |s: &str| s.trim().chars().count();
    if !listed
        .iter()
        .any(|i| i.application_id == input.application_id)
    {
        errors.push(("application", "请选择被异议的公示企业".to_string()));
    }
    if len(&input.name) == 0 {
        errors.push(("name", "请填写真实姓名（不受理匿名异议）".to_string()));
    } else if len(&input.name) > 30 {
        errors.push(("name", "姓名不能超过30个字".to_string()));
    }
    if len(&input.unit) == 0 {
        errors.push(("unit", "请填写工作单位（个人可填“个人”）".to_string()));
    } else if len(&input.unit) > 100 {
        errors.push(("unit", "工作单位不能超过100个字".to_string()));
    }
    if let Err(e) = MobilePhone::parse(&input.phone) {
        errors.push(("phone", e.to_string()));
    }
    if let Err(e) = Email::parse(&input.email) {
        errors.push(("email", e.to_string()));
    }
    if len(&input.facts) < MIN_FACTS {
        errors.push((
            "facts",
            format!("请写明异议的事实和理由（不少于{MIN_FACTS}个字）"),
        ));
    } else if len(&input.facts) > MAX_FACTS {
        errors.push(("facts", format!("事实和理由不能超过{MAX_FACTS}个字")));
    }
    errors
}

/// Files a 实名 objection: only during the period (server clock), within
/// the per-phone and per-address limits. Returns the receipt number.
pub async fn file_objection(
    db: &Db,
    batch_id: &str,
    input: &ObjectionInput,
    evidence: Option<Evidence>,
    ip: &str,
    now: Millis,
) -> Outcome<String> {
    let p = ps::publicity(db, batch_id)
        .await?
        .ok_or_else(|| Refusal::Rule("本批次尚未发布公示，暂不受理异议。".into()))?;
    if now < p.start_at {
        return Err(Refusal::Rule(format!(
            "公示期自 {} 开始，开始前不受理异议。",
            p.starts_on
        )));
    }
    if now > p.end_at {
        return Err(Refusal::Rule(format!(
            "公示期已于 {} 结束，不再受理异议。",
            clock::format_datetime(p.end_at)
        )));
    }
    let listed = ps::items(db, batch_id).await?;
    let errors = check_objection(input, &listed);
    if !errors.is_empty() {
        return Err(Refusal::Fields(errors));
    }
    let phone = MobilePhone::parse(&input.phone)
        .map(|p| p.as_str().to_string())
        .unwrap_or_default();
    if ps::count_by_phone(db, batch_id, &phone).await? >= PER_PHONE {
        return Err(Refusal::Fields(vec![(
            "phone",
            format!(
                "同一手机号在本次公示期内最多提交{PER_PHONE}件异议，已达上限。如需补充材料，请联系省经信厅信息化推进处。"
            ),
        )]));
    }
    if ps::count_by_ip(db, ip, now - DAY_MS).await? >= PER_ADDRESS_PER_DAY {
        return Err(Refusal::Rule(format!(
            "同一网络地址24小时内最多提交{PER_ADDRESS_PER_DAY}件异议，请稍后再试或电话联系省经信厅信息化推进处。"
        )));
    }
    let o = Objection {
        id: new_id(),
        receipt: receipt(),
        batch_id: batch_id.into(),
        application_id: input.application_id.clone(),
        name: input.name.trim().into(),
        unit: input.unit.trim().into(),
        phone,
        email: input.email.trim().into(),
        facts: input.facts.trim().into(),
        evidence,
        ip: ip.into(),
        status: Status::Received,
        verify_request: String::new(),
        verify_deadline: None,
        findings: String::new(),
        verified_at: None,
        verified_by: None,
        upheld: None,
        decision_reason: String::new(),
        cancel: None,
        decided_at: None,
        version: 0,
        answer: String::new(),
        answered_at: None,
        created_at: now,
    };
    let mut b = Batch::new();
    ps::insert(&mut b, &o);
    // The timeline is read by the city and the enterprise: no receipt, no name.
    let public = Actor {
        name: "公众（实名异议）".into(),
        ..who_of(&o, ip)
    };
    timeline(
        db,
        &mut b,
        &o.application_id,
        &public,
        "收到公示期间实名异议",
        now,
    )
    .await?;
    let batch_name = crate::store::batches::by_id(db, batch_id)
        .await?
        .map(|b| b.name)
        .unwrap_or_default();
    let enterprise = listed
        .iter()
        .find(|i| i.application_id == o.application_id)
        .map_or("", |i| i.enterprise_name.as_str());
    super::notify::objection_received(db, &mut b, enterprise, &batch_name, &o.id, now).await?;
    let who = who_of(&o, ip);
    audit::record(
        &mut b,
        &who,
        Action::ObjectionFile,
        Some(&o.application_id),
        true,
        "收到实名异议",
        now,
    );
    db.write(b).await.map_err(Refusal::from_write)?;
    Ok(o.receipt)
}

/// A line in the application's 办理进度 for a step of an objection (the
/// state does not change; no one's identity is written).
async fn timeline(
    db: &Db,
    b: &mut Batch,
    application_id: &str,
    actor: &Actor,
    reason: &str,
    now: Millis,
) -> Outcome<()> {
    let app = applications::by_id(db, application_id)
        .await?
        .ok_or(Refusal::Stale)?;
    applications::timeline(b, &app, app.state, actor, reason, now);
    Ok(())
}

/// The province asks the applicant's city to verify (核查) by `deadline`.
pub async fn request_verification(
    db: &Db,
    actor: &Actor,
    o: &Objection,
    request: &str,
    deadline: Option<Millis>,
    now: Millis,
) -> Outcome<()> {
    let mut errors = Vec::new();
    if request.trim().is_empty() || request.chars().count() > 2000 {
        errors.push((
            "request",
            "请写明需要市州核查的事项（不超过2000字）".to_string(),
        ));
    }
    let deadline = match deadline {
        Some(d) if d > now => d,
        _ => {
            errors.push(("deadline", "请选择今天以后的核查截止时间".to_string()));
            0
        }
    };
    if o.status == Status::Decided {
        return Err(Refusal::Rule("该异议已办结。".into()));
    }
    if !errors.is_empty() {
        return Err(Refusal::Fields(errors));
    }
    let mut b = Batch::new();
    ps::request_verification(&mut b, o, request.trim(), deadline);
    timeline(
        db,
        &mut b,
        &o.application_id,
        actor,
        "公示异议交所在市州核查",
        now,
    )
    .await?;
    audit::record(
        &mut b,
        actor,
        Action::ObjectionVerifyRequest,
        Some(&o.id),
        true,
        &format!("核查截止 {}", clock::format_deadline(deadline)),
        now,
    );
    db.write(b).await.map_err(Refusal::from_write)?;
    Ok(())
}

/// The applicant's city records what its verification found.
pub async fn record_findings(
    db: &Db,
    actor: &Actor,
    city_code: &str,
    o: &Objection,
    findings: &str,
    now: Millis,
) -> Outcome<()> {
    let app = applications::by_id(db, &o.application_id)
        .await?
        .ok_or(Refusal::Forbidden)?;
    if app.city_code != city_code {
        return Err(Refusal::Forbidden);
    }
    if o.status != Status::Verifying {
        return Err(Refusal::Rule("该异议当前不需要本市核查。".into()));
    }
    if findings.trim().chars().count() < 10 || findings.chars().count() > 5000 {
        return Err(Refusal::Fields(vec![(
            "findings",
            "请写明核查情况（10–5000字）".to_string(),
        )]));
    }
    let mut b = Batch::new();
    ps::record_findings(&mut b, o, findings.trim(), &actor.name, now);
    timeline(
        db,
        &mut b,
        &o.application_id,
        actor,
        "市州报送异议核查情况",
        now,
    )
    .await?;
    audit::record(
        &mut b,
        actor,
        Action::ObjectionFindings,
        Some(&o.id),
        true,
        "提交核查情况",
        now,
    );
    db.write(b).await.map_err(Refusal::from_write)?;
    Ok(())
}

/// The province decides: 成立/不成立 with reasons, and the outcome for the
/// enterprise (维持/取消入选, applied at the final 公告).
pub async fn decide(
    db: &Db,
    actor: &Actor,
    o: &Objection,
    upheld: Option<bool>,
    cancel: bool,
    reason: &str,
    now: Millis,
) -> Outcome<()> {
    if o.status == Status::Decided {
        return Err(Refusal::Rule("该异议已办结，不能再次决定。".into()));
    }
    let mut errors = Vec::new();
    let Some(upheld) = upheld else {
        errors.push(("decision", "请选择异议是否成立".to_string()));
        return Err(Refusal::Fields(errors));
    };
    if reason.trim().chars().count() < 5 || reason.chars().count() > 3000 {
        errors.push(("reason", "请写明处理理由（5–3000字）".to_string()));
    }
    if cancel && !upheld {
        errors.push(("outcome", "异议不成立时不能取消入选".to_string()));
    }
    if !errors.is_empty() {
        return Err(Refusal::Fields(errors));
    }
    let mut b = Batch::new();
    ps::decide(&mut b, o, upheld, cancel, reason.trim(), &actor.name, now);
    let outcome = match (upheld, cancel) {
        (true, true) => "公示异议处理：异议成立，取消入选",
        (true, false) => "公示异议处理：异议成立，维持入选",
        _ => "公示异议处理：异议不成立，维持入选",
    };
    timeline(db, &mut b, &o.application_id, actor, outcome, now).await?;
    if let Some(app) = applications::by_id(db, &o.application_id).await? {
        let batch_name = crate::store::batches::by_id(db, &o.batch_id)
            .await?
            .map(|b| b.name)
            .unwrap_or_default();
        let result = outcome.trim_start_matches("公示异议处理：");
        super::notify::objection_decided(
            &mut b,
            &app.enterprise_id,
            &app.enterprise_name,
            &app.id,
            &batch_name,
            (result, reason.trim()),
            now,
        );
    }
    audit::record(
        &mut b,
        actor,
        Action::ObjectionDecision,
        Some(&o.id),
        true,
        &format!(
            "{}{}",
            if upheld {
                "异议成立"
            } else {
                "异议不成立"
            },
            if cancel {
                "，取消入选"
            } else {
                "，维持入选"
            }
        ),
        now,
    );
    db.write(b).await.map_err(Refusal::from_write)?;
    Ok(())
}

/// Publishes the final list once the period has ended and every objection is
/// closed: the list (less any cancelled) is stored with its fingerprint and
/// never changes; listed applications become 入选, cancelled ones 未入选.
pub async fn publish_final(
    db: &Db,
    actor: &Actor,
    batch: &BatchRow,
    doc_number: &str,
    date: &str,
    now: Millis,
) -> Outcome<String> {
    let p = ps::publicity(db, &batch.id)
        .await?
        .ok_or_else(|| Refusal::Rule("本批次尚未发布公示。".into()))?;
    if p.final_at.is_some() {
        return Err(Refusal::Rule("最终名单已公布，不能再修改。".into()));
    }
    if now <= p.end_at {
        return Err(Refusal::Rule(format!(
            "公示期至 {} 结束，期满后才能公布最终名单。",
            clock::format_datetime(p.end_at)
        )));
    }
    let objections = ps::for_batch(db, &batch.id).await?;
    let open = objections
        .iter()
        .filter(|o| o.status != Status::Decided)
        .count();
    if open > 0 {
        return Err(Refusal::Rule(format!(
            "还有{open}件异议未办结，全部办结后才能公布最终名单。"
        )));
    }
    let mut errors = Vec::new();
    let doc_number = doc_number.trim();
    if doc_number.is_empty() || doc_number.chars().count() > 50 {
        errors.push((
            "doc_number",
            "请填写公告文号（如：鄂经信办函〔2021〕90号）".to_string(),
        ));
    }
    let date_ok = date.trim().parse::<Date>().is_ok();
    if !date_ok {
        errors.push(("date", "请选择公告日期".to_string()));
    }
    if !errors.is_empty() {
        return Err(Refusal::Fields(errors));
    }
    let cancelled: Vec<&str> = objections
        .iter()
        .filter(|o| o.cancel == Some(true))
        .map(|o| o.application_id.as_str())
        .collect();
    let items = ps::items(db, &batch.id).await?;
    let listed: Vec<&Item> = items
        .iter()
        .filter(|i| !cancelled.contains(&i.application_id.as_str()))
        .collect();
    let list = json!({
        "batch": batch.name,
        "doc_number": doc_number,
        "date": date.trim(),
        "enterprises": listed.iter().enumerate().map(|(i, it)| json!({
            "seq": i + 1,
            "name": it.enterprise_name,
            "city": it.city,
            "industry": it.industry,
        })).collect::<Vec<_>>(),
    });
    let fp = fingerprint(&list);
    let mut b = Batch::new();
    ps::finalize(
        &mut b,
        &batch.id,
        doc_number,
        date.trim(),
        &canonical_json(&list),
        &fp,
        &actor.name,
        now,
    );
    for it in &items {
        let Some(app) = applications::by_id(db, &it.application_id).await? else {
            continue;
        };
        if app.state != State::Shortlisted {
            continue;
        }
        let (to, why) = if cancelled.contains(&app.id.as_str()) {
            (State::NotSelected, "公示期间异议成立，取消入选")
        } else {
            (State::Selected, "公示期满，列入最终名单")
        };
        applications::push_transition(&mut b, &app, to, Role::Province, actor, why, now)
            .map_err(|_| Refusal::Stale)?;
        // A selected enterprise joins the 已有标杆企业 list, which refuses
        // it in every later batch.
        if to == State::Selected {
            applications::benchmark_upsert(
                &mut b,
                &app.credit_code,
                &app.enterprise_name,
                &format!("{}（{doc_number}）", batch.name),
                &actor.name,
                now,
            );
        }
    }
    audit::record(
        &mut b,
        actor,
        Action::FinalPublish,
        Some(&batch.id),
        true,
        &format!("{doc_number}，{}家，指纹 {}", listed.len(), &fp[..12]),
        now,
    );
    db.write(b).await.map_err(Refusal::from_write)?;
    Ok(fp)
}

/// The enterprise answers (申辩) an objection about its own application,
/// once, while it is open. It sees the facts, never who objected.
pub async fn answer_objection(
    db: &Db,
    actor: &Actor,
    enterprise_id: &str,
    o: &Objection,
    text: &str,
    now: Millis,
) -> Outcome<()> {
    let app = applications::by_id(db, &o.application_id)
        .await?
        .ok_or(Refusal::Forbidden)?;
    if app.enterprise_id != enterprise_id {
        return Err(Refusal::Forbidden);
    }
    if o.answered_at.is_some() {
        return Err(Refusal::Rule(
            "每件异议只能申辩一次，贵单位已提交申辩。".into(),
        ));
    }
    if o.status == Status::Decided {
        return Err(Refusal::Rule("该异议已办结，不能再申辩。".into()));
    }
    let n = text.trim().chars().count();
    if !(10..=5000).contains(&n) {
        return Err(Refusal::Fields(vec![(
            "answer",
            "请写明申辩的事实和理由（10–5000字）".to_string(),
        )]));
    }
    let mut b = Batch::new();
    ps::answer(&mut b, o, text.trim(), now);
    timeline(
        db,
        &mut b,
        &o.application_id,
        actor,
        "企业就公示异议提交申辩",
        now,
    )
    .await?;
    audit::record(
        &mut b,
        actor,
        Action::ObjectionAnswer,
        Some(&o.id),
        true,
        "企业提交申辩",
        now,
    );
    db.write(b).await.map_err(Refusal::from_write)?;
    Ok(())
}
