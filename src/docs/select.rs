//! Which applications go into the province package, city by city, and
//! loading one city's documents from the store.

use std::io;

use serde_json::Value;

use super::package::{CityPackage, PackageEntry, ScanOpener};
use super::{AppDoc, AttachmentRef, RecommendationRow};
use crate::domain::form::ProgramDef;
use crate::domain::region;
use crate::files::FileStore;
use crate::params;
use crate::store::{Db, Millis, attachments};

/// The attachment slot of the signed and stamped scan of the 申报书.
pub const STAMPED_SCAN: &str = "stamped_scan";

/// An application selected for a city's list (what the package needs to load it).
#[derive(Debug, Clone)]
pub struct Selected {
    pub id: String,
    pub enterprise_name: String,
    pub submitted_version: i64,
    pub fingerprint: Option<String>,
    pub submitted_at: Option<Millis>,
    /// 推荐理由, from the city's submitted recommendation.
    pub reason: String,
    /// 审核意见, from the city's submitted recommendation.
    pub opinion: Option<String>,
}

/// One city's ordered list.
#[derive(Debug, Clone)]
pub struct CitySelection {
    pub code: String,
    pub name: String,
    pub applications: Vec<Selected>,
}

impl CitySelection {
    pub fn len(&self) -> usize {
        self.applications.len()
    }

    pub fn is_empty(&self) -> bool {
        self.applications.is_empty()
    }
}

/// The applications of `batch_id` that go into the package, per city (in
/// GB/T 2260 order, cities without any left out), each city's list in its
/// order.
///
/// A city that has submitted its recommendation contributes exactly that list,
/// in its 推荐排序, with its 推荐理由 and 审核意见. A city that has not (yet)
/// contributes what it has received so far: its applications in the states
/// submitted, city_passed or recommended, by submission time, without reasons.
pub async fn package_selection(
    db: &Db,
    batch_id: &str,
) -> crate::store::Result<Vec<CitySelection>> {
    let rows = db
        .query(
            "SELECT id, city_code, enterprise_name, submitted_version, fingerprint, submitted_at \
             FROM applications WHERE batch_id = $1 AND submitted_version IS NOT NULL \
             AND state IN ('submitted', 'city_passed', 'recommended') \
             ORDER BY city_code, submitted_at, id",
            params![batch_id],
        )
        .await?;
    let mut out: Vec<CitySelection> = Vec::new();
    for r in &rows {
        let code = r.text(1);
        let sel = Selected {
            id: r.text(0),
            enterprise_name: r.text(2),
            submitted_version: r.int(3),
            fingerprint: r.opt_text(4),
            submitted_at: r.opt_int(5),
            reason: String::new(),
            opinion: None,
        };
        match out.iter_mut().find(|c| c.code == code) {
            Some(c) => c.applications.push(sel),
            None => out.push(CitySelection {
                name: region::city(&code).map_or(code.clone(), |c| c.name.to_string()),
                code,
                applications: vec![sel],
            }),
        }
    }
    for rec in crate::store::recommendations::for_batch(db, batch_id).await? {
        if !rec.submitted {
            continue;
        }
        let items = crate::store::recommendations::items(db, batch_id, &rec.city_code).await?;
        let Some(city) = out.iter_mut().find(|c| c.code == rec.city_code) else {
            continue;
        };
        let received = std::mem::take(&mut city.applications);
        city.applications = items
            .iter()
            .filter_map(|it| {
                let mut sel = received.iter().find(|a| a.id == it.application_id)?.clone();
                sel.reason = it.reason.clone();
                sel.opinion = Some(it.opinion.clone()).filter(|o| !o.trim().is_empty());
                Some(sel)
            })
            .collect();
    }
    out.retain(|c| !c.is_empty());
    let order = |code: &str| {
        region::cities()
            .iter()
            .position(|c| c.code == code)
            .unwrap_or(usize::MAX)
    };
    out.sort_by(|a, b| {
        order(&a.code)
            .cmp(&order(&b.code))
            .then(a.code.cmp(&b.code))
    });
    Ok(out)
}

/// Loads one city's documents: each application's submitted snapshot, its
/// 推荐表 row (rank = its place in the list, with the city's 推荐理由) and an opener for its stamped scan. Scans are opened through
/// `rt` when the package reaches them, so this runs on a blocking thread.
pub async fn load_city(
    db: &Db,
    files: &FileStore,
    def: &ProgramDef,
    city: &CitySelection,
    rt: tokio::runtime::Handle,
) -> anyhow::Result<CityPackage> {
    let mut entries = Vec::with_capacity(city.len());
    for (i, sel) in city.applications.iter().enumerate() {
        let (_, text) =
            crate::store::applications::version_content(db, &sel.id, sel.submitted_version)
                .await?
                .ok_or_else(|| {
                    anyhow::anyhow!(
                        "申报书 {} 缺少第{}版提交内容",
                        sel.id,
                        sel.submitted_version
                    )
                })?;
        let snapshot: Value = serde_json::from_str(&text)?;
        let doc = AppDoc::from_snapshot(&snapshot, sel.submitted_version)
            .with_city_opinion(sel.opinion.clone());
        if let Some(stored) = &sel.fingerprint
            && doc.fingerprint.as_deref() != Some(stored.as_str())
        {
            anyhow::bail!("申报书 {} 的提交内容与其指纹不符", sel.id);
        }
        let row = RecommendationRow::from_answers(def, &doc.answers, &sel.reason, i as u32 + 1);
        let scan = scan_opener(db, files, &doc, &sel.id, rt.clone()).await?;
        entries.push(PackageEntry { row, doc, scan });
    }
    Ok(CityPackage {
        code: city.code.clone(),
        name: city.name.clone(),
        recommender: String::new(),
        date: String::new(),
        entries,
    })
}

/// The stamped scan listed in the snapshot, found among the stored uploads by
/// its SHA-256.
async fn scan_opener(
    db: &Db,
    files: &FileStore,
    doc: &AppDoc,
    app_id: &str,
    rt: tokio::runtime::Handle,
) -> anyhow::Result<Option<ScanOpener>> {
    let Some(wanted) = doc.attachments.iter().find(|a| a.slot == STAMPED_SCAN) else {
        return Ok(None);
    };
    let stored = attachments::for_application(db, app_id).await?;
    let Some(file) = stored
        .into_iter()
        .find(|a| a.slot == STAMPED_SCAN && a.sha256 == wanted.sha256)
    else {
        return Ok(None);
    };
    let files = files.clone();
    let key = file.storage_key;
    Ok(Some(Box::new(move || {
        let f =
            rt.block_on(
                async move { Ok::<_, io::Error>(files.open(&key).await?.into_std().await) },
            )?;
        Ok(Box::new(io::BufReader::new(f)) as Box<dyn io::Read>)
    })))
}

/// The 申报书 of submitted version `version` of an application, as stored.
pub async fn submitted_doc(
    db: &Db,
    application_id: &str,
    version: i64,
) -> anyhow::Result<Option<AppDoc>> {
    let Some((kind, text)) =
        crate::store::applications::version_content(db, application_id, version).await?
    else {
        return Ok(None);
    };
    if kind != "submitted" {
        return Ok(None);
    }
    let snapshot: Value = serde_json::from_str(&text)?;
    Ok(Some(AppDoc::from_snapshot(&snapshot, version)))
}

/// The current content of an application with its live uploads, marked 草稿.
pub async fn draft_doc(db: &Db, application_id: &str) -> anyhow::Result<Option<AppDoc>> {
    let Some((version, answers)) = crate::store::applications::content(db, application_id).await?
    else {
        return Ok(None);
    };
    let files = attachments::for_application(db, application_id)
        .await?
        .into_iter()
        .map(AttachmentRef::from)
        .collect();
    Ok(Some(AppDoc::draft(answers, application_id, version, files)))
}
