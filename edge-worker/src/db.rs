//! The account directory in D1: every SQL statement the worker runs against D1 lives here
//! (schema in `migrations/`). Records live in each account's `UserStore` (`store.rs`); D1 only
//! still holds v1 records until they are moved. D1 binds at most 100 parameters per statement
//! and a `batch()` is one transaction.

use core::cell::Cell;

use serde::de::DeserializeOwned;
use serde::Deserialize;
use wasm_bindgen::JsValue;
use worker::{D1Database, D1PreparedStatement, D1Result, Result, RouteContext};

use crate::config::Config;
use crate::error::ApiError;

/// Rows read and written, as counted by SQL cursors (D1 meta or a store's).
#[derive(Clone, Copy, Debug, Default)]
pub struct Rows {
    pub read: usize,
    pub written: usize,
}

pub struct Db {
    db: D1Database,
    rows: Cell<Rows>,
}

/// An account as stored.
#[derive(Debug, Deserialize)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub password: String,
    /// Name of the account's `UserStore`.
    pub store_id: String,
    /// Whether v1 records may still wait in D1 to be moved.
    pub legacy_records: i64,
}

/// Password attempts counted in one window.
#[derive(Clone, Copy, Debug, Deserialize)]
pub struct Counter {
    pub attempts: u32,
    pub window_start: f64,
}

/// The counters of one attempt: from its address, and on its username from everywhere.
#[derive(Clone, Copy, Debug)]
pub struct Attempts {
    pub address: Counter,
    pub user: Counter,
}

fn attempt_key_addr(username_lower: &str, address: &str) -> String {
    format!("addr {username_lower} {address}")
}

fn attempt_key_user(username_lower: &str) -> String {
    format!("user {username_lower}")
}

/// One account in the operators' list.
#[derive(Debug, Deserialize)]
pub struct Listed {
    pub username: String,
    pub email: String,
    pub created_at: f64,
    pub store_id: String,
    pub sessions: u32,
}

/// The key and size of one v1 record.
#[derive(Clone, Debug, Deserialize)]
pub struct LegacyKey {
    pub host: String,
    pub tag: String,
    pub idx: f64,
    pub size: f64,
}

/// Outcome of an attempted registration.
pub enum Registered {
    Ok,
    UsernameTaken,
    EmailTaken,
}

fn s(v: &str) -> JsValue {
    JsValue::from_str(v)
}

fn n(v: f64) -> JsValue {
    JsValue::from_f64(v)
}

fn uid(user: i64) -> JsValue {
    JsValue::from_f64(user as f64)
}

const USER_COLUMNS: &str = "u.id, u.username, u.password, u.store_id, u.legacy_records";

impl Db {
    /// The directory of the worker's `DB` binding.
    pub fn from_ctx(ctx: &RouteContext<Config>) -> core::result::Result<Self, ApiError> {
        ctx.env
            .d1("DB")
            .map(Db::new)
            .map_err(|e| ApiError::internal("database binding missing", e))
    }

    pub fn new(db: D1Database) -> Self {
        Self {
            db,
            rows: Cell::new(Rows::default()),
        }
    }

    /// Rows D1 reported read and written by this handle's statements.
    pub fn rows(&self) -> Rows {
        self.rows.get()
    }

    fn tally(&self, r: &D1Result) {
        if let Ok(Some(m)) = r.meta() {
            let mut t = self.rows.get();
            t.read += m.rows_read.unwrap_or(0);
            t.written += m.rows_written.unwrap_or(0);
            self.rows.set(t);
        }
    }

    fn stmt(&self, sql: &str, params: &[JsValue]) -> Result<D1PreparedStatement> {
        self.db.prepare(sql).bind(params)
    }

    /// Runs one statement and returns its rows.
    async fn all<T: DeserializeOwned>(&self, sql: &str, params: &[JsValue]) -> Result<Vec<T>> {
        let r = self.stmt(sql, params)?.all().await?;
        self.tally(&r);
        r.results()
    }

    /// Runs one statement; returns how many rows it changed.
    async fn exec(&self, sql: &str, params: &[JsValue]) -> Result<usize> {
        let r = self.stmt(sql, params)?.run().await?;
        self.tally(&r);
        Ok(r.meta().ok().flatten().and_then(|m| m.changes).unwrap_or(0))
    }

    /// Runs statements in one transaction; returns each one's result.
    async fn batch(&self, stmts: Vec<D1PreparedStatement>) -> Result<Vec<D1Result>> {
        let results = self.db.batch(stmts).await?;
        for r in &results {
            self.tally(r);
        }
        Ok(results)
    }

    // ---- accounts ----

    pub async fn user_by_name(&self, username: &str) -> Result<Option<User>> {
        Ok(self
            .all(
                &format!("SELECT {USER_COLUMNS} FROM users u WHERE u.username_lower = ?1"),
                &[s(&username.to_ascii_lowercase())],
            )
            .await?
            .into_iter()
            .next())
    }

    /// Creates a user and its first session in one transaction.
    pub async fn register(
        &self,
        username: &str,
        email: &str,
        password_hash: &str,
        store_id: &str,
        token_hash: Option<&str>,
        now_ms: f64,
    ) -> Result<Registered> {
        #[derive(Deserialize)]
        struct Taken {
            username_taken: u32,
            email_taken: u32,
        }
        let lower = username.to_ascii_lowercase();
        let taken = self
            .all::<Taken>(
                "SELECT EXISTS (SELECT 1 FROM users WHERE username_lower = ?1) AS username_taken, \
                 EXISTS (SELECT 1 FROM users WHERE email = ?2) AS email_taken",
                &[s(&lower), s(email)],
            )
            .await?;
        if let Some(t) = taken.first() {
            if t.username_taken != 0 {
                return Ok(Registered::UsernameTaken);
            }
            if t.email_taken != 0 {
                return Ok(Registered::EmailTaken);
            }
        }
        let mut batch = vec![self.stmt(
            "INSERT INTO users (username, username_lower, email, password, created_at, \
                 store_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            &[
                s(username),
                s(&lower),
                s(email),
                s(password_hash),
                n(now_ms),
                s(store_id),
            ],
        )?];
        if let Some(token_hash) = token_hash {
            batch.push(self.stmt(
                "INSERT INTO sessions (token_hash, user_id, created_at, last_used) \
                 SELECT ?1, id, ?2, ?2 FROM users WHERE username_lower = ?3",
                &[s(token_hash), n(now_ms), s(&lower)],
            )?);
        }
        match self.batch(batch).await {
            Ok(_) => Ok(Registered::Ok),
            // A concurrent registration won the race for the unique username or email.
            Err(e) if e.to_string().contains("UNIQUE") => Ok(Registered::UsernameTaken),
            Err(e) => Err(e),
        }
    }

    /// Adds a session for a user; false if the user no longer exists (deleted meanwhile).
    pub async fn add_session(&self, user: i64, token_hash: &str, now_ms: f64) -> Result<bool> {
        let changed = self
            .exec(
                "INSERT INTO sessions (token_hash, user_id, created_at, last_used) \
                 SELECT ?1, id, ?3, ?3 FROM users WHERE id = ?2",
                &[s(token_hash), uid(user), n(now_ms)],
            )
            .await?;
        Ok(changed == 1)
    }

    /// The user owning a session (looked up by the token's hash), and when the session was
    /// last used.
    pub async fn session_user(&self, token_hash: &str) -> Result<Option<(User, f64)>> {
        #[derive(Deserialize)]
        struct Row {
            #[serde(flatten)]
            user: User,
            last_used: f64,
        }
        let row = self
            .all::<Row>(
                &format!(
                    "SELECT {USER_COLUMNS}, s.last_used FROM sessions s \
                     JOIN users u ON u.id = s.user_id WHERE s.token_hash = ?1"
                ),
                &[s(token_hash)],
            )
            .await?;
        Ok(row.into_iter().next().map(|r| (r.user, r.last_used)))
    }

    /// Marks a session used now.
    pub async fn touch_session(&self, token_hash: &str, now_ms: f64) -> Result<()> {
        self.exec(
            "UPDATE sessions SET last_used = ?2 WHERE token_hash = ?1",
            &[s(token_hash), n(now_ms)],
        )
        .await?;
        Ok(())
    }

    /// Ends one session; whether it existed.
    pub async fn delete_session(&self, token_hash: &str) -> Result<bool> {
        Ok(self
            .exec(
                "DELETE FROM sessions WHERE token_hash = ?1",
                &[s(token_hash)],
            )
            .await?
            == 1)
    }

    /// Sets a user's password and ends every session but `keep` (none if `None`), in one
    /// transaction; returns how many sessions ended.
    pub async fn set_password(
        &self,
        user: i64,
        password_hash: &str,
        keep: Option<&str>,
    ) -> Result<usize> {
        let mut batch = vec![self.stmt(
            "UPDATE users SET password = ?1 WHERE id = ?2",
            &[s(password_hash), uid(user)],
        )?];
        if let Some(keep) = keep {
            batch.push(self.stmt(
                "DELETE FROM sessions WHERE user_id = ?1 AND token_hash != ?2",
                &[uid(user), s(keep)],
            )?);
        }
        let results = self.batch(batch).await?;
        Ok(results
            .get(1)
            .and_then(|r| r.meta().ok().flatten())
            .and_then(|m| m.changes)
            .unwrap_or(0))
    }

    /// Every account, in name order, with its number of sessions.
    pub async fn list_users(&self) -> Result<Vec<Listed>> {
        self.all(
            "SELECT u.username, u.email, u.created_at, u.store_id, \
             (SELECT count(*) FROM sessions s WHERE s.user_id = u.id) AS sessions \
             FROM users u ORDER BY u.username_lower",
            &[],
        )
        .await
    }

    /// Removes a user with its sessions, login counters and any v1 records, atomically. The
    /// caller closes the user's store first.
    pub async fn delete_user(&self, user: &User) -> Result<()> {
        let id = || uid(user.id);
        let batch = vec![
            self.stmt("DELETE FROM records WHERE user_id = ?1", &[id()])?,
            self.stmt("DELETE FROM store_idx_cache WHERE user_id = ?1", &[id()])?,
            self.stmt("DELETE FROM sessions WHERE user_id = ?1", &[id()])?,
            self.stmt(
                "DELETE FROM login_attempts WHERE username_lower = ?1",
                &[s(&user.username.to_ascii_lowercase())],
            )?,
            self.stmt("DELETE FROM users WHERE id = ?1", &[id()])?,
        ];
        self.batch(batch).await.map(drop)
    }

    // ---- login attempts ----

    /// Counts one password attempt for `username` from `address` before it is checked, and
    /// drops this username's counters whose window has passed, in one transaction. Returns the
    /// counts within the current windows, this attempt included; `None` if the user is gone.
    pub async fn count_attempt(
        &self,
        username: &str,
        address: &str,
        now_ms: f64,
        window_ms: f64,
    ) -> Result<Option<Attempts>> {
        let lower = username.to_ascii_lowercase();
        // Counted only while the user exists: a login racing the account's deletion leaves
        // no counter behind.
        let upsert = "INSERT INTO login_attempts (key, username_lower, attempts, window_start) \
             SELECT ?1, ?2, 1, ?3 WHERE EXISTS \
             (SELECT 1 FROM users WHERE username_lower = ?2) ON CONFLICT (key) DO UPDATE SET \
             attempts = CASE WHEN ?3 - window_start >= ?4 THEN 1 ELSE attempts + 1 END, \
             window_start = CASE WHEN ?3 - window_start >= ?4 THEN ?3 ELSE window_start END \
             RETURNING attempts, window_start";
        let batch =
            vec![
            self.stmt(
                "DELETE FROM login_attempts WHERE username_lower = ?1 AND ?2 - window_start >= ?3",
                &[s(&lower), n(now_ms), n(window_ms)],
            )?,
            self.stmt(
                upsert,
                &[
                    s(&attempt_key_addr(&lower, address)),
                    s(&lower),
                    n(now_ms),
                    n(window_ms),
                ],
            )?,
            self.stmt(
                upsert,
                &[s(&attempt_key_user(&lower)), s(&lower), n(now_ms), n(window_ms)],
            )?,
        ];
        let results = self.batch(batch).await?;
        let count = |i: usize| -> Result<Option<Counter>> {
            Ok(results
                .get(i)
                .map(|r| r.results::<Counter>())
                .transpose()?
                .and_then(|rows| rows.into_iter().next()))
        };
        Ok(match (count(1)?, count(2)?) {
            (Some(address), Some(user)) => Some(Attempts { address, user }),
            _ => None,
        })
    }

    /// A right password: the address starts over, and the attempt leaves the username's count.
    pub async fn attempt_succeeded(&self, username: &str, address: &str) -> Result<()> {
        let lower = username.to_ascii_lowercase();
        let batch = vec![
            self.stmt(
                "DELETE FROM login_attempts WHERE key = ?1",
                &[s(&attempt_key_addr(&lower, address))],
            )?,
            self.stmt(
                "UPDATE login_attempts SET attempts = max(attempts - 1, 0) WHERE key = ?1",
                &[s(&attempt_key_user(&lower))],
            )?,
        ];
        self.batch(batch).await.map(drop)
    }

    // ---- v1 records (moved to the user's store, then deleted here) ----

    /// The first `limit` v1 records of a user in key order: their keys and sizes.
    pub async fn legacy_keys(&self, user: i64, limit: usize) -> Result<Vec<LegacyKey>> {
        self.all(
            "SELECT host, tag, idx, length(data) + length(cek) AS size FROM records \
             WHERE user_id = ?1 ORDER BY host, tag, idx LIMIT ?2",
            &[uid(user), n(limit as f64)],
        )
        .await
    }

    /// The v1 records of a user up to and including `last` (key order), at most `limit`, as
    /// Atuin's record JSON (built by SQLite so 64-bit timestamps stay exact).
    pub async fn legacy_records(
        &self,
        user: i64,
        last: &LegacyKey,
        limit: usize,
    ) -> Result<String> {
        let rows = self
            .stmt(
                "SELECT json_object('id', id, 'idx', idx, \
                 'host', json_object('id', host, 'name', ''), \
                 'timestamp', timestamp, 'version', version, 'tag', tag, \
                 'data', json_object('data', data, 'content_encryption_key', cek)) \
                 FROM records WHERE user_id = ?1 AND (host, tag, idx) <= (?2, ?3, ?4) \
                 ORDER BY host, tag, idx LIMIT ?5",
                &[
                    uid(user),
                    s(&last.host),
                    s(&last.tag),
                    n(last.idx),
                    n(limit as f64),
                ],
            )?
            .raw::<String>()
            .await?;
        let mut out = String::from("[");
        for (i, row) in rows.iter().enumerate() {
            if let Some(j) = row.first() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(j);
            }
        }
        out.push(']');
        Ok(out)
    }

    /// Deletes the v1 records of a user up to and including `last` (key order).
    pub async fn delete_legacy(&self, user: i64, last: &LegacyKey) -> Result<()> {
        self.exec(
            "DELETE FROM records WHERE user_id = ?1 AND (host, tag, idx) <= (?2, ?3, ?4)",
            &[uid(user), s(&last.host), s(&last.tag), n(last.idx)],
        )
        .await?;
        Ok(())
    }

    /// Marks a user's v1 records as moved once none is left, and drops the v1 idx cache.
    pub async fn finish_legacy(&self, user: i64) -> Result<()> {
        let batch = vec![
            self.stmt(
                "DELETE FROM store_idx_cache WHERE user_id = ?1",
                &[uid(user)],
            )?,
            self.stmt(
                "UPDATE users SET legacy_records = 0 WHERE id = ?1 \
                 AND NOT EXISTS (SELECT 1 FROM records WHERE user_id = ?1)",
                &[uid(user)],
            )?,
        ];
        self.batch(batch).await.map(drop)
    }

    /// Drops whatever v1 records a user still has (store delete).
    pub async fn drop_legacy(&self, user: i64) -> Result<()> {
        let batch = vec![
            self.stmt("DELETE FROM records WHERE user_id = ?1", &[uid(user)])?,
            self.stmt(
                "DELETE FROM store_idx_cache WHERE user_id = ?1",
                &[uid(user)],
            )?,
            self.stmt(
                "UPDATE users SET legacy_records = 0 WHERE id = ?1",
                &[uid(user)],
            )?,
        ];
        self.batch(batch).await.map(drop)
    }
}
