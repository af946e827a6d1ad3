//! Sample history for tests, demos and benchmarks: one realistic entry, numbered, so every
//! suite builds its entries from the same shape (override the fields a test is about).

use alloc::format;

use uuid::Uuid;

use crate::payload::history::{History, HistoryId};

/// Entry `i`: id `i + 1`, a second apart from 2023-11-14, a `git commit … && cargo test`
/// command naming `i`, every third one failing.
pub fn history(i: u64) -> History {
    History {
        id: HistoryId(Uuid::from_u128(u128::from(i) + 1)),
        timestamp: 1_700_000_000_000_000_000 + i * 1_000_000_000,
        duration: 12_345_678,
        exit: (i % 3) as i64,
        command: format!("git commit -m 'change number {i}' && cargo test --workspace"),
        cwd: "/home/user/src/terrapin".into(),
        session: "0190a4f0aaaa7bbbbccccddddeeeeffff".into(),
        hostname: "laptop:user".into(),
        deleted_at: None,
        author: "user".into(),
        intent: None,
        shell: Some("zsh".into()),
        author_kind: None,
    }
}
