//! Every failure becomes `{"reason": ...}` with a meaningful status.

use core::fmt::Display;

use serde::Serialize;
use terrapin_core::push::PushError;
use terrapin_core::wire::{ErrorResponse, WireError};
use worker::{console_error, Response};

use crate::secrets::WebCryptoError;

#[derive(Debug)]
pub struct ApiError {
    pub status: u16,
    pub reason: String,
    /// Seconds for `Retry-After` (429 answers).
    pub retry_after: Option<u64>,
}

pub type ApiResult = Result<Response, ApiError>;

impl ApiError {
    pub fn new(status: u16, reason: impl Into<String>) -> Self {
        Self {
            status,
            reason: reason.into(),
            retry_after: None,
        }
    }

    /// 429 with `Retry-After: secs`.
    pub fn too_many(reason: impl Into<String>, secs: u64) -> Self {
        Self {
            retry_after: Some(secs.max(1)),
            ..Self::new(429, reason)
        }
    }

    pub fn bad_request(reason: impl Into<String>) -> Self {
        Self::new(400, reason)
    }

    pub fn not_found(reason: impl Into<String>) -> Self {
        Self::new(404, reason)
    }

    /// A server fault: the detail goes to the log, the client gets `what`.
    pub fn internal(what: &str, detail: impl Display) -> Self {
        console_error!("{what}: {detail}");
        Self::new(500, what)
    }

    pub fn into_response(self) -> Response {
        let resp = error_response(self.status, &self.reason);
        if let Some(secs) = self.retry_after {
            let _ = resp.headers().set("Retry-After", &secs.to_string());
        }
        resp
    }
}

impl From<worker::Error> for ApiError {
    fn from(e: worker::Error) -> Self {
        Self::internal("storage error", e)
    }
}

impl From<WebCryptoError> for ApiError {
    fn from(e: WebCryptoError) -> Self {
        Self::internal("crypto error", e.0)
    }
}

impl From<PushError> for ApiError {
    fn from(e: PushError) -> Self {
        Self::new(e.status(), e.to_string())
    }
}

impl From<WireError> for ApiError {
    fn from(e: WireError) -> Self {
        Self::bad_request(e.to_string())
    }
}

/// A JSON error answer; never fails.
pub fn error_response(status: u16, reason: &str) -> Response {
    let body = serde_json::to_string(&ErrorResponse::new(reason))
        .unwrap_or_else(|_| String::from("{\"reason\":\"error\"}"));
    raw_json(status, body)
}

/// A JSON answer from a serializable value.
pub fn json<T: Serialize>(status: u16, value: &T) -> ApiResult {
    let body = serde_json::to_string(value).map_err(|e| ApiError::internal("encoding error", e))?;
    Ok(raw_json(status, body))
}

/// A JSON answer from an already encoded body.
pub fn raw_json(status: u16, body: impl Into<Vec<u8>>) -> Response {
    let resp = Response::builder().with_status(status).fixed(body.into());
    let _ = resp.headers().set("Content-Type", "application/json");
    resp
}

/// An empty 200 (Atuin answers record pushes and store deletes with no body).
pub fn empty_ok() -> Response {
    Response::builder().with_status(200).empty()
}
