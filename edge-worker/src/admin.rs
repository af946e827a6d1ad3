//! Operator routes under `/admin/` (docs/PROTOCOL.md §2, "Operator routes"), the commands of
//! atuin-server's `admin user`, plus a list. They exist only when the `ADMIN_TOKEN` secret is
//! set, and answer only callers presenting it as `Authorization: Bearer <token>`;
//! `edge-worker/admin.mjs` is the command that calls them.

use serde::{Deserialize, Serialize};
use terrapin_core::wire::{validate_password, Empty, RegisterRequest};
use worker::{Request, RouteContext};

use crate::accounts::{create_user, remove_user};
use crate::auth::operator;
use crate::config::Config;
use crate::db::{Db, User};
use crate::error::{json, ApiError, ApiResult};
use crate::http::json_body;
use crate::secrets;
use crate::stub::StoreStub;

async fn named_user(ctx: &RouteContext<Config>) -> Result<User, ApiError> {
    let name = ctx.param("username").cloned().unwrap_or_default();
    Db::from_ctx(ctx)?
        .user_by_name(&name)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no user named {name:?}")))
}

#[derive(Serialize)]
struct ListedUser {
    username: String,
    email: String,
    /// Milliseconds since the Unix epoch.
    created_at: f64,
    sessions: u32,
    records: u64,
    /// The user's store on disk.
    bytes: usize,
}

#[derive(Serialize)]
struct UserList {
    users: Vec<ListedUser>,
}

/// `GET /admin/users`: every account with its sessions, records and stored bytes.
pub async fn list(req: Request, ctx: RouteContext<Config>) -> ApiResult {
    operator(&req, &ctx.data)?;
    let mut users = Vec::new();
    for u in Db::from_ctx(&ctx)?.list_users().await? {
        let stats = StoreStub::new(&ctx.env, &u.store_id)?.stats().await?;
        users.push(ListedUser {
            username: u.username,
            email: u.email,
            created_at: u.created_at,
            sessions: u.sessions,
            records: stats.records,
            bytes: stats.bytes,
        });
    }
    json(200, &UserList { users })
}

/// `POST /admin/users` `{"username","email","password"}`: creates an account even when
/// registration is closed. No session is made; the user logs in.
pub async fn create(mut req: Request, ctx: RouteContext<Config>) -> ApiResult {
    operator(&req, &ctx.data)?;
    let r: RegisterRequest = json_body(&mut req).await?;
    create_user(&ctx, &r, None).await?;
    json(200, &Empty {})
}

#[derive(Deserialize)]
struct SetPassword {
    password: String,
}

/// `PUT /admin/users/{name}/password` `{"password"}`. As atuin-server's `set-password`, the
/// user's machines stay logged in.
pub async fn set_password(mut req: Request, ctx: RouteContext<Config>) -> ApiResult {
    operator(&req, &ctx.data)?;
    let p: SetPassword = json_body(&mut req).await?;
    validate_password(&p.password)?;
    let user = named_user(&ctx).await?;
    let hash = secrets::hash_password(&p.password, ctx.data.pbkdf2_iterations).await?;
    Db::from_ctx(&ctx)?
        .set_password(user.id, &hash, None)
        .await?;
    json(200, &Empty {})
}

/// `DELETE /admin/users/{name}`: the account with all its records and sessions.
pub async fn delete(req: Request, ctx: RouteContext<Config>) -> ApiResult {
    operator(&req, &ctx.data)?;
    let user = named_user(&ctx).await?;
    remove_user(&ctx, &Db::from_ctx(&ctx)?, &user).await?;
    json(200, &Empty {})
}
