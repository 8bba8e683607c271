//! 统一社会信用代码 (GB 32100-2015) and the 组织机构代码 inside it (GB 11714).
//!
//! Parse, don't validate: once a value is a `CreditCode`, its check characters,
//! its character set and its division code are known to be right.

use std::fmt;

const ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
const ORG_WEIGHTS: [u32; 8] = [3, 7, 9, 10, 5, 8, 4, 2];

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CreditCode(String);

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OrgCode(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodeError {
    #[error("请填写统一社会信用代码")]
    Empty,
    #[error("统一社会信用代码应为18位（当前{0}位）")]
    Length(usize),
    #[error(
        "统一社会信用代码第{pos}位“{ch}”不是允许的字符（只能是数字和除I、O、S、V、Z外的大写字母）"
    )]
    Character { pos: usize, ch: char },
    #[error("统一社会信用代码校验位不正确，请核对后重新输入")]
    Check,
    #[error("统一社会信用代码中的组织机构代码校验位不正确，请核对后重新输入")]
    OrgCheck,
    #[error("组织机构代码应为9位（如 70680688-2 可写作 706806882）")]
    OrgLength,
    #[error("组织机构代码校验位不正确，请核对后重新输入")]
    OrgCodeCheck,
    #[error(
        "该统一社会信用代码的登记管理机关行政区划码为{0}，不在湖北省（42开头）。本项目仅受理在湖北省境内注册的企业"
    )]
    NotHubei(String),
}

fn value_of(c: u8) -> Option<u32> {
    ALPHABET.iter().position(|&a| a == c).map(|p| p as u32)
}

/// GB 11714 check character over the 8-character body.
fn org_check(body: &[u8]) -> Option<u8> {
    let mut sum = 0;
    for (c, w) in body.iter().zip(ORG_WEIGHTS) {
        // GB 11714 body characters are digits or capital letters (A=10 … Z=35).
        let v = match c {
            b'0'..=b'9' => (c - b'0') as u32,
            b'A'..=b'Z' => (c - b'A') as u32 + 10,
            _ => return None,
        };
        sum += v * w;
    }
    Some(match 11 - sum % 11 {
        10 => b'X',
        11 => b'0',
        n => b'0' + n as u8,
    })
}

/// GB 32100 check character over the first 17 characters.
fn credit_check(body: &[u8]) -> Option<u8> {
    let mut sum = 0;
    let mut weight = 1;
    for &c in body {
        sum += value_of(c)? * weight;
        weight = weight * 3 % 31;
    }
    Some(ALPHABET[((31 - sum % 31) % 31) as usize])
}

fn normalize(input: &str) -> String {
    input
        .trim()
        .chars()
        .filter(|c| *c != '-' && !c.is_whitespace())
        .flat_map(char::to_uppercase)
        .collect()
}

impl CreditCode {
    /// Parses an 18-character code anywhere in China (format and both checks).
    pub fn parse_any(input: &str) -> Result<Self, CodeError> {
        let s = normalize(input);
        if s.is_empty() {
            return Err(CodeError::Empty);
        }
        let n = s.chars().count();
        if n != 18 {
            return Err(CodeError::Length(n));
        }
        let b = s.as_bytes();
        for (i, ch) in s.chars().enumerate() {
            if !ch.is_ascii() || value_of(ch as u8).is_none() {
                return Err(CodeError::Character { pos: i + 1, ch });
            }
        }
        if credit_check(&b[..17]) != Some(b[17]) {
            return Err(CodeError::Check);
        }
        if org_check(&b[8..16]) != Some(b[16]) {
            return Err(CodeError::OrgCheck);
        }
        Ok(CreditCode(s))
    }

    /// Parses a code registered in Hubei (division code 42xxxx).
    pub fn parse_hubei(input: &str) -> Result<Self, CodeError> {
        let code = Self::parse_any(input)?;
        if !code.division().starts_with("42") {
            return Err(CodeError::NotHubei(code.division().to_string()));
        }
        Ok(code)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// GB/T 2260 division code of the registering authority (positions 3–8).
    pub fn division(&self) -> &str {
        &self.0[2..8]
    }

    pub fn org_code(&self) -> OrgCode {
        OrgCode(self.0[8..17].to_string())
    }

    /// Builds a valid code from a division and a sequence number (demo data, tests).
    pub fn synthesize(division: &str, seq: u32) -> CreditCode {
        let body = format!("{:08}", 10_000_000 + seq % 90_000_000);
        let check = org_check(body.as_bytes()).expect("digits only");
        let mut s = format!("91{division}{body}");
        s.push(check as char);
        let c = credit_check(s.as_bytes()).expect("alphabet only");
        s.push(c as char);
        CreditCode(s)
    }
}

impl OrgCode {
    /// Parses a legacy 9-character 组织机构代码 (hyphen before the check allowed).
    pub fn parse(input: &str) -> Result<Self, CodeError> {
        let s = normalize(input);
        if s.len() != 9 || !s.is_ascii() {
            return Err(CodeError::OrgLength);
        }
        let b = s.as_bytes();
        if org_check(&b[..8]) != Some(b[8]) {
            return Err(CodeError::OrgCodeCheck);
        }
        Ok(OrgCode(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CreditCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_known_valid_code() {
        let c = CreditCode::parse_hubei("914200007068068827").expect("valid");
        assert_eq!(c.division(), "420000");
        assert_eq!(c.org_code().as_str(), "706806882");
    }

    #[test]
    fn lowercase_and_spaces_are_normalized() {
        assert!(CreditCode::parse_hubei(" 9142 0000 7068 0688 27 ").is_ok());
    }

    #[test]
    fn rejects_wrong_check_character() {
        assert_eq!(
            CreditCode::parse_any("914403001922038217"),
            Err(CodeError::Check)
        );
    }

    #[test]
    fn rejects_bad_length_and_characters() {
        assert_eq!(CreditCode::parse_any("91420000"), Err(CodeError::Length(8)));
        assert!(matches!(
            CreditCode::parse_any("91420000706806882I"),
            Err(CodeError::Character { pos: 18, ch: 'I' })
        ));
        assert_eq!(CreditCode::parse_any(""), Err(CodeError::Empty));
    }

    #[test]
    fn valid_code_outside_hubei_is_refused_with_reason() {
        let other = CreditCode::synthesize("440300", 1234);
        assert!(CreditCode::parse_any(other.as_str()).is_ok());
        let err = CreditCode::parse_hubei(other.as_str()).unwrap_err();
        assert_eq!(err, CodeError::NotHubei("440300".into()));
        assert!(err.to_string().contains("湖北"));
    }

    #[test]
    fn inner_org_check_is_verified() {
        // Change the org check digit and recompute the outer check: only the inner check fails.
        let mut s = b"91420000706806881".to_vec();
        let c = credit_check(&s).unwrap();
        s.push(c);
        let s = String::from_utf8(s).unwrap();
        assert_eq!(CreditCode::parse_any(&s), Err(CodeError::OrgCheck));
    }

    #[test]
    fn synthesized_codes_are_valid() {
        for seq in [0, 1, 77, 123_456, 99_999_999] {
            let c = CreditCode::synthesize("420100", seq);
            assert_eq!(CreditCode::parse_hubei(c.as_str()), Ok(c.clone()));
        }
    }

    #[test]
    fn legacy_org_code() {
        assert!(OrgCode::parse("70680688-2").is_ok());
        assert_eq!(OrgCode::parse("706806881"), Err(CodeError::OrgCodeCheck));
        assert_eq!(OrgCode::parse("7068"), Err(CodeError::OrgLength));
    }
}
