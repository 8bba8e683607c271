//! 评审细则: a city adopts the province's default or writes its own, and the
//! province edits its default. A city's sheet is fixed once one of its
//! reviewers has scored or its recommendation has gone to the province.

use super::{Outcome, Refusal};
use crate::domain::scoring::{Sheet, show};
use crate::store::audit::{self, Action, Actor};
use crate::store::scoring::{self, Source};
use crate::store::{Batch, Db, Millis, StoreError, recommendations};

fn described(sheet: &Sheet) -> String {
    sheet
        .criteria
        .iter()
        .map(|c| format!("{} {}分×{}", c.name, show(c.max), show(c.weight)))
        .collect::<Vec<_>>()
        .join("；")
}

/// A write refused because the sheet moved on, scoring began or the
/// recommendation was submitted meanwhile.
fn stale(e: StoreError, what: &str) -> Refusal {
    match e {
        StoreError::Conflict(_) | StoreError::Unique(_) => Refusal::Rule(what.into()),
        e => Refusal::Store(e),
    }
}

/// Saves `city`'s sheet in `batch_id`: its own (`source` City) or the
/// province's default adopted, if still at version `expected`.
#[allow(clippy::too_many_arguments)]
pub async fn save_city_sheet(
    db: &Db,
    actor: &Actor,
    batch_id: &str,
    city: &str,
    source: Source,
    sheet: &Sheet,
    expected: i64,
    now: Millis,
) -> Outcome<()> {
    let mut b = Batch::new();
    recommendations::guard(&mut b, batch_id, city, now);
    scoring::save_sheet(
        &mut b,
        batch_id,
        city,
        source,
        sheet,
        expected,
        &actor.name,
        now,
    );
    audit::record(
        &mut b,
        actor,
        Action::ScoringSheetChange,
        Some(&format!("{batch_id}/{city}")),
        true,
        &format!(
            "{}：{}（满分{}）",
            source.label(),
            described(sheet),
            show(sheet.max_total())
        ),
        now,
    );
    db.write(b).await.map(|_| ()).map_err(|e| {
        stale(
            e,
            "评审细则已被修改、已有评审人开始评分或推荐已报送，本次修改未保存，请刷新后核对",
        )
    })
}

/// Saves the province's default sheet, if still at version `expected`.
/// Cities that adopted an earlier default and began scoring keep theirs.
pub async fn save_default_sheet(
    db: &Db,
    actor: &Actor,
    sheet: &Sheet,
    expected: i64,
    now: Millis,
) -> Outcome<()> {
    let mut b = Batch::new();
    scoring::save_sheet(
        &mut b,
        "",
        "",
        Source::Province,
        sheet,
        expected,
        &actor.name,
        now,
    );
    audit::record(
        &mut b,
        actor,
        Action::ScoringSheetChange,
        Some("province-default"),
        true,
        &format!("默认评审细则：{}", described(sheet)),
        now,
    );
    db.write(b)
        .await
        .map(|_| ())
        .map_err(|e| stale(e, "默认评审细则已被他人修改，本次修改未保存，请刷新后核对"))
}
