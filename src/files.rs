//! Attachment and export storage, through the `object_store` crate: a local
//! folder by default, an S3-compatible bucket in production, so that several
//! `serve` processes share every stored file. Content is judged by its first
//! bytes, never by its name; sizes are bounded while streaming, so an upload
//! is never held whole in memory (small files are put in one request, large
//! ones go up as a multipart upload); SHA-256 is computed on the way in and
//! checked again on every whole read.

use std::ops::Range;
use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use object_store::buffered::BufWriter;
use object_store::path::Path as ObjectPath;
use object_store::{GetOptions, GetRange, ObjectStore, ObjectStoreExt};
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

/// Where the bucket is: `--s3-bucket` and its companions (`serve --help`);
/// credentials come from `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY`.
#[derive(Debug, Clone, Default)]
pub struct S3Settings {
    pub bucket: String,
    pub endpoint: Option<String>,
    pub region: Option<String>,
    pub allow_http: bool,
}

#[derive(Clone, Debug)]
pub struct FileStore {
    store: Arc<dyn ObjectStore>,
    /// The folder, when the store is a local one (crash leftovers are swept there).
    local: Option<Arc<std::path::Path>>,
}

/// Uploads are buffered up to this size, then go up in parts of it (5 MiB,
/// the smallest part S3 accepts).
const PART: usize = 5 << 20;

pub fn human_size(bytes: u64) -> String {
    if bytes >= 1 << 20 {
        format!("{:.1} MB", bytes as f64 / (1u64 << 20) as f64).replace(".0 MB", " MB")
    } else if bytes >= 1 << 10 {
        format!("{} KB", bytes.div_ceil(1 << 10))
    } else {
        format!("{bytes} 字节")
    }
}

/// A read under way: the object's whole size, the bytes this read returns,
/// and their stream.
pub struct Reading {
    pub total: u64,
    pub range: Range<u64>,
    pub stream: BoxStream<'static, std::io::Result<Bytes>>,
}

fn io_err(e: object_store::Error) -> std::io::Error {
    e.into()
}

impl FileStore {
    /// The local folder `root` (created if missing); writes are fsynced.
    pub fn local(root: PathBuf) -> FileStore {
        if let Err(e) = std::fs::create_dir_all(&root) {
            panic!("无法创建附件目录 {}：{e}", root.display());
        }
        let fs = object_store::local::LocalFileSystem::new_with_prefix(&root)
            .unwrap_or_else(|e| panic!("无法打开附件目录 {}：{e}", root.display()))
            .with_fsync(true);
        FileStore {
            store: Arc::new(fs),
            local: Some(root.into()),
        }
    }

    /// An S3-compatible bucket.
    pub fn s3(s: &S3Settings) -> anyhow::Result<FileStore> {
        // reqwest is built without a TLS provider of its own (see Cargo.toml);
        // ring's lacks only the post-quantum key exchange, hence deprecated.
        #[allow(deprecated)]
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut b = object_store::aws::AmazonS3Builder::from_env()
            .with_bucket_name(&s.bucket)
            .with_allow_http(s.allow_http);
        if let Some(e) = &s.endpoint {
            // Path-style addressing: what MinIO, Ceph and most private endpoints expect.
            b = b.with_endpoint(e).with_virtual_hosted_style_request(false);
        }
        if let Some(r) = &s.region {
            b = b.with_region(r);
        }
        let store = b
            .build()
            .map_err(|e| anyhow::anyhow!("对象存储设置有误：{e}"))?;
        Ok(FileStore {
            store: Arc::new(store),
            local: None,
        })
    }

    /// The S3 bucket when `s3` names one, the local folder otherwise.
    pub fn open(local: PathBuf, s3: Option<&S3Settings>) -> anyhow::Result<FileStore> {
        match s3 {
            Some(s) => FileStore::s3(s),
            None => Ok(FileStore::local(local)),
        }
    }

    /// Where `key` is, when the store is a local folder (tests damage files there).
    pub fn local_path(&self, key: &str) -> Option<PathBuf> {
        self.local
            .as_ref()
            .map(|root| root.join(Self::path(key).as_ref()))
    }

    fn path(key: &str) -> ObjectPath {
        // Keys are generated ids (hex), never user input.
        let safe: String = key.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
        let shard = safe
            .get(safe.len().saturating_sub(2)..)
            .unwrap_or("00")
            .to_string();
        ObjectPath::from(format!("{shard}/{safe}"))
    }

    fn export_path(id: &str) -> ObjectPath {
        let safe: String = id.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
        ObjectPath::from(format!("exports/{safe}.zip"))
    }

    /// Starts writing `key`; at most `limit` bytes are accepted.
    pub async fn create(&self, key: &str, limit: u64) -> Result<Upload, PutError> {
        Ok(Upload {
            writer: Some(BufWriter::with_capacity(
                self.store.clone(),
                Self::path(key),
                PART,
            )),
            limit,
            size: 0,
            head: Vec::with_capacity(8),
            hasher: Sha256::new(),
        })
    }

    async fn read_path(
        &self,
        path: &ObjectPath,
        range: Option<Range<u64>>,
    ) -> std::io::Result<Reading> {
        let opts = GetOptions {
            range: range.map(GetRange::Bounded),
            ..GetOptions::default()
        };
        let got = self.store.get_opts(path, opts).await.map_err(io_err)?;
        Ok(Reading {
            total: got.meta.size,
            range: got.range.clone(),
            stream: got.into_stream().map(|r| r.map_err(io_err)).boxed(),
        })
    }

    /// Reads `key`, whole or the bytes of `range`.
    pub async fn read(&self, key: &str, range: Option<Range<u64>>) -> std::io::Result<Reading> {
        self.read_path(&Self::path(key), range).await
    }

    /// Reads `key` whole; when its bytes do not hash to `sha256` (a file
    /// changed or damaged where it is stored), the stream ends in an error
    /// instead of its last chunk, so the download is cut off, never passed
    /// off as complete.
    pub async fn read_checked(&self, key: &str, sha256: &str) -> std::io::Result<Reading> {
        let r = self.read(key, None).await?;
        Ok(Reading {
            stream: checked(r.stream, sha256.to_string(), key.to_string()),
            ..r
        })
    }

    /// The size of `key`, or `None` when it is not stored.
    pub async fn size(&self, key: &str) -> std::io::Result<Option<u64>> {
        self.size_of(&Self::path(key)).await
    }

    async fn size_of(&self, path: &ObjectPath) -> std::io::Result<Option<u64>> {
        match self.store.head(path).await {
            Ok(m) => Ok(Some(m.size)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(io_err(e)),
        }
    }

    /// The SHA-256 of what is stored under `key`, or `None` when nothing is.
    pub async fn sha256(&self, key: &str) -> std::io::Result<Option<String>> {
        let mut r = match self.read(key, None).await {
            Ok(r) => r,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let mut h = Sha256::new();
        while let Some(chunk) = r.stream.next().await {
            h.update(&chunk?);
        }
        Ok(Some(hex::encode(h.finalize())))
    }

    /// A blocking reader of `key` (the zip writer is synchronous); call it
    /// off the runtime's worker threads.
    pub fn blocking_reader(
        &self,
        key: &str,
        rt: tokio::runtime::Handle,
    ) -> std::io::Result<Box<dyn std::io::Read + Send>> {
        let r = rt.block_on(self.read(key, None))?;
        let reader = tokio_util::io::StreamReader::new(r.stream);
        Ok(Box::new(tokio_util::io::SyncIoBridge::new_with_handle(
            reader, rt,
        )))
    }

    pub async fn delete(&self, key: &str) -> std::io::Result<()> {
        match self.store.delete(&Self::path(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(io_err(e)),
        }
    }

    /// Stores the finished export package `file` (a local file) under the
    /// export `id`, streaming it up; returns its size.
    pub async fn put_export(&self, id: &str, file: &std::path::Path) -> std::io::Result<u64> {
        let mut src = tokio::fs::File::open(file).await?;
        let mut w = BufWriter::with_capacity(self.store.clone(), Self::export_path(id), PART);
        match tokio::io::copy(&mut src, &mut w).await {
            Ok(n) => {
                w.shutdown().await?;
                Ok(n)
            }
            Err(e) => {
                let _ = w.abort().await;
                Err(e)
            }
        }
    }

    /// Reads the export package `id`, whole or the bytes of `range`.
    pub async fn read_export(
        &self,
        id: &str,
        range: Option<Range<u64>>,
    ) -> std::io::Result<Reading> {
        self.read_path(&Self::export_path(id), range).await
    }

    /// The size of the export package `id`, or `None` when it is not stored.
    pub async fn export_size(&self, id: &str) -> std::io::Result<Option<u64>> {
        self.size_of(&Self::export_path(id)).await
    }

    /// Removes the staging files of uploads a crash cut off in a local
    /// folder (an unfinished upload removes its own otherwise); run at
    /// start, before any upload. Returns how many were removed. (A bucket
    /// sweeps its unfinished multipart uploads by its lifecycle rule.)
    pub fn remove_partials(&self) -> usize {
        let Some(root) = &self.local else {
            return 0;
        };
        let Ok(shards) = std::fs::read_dir(&**root) else {
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
                // `object_store` stages a write as `<key>#<n>`; `.part` was ours before it.
                let partial = p.extension().is_some_and(|e| e == "part")
                    || f.file_name().to_string_lossy().contains('#');
                if partial && std::fs::remove_file(&p).is_ok() {
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

/// `stream`, hashed as it passes; ends in an error when the whole does not
/// hash to `expected`.
fn checked(
    stream: BoxStream<'static, std::io::Result<Bytes>>,
    expected: String,
    key: String,
) -> BoxStream<'static, std::io::Result<Bytes>> {
    futures_util::stream::unfold(
        (stream, Some(Sha256::new())),
        move |(mut s, mut h)| {
            let (expected, key) = (expected.clone(), key.clone());
            async move {
                let hasher = h.as_mut()?;
                match s.next().await {
                    Some(Ok(chunk)) => {
                        hasher.update(&chunk);
                        Some((Ok(chunk), (s, h)))
                    }
                    Some(Err(e)) => Some((Err(e), (s, None))),
                    None => {
                        let actual = hex::encode(h.take()?.finalize());
                        if actual.eq_ignore_ascii_case(&expected) {
                            None
                        } else {
                            tracing::error!(%key, %expected, %actual, "stored file fails its SHA-256 check");
                            Some((
                                Err(std::io::Error::other("文件校验失败：与登记的 SHA-256 不符")),
                                (s, None),
                            ))
                        }
                    }
                }
            }
        },
    )
    .boxed()
}

/// An upload in progress; dropped unfinished, what it wrote is removed.
pub struct Upload {
    writer: Option<BufWriter>,
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
        if let Some(w) = self.writer.as_mut() {
            w.write_all(chunk).await?;
        }
        Ok(())
    }

    /// Makes the file durable and visible under its key.
    pub async fn finish(mut self) -> Result<Stored, PutError> {
        if self.size == 0 {
            return Err(PutError::Empty);
        }
        let kind = FileKind::sniff(&self.head).ok_or(PutError::BadType)?;
        if let Some(w) = self.writer.as_mut() {
            w.shutdown().await?;
        }
        self.writer = None;
        Ok(Stored {
            size: self.size,
            sha256: hex::encode(self.hasher.clone().finalize()),
            kind,
        })
    }
}

impl Drop for Upload {
    fn drop(&mut self) {
        if let Some(mut w) = self.writer.take()
            && let Ok(rt) = tokio::runtime::Handle::try_current()
        {
            rt.spawn(async move {
                let _ = w.abort().await;
            });
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
        // A crash cut off a write: its staging file is left behind.
        std::fs::create_dir_all(dir.path().join("bb")).expect("mkdir");
        std::fs::write(dir.path().join("bb").join("01bb#3"), b"%PDF-1.4 cut off").expect("write");
        assert_eq!(store.remove_partials(), 1);
        assert!(!dir.path().join("bb").join("01bb#3").exists());
        assert!(store.read("01aa", None).await.is_ok());
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
