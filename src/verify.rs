//! `shenbao verify`: every integrity chain, every submitted version's
//! fingerprint and every stored file's SHA-256, with each break named by
//! table, row and what differs (issue #20, finding 8).

use std::collections::{HashMap, HashSet};

use futures_util::StreamExt;
use std::io::Read;
use std::path::Path;

use crate::domain::form;
use crate::files::FileStore;
use crate::store::chain::{self, Chain, ChainReport};
use crate::store::{Db, Result};

#[derive(Debug, Default)]
pub struct Report {
    pub chains: Vec<(Chain, ChainReport)>,
    pub versions: usize,
    pub files: usize,
    /// Fingerprint and file breaks, each one line.
    pub problems: Vec<String>,
}

impl Report {
    pub fn ok(&self) -> bool {
        self.problems.is_empty() && self.chains.iter().all(|(_, r)| r.breaks.is_empty())
    }

    /// Every break, chains first, each chain's in chain order (the first
    /// named first).
    pub fn breaks(&self) -> Vec<String> {
        self.chains
            .iter()
            .flat_map(|(_, r)| r.breaks.iter().map(|b| b.to_string()))
            .chain(self.problems.iter().cloned())
            .collect()
    }

    /// The report as printed: one line per chain, then the counts, then
    /// the breaks.
    pub fn lines(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (c, r) in &self.chains {
            let state = match r.breaks.first() {
                None => "完整".to_string(),
                Some(first) => format!("断裂（共 {} 处），第一处：{first}", r.breaks.len()),
            };
            out.push(format!(
                "{}链：已封存 {} 环，{}；待封存 {} 行",
                c.label(),
                r.links,
                state,
                r.pending
            ));
        }
        out.push(format!(
            "已提交版本指纹：核对 {} 个；附件文件：核对 {} 个",
            self.versions, self.files
        ));
        for p in &self.problems {
            out.push(format!("  {p}"));
        }
        if self.ok() {
            out.push("校验通过：未发现篡改。".into());
        } else {
            out.push(format!("校验失败：发现 {} 处问题。", self.breaks().len()));
        }
        out
    }
}

/// Checks the database behind `db` and the attachments under `files`.
pub async fn run(db: &Db, files: &FileStore) -> Result<Report> {
    let mut report = Report::default();
    for c in Chain::ALL {
        report.chains.push((c, chain::check(db, c).await?));
    }
    let listed = fingerprints(db, &mut report).await?;
    check_files(db, files, &listed, &mut report).await?;
    Ok(report)
}

/// Each submitted version's fingerprint against its content, and each
/// application's against its submitted version. Returns the (application,
/// SHA-256) of every attachment a submitted version lists.
async fn fingerprints(db: &Db, report: &mut Report) -> Result<HashSet<(String, String)>> {
    let rows = db
        .query(
            "SELECT row_key, application_id, version, content, fingerprint FROM application_versions \
             WHERE kind = 'submitted' ORDER BY row_key",
            vec![],
        )
        .await?;
    let mut by_version = HashMap::new();
    let mut listed = HashSet::new();
    for r in &rows {
        report.versions += 1;
        let (key, app, version, content, fp) = (
            r.int(0),
            r.text(1),
            r.int(2),
            r.text(3),
            r.opt_text(4).unwrap_or_default(),
        );
        let snapshot: serde_json::Value = match serde_json::from_str(&content) {
            Ok(v) => v,
            Err(_) => {
                report.problems.push(format!(
                    "application_versions 表的行 {key}（申报 {app} 第 {version} 版）：内容不是有效的 JSON"
                ));
                continue;
            }
        };
        if !form::fingerprint_matches(&fp, &snapshot["content"]) {
            report.problems.push(format!(
                "application_versions 表的行 {key}（申报 {app} 第 {version} 版）：指纹 {} 与内容重算的不符",
                short(&fp)
            ));
        }
        for f in snapshot["attachments"].as_array().into_iter().flatten() {
            if let Some(sha) = f["sha256"].as_str() {
                listed.insert((app.clone(), sha.to_string()));
            }
        }
        by_version.insert((app, version), fp);
    }
    let apps = db
        .query(
            "SELECT id, submitted_version, fingerprint FROM applications WHERE submitted_version IS NOT NULL ORDER BY id",
            vec![],
        )
        .await?;
    for a in &apps {
        let (id, version, fp) = (a.text(0), a.int(1), a.opt_text(2).unwrap_or_default());
        match by_version.get(&(id.clone(), version)) {
            None => report.problems.push(format!(
                "applications 表的行 {id}：所指的已提交第 {version} 版不存在"
            )),
            Some(v) if *v != fp => report.problems.push(format!(
                "applications 表的行 {id}：指纹 {} 与已提交第 {version} 版的指纹 {} 不符",
                short(&fp),
                short(v)
            )),
            Some(_) => {}
        }
    }
    Ok(listed)
}

fn short(fp: &str) -> &str {
    fp.get(..16).unwrap_or(fp)
}

/// A stored file and where its hash is recorded.
struct Recorded {
    table: &'static str,
    id: String,
    key: String,
    sha256: String,
    /// Must the file be there? (A deleted attachment's file goes unless a
    /// submitted version lists it.)
    required: bool,
    application: Option<String>,
}

async fn check_files(
    db: &Db,
    files: &FileStore,
    listed: &HashSet<(String, String)>,
    report: &mut Report,
) -> Result<()> {
    let mut recorded = Vec::new();
    for r in db
        .query(
            "SELECT id, storage_key, sha256, deleted_at, application_id FROM attachments ORDER BY id",
            vec![],
        )
        .await?
    {
        recorded.push(Recorded {
            table: "attachments",
            id: r.text(0),
            key: r.text(1),
            sha256: r.text(2),
            required: r.opt_int(3).is_none(),
            application: Some(r.text(4)),
        });
    }
    for (table, sql) in [
        (
            "recommendation_files",
            "SELECT id, storage_key, sha256 FROM recommendation_files ORDER BY id",
        ),
        (
            "case_images",
            "SELECT id, storage_key, sha256 FROM case_images ORDER BY id",
        ),
    ] {
        for r in db.query(sql, vec![]).await? {
            recorded.push(Recorded {
                table,
                id: r.text(0),
                key: r.text(1),
                sha256: r.text(2),
                required: true,
                application: None,
            });
        }
    }
    // Each file read once, however many rows share it (the demo's sample),
    // four at a time (a bucket answers each read in a round trip).
    let keys: HashSet<String> = recorded.iter().map(|r| r.key.clone()).collect();
    let hashes: HashMap<String, Option<String>> = futures_util::stream::iter(keys)
        .map(|k| async move {
            let h = match files.sha256(&k).await {
                Ok(h) => h,
                Err(e) => {
                    tracing::warn!(key = %k, error = %e, "reading a stored file failed");
                    None
                }
            };
            (k, h)
        })
        .buffer_unordered(4)
        .collect()
        .await;
    // Files a submitted version lists: some row of that application with
    // that hash must still have its file, intact.
    let mut listed_found: HashSet<(String, String)> = HashSet::new();
    for r in &recorded {
        let actual = hashes.get(&r.key).cloned().flatten();
        match actual {
            None => {
                let in_submission = r
                    .application
                    .as_ref()
                    .is_some_and(|a| listed.contains(&(a.clone(), r.sha256.clone())));
                if r.required || in_submission {
                    report
                        .problems
                        .push(format!("{} 表的行 {}：文件 {} 缺失", r.table, r.id, r.key));
                }
            }
            Some(h) => {
                report.files += 1;
                if h != r.sha256 {
                    report.problems.push(format!(
                        "{} 表的行 {}：文件 {} 的 SHA-256 为 {}，与记录的 {} 不符（文件被改动）",
                        r.table,
                        r.id,
                        r.key,
                        short(&h),
                        short(&r.sha256)
                    ));
                } else if let Some(a) = &r.application {
                    listed_found.insert((a.clone(), h));
                }
            }
        }
    }
    let mut missing: Vec<_> = listed.difference(&listed_found).collect();
    missing.sort();
    for (app, sha) in missing {
        // Already named above when its row is there but the file is not.
        let has_row = recorded
            .iter()
            .any(|r| r.application.as_deref() == Some(app) && r.sha256 == *sha);
        if !has_row {
            report.problems.push(format!(
                "申报 {app} 的已提交版本列出的附件（SHA-256 {}）没有对应的附件记录",
                short(sha)
            ));
        }
    }
    Ok(())
}

/// SHA-256 of a file, or `None` when it cannot be read.
pub fn sha256_file(path: &Path) -> Option<String> {
    use sha2::Digest;
    let mut f = std::fs::File::open(path).ok()?;
    let mut h = sha2::Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf).ok()?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Some(hex::encode(h.finalize()))
}
