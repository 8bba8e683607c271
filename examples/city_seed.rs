//! Prepares a city's work for `scripts/bench-city`: in the current batch,
//! three quarters of the city's submitted applications pass screening and
//! are scored by two reviewers (the demo bureau account and a second one),
//! so the ranking page has a full table. Prints the filter values the
//! benchmark uses (a county, an industry and a name fragment, URL-encoded).
//!
//! Usage: city_seed --data DIR [--database-url URL] [--city 420100]

use std::path::PathBuf;

use shenbao::clock::Clock;
use shenbao::domain::lifecycle::State;
use shenbao::domain::role::Role;
use shenbao::domain::scoring::{Scores, province_default};
use shenbao::params;
use shenbao::store::applications::{self, push_transition};
use shenbao::store::audit::Actor;
use shenbao::store::scoring::{self, NewScore};
use shenbao::store::screening::{self, Check, Decision, Screening};
use shenbao::store::users::{self, NewUser};
use shenbao::store::{Batch, Db, batches, new_id, recommendations};
use shenbao::web::shared::error::urlencode;

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

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let data = PathBuf::from(arg("--data").ok_or_else(|| anyhow::anyhow!("--data DIR"))?);
    let city = arg("--city").unwrap_or_else(|| "420100".into());
    let db = Db::open(arg("--database-url").as_deref(), &data).await?;
    let clock = Clock::system();
    let now = clock.now();
    let batch = batches::current(&db, now)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no batch: run `shenbao demo` first"))?;
    let first = users::by_username(&db, "wuhan")
        .await?
        .ok_or_else(|| anyhow::anyhow!("no demo city account: run `shenbao demo` first"))?;
    let second = match users::by_username(&db, "wuhan-ps2").await? {
        Some(u) => u,
        None => {
            let hash = shenbao::auth::hash_password(new_id()).await;
            let mut b = Batch::new();
            users::insert(
                &mut b,
                &NewUser {
                    id: &new_id(),
                    username: "wuhan-ps2",
                    role: Role::City,
                    display_name: "武汉市经信局评审人二",
                    city_code: Some(&city),
                    password_hash: &hash,
                    must_change_password: false,
                    is_demo: true,
                },
                now,
            );
            db.write(b).await?;
            users::by_username(&db, "wuhan-ps2")
                .await?
                .ok_or_else(|| anyhow::anyhow!("second reviewer"))?
        }
    };
    let rows = db
        .query(
            "SELECT id FROM applications WHERE batch_id = $1 AND city_code = $2 AND state = 'submitted' \
             ORDER BY submitted_at, id",
            params![batch.id.as_str(), city.as_str()],
        )
        .await?;
    let sheet = province_default();
    let items = screening::active_items(&db).await?;
    let actor = Actor {
        id: Some(first.id.clone()),
        name: first.username.clone(),
        role: Some("city"),
        ip: "bench".into(),
    };
    let mut b = Batch::new();
    scoring::pin_sheet(&mut b, &batch.id, &city, &sheet, &first.username, now);
    recommendations::guard(&mut b, &batch.id, &city, now);
    let mut passed = 0;
    for (i, r) in rows.iter().enumerate() {
        if i % 4 == 3 {
            continue;
        }
        let Some(app) = applications::by_id(&db, &r.text(0)).await? else {
            continue;
        };
        screening::record(
            &mut b,
            &Screening {
                id: new_id(),
                application_id: app.id.clone(),
                version: app.submitted_version.unwrap_or(0),
                decision: Decision::Passed,
                checks: items
                    .iter()
                    .map(|c| Check {
                        key: c.key.clone(),
                        label: c.label.clone(),
                        ok: true,
                    })
                    .collect(),
                reason: String::new(),
                resubmit_deadline: None,
                created_at: now,
                created_by: first.username.clone(),
            },
        );
        push_transition(
            &mut b,
            &app,
            State::CityPassed,
            Role::City,
            &actor,
            "形式审查通过（基准测试数据）",
            now,
        )
        .map_err(|e| anyhow::anyhow!("{e}"))?;
        for (k, reviewer) in [&first, &second].into_iter().enumerate() {
            let scores: Scores = sheet
                .criteria
                .iter()
                .enumerate()
                .map(|(j, c)| {
                    // Scores spread as reviewers' are: 40–100% of the maximum, in halves.
                    let r = mix((i * 31 + j * 7 + k * 3) as u64) % 1000;
                    let v = c.max * (0.4 + 0.6 * r as f64 / 999.0);
                    (c.key.clone(), (v * 2.0).round() / 2.0)
                })
                .collect();
            scoring::save_score(
                &mut b,
                &NewScore {
                    application_id: &app.id,
                    batch_id: &batch.id,
                    city_code: &city,
                    reviewer_id: &reviewer.id,
                    reviewer_name: &reviewer.display_name,
                    scores: &scores,
                    comment: "基准测试评分",
                },
                0,
                now,
            );
        }
        passed += 1;
        if b.0.len() > 1000 {
            db.write(std::mem::take(&mut b)).await?;
        }
    }
    db.write(b).await?;

    let county = db
        .query(
            "SELECT county_code, COUNT(*) AS n FROM applications WHERE batch_id = $1 AND city_code = $2 \
             GROUP BY county_code ORDER BY n DESC, county_code LIMIT 1",
            params![batch.id.as_str(), city.as_str()],
        )
        .await?;
    let industry = db
        .query(
            "SELECT industry, COUNT(*) AS n FROM applications WHERE batch_id = $1 AND city_code = $2 \
             GROUP BY industry ORDER BY n DESC, industry LIMIT 1",
            params![batch.id.as_str(), city.as_str()],
        )
        .await?;
    let name = db
        .query(
            "SELECT enterprise_name FROM applications WHERE batch_id = $1 AND city_code = $2 ORDER BY id LIMIT 1",
            params![batch.id.as_str(), city.as_str()],
        )
        .await?;
    // Two characters after the city's short name: the sample's brand.
    let q: String = name
        .first()
        .map(|r| r.text(0).chars().skip(2).take(2).collect())
        .unwrap_or_default();
    println!("batch={}", urlencode(&batch.id));
    println!("passed={passed}");
    println!("total={}", rows.len());
    println!(
        "county={}",
        county.first().map(|r| r.text(0)).unwrap_or_default()
    );
    println!(
        "industry={}",
        urlencode(&industry.first().map(|r| r.text(0)).unwrap_or_default())
    );
    println!("q={}", urlencode(&q));
    Ok(())
}
