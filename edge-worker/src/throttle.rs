//! Password checks under a throttle (docs/PROTOCOL.md §2, "Accounts"). Every attempt is
//! counted before the password is checked, so parallel guesses can't slip past the count:
//! - Cloudflare's Rate Limiting binding `LOGIN_LIMITER`, keyed by (username, address), turns
//!   floods away before they cost a D1 write or a PBKDF2 run. Its counts are per location and
//!   eventually consistent, so it is the first gate, not the rule.
//! - The rule is counted exactly in D1 ([`Db::count_attempt`]): `LOGIN_MAX_FAILURES` attempts
//!   per (username, address) per window. Once a username has had `LOGIN_USER_CEILING`
//!   attempts in a window from everywhere, each address gets one attempt per window. An
//!   attacker elsewhere therefore never locks the owner out; a spread-out attack is slowed.

use worker::{Env, Request};

use crate::config::Config;
use crate::db::Db;
use crate::error::ApiError;
use crate::http::now_ms;

/// The binding's window (`simple.period` in wrangler.toml).
const LIMITER_PERIOD_S: u64 = 60;

/// The client's address as Cloudflare reports it (clients can't set this header through
/// Cloudflare's edge).
pub fn client_address(req: &Request) -> String {
    req.headers()
        .get("CF-Connecting-IP")
        .ok()
        .flatten()
        .unwrap_or_else(|| "unknown".to_owned())
}

/// Checks `password` against the stored hash of `username` under the throttle: 429 with
/// `Retry-After` when this address has used its attempts, 401 when the password is wrong.
pub async fn check_password(
    req: &Request,
    env: &Env,
    cfg: &Config,
    db: &Db,
    username: &str,
    password: &str,
    stored_hash: &str,
) -> Result<(), ApiError> {
    let address = client_address(req);
    let lower = username.to_ascii_lowercase();
    if let Ok(limiter) = env.rate_limiter("LOGIN_LIMITER") {
        let outcome = limiter.limit(format!("{lower} {address}")).await?;
        if !outcome.success {
            return Err(ApiError::too_many(
                "too many login attempts from this address; try again later",
                LIMITER_PERIOD_S,
            ));
        }
    }
    let now = now_ms();
    let window_ms = cfg.login_lockout_seconds as f64 * 1000.0;
    let Some(counts) = db.count_attempt(username, &address, now, window_ms).await? else {
        return Err(ApiError::not_found("user not found"));
    };
    let allowed = if counts.user.attempts > cfg.login_user_ceiling {
        1
    } else {
        cfg.login_max_failures
    };
    if counts.address.attempts > allowed {
        let wait = ((counts.address.window_start + window_ms - now) / 1000.0).ceil();
        let wait = wait.max(1.0) as u64;
        return Err(ApiError::too_many(
            format!("too many failed logins from this address; try again in {wait} s"),
            wait,
        ));
    }
    if !crate::secrets::verify_password(password, stored_hash).await? {
        return Err(ApiError::new(401, "password is not correct"));
    }
    db.attempt_succeeded(username, &address).await?;
    Ok(())
}
