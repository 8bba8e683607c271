//! Settings of a running server.

use crate::store::Millis;

#[derive(Debug, Clone)]
pub struct Config {
    /// A session unused for this long ends (等保: idle timeout).
    pub idle_timeout_ms: Millis,
    /// A session ends this long after login, used or not.
    pub absolute_timeout_ms: Millis,
    /// Failed logins of one user name from one client address before that
    /// name is locked from that address (only: its owner elsewhere is not).
    pub lockout_failures: i64,
    pub lockout_ms: Millis,
    /// Failed logins from one client address within `ip_window_ms` after
    /// which its attempts are slowed down (a pause, never a lock-out: a
    /// whole office behind one NAT shares the address).
    pub ip_failure_limit: i64,
    pub ip_window_ms: Millis,
    /// Failed logins of one user name from all addresses within
    /// `ip_window_ms` after which its attempts are slowed down the same way.
    pub name_failure_limit: i64,
    /// The longest pause a slow-down asks for.
    pub max_pause_ms: Millis,
    /// Mark cookies Secure (served over HTTPS, directly or behind a proxy).
    pub secure_cookies: bool,
    /// Reverse proxies whose X-Forwarded-For is believed: a request from one
    /// of these takes its client address from the header; from anywhere
    /// else the header is ignored (it could be forged).
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Largest attachment file accepted.
    pub max_file_bytes: u64,
    /// Largest total of an application's attachments.
    pub max_application_bytes: u64,
    /// Accounts one client address may register per hour (a consultancy
    /// registering its clients stays well under it; a script does not).
    pub registrations_per_hour: i64,
    /// Sessions one account may hold at once; one more ends the one used
    /// longest ago.
    pub max_sessions_per_user: i64,
    /// Largest stored draft (its JSON): the form's longest texts all filled
    /// to their limits take about a tenth of it.
    pub max_draft_bytes: usize,
    /// The digest of new integrity-chain links (and of new fingerprints):
    /// SHA-256, or SM3 for 商用密码 practice. Stored with each, so a change
    /// leaves earlier ones checkable.
    pub digest: crate::domain::digest::Algo,
}

pub const MINUTE: Millis = 60_000;
pub const MB: u64 = 1024 * 1024;

impl Default for Config {
    fn default() -> Self {
        Config {
            idle_timeout_ms: 30 * MINUTE,
            absolute_timeout_ms: 12 * 60 * MINUTE,
            lockout_failures: 5,
            lockout_ms: 15 * MINUTE,
            ip_failure_limit: 50,
            ip_window_ms: 15 * MINUTE,
            name_failure_limit: 10,
            max_pause_ms: MINUTE,
            secure_cookies: false,
            trusted_proxies: Vec::new(),
            max_file_bytes: 20 * MB,
            max_application_bytes: 100 * MB,
            registrations_per_hour: 10,
            max_sessions_per_user: 5,
            max_draft_bytes: MB as usize,
            digest: crate::domain::digest::Algo::Sha256,
        }
    }
}
