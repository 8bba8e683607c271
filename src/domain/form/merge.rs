//! Merging two saves of one 申报书 made from the same version (two tabs, two
//! colleagues): each side's changes against their common version are kept;
//! a value both sides changed differently is a conflict the user settles.
//! Objects merge key by key; anything else (a text, a table's rows) is one
//! value. No I/O.

use serde_json::{Map, Value};

/// The result of [`merge3`].
#[derive(Debug, Clone, PartialEq)]
pub struct Merged {
    /// Both sides' changes; at a conflict, `mine`.
    pub value: Value,
    /// Dotted paths both sides changed to different values.
    pub conflicts: Vec<String>,
    /// How many values only the other side changed (kept from `theirs`).
    pub theirs_kept: usize,
}

/// Merges `mine` and `theirs`, both edited from `base`. An empty text, an
/// empty row and a missing value are the same: a new draft has no address
/// key, the form posts an empty one, and neither is a change.
pub fn merge3(base: &Value, mine: &Value, theirs: &Value) -> Merged {
    let mut m = Merged {
        value: Value::Null,
        conflicts: Vec::new(),
        theirs_kept: 0,
    };
    let (base, mine, theirs) = (blank_free(base), blank_free(mine), blank_free(theirs));
    m.value = go("", &base, &mine, &theirs, &mut m);
    m
}

/// `v` with empty texts, and objects and lists of nothing but those, as Null.
fn blank_free(v: &Value) -> Value {
    match v {
        Value::String(s) if s.trim().is_empty() => Value::Null,
        Value::Object(o) => {
            let kept: Map<String, Value> = o
                .iter()
                .map(|(k, x)| (k.clone(), blank_free(x)))
                .filter(|(_, x)| !x.is_null())
                .collect();
            if kept.is_empty() {
                Value::Null
            } else {
                Value::Object(kept)
            }
        }
        Value::Array(a) => {
            let items: Vec<Value> = a.iter().map(blank_free).collect();
            if items.iter().all(Value::is_null) {
                Value::Null
            } else {
                Value::Array(items)
            }
        }
        other => other.clone(),
    }
}

fn go(path: &str, b: &Value, m: &Value, t: &Value, out: &mut Merged) -> Value {
    if m == t || t == b {
        return m.clone();
    }
    if m == b {
        out.theirs_kept += 1;
        return t.clone();
    }
    let null = Value::Null;
    let empty = Map::new();
    if let (Value::Object(mo), Value::Object(to)) = (m, t) {
        let bo = match b {
            Value::Object(o) => o,
            _ => &empty,
        };
        let mut merged = Map::new();
        let keys = mo.keys().chain(to.keys().filter(|k| !mo.contains_key(*k)));
        for k in keys {
            let p = if path.is_empty() {
                k.clone()
            } else {
                format!("{path}.{k}")
            };
            let v = go(
                &p,
                bo.get(k).unwrap_or(&null),
                mo.get(k).unwrap_or(&null),
                to.get(k).unwrap_or(&null),
                out,
            );
            if !v.is_null() {
                merged.insert(k.clone(), v);
            }
        }
        return Value::Object(merged);
    }
    out.conflicts.push(path.to_string());
    m.clone()
}

/// The value at a dotted path through objects.
pub fn at_path<'v>(v: &'v Value, path: &str) -> Option<&'v Value> {
    path.split('.')
        .try_fold(v, |cur, k| cur.as_object()?.get(k))
}

/// Sets the value at a dotted path through objects (made as needed);
/// `Null` removes it.
pub fn set_path(v: &mut Value, path: &str, new: Value) {
    let mut cur = v;
    let mut parts = path.split('.').peekable();
    while let Some(k) = parts.next() {
        if !cur.is_object() {
            *cur = Value::Object(Map::new());
        }
        let Value::Object(o) = cur else { return };
        if parts.peek().is_none() {
            if new.is_null() {
                o.remove(k);
            } else {
                o.insert(k.to_string(), new);
            }
            return;
        }
        cur = o.entry(k.to_string()).or_insert(Value::Null);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn changes_to_different_fields_are_both_kept() {
        let base = json!({"address": "旧地址", "products": "旧产品", "finance": {"2020": {"profit": "1"}}});
        let mine = json!({"address": "旧地址", "products": "新产品", "finance": {"2020": {"profit": "1"}}});
        let theirs = json!({"address": "新地址", "products": "旧产品", "finance": {"2020": {"profit": "2"}}});
        let m = merge3(&base, &mine, &theirs);
        assert_eq!(
            m.value,
            json!({"address": "新地址", "products": "新产品", "finance": {"2020": {"profit": "2"}}})
        );
        assert!(m.conflicts.is_empty());
        assert_eq!(m.theirs_kept, 2);
    }

    #[test]
    fn the_same_field_changed_differently_is_a_conflict_kept_as_mine() {
        let base = json!({"a": "0", "t": {"x": "1", "y": "1"}, "rows": [1]});
        let mine = json!({"a": "0", "t": {"x": "2", "y": "1"}, "rows": [1, 2]});
        let theirs = json!({"a": "9", "t": {"x": "3", "y": "1"}, "rows": [1, 3]});
        let m = merge3(&base, &mine, &theirs);
        assert_eq!(m.conflicts, ["rows", "t.x"]);
        assert_eq!(
            m.value,
            json!({"a": "9", "t": {"x": "2", "y": "1"}, "rows": [1, 2]})
        );
        // The same change on both sides is no conflict.
        let m = merge3(&base, &mine, &mine);
        assert!(m.conflicts.is_empty());
        assert_eq!(m.value, mine);
    }

    #[test]
    fn a_field_added_or_removed_on_one_side_follows_that_side() {
        let base = json!({"a": "1", "b": "1"});
        let mine = json!({"a": "1", "b": "1", "c": "new"});
        let theirs = json!({"a": "1"});
        let m = merge3(&base, &mine, &theirs);
        assert_eq!(m.value, json!({"a": "1", "c": "new"}));
        assert!(m.conflicts.is_empty());
    }

    /// A new draft has no key where the form posts an empty text: not a
    /// change on either side.
    #[test]
    fn empty_and_missing_are_the_same() {
        let base = json!({"region": {"city": "420100"}});
        let mine = json!({"region": {"city": "420100"}, "address": "武汉", "products": ""});
        let theirs = json!({"region": {"city": "420100"}, "address": "", "products": "平台", "t": {"x": ""}});
        let m = merge3(&base, &mine, &theirs);
        assert!(m.conflicts.is_empty(), "{:?}", m.conflicts);
        assert_eq!(
            m.value,
            json!({"region": {"city": "420100"}, "address": "武汉", "products": "平台"})
        );
    }

    #[test]
    fn paths_are_read_and_written_through_objects() {
        let mut v = json!({"finance": {"2020": {"profit": "1"}}});
        assert_eq!(at_path(&v, "finance.2020.profit"), Some(&json!("1")));
        set_path(&mut v, "finance.2020.profit", json!("5"));
        set_path(&mut v, "address", json!("地址"));
        set_path(&mut v, "finance.2019.tax", json!("3"));
        assert_eq!(
            v,
            json!({"finance": {"2020": {"profit": "5"}, "2019": {"tax": "3"}}, "address": "地址"})
        );
        set_path(&mut v, "address", Value::Null);
        assert!(at_path(&v, "address").is_none());
    }
}
