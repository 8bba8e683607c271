//! 随机抽取评审专家: a reproducible random draw of experts for applications.
//!
//! The draw is a bipartite b-matching (each application needs `k` experts, each
//! expert takes at most `m` applications) solved exactly as a min-cost flow in
//! which every allowed (application, expert) pair gets a random cost from
//! `ChaCha8Rng(seed)`. The optimum for random costs is a random feasible
//! assignment, and unlike a greedy draw it never fails while a full assignment
//! exists. Same input + same seed ⇒ the same pairs, on every platform and run,
//! so a stored seed lets anyone replay and audit a draw.
//!
//! Reproducibility contract (changing any of these changes past draws):
//! - one `next_u32()` cost per allowed pair, drawn for applications in order
//!   and, within one, for experts in order; forbidden, excluded and fixed pairs
//!   draw nothing;
//! - the solver below, including its tie-breaking (by distance, then node id).

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::fmt;

use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};

/// Experts each application needs unless the program says otherwise.
pub const DEFAULT_PER_APPLICATION: usize = 5;

/// What one draw works on. Indices in `forbidden`, `fixed` and `excluded` are
/// positions in `applications` and `experts`.
#[derive(Clone, Copy)]
pub struct DrawInput<'a> {
    /// Application ids, in a stable order given by the caller.
    pub applications: &'a [String],
    /// Expert ids, in a stable order.
    pub experts: &'a [String],
    /// `k`: experts each application needs (fixed pairs included).
    pub per_application: usize,
    /// `m`: most applications one expert reviews (fixed pairs included).
    pub max_per_expert: usize,
    /// `(application, expert)` → `Some(reason)` when 回避 forbids the pair.
    /// Must be pure: it is called again for the explanation of a shortfall.
    pub forbidden: &'a dyn Fn(usize, usize) -> Option<String>,
    /// Pairs that must stay (already scored / kept). They count against `k`
    /// and `m`, and win over `forbidden` and `excluded`. If they alone exceed
    /// `k` for an application or `m` for an expert they are all kept and
    /// nothing more is drawn there.
    pub fixed: &'a [(usize, usize)],
    /// Pairs that may not be used (the expert declined or declared a conflict).
    pub excluded: &'a [(usize, usize)],
    pub seed: u64,
}

/// A successful draw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Draw {
    /// `(application, expert)`, sorted, without duplicates, fixed pairs included.
    pub pairs: Vec<(usize, usize)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DrawError {
    /// No assignment gives every application `k` experts; lists every
    /// application left short (by index) in a most-filled assignment.
    Uncoverable(Vec<Shortfall>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shortfall {
    pub application: usize,
    /// Experts it got in a maximum assignment (fixed ones included).
    pub assigned: usize,
    pub needed: usize,
    /// Experts not forbidden or excluded for it (fixed ones included).
    pub eligible_experts: usize,
    /// Why, in Chinese, for the people running the program.
    pub reason: String,
}

impl fmt::Display for DrawError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DrawError::Uncoverable(short) => {
                write!(f, "有 {} 个申报项目无法抽足评审专家", short.len())?;
                for s in short {
                    write!(f, "；第 {} 项：{}", s.application + 1, s.reason)?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for DrawError {}

/// A fresh seed from the OS, to be stored with the draw so it can be replayed.
///
/// # Panics
/// If the OS random source fails, which leaves nothing safe to draw with.
pub fn new_seed() -> u64 {
    getrandom::u64().expect("OS random number generator unavailable")
}

/// Draws experts for every application; see the module docs.
///
/// # Panics
/// If a `fixed` or `excluded` pair indexes outside `applications`/`experts`.
pub fn draw(input: &DrawInput) -> Result<Draw, DrawError> {
    let n = input.applications.len();
    let ne = input.experts.len();
    let k = input.per_application;
    let m = input.max_per_expert;

    // Pair states in a flat matrix: cheap lookups and no hash-order effects.
    let mut state = vec![OPEN; n * ne];
    for &(a, x) in input.excluded {
        assert!(a < n && x < ne, "excluded pair ({a}, {x}) out of range");
        state[a * ne + x] = EXCLUDED;
    }
    let mut fixed_of_app = vec![0usize; n];
    let mut fixed_of_expert = vec![0usize; ne];
    for &(a, x) in input.fixed {
        assert!(a < n && x < ne, "fixed pair ({a}, {x}) out of range");
        let s = &mut state[a * ne + x];
        if *s != FIXED {
            *s = FIXED;
            fixed_of_app[a] += 1;
            fixed_of_expert[x] += 1;
        }
    }

    let cap = fixed_of_expert
        .iter()
        .map(|&f| m.saturating_sub(f))
        .collect();
    let mut net = Network::build(input, &state, cap);

    // Augment one unit at a time, applications in order. An application that
    // cannot reach the sink never can later (augmenting paths elsewhere add no
    // residual edge out of its reachable set), so the result is a maximum flow,
    // and a minimum-cost one when it covers everything.
    let mut drawn = vec![0usize; n];
    for a in 0..n {
        let need = k.saturating_sub(fixed_of_app[a]).min(net.open_edges(a));
        while drawn[a] < need && net.augment_from(a) {
            drawn[a] += 1;
        }
    }

    let mut short = Vec::new();
    for a in 0..n {
        let assigned = fixed_of_app[a] + drawn[a];
        if assigned < k {
            let eligible = fixed_of_app[a] + net.open_edges(a);
            let reason = explain(input, &state, a, assigned, eligible);
            short.push(Shortfall {
                application: a,
                assigned,
                needed: k,
                eligible_experts: eligible,
                reason,
            });
        }
    }
    if !short.is_empty() {
        return Err(DrawError::Uncoverable(short));
    }

    let mut pairs: Vec<(usize, usize)> = (0..n)
        .flat_map(|a| (0..ne).map(move |x| (a, x)))
        .filter(|&(a, x)| state[a * ne + x] == FIXED)
        .collect();
    pairs.extend(net.assigned_pairs());
    pairs.sort_unstable();
    Ok(Draw { pairs })
}

const OPEN: u8 = 0;
const FIXED: u8 = 1;
const EXCLUDED: u8 = 2;

/// The Chinese explanation of one shortfall, naming the constraint that binds.
fn explain(input: &DrawInput, state: &[u8], a: usize, assigned: usize, eligible: usize) -> String {
    let k = input.per_application;
    let m = input.max_per_expert;
    if eligible >= k {
        // Every eligible expert not given to `a` is at capacity in a maximum
        // flow, so capacity is what binds.
        return format!(
            "符合回避规则的专家有 {eligible} 名，但可用专家的评审数量已满（每位专家最多 {m} 项），\
             只分配到 {assigned} 名，少于需要的 {k} 名；需增加专家或提高每位专家的评审上限"
        );
    }
    let mut text = format!("符合回避规则的专家只有 {eligible} 名，少于每项需要的 {k} 名");
    if assigned < eligible {
        text +=
            &format!("；且部分专家的评审数量已满（每位专家最多 {m} 项），只分配到 {assigned} 名");
    }
    // Why the others are out: 回避 reasons by count, then declined/conflicts.
    let ne = input.experts.len();
    let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
    let mut declined = 0;
    for x in 0..ne {
        match state[a * ne + x] {
            EXCLUDED => declined += 1,
            OPEN => {
                if let Some(r) = (input.forbidden)(a, x) {
                    *reasons.entry(r).or_default() += 1;
                }
            }
            _ => {}
        }
    }
    let mut counted: Vec<(String, usize)> = reasons.into_iter().collect();
    counted.sort_by(|p, q| q.1.cmp(&p.1).then_with(|| p.0.cmp(&q.0)));
    let mut parts: Vec<String> = Vec::new();
    const SHOWN: usize = 5;
    for (r, c) in counted.iter().take(SHOWN) {
        parts.push(format!("{r} {c} 名"));
    }
    let rest: usize = counted.iter().skip(SHOWN).map(|p| p.1).sum();
    if rest > 0 {
        parts.push(format!("其他回避原因 {rest} 名"));
    }
    if declined > 0 {
        parts.push(format!("已拒绝或申报利益冲突 {declined} 名"));
    }
    if !parts.is_empty() {
        text += &format!("（不可选：{}）", parts.join("，"));
    }
    text
}

/// Residual network of the flow: source-less (applications hold the supply),
/// application → expert edges of capacity 1 with random costs, expert → sink
/// edges of the remaining capacity. Nodes: applications `0..n`, experts
/// `n..n+ne`, sink `n+ne`.
struct Network {
    n: usize,
    /// CSR of the open application → expert edges.
    start: Vec<u32>,
    to: Vec<u32>,
    from: Vec<u32>,
    cost: Vec<i64>,
    used: Vec<bool>,
    /// Per expert: the edges carrying flow into it (its current applications).
    load: Vec<Vec<u32>>,
    cap: Vec<usize>,
    /// Potentials keep reduced costs non-negative, so Dijkstra stays exact.
    pi: Vec<i64>,
    dist: Vec<i64>,
    /// Expert node: edge in; application node: edge out of the expert; sink: expert.
    pred: Vec<u32>,
    settled: Vec<u32>,
    is_settled: Vec<bool>,
    heap: BinaryHeap<Reverse<(i64, u32)>>,
}

impl Network {
    /// `cap`: per expert, the reviews left after its fixed pairs.
    fn build(input: &DrawInput, state: &[u8], cap: Vec<usize>) -> Network {
        let n = input.applications.len();
        let ne = input.experts.len();
        let mut rng = ChaCha8Rng::seed_from_u64(input.seed);
        let mut start = Vec::with_capacity(n + 1);
        let mut to = Vec::new();
        let mut from = Vec::new();
        let mut cost = Vec::new();
        start.push(0u32);
        for a in 0..n {
            for x in 0..ne {
                if state[a * ne + x] == OPEN && (input.forbidden)(a, x).is_none() {
                    to.push(x as u32);
                    from.push(a as u32);
                    cost.push(i64::from(rng.next_u32()));
                }
            }
            start.push(u32::try_from(to.len()).expect("too many pairs"));
        }
        let nodes = n + ne + 1;
        Network {
            n,
            used: vec![false; to.len()],
            start,
            to,
            from,
            cost,
            load: vec![Vec::new(); ne],
            cap,
            pi: vec![0; nodes],
            dist: vec![i64::MAX; nodes],
            pred: vec![0; nodes],
            settled: Vec::new(),
            is_settled: vec![false; nodes],
            heap: BinaryHeap::new(),
        }
    }

    fn open_edges(&self, a: usize) -> usize {
        (self.start[a + 1] - self.start[a]) as usize
    }

    fn assigned_pairs(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        self.load
            .iter()
            .enumerate()
            .flat_map(move |(x, es)| es.iter().map(move |&e| (self.from[e as usize] as usize, x)))
    }

    /// One unit of flow from application `a` along a shortest residual path
    /// (Dijkstra on reduced costs, stopping at the sink). False if none.
    fn augment_from(&mut self, a: usize) -> bool {
        let n = self.n;
        let sink = self.pi.len() - 1;
        for &v in &self.settled {
            self.is_settled[v as usize] = false;
        }
        self.settled.clear();
        self.dist.fill(i64::MAX);
        self.heap.clear();
        self.dist[a] = 0;
        self.heap.push(Reverse((0, a as u32)));
        let mut reached = false;
        while let Some(Reverse((d, u))) = self.heap.pop() {
            let u = u as usize;
            if self.is_settled[u] || d > self.dist[u] {
                continue;
            }
            self.is_settled[u] = true;
            self.settled.push(u as u32);
            if u == sink {
                reached = true;
                break;
            }
            let pu = self.pi[u];
            if u < n {
                // Application: unused edges to experts.
                for e in self.start[u] as usize..self.start[u + 1] as usize {
                    if self.used[e] {
                        continue;
                    }
                    let v = n + self.to[e] as usize;
                    let nd = d + self.cost[e] + pu - self.pi[v];
                    if nd < self.dist[v] {
                        self.dist[v] = nd;
                        self.pred[v] = e as u32;
                        self.heap.push(Reverse((nd, v as u32)));
                    }
                }
            } else {
                // Expert: back along its used edges, or on to the sink.
                let x = u - n;
                for &e in &self.load[x] {
                    let v = self.from[e as usize] as usize;
                    let nd = d - self.cost[e as usize] + pu - self.pi[v];
                    if nd < self.dist[v] {
                        self.dist[v] = nd;
                        self.pred[v] = e;
                        self.heap.push(Reverse((nd, v as u32)));
                    }
                }
                if self.load[x].len() < self.cap[x] {
                    let nd = d + pu - self.pi[sink];
                    if nd < self.dist[sink] {
                        self.dist[sink] = nd;
                        self.pred[sink] = x as u32;
                        self.heap.push(Reverse((nd, sink as u32)));
                    }
                }
            }
        }
        if !reached {
            // Nothing changes, so the potentials stay valid as they are.
            return false;
        }

        // pi += min(dist, dist_sink) - dist_sink: only settled nodes move.
        let dt = self.dist[sink];
        for &v in &self.settled {
            let v = v as usize;
            self.pi[v] -= dt - self.dist[v];
        }

        // Walk back: sink ← expert ← application [← expert ← application]…
        let mut x = self.pred[sink] as usize;
        loop {
            let e = self.pred[n + x] as usize;
            self.used[e] = true;
            self.load[x].push(e as u32);
            let app = self.from[e] as usize;
            if app == a {
                break;
            }
            // `app` was reached backwards from the expert it gives up.
            let back = self.pred[app];
            self.used[back as usize] = false;
            let prev = self.to[back as usize] as usize;
            let pos = self.load[prev]
                .iter()
                .position(|&f| f == back)
                .expect("edge in load");
            self.load[prev].swap_remove(pos);
            x = prev;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ids(prefix: &str, n: usize) -> Vec<String> {
        (0..n).map(|i| format!("{prefix}{i}")).collect()
    }

    fn none(_: usize, _: usize) -> Option<String> {
        None
    }

    /// Costs of the open pairs, as the solver sees them.
    fn costs(input: &DrawInput) -> BTreeMap<(usize, usize), i64> {
        let n = input.applications.len();
        let ne = input.experts.len();
        let mut state = vec![OPEN; n * ne];
        for &(a, x) in input.excluded {
            state[a * ne + x] = EXCLUDED;
        }
        for &(a, x) in input.fixed {
            state[a * ne + x] = FIXED;
        }
        let net = Network::build(input, &state, vec![0; ne]);
        (0..net.to.len())
            .map(|e| ((net.from[e] as usize, net.to[e] as usize), net.cost[e]))
            .collect()
    }

    fn drawn_cost(input: &DrawInput, d: &Draw) -> i64 {
        let c = costs(input);
        d.pairs.iter().filter_map(|p| c.get(p)).sum()
    }

    /// Independent reference: textbook min-cost max-flow with Bellman-Ford on
    /// an explicit edge list, built straight from the input. Returns
    /// (max flow, its min cost).
    fn reference(input: &DrawInput) -> (usize, i64) {
        let n = input.applications.len();
        let ne = input.experts.len();
        let (src, sink) = (n + ne, n + ne + 1);
        let c = costs(input);
        // Edge: (to, cap, cost); reverse edge at index ^ 1.
        let mut edges: Vec<(usize, i64, i64)> = Vec::new();
        let mut adj = vec![Vec::new(); n + ne + 2];
        let mut add = |u: usize, v: usize, cap: i64, cost: i64| {
            adj[u].push(edges.len());
            edges.push((v, cap, cost));
            adj[v].push(edges.len());
            edges.push((u, 0, -cost));
        };
        let mut fixed: Vec<(usize, usize)> = input.fixed.to_vec();
        fixed.sort_unstable();
        fixed.dedup();
        for a in 0..n {
            let f = fixed.iter().filter(|p| p.0 == a).count();
            add(src, a, input.per_application.saturating_sub(f) as i64, 0);
        }
        for x in 0..ne {
            let f = fixed.iter().filter(|p| p.1 == x).count();
            add(
                n + x,
                sink,
                input.max_per_expert.saturating_sub(f) as i64,
                0,
            );
        }
        for (&(a, x), &cost) in &c {
            add(a, n + x, 1, cost);
        }
        let (mut flow, mut total) = (0usize, 0i64);
        loop {
            let mut dist = vec![i64::MAX; n + ne + 2];
            let mut pred = vec![usize::MAX; n + ne + 2];
            dist[src] = 0;
            let mut changed = true;
            while changed {
                changed = false;
                for u in 0..n + ne + 2 {
                    if dist[u] == i64::MAX {
                        continue;
                    }
                    for &e in &adj[u] {
                        let (v, cap, cost) = edges[e];
                        if cap > 0 && dist[u] + cost < dist[v] {
                            dist[v] = dist[u] + cost;
                            pred[v] = e;
                            changed = true;
                        }
                    }
                }
            }
            if dist[sink] == i64::MAX {
                return (flow, total);
            }
            let mut v = sink;
            while v != src {
                let e = pred[v];
                edges[e].1 -= 1;
                edges[e ^ 1].1 += 1;
                v = edges[e ^ 1].0;
            }
            flow += 1;
            total += dist[sink];
        }
    }

    /// Checks a result against the input and the reference solver.
    fn check(input: &DrawInput, result: &Result<Draw, DrawError>) -> Result<(), TestCaseError> {
        let n = input.applications.len();
        let ne = input.experts.len();
        let (k, m) = (input.per_application, input.max_per_expert);
        let mut fixed: Vec<(usize, usize)> = input.fixed.to_vec();
        fixed.sort_unstable();
        fixed.dedup();
        let is_fixed = |a: usize, x: usize| fixed.contains(&(a, x));
        let eligible = |a: usize| {
            (0..ne)
                .filter(|&x| {
                    is_fixed(a, x)
                        || (!input.excluded.contains(&(a, x)) && (input.forbidden)(a, x).is_none())
                })
                .count()
        };
        let total_need: usize = (0..n)
            .map(|a| k.saturating_sub(fixed.iter().filter(|p| p.0 == a).count()))
            .sum();
        let (max_flow, min_cost) = reference(input);
        match result {
            Ok(d) => {
                prop_assert_eq!(max_flow, total_need);
                prop_assert!(
                    d.pairs.windows(2).all(|w| w[0] < w[1]),
                    "sorted, no duplicates"
                );
                for &p in &fixed {
                    prop_assert!(d.pairs.contains(&p), "fixed pair {:?} kept", p);
                }
                for &(a, x) in &d.pairs {
                    if !is_fixed(a, x) {
                        prop_assert!(!input.excluded.contains(&(a, x)));
                        prop_assert!((input.forbidden)(a, x).is_none());
                    }
                }
                for a in 0..n {
                    let got = d.pairs.iter().filter(|p| p.0 == a).count();
                    let f = fixed.iter().filter(|p| p.0 == a).count();
                    prop_assert_eq!(got, k.max(f));
                }
                for x in 0..ne {
                    let got = d.pairs.iter().filter(|p| p.1 == x).count();
                    let f = fixed.iter().filter(|p| p.1 == x).count();
                    prop_assert!(got <= m.max(f));
                }
                prop_assert_eq!(drawn_cost(input, d), min_cost);
            }
            Err(DrawError::Uncoverable(short)) => {
                prop_assert!(max_flow < total_need, "reported infeasible but flow exists");
                prop_assert!(!short.is_empty());
                prop_assert!(
                    short
                        .windows(2)
                        .all(|w| w[0].application < w[1].application)
                );
                let missing: usize = short.iter().map(|s| s.needed - s.assigned).sum();
                prop_assert_eq!(missing, total_need - max_flow);
                for s in short {
                    prop_assert_eq!(s.needed, k);
                    prop_assert!(s.assigned < k);
                    prop_assert_eq!(s.eligible_experts, eligible(s.application));
                    if s.eligible_experts < k {
                        prop_assert!(
                            s.reason.starts_with("符合回避规则的专家只有"),
                            "{}",
                            s.reason
                        );
                    } else {
                        prop_assert!(s.reason.contains("评审数量已满"), "{}", s.reason);
                    }
                }
                // Every application with too few eligible experts is listed.
                for a in 0..n {
                    if eligible(a) < k {
                        prop_assert!(short.iter().any(|s| s.application == a));
                    }
                }
            }
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]
        #[test]
        fn random_pools(
            n in 0usize..7,
            ne in 0usize..9,
            k in 0usize..5,
            m in 0usize..5,
            seed in any::<u64>(),
            forbid in prop::collection::vec(prop::bool::weighted(0.25), 63),
            fixed in prop::collection::vec((0usize..7, 0usize..9), 0..6),
            excluded in prop::collection::vec((0usize..7, 0usize..9), 0..6),
            within_limits in prop::bool::weighted(0.8),
        ) {
            let apps = ids("A", n);
            let experts = ids("E", ne);
            let forbidden = |a: usize, x: usize| forbid[a * 9 + x].then(|| format!("回避{}", (a + x) % 2));
            let in_range = |&(a, x): &(usize, usize)| a < n && x < ne;
            // Mostly keep fixed pairs within k and m, as a real program would;
            // sometimes not (k or m lowered after scoring began), with duplicates.
            let mut kept: Vec<(usize, usize)> = Vec::new();
            for p in fixed.iter().copied().filter(in_range) {
                if !within_limits
                    || (!kept.contains(&p)
                        && kept.iter().filter(|q| q.0 == p.0).count() < k
                        && kept.iter().filter(|q| q.1 == p.1).count() < m)
                {
                    kept.push(p);
                }
            }
            let excluded: Vec<(usize, usize)> = excluded.into_iter().filter(in_range).collect();
            let input = DrawInput {
                applications: &apps,
                experts: &experts,
                per_application: k,
                max_per_expert: m,
                forbidden: &forbidden,
                fixed: &kept,
                excluded: &excluded,
                seed,
            };
            let result = draw(&input);
            check(&input, &result)?;
            prop_assert_eq!(draw(&input), result, "same seed, same draw");
        }
    }

    #[test]
    fn same_seed_same_draw_other_seed_other_draw() {
        let apps = ids("A", 20);
        let experts = ids("E", 30);
        let forbidden = |a: usize, x: usize| (a % 7 == x % 7).then(|| "同单位".to_string());
        let input = |seed| DrawInput {
            applications: &apps,
            experts: &experts,
            per_application: 3,
            max_per_expert: 5,
            forbidden: &forbidden,
            fixed: &[],
            excluded: &[],
            seed,
        };
        let one = draw(&input(1)).unwrap();
        assert_eq!(draw(&input(1)).unwrap(), one);
        let mut distinct = std::collections::BTreeSet::new();
        for seed in 1..=10 {
            distinct.insert(draw(&input(seed)).unwrap().pairs);
        }
        assert_eq!(distinct.len(), 10, "ten seeds, ten different draws");
    }

    /// Pins the draw for one seed: a change here means stored seeds no longer
    /// replay to the draws they produced.
    #[test]
    fn draw_is_stable_across_versions() {
        let apps = ids("A", 4);
        let experts = ids("E", 6);
        let forbidden = |a: usize, x: usize| (a == x).then(|| "同单位".to_string());
        let input = DrawInput {
            applications: &apps,
            experts: &experts,
            per_application: 2,
            max_per_expert: 2,
            forbidden: &forbidden,
            fixed: &[(0, 5)],
            excluded: &[(1, 2)],
            seed: 20240601,
        };
        let d = draw(&input).unwrap();
        assert_eq!(d.pairs, GOLDEN);
    }
    const GOLDEN: &[(usize, usize)] = &[
        (0, 1),
        (0, 5),
        (1, 0),
        (1, 3),
        (2, 3),
        (2, 5),
        (3, 0),
        (3, 2),
    ];

    #[test]
    fn too_few_eligible_experts() {
        let apps = ids("A", 3);
        let experts = ids("E", 10);
        // Application 1 may use only experts 0, 1, 2; 8 and 9 are 同单位, the rest 近三年合作.
        let forbidden = |a: usize, x: usize| match (a, x) {
            (1, 8 | 9) => Some("同单位".to_string()),
            (1, 3..) => Some("近三年合作".to_string()),
            _ => None,
        };
        let input = DrawInput {
            applications: &apps,
            experts: &experts,
            per_application: 5,
            max_per_expert: 30,
            forbidden: &forbidden,
            fixed: &[],
            excluded: &[],
            seed: 7,
        };
        let Err(DrawError::Uncoverable(short)) = draw(&input) else {
            panic!("application 1 cannot be covered");
        };
        assert_eq!(short.len(), 1);
        let s = &short[0];
        assert_eq!(
            (s.application, s.eligible_experts, s.assigned, s.needed),
            (1, 3, 3, 5)
        );
        assert_eq!(
            s.reason,
            "符合回避规则的专家只有 3 名，少于每项需要的 5 名（不可选：近三年合作 5 名，同单位 2 名）"
        );
    }

    #[test]
    fn declined_experts_are_named_in_the_reason() {
        let apps = ids("A", 1);
        let experts = ids("E", 4);
        let input = DrawInput {
            applications: &apps,
            experts: &experts,
            per_application: 3,
            max_per_expert: 1,
            forbidden: &none,
            fixed: &[],
            excluded: &[(0, 1), (0, 3)],
            seed: 1,
        };
        let Err(DrawError::Uncoverable(short)) = draw(&input) else {
            panic!("two eligible experts for three places");
        };
        assert_eq!(short[0].eligible_experts, 2);
        assert_eq!(
            short[0].reason,
            "符合回避规则的专家只有 2 名，少于每项需要的 3 名（不可选：已拒绝或申报利益冲突 2 名）"
        );
    }

    #[test]
    fn capacity_shortfall_says_capacity() {
        // 4 applications × 2 = 8 places, 3 experts × 2 = 6 reviews.
        let apps = ids("A", 4);
        let experts = ids("E", 3);
        let input = DrawInput {
            applications: &apps,
            experts: &experts,
            per_application: 2,
            max_per_expert: 2,
            forbidden: &none,
            fixed: &[],
            excluded: &[],
            seed: 3,
        };
        let Err(DrawError::Uncoverable(short)) = draw(&input) else {
            panic!("not enough reviews");
        };
        let missing: usize = short.iter().map(|s| s.needed - s.assigned).sum();
        assert_eq!(missing, 2);
        for s in &short {
            assert_eq!(s.eligible_experts, 3);
            assert!(
                s.reason
                    .contains("可用专家的评审数量已满（每位专家最多 2 项）"),
                "{}",
                s.reason
            );
        }
        assert_eq!(
            draw(&input),
            Err(DrawError::Uncoverable(short)),
            "deterministic"
        );
    }

    #[test]
    fn optimal_against_brute_force() {
        let apps = ids("A", 3);
        let experts = ids("E", 4);
        let forbidden = |a: usize, x: usize| (a == 0 && x == 3).then(|| "同单位".to_string());
        for seed in 0..50 {
            let input = DrawInput {
                applications: &apps,
                experts: &experts,
                per_application: 2,
                max_per_expert: 2,
                forbidden: &forbidden,
                fixed: &[],
                excluded: &[],
                seed,
            };
            let c = costs(&input);
            // Each application picks 2 of 4 experts: 6³ combinations.
            let subsets: Vec<[usize; 2]> = (0..4)
                .flat_map(|i| (i + 1..4).map(move |j| [i, j]))
                .collect();
            let mut best = i64::MAX;
            for s0 in &subsets {
                for s1 in &subsets {
                    for s2 in &subsets {
                        let chosen = [s0, s1, s2];
                        let mut load = [0; 4];
                        let mut total = 0;
                        let mut ok = true;
                        for (a, s) in chosen.iter().enumerate() {
                            for &x in s.iter() {
                                load[x] += 1;
                                match c.get(&(a, x)) {
                                    Some(v) => total += v,
                                    None => ok = false,
                                }
                            }
                        }
                        if ok && load.iter().all(|&l| l <= 2) {
                            best = best.min(total);
                        }
                    }
                }
            }
            let d = draw(&input).unwrap();
            assert_eq!(drawn_cost(&input, &d), best, "seed {seed}");
        }
    }

    #[test]
    fn fixed_pairs_count_against_both_limits() {
        let apps = ids("A", 2);
        let experts = ids("E", 4);
        let input = DrawInput {
            applications: &apps,
            experts: &experts,
            per_application: 2,
            max_per_expert: 1,
            forbidden: &|_, x| (x == 1).then(|| "同单位".to_string()),
            // Fixed wins over 回避, and duplicates collapse.
            fixed: &[(0, 1), (0, 1), (1, 0)],
            excluded: &[],
            seed: 9,
        };
        let d = draw(&input).unwrap();
        // Experts 0 and 1 are full, so 2 and 3 go one to each application.
        assert_eq!(d.pairs.len(), 4);
        assert!(d.pairs.contains(&(0, 1)) && d.pairs.contains(&(1, 0)));
        let second: Vec<usize> = d.pairs.iter().filter(|p| p.1 >= 2).map(|p| p.1).collect();
        assert_eq!(second.len(), 2);
        assert_ne!(second[0], second[1]);
    }

    #[test]
    fn empty_inputs() {
        let input = DrawInput {
            applications: &[],
            experts: &[],
            per_application: DEFAULT_PER_APPLICATION,
            max_per_expert: 30,
            forbidden: &none,
            fixed: &[],
            excluded: &[],
            seed: 0,
        };
        assert_eq!(draw(&input).unwrap().pairs, vec![]);
        let apps = ids("A", 1);
        let input = DrawInput {
            applications: &apps,
            ..input
        };
        let Err(DrawError::Uncoverable(short)) = draw(&input) else {
            panic!("no experts at all");
        };
        assert_eq!(short[0].eligible_experts, 0);
    }

    #[test]
    fn new_seed_varies() {
        assert_ne!(new_seed(), new_seed());
    }
}
