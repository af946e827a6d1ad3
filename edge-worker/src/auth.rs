//! Who is asking: the session check of every route that needs one ([`Authed`]), the isolate's
//! short-lived memory of sessions for the record routes, and the operators' token. Passwords
//! and tokens themselves are made and checked in `secrets.rs`.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use terrapin_core::wire;
use worker::{Request, RouteContext};

use crate::config::Config;
use crate::db::{Db, User};
use crate::error::ApiError;
use crate::http::now_ms;
use crate::secrets;

/// An authenticated request: the directory, the user, and the hash of the session it came
/// with. Every route that needs a session starts with one.
pub struct Authed {
    pub db: Db,
    pub user: Rc<User>,
    /// The SHA-256 of the session token.
    pub session: String,
}

impl Authed {
    /// The session of `Authorization: Token <session>`, checked in D1 now (account routes).
    pub async fn fresh(req: &Request, ctx: &RouteContext<Config>) -> Result<Self, ApiError> {
        Self::by_hash(session_hash(req)?, ctx).await
    }

    /// A session found elsewhere (the live socket's subprotocol), checked in D1 now.
    pub async fn by_hash(session: String, ctx: &RouteContext<Config>) -> Result<Self, ApiError> {
        let db = Db::from_ctx(ctx)?;
        let user = Rc::new(authenticate_hash(&session, &db, &ctx.data).await?);
        Ok(Self { db, user, session })
    }

    /// Like [`Self::fresh`], trusting a session this isolate looked up within
    /// `SESSION_CACHE_MS` (the record routes: the sync hot path costs no directory lookup).
    pub async fn cached(req: &Request, ctx: &RouteContext<Config>) -> Result<Self, ApiError> {
        let session = session_hash(req)?;
        let db = Db::from_ctx(ctx)?;
        let now = now_ms();
        let hit = SESSIONS.with(|s| {
            s.borrow()
                .get(&session)
                .filter(|(_, at)| now - *at < SESSION_CACHE_MS)
                .map(|(u, _)| u.clone())
        });
        let user = match hit {
            Some(user) => user,
            None => {
                let user = Rc::new(authenticate_hash(&session, &db, &ctx.data).await?);
                remember(&session, &user, now);
                user
            }
        };
        Ok(Self { db, user, session })
    }
}

/// The SHA-256 of the request's `Authorization: Token <session>` (401 if absent or another
/// scheme).
pub fn session_hash(req: &Request) -> Result<String, ApiError> {
    let header = req
        .headers()
        .get("Authorization")
        .ok()
        .flatten()
        .ok_or_else(|| ApiError::new(401, "missing authorization header"))?;
    let token = wire::session_token(&header)
        .ok_or_else(|| ApiError::new(401, "invalid authorization header"))?;
    Ok(secrets::token_hash(token))
}

/// Longest a session goes between refreshes of its `last_used`: rows written, not reads,
/// are what the platform counts.
const SESSION_TOUCH_MS: f64 = 24.0 * 3600.0 * 1000.0;

/// The user of a session, found by its token's hash (the index lookup is the comparison). One
/// unused for `SESSION_IDLE_SECONDS` is ended here.
async fn authenticate_hash(hash: &str, db: &Db, cfg: &Config) -> Result<User, ApiError> {
    let Some((user, last_used)) = db.session_user(hash).await? else {
        // atuin's CLI prints the reason and keeps its saved session, so it says what to do.
        return Err(ApiError::new(
            403,
            "session not found: it was ended (a password change ends the account's other \
             sessions; a log-out ends its own) or never issued; on this machine run \
             `atuin logout`, then `atuin login`",
        ));
    };
    let now = now_ms();
    let idle_ms = cfg.session_idle_seconds as f64 * 1000.0;
    if now - last_used > idle_ms {
        db.delete_session(hash).await?;
        return Err(ApiError::new(403, "session expired; log in again"));
    }
    if now - last_used > SESSION_TOUCH_MS.min(idle_ms / 10.0) {
        db.touch_session(hash, now).await?;
    }
    Ok(user)
}

/// How long a record route trusts a session it looked up, within one isolate, and how many
/// sessions an isolate remembers. A deleted account's store refuses requests itself, so a
/// remembered session of a deleted account reaches nothing.
const SESSION_CACHE_MS: f64 = 60_000.0;
const SESSION_CACHE_MAX: usize = 10_000;

thread_local! {
    static SESSIONS: RefCell<HashMap<String, (Rc<User>, f64)>> = RefCell::new(HashMap::new());
}

/// Remembers that `session` is `user`'s, as of `now`.
fn remember(session: &str, user: &Rc<User>, now: f64) {
    SESSIONS.with(|s| {
        let mut s = s.borrow_mut();
        if s.len() >= SESSION_CACHE_MAX {
            s.retain(|_, (_, at)| now - *at < SESSION_CACHE_MS);
            if s.len() >= SESSION_CACHE_MAX {
                s.clear();
            }
        }
        s.insert(session.to_owned(), (user.clone(), now));
    });
}

/// Forgets every remembered session of a user (account deleted, password changed, v1 records
/// moved).
pub fn forget_sessions(user: i64) {
    SESSIONS.with(|s| s.borrow_mut().retain(|_, (u, _)| u.id != user));
}

/// The operator routes' check: 404 unless `ADMIN_TOKEN` is set, 401 unless the caller
/// presents it as `Authorization: Bearer <token>`.
pub fn operator(req: &Request, cfg: &Config) -> Result<(), ApiError> {
    let Some(token) = cfg.admin_token.as_deref() else {
        return Err(ApiError::not_found("not found"));
    };
    let given = req
        .headers()
        .get("Authorization")
        .ok()
        .flatten()
        .and_then(|h| h.strip_prefix("Bearer ").map(str::to_owned))
        .unwrap_or_default();
    if secrets::constant_time_eq(given.as_bytes(), token.as_bytes()) {
        Ok(())
    } else {
        Err(ApiError::new(401, "admin token missing or wrong"))
    }
}
