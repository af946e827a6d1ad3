//! Server-side push rules (PROTOCOL.md §2) as pure functions.
