//! Account routes: register, login, me, user lookup, password change, account deletion.

use terrapin_core::wire::{
    validate_password, validate_username, ChangePasswordRequest, DeleteUserRequest, Empty,
    LoginRequest, RegisterRequest, SessionResponse, UserResponse,
};
use worker::{Method, Request, RouteContext};

use crate::auth;
use crate::config::Config;
use crate::db::{Db, Registered};
use crate::error::{json, ApiError, ApiResult};
use crate::http::{authenticate, forget_sessions, json_body, now_ms};
use crate::store::StoreStub;

pub fn db(ctx: &RouteContext<Config>) -> Result<Db, ApiError> {
    ctx.env
        .d1("DB")
        .map(Db::new)
        .map_err(|e| ApiError::internal("database binding missing", e))
}

/// `GET /user/{name}`: 200 `{"username"}` or 404.
pub async fn get_user(_req: Request, ctx: RouteContext<Config>) -> ApiResult {
    let name = ctx.param("username").cloned().unwrap_or_default();
    match db(&ctx)?.user_by_name(&name).await? {
        Some(u) => json(
            200,
            &UserResponse {
                username: u.username,
            },
        ),
        None => Err(ApiError::not_found("user not found")),
    }
}

/// `POST /register`
pub async fn register(mut req: Request, ctx: RouteContext<Config>) -> ApiResult {
    if !ctx.data.open_registration {
        return Err(ApiError::bad_request(
            "this server is not open for registrations",
        ));
    }
    let r: RegisterRequest = json_body(&mut req).await?;
    r.validate()?;
    let db = db(&ctx)?;
    let password = auth::hash_password(&r.password, ctx.data.pbkdf2_iterations).await?;
    let token = auth::new_token()?;
    let store_id = auth::new_store_id()?;
    match db
        .register(
            &r.username,
            r.email.trim(),
            &password,
            &store_id,
            &auth::token_hash(&token),
            now_ms(),
        )
        .await?
    {
        Registered::Ok => json(200, &SessionResponse::cli(token)),
        Registered::UsernameTaken => Err(ApiError::new(409, "username already in use")),
        Registered::EmailTaken => Err(ApiError::new(409, "email already in use")),
    }
}

/// `POST /login`: a new session. 404 for an unknown user, 401 for a wrong password, 429 after
/// too many recent failures.
pub async fn login(mut req: Request, ctx: RouteContext<Config>) -> ApiResult {
    let l: LoginRequest = json_body(&mut req).await?;
    if validate_username(&l.username).is_err() {
        return Err(ApiError::not_found("user not found"));
    }
    validate_password(&l.password)?;
    let db = db(&ctx)?;
    let cfg = &ctx.data;
    let Some(user) = db.user_by_name(&l.username).await? else {
        return Err(ApiError::not_found("user not found"));
    };
    let now = now_ms();
    let window_ms = cfg.login_lockout_seconds as f64 * 1000.0;
    if let Some(f) = db.failures(&l.username).await? {
        let elapsed = now - f.window_start;
        if f.failures >= cfg.login_max_failures && elapsed < window_ms {
            let wait = ((window_ms - elapsed) / 1000.0).ceil() as u64;
            return Err(ApiError::new(
                429,
                format!("too many failed logins; try again in {wait} s"),
            ));
        }
    }
    if !auth::verify_password(&l.password, &user.password).await? {
        db.add_failure(&l.username, now, window_ms).await?;
        return Err(ApiError::new(401, "password is not correct"));
    }
    db.clear_failures(&l.username).await?;
    let token = auth::new_token()?;
    if !db
        .add_session(user.id, &auth::token_hash(&token), now)
        .await?
    {
        // The account was deleted while the password was checked.
        return Err(ApiError::not_found("user not found"));
    }
    json(200, &SessionResponse::cli(token))
}

/// `GET /api/v0/me`
pub async fn me(req: Request, ctx: RouteContext<Config>) -> ApiResult {
    let user = authenticate(&req, &db(&ctx)?).await?;
    json(
        200,
        &UserResponse {
            username: user.username,
        },
    )
}

/// `PATCH /account/password`
pub async fn change_password(mut req: Request, ctx: RouteContext<Config>) -> ApiResult {
    let db = db(&ctx)?;
    let user = authenticate(&req, &db).await?;
    let c: ChangePasswordRequest = json_body(&mut req).await?;
    validate_password(&c.new_password)?;
    if !auth::verify_password(&c.current_password, &user.password).await? {
        return Err(ApiError::new(401, "password is not correct"));
    }
    let hash = auth::hash_password(&c.new_password, ctx.data.pbkdf2_iterations).await?;
    db.set_password(user.id, &hash).await?;
    json(200, &Empty {})
}

/// `DELETE /account`: confirmed with the password (as the CLI sends it). The user's store is
/// closed first (its records dropped, and every later request to it refused, so a push that
/// was already authenticated stores nothing), then the user and its sessions go from D1.
pub async fn delete_account(mut req: Request, ctx: RouteContext<Config>) -> ApiResult {
    let db = db(&ctx)?;
    let user = authenticate(&req, &db).await?;
    let d: DeleteUserRequest = json_body(&mut req).await?;
    if !auth::verify_password(&d.password, &user.password).await? {
        return Err(ApiError::new(401, "password is not correct"));
    }
    StoreStub::new(&ctx.env, &user.store_id)?
        .expect_ok(Method::Post, "/close", None)
        .await?;
    db.delete_user(&user).await?;
    forget_sessions(user.id);
    json(200, &Empty {})
}
