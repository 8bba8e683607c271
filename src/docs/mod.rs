//! Official documents: the 申报书 (附件1) as Word, the city 推荐表 (附件2) as
//! Word and Excel, and the province package (a zip of everything).
//!
//! Everything here is driven by the form definition
//! ([`ProgramDef`](crate::domain::form::ProgramDef)): the
//! 申请表 table is laid out from the fields of section 一 (their groups,
//! kinds, options, table rows and columns), sections 二 to 五 from the other
//! sections. Nothing is typed per field except the few columns of the
//! 推荐表, which [`RecommendationRow::from_answers`] derives from the answers.
//!
//! | what | function |
//! |---|---|
//! | 申报书 .docx (submitted, draft, blank template) | [`application_docx`] with an [`AppDoc`] |
//! | 推荐表 .docx / .xlsx | [`recommendation_docx`], [`recommendation_xlsx`] |
//! | province package (.zip, streamed entry by entry) | [`write_package`], [`write_package_stream`] |
//! | what each city submitted (报送) for the package | [`package_selection`] |
//! | loading from the store | [`submitted_doc`], [`draft_doc`], [`load_city`] |
//!
//! Generation is synchronous and CPU-bound: call it from a blocking thread
//! (`tokio::task::spawn_blocking`) in the web tier.

mod application;
mod apply_table;
pub mod cli;
pub mod export;
mod package;
mod recommend;
pub mod review;
mod select;
mod values;
mod word;

use serde_json::Value;

use crate::domain::form;

pub use application::{application_docx, blank_docx};
pub use package::{
    CityFile, CityPackage, CityPart, PackageEntry, ScanOpener, write_package, write_package_stream,
};
pub use recommend::{
    RECOMMENDATION_COLUMNS, RecommendationRow, RecommendationSheet, recommendation_docx,
    recommendation_xlsx,
};
pub use select::{
    CitySelection, STAMPED_SCAN, Selected, draft_doc, load_city, package_selection, submitted_doc,
};

/// An uploaded file as recorded in a submitted snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachmentRef {
    /// Upload key: a slot key, or `{slot}.{year}` for per-year slots.
    pub slot: String,
    pub file_name: String,
    pub sha256: String,
    pub size: i64,
}

impl From<crate::store::attachments::Attachment> for AttachmentRef {
    fn from(a: crate::store::attachments::Attachment) -> Self {
        AttachmentRef {
            slot: a.slot,
            file_name: a.file_name,
            sha256: a.sha256,
            size: a.size,
        }
    }
}

/// What the 申报书 generator needs: the answers and the identity of the version.
#[derive(Debug, Clone)]
pub struct AppDoc {
    /// The answers JSON (see [`crate::domain::form`]).
    pub answers: Value,
    pub enterprise_name: String,
    pub credit_code: String,
    /// The application's key; empty for the blank template.
    pub application_id: String,
    /// 申报编号 as people read it (2021-4201-0007); the key when not known.
    pub number: String,
    /// The version printed in the footer (第N版); 0 for the blank template.
    pub version: i64,
    /// SHA-256 hex of the submitted snapshot; `None` for drafts and the template.
    pub fingerprint: Option<String>,
    pub attachments: Vec<AttachmentRef>,
    /// 所在地经济和信息化主管部门审核意见; blank for stamping when `None`.
    pub city_opinion: Option<String>,
    /// Marks 草稿 on every page.
    pub draft: bool,
}

impl AppDoc {
    /// The empty form (blank template).
    pub fn blank() -> AppDoc {
        AppDoc {
            answers: Value::Object(Default::default()),
            enterprise_name: String::new(),
            credit_code: String::new(),
            application_id: String::new(),
            number: String::new(),
            version: 0,
            fingerprint: None,
            attachments: Vec::new(),
            city_opinion: None,
            draft: false,
        }
    }

    /// A submitted snapshot as stored in `application_versions.content`
    /// (`{"application", "enterprise": {name, credit_code}, "content", "attachments"}`)
    /// at `version`. The fingerprint is recomputed from the snapshot's content,
    /// which is how it was defined when it was stored.
    pub fn from_snapshot(json: &Value, version: i64) -> AppDoc {
        let s = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or_default().to_string();
        let ent = json.get("enterprise");
        let attachments = json
            .get("attachments")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .map(|f| AttachmentRef {
                        slot: s(f.get("slot")),
                        file_name: s(f.get("file_name")),
                        sha256: s(f.get("sha256")),
                        size: f.get("size").and_then(Value::as_i64).unwrap_or(0),
                    })
                    .collect()
            })
            .unwrap_or_default();
        AppDoc {
            answers: json
                .get("content")
                .cloned()
                .unwrap_or_else(|| Value::Object(Default::default())),
            enterprise_name: s(ent.and_then(|e| e.get("name"))),
            credit_code: s(ent.and_then(|e| e.get("credit_code"))),
            application_id: s(json.get("application")),
            number: String::new(),
            version,
            // The fingerprint covers the content (answers) only: see web::apply::submit;
            // by SM3 when the snapshot says so (SHA-256 otherwise).
            fingerprint: Some(form::fingerprint_with(
                json.get("digest")
                    .and_then(Value::as_str)
                    .and_then(crate::domain::digest::Algo::parse)
                    .unwrap_or_default(),
                json.get("content").unwrap_or(&Value::Null),
            )),
            attachments,
            city_opinion: None,
            draft: false,
        }
    }

    /// A draft (current, unsubmitted content), marked 草稿 on every page. Its
    /// footer carries the fingerprint of this content, which the submission
    /// will have if nothing changes after printing: the stamped scan of the
    /// printed draft can then be matched to the submitted version.
    pub fn draft(
        answers: Value,
        application_id: &str,
        version: i64,
        attachments: Vec<AttachmentRef>,
    ) -> AppDoc {
        let text = |k: &str| form::text_of(answers.get(k)).unwrap_or_default();
        AppDoc {
            enterprise_name: text("company_name"),
            credit_code: text("credit_code"),
            application_id: application_id.to_string(),
            number: String::new(),
            version,
            fingerprint: Some(form::fingerprint(&answers)),
            attachments,
            city_opinion: None,
            draft: true,
            answers,
        }
    }

    /// The 申报编号 as printed: the readable number, else the key.
    pub fn number(&self) -> &str {
        if self.number.is_empty() {
            &self.application_id
        } else {
            &self.number
        }
    }

    /// Sets the 申报编号 printed in the footer.
    pub fn with_number(mut self, number: String) -> AppDoc {
        self.number = number;
        self
    }

    /// Sets the city's 审核意见 printed in its box.
    pub fn with_city_opinion(mut self, opinion: Option<String>) -> AppDoc {
        self.city_opinion = opinion.filter(|o| !o.trim().is_empty());
        self
    }

    /// The footer line: 申报编号 …　第N版　指纹 <12 hex> (第N版（草稿） for a draft).
    pub fn footer_text(&self) -> String {
        if self.application_id.is_empty() {
            return String::new();
        }
        let draft = if self.draft { "（草稿）" } else { "" };
        let mut s = format!("申报编号 {}　第{}版{draft}", self.number(), self.version);
        if let Some(f) = &self.fingerprint {
            s.push_str("　指纹 ");
            s.push_str(f.get(..12).unwrap_or(f));
        }
        s
    }

    /// The file name of this 申报书 in a package: `01-<企业名称>-申报书.docx`.
    pub fn file_stem(&self) -> String {
        let name = if self.enterprise_name.is_empty() {
            &self.application_id
        } else {
            &self.enterprise_name
        };
        safe_file_name(name)
    }
}

/// A name safe inside a zip on every desktop: no path separators or
/// characters Windows refuses, at most 80 characters.
pub(crate) fn safe_file_name(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| match c {
            '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|' => '_',
            c if c.is_control() => '_',
            c => c,
        })
        .take(80)
        .collect();
    let t = cleaned.trim().trim_matches('.').to_string();
    if t.is_empty() { "未命名".into() } else { t }
}
