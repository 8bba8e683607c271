//! An application as an official reads it: the submitted snapshot's answers
//! rendered read-only and the attachments it lists. Shared by the province's
//! and the experts' rooms; a blind review hides who the applicant is.

use serde_json::Value;

use crate::store::applications::{self, Application};
use crate::store::attachments;
use crate::web::AppState;
use crate::web::form_html;
use crate::web::shared::error::{AppError, AppResult};

pub struct AttachmentLink {
    pub label: String,
    pub file_name: String,
    pub sha_short: String,
    /// The stored upload to open (empty when it was replaced since).
    pub id: String,
}

pub struct Dossier {
    pub form_html: String,
    pub attachments: Vec<AttachmentLink>,
}

/// Answers hidden in a blind review: who the applicant is and how to reach it.
const IDENTIFYING: [&str; 7] = [
    "company_name",
    "credit_code",
    "contact_name",
    "contact_title",
    "contact_mobile",
    "contact_email",
    "address",
];

pub async fn of(state: &AppState, app: &Application, blind: bool) -> AppResult<Dossier> {
    let snap = snapshot(state, &app.id, app.submitted_version.unwrap_or(0)).await?;
    from_snapshot(state, &app.id, &snap, blind).await
}

/// The dossier of a submitted snapshot already read (`snap`).
pub async fn from_snapshot(
    state: &AppState,
    app_id: &str,
    snap: &Value,
    blind: bool,
) -> AppResult<Dossier> {
    let state = &state.for_application(app_id).await?;
    let mut answers = snap.get("content").cloned().unwrap_or(Value::Null);
    if blind && let Some(map) = answers.as_object_mut() {
        for k in IDENTIFYING {
            if map.contains_key(k) {
                map.insert(k.into(), Value::String("（匿名评审，已隐去）".into()));
            }
        }
    }
    let stored = attachments::for_application(&state.db, app_id).await?;
    let attachments = listed(snap)
        .into_iter()
        .map(|(slot, file_name, sha)| AttachmentLink {
            label: slot_label(state, &slot),
            id: stored
                .iter()
                .find(|a| a.slot == slot && a.sha256 == sha)
                .map(|a| a.id.clone())
                .unwrap_or_default(),
            sha_short: sha.get(..12).unwrap_or(&sha).to_string(),
            // The file name may carry the enterprise's name.
            file_name: if blind {
                "（匿名）".into()
            } else {
                file_name
            },
        })
        .collect();
    Ok(Dossier {
        form_html: form_html::render(&state.program.form, &answers, None, false),
        attachments,
    })
}

/// The stored snapshot of submitted version `v`.
pub async fn snapshot(state: &AppState, id: &str, v: i64) -> AppResult<Value> {
    let (_, text) = applications::version_content(&state.db, id, v)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
}

pub fn slot_label(state: &AppState, key: &str) -> String {
    state
        .program
        .form
        .attachments()
        .flat_map(|s| s.upload_keys())
        .find(|(k, _)| k == key)
        .map_or_else(|| key.to_string(), |(_, l)| l)
}

/// (slot, file name, sha256) of each attachment listed in a snapshot.
pub fn listed(snap: &Value) -> Vec<(String, String, String)> {
    let s = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    snap.get("attachments")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|f| (s(f, "slot"), s(f, "file_name"), s(f, "sha256")))
                .collect()
        })
        .unwrap_or_default()
}
