//! Prepares the province's expert review for `scripts/bench-review`, on a
//! store that `shenbao demo --applications 5000` filled: in the current
//! batch, 1,000 of the submitted applications become `recommended`, a pool
//! of 200 experts is created, the review settings (k = 5, m = 30) are saved
//! and the real draw (`services::review::draw`) runs, timed (wall and CPU of
//! this process, all threads); then every expert signs the pledge and about
//! half of the assignments are scored and submitted, so that the ranking and
//! the province's list have scores to show.
//!
//! BENCH SET-UP SHORTCUTS (not the way the platform gets there): the city's
//! screening, scoring and recommendation submission are skipped — the
//! applications are moved Submitted → CityPassed → Recommended with the
//! store's `push_transition` and put on their city's list with
//! `recommendations::add_item`; the experts are inserted directly (users
//! with the `province` account's password hash, no temporary password);
//! the submitted scores are written with the store's `review::save_score`
//! in large batches, without the service's checks or audit entries.
//!
//! Prints key=value lines: batch (URL-encoded), recommended, experts,
//! pairs, draw_wall_ms, draw_cpu_ms, draw_solver_cpu_ms (the min-cost-flow
//! alone, re-run from the stored inputs), submitted, assigned, q (a name
//! fragment, URL-encoded), and one `expert=USERNAME` line per expert the
//! load uses (`--load-experts`, default 32), each holding assignments still
//! open for scoring.
//!
//! Usage: review_seed --data DIR [--database-url URL] [--load-experts 32] [--avoid-units 2]
//! (`--avoid-units`: 回避单位 each expert declares, 0–2; each is compared
//! with every applicant's name and providers during the draw)

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use shenbao::clock::Clock;
use shenbao::domain::form::ProgramDef;
use shenbao::domain::lifecycle::State;
use shenbao::domain::region;
use shenbao::domain::role::Role;
use shenbao::domain::scoring::{Scores, hundredths};
use shenbao::services::review::{self as svc, DrawInputs};
use shenbao::store::applications::{self, push_transition};
use shenbao::store::audit::Actor;
use shenbao::store::review::{self as rs, Assignment, Expert, Status};
use shenbao::store::users::{self, NewUser};
use shenbao::store::{Batch, Db, batches, new_id, recommendations};
use shenbao::web::shared::error::urlencode;

/// Applications made `recommended`, and the size of the pool.
const RECOMMENDED: usize = 1000;
const EXPERTS: usize = 200;

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

/// A well-mixed pseudo-random number (splitmix64), for repeatable scores.
fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// CPU time used by this process so far (user + system, every thread), from
/// `/proc/self/stat` in clock ticks of 10 ms, as `benches/docs.rs` reads it.
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

const SURNAMES: [&str; 12] = [
    "王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙",
];
const GIVEN: [&str; 10] = [
    "建国", "志强", "晓红", "丽华", "文博", "海涛", "雪梅", "俊杰", "明轩", "思远",
];
const UNITS: [&str; 20] = [
    "武汉大学",
    "华中科技大学",
    "武汉理工大学",
    "华中师范大学",
    "中南财经政法大学",
    "湖北大学",
    "湖北工业大学",
    "武汉科技大学",
    "三峡大学",
    "长江大学",
    "湖北经济学院",
    "江汉大学",
    "湖北省电子信息产品质量监督检验院",
    "湖北省信息化研究院",
    "中国信息通信研究院湖北分院",
    "湖北省标准化与质量研究院",
    "武汉邮电科学研究院",
    "湖北省软件行业协会",
    "湖北省工业互联网研究院",
    "湖北省科技信息研究院",
];
const DEPARTMENTS: [&str; 10] = [
    "计算机学院",
    "信息管理学院",
    "经济与管理学院",
    "自动化学院",
    "软件学院",
    "网络安全研究所",
    "数字经济研究中心",
    "智能制造研究所",
    "大数据研究中心",
    "工业工程系",
];
const TITLES: [&str; 5] = ["教授", "研究员", "高级工程师", "正高级工程师", "副教授"];
const FIELDS: [&str; 6] = [
    "云计算",
    "工业互联网",
    "大数据",
    "智能制造",
    "信息化",
    "网络安全",
];

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let data = PathBuf::from(arg("--data").ok_or_else(|| anyhow::anyhow!("--data DIR"))?);
    let load_experts: usize = arg("--load-experts").map_or(Ok(32), |v| v.parse())?;
    let avoid_units: usize = arg("--avoid-units").map_or(Ok(2), |v| v.parse())?;
    let db = Db::open(arg("--database-url").as_deref(), &data).await?;
    let program = ProgramDef::builtin();
    let clock = Clock::system();
    let now = clock.now();
    let batch = batches::current(&db, now)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no batch: run `shenbao demo` first"))?;
    let province = users::by_username(&db, "province")
        .await?
        .ok_or_else(|| anyhow::anyhow!("no demo province account: run `shenbao demo` first"))?;
    anyhow::ensure!(
        rs::experts(&db).await?.is_empty(),
        "the expert pool is not empty: review_seed runs once, on a fresh `shenbao demo --applications 5000` store"
    );
    let province_actor = Actor {
        id: Some(province.id.clone()),
        name: province.username.clone(),
        role: Some("province"),
        ip: "bench".into(),
    };

    // ── 1,000 recommended applications (bench set-up, see the module comment).
    let submitted: Vec<_> = applications::submitted_in_batch(&db, &batch.id)
        .await?
        .into_iter()
        .filter(|a| a.state == State::Submitted)
        .collect();
    anyhow::ensure!(
        submitted.len() >= RECOMMENDED,
        "only {} submitted applications: run `shenbao demo --applications 5000` first",
        submitted.len()
    );
    // Every n-th in the store's order (by city, then name): each city
    // recommends in proportion to what it received.
    let step = submitted.len() / RECOMMENDED;
    let chosen: Vec<_> = submitted
        .iter()
        .step_by(step)
        .take(RECOMMENDED)
        .cloned()
        .collect();
    let mut rank_in_city: BTreeMap<String, i64> = BTreeMap::new();
    let mut b = Batch::new();
    for app in &chosen {
        let city_actor = Actor {
            id: None,
            name: format!(
                "{}经信局（基准测试）",
                region::city(&app.city_code).map_or("", |c| c.name)
            ),
            role: Some("city"),
            ip: "bench".into(),
        };
        let rank = rank_in_city.entry(app.city_code.clone()).or_insert(0);
        *rank += 1;
        push_transition(
            &mut b,
            app,
            State::CityPassed,
            Role::City,
            &city_actor,
            "形式审查通过（基准测试数据）",
            now,
        )
        .map_err(|e| anyhow::anyhow!("{e}"))?;
        let passed = applications::Application {
            state: State::CityPassed,
            ..app.clone()
        };
        push_transition(
            &mut b,
            &passed,
            State::Recommended,
            Role::City,
            &city_actor,
            "列入市州推荐名单（基准测试数据）",
            now,
        )
        .map_err(|e| anyhow::anyhow!("{e}"))?;
        recommendations::add_item(
            &mut b,
            &app.id,
            &batch.id,
            &app.city_code,
            *rank,
            None,
            &city_actor.name,
            now,
        );
        if b.0.len() > 2000 {
            db.write(std::mem::take(&mut b)).await?;
        }
    }
    db.write(b).await?;

    // ── The pool: 200 experts over the 17 cities, distinct phones and units.
    let cities = region::cities();
    let mut b = Batch::new();
    let mut pool = Vec::new();
    for i in 0..EXPERTS {
        let user_id = new_id();
        let username = format!("rv-expert{i:03}");
        let name = format!(
            "{}{}",
            SURNAMES[i % SURNAMES.len()],
            GIVEN[(i / SURNAMES.len()) % GIVEN.len()]
        );
        users::insert(
            &mut b,
            &NewUser {
                id: &user_id,
                username: &username,
                role: Role::Expert,
                display_name: &name,
                city_code: None,
                password_hash: &province.password_hash,
                must_change_password: false,
                is_demo: true,
            },
            now,
        );
        let e = Expert {
            id: new_id(),
            user_id,
            username,
            name,
            unit: format!(
                "{}{}",
                UNITS[i % UNITS.len()],
                DEPARTMENTS[(i / UNITS.len()) % DEPARTMENTS.len()]
            ),
            title: TITLES[i % TITLES.len()].into(),
            fields: vec![
                FIELDS[i % FIELDS.len()].into(),
                FIELDS[(i + 2) % FIELDS.len()].into(),
            ],
            city_code: cities[i % cities.len()].code.into(),
            phone: format!("139{:08}", 10_000_000 + i),
            email: format!("rv-expert{i:03}@example.com"),
            // Former employers or clients an expert declares (回避单位): each
            // is compared with every applicant's name and providers.
            avoid_units: [
                format!("湖北{}信息技术有限公司", GIVEN[i % GIVEN.len()]),
                format!("武汉{}咨询服务有限公司", SURNAMES[i % SURNAMES.len()]),
            ]
            .into_iter()
            .take(avoid_units)
            .collect(),
            active: true,
        };
        rs::insert_expert(&mut b, &e, now);
        pool.push(e);
    }
    db.write(b).await?;

    // ── Settings k = 5, m = 30 through the service.
    let mut s = svc::settings(&db, program, &batch.id)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    s.per_application = 5;
    s.max_per_expert = 30;
    svc::save_settings(&db, &province_actor, s, now)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let s = svc::settings(&db, program, &batch.id)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;

    // ── The real draw, timed.
    let cpu0 = cpu_seconds();
    let t0 = Instant::now();
    let done = svc::draw(&db, program, &province_actor, &batch, now)
        .await
        .map_err(|e| anyhow::anyhow!("draw failed: {e:?}"))?;
    let draw_wall = t0.elapsed().as_secs_f64();
    let draw_cpu = cpu_seconds() - cpu0;
    // The solver alone, from the inputs the draw stored (as `replay` does).
    let record = rs::draw_by_id(&db, &done.draw_id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("the draw was not stored"))?;
    let inputs: DrawInputs = serde_json::from_str(&record.inputs)?;
    let cpu1 = cpu_seconds();
    let again = inputs
        .run(done.seed)
        .map_err(|_| anyhow::anyhow!("replay failed"))?;
    let solver_cpu = cpu_seconds() - cpu1;
    anyhow::ensure!(again == inputs.result, "replay gave other pairs");

    // ── Every expert signs the pledge (through the service, concurrently).
    let mut pledges = tokio::task::JoinSet::new();
    for e in pool.clone() {
        let (db, batch_id) = (db.clone(), batch.id.clone());
        pledges.spawn(async move {
            let who = Actor {
                id: Some(e.user_id.clone()),
                name: e.username.clone(),
                role: Some("expert"),
                ip: "bench".into(),
            };
            svc::accept_pledge(&db, &who, &e, &batch_id, now)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))
        });
    }
    while let Some(r) = pledges.join_next().await {
        r??;
    }

    // ── About half the assignments scored and submitted: each expert's
    // 1st, 3rd, 5th… (by application), so every expert keeps open ones.
    let mut by_expert: BTreeMap<String, Vec<Assignment>> = BTreeMap::new();
    for a in rs::for_batch(&db, &batch.id).await? {
        by_expert.entry(a.expert_id.clone()).or_default().push(a);
    }
    let (mut submitted_n, mut assigned_n) = (0, 0);
    let mut open_by_expert: BTreeMap<String, usize> = BTreeMap::new();
    let mut b = Batch::new();
    for (e, list) in &by_expert {
        for (j, a) in list.iter().enumerate() {
            if a.status != Status::Assigned {
                continue;
            }
            if j % 2 == 1 {
                assigned_n += 1;
                *open_by_expert.entry(e.clone()).or_default() += 1;
                continue;
            }
            let scores: Scores = s
                .criteria
                .criteria
                .iter()
                .enumerate()
                .map(|(k, c)| {
                    // 40–100% of each maximum, in halves.
                    let r = mix((submitted_n * 31 + k * 7) as u64) % 1000;
                    let v = c.max * (0.4 + 0.6 * r as f64 / 999.0);
                    (c.key.clone(), (v * 2.0).round() / 2.0)
                })
                .collect();
            let total = s.criteria.total(&scores);
            rs::save_score(
                &mut b,
                a,
                &scores,
                "企业上云投入持续，应用场景覆盖研发、生产和管理，成效有数据支撑。（基准测试评分）",
                hundredths(total),
                true,
                s.version,
                now,
            );
            submitted_n += 1;
            if b.0.len() >= 500 {
                db.write(std::mem::take(&mut b)).await?;
            }
        }
    }
    db.write(b).await?;

    // A name fragment for the list's search: two characters after the
    // city's short name of a recommended application (the sample's brand).
    let q: String = chosen
        .first()
        .map(|a| a.enterprise_name.chars().skip(2).take(2).collect())
        .unwrap_or_default();
    println!("batch={}", urlencode(&batch.id));
    println!("recommended={}", chosen.len());
    println!("experts={}", pool.len());
    println!("avoid_units={avoid_units}");
    println!("pairs={}", done.new_pairs);
    println!("draw_wall_ms={:.0}", draw_wall * 1000.0);
    println!("draw_cpu_ms={:.0}", draw_cpu * 1000.0);
    println!("draw_solver_cpu_ms={:.0}", solver_cpu * 1000.0);
    println!("submitted={submitted_n}");
    println!("assigned={assigned_n}");
    println!("q={}", urlencode(&q));
    let mut used = 0;
    for e in &pool {
        if used == load_experts {
            break;
        }
        if open_by_expert.get(&e.id).copied().unwrap_or(0) > 0 {
            println!("expert={}", e.username);
            used += 1;
        }
    }
    anyhow::ensure!(
        used == load_experts,
        "only {used} experts hold open assignments"
    );
    Ok(())
}
