//! Attachment records; the bytes live in the file store under `storage_key`.

use super::{Batch, Db, Guard, Millis, Result, Row};
use crate::params;

#[derive(Debug, Clone)]
pub struct Attachment {
    pub id: String,
    pub application_id: String,
    pub slot: String,
    pub file_name: String,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
    pub storage_key: String,
    pub created_at: Millis,
}

impl Attachment {
    pub fn size_text(&self) -> String {
        crate::files::human_size(self.size.max(0) as u64)
    }

    fn from_row(r: &Row) -> Attachment {
        Attachment {
            id: r.text(0),
            application_id: r.text(1),
            slot: r.text(2),
            file_name: r.text(3),
            content_type: r.text(4),
            size: r.int(5),
            sha256: r.text(6),
            storage_key: r.text(7),
            created_at: r.int(8),
        }
    }
}

/// Live (not deleted) attachments of an application, by slot then upload time.
pub async fn for_application(db: &Db, application_id: &str) -> Result<Vec<Attachment>> {
    let rows = db
        .query(
            "SELECT id, application_id, slot, file_name, content_type, size, sha256, storage_key, created_at \
             FROM attachments WHERE application_id = $1 AND deleted_at IS NULL ORDER BY slot, created_at, id",
            params![application_id],
        )
        .await?;
    Ok(rows.iter().map(Attachment::from_row).collect())
}

pub async fn by_id(db: &Db, id: &str) -> Result<Option<Attachment>> {
    let row = db
        .query_opt(
            "SELECT id, application_id, slot, file_name, content_type, size, sha256, storage_key, created_at \
             FROM attachments WHERE id = $1 AND deleted_at IS NULL",
            params![id],
        )
        .await?;
    Ok(row.as_ref().map(Attachment::from_row))
}

/// The insert's parameters, `$1`…`$10`.
fn insert_params(a: &Attachment, by: &str) -> Vec<crate::store::Value> {
    params![
        a.id.as_str(),
        a.application_id.as_str(),
        a.slot.as_str(),
        a.file_name.as_str(),
        a.content_type.as_str(),
        a.size,
        a.sha256.as_str(),
        a.storage_key.as_str(),
        a.created_at,
        by
    ]
}

pub fn insert(b: &mut Batch, a: &Attachment, by: &str) {
    b.push(
        "INSERT INTO attachments (id, application_id, slot, file_name, content_type, size, sha256, storage_key, created_at, created_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        insert_params(a, by),
    );
}

/// [`insert`], only while the application's live attachments, this one
/// included, stay within `total` bytes; otherwise the batch fails with
/// `Conflict(Guard::AttachmentTotal)`. The first locks the application's
/// row, so concurrent uploads of one application (in any process) are
/// checked one after the other: the sum is taken after the previous one
/// committed (on SQLite the single writer does the same).
pub fn insert_within_total(b: &mut Batch, a: &Attachment, by: &str, total: u64) {
    b.push_one(
        "UPDATE applications SET updated_at = updated_at WHERE id = $1",
        params![a.application_id.as_str()],
    );
    let mut p = insert_params(a, by);
    p.push((total as i64).into());
    b.push_one(
        "INSERT INTO attachments (id, application_id, slot, file_name, content_type, size, sha256, storage_key, created_at, created_by) \
         SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10 \
         WHERE (SELECT COALESCE(SUM(size), 0) FROM attachments WHERE application_id = $2 AND deleted_at IS NULL) + $6 <= $11",
        p,
    )
    .guarding(Guard::AttachmentTotal);
}

/// Marks an attachment deleted (kept for the record while the draft lives).
pub fn delete(b: &mut Batch, id: &str, now: Millis) {
    b.push_one(
        "UPDATE attachments SET deleted_at = $2 WHERE id = $1 AND deleted_at IS NULL",
        params![id, now],
    )
    .guarding(Guard::AttachmentLive);
}
