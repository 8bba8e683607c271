//! Checking `form.toml`: raw fields become typed [`Field`]s, every problem is
//! reported with its line.

use std::collections::HashSet;

use toml::Spanned;

use super::check_kinds::{ack_items, checks, choice, columns, multi, number, rows, slot};
use super::definition::*;
use super::raw::{Problems, RawField, RawForm};

/// Each kind with the kind-specific attributes it accepts.
const KINDS: &[(&str, &[&str])] = &[
    ("text", &["max_chars"]),
    ("long_text", &["min_chars", "max_chars"]),
    (
        "number",
        &[
            "unit",
            "decimals",
            "min",
            "max",
            "min_exclusive",
            "warn_min",
            "warn_max",
        ],
    ),
    ("date", &["not_future", "within_years"]),
    (
        "choice",
        &["options", "other", "other_label", "other_max_chars"],
    ),
    ("yes_no", &[]),
    ("multi_choice", &["groups", "min_selected"]),
    ("fixed_table", &["rows", "columns", "checks", "transposed"]),
    (
        "variable_table",
        &[
            "columns",
            "numbered",
            "number_label",
            "min_rows",
            "max_rows",
            "blank_rows",
        ],
    ),
    (
        "cloud_services",
        &["rows", "columns", "min_used", "used_label"],
    ),
    ("region", &[]),
    ("credit_code", &["division_prefix", "allow_org_code"]),
    ("mobile", &[]),
    ("email", &[]),
    ("acknowledgements", &["source", "items", "signature"]),
    ("display", &["text", "signature"]),
];

/// Kinds a table column may have.
const COLUMN_KINDS: &[&str] = &[
    "text", "number", "date", "choice", "yes_no", "mobile", "email",
];

/// Named statement lists of `program.toml` that acknowledgements may use.
pub(super) type Sources<'s> = [(&'static str, &'s [Statement])];

pub(super) fn form(raw: RawForm, sources: &Sources<'_>, p: &mut Problems<'_>) -> FormDef {
    if raw.sections.get_ref().is_empty() {
        p.at(&raw.sections, "申报书至少要有一个部分（sections）");
    }
    let mut section_keys = HashSet::new();
    let mut keys = HashSet::new();
    let mut sections = Vec::new();
    for s in raw.sections.into_inner() {
        key_ok(p, &s.key, "部分");
        if !section_keys.insert(s.key.get_ref().clone()) {
            p.at(&s.key, format!("部分 {} 重复", s.key.get_ref()));
        }
        let mut fields = Vec::new();
        for rf in &s.fields {
            if !keys.insert(rf.key.get_ref().clone()) {
                p.at(&rf.key, format!("字段 {} 重复", rf.key.get_ref()));
            }
            if let Some(f) = field(rf, "", false, sources, p) {
                fields.push(f);
            }
        }
        sections.push((s.key, s.number, s.title, s.hint, fields, s.attachments));
    }
    // Attachments last: `required_if_filled` may point to any field.
    let all_fields: Vec<(String, bool)> = sections
        .iter()
        .flat_map(|s| s.4.iter().map(|f| (f.key.clone(), f.is_input())))
        .collect();
    let sections = sections
        .into_iter()
        .map(|(key, number, title, hint, fields, raw_slots)| {
            let attachments = raw_slots
                .iter()
                .filter_map(|rs| {
                    if !keys.insert(rs.key.get_ref().clone()) {
                        p.at(
                            &rs.key,
                            format!("附件 {} 与其他字段或附件重复", rs.key.get_ref()),
                        );
                    }
                    slot(rs, &all_fields, p)
                })
                .collect();
            Section {
                key: key.into_inner(),
                number,
                title,
                hint,
                fields,
                attachments,
            }
        })
        .collect();
    FormDef {
        title: raw.title,
        made_by: raw.made_by,
        cover_stamps: raw.cover_stamps,
        sections,
        // Set from program.toml once both files are read (`load`).
        reference_date: jiff::civil::Date::MIN,
    }
}

pub(super) fn key_ok(p: &mut Problems<'_>, key: &Spanned<String>, what: &str) {
    let k = key.get_ref();
    let ok = !k.is_empty()
        && k.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if !ok {
        p.at(
            key,
            format!("{what}键“{k}”只能由小写字母、数字和下划线组成"),
        );
    }
}

/// An optional count attribute: at least `least`, else `default`.
pub(super) fn count(
    p: &mut Problems<'_>,
    v: &Option<Spanned<i64>>,
    path: &str,
    name: &str,
    least: i64,
    default: usize,
) -> usize {
    match v {
        None => default,
        Some(s) if *s.get_ref() < least => {
            p.at(s, format!("字段 {path} 的 {name} 不能小于{least}"));
            default
        }
        Some(s) => usize::try_from(*s.get_ref()).unwrap_or(default),
    }
}

pub(super) fn finite(
    p: &mut Problems<'_>,
    v: &Option<Spanned<f64>>,
    path: &str,
    name: &str,
) -> Option<f64> {
    let s = v.as_ref()?;
    if s.get_ref().is_finite() {
        Some(*s.get_ref())
    } else {
        p.at(s, format!("字段 {path} 的 {name} 不是有限数值"));
        None
    }
}

pub(super) fn field(
    raw: &RawField,
    prefix: &str,
    column: bool,
    sources: &Sources<'_>,
    p: &mut Problems<'_>,
) -> Option<Field> {
    key_ok(p, &raw.key, "字段");
    let path = format!("{prefix}{}", raw.key.get_ref());
    let kind_name = raw.kind.get_ref().as_str();
    let Some((_, allowed)) = KINDS.iter().find(|(k, _)| *k == kind_name) else {
        let known: Vec<&str> = KINDS.iter().map(|(k, _)| *k).collect();
        p.at(
            &raw.kind,
            format!(
                "字段 {path} 的类型“{kind_name}”未知（可用：{}）",
                known.join("、")
            ),
        );
        return None;
    };
    for attr in raw.set_attributes() {
        if !allowed.contains(&attr) {
            let at = p
                .attribute(raw.key.span().start, attr)
                .unwrap_or(raw.key.span().start);
            p.at_offset(
                at,
                format!("字段 {path} 的类型 {kind_name} 不支持属性 {attr}"),
            );
        }
    }
    if column && !COLUMN_KINDS.contains(&kind_name) {
        p.at(
            &raw.kind,
            format!(
                "表格列 {path} 不能是 {kind_name} 类型（可用：{}）",
                COLUMN_KINDS.join("、")
            ),
        );
    }
    if raw.label.trim().is_empty() {
        p.at(&raw.key, format!("字段 {path} 缺少名称（label）"));
    }
    let required = raw.required.unwrap_or(true);
    let kind = match kind_name {
        "text" => FieldKind::Text {
            max_chars: count(p, &raw.max_chars, &path, "max_chars", 1, 200),
        },
        "long_text" => {
            let max_chars = count(p, &raw.max_chars, &path, "max_chars", 1, 20_000);
            let min_chars = raw
                .min_chars
                .as_ref()
                .map(|_| count(p, &raw.min_chars, &path, "min_chars", 0, 0));
            if let (Some(min), Some(s)) = (min_chars, &raw.min_chars)
                && min > max_chars
            {
                p.at(s, format!("字段 {path} 的最少字数大于最多字数"));
            }
            FieldKind::LongText {
                min_chars,
                max_chars,
            }
        }
        "number" => FieldKind::Number(number(raw, &path, p)),
        "date" => FieldKind::Date(DateSpec {
            not_future: raw.not_future.unwrap_or(true),
            within_years: raw
                .within_years
                .as_ref()
                .map(|_| count(p, &raw.within_years, &path, "within_years", 1, 1) as u32),
        }),
        "choice" => FieldKind::Choice(choice(raw, &path, p)),
        "yes_no" => FieldKind::YesNo,
        "multi_choice" => FieldKind::MultiChoice(multi(raw, &path, required, p)),
        "fixed_table" => FieldKind::FixedTable(FixedTable {
            rows: rows(&raw.rows, &raw.key, &path, p),
            columns: columns(raw, &path, sources, p),
            checks: checks(raw, &path, p),
            transposed: raw.transposed.unwrap_or(false),
        }),
        "variable_table" => {
            let min_rows = count(p, &raw.min_rows, &path, "min_rows", 0, 0);
            let max_rows = count(p, &raw.max_rows, &path, "max_rows", 1, 50);
            if let Some(s) = &raw.min_rows
                && min_rows > max_rows
            {
                p.at(s, format!("字段 {path} 的最少行数大于最多行数"));
            }
            FieldKind::VariableTable(VariableTable {
                columns: columns(raw, &path, sources, p),
                numbered: raw.numbered.unwrap_or(true),
                number_label: raw.number_label.clone().unwrap_or_else(|| "序号".into()),
                min_rows,
                max_rows,
                blank_rows: count(p, &raw.blank_rows, &path, "blank_rows", 0, 4),
            })
        }
        "cloud_services" => {
            let services = rows(&raw.rows, &raw.key, &path, p);
            let min_used = count(p, &raw.min_used, &path, "min_used", 0, 1);
            if let Some(s) = &raw.min_used
                && min_used > services.len()
            {
                p.at(s, format!("字段 {path} 要求至少使用的服务数大于服务类型数"));
            }
            FieldKind::CloudServices(CloudServices {
                services,
                columns: columns(raw, &path, sources, p),
                min_used,
                used_label: raw.used_label.clone().unwrap_or_else(|| "是否使用".into()),
            })
        }
        "region" => FieldKind::Region,
        "credit_code" => {
            if let Some(d) = &raw.division_prefix {
                let v = d.get_ref();
                if v.is_empty() || v.len() > 6 || !v.bytes().all(|b| b.is_ascii_digit()) {
                    p.at(d, format!("字段 {path} 的 division_prefix 应为1至6位数字"));
                }
            }
            FieldKind::CreditCode {
                division_prefix: raw.division_prefix.as_ref().map(|d| d.get_ref().clone()),
                allow_org_code: raw.allow_org_code.unwrap_or(true),
            }
        }
        "mobile" => FieldKind::Mobile,
        "email" => FieldKind::Email,
        "acknowledgements" => FieldKind::Acknowledgements {
            items: ack_items(raw, &path, sources, p),
            signature: raw.signature.clone(),
        },
        _ => FieldKind::Display {
            text: raw.text.clone().unwrap_or_default(),
            signature: raw.signature.clone(),
        },
    };
    Some(Field {
        key: raw.key.get_ref().clone(),
        label: raw.label.clone(),
        hint: raw.hint.clone(),
        group: raw.group.clone(),
        required,
        print: raw.print.unwrap_or(true),
        kind,
    })
}
