//! Canonical JSON and the fingerprint (指纹) of a submitted version.

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::domain::digest::Algo;

/// The JSON text of `v` with object keys sorted (by UTF-8 bytes, at every
/// level) and no insignificant white space. Equal content gives equal text
/// whatever the key order it was built with.
pub fn canonical_json(v: &Value) -> String {
    let mut out = String::new();
    write(v, &mut out);
    out
}

fn write(v: &Value, out: &mut String) {
    match v {
        Value::Null | Value::Bool(_) | Value::Number(_) | Value::String(_) => {
            // Scalars serialize compactly and deterministically.
            out.push_str(&v.to_string());
        }
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write(x, out);
            }
            out.push(']');
        }
        Value::Object(o) => {
            let mut entries: Vec<(&String, &Value)> = o.iter().collect();
            entries.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            out.push('{');
            for (i, (k, x)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                write(x, out);
            }
            out.push('}');
        }
    }
}

/// SHA-256 (lower-case hex) of [`canonical_json`].
pub fn fingerprint(v: &Value) -> String {
    hex::encode(Sha256::digest(canonical_json(v).as_bytes()))
}

/// The fingerprint by `algo`, as stored: SHA-256 bare (equal to
/// [`fingerprint`]), SM3 as `sm3:<hex>`.
pub fn fingerprint_with(algo: Algo, v: &Value) -> String {
    algo.tag(algo.hex(&[canonical_json(v).as_bytes()]))
}

/// Does a stored fingerprint (either algorithm) belong to `v`?
pub fn fingerprint_matches(stored: &str, v: &Value) -> bool {
    match Algo::untag(stored) {
        (Some(algo), _) => fingerprint_with(algo, v) == stored,
        (None, _) => false,
    }
}
