//! `shenbao backup` and `shenbao restore` (issue #20): one `.tar.gz` holding
//! a consistent copy of the live SQLite database (SQLite's online backup
//! API: one read transaction, the server keeps writing), the attachment
//! files, the key of the sealed secrets (`secret.key`, when it lives in the
//! data folder), and `manifest.json` with every file's size and SHA-256.
//!
//! Attachment files are hard-linked into a staging folder before and after
//! the database copy: a file the copy lists cannot vanish before it is
//! archived (a deleted draft attachment's file is removed after its row),
//! and one uploaded while the copy ran is caught by the second pass.
//! PostgreSQL is backed up with `pg_dump` instead (README).

use std::io::{Read, Write};
use std::path::{Component, Path, PathBuf};

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};

use crate::verify::sha256_file;

pub const FORMAT: &str = "shenbao-backup/1";
const DB_FILE: &str = "shenbao.db";
const ATTACHMENTS: &str = "attachments";
const MANIFEST: &str = "manifest.json";

#[derive(Debug, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    /// Unix ms when the database copy was taken.
    pub created_at: i64,
    pub files: Vec<ManifestFile>,
}

#[derive(Debug, Serialize, Deserialize, Clone, PartialEq, Eq)]
pub struct ManifestFile {
    /// Relative to the data directory, `/`-separated.
    pub path: String,
    pub size: u64,
    pub sha256: String,
}

/// What a backup wrote.
#[derive(Debug)]
pub struct Done {
    pub files: usize,
    pub bytes: u64,
}

/// Backs up the SQLite database `db_path` and the attachments under
/// `data_dir` into `out`. Blocking.
pub fn backup(data_dir: &Path, db_path: &Path, out: &Path) -> anyhow::Result<Done> {
    if !db_path.exists() {
        bail!("找不到数据库文件 {}", db_path.display());
    }
    let staging = data_dir.join(format!(".backup-{}", crate::store::new_id()));
    std::fs::create_dir_all(staging.join(ATTACHMENTS))?;
    let result = stage_and_write(data_dir, db_path, &staging, out);
    let _ = std::fs::remove_dir_all(&staging);
    result
}

fn stage_and_write(
    data_dir: &Path,
    db_path: &Path,
    staging: &Path,
    out: &Path,
) -> anyhow::Result<Done> {
    let attachments = data_dir.join(ATTACHMENTS);
    link_tree(&attachments, &staging.join(ATTACHMENTS))?;
    let created_at = jiff::Timestamp::now().as_millisecond();
    copy_database(db_path, &staging.join(DB_FILE))?;
    link_tree(&attachments, &staging.join(ATTACHMENTS))?;
    // The key of the sealed secrets (TOTP), when it lives in the data folder:
    // a restored server opens them with it.
    let key = data_dir.join(crate::store::secret_key::FILE);
    if key.exists() {
        std::fs::copy(&key, staging.join(crate::store::secret_key::FILE))?;
    }

    let mut files = Vec::new();
    collect(staging, staging, &mut files)?;
    files.sort();
    let mut manifest = Manifest {
        format: FORMAT.into(),
        created_at,
        files: Vec::new(),
    };
    for rel in &files {
        let p = staging.join(rel);
        let size = std::fs::metadata(&p)?.len();
        let sha256 = sha256_file(&p).with_context(|| format!("读取 {rel} 失败"))?;
        manifest.files.push(ManifestFile {
            path: rel.clone(),
            size,
            sha256,
        });
    }
    let tmp = out.with_extension("part");
    let file =
        std::fs::File::create(&tmp).with_context(|| format!("无法写入 {}", tmp.display()))?;
    let gz = flate2::write::GzEncoder::new(file, flate2::Compression::fast());
    let mut tar = tar::Builder::new(gz);
    let mut bytes = 0;
    for f in &manifest.files {
        let mut header = tar::Header::new_gnu();
        header.set_size(f.size);
        header.set_mode(0o600);
        header.set_mtime((created_at / 1000) as u64);
        let mut src = std::fs::File::open(staging.join(&f.path))?;
        tar.append_data(&mut header, &f.path, &mut src)?;
        bytes += f.size;
    }
    let json = serde_json::to_vec_pretty(&manifest)?;
    let mut header = tar::Header::new_gnu();
    header.set_size(json.len() as u64);
    header.set_mode(0o600);
    header.set_mtime((created_at / 1000) as u64);
    tar.append_data(&mut header, MANIFEST, json.as_slice())?;
    let gz = tar.into_inner()?;
    let file = gz.finish()?;
    file.sync_all()?;
    std::fs::rename(&tmp, out)?;
    Ok(Done {
        files: manifest.files.len(),
        bytes,
    })
}

/// A consistent copy of a live database: the online backup API copying
/// every page in one step, that is within one read transaction (WAL: the
/// writer is not held up).
fn copy_database(src: &Path, dst: &Path) -> anyhow::Result<()> {
    use rusqlite::backup::{Backup, StepResult};
    let src = rusqlite::Connection::open_with_flags(
        src,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    src.busy_timeout(std::time::Duration::from_secs(10))?;
    let mut out = rusqlite::Connection::open(dst)?;
    {
        let b = Backup::new(&src, &mut out)?;
        let mut tries = 0;
        loop {
            match b.step(-1)? {
                StepResult::Done => break,
                StepResult::More => {}
                StepResult::Busy | StepResult::Locked => {
                    tries += 1;
                    if tries > 200 {
                        bail!("数据库一直忙，无法取得一致的副本");
                    }
                    std::thread::sleep(std::time::Duration::from_millis(50));
                }
                _ => {}
            }
        }
    }
    // One file: no WAL beside the copy.
    out.pragma_update(None, "journal_mode", "DELETE")?;
    out.close().map_err(|(_, e)| e)?;
    Ok(())
}

/// Hard-links (or, across file systems, copies) every finished file under
/// `from` to the same place under `to`, skipping those already there.
fn link_tree(from: &Path, to: &Path) -> anyhow::Result<()> {
    let Ok(entries) = std::fs::read_dir(from) else {
        return Ok(());
    };
    for e in entries.flatten() {
        let p = e.path();
        let target = to.join(e.file_name());
        let kind = e.file_type()?;
        if kind.is_dir() {
            std::fs::create_dir_all(&target)?;
            link_tree(&p, &target)?;
        } else if kind.is_file()
            && p.extension().is_none_or(|x| x != "part")
            && !target.exists()
            && std::fs::hard_link(&p, &target).is_err()
        {
            match std::fs::copy(&p, &target) {
                Ok(_) => {}
                // Removed between listing and linking: it was not needed.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
    Ok(())
}

fn collect(root: &Path, dir: &Path, out: &mut Vec<String>) -> anyhow::Result<()> {
    for e in std::fs::read_dir(dir)?.flatten() {
        let p = e.path();
        if e.file_type()?.is_dir() {
            collect(root, &p, out)?;
        } else {
            let rel = p.strip_prefix(root)?;
            let parts: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            out.push(parts.join("/"));
        }
    }
    Ok(())
}

/// Puts the archive `from` into the new data directory `data_dir` (which
/// must not exist or be empty), checking every file against the manifest;
/// on any mismatch nothing is left behind. Blocking.
pub fn restore(from: &Path, data_dir: &Path) -> anyhow::Result<Manifest> {
    if data_dir.exists()
        && std::fs::read_dir(data_dir)
            .with_context(|| format!("无法读取 {}", data_dir.display()))?
            .next()
            .is_some()
    {
        bail!(
            "目标数据目录 {} 不是空的：恢复只写入新的（空的）目录，以免覆盖现有数据",
            data_dir.display()
        );
    }
    std::fs::create_dir_all(data_dir)?;
    set_mode(data_dir, 0o700)?;
    let result = unpack(from, data_dir);
    if result.is_err() {
        // Leave the directory as it was: empty.
        if let Ok(entries) = std::fs::read_dir(data_dir) {
            for e in entries.flatten() {
                let p = e.path();
                let _ = if p.is_dir() {
                    std::fs::remove_dir_all(&p)
                } else {
                    std::fs::remove_file(&p)
                };
            }
        }
    }
    result
}

fn unpack(from: &Path, data_dir: &Path) -> anyhow::Result<Manifest> {
    let file = std::fs::File::open(from)
        .with_context(|| format!("无法打开备份文件 {}", from.display()))?;
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let mut written: Vec<ManifestFile> = Vec::new();
    let mut manifest: Option<Manifest> = None;
    for entry in archive.entries().context("备份文件不是有效的 tar.gz")? {
        let mut entry = entry.context("备份文件已损坏")?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let rel = safe_path(&entry.path()?)?;
        if rel == Path::new(MANIFEST) {
            let mut json = String::new();
            entry.read_to_string(&mut json)?;
            manifest =
                Some(serde_json::from_str(&json).context("备份清单 manifest.json 无法读取")?);
            continue;
        }
        let target = data_dir.join(&rel);
        if let Some(dir) = target.parent() {
            std::fs::create_dir_all(dir)?;
            set_mode(dir, 0o700)?;
        }
        let mut out = std::fs::File::create(&target)?;
        let size = std::io::copy(&mut entry, &mut out)?;
        out.flush()?;
        out.sync_all()?;
        set_mode(&target, 0o600)?;
        let sha256 = sha256_file(&target).context("读取恢复的文件失败")?;
        let parts: Vec<String> = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        written.push(ManifestFile {
            path: parts.join("/"),
            size,
            sha256,
        });
    }
    let manifest = manifest.context("备份文件中没有清单 manifest.json")?;
    if manifest.format != FORMAT {
        bail!("不认识的备份格式：{}", manifest.format);
    }
    let mut expected = manifest.files.clone();
    expected.sort_by(|a, b| a.path.cmp(&b.path));
    written.sort_by(|a, b| a.path.cmp(&b.path));
    for f in &expected {
        match written.iter().find(|w| w.path == f.path) {
            None => bail!("备份清单中的文件 {} 不在备份中", f.path),
            Some(w) if w.sha256 != f.sha256 || w.size != f.size => bail!(
                "文件 {} 的 SHA-256 与备份清单不符（备份已损坏或被改动）",
                f.path
            ),
            Some(_) => {}
        }
    }
    if let Some(extra) = written
        .iter()
        .find(|w| !expected.iter().any(|f| f.path == w.path))
    {
        bail!("备份中的文件 {} 不在备份清单中", extra.path);
    }
    if !expected.iter().any(|f| f.path == DB_FILE) {
        bail!("备份中没有数据库文件 {DB_FILE}");
    }
    Ok(manifest)
}

/// An archive path as a relative path of plain names (no `..`, no root).
fn safe_path(p: &Path) -> anyhow::Result<PathBuf> {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::CurDir => {}
            _ => bail!("备份中的路径不安全：{}", p.display()),
        }
    }
    if out.as_os_str().is_empty() {
        bail!("备份中有空路径");
    }
    Ok(out)
}

fn set_mode(p: &Path, mode: u32) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode))
    }
    #[cfg(not(unix))]
    {
        let _ = (p, mode);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn archive_paths_cannot_leave_the_data_directory() {
        assert!(safe_path(Path::new("../etc/passwd")).is_err());
        assert!(safe_path(Path::new("/etc/passwd")).is_err());
        assert_eq!(
            safe_path(Path::new("./attachments/ab/01ab")).expect("safe"),
            Path::new("attachments/ab/01ab")
        );
    }

    /// A backup restores byte for byte; a changed byte in the archive, or a
    /// non-empty target, is refused and leaves nothing behind.
    #[test]
    fn backup_round_trips_and_a_corrupt_archive_is_refused() {
        let dir = tempfile::tempdir().expect("dir");
        let data = dir.path().join("data");
        std::fs::create_dir_all(data.join("attachments/ab")).expect("mkdir");
        std::fs::write(data.join("attachments/ab/01ab"), b"%PDF-1.4 x").expect("write");
        std::fs::write(data.join("attachments/ab/02ab.part"), b"cut").expect("write");
        let db = data.join("shenbao.db");
        let conn = rusqlite::Connection::open(&db).expect("open");
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; CREATE TABLE t (x TEXT); INSERT INTO t VALUES ('kept');",
        )
        .expect("sql");
        let out = dir.path().join("b.tar.gz");
        let done = backup(&data, &db, &out).expect("backup");
        assert_eq!(done.files, 2, "the database and one finished file");
        assert!(
            !std::fs::read_dir(&data)
                .expect("ls")
                .flatten()
                .any(|e| e.file_name().to_string_lossy().starts_with(".backup-")),
            "staging removed"
        );

        let target = dir.path().join("restored");
        let m = restore(&out, &target).expect("restore");
        assert_eq!(m.files.len(), 2);
        assert_eq!(
            std::fs::read(target.join("attachments/ab/01ab")).expect("read"),
            b"%PDF-1.4 x"
        );
        let restored = rusqlite::Connection::open(target.join("shenbao.db")).expect("open");
        let x: String = restored
            .query_row("SELECT x FROM t", [], |r| r.get(0))
            .expect("row");
        assert_eq!(x, "kept");
        let again = restore(&out, &target).expect_err("target not empty");
        assert!(again.to_string().contains("不是空的"), "{again}");

        // The same archive with one attachment byte changed (manifest kept).
        let forged = dir.path().join("forged.tar.gz");
        {
            let mut src = tar::Archive::new(flate2::read::GzDecoder::new(
                std::fs::File::open(&out).expect("open"),
            ));
            let gz = flate2::write::GzEncoder::new(
                std::fs::File::create(&forged).expect("create"),
                flate2::Compression::fast(),
            );
            let mut dst = tar::Builder::new(gz);
            for e in src.entries().expect("entries") {
                let mut e = e.expect("entry");
                let path = e.path().expect("path").into_owned();
                let mut bytes = Vec::new();
                e.read_to_end(&mut bytes).expect("read");
                if path == Path::new("attachments/ab/01ab") {
                    bytes[9] = b'y';
                }
                let mut h = e.header().clone();
                dst.append_data(&mut h, &path, bytes.as_slice())
                    .expect("append");
            }
            dst.into_inner().expect("tar").finish().expect("gz");
        }
        let fresh = dir.path().join("fresh");
        let err = restore(&forged, &fresh).expect_err("corrupt");
        assert!(
            err.to_string().contains("attachments/ab/01ab"),
            "names the file: {err}"
        );
        assert_eq!(std::fs::read_dir(&fresh).expect("ls").count(), 0);
    }
}
