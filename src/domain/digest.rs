//! The hash of the integrity chains and of fingerprints: SHA-256 by default,
//! or SM3 (GB/T 32905-2016, 商用密码 practice). A stored digest says which
//! one made it, so a store can move from one to the other and every digest
//! made before still checks.

use sha2::Digest;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Algo {
    #[default]
    Sha256,
    Sm3,
}

impl Algo {
    pub fn code(self) -> &'static str {
        match self {
            Algo::Sha256 => "sha256",
            Algo::Sm3 => "sm3",
        }
    }

    pub fn parse(s: &str) -> Option<Algo> {
        match s.trim().to_ascii_lowercase().as_str() {
            "sha256" | "sha-256" => Some(Algo::Sha256),
            "sm3" => Some(Algo::Sm3),
            _ => None,
        }
    }

    /// Lower-case hex digest of `parts`, fed in order.
    pub fn hex(self, parts: &[&[u8]]) -> String {
        fn run<D: Digest>(parts: &[&[u8]]) -> String {
            let mut d = D::new();
            for p in parts {
                d.update(p);
            }
            hex::encode(d.finalize())
        }
        match self {
            Algo::Sha256 => run::<sha2::Sha256>(parts),
            Algo::Sm3 => run::<sm3::Sm3>(parts),
        }
    }

    /// A fingerprint as stored: SHA-256 ones are bare hex (as every
    /// fingerprint made before SM3 was offered), others carry their name.
    pub fn tag(self, hex: String) -> String {
        match self {
            Algo::Sha256 => hex,
            other => format!("{}:{hex}", other.code()),
        }
    }

    /// Which algorithm made a stored fingerprint, and its hex.
    pub fn untag(stored: &str) -> (Option<Algo>, &str) {
        match stored.split_once(':') {
            Some((name, hex)) => (Algo::parse(name), hex),
            None => (Some(Algo::Sha256), stored),
        }
    }
}

/// A streaming digest of either kind (files read in pieces).
pub enum Hasher {
    Sha256(sha2::Sha256),
    Sm3(sm3::Sm3),
}

impl Hasher {
    pub fn new(algo: Algo) -> Hasher {
        match algo {
            Algo::Sha256 => Hasher::Sha256(sha2::Sha256::new()),
            Algo::Sm3 => Hasher::Sm3(sm3::Sm3::new()),
        }
    }
    pub fn update(&mut self, bytes: &[u8]) {
        match self {
            Hasher::Sha256(d) => d.update(bytes),
            Hasher::Sm3(d) => d.update(bytes),
        }
    }
    pub fn hex(self) -> String {
        match self {
            Hasher::Sha256(d) => hex::encode(d.finalize()),
            Hasher::Sm3(d) => hex::encode(d.finalize()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The standard's own example (GB/T 32905-2016 appendix A: "abc") and
    /// FIPS 180-2's for SHA-256.
    #[test]
    fn both_algorithms_give_their_standard_test_vectors() {
        assert_eq!(
            Algo::Sm3.hex(&[b"a", b"bc"]),
            "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
        );
        assert_eq!(
            Algo::Sha256.hex(&[b"abc"]),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let mut h = Hasher::new(Algo::Sm3);
        h.update(b"ab");
        h.update(b"c");
        assert_eq!(h.hex(), Algo::Sm3.hex(&[b"abc"]));
    }

    #[test]
    fn stored_fingerprints_say_their_algorithm_and_old_ones_are_sha256() {
        let sm3 = Algo::Sm3.tag("ab".into());
        assert_eq!(sm3, "sm3:ab");
        assert_eq!(Algo::untag(&sm3), (Some(Algo::Sm3), "ab"));
        assert_eq!(Algo::untag("cd"), (Some(Algo::Sha256), "cd"));
        assert_eq!(Algo::untag("md5:cd").0, None);
    }
}
