//! Attachment storage: a local directory by default. Content is judged by
//! its first bytes, never by its name; sizes are bounded while streaming, so
//! an upload is never held whole in memory; SHA-256 is computed on the way.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Pdf,
    Jpeg,
    Png,
}

impl FileKind {
    pub fn sniff(head: &[u8]) -> Option<FileKind> {
        if head.starts_with(b"%PDF-") {
            Some(FileKind::Pdf)
        } else if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(FileKind::Jpeg)
        } else if head.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
            Some(FileKind::Png)
        } else {
            None
        }
    }

    pub fn mime(self) -> &'static str {
        match self {
            FileKind::Pdf => "application/pdf",
            FileKind::Jpeg => "image/jpeg",
            FileKind::Png => "image/png",
        }
    }

    pub fn from_mime(m: &str) -> Option<FileKind> {
        [FileKind::Pdf, FileKind::Jpeg, FileKind::Png]
            .into_iter()
            .find(|k| k.mime() == m)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PutError {
    #[error("文件超过{0}上限，已停止接收，请压缩或拆分后重新上传")]
    TooLarge(String),
    #[error("只接受 PDF、JPG 或 PNG 文件（按文件内容判断，不看扩展名）")]
    BadType,
    #[error("文件为空，请重新选择")]
    Empty,
    #[error("保存文件失败：{0}")]
    Io(#[from] std::io::Error),
}

#[derive(Debug, Clone)]
pub struct Stored {
    pub size: u64,
    pub sha256: String,
    pub kind: FileKind,
}

#[derive(Clone, Debug)]
pub struct FileStore {
    root: std::sync::Arc<Path>,
}

pub fn human_size(bytes: u64) -> String {
    if bytes >= 1 << 20 {
        format!("{:.1} MB", bytes as f64 / (1u64 << 20) as f64).replace(".0 MB", " MB")
    } else if bytes >= 1 << 10 {
        format!("{} KB", bytes.div_ceil(1 << 10))
    } else {
        format!("{bytes} 字节")
    }
}

impl FileStore {
    pub fn local(root: PathBuf) -> FileStore {
        FileStore { root: root.into() }
    }

    fn path(&self, key: &str) -> PathBuf {
        // Keys are generated ids (hex), never user input.
        let safe: String = key.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
        let shard = safe
            .get(safe.len().saturating_sub(2)..)
            .unwrap_or("00")
            .to_string();
        self.root.join(shard).join(safe)
    }

    /// Where `key` is stored (integrity checks read it there).
    pub fn local_path(&self, key: &str) -> PathBuf {
        self.path(key)
    }

    /// Starts writing `key`; at most `limit` bytes are accepted.
    pub async fn create(&self, key: &str, limit: u64) -> Result<Upload, PutError> {
        let path = self.path(key);
        if let Some(dir) = path.parent() {
            tokio::fs::create_dir_all(dir).await?;
        }
        let tmp = path.with_extension("part");
        let file = tokio::fs::File::create(&tmp).await?;
        Ok(Upload {
            file: Some(file),
            tmp,
            path,
            limit,
            size: 0,
            head: Vec::with_capacity(8),
            hasher: Sha256::new(),
        })
    }

    pub async fn open(&self, key: &str) -> std::io::Result<tokio::fs::File> {
        tokio::fs::File::open(self.path(key)).await
    }

    pub async fn delete(&self, key: &str) -> std::io::Result<()> {
        match tokio::fs::remove_file(self.path(key)).await {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    /// Removes the partial files of uploads a crash cut off (an unfinished
    /// upload removes its own otherwise); run at start, before any upload.
    /// Returns how many were removed.
    pub fn remove_partials(&self) -> usize {
        let Ok(shards) = std::fs::read_dir(&*self.root) else {
            return 0;
        };
        let mut removed = 0;
        for shard in shards.flatten().filter(|e| e.path().is_dir()) {
            for f in std::fs::read_dir(shard.path())
                .into_iter()
                .flatten()
                .flatten()
            {
                let p = f.path();
                if p.extension().is_some_and(|e| e == "part") && std::fs::remove_file(&p).is_ok() {
                    removed += 1;
                }
            }
        }
        removed
    }

    /// Stores a whole small file (demo data, tests).
    pub async fn put_bytes(&self, key: &str, bytes: &[u8], limit: u64) -> Result<Stored, PutError> {
        let mut up = self.create(key, limit).await?;
        up.write(bytes).await?;
        up.finish().await
    }
}

/// An upload in progress; dropped unfinished, its partial file is removed.
pub struct Upload {
    file: Option<tokio::fs::File>,
    tmp: PathBuf,
    path: PathBuf,
    limit: u64,
    size: u64,
    head: Vec<u8>,
    hasher: Sha256,
}

impl Upload {
    pub async fn write(&mut self, chunk: &[u8]) -> Result<(), PutError> {
        self.size += chunk.len() as u64;
        if self.size > self.limit {
            return Err(PutError::TooLarge(human_size(self.limit)));
        }
        if self.head.len() < 8 {
            let need = 8 - self.head.len();
            self.head.extend_from_slice(&chunk[..need.min(chunk.len())]);
            if self.head.len() == 8 && FileKind::sniff(&self.head).is_none() {
                return Err(PutError::BadType);
            }
        }
        self.hasher.update(chunk);
        if let Some(f) = self.file.as_mut() {
            f.write_all(chunk).await?;
        }
        Ok(())
    }

    /// Makes the file durable and visible under its key.
    pub async fn finish(mut self) -> Result<Stored, PutError> {
        if self.size == 0 {
            return Err(PutError::Empty);
        }
        let kind = FileKind::sniff(&self.head).ok_or(PutError::BadType)?;
        if let Some(mut f) = self.file.take() {
            f.flush().await?;
            f.sync_all().await?;
        }
        tokio::fs::rename(&self.tmp, &self.path).await?;
        Ok(Stored {
            size: self.size,
            sha256: hex::encode(self.hasher.clone().finalize()),
            kind,
        })
    }
}

impl Drop for Upload {
    fn drop(&mut self) {
        if self.file.is_some() {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A partial file a crash left behind goes at the next start; finished
    /// files stay.
    #[tokio::test]
    async fn partial_uploads_are_removed_at_start() {
        let dir = tempfile::tempdir().expect("dir");
        let store = FileStore::local(dir.path().to_path_buf());
        store
            .put_bytes("01aa", b"%PDF-1.4 kept", 1 << 20)
            .await
            .expect("put");
        let mut cut = store.create("01bb", 1 << 20).await.expect("create");
        cut.write(b"%PDF-1.4 cut off").await.expect("write");
        // A crash: the upload is never finished nor dropped.
        std::mem::forget(cut);
        assert!(dir.path().join("bb").join("01bb.part").exists());
        assert_eq!(store.remove_partials(), 1);
        assert!(!dir.path().join("bb").join("01bb.part").exists());
        assert!(store.open("01aa").await.is_ok());
    }

    #[test]
    fn sniffing_ignores_names() {
        assert_eq!(FileKind::sniff(b"%PDF-1.7\n"), Some(FileKind::Pdf));
        assert_eq!(FileKind::sniff(b"MZ\x90\x00\x03\x00\x00\x00"), None);
        assert_eq!(FileKind::sniff(b"\x7fELF\x02\x01\x01\x00"), None);
    }

    #[tokio::test]
    async fn oversized_and_wrong_type_uploads_leave_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let fs = FileStore::local(dir.path().to_path_buf());
        let mut up = fs.create("abc123", 10).await.unwrap();
        up.write(b"%PDF-1.4 ").await.unwrap();
        assert!(matches!(
            up.write(b"more bytes").await,
            Err(PutError::TooLarge(_))
        ));
        drop(up);
        let mut up = fs.create("abc124", 100).await.unwrap();
        assert!(matches!(
            up.write(b"MZ\x90\x00\x03\x00\x00\x00rest").await,
            Err(PutError::BadType)
        ));
        drop(up);
        let ok = fs
            .put_bytes("abc125", b"%PDF-1.4 hello", 100)
            .await
            .unwrap();
        assert_eq!(ok.size, 14);
        let count = walk(dir.path());
        assert_eq!(count, 1, "only the finished file remains");
    }

    fn walk(p: &std::path::Path) -> usize {
        std::fs::read_dir(p)
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                if e.file_type().unwrap().is_dir() {
                    walk(&e.path())
                } else {
                    1
                }
            })
            .sum()
    }
}
