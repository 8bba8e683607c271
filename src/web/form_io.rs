//! Between the HTML form and the stored answers: posted name/value pairs
//! become the answers JSON described in `domain::form`, and a path into the
//! answers gives back the text an input shows. Input names are the answer
//! paths (`finance.2019.profit`, `honours.0.name`, `region.county`).

use std::borrow::Cow;
use std::collections::HashMap;

use serde_json::{Map, Value};

use crate::domain::form::{Field, FieldKind, FormDef};
use crate::domain::region;

/// Decodes an `application/x-www-form-urlencoded` body into name/value
/// pairs, exactly as `form_urlencoded::parse` does (`+` is a space, `%XX` a
/// byte, bad escapes kept as typed, invalid UTF-8 replaced), in one tight
/// pass per value: a 13 KB draft of Chinese text is nearly all `%XX`
/// escapes, and decoding it dominated the cost of an autosave.
pub fn parse_form(body: &[u8]) -> Vec<(Cow<'_, str>, Cow<'_, str>)> {
    pairs(body).map(|(k, v)| (decode(k), decode(v))).collect()
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
    pairs(body).find_map(|(k, v)| (decode(k) == name).then(|| decode(v).into_owned()))
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

fn decode(s: &[u8]) -> Cow<'_, str> {
    let Some(first) = memchr::memchr2(b'%', b'+', s) else {
        return String::from_utf8_lossy(s);
    };
    let mut out = Vec::with_capacity(s.len());
    out.extend_from_slice(&s[..first]);
    let mut i = first;
    while i < s.len() {
        let b = s[i];
        if b == b'%' && i + 2 < s.len() {
            let (h, l) = (HEX[s[i + 1] as usize], HEX[s[i + 2] as usize]);
            if h | l < 16 {
                out.push(h << 4 | l);
                i += 3;
                continue;
            }
        }
        if b == b'%' || b == b'+' {
            out.push(if b == b'+' { b' ' } else { b });
            i += 1;
        } else {
            let run = memchr::memchr2(b'%', b'+', &s[i..]).unwrap_or(s.len() - i);
            out.extend_from_slice(&s[i..i + run]);
            i += run;
        }
    }
    match String::from_utf8(out) {
        Ok(text) => Cow::Owned(text),
        Err(e) => Cow::Owned(String::from_utf8_lossy(e.as_bytes()).into_owned()),
    }
}

/// Posted pairs, with repeated names kept (multi-choice checkboxes).
pub struct Posted<'a> {
    map: HashMap<&'a str, Vec<&'a str>>,
}

impl<'a> Posted<'a> {
    pub fn new<K: AsRef<str>, V: AsRef<str>>(pairs: &'a [(K, V)]) -> Posted<'a> {
        let mut map: HashMap<&str, Vec<&str>> = HashMap::with_capacity(pairs.len());
        for (k, v) in pairs {
            map.entry(k.as_ref()).or_default().push(v.as_ref());
        }
        Posted { map }
    }

    /// The row indices posted for the variable table `key` (`key.3.name` → 3), ascending.
    fn row_indices(&self, key: &str) -> Vec<usize> {
        let mut rows: Vec<usize> = self
            .map
            .keys()
            .filter_map(|k| {
                k.strip_prefix(key)?
                    .strip_prefix('.')?
                    .split('.')
                    .next()?
                    .parse()
                    .ok()
            })
            .collect();
        rows.sort_unstable();
        rows.dedup();
        rows
    }

    pub fn get(&self, name: &str) -> Option<&'a str> {
        self.map.get(name).and_then(|v| v.last().copied())
    }

    fn all(&self, name: &str) -> &[&'a str] {
        self.map.get(name).map_or(&[], |v| v.as_slice())
    }
}

fn text(v: Option<&str>) -> Value {
    Value::String(v.unwrap_or("").to_string())
}

fn yes_no(v: Option<&str>) -> Option<Value> {
    match v {
        Some("true") | Some("是") => Some(Value::Bool(true)),
        Some("false") | Some("否") => Some(Value::Bool(false)),
        _ => None,
    }
}

/// A scalar column value from `name`.
fn scalar(f: &Field, posted: &Posted<'_>, name: &str) -> Option<Value> {
    match &f.kind {
        FieldKind::YesNo => yes_no(posted.get(name)),
        FieldKind::Choice(c) if c.other.is_some() => Some(serde_json::json!({
            "choice": posted.get(name).unwrap_or(""),
            "other": posted.get(&format!("{name}.other")).unwrap_or(""),
        })),
        _ => posted.get(name).map(|v| text(Some(v))),
    }
}

/// Builds the answers object from a posted form. Variable-table rows left
/// wholly empty are dropped; everything else is kept exactly as typed.
pub fn answers_from_form(form: &FormDef, posted: &Posted<'_>) -> Value {
    let mut out = Map::new();
    for f in form.fields() {
        let key = f.key.as_str();
        let v = match &f.kind {
            FieldKind::Display { .. } => continue,
            FieldKind::MultiChoice(_) => Value::Array(
                posted
                    .all(key)
                    .iter()
                    .filter(|s| !s.is_empty())
                    .map(|s| Value::String(s.to_string()))
                    .collect(),
            ),
            FieldKind::FixedTable(t) => {
                let mut rows = Map::new();
                for r in &t.rows {
                    let mut cols = Map::new();
                    for c in &t.columns {
                        if let Some(v) = scalar(c, posted, &format!("{key}.{}.{}", r.key, c.key)) {
                            cols.insert(c.key.clone(), v);
                        }
                    }
                    rows.insert(r.key.clone(), Value::Object(cols));
                }
                Value::Object(rows)
            }
            FieldKind::VariableTable(t) => {
                let mut rows = Vec::new();
                for i in posted
                    .row_indices(key)
                    .into_iter()
                    .take(t.max_rows.max(1) + 8)
                {
                    let mut cols = Map::new();
                    for c in &t.columns {
                        if let Some(v) = scalar(c, posted, &format!("{key}.{i}.{}", c.key)) {
                            cols.insert(c.key.clone(), v);
                        }
                    }
                    let row = Value::Object(cols);
                    if crate::domain::form::is_filled(Some(&row)) {
                        rows.push(row);
                    }
                }
                Value::Array(rows)
            }
            FieldKind::CloudServices(cs) => {
                let mut svcs = Map::new();
                for s in &cs.services {
                    let mut cols = Map::new();
                    let used = posted.get(&format!("{key}.{}.used", s.key)) == Some("true");
                    cols.insert("used".into(), Value::Bool(used));
                    for c in &cs.columns {
                        if let Some(v) = scalar(c, posted, &format!("{key}.{}.{}", s.key, c.key)) {
                            cols.insert(c.key.clone(), v);
                        }
                    }
                    svcs.insert(s.key.clone(), Value::Object(cols));
                }
                Value::Object(svcs)
            }
            FieldKind::Region => {
                let county = posted
                    .get(&format!("{key}.county"))
                    .unwrap_or("")
                    .trim()
                    .to_string();
                let city = region::cities()
                    .iter()
                    .find(|c| region::county(c.code, &county).is_some())
                    .map_or(String::new(), |c| c.code.to_string());
                serde_json::json!({ "city": city, "county": county })
            }
            FieldKind::Acknowledgements { items, .. } => {
                let mut m = Map::new();
                for it in items {
                    let on = posted.get(&format!("{key}.{}", it.key)) == Some("true");
                    m.insert(it.key.clone(), Value::Bool(on));
                }
                Value::Object(m)
            }
            _ => match scalar(f, posted, key) {
                Some(v) => v,
                None => continue,
            },
        };
        out.insert(key.to_string(), v);
    }
    Value::Object(out)
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

/// Columns the city inbox filters on: 所属行业 and 所属地区.
pub fn summary(answers: &Value) -> (String, String, String) {
    let industry = match at(answers, "industry") {
        Some(Value::Object(o)) => {
            let c = o.get("choice").and_then(Value::as_str).unwrap_or("");
            let other = o.get("other").and_then(Value::as_str).unwrap_or("").trim();
            if other.is_empty() {
                c.to_string()
            } else {
                format!("{c}（{other}）")
            }
        }
        Some(Value::String(s)) => s.clone(),
        _ => String::new(),
    };
    (
        industry,
        text_at(answers, "region.city"),
        text_at(answers, "region.county"),
    )
}

/// The name/value pairs an HTML form would post for `answers` (the inverse
/// of [`answers_from_form`]; used by tests, demo data and load benchmarks).
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::form::{ProgramDef, sample_answers, validate};

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
        ]
        .iter()
        .map(|s| s.as_bytes().to_vec())
        .collect();
        // Pseudo-random bytes drawn mostly from the characters that matter.
        let alphabet = b"%+=&aF09\xe4\xb8";
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..2000 {
            let len = (x % 24) as usize;
            let mut case = Vec::with_capacity(len);
            for _ in 0..len {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                case.push(alphabet[(x % alphabet.len() as u64) as usize]);
            }
            cases.push(case);
        }
        for case in &cases {
            let reference: Vec<(String, String)> = form_urlencoded::parse(case)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
            let ours: Vec<(String, String)> = parse_form(case)
                .into_iter()
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
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

    #[test]
    fn sample_answers_survive_a_round_trip_through_the_html_form() {
        let def = ProgramDef::builtin();
        for seed in [1, 2, 3, 42] {
            let answers = sample_answers(seed);
            let pairs = pairs_from_answers(&def.form, &answers);
            let back = answers_from_form(&def.form, &Posted::new(&pairs));
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
}
