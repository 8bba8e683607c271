//! Draft versions stored as what changed (migrations/*/0006).
//!
//! Every save is a version, and an autosave changes one or two fields of a
//! ~5 KB draft. A version row at `depth` 0 holds the whole answers; at depth
//! n > 0 it holds a JSON object of the top-level answers that differ from the
//! version before it (which is at depth n − 1). A whole row is written at
//! least every [`WHOLE_EVERY`] versions, so reading any version takes at most
//! that many rows, each but one small.
//!
//! To write a change the server must know the version before. It keeps the
//! last saved draft of recently edited applications in memory
//! ([`DraftCache`]), keyed by application and version. A version number is
//! written once per application (the save's conditional update moves it on
//! from exactly the number it read), so a cached `(application, version)`
//! holds what the database holds, even with several servers on one
//! PostgreSQL database; when the number does not match, the save writes the
//! whole draft, as before.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::ops::Range;
use std::sync::{Arc, Mutex};

use super::{Result, Row, StoreError};

/// The longest run of change rows before a whole one.
pub const WHOLE_EVERY: i64 = 32;

/// Applications whose last draft is kept; beyond this, one is forgotten
/// (its next save writes the whole draft). About 5 KB each.
const CACHE_CAPACITY: usize = 4096;

/// A draft as stored: its JSON object text and where each top-level entry's
/// key (quoted) and value lie in it, in order.
#[derive(Debug, Clone, Default)]
pub struct Draft {
    pub json: String,
    pub entries: Vec<(Range<usize>, Range<usize>)>,
}

impl Draft {
    /// A draft from a JSON value, written as the stored JSON is (compact,
    /// keys in order). A value that is not an object has no entries, and is
    /// always stored whole.
    pub fn from_value(value: &serde_json::Value) -> Draft {
        let serde_json::Value::Object(map) = value else {
            return Draft {
                json: value.to_string(),
                entries: Vec::new(),
            };
        };
        Draft::object(
            map.iter(),
            |out, (k, _)| out.push_str(&serde_json::to_string(k).expect("a str serializes")),
            |out, (_, v)| out.push_str(&v.to_string()),
        )
    }

    /// An object written entry by entry, each as `key` writes its quoted key
    /// and `value` its value; the place of each is recorded.
    pub fn object<T>(
        items: impl ExactSizeIterator<Item = T>,
        mut key: impl FnMut(&mut String, &T),
        mut value: impl FnMut(&mut String, &T),
    ) -> Draft {
        let mut d = Draft {
            json: String::with_capacity(8 * 1024),
            entries: Vec::with_capacity(items.len()),
        };
        d.json.push('{');
        for item in items {
            if !d.entries.is_empty() {
                d.json.push(',');
            }
            let start = d.json.len();
            key(&mut d.json, &item);
            let colon = d.json.len();
            d.json.push(':');
            value(&mut d.json, &item);
            d.entries.push((start..colon, colon + 1..d.json.len()));
        }
        d.json.push('}');
        d
    }

    fn key(&self, i: usize) -> &str {
        &self.json[self.entries[i].0.clone()]
    }

    fn value(&self, i: usize) -> &str {
        &self.json[self.entries[i].1.clone()]
    }

    /// The entries of `self` that differ from `before`, as a JSON object;
    /// `None` when the two do not have the same keys in the same order (a
    /// changed form definition), so the whole draft must be written.
    ///
    /// Each changed entry is `[value]`, or, for a long value, the edit that
    /// turns the JSON text of the value before into this one:
    /// `[at, cut, "inserted"]` (byte offsets in that text), as typing in a
    /// long field changes only a few characters of it.
    pub fn changes_since(&self, before: &Draft) -> Option<String> {
        if self.entries.is_empty() || self.entries.len() != before.entries.len() {
            return None;
        }
        let mut out = String::from("{");
        for i in 0..self.entries.len() {
            if self.key(i) != before.key(i) {
                return None;
            }
            let (old, new) = (before.value(i), self.value(i));
            if old == new {
                continue;
            }
            if out.len() > 1 {
                out.push(',');
            }
            out.push_str(self.key(i));
            out.push_str(":[");
            let (at, cut, inserted) = edit(old, new);
            if new.len() > EDIT_FROM && inserted.len() + 32 < new.len() {
                let _ = write!(out, "{at},{cut},");
                out.push_str(&serde_json::to_string(inserted).expect("a str serializes"));
            } else {
                out.push_str(new);
            }
            out.push(']');
        }
        out.push('}');
        Some(out)
    }
}

/// Values whose JSON text is longer than this are stored as edits.
const EDIT_FROM: usize = 64;

/// The one edit that turns `old` into `new`: at byte `at`, cut `cut` bytes
/// and insert the returned text (the part between their common beginning
/// and common end, on character boundaries).
fn edit<'a>(old: &str, new: &'a str) -> (usize, usize, &'a str) {
    let (o, n) = (old.as_bytes(), new.as_bytes());
    let mut at = common_start(o, n);
    while !new.is_char_boundary(at) {
        at -= 1;
    }
    let mut tail = common_end(&o[at..], &n[at..]);
    while !new.is_char_boundary(n.len() - tail) || !old.is_char_boundary(o.len() - tail) {
        tail -= 1;
    }
    (at, o.len() - at - tail, &new[at..n.len() - tail])
}

/// How many bytes `a` and `b` share at their start, compared 32 at a time
/// (the text of a long answer is several kilobytes).
fn common_start(a: &[u8], b: &[u8]) -> usize {
    let n = a.len().min(b.len());
    let mut i = 0;
    while i + 32 <= n && a[i..i + 32] == b[i..i + 32] {
        i += 32;
    }
    while i < n && a[i] == b[i] {
        i += 1;
    }
    i
}

/// How many bytes `a` and `b` share at their end.
fn common_end(a: &[u8], b: &[u8]) -> usize {
    let n = a.len().min(b.len());
    let (a, b) = (&a[a.len() - n..], &b[b.len() - n..]);
    let mut i = 0;
    while i + 32 <= n && a[n - i - 32..n - i] == b[n - i - 32..n - i] {
        i += 32;
    }
    while i < n && a[n - i - 1] == b[n - i - 1] {
        i += 1;
    }
    i
}

/// Applies one changed entry (see [`Draft::changes_since`]) to the value before.
fn apply(
    before: Option<&serde_json::Value>,
    change: serde_json::Value,
) -> Option<serde_json::Value> {
    let serde_json::Value::Array(mut parts) = change else {
        return None;
    };
    match parts.len() {
        1 => parts.pop(),
        3 => {
            let (at, cut) = (parts[0].as_u64()? as usize, parts[1].as_u64()? as usize);
            let inserted = parts[2].as_str()?;
            let text = before?.to_string();
            let end = at.checked_add(cut)?;
            if end > text.len() || !text.is_char_boundary(at) || !text.is_char_boundary(end) {
                return None;
            }
            let edited = [&text[..at], inserted, &text[end..]].concat();
            serde_json::from_str(&edited).ok()
        }
        _ => None,
    }
}

/// A saved draft as the database holds it at `version`.
struct Cached {
    version: i64,
    depth: i64,
    draft: Draft,
}

/// The last saved draft of recently edited applications (see the module).
#[derive(Default)]
pub struct DraftCache {
    map: Mutex<HashMap<String, Arc<Cached>>>,
}

/// What a save writes: the row's depth and content.
pub(super) struct Stored {
    pub depth: i64,
    pub content: String,
}

impl DraftCache {
    /// What to store for `draft` as the version after `version`: its changes
    /// when `version` is cached and the run of change rows is not too long,
    /// otherwise the whole draft.
    pub(super) fn to_store(&self, id: &str, version: i64, draft: &Draft) -> Stored {
        let before = self.at(id, version);
        before
            .filter(|b| b.depth + 1 < WHOLE_EVERY)
            .and_then(|b| {
                draft.changes_since(&b.draft).map(|content| Stored {
                    depth: b.depth + 1,
                    content,
                })
            })
            .unwrap_or_else(|| Stored {
                depth: 0,
                content: draft.json.clone(),
            })
    }

    fn at(&self, id: &str, version: i64) -> Option<Arc<Cached>> {
        let map = self.map.lock().ok()?;
        map.get(id).filter(|c| c.version == version).cloned()
    }

    /// The answers of `id` at `version`, if that is the version cached.
    pub(super) fn answers_at(&self, id: &str, version: i64) -> Option<serde_json::Value> {
        let cached = self.at(id, version)?;
        serde_json::from_str(&cached.draft.json).ok()
    }

    /// Remembers `draft` as committed at `version` and `depth`, unless a
    /// later version is already remembered.
    pub(super) fn saved(&self, id: &str, version: i64, depth: i64, draft: Draft) {
        let Ok(mut map) = self.map.lock() else {
            return;
        };
        let cached = Arc::new(Cached {
            version,
            depth,
            draft,
        });
        // The common case, the application's next save: replaced in place.
        if let Some(slot) = map.get_mut(id) {
            if slot.version < version {
                *slot = cached;
            }
            return;
        }
        if map.len() >= CACHE_CAPACITY
            && let Some(k) = map.keys().next().cloned()
        {
            map.remove(&k);
        }
        map.insert(id.to_string(), cached);
    }
}

/// Rebuilds one version from the rows of its chain, oldest first: a whole
/// row (depth 0) and the change rows after it. Returns the last row's
/// version and kind, and the content (a whole row's text as stored).
pub(super) fn rebuild(rows: &[Row]) -> Result<Option<(i64, String, String)>> {
    // Columns: version, kind, depth, content.
    let Some((first, changes)) = rows.split_first() else {
        return Ok(None);
    };
    let last = rows.last().unwrap_or(first);
    let broken = || StoreError::Other(format!("版本链不完整（第{}版）", last.int(0)));
    if first.int(2) != 0 {
        return Err(broken());
    }
    if changes.is_empty() {
        return Ok(Some((first.int(0), first.text(1), first.text(3))));
    }
    let mut whole: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&first.text(3)).map_err(|_| broken())?;
    for (n, row) in changes.iter().enumerate() {
        if row.int(2) != n as i64 + 1 {
            return Err(broken());
        }
        let changed: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(&row.text(3)).map_err(|_| broken())?;
        for (k, change) in changed {
            let value = apply(whole.get(&k), change).ok_or_else(broken)?;
            whole.insert(k, value);
        }
    }
    Ok(Some((
        last.int(0),
        last.text(1),
        serde_json::Value::Object(whole).to_string(),
    )))
}

#[cfg(test)]
mod tests {
    use super::super::Value;
    use super::*;
    use serde_json::json;

    fn row(version: i64, depth: i64, content: &str) -> Row {
        Row(vec![
            Value::Int(version),
            Value::Text("draft".into()),
            Value::Int(depth),
            Value::Text(content.into()),
        ])
    }

    #[test]
    fn changes_name_only_the_entries_that_differ() {
        let a = Draft::from_value(&json!({"a": "一", "b": [1, 2], "c": {"x": true}}));
        let b = Draft::from_value(&json!({"a": "一", "b": [1, 3], "c": {"x": true}}));
        assert_eq!(a.json, r#"{"a":"一","b":[1,2],"c":{"x":true}}"#);
        assert_eq!(b.changes_since(&a).as_deref(), Some(r#"{"b":[[1,3]]}"#));
        assert_eq!(a.changes_since(&a).as_deref(), Some("{}"));
        let other_keys = Draft::from_value(&json!({"a": "一", "b": [1, 2], "d": 1}));
        assert_eq!(other_keys.changes_since(&a), None);
        let fewer = Draft::from_value(&json!({"a": "一"}));
        assert_eq!(fewer.changes_since(&a), None);
    }

    #[test]
    fn typing_in_a_long_field_stores_the_edit_and_rebuilds_the_text() {
        let long = "上云过程成效：".repeat(20);
        let cases = [
            (format!("{long}第1次"), format!("{long}第12次")),
            (format!("甲{long}"), format!("乙{long}")),
            (format!("{long}\n\"引号\""), format!("{long}\t\"引号\"")),
            (long.clone(), format!("{long}{long}")),
            (format!("{long}{long}"), long.clone()),
            (format!("{long}😀"), format!("{long}😁")),
            (long.clone(), "短".to_string()),
        ];
        for (old, new) in cases {
            let a = Draft::from_value(&json!({"k": "x", "text": old}));
            let b = Draft::from_value(&json!({"k": "x", "text": new}));
            let change = b.changes_since(&a).unwrap();
            if new.len() > EDIT_FROM && new.len() - old.len().min(new.len()) < 40 {
                assert!(change.len() < 80, "{change}");
            }
            let rows = [row(1, 0, &a.json), row(2, 1, &change)];
            assert_eq!(rebuild(&rows).unwrap().unwrap().2, b.json);
        }
    }

    #[test]
    fn common_runs_are_found_across_the_32_byte_steps() {
        let naive_start = |a: &[u8], b: &[u8]| a.iter().zip(b).take_while(|(x, y)| x == y).count();
        let naive_end = |a: &[u8], b: &[u8]| {
            let n = a
                .iter()
                .rev()
                .zip(b.iter().rev())
                .take_while(|(x, y)| x == y)
                .count();
            n.min(a.len()).min(b.len())
        };
        for len in 0..100 {
            let a: Vec<u8> = (0..len).map(|i| (i % 7) as u8).collect();
            for at in 0..=len {
                let mut b = a.clone();
                if at < len {
                    b[at] = 9;
                }
                b.extend_from_slice(&a[..at.min(3)]);
                assert_eq!(common_start(&a, &b), naive_start(&a, &b), "{len} {at}");
                assert_eq!(common_end(&a, &b), naive_end(&a, &b), "{len} {at}");
                let mut c = a.clone();
                c.insert(0, 9);
                assert_eq!(common_end(&a, &c), naive_end(&a, &c), "{len}");
            }
        }
    }

    #[test]
    fn the_cache_gives_changes_only_after_the_cached_version() {
        let cache = DraftCache::default();
        let v1 = Draft::from_value(&json!({"a": "1", "b": "x"}));
        let v2 = Draft::from_value(&json!({"a": "2", "b": "x"}));
        let whole = cache.to_store("app", 1, &v2);
        assert_eq!((whole.depth, whole.content.as_str()), (0, v2.json.as_str()));
        cache.saved("app", 1, 0, v1.clone());
        let change = cache.to_store("app", 1, &v2);
        assert_eq!(
            (change.depth, change.content.as_str()),
            (1, r#"{"a":["2"]}"#)
        );
        // Another version expected: the cache cannot vouch for it.
        assert_eq!(cache.to_store("app", 2, &v2).depth, 0);
        // An older version does not replace a newer one.
        cache.saved("app", 3, 2, v2.clone());
        cache.saved("app", 2, 1, v1);
        assert_eq!(cache.to_store("app", 3, &v2).depth, 3);
        // The run of change rows ends with a whole row.
        cache.saved("app", 4, WHOLE_EVERY - 1, v2.clone());
        assert_eq!(cache.to_store("app", 4, &v2).depth, 0);
    }

    #[test]
    fn a_version_is_rebuilt_from_its_whole_row_and_changes() {
        let whole = row(4, 0, r#"{"a":"1","b":"x"}"#);
        assert_eq!(
            rebuild(std::slice::from_ref(&whole)).unwrap().unwrap().2,
            r#"{"a":"1","b":"x"}"#
        );
        let rows = [
            whole.clone(),
            row(5, 1, r#"{"a":["2"]}"#),
            row(6, 2, r#"{"b":["y"]}"#),
        ];
        assert_eq!(
            rebuild(&rows).unwrap().unwrap(),
            (6, "draft".to_string(), r#"{"a":"2","b":"y"}"#.to_string())
        );
        assert!(rebuild(&rows[1..]).is_err(), "no whole row to start from");
        let bad_edit = row(5, 1, r#"{"a":[9,1,"x"]}"#);
        assert!(
            rebuild(&[whole.clone(), bad_edit]).is_err(),
            "an edit outside the text"
        );
        assert!(
            rebuild(&[whole, row(6, 2, "{}")]).is_err(),
            "a change row missing"
        );
        assert!(rebuild(&[]).unwrap().is_none());
    }
}
