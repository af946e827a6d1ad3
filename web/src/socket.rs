//! The live socket (docs/PROTOCOL.md §2, "Live status" and "Pages over the socket"): one
//! WebSocket to the server's `/api/v0/live`, owned here.
//!
//! - In live mode ([`Sockets::start`], the profile's leading tab) the client keeps one socket
//!   open: it hands the server's statuses up ([`LiveHandler`]), keeps it alive with a ping,
//!   reconnects with the client's [`RetryPolicy`] backoff (not after the server's closes for
//!   good), and carries the page requests of every sync while it is open.
//! - Otherwise each sync opens its own socket with its third page request (a sync of a page or
//!   two costs none), and closes it when it ends.
//!
//! A socket is only a faster road for `next` (no request's cost around each page): when the
//! server does not offer page requests (not Terrapin, or an older one), or the socket is down,
//! closes or fails, each page goes over HTTP as before, with its retries.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::rc::Rc;

use futures_channel::oneshot;
use serde_json::Value;
use terrapin_core::record::{RecordIdx, SeriesKey};
use terrapin_core::status::Status;
use terrapin_core::sync::{EncRecord, Remote};
use terrapin_core::wire::{
    self, socket_join, socket_lines, socket_next, socket_page_parts, NextQuery,
    LIVE_PAGES_PROTOCOL, LIVE_PROTOCOL, LIVE_TOKEN_PREFIX,
};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{AbortSignal, MessageEvent, WebSocket};

use crate::http::{parse_json, set_timeout, sleep, HttpError, HttpRemote, RetryPolicy};
use crate::task::spawn;

type Answer = Result<Vec<EncRecord>, HttpError>;
type Listener = Closure<dyn FnMut(JsValue)>;

/// Live mode's JavaScript side (`liveStart`'s `onEvent`), told `onEvent(event, message?)`:
/// - `"live"`: the server greeted the socket with its status; the client catches up;
/// - `"push"`: a push elsewhere wrote series; `message` is its text (`{"type": "push",
///   "hosts": …}`);
/// - `"down"`: the socket closed or could not open; it reconnects after a backoff;
/// - `"session-ended"`, `"account-deleted"`: the server closed it for good
///   ([`wire::CLOSE_SESSION_ENDED`], [`wire::CLOSE_ACCOUNT_DELETED`]), `"no-session"`: none to
///   open it with; nothing reconnects until live mode is started again.
pub type LiveHandler = js_sys::Function;

fn tell(handler: &LiveHandler, event: &str, message: JsValue) {
    let _ = handler.call2(&JsValue::NULL, &event.into(), &message);
}

#[derive(Default)]
struct Waiting {
    next_id: u64,
    /// Requests under way (a sync keeps a handful): a list, not a map.
    answers: Vec<(u64, oneshot::Sender<Answer>)>,
    /// Requests not sent yet: they go as one message (a message costs both ends more than
    /// its bytes) once the sync made its group ([`Socket::flush`]), or else at the end of
    /// this turn.
    queued: Vec<String>,
    /// Set when the socket closed or failed: requests go over HTTP from then on.
    gone: bool,
    /// When the socket last heard from the server (ms since the epoch).
    heard: f64,
    /// Its close code, once closed.
    code: Option<u16>,
    /// Live mode's wait ([`tick`]), ended early by the close.
    wake: Option<js_sys::Function>,
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

/// One open socket: a sync's (page requests) or live mode's (statuses, and page requests when
/// the server selected [`LIVE_PAGES_PROTOCOL`]). Closed when dropped.
pub struct Socket {
    ws: WebSocket,
    waiting: Rc<RefCell<Waiting>>,
    /// The server answers page requests on it.
    pages: bool,
    _on_message: Listener,
    _on_gone: Listener,
    _on_abort: Option<(AbortSignal, Listener)>,
}

impl Socket {
    /// Opens the socket of `base` (an `http(s)://` server) for the session `session`. A sync's
    /// (`live` is `None`) is `None` when the server does not offer page requests, and an abort
    /// of `signal` closes it; live mode's hands the server's statuses to its handler.
    async fn open(
        base: &str,
        session: &str,
        signal: Option<&AbortSignal>,
        handler: Option<LiveHandler>,
    ) -> Option<Self> {
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
        let pages = ws.protocol() == LIVE_PAGES_PROTOCOL;
        let open = ws.ready_state() == WebSocket::OPEN
            && !signal.is_some_and(AbortSignal::aborted)
            && (pages || handler.is_some());
        if !open {
            ws.set_onerror(None);
            ws.set_onclose(None);
            let _ = ws.close();
            return None;
        }

        let waiting = Rc::new(RefCell::new(Waiting {
            heard: js_sys::Date::now(),
            ..Waiting::default()
        }));
        let w = waiting.clone();
        let from = url.clone();
        let on_message = Listener::new(move |ev: JsValue| {
            let data = ev.unchecked_into::<MessageEvent>().data();
            let text = data.dyn_ref::<js_sys::JsString>().and_then(utf8);
            let mut news = None;
            if let Some(text) = text {
                let mut w = w.borrow_mut();
                w.heard = js_sys::Date::now();
                for line in socket_lines(&text).filter(|l| *l != wire::LIVE_PONG) {
                    // A status comes alone in its message.
                    news = deliver(&mut w, line, &from).or(news);
                }
            }
            // Handed up once the requests' state is free again (the handler may sync).
            if let (Some(h), Some((event, message))) = (&handler, news) {
                tell(h, event, message);
            }
        });
        let w = waiting.clone();
        let from = url.clone();
        let on_gone = Listener::new(move |ev: JsValue| {
            let wake = {
                let mut w = w.borrow_mut();
                w.fail(&HttpError::Network {
                    url: from.clone(),
                    reason: "the socket closed".into(),
                });
                // A close event has a code (an error event, which comes before its close, none).
                let code = js_sys::Reflect::get(&ev, &"code".into()).ok();
                w.code = code.and_then(|c| c.as_f64()).map(|c| c as u16);
                w.code.and(w.wake.take())
            };
            if let Some(wake) = wake {
                let _ = wake.call0(&JsValue::NULL);
            }
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
            pages,
            _on_message: on_message,
            _on_gone: on_gone,
            _on_abort: on_abort,
        })
    }

    /// Sends the requests made so far (they are gathered, to go in one message).
    fn flush(&self) {
        send_queued(&self.ws, &self.waiting);
    }

    /// One page over the socket, or `None` when it takes none (a status-only socket, or gone:
    /// closed, failed, or the server failed to answer): the caller then asks over HTTP. A
    /// refusal is the server's answer.
    async fn next(&self, series: &SeriesKey, start: RecordIdx, count: u64) -> Option<Answer> {
        let rx = {
            let mut w = self.waiting.borrow_mut();
            if w.gone || !self.pages {
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
                spawn(async move { send_queued(&ws, &waiting) });
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

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = TextEncoder)]
    type Encoder;
    #[wasm_bindgen(constructor, js_class = TextEncoder)]
    fn new() -> Encoder;
    /// Writes as much of `source` as fits into `dest` (a view of wasm memory, not a copy).
    #[wasm_bindgen(method, js_class = TextEncoder, js_name = encodeInto)]
    fn encode_into(this: &Encoder, source: &js_sys::JsString, dest: &mut [u8]) -> Encoded;
    type Encoded;
    #[wasm_bindgen(method, getter)]
    fn read(this: &Encoded) -> u32;
    #[wasm_bindgen(method, getter)]
    fn written(this: &Encoded) -> u32;
}

thread_local! {
    static ENCODER: Encoder = Encoder::new();
}

/// A JS string as UTF-8, written by the browser's `TextEncoder.encodeInto` straight into wasm
/// memory: a sync's messages (and stored chunks) are megabytes of ASCII, which wasm-bindgen's
/// own string copy (`as_string`) walks a character at a time in JavaScript.
pub(crate) fn utf8(text: &js_sys::JsString) -> Option<String> {
    // One byte per UTF-16 unit for ASCII; the rest of the text, if any, gets room for the most
    // (3 bytes per unit).
    let mut out = vec![0u8; text.length() as usize];
    let mut rest = text.clone();
    let mut at = 0;
    loop {
        let done = ENCODER.with(|e| e.encode_into(&rest, &mut out[at..]));
        at += done.written() as usize;
        let (read, len) = (done.read(), rest.length());
        if read >= len {
            break;
        }
        rest = rest.slice(read, len);
        out.resize(at + 3 * (len - read) as usize, 0);
    }
    out.truncate(at);
    String::from_utf8(out).ok()
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

/// Hands one answer of a server message to the request it answers: a page (read by the rules
/// of an HTTP answer), or a refusal; a status (`status`, `push`) is returned as the event live
/// mode tells ([`LiveHandler`]).
fn deliver(w: &mut Waiting, text: &str, url: &str) -> Option<(&'static str, JsValue)> {
    let (id, answer) = match socket_page_parts(text) {
        Some((id, records)) => (id, parse_json::<Vec<EncRecord>>(records, url)),
        None => {
            let Ok(m) = serde_json::from_str::<Value>(text) else {
                w.fail(&HttpError::BadResponse {
                    url: url.to_owned(),
                    reason: "unreadable socket message".into(),
                });
                return None;
            };
            match m.get("type").and_then(Value::as_str) {
                Some("error") => {}
                Some(wire::LIVE_STATUS) => return Some(("live", JsValue::UNDEFINED)),
                Some(wire::LIVE_PUSH) => return Some(("push", text.into())),
                _ => return None,
            }
            let reason = m.get("reason").and_then(Value::as_str).unwrap_or_default();
            let Some(id) = m.get("id").and_then(Value::as_u64) else {
                // A request the server could not read: ours are well formed, so stop using it.
                w.fail(&HttpError::BadResponse {
                    url: url.to_owned(),
                    reason: reason.to_owned(),
                });
                return None;
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
    None
}

impl Drop for Socket {
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

/// The sockets of one client: live mode's, or one per sync.
pub struct Sockets {
    /// Cleared when a server did not open a sync's socket: later syncs don't try again.
    offered: Cell<bool>,
    live: Rc<RefCell<Live>>,
}

#[derive(Default)]
struct Live {
    /// Bumped by every start and stop: the loop of an older run ends.
    run: u32,
    /// Live mode is on (started, not stopped): syncs use its socket, or HTTP.
    on: bool,
    socket: Option<Rc<Socket>>,
    handler: Option<LiveHandler>,
    http: Option<HttpRemote>,
    retry: RetryPolicy,
}

impl Default for Sockets {
    fn default() -> Self {
        Self {
            offered: Cell::new(true),
            live: Rc::default(),
        }
    }
}

impl Sockets {
    /// Live mode: keep the live socket of `http`'s server and session open from now on,
    /// reconnecting after `retry`'s backoff, and tell `handler` what it hears.
    pub fn start(&self, http: &HttpRemote, retry: RetryPolicy, handler: LiveHandler) {
        let mut l = self.live.borrow_mut();
        l.http = Some(http.clone());
        l.retry = retry;
        l.handler = Some(handler);
        l.on = true;
        l.close();
        spawn(run(self.live.clone(), l.run));
    }

    /// Live mode off: the socket closes, syncs open their own again.
    pub fn stop(&self) {
        let mut l = self.live.borrow_mut();
        l.on = false;
        l.handler = None;
        l.close();
    }

    /// The socket closes and nothing reconnects until live mode is started again (logout: the
    /// session is gone; a sync refused while the socket was down).
    pub fn hang_up(&self) {
        self.live.borrow_mut().close();
    }

    /// The remote of one sync over `http`: its pages over live mode's socket while it is open,
    /// else (live mode off) over a socket of its own once it has asked for two.
    pub fn remote(&self, http: HttpRemote) -> SyncRemote<'_> {
        let pages = match (self.live.borrow().on, self.offered.get()) {
            (true, _) => Pages::Live,
            (false, true) => Pages::Untried(0),
            (false, false) => Pages::Off,
        };
        SyncRemote {
            http,
            sockets: self,
            pages: RefCell::new(pages),
        }
    }
}

impl Live {
    /// Ends the current run: its loop stops and its socket closes (a sync still using it
    /// finishes over HTTP).
    fn close(&mut self) {
        self.run += 1;
        if let Some(s) = self.socket.take() {
            let _ = s.ws.close();
        }
    }
}

/// Live mode's loop for run `run`: open, ping while open, back off once closed, open again.
async fn run(live: Rc<RefCell<Live>>, run: u32) {
    let current = |live: &RefCell<Live>| live.borrow().run == run;
    let mut attempt = 0;
    loop {
        let (http, handler, retry) = {
            let l = live.borrow();
            match (&l.http, &l.handler) {
                (Some(http), Some(h)) if l.run == run => (http.clone(), h.clone(), l.retry),
                _ => return,
            }
        };
        let Some(session) = http.session() else {
            return tell(&handler, "no-session", JsValue::UNDEFINED);
        };
        let opened = Socket::open(http.base(), &session, None, Some(handler.clone())).await;
        if !current(&live) {
            return;
        }
        let mut code = 0;
        if let Some(socket) = opened {
            attempt = 0;
            let socket = Rc::new(socket);
            live.borrow_mut().socket = Some(socket.clone());
            code = keep_alive(&socket, &live, run).await;
            if !current(&live) {
                return;
            }
            live.borrow_mut().socket = None;
        }
        match code {
            wire::CLOSE_SESSION_ENDED => {
                return tell(&handler, "session-ended", JsValue::UNDEFINED)
            }
            wire::CLOSE_ACCOUNT_DELETED => {
                return tell(&handler, "account-deleted", JsValue::UNDEFINED)
            }
            _ => tell(&handler, "down", JsValue::UNDEFINED),
        }
        attempt += 1;
        let _ = sleep(retry.delay_ms(attempt, js_sys::Math::random(), None), None).await;
    }
}

/// Pings the open socket every [`wire::LIVE_PING_MS`] until it closes (one silent for 2.5
/// times as long is closed) or the run ends; its close code.
async fn keep_alive(socket: &Socket, live: &RefCell<Live>, run: u32) -> u16 {
    let every = wire::LIVE_PING_MS;
    loop {
        tick(every, &socket.waiting).await;
        let w = socket.waiting.borrow();
        if let Some(code) = w.code {
            return code;
        }
        if live.borrow().run != run {
            return 0;
        }
        if js_sys::Date::now() - w.heard > f64::from(every) * 2.5 {
            let _ = socket.ws.close();
        } else {
            let _ = socket.ws.send_with_str(wire::LIVE_PING);
        }
    }
}

/// Waits `ms`, or until the socket of `waiting` closes.
async fn tick(ms: u32, waiting: &RefCell<Waiting>) {
    let p = js_sys::Promise::new(&mut |resolve, _| {
        set_timeout(&resolve, u64::from(ms));
        waiting.borrow_mut().wake = Some(resolve);
    });
    if waiting.borrow().code.is_none() {
        let _ = wasm_bindgen_futures::JsFuture::from(p).await;
    }
}

/// The page socket of one sync.
enum Pages {
    /// Live mode's socket, whichever is open when a page is asked for.
    Live,
    /// Page requests made so far: the third opens a socket, so that a sync of a page or two
    /// costs none.
    Untried(u8),
    /// Requests made meanwhile wait for it (each sender is dropped once it settles).
    Opening(Vec<oneshot::Sender<()>>),
    Open(Rc<Socket>),
    Off,
}

/// The remote of one sync: HTTP, with its page requests over a socket when there is one.
pub struct SyncRemote<'a> {
    pub http: HttpRemote,
    sockets: &'a Sockets,
    pages: RefCell<Pages>,
}

impl SyncRemote<'_> {
    /// The socket a page goes over, opening a sync's own on its third request (requests made
    /// while it opens wait for it); `None`: over HTTP (not yet, not offered, closed).
    async fn socket(&self) -> Option<Rc<Socket>> {
        loop {
            let opened = {
                let mut pages = self.pages.borrow_mut();
                match &mut *pages {
                    Pages::Live => return self.sockets.live.borrow().socket.clone(),
                    Pages::Off => return None,
                    Pages::Open(socket) => return Some(socket.clone()),
                    Pages::Untried(n) if *n < 2 => {
                        *n += 1;
                        return None;
                    }
                    Pages::Opening(waiting) => {
                        let (tx, rx) = oneshot::channel();
                        waiting.push(tx);
                        Err(rx)
                    }
                    Pages::Untried(_) => {
                        *pages = Pages::Opening(Vec::new());
                        Ok(())
                    }
                }
            };
            match opened {
                // Settled: look again.
                Err(settled) => {
                    let _ = settled.await;
                }
                Ok(()) => {
                    let session = self.http.session();
                    let signal = self.http.signal();
                    let socket = match &session {
                        Some(s) => Socket::open(self.http.base(), s, signal, None).await,
                        None => None,
                    };
                    let aborted = signal.is_some_and(AbortSignal::aborted);
                    if socket.is_none() && session.is_some() && !aborted {
                        self.sockets.offered.set(false);
                    }
                    // Replacing `Opening` wakes the requests waiting for it.
                    *self.pages.borrow_mut() = match socket {
                        Some(s) => Pages::Open(Rc::new(s)),
                        None => Pages::Off,
                    };
                }
            }
        }
    }
}

impl Remote for SyncRemote<'_> {
    type Error = HttpError;

    // The HTTP remote's futures as they are (no state machine around them).
    fn status(&self) -> impl Future<Output = Result<Status, HttpError>> {
        self.http.status()
    }

    /// One page over the socket, else one `GET /api/v0/record/next`: whatever the server
    /// answers (it may cap `count`; the core's engine continues after the last idx answered).
    async fn next(
        &self,
        series: &SeriesKey,
        start: RecordIdx,
        count: u64,
    ) -> Result<Vec<EncRecord>, HttpError> {
        if let Some(socket) = self.socket().await {
            if let Some(answer) = socket.next(series, start, count).await {
                return answer;
            }
        }
        self.http.next(series, start, count).await
    }

    fn push(&self, records: &[EncRecord]) -> impl Future<Output = Result<(), HttpError>> {
        self.http.push(records)
    }

    /// Page requests gathered on the socket go out now, in one message.
    fn flush(&self) {
        let socket = match &*self.pages.borrow() {
            Pages::Live => self.sockets.live.borrow().socket.clone(),
            Pages::Open(socket) => Some(socket.clone()),
            _ => None,
        };
        if let Some(s) = socket {
            s.flush();
        }
    }

    fn check(&self) -> Result<(), HttpError> {
        self.http.check()
    }
}
