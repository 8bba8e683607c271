//! 一、申请表: one bordered table laid out from the fields of the form's
//! first section, in the row groups of 附件1.
//!
//! The grid is a narrow group column (企业基本信息 …, merged down its rows)
//! followed by twelve equal units. Within a group, short fields pair up
//! (label, value, label, value: 3 units each), other fields take a label
//! (3 units) and a value (9 units); tables split their units among their
//! columns. A group of numbers only (费用) is one row whose label spans the
//! group column. Fields without a group take the group column for their
//! label: numbers and long texts as a wide label, signature and statement
//! blocks (签章, 承诺, 审核意见) as a narrow one beside a full-width box.

use docx_rs::{AlignmentType, HeightRule, Paragraph, Table, TableCell, TableRow};
use serde_json::Value;

use super::AppDoc;
use super::values::{self, BLANK, BLANK_SHORT, mark};
use super::word::{self, Style, TABLE};
use crate::domain::form::{
    CloudServices, Field, FieldKind, FixedTable, MultiChoiceSpec, Section, VariableTable,
};

/// Width of the group column and of one of the twelve units, in twips.
const G: usize = 1272;
const U: usize = 650;
/// Word's default left/right cell margin.
const CELL_MARGIN: usize = 108;

const LABEL: Style = Style::new(TABLE, word::SIZE_5).align(AlignmentType::Center);
const VALUE: Style = Style::new(TABLE, word::SIZE_5);
const RIGHT: Style = Style::new(TABLE, word::SIZE_5).align(AlignmentType::Right);

/// A row of the 12 units right of the group column.
type Body = Vec<TableCell>;

fn label(text: &str) -> Paragraph {
    word::para(text, LABEL)
}

fn value(text: &str) -> Paragraph {
    word::para(text, VALUE)
}

fn units(paras: Vec<Paragraph>, n: usize) -> TableCell {
    word::cell(paras, n * U, n)
}

/// `total` units split into `n` near-equal parts, larger parts first.
fn split(total: usize, n: usize) -> Vec<usize> {
    let n = n.max(1);
    (0..n)
        .map(|i| total / n + usize::from(i < total % n))
        .collect()
}

/// Cells for `texts` spread over `total` units.
fn spread(texts: &[String], total: usize, header: bool) -> Body {
    texts
        .iter()
        .zip(split(total, texts.len()))
        .map(|(t, n)| units(vec![if header { label(t) } else { value(t) }], n))
        .collect()
}

/// Builds the 申请表 of `section` (the form's first section) for `doc`.
pub fn table(section: &Section, doc: &AppDoc) -> Table {
    let a = &doc.answers;
    let mut rows: Vec<TableRow> = Vec::new();
    let fields: Vec<&Field> = section.fields.iter().filter(|f| f.print).collect();
    let mut i = 0;
    while i < fields.len() {
        let f = fields[i];
        match &f.group {
            Some(g) => {
                let n = fields[i..]
                    .iter()
                    .take_while(|x| x.group.as_ref() == Some(g))
                    .count();
                let members = &fields[i..i + n];
                if members
                    .iter()
                    .all(|m| matches!(m.kind, FieldKind::Number(_)))
                {
                    rows.push(inline_numbers(g, members, a));
                } else {
                    rows.extend(group_rows(g, members, a));
                }
                i += n;
            }
            None => {
                rows.extend(ungrouped(f, doc));
                i += 1;
            }
        }
    }
    let mut grid = vec![G];
    grid.extend([U; 12]);
    word::table(rows, grid)
}

/// One row: a wide label over the group column and 3 units, the values in 9.
fn inline_numbers(group: &str, members: &[&Field], a: &Value) -> TableRow {
    let text = if members.len() == 1 {
        values::text(a.get(&members[0].key))
    } else {
        members
            .iter()
            .map(|m| {
                let unit = match &m.kind {
                    FieldKind::Number(n) => n.unit.clone().unwrap_or_default(),
                    _ => String::new(),
                };
                let v = values::text(a.get(&m.key));
                let v = if v.is_empty() { BLANK.to_string() } else { v };
                format!("{}：{v}{unit}", m.label)
            })
            .collect::<Vec<_>>()
            .join("；")
    };
    let title = if members.len() == 1 {
        members[0].label_with_unit()
    } else {
        group.to_string()
    };
    line_row(vec![
        word::cell(vec![label(&title)], G + 3 * U, 4),
        units(vec![value(&text)], 9),
    ])
}

/// Height of a one-line row: room to write by hand on the printed form.
const LINE_ROW: f32 = 440.0;

/// A row of short values: at least one writing line high, never split
/// across pages.
fn line_row(cells: Vec<TableCell>) -> TableRow {
    TableRow::new(cells)
        .row_height(LINE_ROW)
        .height_rule(HeightRule::AtLeast)
        .cant_split()
}

/// The rows of a group, with the group label merged down the first column.
fn group_rows(group: &str, members: &[&Field], a: &Value) -> Vec<TableRow> {
    let mut bodies: Vec<Body> = Vec::new();
    let mut pending: Option<&Field> = None;
    for f in members {
        if is_short(f) {
            match pending.take() {
                Some(p) => bodies.push(pair(p, f, a)),
                None => pending = Some(f),
            }
            continue;
        }
        if let Some(p) = pending.take() {
            bodies.push(full(p, a));
        }
        bodies.extend(field_bodies(f, a));
    }
    if let Some(p) = pending {
        bodies.push(full(p, a));
    }
    let n = bodies.len();
    bodies
        .into_iter()
        .enumerate()
        .map(|(i, body)| {
            let g = word::cell(if i == 0 { vec![label(group)] } else { vec![] }, G, 1);
            let mut cells = vec![if n > 1 { word::vmerge(g, i == 0) } else { g }];
            cells.extend(body);
            line_row(cells)
        })
        .collect()
}

/// Fields printed in half a row (label and value of 3 units each).
fn is_short(f: &Field) -> bool {
    match &f.kind {
        FieldKind::Text { max_chars } => *max_chars <= 50,
        FieldKind::Number(_)
        | FieldKind::Date(_)
        | FieldKind::YesNo
        | FieldKind::CreditCode { .. }
        | FieldKind::Mobile
        | FieldKind::Email => true,
        _ => false,
    }
}

fn pair(l: &Field, r: &Field, a: &Value) -> Body {
    vec![
        units(vec![label(&l.label_with_unit())], 3),
        units(vec![fitted(&values::scalar(l, a.get(&l.key)), 3)], 3),
        units(vec![label(&r.label_with_unit())], 3),
        units(vec![fitted(&values::scalar(r, a.get(&r.key)), 3)], 3),
    ]
}

/// A value in a smaller size when it would not fit on one line of `n`
/// units (a credit code, an e-mail address), so that it is not broken.
fn fitted(text: &str, n: usize) -> Paragraph {
    let room = room(n);
    if word::text_twips(text, VALUE.size) > room && word::text_twips(text, word::SIZE_S5) <= room {
        word::para(
            text,
            Style {
                size: word::SIZE_S5,
                ..VALUE
            },
        )
    } else {
        value(text)
    }
}

fn full(f: &Field, a: &Value) -> Body {
    let v = a.get(&f.key);
    let text = match &f.kind {
        FieldKind::Choice(spec) => {
            word::flow(&values::choice_items(spec, v), box_room(9), VALUE.size)
        }
        _ => values::scalar(f, v),
    };
    vec![
        units(vec![label(&f.label_with_unit())], 3),
        units(vec![value(&text)], 9),
    ]
}

/// The text width inside a cell of `n` units.
fn room(n: usize) -> usize {
    n * U - 2 * CELL_MARGIN
}

/// [`room`] less a safety margin for laying out check boxes: renderers set
/// a box and its neighbouring CJK text a little wider than the estimate.
fn box_room(n: usize) -> usize {
    room(n) * 97 / 100
}

/// The body rows of one field inside a group.
fn field_bodies(f: &Field, a: &Value) -> Vec<Body> {
    let v = a.get(&f.key);
    match &f.kind {
        FieldKind::FixedTable(t) => fixed_table(t, v),
        FieldKind::VariableTable(t) => variable_table(f, t, v),
        FieldKind::CloudServices(c) => cloud_services(f, c, v),
        FieldKind::MultiChoice(m) => multi_choice(m, v),
        FieldKind::LongText { .. } => vec![vec![
            units(vec![label(&f.label)], 3),
            units(long_text(v), 9),
        ]],
        FieldKind::Acknowledgements { .. } | FieldKind::Display { .. } => {
            vec![vec![units(block(f, v, None), 12)]]
        }
        _ => vec![full(f, a)],
    }
}

fn hint_row(f: &Field) -> Option<Body> {
    f.hint
        .as_ref()
        .map(|h| vec![units(vec![value(&format!("备注：{h}"))], 12)])
}

fn fixed_table(t: &FixedTable, v: Option<&Value>) -> Vec<Body> {
    let cell =
        |row: &str, col: &str| values::text(v.and_then(|x| x.get(row)).and_then(|r| r.get(col)));
    let mut out = Vec::new();
    if t.transposed {
        let mut head = vec![units(vec![label("")], 3)];
        let years: Vec<String> = t.rows.iter().map(|r| r.label.clone()).collect();
        head.extend(spread(&years, 9, true));
        out.push(head);
        for c in &t.columns {
            let mut row = vec![units(vec![label(&c.label_with_unit())], 3)];
            let vals: Vec<String> = t.rows.iter().map(|r| cell(&r.key, &c.key)).collect();
            row.extend(spread(&vals, 9, false));
            out.push(row);
        }
    } else {
        let mut head = vec![units(vec![label("")], 3)];
        let cols: Vec<String> = t.columns.iter().map(|c| c.label_with_unit()).collect();
        head.extend(spread(&cols, 9, true));
        out.push(head);
        for r in &t.rows {
            let mut row = vec![units(vec![label(&r.label)], 3)];
            let vals: Vec<String> = t.columns.iter().map(|c| cell(&r.key, &c.key)).collect();
            row.extend(spread(&vals, 9, false));
            out.push(row);
        }
    }
    out
}

fn variable_table(f: &Field, t: &VariableTable, v: Option<&Value>) -> Vec<Body> {
    let mut out: Vec<Body> = hint_row(f).into_iter().collect();
    let filled: Vec<&Value> = v
        .and_then(Value::as_array)
        .map(|rows| {
            rows.iter()
                .filter(|r| crate::domain::form::is_filled(Some(r)))
                .collect()
        })
        .unwrap_or_default();
    let cols: Vec<String> = t.columns.iter().map(|c| c.label.clone()).collect();
    let (num_units, rest) = if t.numbered { (3, 9) } else { (0, 12) };
    let mut head = Vec::new();
    if t.numbered {
        head.push(units(vec![label(&t.number_label)], num_units));
    }
    head.extend(spread(&cols, rest, true));
    out.push(head);
    let count = if filled.is_empty() {
        t.blank_rows.max(1)
    } else {
        filled.len()
    };
    for i in 0..count {
        let row = filled.get(i).copied();
        let mut body = Vec::new();
        if t.numbered {
            body.push(units(vec![label(&(i + 1).to_string())], num_units));
        }
        let vals: Vec<String> = t
            .columns
            .iter()
            .map(|c| {
                let cv = row.and_then(|r| r.get(&c.key));
                match &c.kind {
                    FieldKind::Choice(_) => values::choice_text(cv),
                    _ => values::scalar(c, cv),
                }
            })
            .collect();
        body.extend(spread(&vals, rest, false));
        out.push(body);
    }
    out
}

fn cloud_services(f: &Field, c: &CloudServices, v: Option<&Value>) -> Vec<Body> {
    let mut out: Vec<Body> = hint_row(f).into_iter().collect();
    // Yes/no columns take 3 units; the first column (the service with its
    // name) takes what the others leave.
    let k = c.columns.len().max(1);
    let mut widths: Vec<usize> = c
        .columns
        .iter()
        .map(|col| {
            if matches!(col.kind, FieldKind::YesNo) {
                3
            } else {
                0
            }
        })
        .collect();
    let fixed: usize = widths.iter().sum();
    let free = widths.iter().filter(|w| **w == 0).count();
    let share = split(12 - fixed.min(12 - free.max(1)), free.max(1));
    let mut it = share.into_iter();
    for w in widths.iter_mut().filter(|w| **w == 0) {
        *w = it.next().unwrap_or(3);
    }
    let head = c
        .columns
        .iter()
        .zip(&widths)
        .map(|(col, w)| units(vec![label(&col.label)], *w))
        .collect();
    out.push(head);
    for s in &c.services {
        let sv = v.and_then(|x| x.get(&s.key));
        let used = values::flag(sv.and_then(|x| x.get("used")));
        let mut body = Vec::with_capacity(k);
        for (j, (col, w)) in c.columns.iter().zip(&widths).enumerate() {
            let cv = sv.and_then(|x| x.get(&col.key));
            let text = if j == 0 {
                let name = values::text(cv);
                let name = if name.is_empty() {
                    BLANK_SHORT.to_string()
                } else {
                    name
                };
                format!("{}{}（名称：{name}）", mark(used), s.label)
            } else {
                values::scalar(col, cv)
            };
            body.push(units(vec![value(&text)], *w));
        }
        out.push(body);
    }
    out
}

fn multi_choice(m: &MultiChoiceSpec, v: Option<&Value>) -> Vec<Body> {
    let boxes = |opts: &[String], n: usize| {
        let items: Vec<String> = opts
            .iter()
            .map(|o| format!("{}{o}", mark(values::has_option(v, o))))
            .collect();
        word::flow(&items, box_room(n), VALUE.size)
    };
    m.groups
        .iter()
        .map(|g| {
            if g.label.is_empty() {
                vec![units(vec![value(&boxes(&g.options, 12))], 12)]
            } else {
                vec![
                    units(vec![label(&g.label)], 3),
                    units(vec![value(&boxes(&g.options, 9))], 9),
                ]
            }
        })
        .collect()
}

fn long_text(v: Option<&Value>) -> Vec<Paragraph> {
    let t = values::text(v);
    let st = VALUE.indent(200);
    let ps = word::text_block(&t, st);
    if ps.is_empty() { vec![value("")] } else { ps }
}

/// A statement or signature block: its text (or the city's opinion), the
/// items with their boxes, room to sign, and the signature line on the right.
fn block(f: &Field, v: Option<&Value>, opinion: Option<&str>) -> Vec<Paragraph> {
    let mut ps = Vec::new();
    let (signature, min_lines) = match &f.kind {
        FieldKind::Acknowledgements { items, signature } => {
            for it in items {
                let on = values::flag(v.and_then(|x| x.get(&it.key)));
                let num = if it.label.chars().all(|c| c.is_ascii_digit()) {
                    format!("{}.", it.label)
                } else {
                    String::new()
                };
                ps.push(value(&format!("{}{num}{}", mark(on), it.text)));
            }
            (signature.clone(), 1)
        }
        FieldKind::Display { text, signature } => {
            if let Some(o) = opinion {
                ps.extend(word::text_block(o, VALUE.indent(200)));
            } else if !text.is_empty() {
                ps.push(value(text));
            }
            (signature.clone(), if opinion.is_some() { 1 } else { 3 })
        }
        _ => (None, 0),
    };
    for _ in 0..min_lines {
        ps.push(value(""));
    }
    if let Some(sig) = signature {
        ps.push(word::para(&sig, RIGHT));
    }
    ps
}

/// The key of the display field that holds the city's 审核意见.
pub const CITY_OPINION: &str = "city_opinion";

/// A field without a group: its label takes the group column.
fn ungrouped(f: &Field, doc: &AppDoc) -> Vec<TableRow> {
    let a = &doc.answers;
    let v = a.get(&f.key);
    match &f.kind {
        FieldKind::Acknowledgements { .. } | FieldKind::Display { .. } => {
            let opinion = if f.key == CITY_OPINION {
                doc.city_opinion.as_deref()
            } else {
                None
            };
            let row = TableRow::new(vec![
                word::cell(vec![label(&f.label)], G, 1),
                units(block(f, v, opinion), 12),
            ]);
            vec![row.row_height(1700.0).height_rule(HeightRule::AtLeast)]
        }
        FieldKind::LongText { .. } => {
            let mut lp = vec![label(&f.label)];
            if let Some(h) = &f.hint {
                lp.push(label(&format!("（{h}）")));
            }
            let row = TableRow::new(vec![word::cell(lp, G + 3 * U, 4), units(long_text(v), 9)]);
            if values::text(v).is_empty() {
                vec![row.row_height(3000.0).height_rule(HeightRule::AtLeast)]
            } else {
                vec![row]
            }
        }
        FieldKind::Number(_) => vec![inline_numbers(&f.label, &[f], a)],
        // A table or choice without a group: its own label heads the group column.
        _ => group_rows(&f.label, &[f], a),
    }
}
