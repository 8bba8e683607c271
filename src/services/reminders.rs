//! Deadline reminders, from a scheduler inside `serve` driven by the server
//! clock: enterprises with an unsubmitted draft, cities that have not
//! submitted their recommendation, experts with unsubmitted scores, each 3
//! days and 1 day before their deadline. A reminder is keyed by (kind,
//! recipient, object, deadline, window), so running the scheduler again, in
//! several processes at once, or after a restart adds nothing twice; a
//! deadline moved by the province gets reminders of its own.

use std::collections::BTreeMap;

use crate::clock;
use crate::domain::notify::Kind;
use crate::params;
use crate::store::outbox::{self, NewMessage};
use crate::store::{Batch, Db, Millis, Result};

const DAY: Millis = 24 * 3600 * 1000;

/// The reminder window a deadline is in at `now`: 1 (the last day), 3 (the
/// last three days) or none.
pub fn window(deadline: Millis, now: Millis) -> Option<i64> {
    let left = deadline - now;
    if left <= 0 {
        None
    } else if left <= DAY {
        Some(1)
    } else if left <= 3 * DAY {
        Some(3)
    } else {
        None
    }
}

struct Due {
    kind: Kind,
    recipient: String,
    object: String,
    deadline: Millis,
    link: String,
    vars: Vec<(&'static str, String)>,
}

/// Adds the reminders due at `now`; returns how many were new.
pub async fn run(db: &Db, now: Millis) -> Result<usize> {
    let (from, to) = (now, now + 3 * DAY);
    let mut due = Vec::new();
    let drafts = db
        .query(
            "SELECT a.id, a.enterprise_id, a.enterprise_name, b.name, \
             COALESCE(d.enterprise_deadline, b.enterprise_deadline) FROM applications a \
             JOIN batches b ON b.id = a.batch_id \
             LEFT JOIN city_deadlines d ON d.batch_id = a.batch_id AND d.city_code = a.city_code \
             WHERE a.state = 'draft' AND COALESCE(d.enterprise_deadline, b.enterprise_deadline) > $1 \
             AND COALESCE(d.enterprise_deadline, b.enterprise_deadline) <= $2",
            params![from, to],
        )
        .await?;
    for r in &drafts {
        due.push(Due {
            kind: Kind::DeadlineEnterprise,
            recipient: r.text(1),
            object: r.text(0),
            deadline: r.int(4),
            link: format!("/apply/{}", r.text(0)),
            vars: vec![("enterprise", r.text(2)), ("batch", r.text(3))],
        });
    }
    let cities = db
        .query(
            "SELECT u.id, u.city_code, b.id, b.name, b.recommend_deadline FROM users u, batches b \
             WHERE u.role = 'city' AND u.disabled = 0 AND b.recommend_deadline > $1 AND b.recommend_deadline <= $2 \
             AND NOT EXISTS (SELECT 1 FROM recommendations r WHERE r.batch_id = b.id \
                 AND r.city_code = u.city_code AND r.status = 'submitted') \
             AND EXISTS (SELECT 1 FROM applications a WHERE a.batch_id = b.id \
                 AND a.city_code = u.city_code AND a.state <> 'draft')",
            params![from, to],
        )
        .await?;
    for r in &cities {
        let city = crate::domain::region::city(&r.text(1)).map_or("", |c| c.name);
        due.push(Due {
            kind: Kind::DeadlineCity,
            recipient: r.text(0),
            object: format!("{}/{}", r.text(2), r.text(1)),
            deadline: r.int(4),
            link: format!("/city/recommendation?batch={}", r.text(2)),
            vars: vec![("city", city.to_string()), ("batch", r.text(3))],
        });
    }
    let experts = db
        .query(
            "SELECT u.id, x.name, b.id, b.name, s.score_deadline, COUNT(*) FROM review_assignments a \
             JOIN experts x ON x.id = a.expert_id JOIN users u ON u.id = x.user_id \
             JOIN review_settings s ON s.batch_id = a.batch_id JOIN batches b ON b.id = a.batch_id \
             WHERE a.status = 'assigned' AND u.disabled = 0 AND s.score_deadline > $1 AND s.score_deadline <= $2 \
             GROUP BY u.id, x.name, b.id, b.name, s.score_deadline",
            params![from, to],
        )
        .await?;
    for r in &experts {
        due.push(Due {
            kind: Kind::DeadlineExpert,
            recipient: r.text(0),
            object: r.text(2),
            deadline: r.int(4),
            link: "/expert".into(),
            vars: vec![
                ("expert", r.text(1)),
                ("batch", r.text(3)),
                ("count", r.int(5).to_string()),
            ],
        });
    }
    let mut b = Batch::new();
    for d in due {
        let Some(days) = window(d.deadline, now) else {
            continue;
        };
        let mut vars: BTreeMap<String, String> = d
            .vars
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        vars.insert("deadline".into(), clock::format_deadline(d.deadline));
        vars.insert("days".into(), days.to_string());
        outbox::push(
            &mut b,
            &NewMessage {
                recipient_id: &d.recipient,
                kind: d.kind,
                vars,
                link: d.link,
                dedup_key: Some(format!(
                    "{}:{}:{}:{}:{days}",
                    d.kind.code(),
                    d.recipient,
                    d.object,
                    d.deadline
                )),
            },
            now,
        );
    }
    Ok(db.write(b).await?.iter().sum::<u64>() as usize)
}

/// Runs [`run`] every minute by `clock` until the process ends.
pub fn spawn(db: Db, clock: clock::Clock) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = run(&db, clock.now()).await {
                tracing::warn!("reminders: {e}");
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::{DAY, window};

    #[test]
    fn windows_are_the_last_three_days_and_the_last_day() {
        let d = 100 * DAY;
        assert_eq!(window(d, d - 4 * DAY), None);
        assert_eq!(window(d, d - 3 * DAY), Some(3));
        assert_eq!(window(d, d - DAY - 1), Some(3));
        assert_eq!(window(d, d - DAY), Some(1));
        assert_eq!(window(d, d - 1), Some(1));
        assert_eq!(window(d, d), None);
    }
}
