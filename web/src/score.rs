//! What nucleo's fuzzy scoring can give at most, so the search can stop once a page of the
//! best results is certain (core's `SearchIndex::query`). A file of plain Rust with no imports:
//! the core search bench (tests/bench/core-bench) includes it as it is.

/// The highest score nucleo's fuzzy pattern `text` (trimmed, not empty) can give any
/// command, for plain ASCII text (else `None`), from nucleo 0.3's scoring with the default
/// config: each matched char scores 16 plus a bonus of at most 10; the first char of each word
/// has its bonus doubled, and that bonus is at most 8 for a non-word char and 0 for a
/// delimiter (`/,:;|`). Words score apart and add up. The tests hold nucleo to it.
pub fn nucleo_best(text: &str) -> Option<u32> {
    let special = |b: u8| matches!(b, b'\\' | b'!' | b'^' | b'$' | b'\'');
    if !text.is_ascii() || text.bytes().any(special) {
        return None;
    }
    let word = |w: &str| {
        let first = match w.as_bytes()[0] {
            b'/' | b',' | b':' | b';' | b'|' => 0,
            b if b.is_ascii_alphanumeric() || b.is_ascii_whitespace() => 10,
            _ => 8,
        };
        let n = w.len() as u32;
        16 * n + 2 * first + 10 * (n - 1)
    };
    Some(text.split(' ').filter(|w| !w.is_empty()).map(word).sum())
}
