//! Validating stored answers against a form definition. Drafts are never
//! blocked: this produces the messages shown next to fields and decides
//! whether a submission is complete.

use jiff::ToSpan;
use jiff::civil::Date;
use serde::Serialize;
use serde_json::{Map, Value};

use super::definition::{ChoiceSpec, DateSpec, Field, FieldKind, FormDef, NumberSpec};
use super::text::{bool_of, count_chars, fmt_num, parse_number, text_of};
use crate::domain::contact::{Email, MobilePhone};
use crate::domain::credit_code::{CodeError, CreditCode, OrgCode};

/// One message about one place in the answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Issue {
    /// Dotted path usable as an HTML id: `finance.2019.profit`, `honours.0.date`.
    pub field: String,
    /// Chinese label path: `主要财务指标 › 2019年 › 利润（万元）`.
    pub label: String,
    /// Chinese message.
    pub message: String,
}

/// The outcome of validation: errors block submission, warnings do not.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    pub errors: Vec<Issue>,
    pub warnings: Vec<Issue>,
}

impl Report {
    /// No errors (warnings allowed).
    pub fn is_ok(&self) -> bool {
        self.errors.is_empty()
    }

    /// Errors and warnings at `field` or below it (`finance` covers `finance.2019.profit`).
    pub fn for_field<'a>(&'a self, field: &'a str) -> impl Iterator<Item = &'a Issue> + 'a {
        self.errors.iter().chain(&self.warnings).filter(move |i| {
            i.field == field
                || i.field
                    .strip_prefix(field)
                    .is_some_and(|rest| rest.starts_with('.'))
        })
    }
}

/// Where a value sits: its path, its label path and its own label.
#[derive(Debug, Clone)]
pub(super) struct Loc {
    pub path: String,
    pub label: String,
    pub leaf: String,
}

impl Loc {
    pub fn top(f: &Field) -> Loc {
        Loc {
            path: f.key.clone(),
            label: f.label_with_unit(),
            leaf: f.label.clone(),
        }
    }

    /// A child named by `key` and labelled `label` (label path extended).
    pub fn child(&self, key: &str, label: &str) -> Loc {
        Loc {
            path: format!("{}.{key}", self.path),
            label: format!("{} › {label}", self.label),
            leaf: self.leaf.clone(),
        }
    }

    /// A column (its own label becomes the leaf).
    pub fn column(&self, f: &Field) -> Loc {
        Loc {
            path: format!("{}.{}", self.path, f.key),
            label: format!("{} › {}", self.label, f.label_with_unit()),
            leaf: f.label.clone(),
        }
    }
}

pub(super) struct Ctx {
    pub today: Date,
    /// What "近N年" counts back from: the batch's reference date.
    pub reference: Date,
    pub report: Report,
}

impl Ctx {
    pub fn error(&mut self, loc: &Loc, message: impl Into<String>) {
        self.report.errors.push(issue(loc, message));
    }

    pub fn warning(&mut self, loc: &Loc, message: impl Into<String>) {
        self.report.warnings.push(issue(loc, message));
    }
}

fn issue(loc: &Loc, message: impl Into<String>) -> Issue {
    Issue {
        field: loc.path.clone(),
        label: loc.label.clone(),
        message: message.into(),
    }
}

/// Validates `answers` (see the module documentation for their shape) against
/// `form`: no date after `today` (Asia/Shanghai); "近N年" windows count back
/// from the batch's reference date, not from the day of filling in.
pub fn validate(form: &FormDef, answers: &Value, today: Date) -> Report {
    let mut cx = Ctx {
        today,
        reference: form.reference_date,
        report: Report::default(),
    };
    let empty = Map::new();
    let obj = match answers {
        Value::Object(o) => o,
        Value::Null => &empty,
        _ => {
            let loc = Loc {
                path: String::new(),
                label: form.title.clone(),
                leaf: form.title.clone(),
            };
            cx.error(&loc, "申报内容格式不正确（应为 JSON 对象），请重新填写");
            return cx.report;
        }
    };
    for f in form.fields() {
        field(f, obj.get(&f.key), &Loc::top(f), f.required, &mut cx);
    }
    cx.report
}

/// Validates one field or table cell; `required` says whether emptiness is an error.
pub(super) fn field(f: &Field, v: Option<&Value>, loc: &Loc, required: bool, cx: &mut Ctx) {
    use super::compound;
    let leaf = &loc.leaf;
    match &f.kind {
        FieldKind::Display { .. } => {}
        FieldKind::MultiChoice(spec) => compound::multi_choice(spec, v, loc, required, cx),
        FieldKind::FixedTable(t) => compound::fixed_table(t, v, loc, required, cx),
        FieldKind::VariableTable(t) => compound::variable_table(t, v, loc, required, cx),
        FieldKind::CloudServices(c) => compound::cloud_services(c, v, loc, required, cx),
        FieldKind::Acknowledgements { items, .. } => {
            compound::acknowledgements(items, v, loc, required, cx)
        }
        FieldKind::Choice(spec) => choice(spec, v, loc, required, cx),
        FieldKind::Region => compound::region(v, loc, required, cx),
        FieldKind::YesNo => match bool_of(v) {
            Ok(Some(_)) => {}
            Ok(None) if required => cx.error(loc, format!("请选择“{leaf}”")),
            Ok(None) => {}
            Err(()) => cx.error(loc, format!("“{leaf}”只能选择是或否")),
        },
        _ => {
            let Some(s) = text_of(v) else {
                if !matches!(v, None | Some(Value::Null) | Some(Value::String(_))) {
                    cx.error(loc, format!("{leaf}的格式不正确，请重新填写"));
                } else if required {
                    cx.error(loc, format!("请填写{leaf}"));
                }
                return;
            };
            scalar(&f.kind, &s, loc, cx);
        }
    }
}

/// Rules for a non-empty scalar answer `s`.
fn scalar(kind: &FieldKind, s: &str, loc: &Loc, cx: &mut Ctx) {
    let leaf = &loc.leaf;
    match kind {
        FieldKind::Text { max_chars } | FieldKind::LongText { max_chars, .. } => {
            let n = count_chars(s);
            if n > *max_chars {
                cx.error(loc, format!("{leaf}不能超过{max_chars}字（当前{n}字）"));
            }
            if let FieldKind::LongText {
                min_chars: Some(min),
                ..
            } = kind
                && n < *min
            {
                cx.error(
                    loc,
                    format!("{leaf}不少于{min}字（当前{n}字，还差{}字）", min - n),
                );
            }
        }
        FieldKind::Number(spec) => number(spec, s, loc, cx),
        FieldKind::Date(spec) => date(spec, s, loc, cx),
        FieldKind::CreditCode {
            division_prefix,
            allow_org_code,
        } => credit_code(s, division_prefix.as_deref(), *allow_org_code, loc, cx),
        FieldKind::Mobile => {
            if let Err(m) = MobilePhone::parse(s) {
                cx.error(loc, m);
            }
        }
        FieldKind::Email => {
            if let Err(m) = Email::parse(s) {
                cx.error(loc, m);
            }
        }
        _ => {}
    }
}

fn number(spec: &NumberSpec, s: &str, loc: &Loc, cx: &mut Ctx) {
    let leaf = &loc.leaf;
    let unit = spec.unit.as_deref().unwrap_or("");
    let Some(n) = parse_number(s) else {
        let example = if spec.decimals == 0 { "25" } else { "1234.56" };
        cx.error(
            loc,
            format!("{leaf}应填写数字，如 {example}（当前为“{s}”）"),
        );
        return;
    };
    if n.decimals > spec.decimals {
        if spec.decimals == 0 {
            cx.error(loc, format!("{leaf}应为整数"));
        } else {
            cx.error(loc, format!("{leaf}最多保留{}位小数", spec.decimals));
        }
    }
    let v = n.value;
    if let Some(min) = spec.min {
        if spec.min_exclusive && v <= min {
            cx.error(loc, format!("{leaf}应大于{}{unit}", fmt_num(min)));
        } else if v < min {
            cx.error(loc, format!("{leaf}不能小于{}{unit}", fmt_num(min)));
        }
    }
    if let Some(max) = spec.max
        && v > max
    {
        cx.error(loc, format!("{leaf}不能大于{}{unit}", fmt_num(max)));
    }
    if let Some(w) = spec.warn_max
        && v > w
        && spec.max.is_none_or(|max| v <= max)
    {
        cx.warning(
            loc,
            format!(
                "{leaf}为{}{unit}，超过{}{unit}，请核对是否填写正确",
                fmt_num(v),
                fmt_num(w)
            ),
        );
    }
    if let Some(w) = spec.warn_min
        && v < w
        && spec.min.is_none_or(|min| v >= min)
    {
        cx.warning(
            loc,
            format!(
                "{leaf}为{}{unit}，低于{}{unit}，请核对是否填写正确",
                fmt_num(v),
                fmt_num(w)
            ),
        );
    }
}

/// Parses `YYYY-MM-DD` (also `YYYY/MM/DD`, `YYYY.MM.DD`).
pub fn parse_date(s: &str) -> Option<Date> {
    let s = s.trim().replace(['/', '.'], "-");
    let mut parts = s.split('-');
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some()
        || y.len() != 4
        || m.is_empty()
        || m.len() > 2
        || d.is_empty()
        || d.len() > 2
    {
        return None;
    }
    Date::new(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?).ok()
}

fn date(spec: &DateSpec, s: &str, loc: &Loc, cx: &mut Ctx) {
    let leaf = &loc.leaf;
    let Some(d) = parse_date(s) else {
        cx.error(
            loc,
            format!("{leaf}应为有效日期，格式 YYYY-MM-DD，如 2020-06-01（当前为“{s}”）"),
        );
        return;
    };
    if spec.not_future && d > cx.today {
        cx.error(loc, format!("{leaf}不能晚于今天（{}）", cx.today));
    }
    if let Some(years) = spec.within_years {
        let earliest = cx
            .reference
            .checked_sub(i64::from(years).years())
            .unwrap_or(Date::MIN);
        if d < earliest {
            cx.error(loc, format!("{leaf}应在近{years}年内（不早于{earliest}）"));
        }
    }
}

fn choice(spec: &ChoiceSpec, v: Option<&Value>, loc: &Loc, required: bool, cx: &mut Ctx) {
    let leaf = &loc.leaf;
    // Shapes: "食品", or {"choice": "其它", "other": "环保装备"}.
    let (picked, other) = match v {
        Some(Value::Object(o)) => (text_of(o.get("choice")), o.get("other")),
        v => (text_of(v), None),
    };
    let Some(picked) = picked else {
        if required {
            cx.error(loc, format!("请选择{leaf}"));
        }
        return;
    };
    if !spec.options.contains(&picked) {
        cx.error(loc, format!("“{picked}”不是{leaf}的可选项"));
        return;
    }
    if spec.other.as_deref() == Some(picked.as_str()) {
        let at = loc.child("other", &spec.other_label);
        match text_of(other) {
            None => cx.error(&at, format!("{leaf}选择“{picked}”时，请注明具体内容")),
            Some(t) => {
                let n = count_chars(&t);
                if n > spec.other_max_chars {
                    cx.error(
                        &at,
                        format!(
                            "{}不能超过{}字（当前{n}字）",
                            spec.other_label, spec.other_max_chars
                        ),
                    );
                }
            }
        }
    }
}

fn credit_code(s: &str, prefix: Option<&str>, allow_org: bool, loc: &Loc, cx: &mut Ctx) {
    let compact: String = s
        .chars()
        .filter(|c| *c != '-' && !c.is_whitespace())
        .collect();
    if allow_org && compact.chars().count() == 9 {
        if let Err(e) = OrgCode::parse(s) {
            cx.error(loc, e.to_string());
        }
        return;
    }
    match CreditCode::parse_any(s) {
        Ok(code) => {
            if let Some(p) = prefix
                && !code.division().starts_with(p)
            {
                let e = if p == "42" {
                    CodeError::NotHubei(code.division().to_string()).to_string()
                } else {
                    format!(
                        "该统一社会信用代码的登记管理机关行政区划码为{}，不在本项目受理范围内",
                        code.division()
                    )
                };
                cx.error(loc, e);
            }
        }
        Err(CodeError::Length(n)) if allow_org => {
            cx.error(
                loc,
                format!("请填写18位统一社会信用代码或9位组织机构代码（当前{n}位）"),
            );
        }
        Err(e) => cx.error(loc, e.to_string()),
    }
}
