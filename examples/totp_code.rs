//! Prints the current two-factor code of a base32 TOTP secret (by default
//! the demo officials' secret), as an authenticator app shows it: the load
//! scripts log in as officials through the login form and its second step.
//!
//! `totp_code [SECRET]`

fn main() {
    let secret = std::env::args()
        .nth(1)
        .unwrap_or_else(|| shenbao::demo::DEMO_TOTP_SECRET.to_string());
    let step = shenbao::domain::totp::step_of(jiff::Timestamp::now().as_millisecond());
    match shenbao::domain::totp::code_at(&secret, step) {
        Some(code) => println!("{code}"),
        None => {
            eprintln!("not a base32 TOTP secret: {secret}");
            std::process::exit(2);
        }
    }
}
