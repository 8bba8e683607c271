//! The CPU of one draft save before it reaches the database (release build:
//! `cargo bench --bench save`): the deadline rush's draft read from its body,
//! read by the form definition and written as the stored JSON. Twice: as
//! autosave sends it (JSON pairs, ~7 KB) and as the plain save button posts
//! it without JavaScript (urlencoded, ~13 KB).
//!
//! Baselines, measured in the same run: the common way, `serde_json` (or
//! `form_urlencoded`) into owned pairs, a `serde_json::Value` built from
//! them and printed. A ratio is ours per save over its baseline's (lower is
//! better).

use std::hint::black_box;
use std::time::{Duration, Instant};

use serde_json::{Map, Value};
use shenbao::domain::form::ProgramDef;
use shenbao::web::form_io::{Plan, answers, parse_form, parse_json_pairs, sample_draft_pairs};

const ROUNDS: u32 = 15;
const BATCH: u32 = 500;

/// Time per call of each job, the best of `ROUNDS` batches; the jobs take
/// turns, so a change in the machine's speed touches them alike.
fn best(jobs: &mut [&mut dyn FnMut()]) -> Vec<Duration> {
    let mut out = vec![Duration::MAX; jobs.len()];
    for _ in 0..ROUNDS {
        for (job, best) in jobs.iter_mut().zip(out.iter_mut()) {
            let t = Instant::now();
            for _ in 0..BATCH {
                job();
            }
            *best = (*best).min(t.elapsed() / BATCH);
        }
    }
    out
}

/// The common way: owned pairs, a `Value`, printed.
fn naive_json(pairs: Vec<(String, String)>) -> String {
    let map: Map<String, Value> = pairs
        .into_iter()
        .map(|(k, v)| (k, Value::String(v)))
        .collect();
    serde_json::to_string(&Value::Object(map)).expect("json")
}

fn main() {
    let def = ProgramDef::builtin();
    let plan = Plan::new(&def.form);
    let pairs = sample_draft_pairs();
    let json = serde_json::to_vec(&pairs).expect("encode");
    let json = json.as_slice();
    let form = serde_urlencoded::to_string(&pairs).expect("encode");
    let form = form.as_bytes();
    let stored = answers(&plan, parse_form(form).pairs()).to_json();
    let from_json = parse_json_pairs(json).expect("JSON pairs");
    assert_eq!(answers(&plan, from_json.pairs()).to_json(), stored);
    // `cargo test --all-targets` runs this binary too, without `--bench`:
    // then only prove that the measured paths work, quickly.
    if !std::env::args().any(|a| a == "--bench") {
        let back: Value = serde_json::from_str(&stored).expect("stored JSON");
        assert!(
            back["overview"]
                .as_str()
                .is_some_and(|t| t.chars().count() == 1100)
        );
        println!("save benchmark: smoke run only (use `cargo bench --bench save`)");
        return;
    }
    println!(
        "autosave body (JSON pairs) {} bytes, form body (urlencoded) {} bytes, stored draft {} bytes",
        json.len(),
        form.len(),
        stored.len()
    );
    let mut json_read = || {
        black_box(parse_json_pairs(black_box(json)));
    };
    let mut json_ours = || {
        let f = parse_json_pairs(black_box(json)).expect("pairs");
        black_box(answers(&plan, f.pairs()).to_json());
    };
    let mut json_base = || {
        let pairs: Vec<(String, String)> = serde_json::from_slice(black_box(json)).expect("pairs");
        black_box(naive_json(pairs));
    };
    let mut form_read = || {
        black_box(parse_form(black_box(form)));
    };
    let mut form_ours = || {
        let f = parse_form(black_box(form));
        black_box(answers(&plan, f.pairs()).to_json());
    };
    let mut form_base = || {
        let pairs: Vec<(String, String)> = form_urlencoded::parse(black_box(form))
            .into_owned()
            .collect();
        black_box(naive_json(pairs));
    };
    let t = best(&mut [
        &mut json_read,
        &mut json_ours,
        &mut json_base,
        &mut form_read,
        &mut form_ours,
        &mut form_base,
    ]);
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    for (name, [read, ours, base]) in [
        ("autosave, JSON pairs", [t[0], t[1], t[2]]),
        ("plain save, urlencoded", [t[3], t[4], t[5]]),
    ] {
        println!(
            "{name:24} read {:6.2} µs (ratio {:.3}); read+answers+json {:6.2} µs; baseline {:6.2} µs; ratio {:.2}",
            us(read),
            us(read) / us(base),
            us(ours),
            us(base),
            us(ours) / us(base)
        );
    }
}
