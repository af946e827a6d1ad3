//! Record payloads (msgpack), byte for byte as Atuin 18.24 writes and reads them.
//!
//! - [`history`]: the `history` tag (History v0/v1/v2 and the create/delete record wrapper).
//! - [`kv`]: the `kv` tag (v0 and v1).
//! - [`script`]: the `script` tag (v0: create, update, delete).
//! - [`dotfiles`]: the legacy `config-shell-alias` and `dotfiles-var` tags (v0).
//! - `ai_session`: the `ai-session` tag (v1, v2, v3; decoding only), with the `threads` feature.
//!
//! All are built field by field with `rmp` primitives, exactly like Atuin, so that the markers
//! chosen (e.g. `u16` version header always `0xcd`, timestamps always `0xcf` u64, signed ints in
//! their most compact form) match Atuin's bytes. The readers are as strict or as lenient as
//! Atuin's: where Atuin demands a specific marker we do too, where it accepts any integer
//! encoding we do too.

use core::convert::Infallible;

use rmp::decode::bytes::{Bytes, BytesReadError};
use rmp::decode::{self, DecodeStringError, NumValueReadError, ValueReadError};
use rmp::encode::{self, ByteBuf, ValueWriteError};

#[cfg(feature = "threads")]
pub mod ai_session;
pub mod dotfiles;
pub mod history;
pub mod kv;
pub mod script;

/// What went wrong reading one msgpack value.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MsgpackError {
    /// The input ended inside or before the value.
    #[error("unexpected end of input")]
    Eof,
    /// A value of another type (or another width, where Atuin is strict) was found.
    #[error("expected {expected}, found marker byte 0x{found:02x}")]
    TypeMismatch { expected: &'static str, found: u8 },
    /// An integer that does not fit the field's type.
    #[error("integer out of range for {expected}")]
    OutOfRange { expected: &'static str },
    /// A msgpack str whose bytes are not UTF-8.
    #[error("string is not valid UTF-8")]
    InvalidUtf8,
}

/// An integer read's error, `expected` naming the type its value must fit.
fn num_err(expected: &'static str, e: NumValueReadError<BytesReadError>) -> MsgpackError {
    match e {
        NumValueReadError::TypeMismatch(m) => MsgpackError::TypeMismatch {
            expected: "integer",
            found: m.to_u8(),
        },
        NumValueReadError::OutOfRange => MsgpackError::OutOfRange { expected },
        NumValueReadError::InvalidMarkerRead(_) | NumValueReadError::InvalidDataRead(_) => {
            MsgpackError::Eof
        }
    }
}

/// A value read's error, `expected` naming the value.
fn value_err(expected: &'static str, e: ValueReadError<BytesReadError>) -> MsgpackError {
    match e {
        ValueReadError::TypeMismatch(m) => MsgpackError::TypeMismatch {
            expected,
            found: m.to_u8(),
        },
        ValueReadError::InvalidMarkerRead(_) | ValueReadError::InvalidDataRead(_) => {
            MsgpackError::Eof
        }
    }
}

/// Reader methods that are one `rmp` reader each: `name -> type: reader, error(expected)`.
macro_rules! readers {
    ($($(#[$doc:meta])* $name:ident -> $t:ty: $read:expr, $err:ident($what:expr);)*) => {$(
        $(#[$doc])*
        pub(crate) fn $name(&mut self) -> Result<$t, MsgpackError> {
            self.with($read, |e| $err($what, e))
        }
    )*};
}

/// Cursor over msgpack bytes. Every method consumes exactly one value (or fails).
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Self { buf }
    }

    /// The bytes not read yet.
    pub(crate) fn remaining(&self) -> &'a [u8] {
        self.buf
    }

    /// One value read by `read`, its error told as `err` says.
    fn with<T, E>(
        &mut self,
        read: impl FnOnce(&mut Bytes<'a>) -> Result<T, E>,
        err: impl FnOnce(E) -> MsgpackError,
    ) -> Result<T, MsgpackError> {
        let mut b = Bytes::new(self.buf);
        let r = read(&mut b);
        self.buf = b.remaining_slice();
        r.map_err(err)
    }

    readers! {
        /// A `u8` written with the `0xcc` marker only (as `rmp::decode::read_u8`).
        u8_strict -> u8: decode::read_u8, value_err("u8 (marker 0xcc)");
        /// A `u16` written with the `0xcd` marker only.
        u16_strict -> u16: decode::read_u16, value_err("u16 (marker 0xcd)");
        /// A `u64` written with the `0xcf` marker only.
        u64_strict -> u64: decode::read_u64, value_err("u64 (marker 0xcf)");
        /// Any msgpack integer encoding whose value fits `i64`.
        i64_any -> i64: decode::read_int, num_err("i64");
        /// Any msgpack integer encoding whose value fits `u8`.
        u8_any -> u8: decode::read_int, num_err("u8");
        bool -> bool: decode::read_bool, value_err("bool");
        array_len -> u32: decode::read_array_len, value_err("array");
        bin_len -> u32: decode::read_bin_len, value_err("bin");
    }

    /// A msgpack str (fixstr, str8, str16 or str32).
    pub(crate) fn str(&mut self) -> Result<&'a str, MsgpackError> {
        match decode::read_str_from_slice(self.buf) {
            Ok((s, rest)) => {
                self.buf = rest;
                Ok(s)
            }
            Err(e) => Err(match e {
                DecodeStringError::TypeMismatch(m) => MsgpackError::TypeMismatch {
                    expected: "str",
                    found: m.to_u8(),
                },
                DecodeStringError::InvalidUtf8(..) => MsgpackError::InvalidUtf8,
                DecodeStringError::InvalidMarkerRead(_)
                | DecodeStringError::InvalidDataRead(_)
                | DecodeStringError::BufferSizeTooSmall(_) => MsgpackError::Eof,
            }),
        }
    }

    /// `nil` reads as `None`, anything else goes to `read`. Same as Atuin's `read_optional`:
    /// none of the readers it is used with accept the nil marker, so peeking is equivalent.
    pub(crate) fn optional<T>(
        &mut self,
        read: impl FnOnce(&mut Self) -> Result<T, MsgpackError>,
    ) -> Result<Option<T>, MsgpackError> {
        if let [0xc0, rest @ ..] = self.buf {
            self.buf = rest;
            Ok(None)
        } else {
            read(self).map(Some)
        }
    }
}

fn ok<T>(r: Result<T, ValueWriteError<Infallible>>) -> T {
    match r {
        Ok(v) => v,
        Err(ValueWriteError::InvalidMarkerWrite(e) | ValueWriteError::InvalidDataWrite(e)) => {
            match e {}
        }
    }
}

/// Msgpack output, infallible (a growing `Vec`). Each method is the `rmp` writer Atuin uses for
/// the corresponding field, so the chosen markers are the same.
pub(crate) struct Writer {
    buf: ByteBuf,
}

impl Writer {
    pub(crate) fn new() -> Self {
        Self {
            buf: ByteBuf::new(),
        }
    }

    pub(crate) fn into_vec(self) -> alloc::vec::Vec<u8> {
        self.buf.into_vec()
    }

    /// Always `0xcc` + byte.
    pub(crate) fn u8_strict(&mut self, v: u8) {
        ok(encode::write_u8(&mut self.buf, v));
    }

    /// Always `0xcd` + 2 bytes.
    pub(crate) fn u16_strict(&mut self, v: u16) {
        ok(encode::write_u16(&mut self.buf, v));
    }

    /// Always `0xcf` + 8 bytes.
    pub(crate) fn u64_strict(&mut self, v: u64) {
        ok(encode::write_u64(&mut self.buf, v));
    }

    /// Most compact signed/unsigned form (`rmp::encode::write_sint`).
    pub(crate) fn sint(&mut self, v: i64) {
        ok(encode::write_sint(&mut self.buf, v));
    }

    /// Most compact unsigned form for a `u8` (`rmp::encode::write_uint8`).
    pub(crate) fn uint8(&mut self, v: u8) {
        ok(encode::write_uint8(&mut self.buf, v));
    }

    pub(crate) fn bool(&mut self, v: bool) {
        match encode::write_bool(&mut self.buf, v) {
            Ok(()) => {}
            Err(e) => match e {},
        }
    }

    pub(crate) fn nil(&mut self) {
        match encode::write_nil(&mut self.buf) {
            Ok(()) => {}
            Err(e) => match e {},
        }
    }

    pub(crate) fn array_len(&mut self, n: u32) {
        ok(encode::write_array_len(&mut self.buf, n));
    }

    pub(crate) fn str(&mut self, s: &str) {
        ok(encode::write_str(&mut self.buf, s));
    }

    pub(crate) fn bin(&mut self, b: &[u8]) {
        ok(encode::write_bin(&mut self.buf, b));
    }

    pub(crate) fn opt_str(&mut self, s: Option<&str>) {
        match s {
            Some(s) => self.str(s),
            None => self.nil(),
        }
    }
}

/// Encodings from `encoding` with up to `edits` bytes overwritten, then cut anywhere: input for
/// decoders that must not panic.
#[cfg(test)]
pub(crate) fn mutations(
    encoding: impl proptest::strategy::Strategy<Value = alloc::vec::Vec<u8>>,
    edits: core::ops::Range<usize>,
) -> impl proptest::strategy::Strategy<Value = alloc::vec::Vec<u8>> {
    use proptest::prelude::*;
    let edits = proptest::collection::vec((any::<usize>(), any::<u8>()), edits);
    (encoding, edits, any::<usize>()).prop_map(|(mut bytes, edits, cut)| {
        for (pos, b) in edits {
            let n = bytes.len();
            bytes[pos % n] = b;
        }
        let n = bytes.len();
        bytes.truncate(cut % (n + 1));
        bytes
    })
}
