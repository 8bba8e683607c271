//! Two-factor login: time-based one-time codes (TOTP, RFC 6238: HMAC-SHA1,
//! six digits, 30-second steps, as every authenticator app reads from an
//! `otpauth://` QR code) computed by the `totp-rs` crate, and recovery codes.
//! No I/O here; the secrets are random bytes from the operating system.

use sha2::{Digest, Sha256};
use totp_rs::{Algorithm, Secret, TOTP};

/// Seconds per code.
pub const STEP_SECONDS: i64 = 30;
/// Recovery codes issued at a time.
pub const RECOVERY_CODES: usize = 10;
/// Shown as the issuer in authenticator apps.
const ISSUER: &str = "shenbao";

/// The time step a moment (unix milliseconds) falls in.
pub fn step_of(now_ms: i64) -> i64 {
    now_ms.div_euclid(STEP_SECONDS * 1000)
}

/// A new secret: 160 random bits (RFC 4226's recommendation), base32.
pub fn new_secret() -> String {
    let mut bytes = [0u8; 20];
    getrandom::fill(&mut bytes).expect("operating system random source");
    encode_secret(&bytes)
}

fn encode_secret(bytes: &[u8]) -> String {
    match Secret::Raw(bytes.to_vec()).to_encoded() {
        Secret::Encoded(s) => s,
        Secret::Raw(_) => unreachable!("to_encoded gives an encoded secret"),
    }
}

/// The generator for a base32 secret (None when the text is not one).
fn totp(secret: &str, account: &str) -> Option<TOTP> {
    let bytes = Secret::Encoded(secret.to_string()).to_bytes().ok()?;
    // The account name may not hold a colon (it separates issuer and name).
    let account = account.replace(':', "_");
    TOTP::new(
        Algorithm::SHA1,
        6,
        0,
        STEP_SECONDS as u64,
        bytes,
        Some(ISSUER.into()),
        account,
    )
    .ok()
}

/// The code of `step` (what an authenticator app shows during it).
pub fn code_at(secret: &str, step: i64) -> Option<String> {
    let t = totp(secret, "x")?;
    Some(t.generate(u64::try_from(step).ok()? * STEP_SECONDS as u64))
}

/// Digits only, spaces and dashes dropped (apps show `123 456`).
pub fn normalize_code(input: &str) -> String {
    input
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect()
}

/// The step whose code `code` is, among the one of `now_ms` and one either
/// side (a phone's clock a little off), and later than `last_step` (a code
/// already accepted is never accepted again). None when it is no such code.
pub fn matching_step(secret: &str, code: &str, now_ms: i64, last_step: i64) -> Option<i64> {
    let code = normalize_code(code);
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let now = step_of(now_ms);
    (now - 1..=now + 1)
        .filter(|s| *s > last_step)
        .find(|s| code_at(secret, *s).is_some_and(|c| constant_eq(&c, &code)))
}

/// The first step from `now_ms`'s window whose code would still be
/// accepted (for the demo accounts' printed hint), with its code.
pub fn next_usable(secret: &str, now_ms: i64, last_step: i64) -> Option<(i64, String)> {
    let now = step_of(now_ms);
    (now - 1..=now + 1)
        .find(|s| *s > last_step)
        .and_then(|s| Some((s, code_at(secret, s)?)))
}

fn constant_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// The `otpauth://` address an authenticator app reads from the QR code.
pub fn otpauth_url(secret: &str, account: &str) -> Option<String> {
    Some(totp(secret, account)?.get_url())
}

/// The QR code of `text` as an SVG element (inline in the page: no script,
/// no image request).
pub fn qr_svg(text: &str) -> Option<String> {
    let code = qrcode::QrCode::new(text.as_bytes()).ok()?;
    let svg = code
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(220, 220)
        .quiet_zone(true)
        .build();
    // Inline in HTML: the XML declaration is not wanted.
    let start = svg.find("<svg")?;
    Some(svg[start..].to_string())
}

/// The secret in groups of four, as people type it into an app.
pub fn grouped(secret: &str) -> String {
    secret
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Letters and digits that cannot be mistaken for one another (no 0/O, 1/I/L).
const RECOVERY_ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";

/// A new recovery code: 16 characters from a 31-letter alphabet (79 bits),
/// in groups of four: `ABCD-EFGH-JKMN-PQRS`.
pub fn new_recovery_code() -> String {
    let mut out = String::with_capacity(19);
    let mut n = 0;
    while n < 16 {
        let mut b = [0u8; 1];
        getrandom::fill(&mut b).expect("operating system random source");
        // Rejection sampling keeps every letter equally likely.
        if usize::from(b[0]) >= 248 {
            continue;
        }
        if n > 0 && n % 4 == 0 {
            out.push('-');
        }
        out.push(char::from(
            RECOVERY_ALPHABET[usize::from(b[0]) % RECOVERY_ALPHABET.len()],
        ));
        n += 1;
    }
    out
}

/// Whether typed text looks like a recovery code rather than a six-digit code.
pub fn looks_like_recovery_code(input: &str) -> bool {
    normalize_recovery_code(input).len() == 16
}

/// Upper case, dashes and spaces dropped.
pub fn normalize_recovery_code(input: &str) -> String {
    input
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// What is stored of a recovery code. A plain SHA-256 is enough: the code
/// is 79 random bits, not a password a person chose, so no dictionary and
/// no feasible search finds it from its hash.
pub fn recovery_code_hash(input: &str) -> String {
    hex::encode(Sha256::digest(normalize_recovery_code(input).as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B: the SHA-1 secret "12345678901234567890" gives
    /// 94287082 at 59 s and 07081804 at 1111111109 s (eight digits); six
    /// digits are their last six.
    #[test]
    fn codes_match_the_rfc_6238_test_vectors() {
        let secret = encode_secret(b"12345678901234567890");
        assert_eq!(code_at(&secret, 59 / 30).as_deref(), Some("287082"));
        assert_eq!(
            code_at(&secret, 1_111_111_109 / 30).as_deref(),
            Some("081804")
        );
    }

    #[test]
    fn a_code_is_accepted_one_step_either_side_and_never_twice() {
        let secret = new_secret();
        let now = 1_631_239_200_000;
        let step = step_of(now);
        for s in [step - 1, step, step + 1] {
            let code = code_at(&secret, s).expect("code");
            assert_eq!(matching_step(&secret, &code, now, 0), Some(s));
            assert_eq!(matching_step(&secret, &code, now, s), None, "reused");
        }
        let old = code_at(&secret, step - 2).expect("code");
        if ![step - 1, step, step + 1]
            .iter()
            .any(|s| code_at(&secret, *s).as_deref() == Some(old.as_str()))
        {
            assert_eq!(matching_step(&secret, &old, now, 0), None, "too old");
        }
        assert_eq!(matching_step(&secret, "12345", now, 0), None);
        assert_eq!(matching_step(&secret, "abcdef", now, 0), None);
        let spaced = code_at(&secret, step).expect("code");
        let spaced = format!("{} {}", &spaced[..3], &spaced[3..]);
        assert_eq!(matching_step(&secret, &spaced, now, 0), Some(step));
    }

    #[test]
    fn recovery_codes_are_long_random_and_typed_loosely() {
        let a = new_recovery_code();
        let b = new_recovery_code();
        assert_ne!(a, b);
        assert_eq!(a.len(), 19);
        assert!(looks_like_recovery_code(&a));
        assert!(!looks_like_recovery_code("123456"));
        let typed = a.to_lowercase().replace('-', " ");
        assert_eq!(recovery_code_hash(&typed), recovery_code_hash(&a));
        assert_ne!(recovery_code_hash(&a), recovery_code_hash(&b));
    }

    #[test]
    fn the_qr_code_carries_the_otpauth_address() {
        let secret = new_secret();
        let url = otpauth_url(&secret, "province").expect("url");
        assert!(url.starts_with("otpauth://totp/shenbao:province?"), "{url}");
        assert!(url.contains(&format!("secret={secret}")), "{url}");
        let svg = qr_svg(&url).expect("svg");
        assert!(svg.starts_with("<svg"), "{}", &svg[..40]);
        assert_eq!(grouped("ABCDEFGHIJ"), "ABCD EFGH IJ");
    }
}
