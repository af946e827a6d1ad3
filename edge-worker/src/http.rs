//! Request/response plumbing shared by the handlers: headers every answer carries, CORS,
//! capability negotiation, bodies.

use futures_util::StreamExt;
use js_sys::Uint8Array;
use serde::de::DeserializeOwned;
use terrapin_core::strict;
use terrapin_core::wire::{
    CapabilitiesResponse, CAPS_AVAILABLE_HEADER, CAPS_ENFORCE_HEADER, CAPS_KNOWN_HEADER,
    PROTOCOL_VERSION, VERSION_HEADER,
};
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;
use worker::{Method, Request, Response, Url};

use crate::config::Config;
use crate::error::{error_response, ApiError};

/// Largest body accepted by the account routes.
const MAX_ACCOUNT_BODY: usize = 64 * 1024;

const ALLOW_METHODS: &str = "GET, POST, PATCH, DELETE, OPTIONS";
const ALLOW_HEADERS: &str = "Authorization, Content-Type, Atuin-Version, \
    X-Atuin-Capabilities-Known, X-Atuin-Capabilities-Enforce";
const EXPOSE_HEADERS: &str = "Atuin-Version, X-Atuin-Capabilities-Available";

/// The origin of a browser request if it may read our answers: listed in `CORS_ORIGINS`
/// (or `*` listed), or the worker's own origin.
pub fn allowed_origin(req: &Request, cfg: &Config) -> Option<String> {
    let origin = req.headers().get("Origin").ok().flatten()?;
    let origin = origin.trim_end_matches('/').to_owned();
    let own = req.url().ok().map(|u| u.origin().ascii_serialization());
    let listed = cfg.cors_origins.iter().any(|o| o == "*" || *o == origin);
    (listed || own.as_deref() == Some(origin.as_str())).then_some(origin)
}

/// Answers a CORS preflight.
pub fn preflight(req: &Request, cfg: &Config) -> Response {
    match allowed_origin(req, cfg) {
        Some(origin) => {
            let resp = Response::builder().with_status(204).empty();
            let h = resp.headers();
            let _ = h.set("Access-Control-Allow-Origin", &origin);
            let _ = h.set("Access-Control-Allow-Methods", ALLOW_METHODS);
            let _ = h.set("Access-Control-Allow-Headers", ALLOW_HEADERS);
            let _ = h.set("Access-Control-Max-Age", "86400");
            let _ = h.set("Vary", "Origin");
            resp
        }
        None if req.headers().has("Origin").unwrap_or(false) => {
            error_response(403, "origin not allowed")
        }
        None => {
            let resp = Response::builder().with_status(204).empty();
            let _ = resp.headers().set("Allow", ALLOW_METHODS);
            resp
        }
    }
}

/// Headers every answer carries: `Atuin-Version`, CORS for allowed origins, and a JSON
/// content type for bodies.
pub fn finish(resp: Response, origin: Option<&str>) -> Response {
    let h = resp.headers();
    let _ = h.set(VERSION_HEADER, PROTOCOL_VERSION);
    if let Some(origin) = origin {
        let _ = h.set("Access-Control-Allow-Origin", origin);
        let _ = h.set("Access-Control-Expose-Headers", EXPOSE_HEADERS);
        let _ = h.append("Vary", "Origin");
    }
    resp
}

/// Marks an answer `Content-Encoding: identity` (unless it has an encoding or is a socket's
/// 101), so that what stands in front of the worker sends it as it is (`COMPRESS_ANSWERS`).
pub fn uncompressed(resp: &Response) {
    let h = resp.headers();
    if resp.status_code() != 101 && !h.has("Content-Encoding").unwrap_or(true) {
        let _ = h.set("Content-Encoding", "identity");
    }
}

/// Whether a router answer is the router's own plain-text 404/405 (not one of ours).
pub fn is_router_fallback(resp: &Response) -> bool {
    let status = resp.status_code();
    let json = resp
        .headers()
        .get("Content-Type")
        .ok()
        .flatten()
        .is_some_and(|t| t.starts_with("application/json"));
    (status == 404 || status == 405) && !json
}

/// Atuin's capability negotiation for the sync API: a stale `X-Atuin-Capabilities-Known`
/// token gets our token back, and a 412 instead of service if the client asked to enforce.
pub fn negotiate(req: &Request, caps: &CapabilitiesResponse) -> (bool, Option<Response>) {
    let known = req.headers().get(CAPS_KNOWN_HEADER).ok().flatten();
    if !caps.is_stale(known.as_deref()) {
        return (false, None);
    }
    if req.headers().has(CAPS_ENFORCE_HEADER).unwrap_or(false) {
        let resp = error_response(412, "capabilities out of date");
        let _ = resp.headers().set(CAPS_AVAILABLE_HEADER, &caps.version);
        return (true, Some(resp));
    }
    (true, None)
}

/// Marks an answer with our capability token.
pub fn advertise(resp: &Response, caps: &CapabilitiesResponse) {
    let _ = resp.headers().set(CAPS_AVAILABLE_HEADER, &caps.version);
}

/// Whether a route takes part in negotiation (all but capabilities and health).
pub fn negotiated(path: &str, method: &Method) -> bool {
    *method != Method::Options && path != "/api/v0/capabilities" && path != "/healthz"
}

/// The body length a request declares in `Content-Length`, if any.
fn declared_length(req: &Request) -> Option<usize> {
    req.headers()
        .get("Content-Length")
        .ok()
        .flatten()
        .and_then(|v| v.trim().parse::<usize>().ok())
}

fn too_large(size: usize, max: usize) -> ApiError {
    ApiError::new(
        413,
        format!("request body is {size} bytes, more than the limit of {max}"),
    )
}

/// 415 unless the request says its body is JSON (`application/json`, parameters allowed).
/// Browsers send other types cross-origin without asking first; JSON needs a preflight.
pub fn require_json(req: &Request) -> Result<(), ApiError> {
    let ty = req.headers().get("Content-Type").ok().flatten();
    let essence = ty
        .as_deref()
        .and_then(|t| t.split(';').next())
        .map(|t| t.trim().to_ascii_lowercase());
    if essence.as_deref() == Some("application/json") {
        return Ok(());
    }
    Err(ApiError::new(
        415,
        format!(
            "request body must be JSON (Content-Type: application/json), not {}",
            ty.as_deref().unwrap_or("untyped")
        ),
    ))
}

/// Largest body drained unread before an error answer, so the client reads the answer
/// instead of a reset connection; anything larger is left unread.
const DRAIN_MAX: usize = 64 * 1024 * 1024;

/// Reads and drops a request's body (bounded by [`DRAIN_MAX`]) before an error answer.
/// Reads and drops what is left of a request's body once it has been answered without reading
/// it (a refusal, an unknown route): a body left unread can cost the client its connection, and
/// with it the next request (docs/PROTOCOL.md §2). `req` is the request's own JS object.
pub async fn discard_unread(req: web_sys::Request) {
    if req.body().is_some() && !req.body_used() {
        discard(&mut Request::from(req)).await;
    }
}

async fn discard(req: &mut Request) {
    if declared_length(req).is_some_and(|len| len > DRAIN_MAX) {
        return;
    }
    if let Ok(mut stream) = req.stream() {
        let mut size = 0usize;
        while let Some(Ok(chunk)) = stream.next().await {
            size += chunk.len();
            if size > DRAIN_MAX {
                break;
            }
        }
    }
}

/// Reads a body, refusing more than `max` bytes with 413: decided from `Content-Length` before
/// anything is read when the request declares it, else while reading. Nothing past `max` is
/// kept.
pub async fn body(req: &mut Request, max: usize) -> Result<Vec<u8>, ApiError> {
    if let Some(len) = declared_length(req).filter(|len| *len > max) {
        discard(req).await;
        return Err(too_large(len, max));
    }
    let read_err =
        |e: worker::Error| ApiError::bad_request(format!("could not read the request body: {e}"));
    let mut stream = match req.stream() {
        Ok(s) => s,
        // No body at all.
        Err(_) => return Ok(Vec::new()),
    };
    let mut buf = Vec::new();
    let mut size = 0usize;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(read_err)?;
        size = size.saturating_add(chunk.len());
        if size <= max {
            buf.extend_from_slice(&chunk);
        }
    }
    if size > max {
        return Err(too_large(size, max));
    }
    Ok(buf)
}

/// A body for passing on unread (to the user's store): one `arrayBuffer()` when the request
/// declares a length within `max`, else read by [`body`] with its limit.
pub async fn body_js(req: &mut Request, max: usize) -> Result<JsValue, ApiError> {
    match declared_length(req) {
        Some(len) if len <= max => {
            let promise = req.inner().array_buffer().map_err(|e| {
                ApiError::bad_request(format!("could not read the request body: {e:?}"))
            })?;
            JsFuture::from(promise).await.map_err(|e| {
                ApiError::bad_request(format!("could not read the request body: {e:?}"))
            })
        }
        _ => Ok(Uint8Array::from(&body(req, max).await?[..]).into()),
    }
}

/// Reads and decodes a small JSON body (account routes): typed JSON only, decoded strictly
/// (objects only, no repeated keys).
pub async fn json_body<T: DeserializeOwned>(req: &mut Request) -> Result<T, ApiError> {
    require_json(req)?;
    let bytes = body(req, MAX_ACCOUNT_BODY).await?;
    strict::from_slice(&bytes).map_err(|e| ApiError::bad_request(format!("malformed JSON: {e}")))
}

/// Decoded query pairs of a URL.
pub fn query_pairs(url: &Url) -> Vec<(String, String)> {
    url.query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> f64 {
    js_sys::Date::now()
}
