//! Server-side push rules (docs/PROTOCOL.md §2) as pure functions.
//!
//! A push is handled in two steps that any store (D1, SQLite, memory) can drive:
//! 1. [`parse_batch`]: decode and validate the request body against [`PushLimits`]
//!    (malformed JSON, bad UUIDs, empty tags, absurd idx or timestamp, oversized records,
//!    too many records) before touching storage;
//! 2. [`classify`]: compare the batch with what the store already holds at the same
//!    `(host, tag, idx)` slots (fetched for the [`SeriesRange`]s of [`ranges`]) and decide,
//!    per record, new or identical duplicate, refusing the whole batch on any conflict. Gaps
//!    are stored as they are, as atuin-server stores them (docs/PROTOCOL.md §2, "Push rules").
//!
//! The store then inserts the [`PushPlan::new`] records and raises its per-series idx cache to
//! [`PushPlan::last_idx`] in one transaction.

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use crate::record::{RecordId, RecordIdx, SeriesKey};
use crate::wire::MAX_IDX;

pub use crate::record::EncRecord;

/// Configured limits for one push.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PushLimits {
    /// Largest accepted request body, in bytes.
    pub max_body_bytes: usize,
    /// Most records in one batch.
    pub max_records: usize,
    /// Largest accepted record: its ciphertext plus wrapped key, in bytes.
    pub max_record_bytes: usize,
}

impl PushLimits {
    /// The defaults, as `edge-worker/wrangler.toml` sets them (docs/PROTOCOL.md §2, "Limits"):
    /// Cloudflare's own request limit (100 MB), the advertised page size, and four times the
    /// largest record atuin-server's default 2 MiB body can carry.
    pub const DEFAULT: Self = Self {
        max_body_bytes: 100 * 1024 * 1024,
        max_records: 2000,
        max_record_bytes: 8 * 1024 * 1024,
    };
}

impl Default for PushLimits {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Largest accepted timestamp: Atuin stores it as a signed 64-bit integer.
pub const MAX_TIMESTAMP: u64 = i64::MAX as u64;
/// Longest accepted tag and version strings.
pub const MAX_TAG_LEN: usize = 128;
pub const MAX_VERSION_LEN: usize = 32;

/// Why a push was refused. Nothing of a refused batch may be stored.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PushError {
    #[error("request body is {size} bytes, more than the limit of {max}")]
    BodyTooLarge { size: usize, max: usize },
    #[error("malformed JSON: {0}")]
    MalformedJson(String),
    #[error("expected a JSON array of records")]
    NotAnArray,
    #[error("batch has more records than the limit of {max}")]
    TooManyRecords { max: usize },
    #[error("record {index} is invalid: {reason}")]
    InvalidRecord { index: usize, reason: String },
    #[error("record {index} has an empty tag")]
    EmptyTag { index: usize },
    #[error("record {index}: {field} is longer than {max} bytes")]
    FieldTooLong {
        index: usize,
        field: &'static str,
        max: usize,
    },
    #[error("record {index}: idx {idx} is larger than the largest accepted idx {max}", max = MAX_IDX)]
    IdxTooLarge { index: usize, idx: RecordIdx },
    #[error("record {index}: timestamp {timestamp} is out of range")]
    TimestampOutOfRange { index: usize, timestamp: u64 },
    #[error("record {index} ({series} idx {idx}) is {size} bytes, more than the limit of {max}")]
    RecordTooLarge {
        index: usize,
        series: SeriesKey,
        idx: RecordIdx,
        size: usize,
        max: usize,
    },
    #[error("conflict in series {series} at idx {idx}: it holds record {existing}, the push has record {pushed}")]
    Conflict {
        series: SeriesKey,
        idx: RecordIdx,
        existing: RecordId,
        pushed: RecordId,
    },
}

impl PushError {
    /// The HTTP status this refusal is answered with: 413 for anything too large or too many,
    /// 409 for a conflict, 400 for the rest.
    pub fn status(&self) -> u16 {
        match self {
            Self::BodyTooLarge { .. }
            | Self::TooManyRecords { .. }
            | Self::RecordTooLarge { .. } => 413,
            Self::Conflict { .. } => 409,
            _ => 400,
        }
    }
}

/// Decodes and validates a push body in one pass, straight into typed records, with strict
/// JSON (`strict`: objects only, no repeated keys). It stops at the first invalid record and
/// at record `max_records + 1`, so the memory a body can take is bounded by the limits, not by
/// the body.
pub fn parse_batch(body: &[u8], limits: &PushLimits) -> Result<Vec<EncRecord>, PushError> {
    if body.len() > limits.max_body_bytes {
        return Err(PushError::BodyTooLarge {
            size: body.len(),
            max: limits.max_body_bytes,
        });
    }
    // UTF-8 is checked once for the whole body, not string by string.
    let text = core::str::from_utf8(body)
        .map_err(|e| PushError::MalformedJson(format!("body is not UTF-8: {e}")))?;
    match text.trim_start().as_bytes().first() {
        Some(b'[') => {}
        Some(_) if serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok() => {
            return Err(PushError::NotAnArray)
        }
        _ => return Err(PushError::MalformedJson(json_error(text))),
    }
    let mut refusal = None;
    let mut de = serde_json::Deserializer::from_str(text);
    let parsed = serde::Deserializer::deserialize_seq(
        &mut de,
        BatchVisitor {
            limits,
            refusal: &mut refusal,
        },
    )
    .and_then(|batch| de.end().map(|()| batch));
    match (parsed, refusal) {
        // Broken JSON is said to be so, wherever it breaks.
        (Err(e), Some(PushError::InvalidRecord { .. })) if e.is_syntax() || e.is_eof() => {
            Err(PushError::MalformedJson(e.to_string()))
        }
        (_, Some(refusal)) => Err(refusal),
        (Ok(batch), None) => Ok(batch),
        (Err(e), None) => Err(PushError::MalformedJson(e.to_string())),
    }
}

/// What serde_json says is wrong with a document that is not JSON at all.
fn json_error(text: &str) -> String {
    match serde_json::from_str::<serde::de::IgnoredAny>(text) {
        Err(e) => e.to_string(),
        Ok(_) => "not a JSON array".into(),
    }
}

/// Reads the records of a batch one by one, validating each as it comes. A refusal is left in
/// `refusal` (with the record it names) and parsing stops there.
struct BatchVisitor<'a> {
    limits: &'a PushLimits,
    refusal: &'a mut Option<PushError>,
}

impl<'de> serde::de::Visitor<'de> for BatchVisitor<'_> {
    type Value = Vec<EncRecord>;

    fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("an array of records")
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        use serde::de::Error as _;
        let max = self.limits.max_records;
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(max));
        loop {
            let index = out.len();
            if index == max {
                // One element past the limit is skipped unread, never decoded.
                if seq.next_element::<serde::de::IgnoredAny>()?.is_some() {
                    *self.refusal = Some(PushError::TooManyRecords { max });
                    return Err(A::Error::custom("too many records"));
                }
                return Ok(out);
            }
            let next = seq.next_element_seed(crate::strict::Typed::<EncRecord>::new());
            let record = match next {
                Ok(Some(r)) => r,
                Ok(None) => return Ok(out),
                Err(e) => {
                    *self.refusal = Some(PushError::InvalidRecord {
                        index,
                        reason: e.to_string(),
                    });
                    return Err(e);
                }
            };
            if let Err(refusal) = validate_record(index, &record, self.limits) {
                *self.refusal = Some(refusal);
                return Err(A::Error::custom("invalid record"));
            }
            out.push(record);
        }
    }
}

/// The per-record rules of [`parse_batch`], for records that did not come from JSON.
pub fn validate_record(index: usize, r: &EncRecord, limits: &PushLimits) -> Result<(), PushError> {
    let tag = r.tag.as_str();
    if tag.is_empty() {
        return Err(PushError::EmptyTag { index });
    }
    if tag.len() > MAX_TAG_LEN {
        return Err(PushError::FieldTooLong {
            index,
            field: "tag",
            max: MAX_TAG_LEN,
        });
    }
    if r.version.as_str().len() > MAX_VERSION_LEN {
        return Err(PushError::FieldTooLong {
            index,
            field: "version",
            max: MAX_VERSION_LEN,
        });
    }
    if r.idx > MAX_IDX {
        return Err(PushError::IdxTooLarge { index, idx: r.idx });
    }
    if r.timestamp > MAX_TIMESTAMP {
        return Err(PushError::TimestampOutOfRange {
            index,
            timestamp: r.timestamp,
        });
    }
    let size = record_size(r);
    if size > limits.max_record_bytes {
        return Err(PushError::RecordTooLarge {
            index,
            series: r.series(),
            idx: r.idx,
            size,
            max: limits.max_record_bytes,
        });
    }
    Ok(())
}

/// The size a record counts against `max_record_bytes`: ciphertext plus wrapped key.
pub fn record_size(r: &EncRecord) -> usize {
    r.data.data.len() + r.data.content_encryption_key.len()
}

/// The idx span of one series touched by a batch: the store must report what it holds in it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct SeriesRange {
    pub series: SeriesKey,
    pub first: RecordIdx,
    pub last: RecordIdx,
}

/// Idx a batch may step over inside one [`SeriesRange`]; a wider gap starts another range.
pub const RANGE_GAP: RecordIdx = 256;

/// The idx spans of the series a batch touches, sorted by series, then idx. A series' records
/// make one span unless the batch steps over more than [`RANGE_GAP`] idx, so a store loads
/// what lies around the records, never the whole stretch between far-apart ones.
pub fn ranges(batch: &[EncRecord]) -> Vec<SeriesRange> {
    let mut idx: Vec<(SeriesKey, RecordIdx)> = batch.iter().map(|r| (r.series(), r.idx)).collect();
    idx.sort_unstable();
    let mut out: Vec<SeriesRange> = Vec::new();
    for (series, i) in idx {
        match out.last_mut() {
            Some(r) if r.series == series && i - r.last <= RANGE_GAP => r.last = i,
            _ => out.push(SeriesRange {
                series,
                first: i,
                last: i,
            }),
        }
    }
    out
}

/// What the store holds at the slots a batch touches: `(series, idx) -> record id`.
pub type Occupied = BTreeMap<(SeriesKey, RecordIdx), RecordId>;

/// What to do with an accepted batch.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PushPlan {
    /// Positions (in the batch) of records to insert, each slot once.
    pub new: Vec<usize>,
    /// Records already stored identically (or repeated inside the batch): accepted, skipped.
    pub duplicates: usize,
    /// The highest idx of every series in the batch: the idx cache is raised to at least this.
    pub last_idx: Vec<(SeriesKey, RecordIdx)>,
}

/// Classifies every record of a validated batch against the store. A slot already holding a
/// record with the same id is a duplicate; a different id (stored, or earlier in the same batch)
/// is a conflict that refuses the whole batch. Gaps, inside the batch or after a series' last
/// idx, are no reason to refuse: the real CLI sends them (`atuin store push --force` after
/// `store purge`) and atuin-server stores them.
pub fn classify(batch: &[EncRecord], occupied: &Occupied) -> Result<PushPlan, PushError> {
    let mut plan = PushPlan::default();
    let mut seen: BTreeMap<(SeriesKey, RecordIdx), RecordId> = BTreeMap::new();
    let mut last: BTreeMap<SeriesKey, RecordIdx> = BTreeMap::new();
    for (i, r) in batch.iter().enumerate() {
        let slot = (r.series(), r.idx);
        let existing = occupied.get(&slot).or_else(|| seen.get(&slot)).copied();
        match existing {
            Some(id) if id == r.id => plan.duplicates += 1,
            Some(existing) => {
                return Err(PushError::Conflict {
                    series: slot.0,
                    idx: r.idx,
                    existing,
                    pushed: r.id,
                })
            }
            None => {
                plan.new.push(i);
                seen.insert(slot.clone(), r.id);
            }
        }
        let e = last.entry(slot.0).or_insert(r.idx);
        if *e < r.idx {
            *e = r.idx;
        }
    }
    plan.last_idx = last.into_iter().collect();
    Ok(plan)
}

/// A human-readable description of a batch's series, for logs.
pub fn describe(ranges: &[SeriesRange]) -> String {
    ranges
        .iter()
        .map(|r| format!("{} {}..={}", r.series, r.first, r.last))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::series as key;
    use crate::record::{EncryptedData, Host, HostId, Record, Tag, Version};
    use alloc::vec;
    use uuid::Uuid;

    fn rec(host: u128, tag: &str, idx: u64, id: u128) -> EncRecord {
        Record {
            id: RecordId(Uuid::from_u128(id)),
            idx,
            host: Host::new(HostId(Uuid::from_u128(host))),
            timestamp: 1_700_000_000_000_000_000,
            version: Version::V0,
            tag: Tag::from(tag),
            data: EncryptedData {
                data: "v4.local.xyz".into(),
                content_encryption_key: "{}".into(),
            },
        }
    }

    fn body(records: &[EncRecord]) -> Vec<u8> {
        serde_json::to_vec(records).unwrap()
    }

    #[test]
    fn parses_a_valid_batch() {
        let b = vec![rec(1, "history", 0, 10), rec(1, "history", 1, 11)];
        let got = parse_batch(&body(&b), &PushLimits::default()).unwrap();
        assert_eq!(got, b);
        assert_eq!(parse_batch(b"[]", &PushLimits::default()).unwrap(), vec![]);
    }

    #[test]
    fn refusals_table() {
        let limits = PushLimits {
            max_body_bytes: 4096,
            max_records: 3,
            max_record_bytes: 64,
        };
        let good = serde_json::to_value(rec(1, "kv", 0, 1)).unwrap();
        let with = |f: &dyn Fn(&mut serde_json::Value)| {
            let mut v = good.clone();
            f(&mut v);
            serde_json::to_vec(&vec![v]).unwrap()
        };
        let mut big = rec(1, "kv", 0, 1);
        big.data.data = "x".repeat(100);
        let cases: Vec<(Vec<u8>, u16, &str)> = vec![
            (b"{not json".to_vec(), 400, "malformed"),
            (b"{\"a\":1}".to_vec(), 400, "array"),
            (vec![b' '; 5000], 413, "body"),
            (
                body(&[
                    rec(1, "kv", 0, 1),
                    rec(1, "kv", 1, 2),
                    rec(1, "kv", 2, 3),
                    rec(1, "kv", 3, 4),
                ]),
                413,
                "limit of 3",
            ),
            (
                with(&|v| v["id"] = "nope".into()),
                400,
                "record 0 is invalid",
            ),
            (
                with(&|v| v["host"]["id"] = "zzz".into()),
                400,
                "record 0 is invalid",
            ),
            (with(&|v| v["tag"] = "".into()), 400, "empty tag"),
            (with(&|v| v["idx"] = (-1).into()), 400, "invalid"),
            (with(&|v| v["idx"] = 1.5.into()), 400, "invalid"),
            (
                with(&|v| v["idx"] = (MAX_IDX + 1).into()),
                400,
                "largest accepted idx",
            ),
            (
                with(&|v| v["timestamp"] = u64::MAX.into()),
                400,
                "timestamp",
            ),
            (
                with(&|v| v["tag"] = "t".repeat(200).into()),
                400,
                "tag is longer",
            ),
            (
                with(&|v| {
                    v.as_object_mut().unwrap().remove("data");
                }),
                400,
                "invalid",
            ),
            (body(&[big]), 413, "more than the limit of 64"),
            (
                br#"[{"id":"00000000-0000-0000-0000-000000000001","idx":2,"idx":3}]"#.to_vec(),
                400,
                "record 0 is invalid: duplicate key `idx`",
            ),
            (
                with(&|v| v["host"] = serde_json::json!([v["host"]["id"], ""])),
                400,
                "record 0 is invalid: invalid type: sequence",
            ),
            (b"[1,2] x".to_vec(), 400, "invalid"),
            (vec![0xff, b'['], 400, "not UTF-8"),
        ];
        for (b, status, needle) in cases {
            let err = parse_batch(&b, &limits).unwrap_err();
            assert_eq!(err.status(), status, "{err}");
            assert!(err.to_string().contains(needle), "{err} !~ {needle}");
        }
    }

    #[test]
    fn ranges_group_by_series() {
        let b = vec![
            rec(2, "kv", 5, 1),
            rec(1, "history", 3, 2),
            rec(1, "history", 1, 3),
            rec(2, "kv", 4, 4),
        ];
        let r = ranges(&b);
        assert_eq!(
            r,
            vec![
                SeriesRange {
                    series: key(1, "history"),
                    first: 1,
                    last: 3
                },
                SeriesRange {
                    series: key(2, "kv"),
                    first: 4,
                    last: 5
                },
            ]
        );
        assert!(describe(&r).contains("1..=3"));
        // far-apart records of one series make two ranges
        let b = vec![
            rec(1, "kv", 0, 1),
            rec(1, "kv", 1000, 2),
            rec(1, "kv", 1, 3),
        ];
        let spans: Vec<_> = ranges(&b).iter().map(|r| (r.first, r.last)).collect();
        assert_eq!(spans, vec![(0, 1), (1000, 1000)]);
    }

    #[test]
    fn classify_new_duplicate_conflict() {
        let b = vec![
            rec(1, "history", 0, 10),
            rec(1, "history", 1, 11),
            rec(1, "kv", 0, 12),
        ];
        // empty store: all new
        let plan = classify(&b, &Occupied::new()).unwrap();
        assert_eq!(plan.new, vec![0, 1, 2]);
        assert_eq!(plan.duplicates, 0);
        assert_eq!(
            plan.last_idx,
            vec![(key(1, "history"), 1), (key(1, "kv"), 0)]
        );

        // same batch again: all duplicates, nothing to insert
        let stored: Occupied = b.iter().map(|r| ((r.series(), r.idx), r.id)).collect();
        let plan = classify(&b, &stored).unwrap();
        assert!(plan.new.is_empty());
        assert_eq!(plan.duplicates, 3);

        // partly stored: only the rest is new
        let mut partial = Occupied::new();
        partial.insert((key(1, "history"), 0), RecordId(Uuid::from_u128(10)));
        assert_eq!(classify(&b, &partial).unwrap().new, vec![1, 2]);

        // a different id in an occupied slot: conflict naming series and idx
        let mut other = Occupied::new();
        other.insert((key(1, "history"), 1), RecordId(Uuid::from_u128(99)));
        let err = classify(&b, &other).unwrap_err();
        assert_eq!(err.status(), 409);
        let msg = err.to_string();
        assert!(
            msg.contains(&key(1, "history").to_string()) && msg.contains("idx 1"),
            "{msg}"
        );
    }

    #[test]
    fn classify_inside_one_batch() {
        // the same record twice is stored once
        let b = vec![rec(1, "kv", 0, 1), rec(1, "kv", 0, 1)];
        let plan = classify(&b, &Occupied::new()).unwrap();
        assert_eq!((plan.new, plan.duplicates), (vec![0], 1));
        // two different records for one slot conflict
        let b = vec![rec(1, "kv", 0, 1), rec(1, "kv", 0, 2)];
        assert_eq!(classify(&b, &Occupied::new()).unwrap_err().status(), 409);
        // same idx in different series or hosts is fine
        let b = vec![
            rec(1, "kv", 0, 1),
            rec(2, "kv", 0, 2),
            rec(1, "history", 0, 3),
        ];
        assert_eq!(classify(&b, &Occupied::new()).unwrap().new.len(), 3);
    }

    #[test]
    fn gaps_are_stored_as_they_are() {
        // A series starting above 0, a gap inside the batch, in any order: all new.
        let b = [rec(1, "kv", 9, 3), rec(1, "kv", 5, 1), rec(1, "kv", 7, 2)];
        let plan = classify(&b, &Occupied::new()).unwrap();
        assert_eq!(plan.new, vec![0, 1, 2]);
        assert_eq!(plan.last_idx, vec![(key(1, "kv"), 9)]);
        // Above a stored record, stepping over idx: new; below it, filling: new too.
        let mut occ = Occupied::new();
        occ.insert((key(1, "kv"), 5), RecordId(Uuid::from_u128(1)));
        let b = [
            rec(1, "kv", 5, 1),
            rec(1, "kv", 2, 4),
            rec(1, "kv", MAX_IDX, 5),
        ];
        let plan = classify(&b, &occ).unwrap();
        assert_eq!((plan.new, plan.duplicates), (vec![1, 2], 1));
        assert_eq!(plan.last_idx, vec![(key(1, "kv"), MAX_IDX)]);
    }
}
