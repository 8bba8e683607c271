//! Documents benchmark (release build: `cargo bench --bench docs`).
//!
//! 1. 1,000 申报书 .docx from stored-snapshot-like JSON text (parse, build,
//!    pack), on one thread and on two.
//! 2. The province package for 100 and for 567 applications over the 17
//!    cities, into a temporary file, each with a stamped scan; time and peak
//!    resident memory (VmHWM, reset before each run) to show that memory does
//!    not grow with the number of applications.
//! 3. A baseline measured in the same run: serializing the same 567 answers
//!    to JSON with serde_json (what the Django peer's CSV/JSON export does).
//!
//! Targets (issue 4): at least 200 申报书 per second on 2 cores; the
//! 567-application package in under 3 s.

use std::hint::black_box;
use std::io::{BufWriter, Cursor, Read};
use std::time::{Duration, Instant};

use jiff::civil::Date;
use serde_json::{Value, json};
use shenbao::docs::{
    AppDoc, CityPackage, PackageEntry, RecommendationRow, application_docx, write_package,
};
use shenbao::domain::form::{ProgramDef, sample_answers_on};
use shenbao::domain::region;

const DOCS: usize = 1000;
const PACKAGE: usize = 567;
/// Distinct sample applications; others are copies under their own ids.
const TEMPLATES: usize = 40;
/// Size of each stamped scan in the package.
const SCAN_BYTES: usize = 300 * 1024;

fn snapshot_text(i: usize) -> String {
    let answers = sample_answers_on(i as u64 + 1, Date::constant(2021, 9, 10));
    json!({
        "application": format!("0190{i:028x}"),
        "enterprise": {"name": answers["company_name"], "credit_code": answers["credit_code"]},
        "content": answers,
        "attachments": [
            {"slot": "business_license", "file_name": "营业执照.pdf", "sha256": "ab".repeat(32), "size": 123_456},
            {"slot": "audit_reports.2019", "file_name": "2019年度审计报告.pdf", "sha256": "cd".repeat(32), "size": 2_345_678},
            {"slot": "audit_reports.2020", "file_name": "2020年度审计报告.pdf", "sha256": "ef".repeat(32), "size": 3_456_789},
            {"slot": "cloud_proof", "file_name": "上云合同.pdf", "sha256": "12".repeat(32), "size": 456_789},
            {"slot": "stamped_scan", "file_name": "盖章扫描件.pdf", "sha256": "34".repeat(32), "size": SCAN_BYTES},
        ],
    })
    .to_string()
}

/// The stored text of application `i`: a template under its own id.
fn stored(templates: &[String], i: usize) -> String {
    let t = &templates[i % templates.len()];
    let from = format!("0190{:028x}", i % templates.len());
    t.replacen(&from, &format!("0190{i:028x}"), 1)
}

fn load(text: &str) -> AppDoc {
    let v: Value = serde_json::from_str(text).expect("snapshot JSON");
    AppDoc::from_snapshot(&v, 2)
}

fn vm_hwm_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// CPU time used by this process so far (user + system), from
/// `/proc/self/stat` in clock ticks of 10 ms: unlike wall time it does not
/// depend on what else the machine runs.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are 14 and 15.
    let rest = stat.rsplit_once(')').map_or("", |r| r.1);
    let f: Vec<u64> = rest
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0))
        .collect();
    if f.len() < 13 {
        return 0.0;
    }
    (f[11] + f[12]) as f64 / 100.0
}

/// Resets the peak-RSS counter (Linux: `echo 5 > /proc/self/clear_refs`).
fn reset_hwm() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// Documents per second (wall clock), CPU milliseconds per document, bytes per document.
fn docs_per_second(def: &ProgramDef, templates: &[String], threads: usize) -> (f64, f64, usize) {
    let started = Instant::now();
    let cpu = cpu_seconds();
    let bytes: usize = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                s.spawn(move || {
                    let mut total = 0;
                    for i in (t..DOCS).step_by(threads) {
                        let doc = load(&stored(templates, i));
                        total += black_box(application_docx(def, &doc)).len();
                    }
                    total
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    });
    let cpu_ms = (cpu_seconds() - cpu) * 1e3 / DOCS as f64;
    (
        DOCS as f64 / started.elapsed().as_secs_f64(),
        cpu_ms,
        bytes / DOCS,
    )
}

/// The package of `n` applications spread over the 17 cities, into a temp file.
fn package(def: &ProgramDef, templates: &[String], n: usize) -> (Duration, u64) {
    let cities = region::cities();
    let file = tempfile::tempfile().expect("temp file");
    let started = Instant::now();
    let parts = cities.iter().enumerate().map(|(c, city)| {
        // City c holds applications c, c + 17, c + 34, … (loaded when its turn comes).
        let entries = (c..n)
            .step_by(cities.len())
            .enumerate()
            .map(|(rank, i)| {
                let mut doc = load(&stored(templates, i));
                doc.answers["region"]["city"] = city.code.into();
                let row = RecommendationRow::from_answers(
                    def,
                    &doc.answers,
                    "成效显著，示范带动作用明显。",
                    rank as u32 + 1,
                );
                PackageEntry {
                    row,
                    doc,
                    scan: Some(Box::new(|| {
                        let pdf = Cursor::new(b"%PDF-1.4\n")
                            .chain(std::io::repeat(b'x').take(SCAN_BYTES as u64 - 9));
                        Ok(Box::new(pdf) as Box<dyn Read>)
                    })),
                }
            })
            .collect();
        Ok(CityPackage {
            code: city.code.into(),
            name: city.name.into(),
            recommender: format!("{}经济和信息化局", city.name),
            date: "2021年9月18日".into(),
            entries,
        })
    });
    let out = write_package(BufWriter::new(file), def, n, parts, |_, _| {}).expect("package");
    let size = out
        .into_inner()
        .map_err(|e| e.into_error())
        .unwrap()
        .metadata()
        .unwrap()
        .len();
    (started.elapsed(), size)
}

fn main() {
    let def = ProgramDef::builtin();
    // `cargo test --all-targets` runs this binary too, without `--bench`:
    // then only prove that it works, quickly.
    if !std::env::args().any(|a| a == "--bench") {
        let doc = load(&stored(&[snapshot_text(0)], 0));
        assert!(application_docx(def, &doc).starts_with(b"PK"));
        println!("documents benchmark: smoke run only (use `cargo bench --bench docs`)");
        return;
    }
    let templates: Vec<String> = (0..TEMPLATES).map(snapshot_text).collect();
    let avg_snapshot = templates.iter().map(String::len).sum::<usize>() / TEMPLATES;
    println!(
        "documents benchmark: {} cores, snapshots of {} KB JSON on average",
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        avg_snapshot / 1024
    );

    // Warm-up (fonts, allocator, page cache).
    let _ = docs_per_second(def, &templates, 1);

    let (one, cpu_ms, size) = docs_per_second(def, &templates, 1);
    let (two, _, _) = docs_per_second(def, &templates, 2);
    println!(
        "申报书 .docx: {one:.0} docs/s on 1 thread, {two:.0} docs/s on 2 threads \
         ({DOCS} docs, {} KB each; target ≥ 200/s on 2 cores)",
        size / 1024
    );
    println!(
        "  CPU time {cpu_ms:.2} ms per document: {:.0} docs/s per core when the machine is otherwise idle",
        1e3 / cpu_ms
    );

    // Baseline: the same 567 answers serialized to JSON.
    let answers: Vec<Value> = (0..PACKAGE)
        .map(|i| load(&stored(&templates, i)).answers)
        .collect();
    let started = Instant::now();
    let json_bytes: usize = answers
        .iter()
        .map(|a| black_box(serde_json::to_string(a).unwrap()).len())
        .sum();
    let baseline = started.elapsed();
    drop(answers);
    println!(
        "baseline: {PACKAGE} answers to JSON with serde_json in {:.1} ms ({} MB)",
        baseline.as_secs_f64() * 1e3,
        json_bytes >> 20
    );

    let mut results = Vec::new();
    for n in [100, PACKAGE] {
        let resettable = reset_hwm();
        let cpu = cpu_seconds();
        let (time, size) = package(def, &templates, n);
        let cpu = cpu_seconds() - cpu;
        let hwm = vm_hwm_kb();
        println!(
            "package of {n:>3} applications (17 cities, {} KB scan each): {:.2} s ({cpu:.2} s CPU), {} MB zip, peak RSS {} MB{}",
            SCAN_BYTES / 1024,
            time.as_secs_f64(),
            size >> 20,
            hwm / 1024,
            if resettable {
                ""
            } else {
                " (peak not resettable: cumulative)"
            }
        );
        results.push((n, time, hwm));
    }
    let (_, t567, m567) = results[1];
    let (_, _, m100) = results[0];
    println!(
        "567 package: {:.2} s (target < 3 s), {:.0}× the serde_json baseline; peak RSS 567 vs 100: {:.2}×",
        t567.as_secs_f64(),
        t567.as_secs_f64() / baseline.as_secs_f64(),
        m567 as f64 / m100.max(1) as f64
    );
}
