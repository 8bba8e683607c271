//! The city's 评审细则 (scoring sheet), reviewers' scores and the ranking
//! built from them. No I/O: the store keeps sheets and scores as JSON.

use std::collections::BTreeMap;

/// A reviewer's score per criterion key (few keys: a sorted map beats hashing).
pub type Scores = BTreeMap<String, f64>;

use serde::{Deserialize, Serialize};

/// One criterion of a scoring sheet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Criterion {
    /// Stable within a sheet (`c1`, `c2`, …); scores are keyed by it.
    pub key: String,
    pub name: String,
    pub description: String,
    /// Highest score a reviewer may give.
    pub max: f64,
    /// The score counts `weight` times in the total.
    pub weight: f64,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Sheet {
    pub criteria: Vec<Criterion>,
}

/// Most criteria a sheet may have.
pub const MAX_CRITERIA: usize = 20;

impl Sheet {
    pub fn from_json(s: &str) -> Sheet {
        serde_json::from_str(s).unwrap_or_default()
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{\"criteria\":[]}".into())
    }

    /// The weighted total of full marks.
    pub fn max_total(&self) -> f64 {
        self.criteria.iter().map(|c| c.max * c.weight).sum()
    }

    /// The weighted total of one reviewer's scores (missing criteria count 0).
    pub fn total(&self, scores: &Scores) -> f64 {
        self.criteria
            .iter()
            .map(|c| scores.get(&c.key).copied().unwrap_or(0.0) * c.weight)
            .sum()
    }

    /// Whether `scores` gives every criterion a score.
    pub fn complete(&self, scores: &Scores) -> bool {
        self.criteria.iter().all(|c| scores.contains_key(&c.key))
    }
}

/// The province's default sheet, drawn from the notice's 申报要求 (二) to (五).
pub fn province_default() -> Sheet {
    let c = |i: usize, name: &str, description: &str, max: f64| Criterion {
        key: format!("c{i}"),
        name: name.into(),
        description: description.into(),
        max,
        weight: 1.0,
    };
    Sheet {
        criteria: vec![
            c(
                1,
                "上云投入与信息化基础",
                "近两年在上云方面有连续性的投入，拥有稳定的信息化管理团队。",
                20.0,
            ),
            c(
                2,
                "上云应用深度",
                "在管理、设计、研发、生产、销售等方面上云应用深入，已形成较为完善的解决方案。",
                25.0,
            ),
            c(
                3,
                "上云成效",
                "生产经营效率和经济社会效益指标有明显改变，提质增效降本作用明显，已产生实际应用价值。",
                25.0,
            ),
            c(
                4,
                "可复制推广性",
                "使用的云产品和服务技术成熟，可在同行业或其他企业复制推广，同意公开发布典型案例。",
                15.0,
            ),
            c(
                5,
                "行业和区域代表性",
                "具有一定的行业和区域代表性；通过两化融合贯标、工业互联网等国家或省级试点示范的优先。",
                15.0,
            ),
        ],
    }
}

/// Parses a score or limit as typed: a number with at most one decimal.
pub fn parse_score(s: &str) -> Option<f64> {
    let s = s.trim();
    if s.is_empty() || s.len() > 8 {
        return None;
    }
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    if int.is_empty()
        || !int.bytes().all(|b| b.is_ascii_digit())
        || frac.len() > 1
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    s.parse::<f64>().ok().filter(|v| v.is_finite())
}

/// A score shown without trailing zeros: 8, 8.5, 12.25.
pub fn show(v: f64) -> String {
    // Integer arithmetic: exact decimal float formatting is slow, and
    // ranking pages show thousands of these.
    let h = hundredths(v);
    let sign = if h < 0 { "-" } else { "" };
    let (int, frac) = (h.abs() / 100, h.abs() % 100);
    match frac {
        0 => format!("{sign}{int}"),
        f if f % 10 == 0 => format!("{sign}{int}.{}", f / 10),
        f => format!("{sign}{int}.{f:02}"),
    }
}

/// Hundredths, the resolution at which totals tie.
pub fn hundredths(v: f64) -> i64 {
    (v * 100.0).round() as i64
}

/// One reviewer's scores of one application.
#[derive(Debug, Clone)]
pub struct Review {
    pub reviewer: String,
    pub scores: Scores,
    pub comment: String,
}

/// What the ranking needs of one application.
#[derive(Debug, Clone)]
pub struct Entry {
    pub application_id: String,
    pub submitted_at: i64,
    pub reviews: Vec<Review>,
    /// Position set by hand among applications with the same total.
    pub tie_position: Option<i64>,
}

/// One line of the ranking table.
#[derive(Debug, Clone)]
pub struct Ranked {
    pub application_id: String,
    /// 1-based place; unscored applications come last with no place.
    pub place: Option<usize>,
    pub reviewers: usize,
    pub average: Option<f64>,
    /// Average per criterion, in sheet order.
    pub per_criterion: Vec<Option<f64>>,
    /// Highest minus lowest reviewer total.
    pub spread: Option<f64>,
    /// Index of its group of equal totals (two or more), if tied.
    pub tie_group: Option<usize>,
    pub tie_position: Option<i64>,
}

/// Orders applications by average weighted total, highest first; equal
/// totals by the positions set by hand, then by submission time.
pub fn rank(sheet: &Sheet, entries: Vec<Entry>) -> Vec<Ranked> {
    let mut lines: Vec<(Ranked, i64)> = entries
        .into_iter()
        .map(|e| {
            let totals: Vec<f64> = e.reviews.iter().map(|r| sheet.total(&r.scores)).collect();
            let n = totals.len();
            let average = (n > 0).then(|| totals.iter().sum::<f64>() / n as f64);
            let spread = (n > 0).then(|| {
                let hi = totals.iter().cloned().fold(f64::MIN, f64::max);
                let lo = totals.iter().cloned().fold(f64::MAX, f64::min);
                hi - lo
            });
            let per_criterion = sheet
                .criteria
                .iter()
                .map(|c| {
                    let v: Vec<f64> = e
                        .reviews
                        .iter()
                        .filter_map(|r| r.scores.get(&c.key).copied())
                        .collect();
                    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
                })
                .collect();
            (
                Ranked {
                    application_id: e.application_id,
                    place: None,
                    reviewers: n,
                    average,
                    per_criterion,
                    spread,
                    tie_group: None,
                    tie_position: e.tie_position,
                },
                e.submitted_at,
            )
        })
        .collect();
    lines.sort_by(|(a, at), (b, bt)| {
        let key = |r: &Ranked| r.average.map(hundredths);
        key(b)
            .cmp(&key(a))
            .then_with(|| {
                let p = |r: &Ranked| r.tie_position.unwrap_or(i64::MAX);
                p(a).cmp(&p(b))
            })
            .then(at.cmp(bt))
            .then(a.application_id.cmp(&b.application_id))
    });
    let mut out: Vec<Ranked> = lines.into_iter().map(|(r, _)| r).collect();
    let mut group = 0;
    let mut i = 0;
    while i < out.len() {
        let Some(avg) = out[i].average.map(hundredths) else {
            break;
        };
        let mut j = i + 1;
        while j < out.len() && out[j].average.map(hundredths) == Some(avg) {
            j += 1;
        }
        if j - i > 1 {
            for r in &mut out[i..j] {
                r.tie_group = Some(group);
            }
            group += 1;
        }
        for (k, r) in out[i..j].iter_mut().enumerate() {
            r.place = Some(i + k + 1);
        }
        i = j;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn review(who: &str, scores: &[(&str, f64)]) -> Review {
        Review {
            reviewer: who.into(),
            scores: scores.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
            comment: String::new(),
        }
    }

    #[test]
    fn default_sheet_totals_one_hundred() {
        assert_eq!(province_default().max_total(), 100.0);
    }

    #[test]
    fn scores_parse_with_one_decimal_at_most() {
        assert_eq!(parse_score(" 8.5 "), Some(8.5));
        assert_eq!(parse_score("10"), Some(10.0));
        assert_eq!(parse_score("8.25"), None);
        assert_eq!(parse_score("-1"), None);
        assert_eq!(parse_score("abc"), None);
        assert_eq!(parse_score(""), None);
        assert_eq!(show(12.5), "12.5");
        assert_eq!(show(12.0), "12");
        assert_eq!(show(71.25), "71.25");
        assert_eq!(show(0.05), "0.05");
        assert_eq!(show(0.0), "0");
        assert_eq!(show(-1.5), "-1.5");
    }

    #[test]
    fn ranking_averages_reviewers_and_orders_ties_by_hand() {
        let mut sheet = province_default();
        sheet.criteria[0].weight = 2.0;
        let e = |id: &str, at: i64, reviews: Vec<Review>, pos: Option<i64>| Entry {
            application_id: id.into(),
            submitted_at: at,
            reviews,
            tie_position: pos,
        };
        let ranked = rank(
            &sheet,
            vec![
                e(
                    "a",
                    1,
                    vec![review("x", &[("c1", 10.0), ("c2", 20.0)])],
                    None,
                ),
                e(
                    "b",
                    2,
                    vec![
                        review("x", &[("c1", 10.0), ("c2", 30.0)]),
                        review("y", &[("c1", 10.0), ("c2", 10.0)]),
                    ],
                    Some(1),
                ),
                e("c", 3, vec![], None),
                e("d", 0, vec![review("x", &[("c2", 50.0)])], None),
            ],
        );
        let order: Vec<&str> = ranked.iter().map(|r| r.application_id.as_str()).collect();
        // a = 40, b = avg(50, 30) = 40 (placed first by hand), d = 50, c unscored.
        assert_eq!(order, ["d", "b", "a", "c"]);
        assert_eq!(ranked[1].tie_group, Some(0));
        assert_eq!(ranked[2].tie_group, Some(0));
        assert_eq!(ranked[0].tie_group, None);
        assert_eq!(ranked[1].spread, Some(20.0));
        assert_eq!(ranked[1].per_criterion[1], Some(20.0));
        assert_eq!(ranked[3].place, None);
        assert_eq!(ranked[2].place, Some(3));
    }
}
