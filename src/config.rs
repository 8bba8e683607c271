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
    /// Province, city and expert accounts must pass a second factor (TOTP)
    /// at every login, enrolling at the first; enterprises may choose to.
    pub require_staff_2fa: bool,
    /// A session that passed the password must pass the second factor
    /// within this time, or log in again.
    pub second_factor_ms: Millis,
    /// A staff password older than this must be changed at the next login
    /// (0: never).
    pub password_max_age_days: i64,
    /// A temporary password (set by an administrator) no longer logs in
    /// after this long.
    pub temporary_password_ms: Millis,
    /// A new password may not be any of the account's last this many.
    pub password_history: i64,
    /// The digest of new integrity-chain links (and of new fingerprints):
    /// SHA-256, or SM3 for 商用密码 practice. Stored with each, so a change
    /// leaves earlier ones checkable.
    pub digest: crate::domain::digest::Algo,
}

pub const MINUTE: Millis = 60_000;
pub const MB: u64 = 1024 * 1024;
pub const DAY: Millis = 24 * 60 * MINUTE;

impl Config {
    /// Whether `user` must pass a second factor at login (`enrolled`: it
    /// has one, which then always applies).
    pub fn second_factor_needed(&self, user: &crate::store::users::User, enrolled: bool) -> bool {
        enrolled || (self.require_staff_2fa && user.role.is_staff())
    }

    /// Whether `user` must change the password before doing anything else:
    /// a temporary one, or a staff password past its age.
    pub fn must_change_password(&self, user: &crate::store::users::User, now: Millis) -> bool {
        user.must_change_password || self.password_expired(user, now)
    }

    /// A staff password older than `password_max_age_days` (not the demo
    /// accounts', whose shared password is printed at start anyway).
    pub fn password_expired(&self, user: &crate::store::users::User, now: Millis) -> bool {
        user.role.is_staff()
            && !user.is_demo
            && self.password_max_age_days > 0
            && now - user.password_set_at > self.password_max_age_days * DAY
    }

    /// A temporary password past its life.
    pub fn temporary_password_expired(
        &self,
        user: &crate::store::users::User,
        now: Millis,
    ) -> bool {
        user.must_change_password && now - user.password_set_at > self.temporary_password_ms
    }
}

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
            require_staff_2fa: true,
            second_factor_ms: 10 * MINUTE,
            password_max_age_days: 90,
            temporary_password_ms: 72 * 60 * MINUTE,
            password_history: 5,
            digest: crate::domain::digest::Algo::Sha256,
        }
    }
}
