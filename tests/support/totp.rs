//! The code an authenticator app shows, computed independently of the
//! server (by `totp-rs`): shared by the API and browser tests.

/// The six-digit TOTP code (RFC 6238, SHA-1, 30 s) of a base32 secret at a time step.
pub fn totp_at(secret: &str, step: i64) -> String {
    let bytes = totp_rs::Secret::Encoded(secret.to_string())
        .to_bytes()
        .expect("base32 secret");
    totp_rs::TOTP::new_unchecked(
        totp_rs::Algorithm::SHA1,
        6,
        1,
        30,
        bytes,
        None,
        String::new(),
    )
    .generate(step as u64 * 30)
}
