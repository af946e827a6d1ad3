//! terrapin-edge: Atuin's v0 sync API on a Cloudflare Worker: D1 for accounts, a Durable Object
//! per account for its records (docs/ARCHITECTURE.md, "Edge store").
//!
//! One `#[event(fetch)]` builds a [`Router`] of small handlers ([`accounts`], [`admin`],
//! [`records`], [`live`]), each starting from [`auth`]; the protocol rules come from
//! terrapin-core; D1 statements live in [`db`] and `migrations/`; each account's records and
//! live sockets in its Durable Object ([`store`]), reached through [`stub`].

mod accounts;
mod admin;
mod auth;
mod config;
mod db;
mod error;
mod http;
mod live;
mod records;
mod secrets;
mod store;
mod stub;
mod throttle;

use core::future::Future;

use terrapin_core::wire::{CapabilitiesResponse, HealthResponse, IndexResponse, PROTOCOL_VERSION};
use worker::{event, Context, Env, Method, Request, Response, Result, RouteContext, Router};

use crate::config::Config;
use crate::error::{error_response, json, ApiResult};

const HOMAGE: &str = "\"Through the fathomless deeps of space swims the star turtle Great A'Tuin, \
bearing on its back the four giant elephants who carry on their shoulders the mass of the \
Discworld.\" -- Sir Terry Pratchett";

/// Adapts a handler returning [`ApiResult`] to the router: failures become JSON answers.
async fn reply<F: Future<Output = ApiResult>>(f: F) -> Result<Response> {
    Ok(f.await.unwrap_or_else(|e| e.into_response()))
}

/// A router handler from an [`ApiResult`] one, through [`reply`].
macro_rules! to {
    ($handler:path) => {
        |r, c| reply($handler(r, c))
    };
}

async fn index(_req: Request, _ctx: RouteContext<Config>) -> ApiResult {
    json(
        200,
        &IndexResponse {
            homage: HOMAGE.to_owned(),
            version: PROTOCOL_VERSION.to_owned(),
        },
    )
}

async fn health(_req: Request, _ctx: RouteContext<Config>) -> ApiResult {
    json(
        200,
        &HealthResponse {
            status: "healthy".to_owned(),
        },
    )
}

async fn capabilities(_req: Request, ctx: RouteContext<Config>) -> ApiResult {
    json(200, &CapabilitiesResponse::for_server(ctx.data.page_size))
}

fn router(cfg: Config) -> Router<'static, Config> {
    Router::with_data(cfg)
        .get_async("/", to!(index))
        .get_async("/healthz", to!(health))
        .get_async("/api/v0/capabilities", to!(capabilities))
        .get_async("/user/:username", to!(accounts::get_user))
        .post_async("/register", to!(accounts::register))
        .post_async("/login", to!(accounts::login))
        .get_async("/api/v0/me", to!(accounts::me))
        .patch_async("/account/password", to!(accounts::change_password))
        .delete_async("/account", to!(accounts::delete_account))
        .post_async("/logout", to!(accounts::logout))
        .get_async("/admin/users", to!(admin::list))
        .post_async("/admin/users", to!(admin::create))
        .put_async("/admin/users/:username/password", to!(admin::set_password))
        .delete_async("/admin/users/:username", to!(admin::delete))
        .get_async("/api/v0/record", to!(records::status))
        .post_async("/api/v0/record", to!(records::push))
        .get_async("/api/v0/record/next", to!(records::next))
        .delete_async("/api/v0/store", to!(records::delete_store))
        .get_async("/api/v0/live", to!(live::open))
}

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> Result<Response> {
    let cfg = Config::from_env(&env);
    let compress = cfg.compress_answers;
    let origin = http::allowed_origin(&req, &cfg);
    if req.method() == Method::Options {
        return Ok(http::finish(http::preflight(&req, &cfg), origin.as_deref()));
    }
    let caps = CapabilitiesResponse::for_server(cfg.page_size);
    let (stale, refused) = if http::negotiated(&req.path(), &req.method()) {
        http::negotiate(&req, &caps)
    } else {
        (false, None)
    };
    // The same JS request object (not a copy of its body), to drop a body the answer left unread.
    let pending: web_sys::Request = Clone::clone(req.inner());
    let resp = match refused {
        Some(resp) => resp,
        None => match router(cfg).run(req, env).await {
            Ok(resp) if http::is_router_fallback(&resp) => match resp.status_code() {
                405 => error_response(405, "method not allowed"),
                _ => error_response(404, "not found"),
            },
            Ok(resp) => resp,
            Err(e) => error::ApiError::internal("internal error", e).into_response(),
        },
    };
    http::discard_unread(pending).await;
    if stale {
        http::advertise(&resp, &caps);
    }
    if !compress {
        http::uncompressed(&resp);
    }
    Ok(http::finish(resp, origin.as_deref()))
}
