//! Randomness is supplied by the host through this trait (getrandom when `getrandom` is on).

/// The host's source of secure random bytes failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the secure random source failed")]
pub struct EntropyError;

/// A cryptographically secure source of random bytes.
pub trait Entropy {
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), EntropyError>;
}

/// The operating system's (or browser's) random source, through getrandom.
#[cfg(feature = "getrandom")]
#[derive(Debug, Default, Clone, Copy)]
pub struct OsEntropy;

#[cfg(feature = "getrandom")]
impl Entropy for OsEntropy {
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), EntropyError> {
        getrandom::fill(buf).map_err(|_| EntropyError)
    }
}

/// Draws from `inner` in blocks of 1 KiB and hands the bytes out in order, so that encrypting
/// many records costs one call into the host (in wasm: one `crypto.getRandomValues`) per block
/// instead of three per record. Bytes handed out are wiped from the buffer.
pub struct BufferedEntropy<E: Entropy> {
    inner: E,
    buf: [u8; 1024],
    pos: usize,
}

impl<E: Entropy> BufferedEntropy<E> {
    pub fn new(inner: E) -> Self {
        Self {
            inner,
            buf: [0; 1024],
            pos: 1024,
        }
    }
}

impl<E: Entropy> Entropy for BufferedEntropy<E> {
    fn fill(&mut self, out: &mut [u8]) -> Result<(), EntropyError> {
        if out.len() > self.buf.len() {
            return self.inner.fill(out);
        }
        let mut done = 0;
        while done < out.len() {
            if self.pos == self.buf.len() {
                self.inner.fill(&mut self.buf)?;
                self.pos = 0;
            }
            let n = (out.len() - done).min(self.buf.len() - self.pos);
            out[done..done + n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
            self.buf[self.pos..self.pos + n].fill(0);
            self.pos += n;
            done += n;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Counts calls and hands out 0, 1, 2, … so order and coverage can be checked.
    struct Counter {
        next: u8,
        calls: usize,
    }

    impl Entropy for Counter {
        fn fill(&mut self, buf: &mut [u8]) -> Result<(), EntropyError> {
            self.calls += 1;
            for b in buf {
                *b = self.next;
                self.next = self.next.wrapping_add(1);
            }
            Ok(())
        }
    }

    #[test]
    fn buffered_hands_out_the_stream_in_order_with_few_calls() {
        let mut e = BufferedEntropy::new(Counter { next: 0, calls: 0 });
        let mut got = alloc::vec::Vec::new();
        for len in [32, 32, 32, 1000, 7, 0, 900] {
            let mut b = alloc::vec![0u8; len];
            e.fill(&mut b).unwrap();
            got.extend(b);
        }
        let want: alloc::vec::Vec<u8> = (0..got.len()).map(|i| i as u8).collect();
        assert_eq!(got, want);
        assert_eq!(e.inner.calls, 2, "2003 bytes from two blocks of 1024");
        let mut big = [0u8; 2000];
        e.fill(&mut big).unwrap();
        assert_eq!(e.inner.calls, 3, "large requests go straight through");
    }

    #[test]
    fn failure_is_passed_on() {
        struct Broken;
        impl Entropy for Broken {
            fn fill(&mut self, _: &mut [u8]) -> Result<(), EntropyError> {
                Err(EntropyError)
            }
        }
        let mut e = BufferedEntropy::new(Broken);
        assert_eq!(e.fill(&mut [0u8; 4]), Err(EntropyError));
    }
}
