//! 企业更名 requests: made by the enterprise with its new 营业执照, decided
//! by its city. Approval changes the registered name (and the name of its
//! applications still being written) in the same write.

use super::{Batch, Db, Millis, Result, Row};
use crate::params;

#[derive(Debug, Clone)]
pub struct NameChange {
    pub id: String,
    pub enterprise_id: String,
    pub city_code: String,
    pub old_name: String,
    pub new_name: String,
    pub reason: String,
    pub license_key: String,
    pub license_name: String,
    pub license_sha256: String,
    /// pending, approved or rejected.
    pub status: String,
    pub decision: String,
    pub decided_by: Option<String>,
    pub decided_at: Option<Millis>,
    pub created_at: Millis,
}

impl NameChange {
    /// When it was made, as people read it.
    pub fn created(&self) -> String {
        crate::clock::format_datetime(self.created_at)
    }

    pub fn status_label(&self) -> &'static str {
        match self.status.as_str() {
            "pending" => "待市州审核",
            "approved" => "已同意",
            _ => "未同意",
        }
    }
}

macro_rules! cols {
    () => {
        "id, enterprise_id, city_code, old_name, new_name, reason, license_key, license_name, \
         license_sha256, status, decision, decided_by, decided_at, created_at"
    };
}

fn from_row(r: &Row) -> NameChange {
    NameChange {
        id: r.text(0),
        enterprise_id: r.text(1),
        city_code: r.text(2),
        old_name: r.text(3),
        new_name: r.text(4),
        reason: r.text(5),
        license_key: r.text(6),
        license_name: r.text(7),
        license_sha256: r.text(8),
        status: r.text(9),
        decision: r.text(10),
        decided_by: r.opt_text(11),
        decided_at: r.opt_int(12),
        created_at: r.int(13),
    }
}

pub async fn by_id(db: &Db, id: &str) -> Result<Option<NameChange>> {
    let row = db
        .query_opt(
            concat!("SELECT ", cols!(), " FROM name_changes WHERE id = $1"),
            params![id],
        )
        .await?;
    Ok(row.as_ref().map(from_row))
}

/// An enterprise's requests, newest first.
pub async fn for_enterprise(db: &Db, enterprise_id: &str) -> Result<Vec<NameChange>> {
    let rows = db
        .query(
            concat!(
                "SELECT ",
                cols!(),
                " FROM name_changes WHERE enterprise_id = $1 ORDER BY created_at DESC"
            ),
            params![enterprise_id],
        )
        .await?;
    Ok(rows.iter().map(from_row).collect())
}

/// A city's requests: the open ones first, then the decided, newest first.
pub async fn for_city(db: &Db, city_code: &str) -> Result<Vec<NameChange>> {
    let rows = db
        .query(
            concat!(
                "SELECT ",
                cols!(),
                " FROM name_changes WHERE city_code = $1 \
                 ORDER BY CASE WHEN status = 'pending' THEN 0 ELSE 1 END, created_at DESC LIMIT 200"
            ),
            params![city_code],
        )
        .await?;
    Ok(rows.iter().map(from_row).collect())
}

pub fn insert(b: &mut Batch, n: &NameChange) {
    b.push(
        concat!(
            "INSERT INTO name_changes (",
            cols!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'pending', '', NULL, NULL, $10)"
        ),
        params![
            n.id.as_str(),
            n.enterprise_id.as_str(),
            n.city_code.as_str(),
            n.old_name.as_str(),
            n.new_name.as_str(),
            n.reason.as_str(),
            n.license_key.as_str(),
            n.license_name.as_str(),
            n.license_sha256.as_str(),
            n.created_at
        ],
    );
}

/// Decides an open request (refused as stale when it is no longer open);
/// an approval renames the enterprise and its applications not yet submitted.
pub fn decide(b: &mut Batch, n: &NameChange, approve: bool, note: &str, by: &str, now: Millis) {
    b.push_one(
        "UPDATE name_changes SET status = $2, decision = $3, decided_by = $4, decided_at = $5 \
         WHERE id = $1 AND status = 'pending'",
        params![
            n.id.as_str(),
            if approve { "approved" } else { "rejected" },
            note,
            by,
            now
        ],
    );
    if approve {
        b.push(
            "UPDATE enterprises SET name = $2 WHERE user_id = $1",
            params![n.enterprise_id.as_str(), n.new_name.as_str()],
        );
        b.push(
            "UPDATE users SET display_name = $2 WHERE id = $1",
            params![n.enterprise_id.as_str(), n.new_name.as_str()],
        )
        .changing_logins(super::LoginKey::User(n.enterprise_id.clone()));
        b.push(
            "UPDATE applications SET enterprise_name = $2 \
             WHERE enterprise_id = $1 AND state IN ('draft', 'returned')",
            params![n.enterprise_id.as_str(), n.new_name.as_str()],
        );
    }
}
