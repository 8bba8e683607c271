//! 回避: when an expert must not review an application. No I/O; the caller
//! gives what it knows of both sides.

/// The applicant side of a 回避 check.
#[derive(Debug, Clone, Default)]
pub struct Applicant {
    pub enterprise_name: String,
    pub city_code: String,
    /// Its 云服务商 (providers named in the 申报书).
    pub providers: Vec<String>,
}

/// The expert side.
#[derive(Debug, Clone, Default)]
pub struct Reviewer {
    pub unit: String,
    pub city_code: String,
    /// Units the expert declared to avoid.
    pub avoid_units: Vec<String>,
}

/// A unit name compared after dropping what varies between spellings of
/// the same company: spaces, brackets of either width, and the legal-form
/// suffixes (有限公司, 股份有限公司, 有限责任公司, 集团).
pub fn normalize_unit(name: &str) -> String {
    let mut s: String = name
        .chars()
        .filter(|c| !c.is_whitespace() && !"()（）[]【】".contains(*c))
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
    let unit = normalize_unit(&r.unit);
    let applicant = normalize_unit(&a.enterprise_name);
    if !unit.is_empty() && unit == applicant {
        return Some("专家在申报企业工作".into());
    }
    if !unit.is_empty()
        && let Some(p) = a.providers.iter().find(|p| normalize_unit(p) == unit)
    {
        return Some(format!("专家所在单位是申报企业的云服务商（{p}）"));
    }
    for avoid in &r.avoid_units {
        let v = normalize_unit(avoid);
        if v.is_empty() {
            continue;
        }
        if v == applicant {
            return Some(format!("专家申报的回避单位（{avoid}）"));
        }
        if a.providers.iter().any(|p| normalize_unit(p) == v) {
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
        Applicant {
            enterprise_name: "湖北某某机械股份有限公司".into(),
            city_code: "420100".into(),
            providers: vec!["华为云计算技术有限公司".into()],
        }
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
        let mut r = Reviewer {
            unit: "湖北某某机械有限公司".into(),
            city_code: "420500".into(),
            avoid_units: vec![],
        };
        assert_eq!(reason(&a, &r, true).unwrap(), "专家在申报企业工作");
        r.unit = "华为云计算技术（有限公司）".into();
        assert!(reason(&a, &r, true).unwrap().contains("云服务商"));
        r.unit = "武汉大学".into();
        assert!(reason(&a, &r, true).is_none());
        r.avoid_units = vec!["湖北某某机械".into()];
        assert!(reason(&a, &r, true).unwrap().contains("回避单位"));
        r.avoid_units.clear();
        r.city_code = "420100".into();
        assert_eq!(reason(&a, &r, true).unwrap(), "专家与申报企业同属一个市州");
        assert!(reason(&a, &r, false).is_none());
    }
}
