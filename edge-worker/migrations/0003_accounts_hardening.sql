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
ALTER TABLE sessions ADD COLUMN last_used INTEGER NOT NULL DEFAULT 0;
UPDATE sessions SET last_used = created_at;
