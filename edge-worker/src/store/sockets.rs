//! The account's live sockets (docs/PROTOCOL.md §2, "Live status", "Pages over the socket"):
//! accepted through the hibernation API (an idle socket costs nothing) and tagged with the
//! session's hash; told the new last idx of each series a push wrote (statuses only, never
//! records); closed when their session ends; and, on page sockets, answered page requests by
//! the rules of `next`, bounded per message.

use terrapin_core::record::SeriesKey;
use terrapin_core::status::Status;
use terrapin_core::wire;
use worker::{Request, Response, WebSocket, WebSocketPair};

use super::{Hangup, UserStore, SESSION_HEADER};
use crate::error::{ApiError, ApiResult};

/// Prefix of a live socket's tag; the rest is its session's hash.
const SESSION_TAG: &str = "s:";

impl UserStore {
    /// The page requests of one message, answered in order within the bounds of a message, in
    /// as few messages as the byte bound allows (docs/PROTOCOL.md §2, "Pages over the socket");
    /// anything else a client sends is ignored.
    pub(super) fn socket_message(&self, ws: &WebSocket, text: &str) {
        if text == wire::LIVE_PING {
            return;
        }
        let answers = wire::socket_answers(text, |line| self.socket_answer(line));
        wire::socket_join(answers, |message| {
            // A socket that is closing can't take it: its client asks again elsewhere.
            let _ = ws.send_with_str(&message);
        });
    }

    /// Sends `{"type": "push", "hosts": {host: {tag: last idx}}}` (the series' new last idx,
    /// read back after the commit) to every live socket of this account.
    pub(super) fn announce(&self, written: &[SeriesKey]) -> worker::Result<()> {
        let sockets = self.state.get_websockets();
        if sockets.is_empty() || written.is_empty() {
            return Ok(());
        }
        let mut status = Status::new();
        for series in written {
            if let Some(last) = self.last_idx(series)? {
                status.set(series.clone(), last);
            }
        }
        let text = wire::LiveMessage::Push(status).to_json();
        for ws in sockets {
            // A socket that is closing can't take it; the others still do.
            let _ = ws.send_with_str(&text);
        }
        Ok(())
    }

    /// Accepts a live socket for the session `session` (a hash): tagged with it, greeted with the
    /// full status (`{"type": "status", ...}`) so a client catches up without asking.
    pub(super) fn accept_live(&self, req: &Request) -> ApiResult {
        let upgrade = req.headers().get("Upgrade").ok().flatten();
        if !upgrade.is_some_and(|u| u.eq_ignore_ascii_case("websocket")) {
            return Err(ApiError::new(426, "expected a WebSocket upgrade"));
        }
        let session = req
            .headers()
            .get(SESSION_HEADER)
            .ok()
            .flatten()
            .filter(|s| !s.is_empty())
            .ok_or_else(|| ApiError::internal("store error", "live socket without a session"))?;
        let mut open = self.state.get_websockets();
        if open.len() >= wire::LIVE_MAX_SOCKETS {
            // Oldest first (the runtime keeps accept order).
            let _ = open
                .remove(0)
                .close(Some(wire::CLOSE_REPLACED), Some("too many live sockets"));
        }
        let pair = WebSocketPair::new()?;
        let tag = format!("{SESSION_TAG}{session}");
        self.state.accept_websocket_with_tags(&pair.server, &[&tag]);
        pair.server
            .send_with_str(wire::LiveMessage::Status(self.status()?).to_json())?;
        Ok(Response::from_websocket(pair.client)?)
    }

    /// Closes live sockets: those of `session`, or all but those of `except`, or all.
    pub(super) fn hang_up(&self, h: &Hangup) {
        let sockets = match &h.session {
            Some(s) => self
                .state
                .get_websockets_with_tag(&format!("{SESSION_TAG}{s}")),
            None => self.state.get_websockets(),
        };
        let keep = h.except.as_ref().map(|s| format!("{SESSION_TAG}{s}"));
        for ws in sockets {
            if keep
                .as_ref()
                .is_some_and(|k| self.state.get_tags(&ws).contains(k))
            {
                continue;
            }
            let _ = ws.close(Some(wire::CLOSE_SESSION_ENDED), Some("session ended"));
        }
    }

    /// The answer to one request line of a socket message.
    pub(super) fn socket_answer(&self, line: &str) -> String {
        match serde_json::from_str::<wire::SocketRequest>(line) {
            Ok(r) if r.kind == wire::SOCKET_NEXT => self.socket_next(r.id, &r.query),
            Ok(r) => wire::socket_error(
                Some(r.id),
                400,
                &format!("unknown request type {:?}: expected \"next\"", r.kind),
            ),
            Err(e) => wire::socket_error(None, 400, &format!("bad socket request: {e}")),
        }
    }

    /// The answer to page request `id`: `query` read as `/next` reads its URL query.
    pub(super) fn socket_next(&self, id: u64, query: &str) -> String {
        if self.closed.get() {
            return wire::socket_error(Some(id), 403, "account deleted");
        }
        let url = match worker::Url::parse(&format!("https://user-store/next?{query}")) {
            Ok(url) => url,
            Err(e) => return wire::socket_error(Some(id), 400, &format!("bad query: {e}")),
        };
        match self.next_at(&url) {
            Ok(json) => wire::socket_page(id, &String::from_utf8_lossy(&json)),
            Err(e) => wire::socket_error(Some(id), e.status, &e.reason),
        }
    }
}

/// Completes a closing handshake (codes 1005/1006 can't be sent back).
pub(super) fn closed(ws: &WebSocket, code: usize) {
    let code = u16::try_from(code)
        .ok()
        .filter(|c| *c != 1005 && *c != 1006);
    let _ = ws.close(code.or(Some(1000)), Some("bye"));
}
