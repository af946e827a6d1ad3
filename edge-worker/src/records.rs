//! Record routes: status, push, next page, store delete. Each authenticates against the
//! account directory (D1), then hands the request to the account's `UserStore`, which applies
//! terrapin-core's rules (`push`, `pages`, `wire`).

use wasm_bindgen::JsValue;
use worker::{console_log, Method, Request, RouteContext};

use crate::auth::{forget_sessions, Authed};
use crate::config::Config;
use crate::db::{Db, Rows, User};
use crate::error::{ApiError, ApiResult};
use crate::http::{body_js, require_json};
use crate::stub::StoreStub;

/// Records moved from D1 per step of the v1 migration, and the bytes of ciphertext per step.
const LEGACY_STEP_RECORDS: usize = 1000;
const LEGACY_STEP_BYTES: f64 = 4.0 * 1024.0 * 1024.0;

/// The account's store, with any v1 records still in D1 moved into it first.
pub async fn store(
    ctx: &RouteContext<Config>,
    db: &Db,
    user: &User,
) -> Result<StoreStub, ApiError> {
    let store = StoreStub::new(&ctx.env, &user.store_id)?;
    if user.legacy_records != 0 {
        move_legacy(db, &store, user).await?;
    }
    Ok(store)
}

/// Moves a user's v1 records from D1 into their store in bounded steps (at most
/// `LEGACY_STEP_RECORDS` records and about `LEGACY_STEP_BYTES` each). Each step imports, then
/// deletes what it imported; importing again is harmless (identical records are skipped), so a
/// step cut off anywhere is simply redone by the next request.
async fn move_legacy(db: &Db, store: &StoreStub, user: &User) -> Result<(), ApiError> {
    let mut moved = 0usize;
    loop {
        let keys = db.legacy_keys(user.id, LEGACY_STEP_RECORDS).await?;
        // As many keys as fit LEGACY_STEP_BYTES, and at least one.
        let mut bytes = 0.0;
        let take = 1 + keys
            .iter()
            .skip(1)
            .take_while(|k| {
                bytes += k.size;
                bytes <= LEGACY_STEP_BYTES - keys[0].size
            })
            .count();
        let Some(last) = keys.get(take - 1).cloned() else {
            db.finish_legacy(user.id).await?;
            forget_sessions(user.id);
            if moved > 0 {
                console_log!("store v2: moved {moved} v1 records of user {}", user.id);
            }
            return Ok(());
        };
        let json = db.legacy_records(user.id, &last, take).await?;
        store
            .expect_ok(Method::Post, "/import", Some(json.into()))
            .await
            .map_err(|e| {
                ApiError::internal(
                    "moving records to the v2 store failed; retry",
                    format!(
                        "user {} at {}/{} {}: {}",
                        user.id, last.host, last.tag, last.idx, e.reason
                    ),
                )
            })?;
        db.delete_legacy(user.id, &last).await?;
        moved += take;
    }
}

/// Logs the rows a record request read and wrote (D1 and the store), if `LOG_ROW_COUNTS`.
fn log_rows(ctx: &RouteContext<Config>, op: &str, db: &Db, store: Rows) {
    if ctx.data.log_row_counts {
        let d1 = db.rows();
        console_log!(
            "rows op={op} d1_read={} d1_written={} store_read={} store_written={}",
            d1.read,
            d1.written,
            store.read,
            store.written
        );
    }
}

/// Authenticates, then sends one operation to the account's store and answers with its reply.
async fn forward(
    req: &Request,
    ctx: &RouteContext<Config>,
    op: &str,
    method: Method,
    path: &str,
    body: Option<JsValue>,
) -> ApiResult {
    let a = Authed::cached(req, ctx).await?;
    let store = store(ctx, &a.db, &a.user).await?;
    let (resp, rows) = store.call(method, path, body).await?;
    log_rows(ctx, op, &a.db, rows);
    Ok(resp)
}

/// `GET /api/v0/record`: `{"hosts": {host: {tag: last idx}}}`.
pub async fn status(req: Request, ctx: RouteContext<Config>) -> ApiResult {
    forward(&req, &ctx, "status", Method::Get, "/status", None).await
}

/// `POST /api/v0/record`: atomic, idempotent for identical records, 409 on a conflict. The
/// session is checked before the body is read.
pub async fn push(mut req: Request, ctx: RouteContext<Config>) -> ApiResult {
    // Checked before the body is read; a refused body is dropped unread (lib.rs).
    let a = Authed::cached(&req, &ctx).await?;
    require_json(&req)?;
    let bytes = body_js(&mut req, ctx.data.push.max_body_bytes).await?;
    let store = store(&ctx, &a.db, &a.user).await?;
    let (resp, rows) = store.call(Method::Post, "/push", Some(bytes)).await?;
    log_rows(&ctx, "push", &a.db, rows);
    Ok(resp)
}

/// `GET /api/v0/record/next?host&tag&start&count`: ascending from `start`, bounded in count
/// (`MAX_PAGE_SIZE`) and in bytes.
pub async fn next(req: Request, ctx: RouteContext<Config>) -> ApiResult {
    let url = req
        .url()
        .map_err(|e| ApiError::bad_request(format!("bad URL: {e}")))?;
    let path = format!("/next?{}", url.query().unwrap_or(""));
    forward(&req, &ctx, "next", Method::Get, &path, None).await
}

/// `DELETE /api/v0/store`: every record of this user; the account stays.
pub async fn delete_store(req: Request, ctx: RouteContext<Config>) -> ApiResult {
    let Authed { db, user, .. } = Authed::cached(&req, &ctx).await?;
    if user.legacy_records != 0 {
        db.drop_legacy(user.id).await?;
        forget_sessions(user.id);
    }
    let store = StoreStub::new(&ctx.env, &user.store_id)?;
    let (resp, rows) = store.call(Method::Delete, "/records", None).await?;
    log_rows(&ctx, "delete_store", &db, rows);
    Ok(resp)
}
