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
use terrapin_core::record::{RecordIdx, SeriesKey};
use terrapin_core::sync::EncRecord;
use terrapin_core::wire::{
    NextQuery, SocketMessage, SocketRequest, LIVE_PAGES_PROTOCOL, LIVE_PROTOCOL, LIVE_TOKEN_PREFIX,
    SOCKET_NEXT,
};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{AbortSignal, MessageEvent, WebSocket};

use crate::http::HttpError;

type Answer = Result<Vec<EncRecord>, HttpError>;
type Listener = Closure<dyn FnMut(JsValue)>;

#[derive(Default)]
struct Waiting {
    next_id: u64,
    /// Requests under way (a sync keeps a handful): a list, not a map.
    answers: Vec<(u64, oneshot::Sender<Answer>)>,
    /// Set when the socket closed or failed: requests go over HTTP from then on.
    gone: bool,
}

impl Waiting {
    /// Ends every request under way with `e` (they then go over HTTP), and any later one.
    fn fail(&mut self, e: &HttpError) {
        self.gone = true;
        for (_, tx) in std::mem::take(&mut self.answers) {
            let _ = tx.send(Err(e.clone()));
        }
    }
}

/// One open `terrapin.live.v2` socket of a sync. Closed when dropped.
pub struct PageSocket {
    ws: WebSocket,
    waiting: Rc<RefCell<Waiting>>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_gone: Closure<dyn FnMut(JsValue)>,
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
        // Opened (true) or refused (false): the first of open, error and close.
        let (tx, rx) = oneshot::channel::<bool>();
        let tx = Rc::new(RefCell::new(Some(tx)));
        let settle = |opened: bool| {
            let tx = tx.clone();
            Closure::<dyn FnMut(JsValue)>::new(move |_| {
                if let Some(tx) = tx.borrow_mut().take() {
                    let _ = tx.send(opened);
                }
            })
        };
        let (on_open, on_refused) = (settle(true), settle(false));
        ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        ws.set_onerror(Some(on_refused.as_ref().unchecked_ref()));
        ws.set_onclose(Some(on_refused.as_ref().unchecked_ref()));
        let aborted = on_refused.as_ref().unchecked_ref();
        if let Some(s) = signal {
            let _ = s.add_event_listener_with_callback("abort", aborted);
        }
        let opened = rx.await.unwrap_or(false) && !signal.is_some_and(AbortSignal::aborted);
        if let Some(s) = signal {
            let _ = s.remove_event_listener_with_callback("abort", aborted);
        }
        ws.set_onopen(None);
        if !opened || ws.protocol() != LIVE_PAGES_PROTOCOL {
            ws.set_onerror(None);
            ws.set_onclose(None);
            let _ = ws.close();
            return None;
        }

        let waiting = Rc::new(RefCell::new(Waiting::default()));
        let w = waiting.clone();
        let from = url.clone();
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |ev: MessageEvent| {
            let Some(text) = ev.data().as_string() else {
                return;
            };
            if text == "pong" {
                return;
            }
            match serde_json::from_str::<SocketMessage<EncRecord>>(&text) {
                Ok(m) => deliver(&mut w.borrow_mut(), m, &from),
                Err(e) => w.borrow_mut().fail(&HttpError::BadResponse {
                    url: from.clone(),
                    reason: format!("unreadable socket message: {e}"),
                }),
            }
        });
        let w = waiting.clone();
        let from = url.clone();
        let on_gone = Closure::<dyn FnMut(JsValue)>::new(move |_| {
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
            let close = Closure::<dyn FnMut(JsValue)>::new(move |_| {
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
            let request = SocketRequest {
                kind: SOCKET_NEXT.into(),
                id,
                query: query.to_query(),
            };
            let text = serde_json::to_string(&request).ok()?;
            let (tx, rx) = oneshot::channel();
            w.answers.push((id, tx));
            if self.ws.send_with_str(&text).is_err() {
                w.answers.pop();
                return None;
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

/// Hands a server message to the request it answers. Statuses (`status`, `push`) are for live
/// mode, not a sync: skipped.
fn deliver(w: &mut Waiting, m: SocketMessage<EncRecord>, url: &str) {
    let answer = match (m.kind.as_str(), m.id) {
        ("page", Some(id)) => (id, Ok(m.records.unwrap_or_default())),
        ("error", Some(id)) => {
            let reason = m.reason.unwrap_or_default();
            let status = m.status.unwrap_or(500);
            (id, Err(HttpError::answered(status, url, reason, None)))
        }
        ("error", None) => {
            // A request the server could not read: ours are well formed, so stop using it.
            w.fail(&HttpError::BadResponse {
                url: url.to_owned(),
                reason: m.reason.unwrap_or_default(),
            });
            return;
        }
        _ => return,
    };
    if let Some(i) = w.answers.iter().position(|(id, _)| *id == answer.0) {
        let _ = w.answers.swap_remove(i).1.send(answer.1);
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
