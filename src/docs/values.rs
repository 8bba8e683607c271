//! Answers as printed text: check boxes, yes/no, regions, dates. Shared by
//! the Word and Excel generators so that both print a value the same way.

use serde_json::Value;

use crate::domain::form::{ChoiceSpec, Field, FieldKind, bool_of, parse_date, text_of};
use crate::domain::region;

/// A blank to fill in by hand.
pub const BLANK: &str = "＿＿＿＿＿＿";
/// A shorter blank for narrow cells.
pub const BLANK_SHORT: &str = "＿＿";
pub fn mark(on: bool) -> &'static str {
    if on { "☑" } else { "☐" }
}

/// A scalar answer as text (trimmed), or "".
pub fn text(v: Option<&Value>) -> String {
    text_of(v).unwrap_or_default()
}

/// The selected option and the "other" specification of a choice answer.
pub fn choice(v: Option<&Value>) -> (String, String) {
    match v {
        Some(Value::Object(o)) => (text(o.get("choice")), text(o.get("other"))),
        other => (text(other), String::new()),
    }
}

/// The chosen option as one text: `机械`, or `其它（环保装备）`.
pub fn choice_text(v: Option<&Value>) -> String {
    let (c, other) = choice(v);
    if other.is_empty() {
        c
    } else {
        format!("{c}（{other}）")
    }
}

/// Every option with its box: `☐食品`, `☑机械`, …, `☐其它（请注明）＿＿`.
pub fn choice_items(spec: &ChoiceSpec, v: Option<&Value>) -> Vec<String> {
    let (chosen, other) = choice(v);
    spec.options
        .iter()
        .map(|o| {
            let mut item = format!("{}{o}", mark(*o == chosen));
            if spec.other.as_deref() == Some(o.as_str()) {
                item.push('（');
                item.push_str(&spec.other_label);
                item.push('）');
                if *o == chosen && !other.is_empty() {
                    item.push_str(&other);
                } else {
                    item.push_str(BLANK);
                }
            }
            item
        })
        .collect()
}

/// `☑是　☐否`.
pub fn yes_no_boxes(v: Option<&Value>) -> String {
    let b = bool_of(v).ok().flatten();
    format!("{}是　{}否", mark(b == Some(true)), mark(b == Some(false)))
}

/// Whether a yes/no answer is yes.
pub fn flag(v: Option<&Value>) -> bool {
    bool_of(v) == Ok(Some(true))
}

/// `是` / `否` / "".
pub fn yes_no_text(v: Option<&Value>) -> String {
    match bool_of(v).ok().flatten() {
        Some(true) => "是".into(),
        Some(false) => "否".into(),
        None => String::new(),
    }
}

/// The city and county names of a region answer (either may be empty).
pub fn region_names(v: Option<&Value>) -> (String, String) {
    let city_code = text(v.and_then(|r| r.get("city")));
    let county_code = text(v.and_then(|r| r.get("county")));
    let city = region::city(&city_code);
    let county = region::county(&city_code, &county_code);
    (
        city.map_or(city_code.clone(), |c| c.name.to_string()),
        county.map_or(county_code, |c| c.name.to_string()),
    )
}

/// `武汉市　江岸区`, or the form's blanks `＿＿市＿＿县（区）`.
pub fn region_text(v: Option<&Value>) -> String {
    let (city, county) = region_names(v);
    match (city.is_empty(), county.is_empty() || county == city) {
        (true, _) => format!("{BLANK}市{BLANK}县（区）"),
        (false, true) => city,
        (false, false) => format!("{city}　{county}"),
    }
}

/// `2006年5月18日` for a valid date, else the text as typed.
pub fn date_text(v: Option<&Value>) -> String {
    let t = text(v);
    match parse_date(&t) {
        Some(d) => format!("{}年{}月{}日", d.year(), d.month(), d.day()),
        None => t,
    }
}

/// A scalar field's printed value (no unit: units sit in the labels).
pub fn scalar(field: &Field, v: Option<&Value>) -> String {
    match &field.kind {
        FieldKind::Choice(spec) => choice_items(spec, v).join("　"),
        FieldKind::YesNo => yes_no_boxes(v),
        FieldKind::Region => region_text(v),
        FieldKind::Date(_) => date_text(v),
        _ => text(v),
    }
}

/// A scalar value for a table cell of a list (推荐表, summary): no boxes.
pub fn plain(field: &Field, v: Option<&Value>) -> String {
    match &field.kind {
        FieldKind::Choice(_) => choice_text(v),
        FieldKind::YesNo => yes_no_text(v),
        FieldKind::Region => {
            let (city, county) = region_names(v);
            if county.is_empty() || county == city {
                city
            } else {
                format!("{city}{county}")
            }
        }
        FieldKind::Date(_) => date_text(v),
        _ => text(v),
    }
}

/// Whether a multi-choice answer includes `option`.
pub fn has_option(v: Option<&Value>, option: &str) -> bool {
    v.and_then(Value::as_array)
        .is_some_and(|a| a.iter().any(|x| x.as_str() == Some(option)))
}

/// A block of text split into paragraphs: line breaks kept, control
/// characters (which XML cannot carry) dropped, blank lines removed.
pub fn paragraphs(s: &str) -> Vec<String> {
    s.split('\n')
        .map(|l| {
            l.chars()
                .filter(|c| !c.is_control() || *c == '\t')
                .collect::<String>()
                .trim_end()
                .to_string()
        })
        .filter(|l| !l.trim().is_empty())
        .collect()
}

/// Text safe for XML: control characters other than tab and newline dropped.
pub fn clean(s: &str) -> String {
    if s.chars().any(|c| c.is_control() && c != '\t' && c != '\n') {
        s.chars()
            .filter(|c| !c.is_control() || *c == '\t' || *c == '\n')
            .collect()
    } else {
        s.to_string()
    }
}

/// A human size: `1.2 MB`.
pub fn size_text(size: i64) -> String {
    crate::files::human_size(size.max(0) as u64)
}
