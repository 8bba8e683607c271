//! The province's list of a batch (`web::province::applications`): its
//! filters, orders and pages over the demo's applications, each checked
//! against the database, and its kept pages following a write.

use axum::http::StatusCode;

use crate::helpers::*;

const BATCH: &str = "hubei-cloud-benchmark-2021";

/// The names in a list page's rows, in order, and its caption's total.
fn names_and_total(body: &str) -> (Vec<String>, i64) {
    let names = body
        .split("<tr><td><a href=\"/province/applications/")
        .skip(1)
        .map(|row| {
            let from = row.find("\">").expect("link end") + 2;
            let to = row.find("</a>").expect("name end");
            row[from..to].to_string()
        })
        .collect();
    let total = body
        .split("符合条件 ")
        .nth(1)
        .and_then(|t| t.split(' ').next())
        .and_then(|n| n.parse().ok())
        .expect("the caption's total");
    (names, total)
}

/// The submitted applications' names the database holds where `cond` says,
/// in the list's own order (city, name, id: sorted here, as the server
/// does, whatever the database's collation).
async fn names_where(app: &TestApp, cond: &'static str, p: &str) -> Vec<String> {
    let mut rows: Vec<(String, String, String)> = app
        .state
        .db
        .query(cond, vec![BATCH.into(), p.into()])
        .await
        .expect("query")
        .iter()
        .map(|r| (r.text(1), r.text(0), r.text(2)))
        .collect();
    rows.sort();
    rows.into_iter().map(|(_, name, _)| name).collect()
}

#[tokio::test]
async fn the_province_list_filters_orders_and_pages_as_the_database_says() {
    let app = spawn().await;
    app.seed_demo_stages().await;
    let mut p = app.login("province", DEMO_PASSWORD).await;
    let list = |q: String| format!("/province/applications?batch={BATCH}{q}");

    // Everything submitted, by city, then name: page 1 of 50 and the total.
    let all = names_where(
        &app,
        "SELECT enterprise_name, city_code, id FROM applications \
         WHERE batch_id = $1 AND state <> 'draft' AND $2 = ''",
        "",
    )
    .await;
    assert!(all.len() > 50, "the demo fills more than one page");
    let r = p.get(&list(String::new())).await;
    assert_eq!(r.status, StatusCode::OK);
    let (names, total) = names_and_total(&r.body);
    assert_eq!(total as usize, all.len());
    assert_eq!(names, all[..50].to_vec());
    let (names, _) = names_and_total(&p.get(&list("&page=2".into())).await.body);
    assert_eq!(names, all[50..].to_vec(), "page 2 holds the rest");

    // One city.
    let wuhan = names_where(
        &app,
        "SELECT enterprise_name, city_code, id FROM applications \
         WHERE batch_id = $1 AND state <> 'draft' AND city_code = $2",
        "420100",
    )
    .await;
    assert!(!wuhan.is_empty());
    let (names, total) = names_and_total(&p.get(&list("&city=420100".into())).await.body);
    assert_eq!((names, total as usize), (wuhan.clone(), wuhan.len()));

    // One industry (the most common one), and one no line has.
    let industry = app
        .state
        .db
        .query(
            "SELECT industry FROM applications WHERE batch_id = $1 AND state <> 'draft' AND industry <> '' \
             GROUP BY industry ORDER BY COUNT(*) DESC, industry LIMIT 1",
            vec![BATCH.into()],
        )
        .await
        .expect("industry")[0]
        .text(0);
    let mut of_industry = names_where(
        &app,
        "SELECT enterprise_name, city_code, id FROM applications \
         WHERE batch_id = $1 AND state <> 'draft' AND industry = $2",
        &industry,
    )
    .await;
    let q = format!(
        "&industry={}",
        shenbao::web::shared::error::urlencode(&industry)
    );
    let (names, total) = names_and_total(&p.get(&list(q.clone())).await.body);
    assert_eq!(
        (names, total as usize),
        (of_industry.clone(), of_industry.len())
    );
    let (names, total) = names_and_total(&p.get(&list("&industry=不存在的行业".into())).await.body);
    assert_eq!((names.len(), total), (0, 0));
    let (_, total) = names_and_total(&p.get(&list("&city=999900".into())).await.body);
    assert_eq!(total, 0, "a city not in Hubei matches nothing");

    // By name: the same lines in the order of their names.
    let (names, _) = names_and_total(&p.get(&list(format!("{q}&sort=name"))).await.body);
    of_industry.sort();
    assert_eq!(names, of_industry);

    // By submission, latest first (the demo submits some at one instant).
    let latest = names_where(
        &app,
        "SELECT enterprise_name, city_code, id FROM applications WHERE batch_id = $1 AND state <> 'draft' AND $2 = '' \
         AND submitted_at = (SELECT MAX(submitted_at) FROM applications WHERE batch_id = $1)",
        "",
    )
    .await;
    let (names, _) = names_and_total(&p.get(&list("&sort=submitted".into())).await.body);
    assert!(
        latest.contains(&names[0]),
        "{} not among {latest:?}",
        names[0]
    );
    let earliest = names_where(
        &app,
        "SELECT enterprise_name, city_code, id FROM applications WHERE batch_id = $1 AND state <> 'draft' AND $2 = '' \
         AND submitted_at = (SELECT MIN(submitted_at) FROM applications WHERE batch_id = $1 AND state <> 'draft')",
        "",
    )
    .await;
    assert!(
        !earliest.contains(&names[0]) || earliest == latest,
        "the earliest does not come first"
    );

    // The kept list follows a write: a Wuhan application renamed shows anew.
    let renamed = "改名后的测试企业有限公司";
    app.state
        .db
        .write(shenbao::store::Batch::one(
            "UPDATE applications SET enterprise_name = $2 WHERE batch_id = $1 AND city_code = '420100' \
             AND enterprise_name = $3",
            vec![BATCH.into(), renamed.into(), wuhan[0].as_str().into()],
        ))
        .await
        .expect("rename");
    let (names, _) = names_and_total(&p.get(&list("&city=420100".into())).await.body);
    assert!(names.iter().any(|n| n == renamed), "{names:?}");
    assert!(!names.contains(&wuhan[0]));
}
