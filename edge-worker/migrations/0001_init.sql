-- Terrapin edge: accounts, sessions and the record store (Atuin's v0 record API).
-- Shapes follow atuin-server-sqlite's schema (users, sessions, store, store_idx_cache),
-- adapted to D1: session tokens are stored as SHA-256 hashes, records are keyed by their
-- slot (user, host, tag, idx), and failed logins are counted per user.

CREATE TABLE users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    username TEXT NOT NULL,
    username_lower TEXT NOT NULL UNIQUE,
    email TEXT NOT NULL UNIQUE COLLATE NOCASE,
    password TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL
) WITHOUT ROWID;

CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE records (
    user_id INTEGER NOT NULL,
    host TEXT NOT NULL,
    tag TEXT NOT NULL,
    idx INTEGER NOT NULL,
    id TEXT NOT NULL,
    timestamp INTEGER NOT NULL,
    version TEXT NOT NULL,
    data TEXT NOT NULL,
    cek TEXT NOT NULL,
    PRIMARY KEY (user_id, host, tag, idx)
) WITHOUT ROWID;

-- Last idx of every series, raised in the same batch as the inserts: status never scans records.
CREATE TABLE store_idx_cache (
    user_id INTEGER NOT NULL,
    host TEXT NOT NULL,
    tag TEXT NOT NULL,
    idx INTEGER NOT NULL,
    PRIMARY KEY (user_id, host, tag)
) WITHOUT ROWID;

CREATE TABLE login_failures (
    username_lower TEXT PRIMARY KEY,
    failures INTEGER NOT NULL,
    window_start INTEGER NOT NULL
) WITHOUT ROWID;
