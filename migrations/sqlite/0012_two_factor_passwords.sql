-- Two-factor login (TOTP, RFC 6238) with recovery codes, and the staff
-- password policy: expiry, history, temporary passwords that run out.

-- When the current password was set (expiry of staff passwords, the 72-hour
-- life of a temporary one). Existing accounts count from their last change.
ALTER TABLE users ADD COLUMN password_set_at INTEGER NOT NULL DEFAULT 0;
UPDATE users SET password_set_at = updated_at;

-- A session that has passed the password but not yet the second factor
-- reaches only the two-factor pages.
ALTER TABLE sessions ADD COLUMN mfa_pending INTEGER NOT NULL DEFAULT 0;

-- One TOTP secret per account (base32). enrolled_at is NULL while the
-- enrolment is not confirmed with a code; last_step is the time step of the
-- last code accepted, so a code is never accepted twice.
CREATE TABLE user_totp (
    user_id TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    secret TEXT NOT NULL,
    enrolled_at INTEGER,
    last_step INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
);

-- Single-use recovery codes, stored as SHA-256 of the code (each has 80
-- random bits, so a stolen table cannot be searched).
CREATE TABLE recovery_codes (
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL,
    used_at INTEGER,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, code_hash)
);

-- Every password hash an account has had, in the order set (id): the
-- last five may not be chosen again.
CREATE TABLE password_history (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    password_hash TEXT NOT NULL,
    set_at INTEGER NOT NULL
);
CREATE INDEX password_history_user ON password_history(user_id, id);
INSERT INTO password_history (user_id, password_hash, set_at)
    SELECT id, password_hash, password_set_at FROM users;

-- Separation of duties (三权分立): the system, security and audit
-- administrators are roles of their own. SQLite cannot alter a CHECK
-- constraint: the role moves to a new column with the wider check (a
-- column's own CHECK does not keep it from being dropped).
ALTER TABLE users ADD COLUMN role_new TEXT NOT NULL DEFAULT 'enterprise'
    CHECK (role_new IN ('enterprise', 'city', 'province', 'expert', 'sysadmin', 'secadmin', 'auditor'));
UPDATE users SET role_new = role;
ALTER TABLE users DROP COLUMN role;
ALTER TABLE users RENAME COLUMN role_new TO role;
