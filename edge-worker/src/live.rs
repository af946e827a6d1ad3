//! `GET /api/v0/live`: the live status socket (docs/PROTOCOL.md §2, "Live status"). The worker
//! checks the session (never from the per-isolate cache, so an ended session is refused at
//! once) and the origin before the upgrade, then hands the socket to the account's
//! `UserStore`, which keeps it (hibernating), sends it statuses after pushes and, on
//! [`LIVE_PAGES_PROTOCOL`] sockets, answers page requests.

use terrapin_core::wire::{self, LIVE_PAGES_PROTOCOL, LIVE_PROTOCOL};
use worker::{Request, Response, RouteContext};

use crate::auth::{session_hash, Authed};
use crate::config::Config;
use crate::error::{ApiError, ApiResult};
use crate::http::allowed_origin;
use crate::records;
use crate::secrets;

/// The session of a live request: `Authorization: Token …` (native clients), else the
/// `terrapin.token.<token>` subprotocol entry (browsers). Returns its hash and the live
/// protocol the answer selects, if the client offered one.
fn live_session(req: &Request) -> Result<(String, Option<&'static str>), ApiError> {
    let protocols = req
        .headers()
        .get("Sec-WebSocket-Protocol")
        .ok()
        .flatten()
        .unwrap_or_default();
    let (offered, token) = wire::live_protocols(&protocols);
    if req.headers().has("Authorization").unwrap_or(false) {
        return Ok((session_hash(req)?, offered));
    }
    match token {
        Some(token) if offered.is_some() => Ok((secrets::token_hash(token), offered)),
        Some(_) => Err(ApiError::new(
            401,
            format!(
                "the live socket's subprotocols must include {LIVE_PAGES_PROTOCOL} or \
                 {LIVE_PROTOCOL}"
            ),
        )),
        None => Err(ApiError::new(
            401,
            "missing session: send Authorization or a terrapin.token.<session> subprotocol",
        )),
    }
}

/// `GET /api/v0/live` with `Upgrade: websocket`.
pub async fn open(req: Request, ctx: RouteContext<Config>) -> ApiResult {
    let upgrade = req.headers().get("Upgrade").ok().flatten();
    if !upgrade.is_some_and(|u| u.eq_ignore_ascii_case("websocket")) {
        return Err(ApiError::new(426, "expected a WebSocket upgrade"));
    }
    // WebSockets skip CORS: a page of another site may open one, so its origin is checked here.
    if req.headers().has("Origin").unwrap_or(false) && allowed_origin(&req, &ctx.data).is_none() {
        return Err(ApiError::new(403, "origin not allowed"));
    }
    let (hash, offered) = live_session(&req)?;
    let a = Authed::by_hash(hash, &ctx).await?;
    // Page requests read the store alone: any v1 records still in D1 move in first.
    let ws = records::store(&ctx, &a.db, &a.user)
        .await?
        .live(&a.session)
        .await?;
    let resp = Response::from_websocket(ws)?;
    if let Some(protocol) = offered {
        resp.headers().set("Sec-WebSocket-Protocol", protocol)?;
    }
    Ok(resp)
}
