//! The key that seals the secrets the database must not hold in clear (the
//! TOTP secrets of two-factor login): AES-256-GCM through `ring`, a fresh
//! nonce per value, the owning account's id as associated data (a sealed
//! value moved to another account does not open).
//!
//! The key lives outside the database: the file `SHENBAO_SECRET_KEY_FILE`
//! names, or `secret.key` in the data folder, made (0600) at the first
//! start. A copy of the database alone (a stolen `.db` file, a `pg_dump`)
//! gives no secret. Several processes on one PostgreSQL database must be
//! given the same file (docs/deploy.md).

use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock};

use anyhow::Context as _;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};

/// The file name of the key in the data folder.
pub const FILE: &str = "secret.key";
/// Names another file (shared by every process of one deployment).
pub const ENV: &str = "SHENBAO_SECRET_KEY_FILE";
/// What a sealed value starts with.
const PREFIX: &str = "v1.";

pub struct SecretKey {
    key: LessSafeKey,
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(..)")
    }
}

/// A key for a store opened without a data folder (tests on a PostgreSQL
/// schema): one per process, so what it seals opens for as long as the
/// process runs.
pub(super) static EPHEMERAL: LazyLock<Arc<SecretKey>> = LazyLock::new(|| {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("operating system random source");
    Arc::new(SecretKey::from_bytes(&bytes))
});

impl SecretKey {
    fn from_bytes(bytes: &[u8; 32]) -> SecretKey {
        SecretKey {
            key: LessSafeKey::new(UnboundKey::new(&AES_256_GCM, bytes).expect("a 32-byte key")),
        }
    }

    /// The file the key is read from: the one `SHENBAO_SECRET_KEY_FILE`
    /// names, else `secret.key` in the data folder (none without one).
    pub fn path(data_dir: Option<&Path>) -> Option<PathBuf> {
        std::env::var_os(ENV)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| data_dir.map(|d| d.join(FILE)))
    }

    /// Reads the key file, or makes it (0600, 64 hex digits) when there is
    /// none. Two processes starting together keep the one written first.
    pub fn load_or_create(path: &Path) -> anyhow::Result<SecretKey> {
        if !path.exists() {
            let mut bytes = [0u8; 32];
            getrandom::fill(&mut bytes).expect("operating system random source");
            let mut opts = std::fs::OpenOptions::new();
            opts.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
            match opts.open(path) {
                Ok(mut f) => {
                    use std::io::Write as _;
                    f.write_all(hex::encode(bytes).as_bytes())?;
                    f.sync_all()?;
                    return Ok(SecretKey::from_bytes(&bytes));
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => {
                    return Err(e).with_context(|| format!("无法创建密钥文件 {}", path.display()));
                }
            }
        }
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("无法读取密钥文件 {}", path.display()))?;
        let bytes: [u8; 32] = hex::decode(text.trim())
            .ok()
            .and_then(|b| b.try_into().ok())
            .with_context(|| format!("密钥文件 {} 应为64位十六进制数字", path.display()))?;
        Ok(SecretKey::from_bytes(&bytes))
    }

    /// `plain` sealed for account `owner`.
    pub fn seal(&self, owner: &str, plain: &str) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).expect("operating system random source");
        let mut data = plain.as_bytes().to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(owner.as_bytes()),
                &mut data,
            )
            .expect("sealing a short value");
        let mut out = Vec::with_capacity(NONCE_LEN + data.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&data);
        format!("{PREFIX}{}", hex::encode(out))
    }

    /// The value `sealed` holds for `owner`; None when it was not sealed
    /// by this key for this account (or not sealed at all).
    pub fn open(&self, owner: &str, sealed: &str) -> Option<String> {
        let bytes = hex::decode(sealed.strip_prefix(PREFIX)?).ok()?;
        if bytes.len() < NONCE_LEN {
            return None;
        }
        let (nonce, data) = bytes.split_at(NONCE_LEN);
        let mut data = data.to_vec();
        let plain = self
            .key
            .open_in_place(
                Nonce::try_assume_unique_for_key(nonce).ok()?,
                Aad::from(owner.as_bytes()),
                &mut data,
            )
            .ok()?;
        String::from_utf8(plain.to_vec()).ok()
    }

    /// Whether `stored` is a sealed value (not one kept in clear by an
    /// older version).
    pub fn is_sealed(stored: &str) -> bool {
        stored.starts_with(PREFIX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_for_their_owner_and_key() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join(FILE);
        let key = SecretKey::load_or_create(&path).expect("create");
        let again = SecretKey::load_or_create(&path).expect("read");
        let sealed = key.seal("u1", "JBSWY3DPEHPK3PXP");
        assert!(!sealed.contains("JBSWY3DPEHPK3PXP"));
        assert_ne!(sealed, key.seal("u1", "JBSWY3DPEHPK3PXP"), "a fresh nonce");
        assert_eq!(
            again.open("u1", &sealed).as_deref(),
            Some("JBSWY3DPEHPK3PXP")
        );
        assert_eq!(key.open("u2", &sealed), None, "another account's value");
        assert_eq!(EPHEMERAL.open("u1", &sealed), None, "another key");
        assert_eq!(key.open("u1", "JBSWY3DPEHPK3PXP"), None, "a value in clear");
        let mut tampered = sealed.clone();
        let last = if sealed.ends_with("00") { "11" } else { "00" };
        tampered.replace_range(sealed.len() - 2.., last);
        assert_eq!(key.open("u1", &tampered), None);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::write(&path, "not hex").expect("write");
        assert!(SecretKey::load_or_create(&path).is_err());
    }
}
