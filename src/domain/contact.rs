//! Contact details: mainland mobile numbers and e-mail addresses.

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MobilePhone(String);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl MobilePhone {
    pub fn parse(input: &str) -> Result<Self, &'static str> {
        let s: String = input
            .trim()
            .trim_start_matches("+86")
            .chars()
            .filter(|c| !matches!(c, ' ' | '-'))
            .collect();
        if s.is_empty() {
            return Err("请填写手机号码");
        }
        let b = s.as_bytes();
        if b.len() != 11 || !s.chars().all(|c| c.is_ascii_digit()) || b[0] != b'1' || b[1] < b'3' {
            return Err("请填写11位中国大陆手机号码，如 13507162678");
        }
        Ok(MobilePhone(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Email {
    pub fn parse(input: &str) -> Result<Self, &'static str> {
        let s = input.trim();
        if s.is_empty() {
            return Err("请填写电子邮箱");
        }
        let ok = s.len() <= 254
            && s.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty()
                    && !domain.contains('@')
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
                    && !domain.contains("..")
            })
            && !s.chars().any(|c| c.is_whitespace() || c.is_control());
        if !ok {
            return Err("电子邮箱格式不正确，如 name@example.com");
        }
        Ok(Email(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mobile() {
        assert_eq!(
            MobilePhone::parse("135 0716 2678").unwrap().as_str(),
            "13507162678"
        );
        assert!(MobilePhone::parse("+8613507162678").is_ok());
        assert!(MobilePhone::parse("027-87236506").is_err());
        assert!(MobilePhone::parse("12507162678").is_err());
        assert!(MobilePhone::parse("1350716267").is_err());
    }

    #[test]
    fn email() {
        assert!(Email::parse("hbjxwxxhc@163.com").is_ok());
        assert!(Email::parse("a@b").is_err());
        assert!(Email::parse("a b@c.com").is_err());
        assert!(Email::parse("@c.com").is_err());
    }
}
