//! A native Atuin-protocol client built on terrapin-core, for end-to-end tests against the
//! worker. Blocking HTTP (ureq) behind the core's async `Remote`: its futures never wait.

use terrapin_core::record::{RecordIdx, SeriesKey};
use terrapin_core::status::Status;
use terrapin_core::sync::{EncRecord, Remote};
use terrapin_core::wire::{
    LoginRequest, NextQuery, RegisterRequest, SessionResponse, VERSION_HEADER,
};

/// Runs a future whose every await is ready at once (ours do blocking I/O).
pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    terrapin_core::sync::now_or_never(f).expect("blocking I/O never waits")
}

/// A failed call: the HTTP status (0 for transport failures) and the server's reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerError {
    pub status: u16,
    pub reason: String,
}

impl std::fmt::Display for ServerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HTTP {}: {}", self.status, self.reason)
    }
}

/// One session against a server.
pub struct Client {
    base: String,
    agent: ureq::Agent,
    pub token: Option<String>,
}

impl Client {
    pub fn new(base: &str) -> Self {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        Self {
            base: base.trim_end_matches('/').to_owned(),
            agent,
            token: None,
        }
    }

    /// Send a request; answer the body of a 2xx, else the status and `{"reason"}`.
    pub fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<String>,
    ) -> Result<String, ServerError> {
        let url = format!("{}{}", self.base, path);
        let mut req = ureq::http::Request::builder().method(method).uri(&url);
        if let Some(t) = &self.token {
            req = req.header("Authorization", format!("Token {t}"));
        }
        let req = req.header("Content-Type", "application/json");
        let sent = match body {
            Some(b) => self.agent.run(req.body(b).map_err(transport)?),
            None => self.agent.run(req.body(()).map_err(transport)?),
        };
        let mut resp = sent.map_err(transport)?;
        let status = resp.status().as_u16();
        if resp.headers().get(VERSION_HEADER).is_none() {
            return Err(ServerError {
                status,
                reason: format!("no {VERSION_HEADER} header on {url}"),
            });
        }
        let text = resp.body_mut().read_to_string().map_err(transport)?;
        if (200..300).contains(&status) {
            Ok(text)
        } else {
            let reason = serde_json::from_str::<serde_json::Value>(&text)
                .ok()
                .and_then(|v| v.get("reason").and_then(|r| r.as_str()).map(str::to_owned))
                .unwrap_or(text);
            Err(ServerError { status, reason })
        }
    }

    pub fn register(&mut self, username: &str, password: &str) -> Result<(), ServerError> {
        let body = RegisterRequest {
            email: format!("{username}@example.invalid"),
            username: username.to_owned(),
            password: password.to_owned(),
        };
        let s: SessionResponse = json(&self.call("POST", "/register", Some(to_json(&body)))?)?;
        self.token = Some(s.session);
        Ok(())
    }

    pub fn login(&mut self, username: &str, password: &str) -> Result<(), ServerError> {
        let body = LoginRequest {
            username: username.to_owned(),
            password: password.to_owned(),
            totp_code: None,
        };
        let s: SessionResponse = json(&self.call("POST", "/login", Some(to_json(&body)))?)?;
        self.token = Some(s.session);
        Ok(())
    }
}

fn transport(e: impl std::fmt::Display) -> ServerError {
    ServerError {
        status: 0,
        reason: e.to_string(),
    }
}

fn to_json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("request types serialize")
}

fn json<T: serde::de::DeserializeOwned>(s: &str) -> Result<T, ServerError> {
    serde_json::from_str(s).map_err(|e| ServerError {
        status: 200,
        reason: format!("bad answer: {e}: {s}"),
    })
}

impl Remote for Client {
    type Error = ServerError;

    async fn status(&self) -> Result<Status, ServerError> {
        json(&self.call("GET", "/api/v0/record", None)?)
    }

    async fn next(
        &self,
        series: &SeriesKey,
        start: RecordIdx,
        count: u64,
    ) -> Result<Vec<EncRecord>, ServerError> {
        let q = NextQuery {
            host: series.host,
            tag: series.tag.clone(),
            start,
            count,
        };
        json(&self.call(
            "GET",
            &format!("/api/v0/record/next?{}", q.to_query()),
            None,
        )?)
    }

    async fn push(&self, records: &[EncRecord]) -> Result<(), ServerError> {
        self.call("POST", "/api/v0/record", Some(to_json(&records)))
            .map(|_| ())
    }
}

/// For the host binaries: `PROGRAM URL USERNAME PASSWORD KEY` from the command line, logged in.
/// Prints `usage` and exits 2 on other arguments; exits 1 (saying why) on a bad key or login.
pub fn logged_in_host(usage: &str) -> (Client, terrapin_core::crypto::Key) {
    let args: Vec<String> = std::env::args().collect();
    let [_, url, user, password, key] = &args[..] else {
        eprintln!("usage: {usage}");
        std::process::exit(2);
    };
    let fail = |what: &str, e: &dyn std::fmt::Display| -> ! {
        eprintln!("{}: {what}: {e}", args[0]);
        std::process::exit(1)
    };
    let key = terrapin_core::crypto::Key::from_atuin_input(key).unwrap_or_else(|e| fail("key", &e));
    let mut client = Client::new(url);
    client
        .login(user, password)
        .unwrap_or_else(|e| fail("login", &e));
    (client, key)
}
