//! The definition files as written: serde structs mirroring `program.toml`
//! and `form.toml`, with source spans kept where a check may need a line.

use serde::Deserialize;
use toml::Spanned;

/// Problems found while checking one file, each with its line.
pub(super) struct Problems<'a> {
    pub file: &'static str,
    pub src: &'a str,
    pub found: Vec<(usize, String)>,
}

impl<'a> Problems<'a> {
    pub fn new(file: &'static str, src: &'a str) -> Self {
        Problems {
            file,
            src,
            found: Vec::new(),
        }
    }

    /// 1-based line of a byte offset.
    pub fn line(&self, offset: usize) -> usize {
        let end = offset.min(self.src.len());
        self.src.as_bytes()[..end]
            .iter()
            .filter(|b| **b == b'\n')
            .count()
            + 1
    }

    pub fn at<T>(&mut self, at: &Spanned<T>, reason: impl Into<String>) {
        self.at_offset(at.span().start, reason);
    }

    /// Offset of the line `name = …` in the TOML table that contains
    /// `inside` (between the table headers around it), if written there.
    pub fn attribute(&self, inside: usize, name: &str) -> Option<usize> {
        let inside = inside.min(self.src.len());
        let mut start = self.src[..inside].rfind("\n[").map_or(0, |i| i + 1);
        let mut first = true;
        for line in self.src[start..].split_inclusive('\n') {
            let t = line.trim_start();
            if t.starts_with('[') && !first {
                break;
            }
            first = false;
            if let Some(rest) = t.strip_prefix(name)
                && rest.trim_start().starts_with('=')
            {
                return Some(start + (line.len() - t.len()));
            }
            start += line.len();
        }
        None
    }

    pub fn at_offset(&mut self, offset: usize, reason: impl Into<String>) {
        let line = self.line(offset);
        self.found.push((line, reason.into()));
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawProgram {
    pub key: Spanned<String>,
    pub name: String,
    pub issuer: String,
    pub office: String,
    pub batch: RawBatch,
    #[serde(default)]
    pub commitments: Vec<RawStatement>,
    #[serde(default)]
    pub declarations: Vec<RawStatement>,
    /// 评价标准 for the province's experts (the built-in default when absent).
    #[serde(default)]
    pub review_criteria: Vec<Spanned<crate::domain::scoring::Criterion>>,
    /// Message texts by kind (`[messages.<kind>]`); absent: the shipped texts.
    #[serde(default)]
    pub messages: Option<Spanned<std::collections::BTreeMap<String, Spanned<RawMessage>>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMessage {
    pub subject: Spanned<String>,
    pub body: Spanned<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawBatch {
    pub name: String,
    pub doc_number: String,
    pub notice_title: String,
    pub notice_date: Spanned<String>,
    /// The date "近三年" and the finance years count back from (default:
    /// `notice_date`).
    pub reference_date: Option<Spanned<String>>,
    pub quota: Spanned<i64>,
    pub enterprise_deadline: Spanned<String>,
    pub recommend_deadline: Spanned<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawStatement {
    pub key: Spanned<String>,
    pub label: Option<String>,
    pub text: Spanned<String>,
    pub source: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawForm {
    pub title: String,
    pub made_by: String,
    #[serde(default)]
    pub cover_stamps: Vec<String>,
    pub sections: Spanned<Vec<RawSection>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSection {
    pub key: Spanned<String>,
    pub number: String,
    pub title: String,
    pub hint: Option<String>,
    #[serde(default)]
    pub fields: Vec<RawField>,
    #[serde(default)]
    pub attachments: Vec<RawSlot>,
}

/// A field with every attribute any kind may use; `check` keeps those its
/// kind allows and reports the others.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawField {
    pub key: Spanned<String>,
    pub label: String,
    pub kind: Spanned<String>,
    pub hint: Option<String>,
    pub group: Option<String>,
    pub required: Option<bool>,
    pub print: Option<bool>,
    pub max_chars: Option<Spanned<i64>>,
    pub min_chars: Option<Spanned<i64>>,
    pub unit: Option<String>,
    pub decimals: Option<Spanned<i64>>,
    pub min: Option<Spanned<f64>>,
    pub max: Option<Spanned<f64>>,
    pub min_exclusive: Option<bool>,
    pub warn_min: Option<Spanned<f64>>,
    pub warn_max: Option<Spanned<f64>>,
    pub not_future: Option<bool>,
    pub within_years: Option<Spanned<i64>>,
    pub options: Option<Spanned<Vec<String>>>,
    pub other: Option<Spanned<String>>,
    pub other_label: Option<String>,
    pub other_max_chars: Option<Spanned<i64>>,
    pub groups: Option<Spanned<Vec<RawGroup>>>,
    pub min_selected: Option<Spanned<i64>>,
    pub rows: Option<Spanned<Vec<RawRow>>>,
    pub columns: Option<Spanned<Vec<RawField>>>,
    pub checks: Option<Vec<RawCheck>>,
    pub transposed: Option<bool>,
    pub numbered: Option<bool>,
    pub number_label: Option<String>,
    pub min_rows: Option<Spanned<i64>>,
    pub max_rows: Option<Spanned<i64>>,
    pub blank_rows: Option<Spanned<i64>>,
    pub min_used: Option<Spanned<i64>>,
    pub used_label: Option<String>,
    pub division_prefix: Option<Spanned<String>>,
    pub allow_org_code: Option<bool>,
    pub source: Option<Spanned<String>>,
    pub items: Option<Vec<RawStatement>>,
    pub signature: Option<String>,
    pub text: Option<String>,
}

impl RawField {
    /// The kind-specific attributes that are set.
    pub fn set_attributes(&self) -> Vec<&'static str> {
        let all = [
            ("max_chars", self.max_chars.is_some()),
            ("min_chars", self.min_chars.is_some()),
            ("unit", self.unit.is_some()),
            ("decimals", self.decimals.is_some()),
            ("min", self.min.is_some()),
            ("max", self.max.is_some()),
            ("min_exclusive", self.min_exclusive.is_some()),
            ("warn_min", self.warn_min.is_some()),
            ("warn_max", self.warn_max.is_some()),
            ("not_future", self.not_future.is_some()),
            ("within_years", self.within_years.is_some()),
            ("options", self.options.is_some()),
            ("other", self.other.is_some()),
            ("other_label", self.other_label.is_some()),
            ("other_max_chars", self.other_max_chars.is_some()),
            ("groups", self.groups.is_some()),
            ("min_selected", self.min_selected.is_some()),
            ("rows", self.rows.is_some()),
            ("columns", self.columns.is_some()),
            ("checks", self.checks.is_some()),
            ("transposed", self.transposed.is_some()),
            ("numbered", self.numbered.is_some()),
            ("number_label", self.number_label.is_some()),
            ("min_rows", self.min_rows.is_some()),
            ("max_rows", self.max_rows.is_some()),
            ("blank_rows", self.blank_rows.is_some()),
            ("min_used", self.min_used.is_some()),
            ("used_label", self.used_label.is_some()),
            ("division_prefix", self.division_prefix.is_some()),
            ("allow_org_code", self.allow_org_code.is_some()),
            ("source", self.source.is_some()),
            ("items", self.items.is_some()),
            ("signature", self.signature.is_some()),
            ("text", self.text.is_some()),
        ];
        all.into_iter()
            .filter(|(_, set)| *set)
            .map(|(n, _)| n)
            .collect()
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawGroup {
    pub label: String,
    pub options: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRow {
    pub key: Spanned<String>,
    pub label: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCheck {
    pub left: Spanned<String>,
    pub op: Spanned<String>,
    pub right: Spanned<String>,
    pub severity: Option<Spanned<String>>,
    pub message: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSlot {
    pub key: Spanned<String>,
    pub label: String,
    pub hint: Option<String>,
    pub required: Option<bool>,
    pub required_if_filled: Option<Spanned<String>>,
    pub per_year: Option<Vec<String>>,
    pub min_count: Option<Spanned<i64>>,
    pub max_count: Option<Spanned<i64>>,
    pub types: Option<Spanned<Vec<String>>>,
    pub max_size_mb: Option<Spanned<i64>>,
}

/// The TOML head of `notice.md` (between its `+++` lines).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawNotice {
    pub issuer: Spanned<String>,
    pub email: Spanned<String>,
    pub address: Spanned<String>,
    #[serde(default)]
    pub contacts: Vec<RawContact>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawContact {
    pub name: Spanned<String>,
    pub phone: Spanned<String>,
}
