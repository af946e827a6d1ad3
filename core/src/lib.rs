//! Terrapin's core: every rule and byte format of Atuin's record sync, free of any host.
//! `no_std` + `alloc`; hosts (IndexedDB, D1, HTTP) plug in through the traits in [`sync`].
#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

pub mod crypto;
pub mod holes;
pub mod import;
pub mod legacy;
pub mod memory;
pub mod pages;
pub mod payload;
pub mod plan;
pub mod push;
pub mod random;
pub mod record;
pub mod sample;
pub mod search;
pub mod sort;
pub mod status;
pub mod store;
pub mod strict;
pub mod sync;
pub mod wire;
