//! Who is told what. Each function adds an event's messages to the batch of
//! the state change that causes it, so a message exists if and only if the
//! change committed. An application's own moves (returned, rejected, passed,
//! recommended or not, selected or not) are added by
//! `store::applications::transition` itself; the events here are the ones
//! whose recipients are looked up.

use std::collections::BTreeMap;

use crate::domain::form::ProgramDef;
use crate::domain::notify::{Kind, Rendered};
use crate::domain::role::Role;
use crate::store::outbox::{self, Message, NewMessage};
use crate::store::users::{self, User};
use crate::store::{Batch, Db, Millis, Result};

fn vars<const N: usize>(pairs: [(&str, String); N]) -> BTreeMap<String, String> {
    pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

fn push_all(
    b: &mut Batch,
    to: &[User],
    kind: Kind,
    vars: &BTreeMap<String, String>,
    link: &str,
    now: Millis,
) {
    for u in to.iter().filter(|u| !u.disabled) {
        push_one(b, &u.id, kind, vars.clone(), link.to_string(), now);
    }
}

/// One message (no de-duplication key) to `recipient_id`.
fn push_one(
    b: &mut Batch,
    recipient_id: &str,
    kind: Kind,
    vars: BTreeMap<String, String>,
    link: String,
    now: Millis,
) {
    outbox::push(
        b,
        &NewMessage {
            recipient_id,
            kind,
            vars,
            link,
            dedup_key: None,
        },
        now,
    );
}

/// The province's accounts.
async fn province(db: &Db) -> Result<Vec<User>> {
    users::list(db, Some(Role::Province)).await
}

/// A city bureau's accounts.
async fn city(db: &Db, city_code: &str) -> Result<Vec<User>> {
    Ok(users::list(db, Some(Role::City))
        .await?
        .into_iter()
        .filter(|u| u.city_code.as_deref() == Some(city_code))
        .collect())
}

/// A city submitted its recommendation: every province account is told.
pub async fn recommendation_submitted(
    db: &Db,
    b: &mut Batch,
    city_name: &str,
    batch: (&str, &str),
    count: usize,
    now: Millis,
) -> Result<()> {
    let (batch_id, batch_name) = batch;
    let v = vars([
        ("city", city_name.to_string()),
        ("batch", batch_name.to_string()),
        ("count", count.to_string()),
    ]);
    let link = format!("/province/recommendations?batch={batch_id}");
    push_all(
        b,
        &province(db).await?,
        Kind::RecommendationSubmitted,
        &v,
        &link,
        now,
    );
    Ok(())
}

/// The province reopened a city's recommendation: that city's accounts are told.
pub async fn recommendation_reopened(
    db: &Db,
    b: &mut Batch,
    city_code: &str,
    city_name: &str,
    batch: (&str, &str),
    reason: &str,
    now: Millis,
) -> Result<()> {
    let (batch_id, batch_name) = batch;
    let v = vars([
        ("city", city_name.to_string()),
        ("batch", batch_name.to_string()),
        ("reason", reason.to_string()),
    ]);
    let link = format!("/city/recommendation?batch={batch_id}");
    push_all(
        b,
        &city(db, city_code).await?,
        Kind::RecommendationReopened,
        &v,
        &link,
        now,
    );
    Ok(())
}

/// An expert was drawn for `count` applications of a batch.
pub fn expert_assigned(
    b: &mut Batch,
    expert_user_id: &str,
    expert_name: &str,
    batch_name: &str,
    count: usize,
    now: Millis,
) {
    push_one(
        b,
        expert_user_id,
        Kind::ExpertAssigned,
        vars([
            ("expert", expert_name.to_string()),
            ("batch", batch_name.to_string()),
            ("count", count.to_string()),
        ]),
        "/expert".into(),
        now,
    );
}

/// An enterprise on the 公示 list: its period.
pub fn publicity_opened(
    b: &mut Batch,
    enterprise_user_id: &str,
    enterprise: &str,
    batch: (&str, &str),
    period: (&str, &str),
    now: Millis,
) {
    let (batch_id, batch_name) = batch;
    push_one(
        b,
        enterprise_user_id,
        Kind::PublicityOpened,
        vars([
            ("enterprise", enterprise.to_string()),
            ("batch", batch_name.to_string()),
            ("starts_on", period.0.to_string()),
            ("ends_on", period.1.to_string()),
        ]),
        format!("/gongshi/{batch_id}"),
        now,
    );
}

/// An objection was filed against an enterprise on the list: the province
/// (who handles it) is told; the objector's identity is not in the message.
pub async fn objection_received(
    db: &Db,
    b: &mut Batch,
    enterprise: &str,
    batch_name: &str,
    objection_id: &str,
    now: Millis,
) -> Result<()> {
    let v = vars([
        ("enterprise", enterprise.to_string()),
        ("batch", batch_name.to_string()),
    ]);
    let link = format!("/province/objections/{objection_id}");
    push_all(
        b,
        &province(db).await?,
        Kind::ObjectionReceived,
        &v,
        &link,
        now,
    );
    Ok(())
}

/// The province decided an objection: the enterprise it concerns is told.
pub fn objection_decided(
    b: &mut Batch,
    enterprise_user_id: &str,
    enterprise: &str,
    application_id: &str,
    batch_name: &str,
    outcome: (&str, &str),
    now: Millis,
) {
    push_one(
        b,
        enterprise_user_id,
        Kind::ObjectionDecided,
        vars([
            ("enterprise", enterprise.to_string()),
            ("batch", batch_name.to_string()),
            ("outcome", outcome.0.to_string()),
            ("reason", outcome.1.to_string()),
        ]),
        format!("/apply/{application_id}/objections"),
        now,
    );
}

/// An account-security message to the account's owner (always e-mailed).
pub fn account_event(
    b: &mut Batch,
    user_id: &str,
    kind: Kind,
    pairs: &[(&str, String)],
    now: Millis,
) {
    let vars = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    push_one(b, user_id, kind, vars, "/account".into(), now);
}

/// The subject and body of a stored message, from the program's texts.
pub fn render(program: &ProgramDef, m: &Message) -> Rendered {
    program.program.messages.render(
        m.kind,
        &m.vars,
        &program.program.name,
        &program.program.issuer,
    )
}
