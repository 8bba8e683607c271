//! 随机抽取 at program scale: 1,000 applications × 200 experts, k = 5, m = 30,
//! about 5% of pairs forbidden by 回避. Prints wall and CPU time of `draw`,
//! and, as a same-run baseline, the time to only draw the random costs and
//! build the edge list (the least any exact method must do), with the ratio.
//!
//! Run: `cargo bench --bench draw`

use std::hint::black_box;
use std::time::Instant;

use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};
use shenbao::domain::assignment::{DrawError, DrawInput, draw};

const RUNS: u64 = 7;

/// CPU time of this process (all threads), in seconds.
fn cpu_seconds() -> f64 {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `t` is a valid timespec for the call to fill.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut t) };
    assert_eq!(rc, 0, "clock_gettime");
    t.tv_sec as f64 + t.tv_nsec as f64 * 1e-9
}

/// (wall, cpu) seconds of one call.
fn timed<T>(f: impl FnOnce() -> T) -> (f64, f64, T) {
    let cpu = cpu_seconds();
    let wall = Instant::now();
    let out = f();
    (wall.elapsed().as_secs_f64(), cpu_seconds() - cpu, out)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// A fixed ~5% of pairs, spread without pattern.
fn forbidden(a: usize, x: usize) -> Option<String> {
    let mut z = (a as u64) << 32 | x as u64;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    (z % 20 == 0).then(|| "同单位".to_string())
}

/// The baseline: what `draw` does before solving.
fn build_only(input: &DrawInput) -> usize {
    let (n, ne) = (input.applications.len(), input.experts.len());
    let state = vec![0u8; n * ne];
    let mut rng = ChaCha8Rng::seed_from_u64(input.seed);
    let (mut to, mut from, mut cost) = (Vec::new(), Vec::new(), Vec::new());
    for a in 0..n {
        for x in 0..ne {
            if state[a * ne + x] == 0 && (input.forbidden)(a, x).is_none() {
                to.push(x as u32);
                from.push(a as u32);
                cost.push(i64::from(rng.next_u32()));
            }
        }
    }
    black_box((&from, &cost));
    to.len()
}

struct Case<'a> {
    name: &'a str,
    apps: usize,
    experts: usize,
    k: usize,
    m: usize,
}

fn run(case: &Case) {
    let apps: Vec<String> = (0..case.apps).map(|i| format!("A{i}")).collect();
    let experts: Vec<String> = (0..case.experts).map(|i| format!("E{i}")).collect();
    let input = |seed| DrawInput {
        applications: &apps,
        experts: &experts,
        per_application: case.k,
        max_per_expert: case.m,
        forbidden: &forbidden,
        fixed: &[],
        excluded: &[],
        seed,
    };
    let (mut wall, mut cpu, mut base_wall, mut base_cpu) = (vec![], vec![], vec![], vec![]);
    let mut outcome = String::new();
    let mut edges = 0;
    for seed in 1..=RUNS {
        let (w, c, e) = timed(|| build_only(&input(seed)));
        base_wall.push(w);
        base_cpu.push(c);
        edges = e;
        let (w, c, r) = timed(|| draw(&input(seed)));
        wall.push(w);
        cpu.push(c);
        outcome = match r {
            Ok(d) => format!("{} pairs", d.pairs.len()),
            Err(DrawError::Uncoverable(s)) => {
                format!("uncoverable, {} applications short", s.len())
            }
        };
    }
    let (w, c, bw, bc) = (
        median(wall),
        median(cpu),
        median(base_wall),
        median(base_cpu),
    );
    println!(
        "{}: {} × {} experts, k={} m={} ({} edges) → {}",
        case.name, case.apps, case.experts, case.k, case.m, edges, outcome
    );
    println!(
        "  draw      median of {RUNS}: {:8.2} ms wall, {:8.2} ms CPU",
        w * 1e3,
        c * 1e3
    );
    println!(
        "  baseline  median of {RUNS}: {:8.2} ms wall, {:8.2} ms CPU (costs + edge list only)",
        bw * 1e3,
        bc * 1e3
    );
    println!(
        "  ratio draw / baseline: {:.1}× wall, {:.1}× CPU",
        w / bw,
        c / bc
    );
}

/// A 补抽 after 10% of drawn pairs were declined: the other 90% stay fixed.
fn redraw() {
    let apps: Vec<String> = (0..1000).map(|i| format!("A{i}")).collect();
    let experts: Vec<String> = (0..200).map(|i| format!("E{i}")).collect();
    let first = DrawInput {
        applications: &apps,
        experts: &experts,
        per_application: 5,
        max_per_expert: 30,
        forbidden: &forbidden,
        fixed: &[],
        excluded: &[],
        seed: 1,
    };
    let pairs = draw(&first).expect("first draw").pairs;
    let (declined, kept): (Vec<_>, Vec<_>) =
        pairs.iter().enumerate().partition(|(i, _)| i % 10 == 0);
    let declined: Vec<(usize, usize)> = declined.into_iter().map(|p| *p.1).collect();
    let kept: Vec<(usize, usize)> = kept.into_iter().map(|p| *p.1).collect();
    let second = DrawInput {
        fixed: &kept,
        excluded: &declined,
        seed: 2,
        ..first
    };
    let (w, c, r) = timed(|| draw(&second));
    println!(
        "补抽: {} kept, {} declined → {}: {:.2} ms wall, {:.2} ms CPU",
        kept.len(),
        declined.len(),
        if r.is_ok() { "ok" } else { "uncoverable" },
        w * 1e3,
        c * 1e3
    );
}

fn main() {
    run(&Case {
        name: "program scale",
        apps: 1000,
        experts: 200,
        k: 5,
        m: 30,
    });
    run(&Case {
        name: "tight (need 5000 of 5200)",
        apps: 1000,
        experts: 200,
        k: 5,
        m: 26,
    });
    run(&Case {
        name: "over capacity (need 5000 of 4800)",
        apps: 1000,
        experts: 200,
        k: 5,
        m: 24,
    });
    redraw();
    run(&Case {
        name: "3× larger",
        apps: 3000,
        experts: 500,
        k: 5,
        m: 35,
    });
}
