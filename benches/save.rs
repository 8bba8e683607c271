//! The CPU of one draft save before it reaches the database (release build:
//! `cargo bench --bench save`): the deadline rush's 13 KB form body decoded,
//! read by the form definition and written as the stored JSON.
//!
//! Baseline, measured in the same run: the common way, `form_urlencoded`
//! into owned pairs, a `serde_json::Value` built from them and printed.
//! The ratio is ours per save over the baseline's (lower is better).

use std::hint::black_box;
use std::time::{Duration, Instant};

use serde_json::{Map, Value};
use shenbao::domain::form::ProgramDef;
use shenbao::web::form_io::{answers, parse_form, sample_draft_pairs};

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

fn main() {
    let def = ProgramDef::builtin();
    let body = serde_urlencoded::to_string(sample_draft_pairs()).expect("encode");
    let body = body.as_bytes();
    let stored = answers(&def.form, &parse_form(body).posted()).to_json();
    // `cargo test --all-targets` runs this binary too, without `--bench`:
    // then only prove that the measured path works, quickly.
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
        "form body {} bytes, stored draft {} bytes",
        body.len(),
        stored.len()
    );

    let mut decode = || {
        black_box(parse_form(black_box(body)));
    };
    let mut ours = || {
        let form = parse_form(black_box(body));
        let a = answers(&def.form, &form.posted());
        black_box(a.to_json());
    };
    let mut baseline = || {
        let pairs: Vec<(String, String)> = form_urlencoded::parse(black_box(body))
            .into_owned()
            .collect();
        let map: Map<String, Value> = pairs
            .into_iter()
            .map(|(k, v)| (k, Value::String(v)))
            .collect();
        black_box(serde_json::to_string(&Value::Object(map)).expect("json"));
    };
    let [decode, ours, baseline] = best(&mut [&mut decode, &mut ours, &mut baseline])[..] else {
        unreachable!()
    };
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    println!(
        "decode only         {:6.2} µs; ratio {:.3}",
        us(decode),
        us(decode) / us(baseline)
    );
    println!("decode+answers+json {:6.2} µs", us(ours));
    println!(
        "baseline (form_urlencoded + serde_json) {:6.2} µs; ratio {:.2}",
        us(baseline),
        us(ours) / us(baseline)
    );
}
