//! Pages over the live socket (docs/PROTOCOL.md §2, "Pages over the socket"): while a sync
//! downloads, `next` requests go over one `terrapin.live.v2` WebSocket instead of one HTTP
//! request each. The pages and their rules are those of `GET /api/v0/record/next`; what a
//! socket saves is the cost of a request (routing, authentication, headers, compression) per
//! page, which decides the sync's time at small page sizes.
//!
//! The socket is only a faster road: when the server does not offer it (not Terrapin, or an
//! older one), or it closes or fails, each `next` goes over HTTP as before, with its retries.

use std::cell::RefCell;
use std::rc::Rc;

use futures_channel::oneshot;
use serde_json::Value;
use terrapin_core::record::{RecordIdx, SeriesKey};
use terrapin_core::sync::EncRecord;
use terrapin_core::wire::{
    socket_join, socket_lines, socket_next, socket_page_parts, NextQuery, LIVE_PAGES_PROTOCOL,
    LIVE_PROTOCOL, LIVE_TOKEN_PREFIX,
};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{AbortSignal, MessageEvent, WebSocket};

use crate::http::{parse_json, HttpError};

type Answer = Result<Vec<EncRecord>, HttpError>;
type Listener = Closure<dyn FnMut(JsValue)>;

#[derive(Default)]
struct Waiting {
    next_id: u64,
    /// Requests under way (a sync keeps a handful): a list, not a map.
    answers: Vec<(u64, oneshot::Sender<Answer>)>,
    /// Requests not sent yet: they go as one message (a message costs both ends more than
    /// its bytes) once the sync made its group ([`PageSocket::flush`]), or else at the end
    /// of this turn.
    queued: Vec<String>,
    /// Set when the socket closed or failed: requests go over HTTP from then on.
    gone: bool,
}

impl Waiting {
    /// Ends every request under way with `e` (they then go over HTTP), and any later one.
    fn fail(&mut self, e: &HttpError) {
        self.gone = true;
        self.queued.clear();
        for (_, tx) in std::mem::take(&mut self.answers) {
            let _ = tx.send(Err(e.clone()));
        }
    }
}

/// One open `terrapin.live.v2` socket of a sync. Closed when dropped.
pub struct PageSocket {
    ws: WebSocket,
    waiting: Rc<RefCell<Waiting>>,
    _on_message: Listener,
    _on_gone: Listener,
    _on_abort: Option<(AbortSignal, Listener)>,
}

impl PageSocket {
    /// Opens the socket of `base` (an `http(s)://` server) for the session `session`. `None`
    /// when the server does not offer page requests; the caller then uses HTTP. An abort of
    /// `signal` closes it.
    pub async fn open(base: &str, session: &str, signal: Option<&AbortSignal>) -> Option<Self> {
        let url = format!(
            "{}/api/v0/live",
            base.replacen("http", "ws", usize::from(base.starts_with("http")))
        );
        let protocols = js_sys::Array::of3(
            &LIVE_PAGES_PROTOCOL.into(),
            &LIVE_PROTOCOL.into(),
            &format!("{LIVE_TOKEN_PREFIX}{session}").into(),
        );
        let ws = WebSocket::new_with_str_sequence(&url, &protocols).ok()?;
        // Settled by the first of open, error, close and abort; then the state says which.
        let settled = js_sys::Promise::new(&mut |settle, _| {
            ws.set_onopen(Some(&settle));
            ws.set_onerror(Some(&settle));
            ws.set_onclose(Some(&settle));
            if let Some(s) = signal {
                let _ = s.add_event_listener_with_callback("abort", &settle);
            }
        });
        let _ = wasm_bindgen_futures::JsFuture::from(settled).await;
        ws.set_onopen(None);
        let open = ws.ready_state() == WebSocket::OPEN
            && !signal.is_some_and(AbortSignal::aborted)
            && ws.protocol() == LIVE_PAGES_PROTOCOL;
        if !open {
            ws.set_onerror(None);
            ws.set_onclose(None);
            let _ = ws.close();
            return None;
        }

        let waiting = Rc::new(RefCell::new(Waiting::default()));
        let w = waiting.clone();
        let from = url.clone();
        let on_message = Listener::new(move |ev: JsValue| {
            let text = ev.unchecked_into::<MessageEvent>().data().as_string();
            if let Some(text) = text.filter(|t| t != "pong") {
                let mut w = w.borrow_mut();
                for line in socket_lines(&text) {
                    deliver(&mut w, line, &from);
                }
            }
        });
        let w = waiting.clone();
        let from = url.clone();
        let on_gone = Listener::new(move |_| {
            w.borrow_mut().fail(&HttpError::Network {
                url: from.clone(),
                reason: "the socket closed".into(),
            });
        });
        ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        ws.set_onerror(Some(on_gone.as_ref().unchecked_ref()));
        ws.set_onclose(Some(on_gone.as_ref().unchecked_ref()));
        let on_abort = signal.map(|s| {
            let ws = ws.clone();
            let close = Listener::new(move |_| {
                let _ = ws.close();
            });
            let _ = s.add_event_listener_with_callback("abort", close.as_ref().unchecked_ref());
            (s.clone(), close)
        });
        Some(Self {
            ws,
            waiting,
            _on_message: on_message,
            _on_gone: on_gone,
            _on_abort: on_abort,
        })
    }

    /// Sends the requests made so far (they are gathered, to go in one message).
    pub fn flush(&self) {
        send_queued(&self.ws, &self.waiting);
    }

    /// One page over the socket, or `None` when it is gone (closed, failed, or the server
    /// failed to answer): the caller then asks over HTTP. A refusal is the server's answer.
    pub async fn next(
        &self,
        series: &SeriesKey,
        start: RecordIdx,
        count: u64,
    ) -> Option<Result<Vec<EncRecord>, HttpError>> {
        let rx = {
            let mut w = self.waiting.borrow_mut();
            if w.gone {
                return None;
            }
            let id = w.next_id;
            w.next_id += 1;
            let query = NextQuery {
                host: series.host,
                tag: series.tag.clone(),
                start,
                count,
            };
            let (tx, rx) = oneshot::channel();
            w.answers.push((id, tx));
            w.queued.push(socket_next(id, &query));
            if w.queued.len() == 1 {
                // Sent by `flush`, or else once this turn ends.
                let (ws, waiting) = (self.ws.clone(), self.waiting.clone());
                wasm_bindgen_futures::spawn_local(async move { send_queued(&ws, &waiting) });
            }
            rx
        };
        match rx.await {
            Ok(Err(e)) if e.is_transient() || matches!(e, HttpError::BadResponse { .. }) => None,
            Ok(answer) => Some(answer),
            Err(_) => None,
        }
    }
}

/// Sends the queued requests in one message; if the socket can't take them, they go over
/// HTTP.
fn send_queued(ws: &WebSocket, waiting: &RefCell<Waiting>) {
    let mut w = waiting.borrow_mut();
    let mut sent = true;
    socket_join(std::mem::take(&mut w.queued), |m| {
        sent = sent && ws.send_with_str(&m).is_ok();
    });
    if !sent {
        w.fail(&HttpError::Network {
            url: ws.url(),
            reason: "the socket could not send".into(),
        });
    }
}

/// Hands one answer of a server message to the request it answers: a page (read by the rules of an HTTP
/// answer), or a refusal. Statuses (`status`, `push`) are for live mode, not a sync: skipped.
fn deliver(w: &mut Waiting, text: &str, url: &str) {
    let (id, answer) = match socket_page_parts(text) {
        Some((id, records)) => (id, parse_json::<Vec<EncRecord>>(records, url)),
        None => {
            let Ok(m) = serde_json::from_str::<Value>(text) else {
                return w.fail(&HttpError::BadResponse {
                    url: url.to_owned(),
                    reason: "unreadable socket message".into(),
                });
            };
            if m.get("type").and_then(Value::as_str) != Some("error") {
                return;
            }
            let reason = m.get("reason").and_then(Value::as_str).unwrap_or_default();
            let Some(id) = m.get("id").and_then(Value::as_u64) else {
                // A request the server could not read: ours are well formed, so stop using it.
                return w.fail(&HttpError::BadResponse {
                    url: url.to_owned(),
                    reason: reason.to_owned(),
                });
            };
            let status = m.get("status").and_then(Value::as_u64).unwrap_or(500);
            let status = u16::try_from(status).unwrap_or(500);
            let e = HttpError::answered(status, url, reason.to_owned(), None);
            (id, Err(e))
        }
    };
    if let Some(i) = w.answers.iter().position(|(k, _)| *k == id) {
        let _ = w.answers.swap_remove(i).1.send(answer);
    }
}

impl Drop for PageSocket {
    fn drop(&mut self) {
        self.ws.set_onmessage(None);
        self.ws.set_onerror(None);
        self.ws.set_onclose(None);
        let _ = self.ws.close();
        if let Some((s, close)) = &self._on_abort {
            let _ = s.remove_event_listener_with_callback("abort", close.as_ref().unchecked_ref());
        }
        self.waiting.borrow_mut().fail(&HttpError::Aborted);
    }
}
