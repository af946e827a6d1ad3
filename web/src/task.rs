//! One way to run a future: every exported async method's promise and every task the crate
//! spawns go through one (non-generic) adapter, so the wasm holds one copy of the executor's
//! glue instead of one per future type.

use std::future::Future;
use std::pin::Pin;

use js_sys::Promise;
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::future_to_promise;

type JsFuture = Pin<Box<dyn Future<Output = Result<JsValue, JsValue>>>>;

/// The promise of `f`, for an exported async method.
pub fn promise<F>(f: F) -> Promise
where
    F: Future<Output = Result<JsValue, JsValue>> + 'static,
{
    promise_boxed(Box::pin(f))
}

/// Runs `f` on its own (its promise is dropped; it never rejects).
pub fn spawn(f: impl Future<Output = ()> + 'static) {
    let _ = promise_boxed(Box::pin(async move {
        f.await;
        Ok(JsValue::UNDEFINED)
    }));
}

#[inline(never)]
fn promise_boxed(f: JsFuture) -> Promise {
    future_to_promise(f)
}
