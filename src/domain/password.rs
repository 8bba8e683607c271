//! Password rule for 等保2.0 level 3: length, character classes, not the user name.

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("密码至少需要10个字符")]
    TooShort,
    #[error("密码最多128个字符")]
    TooLong,
    #[error("密码需包含大写字母、小写字母、数字、符号中的至少三类")]
    TooSimple,
    #[error("密码不能包含用户名")]
    ContainsUsername,
    #[error(
        "密码容易被猜到（常见密码、键盘序列、年份或简单替换），请换一个更长、更随机的密码，例如由几个不相关的词和符号组成"
    )]
    Guessable,
}

pub const MIN_LEN: usize = 10;
pub const MAX_LEN: usize = 128;

/// Checks `password` against the rule for the account `username`.
pub fn check(password: &str, username: &str) -> Result<(), PasswordError> {
    let n = password.chars().count();
    if n < MIN_LEN {
        return Err(PasswordError::TooShort);
    }
    if n > MAX_LEN {
        return Err(PasswordError::TooLong);
    }
    let classes = [
        password.chars().any(|c| c.is_ascii_uppercase()),
        password.chars().any(|c| c.is_ascii_lowercase()),
        password.chars().any(|c| c.is_ascii_digit()),
        password.chars().any(|c| !c.is_ascii_alphanumeric()),
    ];
    if classes.iter().filter(|&&b| b).count() < 3 {
        return Err(PasswordError::TooSimple);
    }
    let user = username.trim().to_lowercase();
    if !user.is_empty() && password.to_lowercase().contains(&user) {
        return Err(PasswordError::ContainsUsername);
    }
    // Common passwords, keyboard walks (1qaz@WSX), l33t spellings of words
    // (P@ssw0rd) and dates pass the classes above; zxcvbn estimates the
    // guesses an attacker needs, and 4 is its top score (about 10^10).
    if u8::from(zxcvbn::zxcvbn(password, &[user.as_str()]).score()) < 4 {
        return Err(PasswordError::Guessable);
    }
    Ok(())
}

/// A random password that satisfies the rule (temporary and demo passwords).
pub fn generate() -> String {
    const SETS: [&[u8]; 4] = [
        b"ABCDEFGHJKLMNPQRSTUVWXYZ",
        b"abcdefghijkmnpqrstuvwxyz",
        b"23456789",
        b"-_.@#%+",
    ];
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).expect("operating system random source");
    bytes
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let set = SETS[i % 4];
            set[*b as usize % set.len()] as char
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule() {
        assert_eq!(check("Ab1-", "x"), Err(PasswordError::TooShort));
        assert_eq!(check("abcdefghijk", "x"), Err(PasswordError::TooSimple));
        assert_eq!(check("abcdefghij12", "x"), Err(PasswordError::TooSimple));
        assert!(check("Yunfan-Cloud-2021", "x").is_ok());
        for common in [
            "Password123",
            "P@ssw0rd2026",
            "1qaz@WSX3edc",
            "Abcdefgh1234",
        ] {
            assert_eq!(
                check(common, "zhangsan"),
                Err(PasswordError::Guessable),
                "{common}"
            );
        }
        assert_eq!(
            check("Wuhan-2021-ok", "wuhan"),
            Err(PasswordError::ContainsUsername)
        );
    }

    #[test]
    fn generated_passwords_pass_the_rule() {
        for _ in 0..50 {
            let p = generate();
            assert_eq!(check(&p, "province"), Ok(()), "{p}");
        }
    }
}
