//! Account routes: register, login, me, user lookup, password change, account deletion.

use terrapin_core::wire::{
    validate_password, validate_username, ChangePasswordRequest, ChangePasswordResponse,
    DeleteUserRequest, Empty, LoginRequest, RegisterRequest, SessionResponse, UserResponse,
};
use worker::{Method, Request, RouteContext};

use crate::auth::{forget_sessions, Authed};
use crate::config::Config;
use crate::db::{Db, Registered, User};
use crate::error::{json, ApiError, ApiResult};
use crate::http::{json_body, now_ms};
use crate::secrets;
use crate::store::Hangup;
use crate::stub::{self, StoreStub};
use crate::throttle;

/// `GET /user/{name}`: 200 `{"username"}` or 404.
pub async fn get_user(_req: Request, ctx: RouteContext<Config>) -> ApiResult {
    let name = ctx.param("username").cloned().unwrap_or_default();
    match Db::from_ctx(&ctx)?.user_by_name(&name).await? {
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
    let token = secrets::new_token()?;
    create_user(&ctx, &r, Some(&token)).await?;
    json(200, &SessionResponse::cli(token))
}

/// Creates an account (with a first session when `token` is given): registration and the
/// operators' `user create`.
pub async fn create_user(
    ctx: &RouteContext<Config>,
    r: &RegisterRequest,
    token: Option<&str>,
) -> Result<(), ApiError> {
    r.validate()?;
    let db = Db::from_ctx(ctx)?;
    let password = secrets::hash_password(&r.password, ctx.data.pbkdf2_iterations).await?;
    let store_id = secrets::new_store_id()?;
    let token_hash = token.map(secrets::token_hash);
    match db
        .register(
            &r.username,
            r.email.trim(),
            &password,
            &store_id,
            token_hash.as_deref(),
            now_ms(),
        )
        .await?
    {
        Registered::Ok => Ok(()),
        Registered::UsernameTaken => Err(ApiError::new(409, "username already in use")),
        Registered::EmailTaken => Err(ApiError::new(409, "email already in use")),
    }
}

/// `POST /login`: a new session. 404 for an unknown user, 401 for a wrong password, 429 with
/// `Retry-After` once this address has used its attempts (`throttle`).
pub async fn login(mut req: Request, ctx: RouteContext<Config>) -> ApiResult {
    let l: LoginRequest = json_body(&mut req).await?;
    if validate_username(&l.username).is_err() {
        return Err(ApiError::not_found("user not found"));
    }
    validate_password(&l.password)?;
    let db = Db::from_ctx(&ctx)?;
    let Some(user) = db.user_by_name(&l.username).await? else {
        return Err(ApiError::not_found("user not found"));
    };
    check_password(&req, &ctx, &db, &user, &l.password).await?;
    let token = secrets::new_token()?;
    if !db
        .add_session(user.id, &secrets::token_hash(&token), now_ms())
        .await?
    {
        // The account was deleted while the password was checked.
        return Err(ApiError::not_found("user not found"));
    }
    json(200, &SessionResponse::cli(token))
}

/// [`throttle::check_password`] for a user found in the directory.
async fn check_password(
    req: &Request,
    ctx: &RouteContext<Config>,
    db: &Db,
    user: &User,
    password: &str,
) -> Result<(), ApiError> {
    throttle::check_password(
        req,
        &ctx.env,
        &ctx.data,
        db,
        &user.username,
        password,
        &user.password,
    )
    .await
}

/// `GET /api/v0/me`
pub async fn me(req: Request, ctx: RouteContext<Config>) -> ApiResult {
    let a = Authed::fresh(&req, &ctx).await?;
    json(
        200,
        &UserResponse {
            username: a.user.username.clone(),
        },
    )
}

/// `PATCH /account/password`: the current password is checked under the login throttle; every
/// other session of the account ends, and the answer says how many.
pub async fn change_password(mut req: Request, ctx: RouteContext<Config>) -> ApiResult {
    let Authed { db, user, session } = Authed::fresh(&req, &ctx).await?;
    let c: ChangePasswordRequest = json_body(&mut req).await?;
    validate_password(&c.new_password)?;
    check_password(&req, &ctx, &db, &user, &c.current_password).await?;
    let hash = secrets::hash_password(&c.new_password, ctx.data.pbkdf2_iterations).await?;
    let ended = db.set_password(user.id, &hash, Some(&session)).await?;
    forget_sessions(user.id);
    let others = Hangup {
        session: None,
        except: Some(session),
    };
    stub::hang_up(&ctx.env, &user.store_id, others).await;
    json(
        200,
        &ChangePasswordResponse {
            sessions_ended: ended as u64,
        },
    )
}

/// `POST /logout`: ends the calling session (the viewer's log-out). Other sessions stay.
pub async fn logout(req: Request, ctx: RouteContext<Config>) -> ApiResult {
    let Authed { db, user, session } = Authed::fresh(&req, &ctx).await?;
    db.delete_session(&session).await?;
    forget_sessions(user.id);
    let this = Hangup {
        session: Some(session),
        except: None,
    };
    stub::hang_up(&ctx.env, &user.store_id, this).await;
    json(200, &Empty {})
}

/// `DELETE /account`: confirmed with the password (as the CLI sends it), checked under the
/// login throttle.
pub async fn delete_account(mut req: Request, ctx: RouteContext<Config>) -> ApiResult {
    let Authed { db, user, .. } = Authed::fresh(&req, &ctx).await?;
    let d: DeleteUserRequest = json_body(&mut req).await?;
    check_password(&req, &ctx, &db, &user, &d.password).await?;
    remove_user(&ctx, &db, &user).await?;
    json(200, &Empty {})
}

/// Deletes an account with all its records: the user's store is closed first (its records
/// dropped, and every later request to it refused, so a push that was already authenticated
/// stores nothing), then the user and its sessions go from D1.
pub async fn remove_user(ctx: &RouteContext<Config>, db: &Db, user: &User) -> Result<(), ApiError> {
    StoreStub::new(&ctx.env, &user.store_id)?
        .expect_ok(Method::Post, "/close", None)
        .await?;
    db.delete_user(user).await?;
    forget_sessions(user.id);
    Ok(())
}
