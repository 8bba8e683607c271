//! Reading typed input: character counting, numbers as typed, yes/no and
//! emptiness of stored JSON values.

use serde_json::Value;

/// Counts characters the way the 申报书 limits are meant (成效描述 ≤ 1000 字,
/// 项目建设内容 ≥ 3000 字): every Chinese character, letter, digit or
/// punctuation mark counts as one; white space around the text is ignored;
/// line breaks inside it are not counted (so paragraphing is free);
/// invisible format characters (BOM, zero-width space/joiners) are not counted.
/// Other inner white space (a space between words) counts as typed.
pub fn count_chars(s: &str) -> usize {
    s.trim()
        .chars()
        .filter(|c| {
            !matches!(
                c,
                '\n' | '\r'
                    | '\u{0B}'
                    | '\u{0C}'
                    | '\u{85}'
                    | '\u{2028}'
                    | '\u{2029}'
                    | '\u{FEFF}'
                    | '\u{200B}'..='\u{200D}' | '\u{2060}'
            )
        })
        .count()
}

/// A number as typed, once understood.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Number {
    pub value: f64,
    /// Digits after the decimal point as typed (`12.50` has 2).
    pub decimals: u32,
}

/// Parses a decimal number as people type it: optional sign, digits, an
/// optional decimal point. Full-width digits and signs (１２．５) are accepted,
/// thousands separators (`,` `，`) and inner spaces are ignored. Exponents,
/// `NaN` and `inf` are not numbers here.
pub fn parse_number(input: &str) -> Option<Number> {
    let mut s = String::with_capacity(input.len());
    for c in input.trim().chars() {
        match c {
            '０'..='９' => s.push(char::from(b'0' + (c as u32 - '０' as u32) as u8)),
            '．' | '。' => s.push('.'),
            '－' | '−' => s.push('-'),
            '＋' => s.push('+'),
            ',' | '，' | ' ' | '\u{3000}' => {}
            c => s.push(c),
        }
    }
    let unsigned = s.strip_prefix(['-', '+']).unwrap_or(&s);
    let (int, frac) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    let digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
    if int.is_empty() && frac.is_empty() || !digits(int) || !digits(frac) {
        return None;
    }
    let value: f64 = s.parse().ok()?;
    value.is_finite().then_some(Number {
        value,
        decimals: u32::try_from(frac.len()).ok()?,
    })
}

/// The text of a scalar answer, trimmed; `None` when empty or absent.
/// Numbers are read as their JSON text (API clients may send them unquoted).
pub fn text_of(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => {
            let t = s.trim();
            (!t.is_empty()).then(|| t.to_string())
        }
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A yes/no answer: JSON booleans, or the strings an HTML form posts
/// (是/否, true/false, yes/no, on/off, 1/0). `Ok(None)` when unanswered,
/// `Err(())` when the value means neither.
#[allow(clippy::result_unit_err)]
pub fn bool_of(v: Option<&Value>) -> Result<Option<bool>, ()> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(Value::String(s)) => match s.trim().to_ascii_lowercase().as_str() {
            "" => Ok(None),
            "是" | "true" | "yes" | "on" | "1" => Ok(Some(true)),
            "否" | "false" | "no" | "off" | "0" => Ok(Some(false)),
            _ => Err(()),
        },
        Some(Value::Number(n)) => match n.as_u64() {
            Some(1) => Ok(Some(true)),
            Some(0) => Ok(Some(false)),
            _ => Err(()),
        },
        Some(_) => Err(()),
    }
}

/// Whether a stored value has any content: a non-blank string, a number, a
/// boolean, or an array/object containing one.
pub fn is_filled(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => false,
        Some(Value::String(s)) => !s.trim().is_empty(),
        Some(Value::Bool(_)) | Some(Value::Number(_)) => true,
        Some(Value::Array(a)) => a.iter().any(|x| is_filled(Some(x))),
        Some(Value::Object(o)) => o.values().any(|x| is_filled(Some(x))),
    }
}

/// Formats a bound for messages: `100`, `0.01`.
pub(super) fn fmt_num(v: f64) -> String {
    format!("{v}")
}
