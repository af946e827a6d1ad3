//! terrapin-web: Atuin record sync in the browser.
//!
//! The core (`terrapin-core`) holds every rule; this crate only adapts it to the browser:
//! - [`idb`]: the IndexedDB record store (the core's `LocalStore`);
//! - [`http`]: the sync server over fetch (the core's `Remote`);
//! - [`interop`]: the one place that converts between Rust and JavaScript values;
//! - the exported surface below, wrapped by the TypeScript package in `js/`.

pub mod idb;
pub mod http;
