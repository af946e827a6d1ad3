//! HTTP API request and answer types (PROTOCOL.md §2).
