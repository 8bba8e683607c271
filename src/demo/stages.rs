//! Demo data in every stage, for `serve --demo`: sample applications in all
//! 17 cities; four cities have screened, recommended and submitted (with
//! stamped files), one has screened only; the demo experts form the pool and
//! were drawn; two of them have scored and submitted, one has saved a draft
//! score. Idempotent: nothing is done once the pool holds `expert1`.

use std::collections::BTreeMap;

use crate::clock::Clock;
use crate::domain::form::ProgramDef;
use crate::domain::lifecycle::State;
use crate::domain::role::Role;
use crate::files::FileStore;
use crate::services::review as svc;
use crate::store::applications::{self, Application};
use crate::store::audit::Actor;
use crate::store::recommendations::{self, File, FileKind};
use crate::store::review as rs;
use crate::store::screening::{self, Check, Decision, Screening};
use crate::store::{Batch, Db, batches, new_id, users};

/// Cities that have submitted their recommendation in the demo.
const RECOMMENDED: [&str; 4] = ["420200", "420500", "420600", "421000"];
/// A city that has screened but not yet submitted.
const SCREENED: &str = "420800";

/// The demo experts' pool entries: (user name, unit, title, fields, city).
const POOL: [(&str, &str, &str, &str, &str); 5] = [
    (
        "expert1",
        "湖北大学",
        "教授",
        "工业互联网、云计算",
        "420100",
    ),
    ("expert2", "华中师范大学", "教授", "大数据", "420900"),
    (
        "expert3",
        "湖北省电子信息产品质量监督检验院",
        "高级工程师",
        "信息化、网络安全",
        "421100",
    ),
    ("expert4", "武汉理工大学", "教授", "智能制造", "421200"),
    ("expert5", "湖北经济学院", "副教授", "数字经济", "421300"),
];

fn actor(name: &str, role: Role) -> Actor {
    Actor {
        id: None,
        name: name.into(),
        role: Some(role.as_str()),
        ip: "demo".into(),
    }
}

/// Every stage at once (see the module comment); false when already there.
pub async fn seed(
    db: &Db,
    files: &FileStore,
    clock: &Clock,
    program: &ProgramDef,
    password: &str,
) -> anyhow::Result<bool> {
    let Some(e1) = users::by_username(db, "expert1").await? else {
        return Ok(false);
    };
    if rs::expert_by_user(db, &e1.id).await?.is_some() {
        return Ok(false);
    }
    cities(db, files, clock, password, &RECOMMENDED, Some(SCREENED)).await?;
    review(db, clock, program).await?;
    Ok(true)
}

/// 51 sample applications over the cities (the sample data leaves 武汉 and
/// 十堰 without any at this size); the `recommended` cities have
/// screened, recommended all of theirs and submitted; `screened` has screened.
pub async fn cities(
    db: &Db,
    files: &FileStore,
    clock: &Clock,
    password: &str,
    recommended: &[&str],
    screened: Option<&str>,
) -> anyhow::Result<()> {
    super::seed_applications(
        db,
        files,
        clock,
        password,
        51,
        "demo-e",
        super::DemoState::Submitted,
    )
    .await?;
    let now = clock.now();
    let batch = batches::current(db, now)
        .await?
        .ok_or_else(|| anyhow::anyhow!("没有可用的申报批次"))?;
    let pdf = files
        .put_bytes("demosamplepdf", super::SAMPLE_PDF, 1 << 20)
        .await?;
    let checks: Vec<Check> = screening::active_items(db)
        .await?
        .into_iter()
        .map(|i| Check {
            key: i.key,
            label: i.label,
            ok: true,
        })
        .collect();
    let mut by_city: BTreeMap<String, Vec<Application>> = BTreeMap::new();
    for a in applications::submitted_in_batch(db, &batch.id).await? {
        if a.state == State::Submitted {
            by_city.entry(a.city_code.clone()).or_default().push(a);
        }
    }
    for city in recommended.iter().chain(screened.as_ref()) {
        let Some(apps) = by_city.get(*city) else {
            continue;
        };
        let name = crate::domain::region::city(city).map_or("", |c| c.name);
        let city_actor = actor(&format!("{name}经信局（演示）"), Role::City);
        let mut b = Batch::new();
        recommendations::guard(&mut b, &batch.id, city, now);
        for (i, app) in apps.iter().enumerate() {
            screening::record(
                &mut b,
                &Screening {
                    id: new_id(),
                    application_id: app.id.clone(),
                    version: app.submitted_version.unwrap_or(1),
                    decision: Decision::Passed,
                    checks: checks.clone(),
                    reason: String::new(),
                    resubmit_deadline: None,
                    created_at: now,
                    created_by: city_actor.name.clone(),
                },
            );
            applications::push_transition(
                &mut b,
                app,
                State::CityPassed,
                Role::City,
                &city_actor,
                "形式审查通过（演示）",
                now,
            )
            .map_err(|e| anyhow::anyhow!(e.to_string()))?;
            if Some(*city) != screened {
                recommendations::add_item(
                    &mut b,
                    &app.id,
                    &batch.id,
                    city,
                    i as i64 + 1,
                    None,
                    &city_actor.name,
                    now,
                );
                recommendations::update_item(
                    &mut b,
                    &app.id,
                    i as i64 + 1,
                    "近两年上云投入持续，应用深入生产管理环节，成效可量化，具有行业代表性。",
                    "经审核，申报材料真实、齐全，同意推荐。",
                    &city_actor.name,
                    now,
                );
            }
        }
        db.write(b).await?;
        if Some(*city) == screened {
            continue;
        }
        let mut b = Batch::new();
        for kind in FileKind::ALL {
            recommendations::put_file(
                &mut b,
                &File {
                    id: new_id(),
                    batch_id: batch.id.clone(),
                    city_code: city.to_string(),
                    kind,
                    file_name: format!("{}（演示）.pdf", kind.label()),
                    size: pdf.size as i64,
                    sha256: pdf.sha256.clone(),
                    storage_key: "demosamplepdf".into(),
                    created_at: now,
                    created_by: city_actor.name.clone(),
                },
                now,
            );
        }
        recommendations::submit(&mut b, &batch.id, city, 0, &city_actor.name, now);
        for app in apps {
            let passed = Application {
                state: State::CityPassed,
                ..app.clone()
            };
            applications::push_transition(
                &mut b,
                &passed,
                State::Recommended,
                Role::City,
                &city_actor,
                "列入市州推荐名单（演示）",
                now,
            )
            .map_err(|e| anyhow::anyhow!(e.to_string()))?;
        }
        db.write(b).await?;
    }

    Ok(())
}

/// The demo experts as the pool, a draw, and scores from three of them.
async fn review(db: &Db, clock: &Clock, program: &ProgramDef) -> anyhow::Result<()> {
    let now = clock.now();
    let batch = batches::current(db, now)
        .await?
        .ok_or_else(|| anyhow::anyhow!("没有可用的申报批次"))?;
    // The pool: the demo expert accounts, each with a unit and a city.
    let mut b = Batch::new();
    let mut pool = Vec::new();
    for (i, (username, unit, title, fields, city)) in POOL.iter().enumerate() {
        let Some(u) = users::by_username(db, username).await? else {
            continue;
        };
        let e = rs::Expert {
            id: new_id(),
            user_id: u.id.clone(),
            username: u.username.clone(),
            name: u.display_name.clone(),
            unit: unit.to_string(),
            title: title.to_string(),
            fields: fields.split('、').map(String::from).collect(),
            city_code: city.to_string(),
            phone: format!("1370000000{}", i + 1),
            email: format!("{username}@example.com"),
            avoid_units: Vec::new(),
            active: true,
        };
        rs::insert_expert(&mut b, &e, now);
        pool.push(e);
    }
    db.write(b).await?;
    let province = actor("省经信厅（演示）", Role::Province);
    let mut s = svc::settings(db, program, &batch.id).await?;
    s.per_application = 3;
    s.leader_expert_id = pool.first().map(|e| e.id.clone());
    svc::save_settings(db, &province, s.clone(), now)
        .await
        .map_err(|e| anyhow::anyhow!(e.to_string()))?;
    let s = svc::settings(db, program, &batch.id).await?;
    if let Err(e) = svc::draw(db, program, &province, &batch, now).await {
        anyhow::bail!("演示数据的专家抽取失败：{e:?}");
    }

    // Two experts have scored and submitted; a third has saved one draft score.
    for (n, e) in pool.iter().take(3).enumerate() {
        let who = actor(&e.name, Role::Expert);
        svc::accept_pledge(db, &who, e, &batch.id, now)
            .await
            .map_err(|e| anyhow::anyhow!(e.to_string()))?;
        for (j, a) in rs::for_expert(db, &e.id).await?.iter().enumerate() {
            let submit = n < 2;
            if !submit && j > 0 {
                break;
            }
            let posted: BTreeMap<String, String> = s
                .criteria
                .criteria
                .iter()
                .enumerate()
                .map(|(k, c)| {
                    // Between 60% and 95% of each maximum, varied by expert and application.
                    let share = 0.60 + ((n * 7 + j * 3 + k * 5) % 8) as f64 * 0.05;
                    (
                        format!("score.{}", c.key),
                        format!("{:.1}", (c.max * share * 2.0).round() / 2.0),
                    )
                })
                .collect();
            svc::save_score(
                db,
                &who,
                &s,
                a,
                &posted,
                "企业上云投入持续，应用场景覆盖研发、生产和管理，成效有数据支撑。",
                submit,
                a.version,
                now,
            )
            .await
            .map_err(|e| anyhow::anyhow!(e.to_string()))?;
        }
    }
    Ok(())
}
