//! From experts' totals to one final score and a rank per application: the
//! mean, or the trimmed mean (去掉一个最高分和一个最低分 when five or more
//! scored), optionally after per-expert z-score normalisation; a flag where
//! experts disagree widely; and a recorded tie-break. No I/O.

use std::collections::{BTreeMap, HashMap};

pub struct ExpertScore {
    pub expert: String,
    pub application: String,
    pub total: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Mean,
    /// Drop one highest and one lowest when at least five scored.
    TrimmedMean,
}

#[derive(Debug, Clone)]
pub struct Options {
    pub method: Method,
    /// Normalise each expert's totals before averaging.
    pub zscore: bool,
    /// Flag an application whose raw totals spread more than this.
    pub spread_threshold: f64,
}

/// Scores needed before the highest and lowest are dropped.
pub const TRIM_FROM: usize = 5;

#[derive(Debug, Clone)]
pub struct Result {
    pub application: String,
    pub n: usize,
    /// Raw totals, highest first.
    pub raw: Vec<f64>,
    /// The values averaged (after normalisation and trimming).
    pub used: Vec<f64>,
    /// (highest, lowest) dropped, as raw totals.
    pub dropped: Option<(f64, f64)>,
    pub final_score: f64,
    pub spread: f64,
    pub flagged: bool,
    /// 1-based.
    pub rank: usize,
    pub tie_note: Option<String>,
}

impl Result {
    /// The final score to two decimals, as shown and compared.
    pub fn rounded(&self) -> f64 {
        cents(self.final_score) as f64 / 100.0
    }

    /// Each expert's total, highest first, as shown: 85、80.5、78.
    pub fn raw_text(&self) -> String {
        let v: Vec<String> = self
            .raw
            .iter()
            .map(|x| crate::domain::scoring::show(*x))
            .collect();
        v.join("、")
    }

    /// The dropped highest and lowest totals, as shown: 95 / 60 (empty when none were).
    pub fn dropped_text(&self) -> String {
        use crate::domain::scoring::show;
        self.dropped
            .map(|(h, l)| format!("{} / {}", show(h), show(l)))
            .unwrap_or_default()
    }

    fn plain_mean(&self) -> f64 {
        mean(&self.raw)
    }

    fn min_raw(&self) -> f64 {
        self.raw.last().copied().unwrap_or(0.0)
    }
}

fn cents(v: f64) -> i64 {
    (v * 100.0).round() as i64
}

fn mean(v: &[f64]) -> f64 {
    if v.is_empty() {
        0.0
    } else {
        v.iter().sum::<f64>() / v.len() as f64
    }
}

/// Population standard deviation.
fn sd(v: &[f64]) -> f64 {
    let m = mean(v);
    (v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / v.len().max(1) as f64).sqrt()
}

/// The formula, in words, as printed with the result.
pub fn formula(o: &Options) -> String {
    let mut s = String::new();
    if o.zscore {
        s.push_str("先将每位专家的评分按其本人全部评分标准化（z = (评分 − 该专家平均分) ÷ 该专家标准差），再换算回全体评分的尺度（全体平均分 + z × 全体标准差；专家只评一项或评分全部相同时取全体平均分）；");
    }
    match o.method {
        Method::TrimmedMean => s.push_str(&format!(
            "最终得分 = 评分专家不少于{TRIM_FROM}人时，去掉一个最高分和一个最低分后其余评分的算术平均；少于{TRIM_FROM}人时为全部评分的算术平均"
        )),
        Method::Mean => s.push_str("最终得分 = 全部专家评分的算术平均"),
    }
    s.push_str(&format!(
        "；同一申报专家最高分与最低分相差超过{}分时提示分差过大。并列（最终得分保留两位小数相同）时依次按全部专家评分的平均分、最低分从高到低排序，仍相同按申报编号排序。",
        crate::domain::scoring::show(o.spread_threshold)
    ));
    s
}

pub fn aggregate(scores: &[ExpertScore], o: &Options) -> Vec<Result> {
    // Per-expert normalisation, mapped back to the overall scale.
    let normalised: Vec<f64> = if o.zscore {
        let all: Vec<f64> = scores.iter().map(|s| s.total).collect();
        let (m_all, sd_all) = (mean(&all), sd(&all));
        let mut by_expert: HashMap<&str, Vec<f64>> = HashMap::new();
        for s in scores {
            by_expert.entry(&s.expert).or_default().push(s.total);
        }
        let stats: HashMap<&str, (f64, f64)> = by_expert
            .iter()
            .map(|(e, v)| (*e, (mean(v), sd(v))))
            .collect();
        scores
            .iter()
            .map(|s| {
                let (m, d) = stats[s.expert.as_str()];
                let z = if d > 0.0 { (s.total - m) / d } else { 0.0 };
                m_all + z * sd_all
            })
            .collect()
    } else {
        scores.iter().map(|s| s.total).collect()
    };
    let mut groups: BTreeMap<&str, Vec<(f64, f64)>> = BTreeMap::new();
    for (s, v) in scores.iter().zip(&normalised) {
        groups
            .entry(&s.application)
            .or_default()
            .push((s.total, *v));
    }
    let mut out: Vec<Result> = groups
        .into_iter()
        .map(|(app, mut pairs)| {
            pairs.sort_by(|a, b| b.1.total_cmp(&a.1).then(b.0.total_cmp(&a.0)));
            let n = pairs.len();
            let mut raw: Vec<f64> = pairs.iter().map(|p| p.0).collect();
            raw.sort_by(|a, b| b.total_cmp(a));
            let (used, dropped): (Vec<f64>, _) =
                if o.method == Method::TrimmedMean && n >= TRIM_FROM {
                    (
                        pairs[1..n - 1].iter().map(|p| p.1).collect(),
                        Some((pairs[0].0, pairs[n - 1].0)),
                    )
                } else {
                    (pairs.iter().map(|p| p.1).collect(), None)
                };
            let spread = raw.first().unwrap_or(&0.0) - raw.last().unwrap_or(&0.0);
            Result {
                application: app.to_string(),
                n,
                final_score: mean(&used),
                flagged: spread > o.spread_threshold,
                spread,
                raw,
                used,
                dropped,
                rank: 0,
                tie_note: None,
            }
        })
        .collect();
    out.sort_by(|a, b| {
        cents(b.final_score)
            .cmp(&cents(a.final_score))
            .then(cents(b.plain_mean()).cmp(&cents(a.plain_mean())))
            .then(cents(b.min_raw()).cmp(&cents(a.min_raw())))
            .then(a.application.cmp(&b.application))
    });
    for i in 0..out.len() {
        out[i].rank = i + 1;
        // A note on each side of a tie says which rule decided it.
        let neighbours = [i.checked_sub(1), (i + 1 < out.len()).then_some(i + 1)];
        for j in neighbours.into_iter().flatten() {
            let (a, b) = (&out[i], &out[j]);
            if cents(a.final_score) != cents(b.final_score) {
                continue;
            }
            let rule = if cents(a.plain_mean()) != cents(b.plain_mean()) {
                "按全部专家评分的平均分排序"
            } else if cents(a.min_raw()) != cents(b.min_raw()) {
                "按最低分排序"
            } else {
                "按申报编号排序"
            };
            let note = format!(
                "与排名第{}的申报最终得分相同（{:.2}），{rule}",
                j + 1,
                a.rounded()
            );
            out[i].tie_note = Some(match out[i].tie_note.take() {
                Some(n) => format!("{n}；{note}"),
                None => note,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(e: &str, a: &str, t: f64) -> ExpertScore {
        ExpertScore {
            expert: e.into(),
            application: a.into(),
            total: t,
        }
    }

    fn opts(method: Method, zscore: bool) -> Options {
        Options {
            method,
            zscore,
            spread_threshold: 20.0,
        }
    }

    #[test]
    fn mean_of_three_is_not_trimmed() {
        // (80 + 85 + 90) / 3 = 85
        let r = aggregate(
            &[s("e1", "a", 80.0), s("e2", "a", 85.0), s("e3", "a", 90.0)],
            &opts(Method::TrimmedMean, false),
        );
        assert_eq!(r[0].final_score, 85.0);
        assert!(r[0].dropped.is_none());
        assert_eq!(r[0].raw, vec![90.0, 85.0, 80.0]);
    }

    #[test]
    fn five_scores_drop_one_highest_and_one_lowest() {
        // 60, 70, 80, 90, 95: drop 95 and 60 → (70 + 80 + 90) / 3 = 80
        let r = aggregate(
            &[
                s("e1", "a", 60.0),
                s("e2", "a", 70.0),
                s("e3", "a", 80.0),
                s("e4", "a", 90.0),
                s("e5", "a", 95.0),
            ],
            &opts(Method::TrimmedMean, false),
        );
        assert_eq!(r[0].final_score, 80.0);
        assert_eq!(r[0].dropped, Some((95.0, 60.0)));
        assert_eq!(r[0].spread, 35.0);
        assert!(r[0].flagged);
    }

    #[test]
    fn seven_scores_with_a_repeated_maximum_drop_only_one_of_them() {
        // 90, 90, 85, 80, 75, 70, 50: drop one 90 and the 50 →
        // (90 + 85 + 80 + 75 + 70) / 5 = 400 / 5 = 80
        let totals = [90.0, 90.0, 85.0, 80.0, 75.0, 70.0, 50.0];
        let v: Vec<_> = totals
            .iter()
            .enumerate()
            .map(|(i, t)| s(&format!("e{i}"), "a", *t))
            .collect();
        let r = aggregate(&v, &opts(Method::TrimmedMean, false));
        assert_eq!(r[0].final_score, 80.0);
        assert_eq!(r[0].used.len(), 5);
    }

    #[test]
    fn four_scores_are_averaged_whole() {
        // (70 + 80 + 90 + 100) / 4 = 85
        let r = aggregate(
            &[
                s("e1", "a", 70.0),
                s("e2", "a", 80.0),
                s("e3", "a", 90.0),
                s("e4", "a", 100.0),
            ],
            &opts(Method::TrimmedMean, false),
        );
        assert_eq!(r[0].final_score, 85.0);
    }

    #[test]
    fn zscores_remove_a_harsh_experts_offset() {
        // Expert e1 gives a1 80, a2 70, a3 60 (mean 70, sd √(200/3) ≈ 8.165);
        // expert e2 gives a1 60, a2 50, a3 40 (mean 50, same sd): both rank
        // a1 > a2 > a3 by the same step. Overall: mean 60, sd √(1000/6) ≈ 12.910.
        // z for a1 = +1.2247 for both → 60 + 1.2247 × 12.910 = 75.811…
        // a2: z = 0 → 60; a3: 60 − 15.811 = 44.189…
        let r = aggregate(
            &[
                s("e1", "a1", 80.0),
                s("e1", "a2", 70.0),
                s("e1", "a3", 60.0),
                s("e2", "a1", 60.0),
                s("e2", "a2", 50.0),
                s("e2", "a3", 40.0),
            ],
            &opts(Method::Mean, true),
        );
        let get = |a: &str| r.iter().find(|x| x.application == a).unwrap();
        assert!((get("a1").final_score - 75.811).abs() < 0.001);
        assert!((get("a2").final_score - 60.0).abs() < 1e-9);
        assert!((get("a3").final_score - 44.189).abs() < 0.001);
        // The raw scores are kept as given.
        assert_eq!(get("a1").raw, vec![80.0, 60.0]);
    }

    #[test]
    fn ties_are_broken_by_recorded_rules() {
        // a and b: both mean 80 (final), plain mean equal, minimum 70 vs 75 → b first.
        // c and d: identical → by id, c first.
        let r = aggregate(
            &[
                s("e1", "a", 90.0),
                s("e2", "a", 70.0),
                s("e1", "b", 85.0),
                s("e2", "b", 75.0),
                s("e1", "c", 60.0),
                s("e1", "d", 60.0),
            ],
            &opts(Method::Mean, false),
        );
        let order: Vec<&str> = r.iter().map(|x| x.application.as_str()).collect();
        assert_eq!(order, vec!["b", "a", "c", "d"]);
        assert!(r[0].tie_note.as_ref().unwrap().contains("按最低分排序"));
        assert!(r[2].tie_note.as_ref().unwrap().contains("按申报编号排序"));
        assert_eq!(r[1].rank, 2);
    }

    #[test]
    fn trimmed_ties_fall_back_to_the_plain_mean() {
        // Both trimmed means are 80; plain means 79 (a) and 81 (b) → b first.
        let five = |a: &str, lo: f64, hi: f64| {
            vec![
                s("e1", a, lo),
                s("e2", a, 75.0),
                s("e3", a, 80.0),
                s("e4", a, 85.0),
                s("e5", a, hi),
            ]
        };
        let mut v = five("a", 40.0, 100.0); // plain (40+75+80+85+100)/5 = 76
        v.extend(five("b", 70.0, 90.0)); // plain (70+75+80+85+90)/5 = 80
        let r = aggregate(&v, &opts(Method::TrimmedMean, false));
        assert_eq!(r[0].application, "b");
        assert!(r[0].tie_note.as_ref().unwrap().contains("平均分"));
    }
}
