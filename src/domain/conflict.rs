//! 回避: when an expert must not review an application. No I/O; the caller
//! gives what it knows of both sides.

/// The applicant side of a 回避 check, its names normalised once (the draw
/// checks every pair of 1,000 applications × 200 experts: normalising per
/// pair was 87% of its CPU).
#[derive(Debug, Clone, Default)]
pub struct Applicant {
    name: String,
    city_code: String,
    /// (as written, normalised), one per distinct provider.
    providers: Vec<(String, String)>,
}

impl Applicant {
    /// `providers` are the 云服务商 named in the 申报书.
    pub fn new(enterprise_name: &str, city_code: &str, providers: &[String]) -> Applicant {
        let mut ps: Vec<(String, String)> = providers
            .iter()
            .map(|p| (p.clone(), normalize_unit(p)))
            .filter(|p| !p.1.is_empty())
            .collect();
        ps.sort_by(|a, b| a.1.cmp(&b.1));
        ps.dedup_by(|a, b| a.1 == b.1);
        Applicant {
            name: normalize_unit(enterprise_name),
            city_code: city_code.into(),
            providers: ps,
        }
    }

    fn provider(&self, unit: &str) -> Option<&str> {
        self.providers
            .iter()
            .find(|p| p.1 == unit)
            .map(|p| p.0.as_str())
    }
}

/// The expert side, normalised once.
#[derive(Debug, Clone, Default)]
pub struct Reviewer {
    unit: String,
    city_code: String,
    /// Declared units to avoid: (as written, normalised).
    avoid: Vec<(String, String)>,
}

impl Reviewer {
    pub fn new(unit: &str, city_code: &str, avoid_units: &[String]) -> Reviewer {
        Reviewer {
            unit: normalize_unit(unit),
            city_code: city_code.into(),
            avoid: avoid_units
                .iter()
                .map(|v| (v.clone(), normalize_unit(v)))
                .filter(|v| !v.1.is_empty())
                .collect(),
        }
    }
}

/// A unit name compared after dropping what varies between spellings of
/// the same company: spaces, brackets of either width, and the legal-form
/// suffixes (有限公司, 股份有限公司, 有限责任公司, 集团).
pub fn normalize_unit(name: &str) -> String {
    let mut s: String = name
        .chars()
        .filter(|c| {
            !c.is_whitespace() && !matches!(c, '(' | ')' | '（' | '）' | '[' | ']' | '【' | '】')
        })
        .collect();
    for suffix in [
        "股份有限公司",
        "有限责任公司",
        "有限公司",
        "股份公司",
        "公司",
    ] {
        if let Some(t) = s.strip_suffix(suffix) {
            s = t.to_string();
            break;
        }
    }
    s.to_lowercase()
}

/// Why `r` must not review `a`, if it must not (the first rule that applies).
pub fn reason(a: &Applicant, r: &Reviewer, same_city_rule: bool) -> Option<String> {
    if !r.unit.is_empty() {
        if r.unit == a.name {
            return Some("专家在申报企业工作".into());
        }
        if let Some(p) = a.provider(&r.unit) {
            return Some(format!("专家所在单位是申报企业的云服务商（{p}）"));
        }
    }
    for (avoid, v) in &r.avoid {
        if *v == a.name {
            return Some(format!("专家申报的回避单位（{avoid}）"));
        }
        if a.provider(v).is_some() {
            return Some(format!("专家申报的回避单位是申报企业的云服务商（{avoid}）"));
        }
    }
    if same_city_rule && !r.city_code.is_empty() && r.city_code == a.city_code {
        return Some("专家与申报企业同属一个市州".into());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app() -> Applicant {
        Applicant::new(
            "湖北某某机械股份有限公司",
            "420100",
            &["华为云计算技术有限公司".into()],
        )
    }

    #[test]
    fn unit_names_compare_without_legal_form_brackets_or_spaces() {
        assert_eq!(
            normalize_unit("华为云计算技术 有限公司"),
            normalize_unit("华为云计算技术有限公司")
        );
        assert_eq!(
            normalize_unit("中国电信（湖北）股份有限公司"),
            normalize_unit("中国电信湖北有限公司")
        );
        assert_ne!(normalize_unit("阿里云"), normalize_unit("腾讯云"));
    }

    #[test]
    fn each_rule_applies() {
        let a = app();
        let r = |unit: &str, city: &str, avoid: &[&str]| {
            let avoid: Vec<String> = avoid.iter().map(|s| s.to_string()).collect();
            Reviewer::new(unit, city, &avoid)
        };
        assert_eq!(
            reason(&a, &r("湖北某某机械有限公司", "420500", &[]), true).unwrap(),
            "专家在申报企业工作"
        );
        assert!(
            reason(&a, &r("华为云计算技术（有限公司）", "420500", &[]), true)
                .unwrap()
                .contains("云服务商")
        );
        assert!(reason(&a, &r("武汉大学", "420500", &[]), true).is_none());
        assert!(
            reason(&a, &r("武汉大学", "420500", &["湖北某某机械"]), true)
                .unwrap()
                .contains("回避单位")
        );
        assert_eq!(
            reason(&a, &r("武汉大学", "420100", &[]), true).unwrap(),
            "专家与申报企业同属一个市州"
        );
        assert!(reason(&a, &r("武汉大学", "420100", &[]), false).is_none());
    }
}
