//! Record routes: status, push, next page, store delete. The rules are terrapin-core's
//! (`push`, `wire`); this module only moves data between the request, the core and D1.

use terrapin_core::push;
use terrapin_core::wire::NextQuery;
use worker::{console_warn, Request, RouteContext};

use crate::accounts::db;
use crate::config::Config;
use crate::db::Owner;
use crate::error::{empty_ok, json, raw_json, ApiError, ApiResult};
use crate::http::{authenticate, body, query_pairs, session_hash};

/// How often a push re-checks and retries when a concurrent push took a slot first.
const PUSH_ATTEMPTS: usize = 3;

/// `GET /api/v0/record`: `{"hosts": {host: {tag: last idx}}}` from the idx cache.
pub async fn status(req: Request, ctx: RouteContext<Config>) -> ApiResult {
    let db = db(&ctx)?;
    let user = authenticate(&req, &db).await?;
    json(200, &db.status(user.id).await?)
}

/// `POST /api/v0/record`: atomic, idempotent for identical records, 409 on a conflict.
pub async fn push(mut req: Request, ctx: RouteContext<Config>) -> ApiResult {
    let db = db(&ctx)?;
    let session = session_hash(&req)?;
    let limits = ctx.data.push;
    let bytes = body(&mut req, limits.max_body_bytes).await?;
    let batch = push::parse_batch(&bytes, &limits)?;
    // Optimistic path, one D1 round trip: insert every slot not repeated inside the batch, for
    // the session's user resolved in the same transaction. If any slot is taken (or the session
    // is unknown) nothing is stored and we take the careful path.
    let first = push::classify(&batch, &push::Occupied::new())?;
    if !batch.is_empty() {
        let new: Vec<_> = first.new.iter().map(|&i| &batch[i]).collect();
        if db
            .insert(Owner::Session(&session), &new, &first.last_idx)
            .await
            .is_ok()
        {
            return Ok(empty_ok());
        }
    }
    let user = authenticate(&req, &db).await?;
    if batch.is_empty() {
        return Ok(empty_ok());
    }
    let ranges = push::ranges(&batch);
    let mut last_err = None;
    for _ in 0..PUSH_ATTEMPTS {
        let occupied = db.occupied(user.id, &ranges).await?;
        let plan = push::classify(&batch, &occupied)?;
        let new: Vec<_> = plan.new.iter().map(|&i| &batch[i]).collect();
        match db.insert(Owner::User(user.id), &new, &plan.last_idx).await {
            Ok(()) => return Ok(empty_ok()),
            // A concurrent push filled a slot between our check and our insert; the batch
            // rolled back as a whole. Look again: it is now a duplicate or a conflict.
            Err(e) => {
                console_warn!(
                    "push of {} retried after a concurrent insert",
                    push::describe(&ranges)
                );
                last_err = Some(e);
            }
        }
    }
    Err(last_err.map_or_else(
        || ApiError::new(503, "push could not be applied; retry"),
        ApiError::from,
    ))
}

/// `GET /api/v0/record/next?host&tag&start&count`: ascending from `start`, `count` capped.
pub async fn next(req: Request, ctx: RouteContext<Config>) -> ApiResult {
    let db = db(&ctx)?;
    let user = authenticate(&req, &db).await?;
    let url = req
        .url()
        .map_err(|e| ApiError::bad_request(format!("bad URL: {e}")))?;
    let pairs = query_pairs(&url);
    let q = NextQuery::from_pairs(
        pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        ctx.data.max_page_size,
    )?;
    Ok(raw_json(200, db.next(user.id, &q).await?))
}

/// `DELETE /api/v0/store`: every record of this user; the account stays.
pub async fn delete_store(req: Request, ctx: RouteContext<Config>) -> ApiResult {
    let db = db(&ctx)?;
    let user = authenticate(&req, &db).await?;
    db.delete_store(user.id).await?;
    Ok(empty_ok())
}
