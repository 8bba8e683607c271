//! Validation of the structured kinds: option groups, tables, the cloud
//! services block, acknowledgements and the region picker.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use super::definition::{
    CloudServices, FixedTable, MultiChoiceSpec, Severity, Statement, VariableTable,
};
use super::text::{bool_of, is_filled, parse_number, text_of};
use super::validate::{Ctx, Loc, field};
use crate::domain::region;

/// An object answer, or an error when something else is stored there.
fn object<'v>(v: Option<&'v Value>, loc: &Loc, cx: &mut Ctx) -> Option<&'v Map<String, Value>> {
    match v {
        Some(Value::Object(o)) => Some(o),
        None | Some(Value::Null) => None,
        Some(_) => {
            cx.error(loc, format!("{}的格式不正确，请重新填写", loc.leaf));
            None
        }
    }
}

pub(super) fn multi_choice(
    spec: &MultiChoiceSpec,
    v: Option<&Value>,
    loc: &Loc,
    required: bool,
    cx: &mut Ctx,
) {
    let leaf = &loc.leaf;
    let picked: Vec<&str> = match v {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(s)) if s.trim().is_empty() => Vec::new(),
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .filter(|s| !s.trim().is_empty())
            .collect(),
        Some(_) => {
            cx.error(loc, format!("{leaf}的格式不正确，请重新选择"));
            return;
        }
    };
    let mut known = BTreeSet::new();
    for p in picked {
        if spec
            .groups
            .iter()
            .any(|g| g.options.iter().any(|o| o == p.trim()))
        {
            known.insert(p.trim());
        } else {
            cx.error(loc, format!("“{p}”不是{leaf}的可选项"));
        }
    }
    if required && known.len() < spec.min_selected {
        let n = spec.min_selected;
        let what = if n == 1 {
            "一".to_string()
        } else {
            n.to_string()
        };
        cx.error(loc, format!("请至少选择{what}项{leaf}"));
    }
}

pub(super) fn fixed_table(
    t: &FixedTable,
    v: Option<&Value>,
    loc: &Loc,
    required: bool,
    cx: &mut Ctx,
) {
    let Some(obj) = object(v, loc, cx) else {
        if required {
            cx.error(loc, format!("请填写{}", loc.leaf));
        }
        return;
    };
    // An optional table that was started must be complete.
    let enforce = required || is_filled(v);
    for row in &t.rows {
        let row_loc = loc.child(&row.key, &row.label);
        let cells = object(obj.get(&row.key), &row_loc, cx);
        for col in &t.columns {
            let cell = cells.and_then(|c| c.get(&col.key));
            field(col, cell, &row_loc.column(col), enforce && col.required, cx);
        }
        let Some(cells) = cells else { continue };
        for check in &t.checks {
            let num = |k: &str| {
                text_of(cells.get(k))
                    .and_then(|s| parse_number(&s))
                    .map(|n| n.value)
            };
            if let (Some(l), Some(r)) = (num(&check.left), num(&check.right))
                && !check.op.holds(l, r)
            {
                let Some(col) = t.columns.iter().find(|c| c.key == check.left) else {
                    continue;
                };
                let at = row_loc.column(col);
                let message = format!("{}：{}", row.label, check.message);
                match check.severity {
                    Severity::Error => cx.error(&at, message),
                    Severity::Warning => cx.warning(&at, message),
                }
            }
        }
    }
}

pub(super) fn variable_table(
    t: &VariableTable,
    v: Option<&Value>,
    loc: &Loc,
    required: bool,
    cx: &mut Ctx,
) {
    let leaf = loc.leaf.clone();
    let rows: &[Value] = match v {
        Some(Value::Array(a)) => a,
        None | Some(Value::Null) => &[],
        Some(_) => {
            cx.error(loc, format!("{leaf}的格式不正确，请重新填写"));
            return;
        }
    };
    let mut filled = 0;
    for (i, row) in rows.iter().enumerate() {
        if !is_filled(Some(row)) {
            continue; // empty rows are ignored
        }
        filled += 1;
        let row_loc = loc.child(&i.to_string(), &format!("第{}行", i + 1));
        let Some(cells) = object(Some(row), &row_loc, cx) else {
            continue;
        };
        // A started row must be complete.
        for col in &t.columns {
            field(
                col,
                cells.get(&col.key),
                &row_loc.column(col),
                col.required,
                cx,
            );
        }
    }
    let min = if required {
        t.min_rows.max(1)
    } else {
        t.min_rows
    };
    if filled < min {
        cx.error(loc, format!("请至少填写{min}行{leaf}"));
    }
    if filled > t.max_rows {
        cx.error(
            loc,
            format!("{leaf}最多填写{}行（当前{filled}行）", t.max_rows),
        );
    }
}

pub(super) fn cloud_services(
    c: &CloudServices,
    v: Option<&Value>,
    loc: &Loc,
    required: bool,
    cx: &mut Ctx,
) {
    let obj = object(v, loc, cx);
    let mut used = 0;
    for s in &c.services {
        let s_loc = loc.child(&s.key, &s.label);
        let Some(cells) = object(obj.and_then(|o| o.get(&s.key)), &s_loc, cx) else {
            continue;
        };
        let used_loc = s_loc.child("used", &c.used_label);
        match bool_of(cells.get("used")) {
            Ok(Some(true)) => {
                used += 1;
                for col in &c.columns {
                    let mut at = s_loc.column(col);
                    at.leaf = format!("{}的{}", s.label, col.label);
                    field(col, cells.get(&col.key), &at, col.required, cx);
                }
            }
            Ok(_) => {}
            Err(()) => cx.error(&used_loc, format!("“{}”是否使用只能选择是或否", s.label)),
        }
    }
    if required && used < c.min_used {
        let names: Vec<&str> = c.services.iter().map(|s| s.label.as_str()).collect();
        cx.error(
            loc,
            format!(
                "请至少勾选{}种{}（{}），并填写云服务名称和云服务商",
                c.min_used,
                loc.leaf,
                names.join("、")
            ),
        );
    }
}

pub(super) fn acknowledgements(
    items: &[Statement],
    v: Option<&Value>,
    loc: &Loc,
    required: bool,
    cx: &mut Ctx,
) {
    let obj = object(v, loc, cx);
    for item in items {
        let at = loc.child(&item.key, &item.label);
        match bool_of(obj.and_then(|o| o.get(&item.key))) {
            Ok(Some(true)) => {}
            Ok(_) if !required => {}
            Ok(_) | Err(()) => cx.error(&at, format!("请阅读并确认：{}", item.text)),
        }
    }
}

pub(super) fn region(v: Option<&Value>, loc: &Loc, required: bool, cx: &mut Ctx) {
    let obj = object(v, loc, cx);
    let city_code = text_of(obj.and_then(|o| o.get("city")));
    let county_code = text_of(obj.and_then(|o| o.get("county")));
    let city_loc = loc.child("city", "市（州）");
    let county_loc = loc.child("county", "县（市、区）");
    let Some(city_code) = city_code else {
        if required || county_code.is_some() {
            cx.error(&city_loc, "请选择所属市（州）");
        }
        return;
    };
    let Some(city) = region::city(&city_code) else {
        cx.error(
            &city_loc,
            format!("市（州）代码“{city_code}”不是湖北省的市州，请重新选择"),
        );
        return;
    };
    match county_code {
        None => cx.error(
            &county_loc,
            format!("请选择{}下属的县（市、区）", city.name),
        ),
        Some(cc) if region::county(&city_code, &cc).is_none() => cx.error(
            &county_loc,
            format!("县（市、区）代码“{cc}”不属于{}，请重新选择", city.name),
        ),
        Some(_) => {}
    }
}
