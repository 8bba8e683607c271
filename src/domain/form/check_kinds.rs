//! Checking the parts of `form.toml` fields that need more than a line:
//! numbers, options, table rows/columns/checks, acknowledgements, attachments.

use std::collections::HashSet;

use toml::Spanned;

use super::check::{Sources, count, field, finite, key_ok};
use super::definition::*;
use super::raw::{Problems, RawField, RawRow, RawSlot};

/// File types an attachment slot may allow.
const FILE_TYPES: &[&str] = &[
    "pdf", "jpg", "jpeg", "png", "ofd", "doc", "docx", "xls", "xlsx",
];

pub(super) fn number(raw: &RawField, path: &str, p: &mut Problems<'_>) -> NumberSpec {
    let decimals = count(p, &raw.decimals, path, "decimals", 0, 0);
    if let Some(s) = &raw.decimals
        && decimals > 6
    {
        p.at(s, format!("字段 {path} 的小数位数不能超过6"));
    }
    let min = finite(p, &raw.min, path, "min");
    let max = finite(p, &raw.max, path, "max");
    let warn_min = finite(p, &raw.warn_min, path, "warn_min");
    let warn_max = finite(p, &raw.warn_max, path, "warn_max");
    let line_of = |v: &Option<Spanned<f64>>| v.as_ref().map(|s| s.span().start);
    let mut report = |at: Option<usize>, reason: String| {
        p.at_offset(at.unwrap_or(raw.key.span().start), reason);
    };
    if let (Some(lo), Some(hi)) = (min, max)
        && lo > hi
    {
        report(line_of(&raw.min), format!("字段 {path} 的最小值大于最大值"));
    }
    if let (Some(w), Some(lo)) = (warn_min, min)
        && w < lo
    {
        report(
            line_of(&raw.warn_min),
            format!("字段 {path} 的警告下限小于最小值"),
        );
    }
    if let (Some(w), Some(hi)) = (warn_max, max)
        && w > hi
    {
        report(
            line_of(&raw.warn_max),
            format!("字段 {path} 的警告上限大于最大值"),
        );
    }
    if let (Some(lo), Some(hi)) = (warn_min, warn_max)
        && lo > hi
    {
        report(
            line_of(&raw.warn_min),
            format!("字段 {path} 的警告下限大于警告上限"),
        );
    }
    NumberSpec {
        unit: raw.unit.clone(),
        decimals: decimals.min(6) as u32,
        min,
        min_exclusive: raw.min_exclusive.unwrap_or(false),
        max,
        warn_min,
        warn_max,
    }
}

/// Options must be non-empty, non-blank and unique; `seen` spans several groups.
fn options_ok(
    p: &mut Problems<'_>,
    at: &Spanned<impl Sized>,
    path: &str,
    options: &[String],
    seen: &mut HashSet<String>,
) {
    if options.is_empty() {
        p.at(at, format!("字段 {path} 的选项不能为空"));
    }
    for o in options {
        if o.trim().is_empty() {
            p.at(at, format!("字段 {path} 有空白选项"));
        } else if !seen.insert(o.clone()) {
            p.at(at, format!("字段 {path} 的选项“{o}”重复"));
        }
    }
}

pub(super) fn choice(raw: &RawField, path: &str, p: &mut Problems<'_>) -> ChoiceSpec {
    let options = match &raw.options {
        Some(o) => {
            options_ok(p, o, path, o.get_ref(), &mut HashSet::new());
            o.get_ref().clone()
        }
        None => {
            p.at(&raw.key, format!("字段 {path} 缺少选项（options）"));
            Vec::new()
        }
    };
    if let Some(o) = &raw.other
        && !options.contains(o.get_ref())
    {
        p.at(
            o,
            format!("字段 {path} 的“需注明”选项“{}”不在选项中", o.get_ref()),
        );
    }
    ChoiceSpec {
        options,
        other: raw.other.as_ref().map(|o| o.get_ref().clone()),
        other_label: raw.other_label.clone().unwrap_or_else(|| "请注明".into()),
        other_max_chars: count(p, &raw.other_max_chars, path, "other_max_chars", 1, 50),
    }
}

pub(super) fn multi(
    raw: &RawField,
    path: &str,
    required: bool,
    p: &mut Problems<'_>,
) -> MultiChoiceSpec {
    let Some(groups) = &raw.groups else {
        p.at(&raw.key, format!("字段 {path} 缺少选项组（groups）"));
        return MultiChoiceSpec {
            groups: Vec::new(),
            min_selected: 0,
        };
    };
    if groups.get_ref().is_empty() {
        p.at(groups, format!("字段 {path} 的选项组不能为空"));
    }
    let mut seen = HashSet::new();
    for g in groups.get_ref() {
        options_ok(p, groups, path, &g.options, &mut seen);
    }
    let min_selected = count(
        p,
        &raw.min_selected,
        path,
        "min_selected",
        0,
        usize::from(required),
    );
    if min_selected > seen.len() {
        let at = raw
            .min_selected
            .as_ref()
            .map_or(raw.key.span().start, |s| s.span().start);
        p.at_offset(at, format!("字段 {path} 要求至少选择的项数大于选项总数"));
    }
    MultiChoiceSpec {
        groups: groups
            .get_ref()
            .iter()
            .map(|g| OptionGroup {
                label: g.label.clone(),
                options: g.options.clone(),
            })
            .collect(),
        min_selected,
    }
}

pub(super) fn rows(
    raw: &Option<Spanned<Vec<RawRow>>>,
    key: &Spanned<String>,
    path: &str,
    p: &mut Problems<'_>,
) -> Vec<RowDef> {
    let Some(list) = raw else {
        p.at(key, format!("字段 {path} 缺少行定义（rows）"));
        return Vec::new();
    };
    if list.get_ref().is_empty() {
        p.at(list, format!("字段 {path} 的行定义不能为空"));
    }
    let mut seen = HashSet::new();
    list.get_ref()
        .iter()
        .map(|r| {
            key_ok(p, &r.key, "行");
            if !seen.insert(r.key.get_ref().clone()) {
                p.at(&r.key, format!("字段 {path} 的行 {} 重复", r.key.get_ref()));
            }
            RowDef {
                key: r.key.get_ref().clone(),
                label: r.label.clone(),
            }
        })
        .collect()
}

pub(super) fn columns(
    raw: &RawField,
    path: &str,
    sources: &Sources<'_>,
    p: &mut Problems<'_>,
) -> Vec<Field> {
    let Some(list) = &raw.columns else {
        p.at(&raw.key, format!("字段 {path} 缺少列定义（columns）"));
        return Vec::new();
    };
    if list.get_ref().is_empty() {
        p.at(list, format!("字段 {path} 的列定义不能为空"));
    }
    let prefix = format!("{path}.");
    let mut seen = HashSet::new();
    list.get_ref()
        .iter()
        .filter_map(|c| {
            if !seen.insert(c.key.get_ref().clone()) {
                p.at(&c.key, format!("字段 {prefix}{} 重复", c.key.get_ref()));
            }
            field(c, &prefix, true, sources, p)
        })
        .collect()
}

pub(super) fn checks(raw: &RawField, path: &str, p: &mut Problems<'_>) -> Vec<CrossCheck> {
    let numeric: Vec<&str> = raw
        .columns
        .iter()
        .flat_map(|l| l.get_ref().iter())
        .filter(|c| c.kind.get_ref() == "number")
        .map(|c| c.key.get_ref().as_str())
        .collect();
    let mut out = Vec::new();
    for c in raw.checks.iter().flatten() {
        let mut ok = true;
        for side in [&c.left, &c.right] {
            if !numeric.contains(&side.get_ref().as_str()) {
                p.at(
                    side,
                    format!(
                        "字段 {path} 的核对规则引用的列 {} 不存在或不是数值列",
                        side.get_ref()
                    ),
                );
                ok = false;
            }
        }
        let op = match c.op.get_ref().as_str() {
            "lt" => CompareOp::Lt,
            "le" => CompareOp::Le,
            "ge" => CompareOp::Ge,
            "gt" => CompareOp::Gt,
            other => {
                p.at(
                    &c.op,
                    format!("字段 {path} 的核对规则比较符“{other}”未知（可用：lt、le、ge、gt）"),
                );
                ok = false;
                CompareOp::Le
            }
        };
        let severity = match c.severity.as_ref().map(|s| s.get_ref().as_str()) {
            None | Some("warning") => Severity::Warning,
            Some("error") => Severity::Error,
            Some(other) => {
                if let Some(s) = &c.severity {
                    p.at(
                        s,
                        format!("字段 {path} 的核对规则级别“{other}”未知（可用：error、warning）"),
                    );
                }
                ok = false;
                Severity::Warning
            }
        };
        if ok {
            out.push(CrossCheck {
                left: c.left.get_ref().clone(),
                op,
                right: c.right.get_ref().clone(),
                severity,
                message: c.message.clone(),
            });
        }
    }
    out
}

pub(super) fn ack_items(
    raw: &RawField,
    path: &str,
    sources: &Sources<'_>,
    p: &mut Problems<'_>,
) -> Vec<Statement> {
    let items = match (&raw.source, &raw.items) {
        (Some(_), Some(_)) | (None, None) => {
            p.at(
                &raw.key,
                format!("字段 {path} 须且只能指定 source 或 items 之一"),
            );
            return Vec::new();
        }
        (Some(src), None) => match sources
            .iter()
            .find(|(name, _)| *name == src.get_ref().as_str())
        {
            Some((_, list)) => list.to_vec(),
            None => {
                let known: Vec<&str> = sources.iter().map(|(n, _)| *n).collect();
                p.at(
                    src,
                    format!(
                        "字段 {path} 引用的承诺来源“{}”不存在（可用：{}）",
                        src.get_ref(),
                        known.join("、")
                    ),
                );
                return Vec::new();
            }
        },
        (None, Some(list)) => super::load::statements(list, p),
    };
    if items.is_empty() {
        p.at(&raw.key, format!("字段 {path} 没有需确认的条目"));
    }
    items
}

pub(super) fn slot(
    rs: &RawSlot,
    fields: &[(String, bool)],
    p: &mut Problems<'_>,
) -> Option<AttachmentSlot> {
    key_ok(p, &rs.key, "附件");
    let path = rs.key.get_ref().clone();
    if let Some(r) = &rs.required_if_filled
        && !fields.iter().any(|(k, input)| *input && k == r.get_ref())
    {
        p.at(
            r,
            format!(
                "附件 {path} 的 required_if_filled 引用的字段 {} 不存在",
                r.get_ref()
            ),
        );
    }
    let per_year = rs.per_year.clone().unwrap_or_default();
    for y in &per_year {
        if y.len() != 4 || !y.bytes().all(|b| b.is_ascii_digit()) {
            p.at(&rs.key, format!("附件 {path} 的年份“{y}”应为4位数字"));
        }
    }
    let min_count = count(p, &rs.min_count, &path, "min_count", 1, 1);
    let max_count = count(p, &rs.max_count, &path, "max_count", 1, 10);
    if min_count > max_count {
        let at = rs
            .min_count
            .as_ref()
            .map_or(rs.key.span().start, |s| s.span().start);
        p.at_offset(at, format!("附件 {path} 的最少文件数大于最多文件数"));
    }
    let types = match &rs.types {
        None => vec!["pdf".to_string(), "jpg".to_string(), "png".to_string()],
        Some(t) => {
            if t.get_ref().is_empty() {
                p.at(t, format!("附件 {path} 的文件类型不能为空"));
            }
            for ty in t.get_ref() {
                if !FILE_TYPES.contains(&ty.as_str()) {
                    p.at(
                        t,
                        format!(
                            "附件 {path} 的文件类型“{ty}”未知（可用：{}）",
                            FILE_TYPES.join("、")
                        ),
                    );
                }
            }
            t.get_ref().clone()
        }
    };
    Some(AttachmentSlot {
        key: path.clone(),
        label: rs.label.clone(),
        hint: rs.hint.clone(),
        required: rs.required.unwrap_or(true),
        required_if_filled: rs.required_if_filled.as_ref().map(|r| r.get_ref().clone()),
        per_year,
        min_count,
        max_count,
        types,
        max_size_mb: count(p, &rs.max_size_mb, &path, "max_size_mb", 1, 20) as u32,
    })
}
