//! The one storage module: every SQL statement the worker runs lives here (schema in
//! `migrations/`). D1 binds at most 100 parameters per statement and a `batch()` is one
//! transaction; both facts shape the push below.

use serde::Deserialize;
use terrapin_core::push::{Occupied, SeriesRange, WireRecord};
use terrapin_core::record::{HostId, RecordId, RecordIdx, SeriesKey, Tag};
use terrapin_core::status::Status;
use terrapin_core::wire::NextQuery;
use wasm_bindgen::JsValue;
use worker::{D1Database, D1PreparedStatement, Result};

/// Largest JSON parameter of one insert statement (D1 caps a string at 2 MB).
const MAX_JSON_PARAM: usize = 1_000_000;

pub struct Db(D1Database);

/// An account as stored.
#[derive(Debug, Deserialize)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub password: String,
}

/// Failed logins counted for one username.
#[derive(Debug, Deserialize)]
pub struct Failures {
    pub failures: u32,
    pub window_start: f64,
}

/// Whose records an insert writes: a known user, or the user of a session token hash resolved
/// inside the same transaction (an unknown session makes `user_id` NULL, failing the insert).
#[derive(Clone, Copy, Debug)]
pub enum Owner<'a> {
    User(i64),
    Session(&'a str),
}

impl Owner<'_> {
    /// The SQL expression for `user_id` (parameter ?1) and its value.
    fn bind(&self) -> (&'static str, JsValue) {
        match self {
            Owner::User(id) => ("?1", uid(*id)),
            Owner::Session(hash) => (
                "(SELECT user_id FROM sessions WHERE token_hash = ?1)",
                s(hash),
            ),
        }
    }
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

fn idx(v: RecordIdx) -> JsValue {
    // idx is at most 2^53 - 1 (wire::MAX_IDX): exact as a JS number.
    JsValue::from_f64(v as f64)
}

fn uid(user: i64) -> JsValue {
    JsValue::from_f64(user as f64)
}

impl Db {
    pub fn new(db: D1Database) -> Self {
        Self(db)
    }

    fn stmt(&self, sql: &str, params: &[JsValue]) -> Result<D1PreparedStatement> {
        self.0.prepare(sql).bind(params)
    }

    // ---- accounts ----

    pub async fn user_by_name(&self, username: &str) -> Result<Option<User>> {
        self.stmt(
            "SELECT id, username, password FROM users WHERE username_lower = ?1",
            &[s(&username.to_ascii_lowercase())],
        )?
        .first::<User>(None)
        .await
    }

    /// Creates a user and its first session in one transaction.
    pub async fn register(
        &self,
        username: &str,
        email: &str,
        password_hash: &str,
        token_hash: &str,
        now_ms: f64,
    ) -> Result<Registered> {
        #[derive(Deserialize)]
        struct Taken {
            username_taken: u32,
            email_taken: u32,
        }
        let lower = username.to_ascii_lowercase();
        let taken = self
            .stmt(
                "SELECT EXISTS (SELECT 1 FROM users WHERE username_lower = ?1) AS username_taken, \
                 EXISTS (SELECT 1 FROM users WHERE email = ?2) AS email_taken",
                &[s(&lower), s(email)],
            )?
            .first::<Taken>(None)
            .await?;
        if let Some(t) = taken {
            if t.username_taken != 0 {
                return Ok(Registered::UsernameTaken);
            }
            if t.email_taken != 0 {
                return Ok(Registered::EmailTaken);
            }
        }
        let batch = vec![
            self.stmt(
                "INSERT INTO users (username, username_lower, email, password, created_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                &[
                    s(username),
                    s(&lower),
                    s(email),
                    s(password_hash),
                    n(now_ms),
                ],
            )?,
            self.stmt(
                "INSERT INTO sessions (token_hash, user_id, created_at) \
                 SELECT ?1, id, ?2 FROM users WHERE username_lower = ?3",
                &[s(token_hash), n(now_ms), s(&lower)],
            )?,
        ];
        match self.0.batch(batch).await {
            Ok(_) => Ok(Registered::Ok),
            // A concurrent registration won the race for the unique username or email.
            Err(e) if e.to_string().contains("UNIQUE") => Ok(Registered::UsernameTaken),
            Err(e) => Err(e),
        }
    }

    pub async fn add_session(&self, user: i64, token_hash: &str, now_ms: f64) -> Result<()> {
        self.stmt(
            "INSERT INTO sessions (token_hash, user_id, created_at) VALUES (?1, ?2, ?3)",
            &[s(token_hash), uid(user), n(now_ms)],
        )?
        .run()
        .await?;
        Ok(())
    }

    /// The user owning a session, with the stored token hash (compared by the caller in
    /// constant time).
    pub async fn session_user(&self, token_hash: &str) -> Result<Option<(User, String)>> {
        #[derive(Deserialize)]
        struct Row {
            id: i64,
            username: String,
            password: String,
            token_hash: String,
        }
        let row = self
            .stmt(
                "SELECT u.id, u.username, u.password, s.token_hash FROM sessions s \
                 JOIN users u ON u.id = s.user_id WHERE s.token_hash = ?1",
                &[s(token_hash)],
            )?
            .first::<Row>(None)
            .await?;
        Ok(row.map(|r| {
            (
                User {
                    id: r.id,
                    username: r.username,
                    password: r.password,
                },
                r.token_hash,
            )
        }))
    }

    pub async fn set_password(&self, user: i64, password_hash: &str) -> Result<()> {
        self.stmt(
            "UPDATE users SET password = ?1 WHERE id = ?2",
            &[s(password_hash), uid(user)],
        )?
        .run()
        .await?;
        Ok(())
    }

    /// Removes a user with its sessions, records, idx cache and login counters, atomically.
    pub async fn delete_user(&self, user: &User) -> Result<()> {
        let id = || uid(user.id);
        let batch = vec![
            self.stmt("DELETE FROM records WHERE user_id = ?1", &[id()])?,
            self.stmt("DELETE FROM store_idx_cache WHERE user_id = ?1", &[id()])?,
            self.stmt("DELETE FROM sessions WHERE user_id = ?1", &[id()])?,
            self.stmt(
                "DELETE FROM login_failures WHERE username_lower = ?1",
                &[s(&user.username.to_ascii_lowercase())],
            )?,
            self.stmt("DELETE FROM users WHERE id = ?1", &[id()])?,
        ];
        self.0.batch(batch).await?;
        Ok(())
    }

    // ---- failed logins ----

    pub async fn failures(&self, username: &str) -> Result<Option<Failures>> {
        self.stmt(
            "SELECT failures, window_start FROM login_failures WHERE username_lower = ?1",
            &[s(&username.to_ascii_lowercase())],
        )?
        .first::<Failures>(None)
        .await
    }

    /// Counts one failed login; a window older than `window_ms` starts over.
    pub async fn add_failure(&self, username: &str, now_ms: f64, window_ms: f64) -> Result<()> {
        self.stmt(
            "INSERT INTO login_failures (username_lower, failures, window_start) VALUES (?1, 1, ?2) \
             ON CONFLICT (username_lower) DO UPDATE SET \
             failures = CASE WHEN ?2 - window_start >= ?3 THEN 1 ELSE failures + 1 END, \
             window_start = CASE WHEN ?2 - window_start >= ?3 THEN ?2 ELSE window_start END",
            &[s(&username.to_ascii_lowercase()), n(now_ms), n(window_ms)],
        )?
        .run()
        .await?;
        Ok(())
    }

    pub async fn clear_failures(&self, username: &str) -> Result<()> {
        self.stmt(
            "DELETE FROM login_failures WHERE username_lower = ?1",
            &[s(&username.to_ascii_lowercase())],
        )?
        .run()
        .await?;
        Ok(())
    }

    // ---- records ----

    /// The status from the idx cache (no scan of records).
    pub async fn status(&self, user: i64) -> Result<Status> {
        #[derive(Deserialize)]
        struct Row {
            host: String,
            tag: String,
            idx: u64,
        }
        let rows = self
            .stmt(
                "SELECT host, tag, idx FROM store_idx_cache WHERE user_id = ?1",
                &[uid(user)],
            )?
            .all()
            .await?
            .results::<Row>()?;
        let mut status = Status::new();
        for r in rows {
            // Hosts were validated as UUIDs on the way in.
            if let Ok(host) = r.host.parse::<HostId>() {
                status.set(SeriesKey::new(host, Tag::from(r.tag)), r.idx);
            }
        }
        Ok(status)
    }

    /// What the store holds in the slots a batch touches.
    pub async fn occupied(&self, user: i64, ranges: &[SeriesRange]) -> Result<Occupied> {
        #[derive(Deserialize)]
        struct Row {
            host: String,
            tag: String,
            idx: u64,
            id: String,
        }
        let mut out = Occupied::new();
        if ranges.is_empty() {
            return Ok(out);
        }
        // One statement for every series of the batch: the spans travel as one JSON parameter.
        let spans: Vec<_> = ranges
            .iter()
            .map(|r| {
                (
                    r.series.host.to_string(),
                    r.series.tag.as_str(),
                    r.first,
                    r.last,
                )
            })
            .collect();
        let spans =
            serde_json::to_string(&spans).map_err(|e| worker::Error::RustError(e.to_string()))?;
        let rows = self
            .stmt(
                "SELECT r.host, r.tag, r.idx, r.id FROM json_each(?2) AS j \
                 CROSS JOIN records AS r ON r.user_id = ?1 AND r.host = j.value ->> 0 \
                 AND r.tag = j.value ->> 1 AND r.idx BETWEEN j.value ->> 2 AND j.value ->> 3",
                &[uid(user), s(&spans)],
            )?
            .all()
            .await?
            .results::<Row>()?;
        for row in rows {
            if let (Ok(host), Ok(id)) = (row.host.parse::<HostId>(), row.id.parse::<RecordId>()) {
                out.insert((SeriesKey::new(host, Tag::from(row.tag)), row.idx), id);
            }
        }
        Ok(out)
    }

    /// Inserts `new` records and raises the idx cache to `last_idx`, in one transaction.
    /// Fails as a whole (storing nothing) if any slot was taken meanwhile.
    pub async fn insert(
        &self,
        owner: Owner<'_>,
        new: &[&WireRecord],
        last_idx: &[(SeriesKey, RecordIdx)],
    ) -> Result<()> {
        let mut batch = Vec::new();
        // Each statement inserts a chunk of rows passed as one JSON parameter (expanded by
        // json_each), far below D1's 100-parameter limit whatever the batch size; chunks keep
        // each parameter under `MAX_JSON_PARAM` bytes.
        let mut chunk = String::from("[");
        for r in new {
            let row = serde_json::to_string(&(
                r.host.id.to_string(),
                r.tag.as_str(),
                r.idx,
                r.id.to_string(),
                r.timestamp,
                r.version.as_str(),
                &r.data.data,
                &r.data.content_encryption_key,
            ))
            .map_err(|e| worker::Error::RustError(e.to_string()))?;
            if chunk.len() > 1 && chunk.len() + row.len() + 1 > MAX_JSON_PARAM {
                chunk.push(']');
                batch.push(self.insert_rows(owner, &chunk)?);
                chunk = String::from("[");
            }
            if chunk.len() > 1 {
                chunk.push(',');
            }
            chunk.push_str(&row);
        }
        if chunk.len() > 1 {
            chunk.push(']');
            batch.push(self.insert_rows(owner, &chunk)?);
        }
        if !last_idx.is_empty() {
            // One statement for every series of the batch, whatever their number.
            let (user_sql, user) = owner.bind();
            let series: Vec<_> = last_idx
                .iter()
                .map(|(k, last)| (k.host.to_string(), k.tag.as_str(), *last))
                .collect();
            let series = serde_json::to_string(&series)
                .map_err(|e| worker::Error::RustError(e.to_string()))?;
            batch.push(self.stmt(
                &format!(
                    "INSERT INTO store_idx_cache (user_id, host, tag, idx) \
                     SELECT {user_sql}, value ->> 0, value ->> 1, value ->> 2 \
                     FROM json_each(?2) WHERE true \
                     ON CONFLICT (user_id, host, tag) DO UPDATE SET idx = max(idx, excluded.idx)"
                ),
                &[user, s(&series)],
            )?);
        }
        if batch.is_empty() {
            return Ok(());
        }
        self.0.batch(batch).await?;
        Ok(())
    }

    fn insert_rows(&self, owner: Owner<'_>, rows_json: &str) -> Result<D1PreparedStatement> {
        // Plain INSERT: a taken slot fails the whole batch (transaction), storing nothing.
        // Timestamps travel as JSON integers, which SQLite reads exactly as 64-bit.
        let (user_sql, user) = owner.bind();
        self.stmt(
            &format!(
                "INSERT INTO records (user_id, host, tag, idx, id, timestamp, version, data, cek) \
                 SELECT {user_sql}, value ->> 0, value ->> 1, value ->> 2, value ->> 3, \
                 value ->> 4, value ->> 5, value ->> 6, value ->> 7 FROM json_each(?2)"
            ),
            &[user, s(rows_json)],
        )
    }

    /// Up to `count` records of one series from `start`, ascending by idx, already as the JSON
    /// array Atuin expects (built by SQLite so 64-bit timestamps stay exact).
    pub async fn next(&self, user: i64, q: &NextQuery) -> Result<String> {
        let rows = self
            .stmt(
                "SELECT json_object('id', id, 'idx', idx, \
                 'host', json_object('id', host, 'name', ''), \
                 'timestamp', timestamp, 'version', version, 'tag', tag, \
                 'data', json_object('data', data, 'content_encryption_key', cek)) \
                 FROM records WHERE user_id = ?1 AND host = ?2 AND tag = ?3 AND idx >= ?4 \
                 ORDER BY idx LIMIT ?5",
                &[
                    uid(user),
                    s(&q.host.to_string()),
                    s(q.tag.as_str()),
                    idx(q.start),
                    n(q.count as f64),
                ],
            )?
            .raw::<String>()
            .await?;
        let mut out = String::with_capacity(
            2 + rows
                .iter()
                .map(|r| r.first().map_or(0, String::len) + 1)
                .sum::<usize>(),
        );
        out.push('[');
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

    /// Removes every record of a user (the account stays).
    pub async fn delete_store(&self, user: i64) -> Result<()> {
        let batch = vec![
            self.stmt("DELETE FROM records WHERE user_id = ?1", &[uid(user)])?,
            self.stmt(
                "DELETE FROM store_idx_cache WHERE user_id = ?1",
                &[uid(user)],
            )?,
        ];
        self.0.batch(batch).await?;
        Ok(())
    }
}
