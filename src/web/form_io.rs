//! Between the HTML form and the stored answers: posted name/value pairs
//! become the answers JSON described in `domain::form`, and a path into the
//! answers gives back the text an input shows. Input names are the answer
//! paths (`finance.2019.profit`, `honours.0.name`, `region.county`).

use std::borrow::Cow;
use std::collections::HashMap;

use serde_json::Value;

use crate::domain::form::{Field, FieldKind, FormDef};
use crate::domain::region;

/// Decodes an `application/x-www-form-urlencoded` body into name/value
/// pairs, exactly as `form_urlencoded::parse` does (`+` is a space, `%XX` a
/// byte, bad escapes kept as typed, invalid UTF-8 replaced), line breaks
/// then unified to `\n` (`Form::with_unix_newlines`). A 13 KB draft
/// of Chinese text is nearly all `%XX` escapes, and decoding it dominated
/// the cost of an autosave: so every name and value is decoded in one tight
/// pass into a single buffer, which is checked as UTF-8 once, and the pairs
/// are slices of it (no allocation per value).
pub fn parse_form(body: &[u8]) -> Form {
    let mut bytes = Vec::with_capacity(body.len());
    let mut spans = Vec::with_capacity(body.len() / 32);
    for (k, v) in pairs(body) {
        let key = decode_into(k, &mut bytes);
        let value = decode_into(v, &mut bytes);
        spans.push([key.0, key.1, value.0, value.1]);
    }
    match simdutf8::basic::from_utf8(&bytes) {
        // A span's ends must also fall between characters: two invalid
        // halves can make a valid whole.
        Ok(text) if spans.iter().flatten().all(|&i| text.is_char_boundary(i)) => Form {
            text: text.to_owned(),
            spans,
        }
        .with_unix_newlines(),
        _ => lossy(body).with_unix_newlines(),
    }
}

/// The slow road, for a body with invalid UTF-8: each name and value is
/// replaced on its own, as `form_urlencoded` does.
fn lossy(body: &[u8]) -> Form {
    let mut text = String::with_capacity(body.len());
    let mut spans = Vec::new();
    for (k, v) in pairs(body) {
        let a = text.len();
        text.push_str(&decode(k));
        let b = text.len();
        text.push_str(&decode(v));
        spans.push([a, b, b, text.len()]);
    }
    Form { text, spans }
}

/// A decoded form body: every name and value, in order, repeats kept.
#[derive(Debug, Default)]
pub struct Form {
    text: String,
    /// Name start, name end, value start, value end, in `text`.
    spans: Vec<[usize; 4]>,
}

impl Form {
    /// Line breaks as `\n` only. A browser posts a textarea's lines with
    /// CRLF in a submitted form but with LF in its `value` (the autosave), so
    /// the same text saved both ways compared as a change ("共1处不同" with
    /// identical text).
    fn with_unix_newlines(self) -> Form {
        if memchr::memchr(b'\r', self.text.as_bytes()).is_none() {
            return self;
        }
        let mut text = String::with_capacity(self.text.len());
        let mut spans = Vec::with_capacity(self.spans.len());
        for (k, v) in self.pairs() {
            let a = text.len();
            text.push_str(&k.replace("\r\n", "\n").replace('\r', "\n"));
            let b = text.len();
            text.push_str(&v.replace("\r\n", "\n").replace('\r', "\n"));
            spans.push([a, b, b, text.len()]);
        }
        Form { text, spans }
    }

    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.spans
            .iter()
            .map(|&[a, b, c, d]| (&self.text[a..b], &self.text[c..d]))
    }

    /// Whether a field of this name was posted.
    pub fn has(&self, name: &str) -> bool {
        self.pairs().any(|(k, _)| k == name)
    }
}

/// The non-empty `&`-separated pieces of a body, split at their first `=`
/// into name and value (still encoded).
fn pairs(body: &[u8]) -> impl Iterator<Item = (&[u8], &[u8])> {
    let mut rest = body;
    std::iter::from_fn(move || {
        while !rest.is_empty() {
            let end = memchr::memchr(b'&', rest).unwrap_or(rest.len());
            let piece = &rest[..end];
            rest = rest.get(end + 1..).unwrap_or(&[]);
            if !piece.is_empty() {
                return Some(match memchr::memchr(b'=', piece) {
                    Some(i) => (&piece[..i], &piece[i + 1..]),
                    None => (piece, &[][..]),
                });
            }
        }
        None
    })
}

/// The first value posted under `name`, decoding nothing else.
pub fn form_field(body: &[u8], name: &str) -> Option<String> {
    pairs(body).find_map(|(k, v)| {
        // A name without escapes is itself: compare the bytes as they came.
        let hit = match memchr::memchr2(b'%', b'+', k) {
            None => k == name.as_bytes(),
            Some(_) => decode(k) == name,
        };
        hit.then(|| decode(v).into_owned())
    })
}

/// Hex digit values; 0xFF marks a byte that is not a hex digit.
const HEX: [u8; 256] = {
    let mut t = [0xFFu8; 256];
    let mut i = 0;
    while i < 10 {
        t[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        t[b'a' as usize + i] = 10 + i as u8;
        t[b'A' as usize + i] = 10 + i as u8;
        i += 1;
    }
    t
};

/// Appends the decoding of `s` to `out`; gives where it starts and ends.
fn decode_into(s: &[u8], out: &mut Vec<u8>) -> (usize, usize) {
    let start = out.len();
    let Some(first) = memchr::memchr2(b'%', b'+', s) else {
        out.extend_from_slice(s);
        return (start, out.len());
    };
    // Written by index into room of the input's size (the output is never
    // longer): a third faster than pushing byte by byte.
    out.resize(start + s.len(), 0);
    let dst = &mut out[start..];
    dst[..first].copy_from_slice(&s[..first]);
    let (mut i, mut o) = (first, first);
    while i < s.len() {
        let b = s[i];
        let escaped = if b == b'%' && i + 2 < s.len() {
            let (h, l) = (HEX[s[i + 1] as usize], HEX[s[i + 2] as usize]);
            (h | l < 16).then_some(h << 4 | l)
        } else {
            None
        };
        match escaped {
            Some(v) => {
                dst[o] = v;
                i += 3;
            }
            None => {
                dst[o] = if b == b'+' { b' ' } else { b };
                i += 1;
            }
        }
        o += 1;
    }
    out.truncate(start + o);
    (start, out.len())
}

/// One value decoded on its own (invalid UTF-8 replaced).
fn decode(s: &[u8]) -> Cow<'_, str> {
    if memchr::memchr2(b'%', b'+', s).is_none() {
        return String::from_utf8_lossy(s);
    }
    let mut out = Vec::with_capacity(s.len());
    decode_into(s, &mut out);
    Cow::Owned(String::from_utf8_lossy(&out).into_owned())
}

/// The answers of one posted form, borrowing the posted text. It is written
/// straight out as the stored JSON (object keys sorted, the text serde_json
/// prints for the same `Value`), so a save copies no value into a `Value`.
#[derive(Debug)]
pub enum Answer<'a> {
    Text(&'a str),
    Bool(bool),
    List(Vec<Answer<'a>>),
    /// Entries sorted by key, each key once (as a `Map` holds them).
    Object(Vec<(&'a str, Answer<'a>)>),
}

impl<'a> Answer<'a> {
    /// As `domain::form::is_filled` judges the same value.
    fn is_filled(&self) -> bool {
        match self {
            Answer::Text(s) => !s.trim().is_empty(),
            Answer::Bool(_) => true,
            Answer::List(a) => a.iter().any(Answer::is_filled),
            Answer::Object(o) => o.iter().any(|(_, v)| v.is_filled()),
        }
    }

    fn get(&self, key: &str) -> Option<&Answer<'a>> {
        match self {
            Answer::Object(o) => o
                .binary_search_by(|(k, _)| (*k).cmp(key))
                .ok()
                .map(|i| &o[i].1),
            _ => None,
        }
    }

    fn text(&self, key: &str) -> &'a str {
        match self.get(key) {
            Some(Answer::Text(s)) => s,
            _ => "",
        }
    }

    /// The stored JSON text.
    pub fn to_json(&self) -> String {
        // Sized for a full draft at once rather than grown by doubling.
        let mut out = String::with_capacity(8 * 1024);
        self.write_json(&mut out);
        out
    }

    /// Compact JSON, escaped as serde_json escapes (tested against it).
    fn write_json(&self, out: &mut String) {
        match self {
            Answer::Text(t) => write_json_str(out, t),
            Answer::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Answer::List(items) => {
                out.push('[');
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    v.write_json(out);
                }
                out.push(']');
            }
            Answer::Object(entries) => {
                out.push('{');
                for (i, (k, v)) in entries.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write_json_str(out, k);
                    out.push(':');
                    v.write_json(out);
                }
                out.push('}');
            }
        }
    }

    pub fn to_value(&self) -> Value {
        match self {
            Answer::Text(t) => Value::String(stored_text(t)),
            Answer::Bool(b) => Value::Bool(*b),
            Answer::List(items) => Value::Array(items.iter().map(Answer::to_value).collect()),
            Answer::Object(entries) => Value::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_value()))
                    .collect(),
            ),
        }
    }

    /// Columns the city inbox filters on: 所属行业 and 所属地区 (city, county).
    pub fn summary(&self) -> (String, &'a str, &'a str) {
        let industry = match self.get("industry") {
            Some(o @ Answer::Object(_)) => {
                let (c, other) = (o.text("choice"), o.text("other").trim());
                if other.is_empty() {
                    c.to_string()
                } else {
                    format!("{c}（{other}）")
                }
            }
            Some(Answer::Text(s)) => s.to_string(),
            _ => String::new(),
        };
        let region = self.get("region");
        let (city, county) = region.map_or(("", ""), |r| (r.text("city"), r.text("county")));
        (industry, city, county)
    }
}

/// A JSON string: `"` and `\\` escaped, line breaks and tabs as `\\n`-style
/// escapes, everything else (all of Chinese) as it is. Other control
/// characters (NUL, ESC, …) and bidi overrides, which only come in by
/// pasting or by intent (`\u{202e}` shows text reversed), are dropped
/// (#20). Text that needs no escape, nearly all of a draft, is copied in
/// one piece.
fn write_json_str(out: &mut String, s: &str) {
    let cleaned;
    let s = if has_bidi(s.as_bytes()) {
        cleaned = s.chars().filter(|c| !is_bidi(*c)).collect::<String>();
        cleaned.as_str()
    } else {
        s
    };
    out.reserve(s.len() + 2);
    out.push('"');
    let mut rest = s;
    while let Some(i) = json_special(rest.as_bytes()) {
        out.push_str(&rest[..i]);
        match rest.as_bytes()[i] {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            _ => {}
        }
        rest = &rest[i + 1..];
    }
    out.push_str(rest);
    out.push('"');
}

/// `s` as it is stored (what [`write_json_str`] writes): without control
/// characters other than line breaks and tabs, and without bidi controls.
pub fn stored_text(s: &str) -> String {
    s.chars()
        .filter(|&c| !is_bidi(c) && (c >= ' ' || matches!(c, '\n' | '\r' | '\t')))
        .collect()
}

/// Bidi embeddings, overrides and isolates (U+202A–202E, U+2066–2069).
fn is_bidi(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// Whether UTF-8 `b` holds a bidi control: E2 80 AA–AE or E2 81 A6–A9
/// (0xE2 leads only a few punctuation marks in Chinese text).
fn has_bidi(b: &[u8]) -> bool {
    memchr::memchr_iter(0xE2, b).any(|i| {
        matches!(
            (b.get(i + 1), b.get(i + 2)),
            (Some(0x80), Some(0xAA..=0xAE)) | (Some(0x81), Some(0xA6..=0xA9))
        )
    })
}

/// Where the first byte of `b` is that a JSON string cannot hold as it is:
/// `"`, `\\` or a control character. Eight bytes are tested at a time with
/// the word tricks of "Bit Twiddling Hacks" (a byte below n; a zero byte
/// after XOR). A borrow can only flag bytes above a true hit, so the lowest
/// flagged byte is always a true one.
fn json_special(b: &[u8]) -> Option<usize> {
    const ONES: u64 = u64::from_le_bytes([1; 8]);
    const HIGH: u64 = ONES * 0x80;
    fn below(w: u64, n: u8) -> u64 {
        w.wrapping_sub(ONES * n as u64) & !w & HIGH
    }
    let mut chunks = b.chunks_exact(8);
    let mut at = 0;
    for chunk in &mut chunks {
        let w = u64::from_le_bytes(chunk.try_into().expect("eight bytes"));
        let hits = below(w, 0x20)
            | below(w ^ (ONES * b'"' as u64), 1)
            | below(w ^ (ONES * b'\\' as u64), 1);
        if hits != 0 {
            return Some(at + hits.trailing_zeros() as usize / 8);
        }
        at += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|&c| c < 0x20 || c == b'"' || c == b'\\')
        .map(|i| at + i)
}

/// Reads an autosave body: a JSON array of `[name, value]` string pairs,
/// the form's fields in order (what `static/app.js` sends). Chinese text,
/// which `%XX` escapes triple in size, travels as it is. `None` when the body
/// is not exactly that.
pub fn parse_json_pairs(body: &[u8]) -> Option<Form> {
    let src = simdutf8::basic::from_utf8(body).ok()?;
    let mut p = Json { src, at: 0 };
    let mut text = String::with_capacity(src.len());
    let mut spans = Vec::with_capacity(src.len() / 32);
    p.expect(b'[')?;
    if !p.eat(b']') {
        loop {
            p.expect(b'[')?;
            let (a, b) = p.string(&mut text)?;
            p.expect(b',')?;
            let (c, d) = p.string(&mut text)?;
            p.expect(b']')?;
            spans.push([a, b, c, d]);
            if p.eat(b']') {
                break;
            }
            p.expect(b',')?;
        }
    }
    p.skip_space();
    (p.at == src.len()).then_some(Form { text, spans }.with_unix_newlines())
}

/// A cursor over JSON text (RFC 8259), for the few forms `parse_json_pairs` reads.
struct Json<'a> {
    src: &'a str,
    at: usize,
}

impl Json<'_> {
    fn skip_space(&mut self) {
        let b = self.src.as_bytes();
        while matches!(b.get(self.at), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    fn eat(&mut self, c: u8) -> bool {
        self.skip_space();
        let hit = self.src.as_bytes().get(self.at) == Some(&c);
        if hit {
            self.at += 1;
        }
        hit
    }

    fn expect(&mut self, c: u8) -> Option<()> {
        self.eat(c).then_some(())
    }

    /// A string, unescaped onto `out`; gives where it starts and ends there.
    fn string(&mut self, out: &mut String) -> Option<(usize, usize)> {
        self.expect(b'"')?;
        let start = out.len();
        loop {
            let rest = &self.src[self.at..];
            let i = json_special(rest.as_bytes())?;
            out.push_str(&rest[..i]);
            self.at += i + 1;
            match rest.as_bytes()[i] {
                b'"' => return Some((start, out.len())),
                b'\\' => out.push(self.escape()?),
                _ => return None, // a raw control character
            }
        }
    }

    /// The character of the escape after a backslash. A lone surrogate, which
    /// JSON.stringify writes as `\\udXXX`, becomes U+FFFD as it would in UTF-8.
    fn escape(&mut self) -> Option<char> {
        let c = *self.src.as_bytes().get(self.at)?;
        self.at += 1;
        Some(match c {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let hi = self.hex4()?;
                let pair = (0xD800..0xDC00).contains(&hi)
                    && self.src[self.at..].starts_with("\\u")
                    && self.src.get(self.at + 2..self.at + 6).is_some_and(|l| {
                        u32::from_str_radix(l, 16).is_ok_and(|lo| (0xDC00..0xE000).contains(&lo))
                    });
                if pair {
                    self.at += 2;
                    let lo = self.hex4()?;
                    char::from_u32(0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00))?
                } else {
                    char::from_u32(hi).unwrap_or('\u{FFFD}')
                }
            }
            _ => return None,
        })
    }

    fn hex4(&mut self) -> Option<u32> {
        let h = self.src.get(self.at..self.at + 4)?;
        if !h.bytes().all(|c| c.is_ascii_hexdigit()) {
            return None;
        }
        self.at += 4;
        u32::from_str_radix(h, 16).ok()
    }
}

fn yes_no(v: Option<&str>) -> Option<Answer<'static>> {
    match v {
        Some("true") | Some("是") => Some(Answer::Bool(true)),
        Some("false") | Some("否") => Some(Answer::Bool(false)),
        _ => None,
    }
}

/// How the posted names of one form become its answers, worked out once
/// per form definition (kept in `AppState`). A save then hashes each posted
/// name once, into a table made at start, and builds the answers by walking
/// the plan: no path is put together, no name looked up per field, no
/// object sorted (the plan's keys are in the stored JSON's order already).
#[derive(Debug)]
pub struct Plan {
    /// Every name the form's inputs post (but table rows), with where its
    /// value goes: a last-wins slot, a list of every value, or both.
    names: HashMap<Box<str>, Target, foldhash::fast::RandomState>,
    slots: usize,
    lists: usize,
    tables: Vec<RowsPlan>,
    root: Vec<(Box<str>, Node)>,
}

#[derive(Debug, Default, Clone, Copy)]
struct Target {
    slot: Option<usize>,
    list: Option<usize>,
}

/// A variable table: its rows are posted as `key.N.column`.
#[derive(Debug)]
struct RowsPlan {
    key: Box<str>,
    /// The names a row's columns post after `key.N.`, each with its cell.
    cells: HashMap<Box<str>, usize, foldhash::fast::RandomState>,
    columns: Vec<(Box<str>, Node)>,
    limit: usize,
}

/// One value of the answers; `usize`s are slots (or cells, in a row).
#[derive(Debug)]
enum Node {
    /// The text posted, left out when nothing was.
    Text(usize),
    /// 是/否 as a boolean, left out unless one of them was posted.
    YesNo(usize),
    /// A choice with its 请注明 text, always there.
    ChoiceOther {
        choice: usize,
        other: usize,
    },
    /// Every non-empty value posted under the name (checkboxes), in order.
    List(usize),
    /// Whether the checkbox was posted ticked.
    Flag(usize),
    /// The county posted, and the city it lies under.
    Region(usize),
    Object(Vec<(Box<str>, Node)>),
    Rows(usize),
}

/// An object's entries in `Map` order; a repeated key keeps its last value.
fn sorted(mut entries: Vec<(Box<str>, Node)>) -> Vec<(Box<str>, Node)> {
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    entries.dedup_by(|later, kept| {
        let same = later.0 == kept.0;
        if same {
            std::mem::swap(later, kept);
        }
        same
    });
    entries
}

/// A column value posted under `name`, its slots given by `slot`.
fn scalar_node(f: &Field, name: &str, slot: &mut dyn FnMut(String) -> usize) -> Node {
    match &f.kind {
        FieldKind::YesNo => Node::YesNo(slot(name.to_string())),
        FieldKind::Choice(c) if c.other.is_some() => Node::ChoiceOther {
            choice: slot(name.to_string()),
            other: slot(format!("{name}.other")),
        },
        _ => Node::Text(slot(name.to_string())),
    }
}

impl Plan {
    pub fn new(form: &FormDef) -> Plan {
        let mut plan = Plan {
            names: HashMap::default(),
            slots: 0,
            lists: 0,
            tables: Vec::new(),
            root: Vec::new(),
        };
        let mut root = Vec::new();
        for f in form.fields() {
            let key = f.key.as_str();
            let node = match &f.kind {
                FieldKind::Display { .. } => continue,
                FieldKind::MultiChoice(_) => Node::List(plan.list(key.to_string())),
                FieldKind::FixedTable(t) => Node::Object(sorted(
                    t.rows
                        .iter()
                        .map(|r| {
                            let cols = plan.row(key, &r.key, &t.columns);
                            (r.key.as_str().into(), Node::Object(sorted(cols)))
                        })
                        .collect(),
                )),
                FieldKind::VariableTable(t) => {
                    let mut cells = HashMap::default();
                    let mut cell = |name: String| {
                        let n = cells.len();
                        *cells.entry(name.into()).or_insert(n)
                    };
                    let columns = t
                        .columns
                        .iter()
                        .map(|c| (c.key.as_str().into(), scalar_node(c, &c.key, &mut cell)))
                        .collect();
                    plan.tables.push(RowsPlan {
                        key: key.into(),
                        cells,
                        columns: sorted(columns),
                        limit: t.max_rows.max(1) + 8,
                    });
                    Node::Rows(plan.tables.len() - 1)
                }
                FieldKind::CloudServices(cs) => Node::Object(sorted(
                    cs.services
                        .iter()
                        .map(|s| {
                            let mut cols = plan.row(key, &s.key, &cs.columns);
                            let used = plan.slot(format!("{key}.{}.used", s.key));
                            cols.push(("used".into(), Node::Flag(used)));
                            (s.key.as_str().into(), Node::Object(sorted(cols)))
                        })
                        .collect(),
                )),
                FieldKind::Region => Node::Region(plan.slot(format!("{key}.county"))),
                FieldKind::Acknowledgements { items, .. } => Node::Object(sorted(
                    items
                        .iter()
                        .map(|it| {
                            let on = plan.slot(format!("{key}.{}", it.key));
                            (it.key.as_str().into(), Node::Flag(on))
                        })
                        .collect(),
                )),
                _ => scalar_node(f, key, &mut |n| plan.slot(n)),
            };
            root.push((key.into(), node));
        }
        plan.root = sorted(root);
        plan
    }

    /// The last-wins slot of a posted name.
    fn slot(&mut self, name: String) -> usize {
        let t = self.names.entry(name.into()).or_default();
        *t.slot.get_or_insert_with(|| {
            self.slots += 1;
            self.slots - 1
        })
    }

    /// The list of every value posted under a name.
    fn list(&mut self, name: String) -> usize {
        let t = self.names.entry(name.into()).or_default();
        *t.list.get_or_insert_with(|| {
            self.lists += 1;
            self.lists - 1
        })
    }

    /// The columns of one fixed row, posted as `key.row.column`.
    fn row(&mut self, key: &str, row: &str, columns: &[Field]) -> Vec<(Box<str>, Node)> {
        columns
            .iter()
            .map(|c| {
                let name = format!("{key}.{row}.{}", c.key);
                (
                    c.key.as_str().into(),
                    scalar_node(c, &name, &mut |n| self.slot(n)),
                )
            })
            .collect()
    }
}

/// The posted values sorted into a plan's slots.
struct Filled<'a> {
    plan: &'a Plan,
    slots: Vec<Option<&'a str>>,
    lists: Vec<Vec<&'a str>>,
    /// Per variable table: each row posted (by number), with its cells.
    rows: Vec<std::collections::BTreeMap<usize, Vec<Option<&'a str>>>>,
}

impl<'a> Filled<'a> {
    fn new(plan: &'a Plan, pairs: impl Iterator<Item = (&'a str, &'a str)>) -> Filled<'a> {
        let mut f = Filled {
            plan,
            slots: vec![None; plan.slots],
            lists: vec![Vec::new(); plan.lists],
            rows: plan.tables.iter().map(|_| Default::default()).collect(),
        };
        for (name, value) in pairs {
            if let Some(t) = plan.names.get(name) {
                if let Some(s) = t.slot {
                    f.slots[s] = Some(value);
                }
                if let Some(l) = t.list
                    && !value.is_empty()
                {
                    f.lists[l].push(value);
                }
            }
            for (t, table) in plan.tables.iter().enumerate() {
                let Some(rest) = name
                    .strip_prefix(&*table.key)
                    .and_then(|r| r.strip_prefix('.'))
                else {
                    continue;
                };
                // Any `key.N…` makes row N exist; only `key.N.column` with N
                // written plainly (no sign, no leading zero) fills a cell.
                let (number, column) = rest.split_once('.').unwrap_or((rest, ""));
                let Ok(n) = number.parse::<usize>() else {
                    continue;
                };
                let row = f.rows[t]
                    .entry(n)
                    .or_insert_with(|| vec![None; table.cells.len()]);
                let plain =
                    number == "0" || (number.starts_with(|c: char| c.is_ascii_digit() && c != '0'));
                if plain && let Some(&c) = table.cells.get(column) {
                    row[c] = Some(value);
                }
            }
        }
        f
    }

    /// The answer of `node`; `None` leaves it out (a field not posted).
    fn answer(&self, node: &'a Node, cells: &[Option<&'a str>]) -> Option<Answer<'a>> {
        let at = |i: usize| cells.get(i).copied().flatten();
        Some(match node {
            Node::Text(i) => Answer::Text(at(*i)?),
            Node::YesNo(i) => yes_no(at(*i))?,
            Node::ChoiceOther { choice, other } => Answer::Object(vec![
                ("choice", Answer::Text(at(*choice).unwrap_or(""))),
                ("other", Answer::Text(at(*other).unwrap_or(""))),
            ]),
            Node::List(l) => Answer::List(self.lists[*l].iter().map(|v| Answer::Text(v)).collect()),
            Node::Flag(i) => Answer::Bool(at(*i) == Some("true")),
            Node::Region(i) => {
                let county = at(*i).unwrap_or("").trim();
                let city = region::city_of_county(county).map_or("", |c| c.code);
                Answer::Object(vec![
                    ("city", Answer::Text(city)),
                    ("county", Answer::Text(county)),
                ])
            }
            Node::Object(entries) => self.object(entries, cells),
            Node::Rows(t) => {
                let table = &self.plan.tables[*t];
                Answer::List(
                    self.rows[*t]
                        .values()
                        .take(table.limit)
                        .map(|row| self.object(&table.columns, row))
                        .filter(Answer::is_filled)
                        .collect(),
                )
            }
        })
    }

    fn object(&self, entries: &'a [(Box<str>, Node)], cells: &[Option<&'a str>]) -> Answer<'a> {
        Answer::Object(
            entries
                .iter()
                .filter_map(|(k, n)| Some((&**k, self.answer(n, cells)?)))
                .collect(),
        )
    }
}

/// Builds the answers from posted pairs (a repeated name: its last value,
/// or all of them for checkboxes). Variable-table rows left wholly empty
/// are dropped; everything else is kept exactly as typed.
pub fn answers<'a>(plan: &'a Plan, pairs: impl Iterator<Item = (&'a str, &'a str)>) -> Answer<'a> {
    let filled = Filled::new(plan, pairs);
    filled.object(&plan.root, &filled.slots)
}

/// The value at a dotted path (`finance.2019.profit`, `honours.0.name`).
pub fn at<'v>(answers: &'v Value, path: &str) -> Option<&'v Value> {
    let mut cur = answers;
    for part in path.split('.') {
        cur = match cur {
            Value::Object(m) => m.get(part)?,
            Value::Array(a) => a.get(part.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(cur)
}

/// The text an input shows for `path`.
pub fn text_at(answers: &Value, path: &str) -> String {
    match at(answers, path) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::Bool(true)) => "true".into(),
        Some(Value::Bool(false)) => "false".into(),
        Some(Value::Object(o)) => o
            .get("choice")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        _ => String::new(),
    }
}

/// Whether the multi-choice or choice at `path` has `option` selected.
pub fn has_option(answers: &Value, path: &str, option: &str) -> bool {
    match at(answers, path) {
        Some(Value::Array(a)) => a.iter().any(|v| v.as_str() == Some(option)),
        Some(Value::String(s)) => s == option,
        Some(Value::Object(o)) => o.get("choice").and_then(Value::as_str) == Some(option),
        _ => false,
    }
}

/// The name/value pairs an HTML form would post for `answers` (the inverse
/// of [`answers`]; used by tests, demo data and load benchmarks).
pub fn pairs_from_answers(form: &FormDef, answers: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let scalar = |f: &Field, path: &str, out: &mut Vec<(String, String)>| match at(answers, path) {
        Some(Value::Object(o)) => {
            out.push((
                path.to_string(),
                o.get("choice")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
            ));
            out.push((
                format!("{path}.other"),
                o.get("other")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
            ));
        }
        Some(_) => {
            let _ = f;
            out.push((path.to_string(), text_at(answers, path)));
        }
        None => {}
    };
    for f in form.fields() {
        let key = f.key.as_str();
        match &f.kind {
            FieldKind::Display { .. } => {}
            FieldKind::MultiChoice(_) => {
                if let Some(Value::Array(a)) = at(answers, key) {
                    for v in a.iter().filter_map(Value::as_str) {
                        out.push((key.to_string(), v.to_string()));
                    }
                }
            }
            FieldKind::FixedTable(t) => {
                for r in &t.rows {
                    for c in &t.columns {
                        scalar(c, &format!("{key}.{}.{}", r.key, c.key), &mut out);
                    }
                }
            }
            FieldKind::VariableTable(t) => {
                if let Some(Value::Array(rows)) = at(answers, key) {
                    for i in 0..rows.len() {
                        for c in &t.columns {
                            scalar(c, &format!("{key}.{i}.{}", c.key), &mut out);
                        }
                    }
                }
            }
            FieldKind::CloudServices(cs) => {
                for s in &cs.services {
                    if at(answers, &format!("{key}.{}.used", s.key)).and_then(Value::as_bool)
                        == Some(true)
                    {
                        out.push((format!("{key}.{}.used", s.key), "true".into()));
                    }
                    for c in &cs.columns {
                        scalar(c, &format!("{key}.{}.{}", s.key, c.key), &mut out);
                    }
                }
            }
            FieldKind::Region => out.push((
                format!("{key}.county"),
                text_at(answers, &format!("{key}.county")),
            )),
            FieldKind::Acknowledgements { items, .. } => {
                for it in items {
                    let p = format!("{key}.{}", it.key);
                    if at(answers, &p).and_then(Value::as_bool) == Some(true) {
                        out.push((p, "true".into()));
                    }
                }
            }
            _ => scalar(f, key, &mut out),
        }
    }
    out
}

/// The deadline rush's draft (load benchmarks): the sample application's
/// short fields and one long text, ~5 KB stored.
pub fn sample_draft_pairs() -> Vec<(String, String)> {
    let def = crate::domain::form::ProgramDef::builtin();
    let answers = crate::domain::form::sample_answers_on(1, jiff::civil::date(2021, 9, 10));
    let mut pairs = pairs_from_answers(&def.form, &answers);
    let long = [
        "overview",
        "technology",
        "industry_advantage",
        "construction",
        "team",
        "investment",
        "innovation",
        "direct_effects",
        "demonstration",
        "effect_summary",
    ];
    pairs.retain(|(k, _)| !long.contains(&k.as_str()));
    let overview: String = answers["overview"]
        .as_str()
        .unwrap_or("")
        .chars()
        .cycle()
        .take(1100)
        .collect();
    pairs.push(("overview".into(), overview));
    pairs
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::form::{ProgramDef, sample_answers, validate};

    /// Issue #20, finding 9: NUL, ESC and bidi overrides pasted into a text
    /// are not stored; line breaks, tabs, quotes and “Chinese quotes” are.
    #[test]
    fn stored_text_loses_control_characters_and_bidi_overrides() {
        let mut out = String::new();
        write_json_str(
            &mut out,
            "发票\u{202e}fdp.exe\u{0}\u{1b}[31m“引号”\t\"a\"\n第二行\u{2066}x",
        );
        assert_eq!(out, r#""发票fdp.exe[31m“引号”\t\"a\"\n第二行x""#);
        let back: String = serde_json::from_str(&out).unwrap();
        assert!(
            !back
                .chars()
                .any(|c| c == '\u{0}' || c == '\u{1b}' || c == '\u{202e}')
        );
    }

    /// A textarea's lines arrive as CRLF from a submitted form and as LF
    /// from the autosave: both read as the same text.
    #[test]
    fn line_breaks_read_the_same_from_a_form_and_from_the_autosave() {
        let form = parse_form("_version=3&overview=%E7%AC%AC%E4%B8%80%E8%A1%8C%0D%0A%E7%AC%AC%E4%BA%8C%E8%A1%8C%0D%0A%0D%0Aend%0Dx".as_bytes());
        let json = parse_json_pairs(
            r#"[["_version","3"],["overview","第一行\n第二行\n\nend\nx"]]"#.as_bytes(),
        )
        .expect("json pairs");
        let pairs: Vec<_> = form.pairs().collect();
        assert_eq!(pairs, json.pairs().collect::<Vec<_>>());
        assert_eq!(pairs[1], ("overview", "第一行\n第二行\n\nend\nx"));
        let crlf = parse_json_pairs(r#"[["a","x\r\ny"],["b","plain"]]"#.as_bytes()).expect("json");
        assert_eq!(
            crlf.pairs().collect::<Vec<_>>(),
            [("a", "x\ny"), ("b", "plain")]
        );
    }

    #[test]
    fn form_bodies_decode_as_the_reference_decoder_does() {
        let mut cases: Vec<Vec<u8>> = [
            "a=1&b=%E4%B8%AD%E6%96%87&c=x+y%2Bz",
            "&&a&=v&b=&%zz=%4&%E4%B8=%ff%fe&c=%41%4a%4A",
            "name=%E6%B9%96%E5%8C%97%E7%9C%81&name=2&_csrf=ab",
            "",
            "%",
            "a=%2",
            "a=b=c",
            // Two invalid halves that make a valid character side by side.
            "a=%E4&%B8%AD=x",
            "%E4%B8=%AD",
        ]
        .iter()
        .map(|s| s.as_bytes().to_vec())
        .collect();
        cases.push(b"a=\xe4&\xb8\xad=x".to_vec());
        // Pseudo-random bytes drawn mostly from the characters that matter.
        cases.extend(random_cases(b"%+=&aF09\xe4\xb8", 2000, 24));
        for case in &cases {
            let reference: Vec<(String, String)> = form_urlencoded::parse(case)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
            let ours = owned(&parse_form(case));
            assert_eq!(ours, reference, "body {:?}", String::from_utf8_lossy(case));
            for name in ["a", "_csrf", "\u{4e2d}"] {
                let first = reference
                    .iter()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.clone());
                assert_eq!(form_field(case, name), first);
            }
        }
    }

    fn owned(form: &Form) -> Vec<(String, String)> {
        form.pairs()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// Pseudo-random bytes drawn from `alphabet` (xorshift, fixed seed).
    fn random_cases(alphabet: &[u8], count: usize, max_len: u64) -> Vec<Vec<u8>> {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        (0..count)
            .map(|_| {
                let len = next() % max_len;
                (0..len)
                    .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                    .collect()
            })
            .collect()
    }

    #[test]
    fn the_word_scan_finds_the_first_byte_json_must_escape() {
        let alphabet = b"\x00\x1f\x20!\"#\\]\x7f\x80\xa2\xdc\xffa\n";
        for case in random_cases(alphabet, 4000, 40) {
            let naive = case
                .iter()
                .position(|&c| c < 0x20 || c == b'"' || c == b'\\');
            assert_eq!(json_special(&case), naive, "{case:?}");
        }
    }

    #[test]
    fn json_pairs_read_as_serde_json_reads_them() {
        let mut cases: Vec<Vec<u8>> = [
            r#"[]"#,
            r#" [ [ "a" , "b" ] , ["a","c"] ] "#,
            r#"[["\u4e2d\u6587","\"\\\/\b\f\n\r\t"]]"#,
            r#"[["e","\ud83d\ude00"]]"#,
            r#"[["a"]]"#,
            r#"[["a","b","c"]]"#,
            r#"[["a","b"],]"#,
            r#"[["a",1]]"#,
            r#"{"a":"b"}"#,
            r#"[["a","b"]] x"#,
            r#"[["a","\x"]]"#,
            r#"[["a","\u12"]]"#,
            r#"[["a","\u+123"]]"#,
            r#"[["a","b"#,
            "[[\"a\",\"\t\"]]",
        ]
        .iter()
        .map(|s| s.as_bytes().to_vec())
        .collect();
        cases.push(b"[[\"a\",\"\xe4\xb8\"]]".to_vec());
        cases.extend(random_cases(b"[],\" \\u04en\t", 3000, 24));
        // Line breaks are then unified to `\n` (a textarea's CRLF).
        let unix = |s: String| s.replace("\r\n", "\n").replace('\r', "\n");
        for case in &cases {
            let reference: Option<Vec<(String, String)>> =
                serde_json::from_slice::<Vec<(String, String)>>(case)
                    .ok()
                    .map(|v| v.into_iter().map(|(k, x)| (unix(k), unix(x))).collect());
            let ours = parse_json_pairs(case).as_ref().map(owned);
            assert_eq!(ours, reference, "{:?}", String::from_utf8_lossy(case));
        }
        // A lone surrogate (JSON.stringify writes one as an escape) becomes
        // U+FFFD, as the browser's UTF-8 form encoding would make it.
        let lone = parse_json_pairs(br#"[["a","x\ud800y\udc00\ud800\u0041"]]"#).unwrap();
        assert_eq!(
            lone.pairs().next(),
            Some(("a", "x\u{fffd}y\u{fffd}\u{fffd}A"))
        );
        // Whatever serde_json writes comes back as it was.
        let pairs: Vec<(String, String)> = random_cases("中\"\\\n\u{1}a😀".as_bytes(), 500, 30)
            .into_iter()
            .map(|b| {
                let s = String::from_utf8_lossy(&b).into_owned();
                (s.chars().rev().collect(), s)
            })
            .collect();
        let body = serde_json::to_vec(&pairs).unwrap();
        let back = owned(&parse_json_pairs(&body).unwrap());
        assert_eq!(back, pairs);
    }

    fn str_pairs(pairs: &[(String, String)]) -> impl Iterator<Item = (&str, &str)> {
        pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    #[test]
    fn posted_names_are_read_as_the_form_defines_them() {
        let def = ProgramDef::builtin();
        let plan = Plan::new(&def.form);
        let posted = [
            ("products", "x"),
            ("products", "y"),
            ("nonsense", "z"),
            ("finance.2019.profit", "-1"),
            ("finance.2019.nonsense", "9"),
            ("cloud_goals", "设备管理优化"),
            ("cloud_goals", ""),
            ("cloud_goals", "能源效率优化"),
            ("cloud_services.platform.used", "true"),
            ("cloud_services.platform.in_pool", "是"),
            ("cloud_services.security.in_pool", "maybe"),
            ("region.county", " 420106 "),
            ("commitments.nonsense", "true"),
            // Rows: any `honours.N…` makes row N; only `honours.N.column`
            // with N written plainly fills a cell; a row left empty is dropped.
            ("honours.2.name", "A"),
            ("honours.02.name", "B"),
            ("honours.+5.name", "C"),
            ("honours.7", "D"),
            ("honours.1.name", "first"),
            ("honours.1.name", "second"),
            ("honours.1.nonsense", "E"),
            ("honours.x.name", "F"),
        ];
        let value = answers(&plan, posted.into_iter()).to_value();
        let expect = serde_json::json!({
            "products": "y",
            "cloud_goals": ["设备管理优化", "能源效率优化"],
            "honours": [{"name": "second"}, {"name": "A"}],
            "region": {"city": "420100", "county": "420106"},
            "industry": {"choice": "", "other": ""},
        });
        for key in ["products", "cloud_goals", "honours", "region", "industry"] {
            assert_eq!(value[key], expect[key], "{key}");
        }
        assert_eq!(
            value["finance"]["2019"],
            serde_json::json!({"profit": "-1"})
        );
        assert_eq!(value["finance"]["2018"], serde_json::json!({}));
        assert_eq!(
            value["cloud_services"]["platform"],
            serde_json::json!({"used": true, "in_pool": true})
        );
        assert_eq!(
            value["cloud_services"]["security"],
            serde_json::json!({"used": false})
        );
        let commitments = value["commitments"].as_object().expect("commitments");
        assert!(!commitments.is_empty());
        assert!(commitments.values().all(|v| v == &Value::Bool(false)));
        assert!(value.get("nonsense").is_none());
        assert!(value.get("company_name").is_none(), "not posted, left out");
    }

    #[test]
    fn sample_answers_survive_a_round_trip_through_the_html_form() {
        let def = ProgramDef::builtin();
        let plan = Plan::new(&def.form);
        for seed in [1, 2, 3, 42] {
            let answers = sample_answers(seed);
            let pairs = pairs_from_answers(&def.form, &answers);
            let back = super::answers(&plan, str_pairs(&pairs)).to_value();
            let today = jiff::civil::date(2021, 9, 10);
            assert_eq!(
                validate(&def.form, &back, today).errors,
                validate(&def.form, &answers, today).errors,
                "seed {seed}"
            );
            assert_eq!(
                text_at(&back, "construction"),
                text_at(&answers, "construction")
            );
            assert_eq!(
                text_at(&back, "finance.2019.profit"),
                text_at(&answers, "finance.2019.profit")
            );
            assert_eq!(at(&back, "cloud_goals"), at(&answers, "cloud_goals"));
        }
    }

    #[test]
    fn the_stored_json_is_the_text_of_the_answers_value() {
        // Written straight from the posted text, it must be byte for byte what
        // serde_json prints for the same answers (keys sorted, same escapes).
        let def = ProgramDef::builtin();
        let plan = Plan::new(&def.form);
        for seed in 0..30 {
            let mut pairs = pairs_from_answers(&def.form, &sample_answers(seed));
            if seed % 3 == 1 {
                pairs.retain(|(k, _)| (k.len() + seed as usize) % 4 != 0);
            }
            if seed % 3 == 2 {
                for (k, v) in pairs.iter_mut() {
                    if k.len() % 3 == 0 {
                        v.push_str("\"\\\n\t\r\u{1}\u{8}\u{c}\u{1f}\u{7f}“引号”");
                    }
                }
                pairs.push(("honours.9.name".into(), "奖".into()));
                pairs.push(("industry".into(), "其它".into()));
                pairs.push(("industry.other".into(), " 软件 ".into()));
            }
            let answers = answers(&plan, str_pairs(&pairs));
            let json = answers.to_json();
            assert_eq!(json, answers.to_value().to_string(), "seed {seed}");
            let value: Value = serde_json::from_str(&json).unwrap();
            let (industry, city, county) = answers.summary();
            assert_eq!(city, text_at(&value, "region.city"));
            assert_eq!(county, text_at(&value, "region.county"));
            if seed % 3 == 2 {
                assert_eq!(industry, "其它（软件）");
                assert_eq!(
                    at(&value, "honours")
                        .and_then(Value::as_array)
                        .map(Vec::len)
                        .map(|n| n > 0),
                    Some(true)
                );
            }
        }
    }
}
