//! AI threads: `ai-session` messages folded into sessions the way atuin 18.24.4's threads
//! sidecar folds them (docs/PROTOCOL.md §5). Read-only.
//!
//! - A thread is keyed by its harness and the harness's session id.
//! - A message is keyed by its thread and its source id: a second row with the same key is a
//!   duplicate (the same line captured again, say on another host) and is dropped, except that
//!   the thread keeps the smallest atuin id any row carried. Which row is kept is the first in
//!   atuin's replay order (host id, then idx), so the fold is the same whatever order records
//!   arrive in.
//! - Messages are in timestamp (milliseconds) order, then message id.
//! - The thread's start and end are its first and last message's; its title is the newest
//!   row's (a row without one clears it), ties to the later row in replay order; its parent,
//!   directory, branch and model are the last row's that names one; its host is its earliest
//!   row's. Rows without content (structural rows) are not counted as messages.
//! - Threads list newest activity first, then by session id.

use alloc::collections::BTreeMap;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use serde::Serialize;

use crate::payload::ai_session::{AiMessage, AiSessionError, SessionHandle};
use crate::record::{DecryptedData, HostId, Record, RecordIdx, Tag};

/// One thread (an atuin "session"), summarised.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Thread {
    /// `harness:session`: stable, unlike the atuin id, which a later row may lower.
    pub id: String,
    pub session: SessionHandle,
    /// atuin's id for the thread (32 hex digits), as `atuin threads` shows it.
    pub atuin_id: Option<String>,
    pub parent: Option<SessionHandle>,
    pub parent_kind: Option<String>,
    pub cwd: Option<String>,
    pub git_branch: Option<String>,
    pub model: Option<String>,
    /// Unix milliseconds of the first and last message.
    pub started_at: i64,
    pub updated_at: i64,
    pub message_count: u64,
    pub title: Option<String>,
    pub title_source: Option<String>,
    /// The host of the earliest message.
    pub host: Option<String>,
}

/// Where a row sits in atuin's replay order.
type Order = (HostId, RecordIdx);

#[derive(Clone, Debug, Default, PartialEq)]
pub struct ThreadStore {
    /// (thread, source id) -> the row kept.
    rows: BTreeMap<(SessionHandle, String), (Order, AiMessage)>,
    /// thread -> the smallest atuin id of any of its rows, duplicates included.
    ids: BTreeMap<SessionHandle, String>,
}

impl ThreadStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// Folds in one `ai-session` payload of `version`, from record `idx` of `host`'s series.
    /// On error the store is unchanged.
    pub fn apply(
        &mut self,
        host: HostId,
        idx: RecordIdx,
        version: &crate::record::Version,
        payload: &[u8],
    ) -> Result<(), AiSessionError> {
        let mut message = AiMessage::decode(version, payload)?;
        message.host = Some(host.to_string());
        self.fold((host, idx), message);
        Ok(())
    }

    /// [`Self::apply`] for a decrypted record; records of other tags are ignored.
    pub fn apply_record(&mut self, record: &Record<DecryptedData>) -> Result<(), AiSessionError> {
        if record.tag != Tag::AiSession {
            return Ok(());
        }
        self.apply(record.host.id, record.idx, &record.version, &record.data.0)
    }

    fn fold(&mut self, order: Order, message: AiMessage) {
        if let Some(id) = &message.atuin_id {
            let kept = self
                .ids
                .entry(message.session.clone())
                .or_insert_with(|| id.clone());
            if id < kept {
                kept.clone_from(id);
            }
        }
        let key = (message.session.clone(), message.source_id.clone());
        match self.rows.get(&key) {
            Some((kept, _)) if *kept <= order => {}
            _ => {
                self.rows.insert(key, (order, message));
            }
        }
    }

    /// Every thread, newest activity first.
    pub fn threads(&self) -> Vec<Thread> {
        let mut out: Vec<Thread> = self
            .ids
            .keys()
            .chain(self.rows.keys().map(|(s, _)| s))
            .collect::<alloc::collections::BTreeSet<_>>()
            .into_iter()
            .filter_map(|s| self.thread(s))
            .collect();
        out.sort_by(|a, b| {
            b.updated_at
                .cmp(&a.updated_at)
                .then_with(|| a.session.session.cmp(&b.session.session))
        });
        out
    }

    /// The thread with this [`Thread::id`].
    pub fn get(&self, id: &str) -> Option<Thread> {
        let (harness, session) = id.split_once(':')?;
        self.thread(&SessionHandle {
            harness: harness.into(),
            session: session.into(),
        })
    }

    /// A thread's messages in transcript order (timestamp, then id).
    pub fn messages(&self, session: &SessionHandle) -> Vec<&AiMessage> {
        let mut out: Vec<&AiMessage> = self.rows_of(session).map(|(_, m)| m).collect();
        out.sort_by(|a, b| a.timestamp.cmp(&b.timestamp).then_with(|| a.id.cmp(&b.id)));
        out
    }

    fn rows_of<'a>(
        &'a self,
        session: &SessionHandle,
    ) -> impl Iterator<Item = &'a (Order, AiMessage)> + 'a {
        let from = (session.clone(), String::new());
        let session = session.clone();
        self.rows
            .range(from..)
            .take_while(move |((s, _), _)| *s == session)
            .map(|(_, row)| row)
    }

    fn thread(&self, session: &SessionHandle) -> Option<Thread> {
        let mut rows: Vec<&(Order, AiMessage)> = self.rows_of(session).collect();
        rows.sort_by_key(|(order, _)| *order);
        let first = &rows.first()?.1;
        let earliest = rows
            .iter()
            .map(|(_, m)| m)
            .min_by(|a, b| a.timestamp.cmp(&b.timestamp).then_with(|| a.id.cmp(&b.id)))?;
        // The newest row by timestamp, ties to the later in replay order.
        let newest = rows.iter().map(|(_, m)| m).fold(first, |newest, m| {
            if m.timestamp >= newest.timestamp {
                m
            } else {
                newest
            }
        });
        let last = |get: fn(&AiMessage) -> Option<&String>| {
            rows.iter().rev().find_map(|(_, m)| get(m)).cloned()
        };
        let with_parent = rows.iter().rev().find(|(_, m)| m.parent.is_some());
        let kind = rows
            .iter()
            .rev()
            .find_map(|(_, m)| m.parent.as_ref().and(m.parent_kind.clone()));
        Some(Thread {
            id: alloc::format!("{}:{}", session.harness, session.session),
            session: session.clone(),
            atuin_id: self.ids.get(session).cloned(),
            parent: with_parent.and_then(|(_, m)| m.parent.clone()),
            parent_kind: kind,
            cwd: last(|m| m.cwd.as_ref()),
            git_branch: last(|m| m.git_branch.as_ref()),
            model: last(|m| m.model.as_ref()),
            started_at: earliest.timestamp,
            updated_at: rows.iter().map(|(_, m)| m.timestamp).max()?,
            message_count: rows.iter().filter(|(_, m)| !m.content.is_empty()).count() as u64,
            title: newest.session_title.clone(),
            title_source: newest.session_title_source.clone(),
            host: earliest.host.clone(),
        })
    }
}
