//! Settings read from the worker's vars (see `wrangler.toml`), with safe defaults.

use terrapin_core::push::PushLimits;
use worker::Env;

use crate::secrets;

/// Shortest admin token accepted.
pub const MIN_ADMIN_TOKEN: usize = 32;

#[derive(Clone, Debug)]
pub struct Config {
    /// `OPEN_REGISTRATION`: whether `POST /register` accepts new accounts.
    pub open_registration: bool,
    /// `CORS_ORIGINS`: comma-separated origins allowed to call the API from a browser
    /// (`*` for any). The worker's own origin is always allowed.
    pub cors_origins: Vec<String>,
    /// `MAX_BODY_BYTES`, `MAX_RECORDS_PER_BATCH`, `MAX_RECORD_BYTES`.
    pub push: PushLimits,
    /// `PAGE_SIZE`: records per request advertised to clients (capability).
    pub page_size: u64,
    /// `MAX_PAGE_SIZE`: the cap on `count` of `/api/v0/record/next`.
    pub max_page_size: u64,
    /// `PBKDF2_ITERATIONS` (at most 100 000, workerd's limit).
    pub pbkdf2_iterations: u32,
    /// `LOGIN_MAX_FAILURES`: password attempts one client address may make for one username
    /// within `LOGIN_LOCKOUT_SECONDS` (429 after that until the window ends).
    pub login_max_failures: u32,
    pub login_lockout_seconds: u64,
    /// `LOGIN_USER_CEILING`: attempts on one username from all addresses within the window
    /// beyond which each address gets a single attempt per window.
    pub login_user_ceiling: u32,
    /// `SESSION_IDLE_SECONDS`: sessions unused this long expire.
    pub session_idle_seconds: u64,
    /// `ADMIN_TOKEN` (a secret): enables the operator routes under `/admin/` for callers that
    /// present it as `Authorization: Bearer <token>`. Unset or shorter than 32 characters:
    /// the routes answer 404.
    pub admin_token: Option<String>,
    /// `LOG_ROW_COUNTS`: log the rows each record request read and wrote (D1 and store).
    pub log_row_counts: bool,
    /// `COMPRESS_ANSWERS`: whether answers are left to be compressed on their way out (by
    /// Cloudflare's edge, or by Miniflare's emulation of it). `false` marks them
    /// `Content-Encoding: identity`, which both pass through as they are; `make dev` sets it, as
    /// it serves only this machine (edge-worker/README.md, "Benchmark").
    pub compress_answers: bool,
}

/// The defaults are the values `wrangler.toml` sets (a test holds them equal), so a deployment
/// whose `[vars]` lack one behaves as documented.
impl Default for Config {
    fn default() -> Self {
        Self {
            open_registration: true,
            cors_origins: Vec::new(),
            push: PushLimits::DEFAULT,
            page_size: 2000,
            max_page_size: 2000,
            pbkdf2_iterations: secrets::MAX_ITERATIONS,
            login_max_failures: 5,
            login_lockout_seconds: 300,
            login_user_ceiling: 20,
            session_idle_seconds: 90 * 24 * 3600,
            admin_token: None,
            log_row_counts: false,
            compress_answers: true,
        }
    }
}

/// A worker's settings by name: its vars (and, for `ADMIN_TOKEN`, its secrets).
trait Vars {
    fn raw(&self, name: &str) -> Option<String>;
    fn secret(&self, name: &str) -> Option<String>;
}

impl Vars for Env {
    fn raw(&self, name: &str) -> Option<String> {
        self.var(name).ok().map(|v| v.to_string())
    }
    fn secret(&self, name: &str) -> Option<String> {
        Env::secret(self, name).ok().map(|v| v.to_string())
    }
}

fn var(env: &impl Vars, name: &str) -> Option<String> {
    env.raw(name)
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

fn flag(env: &impl Vars, name: &str) -> Option<bool> {
    var(env, name).map(|v| matches!(v.to_ascii_lowercase().as_str(), "true" | "1" | "yes"))
}

fn num<T: core::str::FromStr>(env: &impl Vars, name: &str, default: T) -> T {
    var(env, name)
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

impl Config {
    pub fn from_env(env: &Env) -> Self {
        Self::read(env).consistent()
    }

    /// Clients upload `page_size` records per request and download `page_size` per request:
    /// the advertised size never exceeds the batch limit, and `next` serves at least that many.
    fn consistent(mut self) -> Self {
        self.page_size = self.page_size.min(self.push.max_records.max(1) as u64);
        self.max_page_size = self.max_page_size.max(self.page_size);
        self
    }

    fn read(env: &impl Vars) -> Self {
        let d = Self::default();
        Self {
            open_registration: flag(env, "OPEN_REGISTRATION").unwrap_or(d.open_registration),
            cors_origins: var(env, "CORS_ORIGINS")
                .map(|v| {
                    v.split(',')
                        .map(|o| o.trim().trim_end_matches('/').to_owned())
                        .filter(|o| !o.is_empty())
                        .collect()
                })
                .unwrap_or_default(),
            push: PushLimits {
                max_body_bytes: num(env, "MAX_BODY_BYTES", d.push.max_body_bytes),
                max_records: num(env, "MAX_RECORDS_PER_BATCH", d.push.max_records),
                max_record_bytes: num(env, "MAX_RECORD_BYTES", d.push.max_record_bytes),
            },
            page_size: num(env, "PAGE_SIZE", d.page_size).max(1),
            max_page_size: num(env, "MAX_PAGE_SIZE", d.max_page_size).max(1),
            pbkdf2_iterations: num(env, "PBKDF2_ITERATIONS", d.pbkdf2_iterations)
                .clamp(1, secrets::MAX_ITERATIONS),
            login_max_failures: num(env, "LOGIN_MAX_FAILURES", d.login_max_failures).max(1),
            login_lockout_seconds: num(env, "LOGIN_LOCKOUT_SECONDS", d.login_lockout_seconds)
                .max(1),
            login_user_ceiling: num(env, "LOGIN_USER_CEILING", d.login_user_ceiling),
            session_idle_seconds: num(env, "SESSION_IDLE_SECONDS", d.session_idle_seconds).max(1),
            admin_token: env
                .secret("ADMIN_TOKEN")
                .or_else(|| var(env, "ADMIN_TOKEN"))
                .filter(|t| t.len() >= MIN_ADMIN_TOKEN),
            log_row_counts: flag(env, "LOG_ROW_COUNTS").unwrap_or(d.log_row_counts),
            compress_answers: flag(env, "COMPRESS_ANSWERS").unwrap_or(d.compress_answers),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `[vars]` of wrangler.toml, read line by line (`NAME = "value"`).
    struct Toml(Vec<(String, String)>);

    impl Vars for Toml {
        fn raw(&self, name: &str) -> Option<String> {
            self.0
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        }
        fn secret(&self, _: &str) -> Option<String> {
            None
        }
    }

    #[test]
    fn defaults_are_wrangler_tomls_vars() {
        let text = include_str!("../wrangler.toml");
        let vars = text
            .split("[vars]")
            .nth(1)
            .and_then(|rest| rest.split("\n[").next())
            .expect("wrangler.toml has [vars]");
        let toml = Toml(
            vars.lines()
                .filter_map(|l| l.split_once(" = "))
                .map(|(k, v)| (k.trim().to_owned(), v.trim().trim_matches('"').to_owned()))
                .collect(),
        );
        let set = toml.0.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>();
        assert!(
            set.contains(&"MAX_BODY_BYTES") && set.contains(&"PAGE_SIZE"),
            "{set:?}"
        );
        let (d, t) = (Config::default(), Config::read(&toml));
        assert_eq!(d.push, t.push);
        assert_eq!(
            (d.page_size, d.max_page_size),
            (t.page_size, t.max_page_size)
        );
        assert_eq!(d.open_registration, t.open_registration);
        assert_eq!(d.pbkdf2_iterations, t.pbkdf2_iterations);
        assert_eq!(
            (
                d.login_max_failures,
                d.login_lockout_seconds,
                d.login_user_ceiling
            ),
            (
                t.login_max_failures,
                t.login_lockout_seconds,
                t.login_user_ceiling
            )
        );
        assert_eq!(d.session_idle_seconds, t.session_idle_seconds);
    }
}
