//! What goes into the province package, city by city: what each city
//! submitted (报送), and loading one city's documents from the store.

use std::io;

use serde_json::Value;

use super::package::{CityFile, CityPackage, CityPart, PackageEntry, ScanOpener};
use super::{AppDoc, AttachmentRef, RecommendationRow};
use crate::domain::form::ProgramDef;
use crate::domain::lifecycle::State;
use crate::domain::region;
use crate::files::FileStore;
use crate::params;
use crate::store::recommendations::{self, FileKind};
use crate::store::{Db, Millis, attachments};

/// The attachment slot of the signed and stamped scan of the 申报书.
pub const STAMPED_SCAN: &str = "stamped_scan";

/// An application on a city's submitted list (what the package needs to load it).
#[derive(Debug, Clone)]
pub struct Selected {
    pub id: String,
    pub enterprise_name: String,
    pub submitted_version: i64,
    pub fingerprint: Option<String>,
    pub submitted_at: Option<Millis>,
    /// Its state now (`applications.state`), e.g. under_review after the draw.
    pub state: String,
    /// 推荐理由, from the city's submitted recommendation.
    pub reason: String,
    /// 审核意见, from the city's submitted recommendation.
    pub opinion: Option<String>,
}

impl Selected {
    /// The state as officials call it (状态).
    pub fn state_label(&self) -> String {
        State::parse(&self.state).map_or_else(|| self.state.clone(), |s| s.label().to_string())
    }
}

/// One city: whether it has submitted its recommendation, and if so its list.
#[derive(Debug, Clone)]
pub struct CitySelection {
    pub batch_id: String,
    pub code: String,
    pub name: String,
    /// The city has submitted (报送) its recommendation.
    pub submitted: bool,
    pub submitted_at: Option<Millis>,
    /// The recommended applications in the city's order; empty unless submitted.
    pub applications: Vec<Selected>,
}

impl CitySelection {
    /// How many 申报书 the city's folder holds.
    pub fn len(&self) -> usize {
        self.applications.len()
    }

    pub fn is_empty(&self) -> bool {
        self.applications.is_empty()
    }
}

/// Every city of the package of `batch_id`: the 17 cities in GB/T 2260
/// order (then any other city that has submitted).
///
/// A city that has submitted its recommendation holds exactly its list, in
/// its 推荐排序, with its 推荐理由 and 审核意见, whatever state the
/// applications have reached since (under_review, shortlisted, …). A city
/// that has not submitted holds nothing: unscreened or merely listed
/// applications never go to the province as recommended.
pub async fn package_selection(
    db: &Db,
    batch_id: &str,
) -> crate::store::Result<Vec<CitySelection>> {
    let city = |code: &str, name: &str| CitySelection {
        batch_id: batch_id.to_string(),
        code: code.to_string(),
        name: name.to_string(),
        submitted: false,
        submitted_at: None,
        applications: Vec::new(),
    };
    let mut out: Vec<CitySelection> = region::cities()
        .iter()
        .map(|c| city(c.code, c.name))
        .collect();
    let mut recs = recommendations::for_batch(db, batch_id).await?;
    recs.retain(|r| r.submitted);
    recs.sort_by(|a, b| a.city_code.cmp(&b.city_code));
    for rec in recs {
        let i = match out.iter().position(|c| c.code == rec.city_code) {
            Some(i) => i,
            None => {
                out.push(city(&rec.city_code, &rec.city_code));
                out.len() - 1
            }
        };
        out[i].submitted = true;
        out[i].submitted_at = rec.submitted_at;
    }
    let rows = db
        .query(
            "SELECT i.city_code, a.id, a.enterprise_name, a.submitted_version, a.fingerprint, \
             a.submitted_at, a.state, i.reason, i.opinion \
             FROM recommendation_items i \
             JOIN recommendations r ON r.batch_id = i.batch_id AND r.city_code = i.city_code \
             JOIN applications a ON a.id = i.application_id \
             WHERE i.batch_id = $1 AND r.status = 'submitted' \
             ORDER BY i.city_code, i.rank, i.updated_at, i.application_id",
            params![batch_id],
        )
        .await?;
    for r in &rows {
        let code = r.text(0);
        let Some(c) = out.iter_mut().find(|c| c.code == code) else {
            continue;
        };
        c.applications.push(Selected {
            id: r.text(1),
            enterprise_name: r.text(2),
            // A listed application was submitted; 0 makes loading it fail loudly.
            submitted_version: r.opt_int(3).unwrap_or(0),
            fingerprint: r.opt_text(4),
            submitted_at: r.opt_int(5),
            state: r.text(6),
            reason: r.text(7),
            opinion: Some(r.text(8)).filter(|o| !o.trim().is_empty()),
        });
    }
    Ok(out)
}

/// The name prefix of a city's stamped file in its folder.
fn file_label(kind: FileKind) -> &'static str {
    match kind {
        FileKind::Letter => "市州推荐文件（盖章）",
        FileKind::TableScan => "市州推荐表扫描件（盖章）",
    }
}

/// Loads one city's documents: each application's submitted snapshot, its
/// 推荐表 row (rank = its place in the list, with the city's 推荐理由), an
/// opener for its stamped scan, and openers for the city's own stamped
/// files. A city that has not submitted loads nothing. Files are opened
/// through `rt` when the package reaches them, so this runs on a blocking
/// thread.
pub async fn load_city(
    db: &Db,
    files: &FileStore,
    def: &ProgramDef,
    city: &CitySelection,
    rt: tokio::runtime::Handle,
) -> anyhow::Result<CityPart> {
    let mut entries = Vec::with_capacity(city.len());
    let mut states = Vec::with_capacity(city.len());
    let mut stamped = Vec::new();
    if city.submitted {
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
                .with_number(crate::store::applications::number_of(db, &sel.id).await?)
                .with_city_opinion(sel.opinion.clone());
            if let Some(stored) = &sel.fingerprint
                && doc.fingerprint.as_deref() != Some(stored.as_str())
            {
                anyhow::bail!("申报书 {} 的提交内容与其指纹不符", sel.id);
            }
            let row = RecommendationRow::from_answers(def, &doc.answers, &sel.reason, i as u32 + 1);
            let scan = scan_opener(db, files, &doc, &sel.id, rt.clone()).await?;
            entries.push(PackageEntry { row, doc, scan });
            states.push(sel.state_label());
        }
        for f in recommendations::files(db, &city.batch_id, &city.code).await? {
            stamped.push(CityFile {
                label: file_label(f.kind).to_string(),
                file_name: f.file_name,
                open: opener(files, f.storage_key, rt.clone()),
            });
        }
    }
    Ok(CityPart {
        package: CityPackage {
            code: city.code.clone(),
            name: city.name.clone(),
            recommender: String::new(),
            date: String::new(),
            entries,
        },
        submitted: city.submitted,
        submitted_at: city.submitted_at,
        states,
        files: stamped,
    })
}

/// Opens the stored file `key` through `rt` when called.
fn opener(files: &FileStore, key: String, rt: tokio::runtime::Handle) -> ScanOpener {
    let files = files.clone();
    Box::new(move || {
        let r = files.blocking_reader(&key, rt)?;
        Ok(Box::new(io::BufReader::new(r)) as Box<dyn io::Read>)
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
    Ok(Some(opener(files, file.storage_key, rt)))
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
    let number = crate::store::applications::number_of(db, application_id).await?;
    Ok(Some(
        AppDoc::from_snapshot(&snapshot, version).with_number(number),
    ))
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
    let number = crate::store::applications::number_of(db, application_id).await?;
    Ok(Some(
        AppDoc::draft(answers, application_id, version, files).with_number(number),
    ))
}
