//! The frames of a derived page, shared by the package's main module, which keeps the pages
//! beside the records (the page format is documented with `encode_page` in `web/src/views.rs`),
//! and its extras module, which folds the scripts, shell aliases and variables from them: per
//! record, `ts` (u64 LE), host (16 bytes), `idx` (u64 LE), record id (16 bytes), a kind byte and
//! a length-prefixed (u32 LE) body.

use uuid::Uuid;

/// Kind byte of a record of a tag the extras module folds (script, shell alias, variable),
/// decrypted: its body is the record's version (a length byte, then the text) and payload.
pub const PAYLOAD: u8 = 6;

/// One record of a page.
pub struct Frame<'a> {
    pub ts: u64,
    pub host: Uuid,
    pub idx: u64,
    pub id: Uuid,
    pub kind: u8,
    pub body: &'a [u8],
}

impl Frame<'_> {
    pub fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.ts.to_le_bytes());
        out.extend_from_slice(self.host.as_bytes());
        out.extend_from_slice(&self.idx.to_le_bytes());
        out.extend_from_slice(self.id.as_bytes());
        out.push(self.kind);
        out.extend_from_slice(&(self.body.len() as u32).to_le_bytes());
        out.extend_from_slice(self.body);
    }
}

/// The frames of `b` (pages one after another), in order; why not if it is cut short.
pub fn read(mut b: &[u8]) -> Result<Vec<Frame<'_>>, String> {
    fn take<'a>(b: &mut &'a [u8], n: usize) -> Result<&'a [u8], String> {
        if b.len() < n {
            return Err(format!("cut short ({} bytes left, {n} needed)", b.len()));
        }
        let (head, rest) = b.split_at(n);
        *b = rest;
        Ok(head)
    }
    let u64le = |x: &[u8]| u64::from_le_bytes(x.try_into().unwrap_or_default());
    let uuid = |x: &[u8]| Uuid::from_slice(x).unwrap_or_default();
    let mut out = Vec::new();
    while !b.is_empty() {
        let ts = u64le(take(&mut b, 8)?);
        let host = uuid(take(&mut b, 16)?);
        let idx = u64le(take(&mut b, 8)?);
        let id = uuid(take(&mut b, 16)?);
        let kind = take(&mut b, 1)?[0];
        let len = u32::from_le_bytes(take(&mut b, 4)?.try_into().unwrap_or_default());
        let body = take(&mut b, len as usize)?;
        out.push(Frame {
            ts,
            host,
            idx,
            id,
            kind,
            body,
        });
    }
    Ok(out)
}

/// The body of a [`PAYLOAD`] frame.
pub fn payload_body(version: &str, payload: &[u8]) -> Vec<u8> {
    let v = &version.as_bytes()[..version.len().min(255)];
    let mut out = Vec::with_capacity(1 + v.len() + payload.len());
    out.push(v.len() as u8);
    out.extend_from_slice(v);
    out.extend_from_slice(payload);
    out
}

/// The version and payload of a [`PAYLOAD`] frame's body.
pub fn payload_parts(body: &[u8]) -> Option<(&str, &[u8])> {
    let (&n, rest) = body.split_first()?;
    let (version, payload) = rest.split_at_checked(n as usize)?;
    Some((std::str::from_utf8(version).ok()?, payload))
}
