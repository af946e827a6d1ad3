//! Atuin-compatible encryption (filled in by the crypto work).
