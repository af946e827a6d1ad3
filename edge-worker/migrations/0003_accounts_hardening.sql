-- Accounts that hold under attack (docs/PROTOCOL.md §2, "Accounts").
-- Login attempts are counted before the password is checked, per (username, client address)
-- and per username, in fixed windows; the v1 per-username failure counter goes.
DROP TABLE login_failures;
CREATE TABLE login_attempts (
    -- "addr <username_lower> <address>" or "user <username_lower>"
    key TEXT PRIMARY KEY,
    username_lower TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    window_start INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX login_attempts_user ON login_attempts (username_lower);
-- Sessions unused for SESSION_IDLE_SECONDS expire; last_used is refreshed at most daily.
-- Sessions from before this migration count as used now (ms since the Unix epoch), so an
-- upgrade logs nobody out.
ALTER TABLE sessions ADD COLUMN last_used INTEGER NOT NULL DEFAULT 0;
UPDATE sessions SET last_used = CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER);
