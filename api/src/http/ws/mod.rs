//! GraphQL subscriptions over WebSocket: a GET of `/graphql` asking to upgrade, with the
//! `graphql-transport-ws` subprotocol (what graphql-ws, Apollo Client and urql speak), becomes
//! a connection that runs subscriptions; every other GET of `/graphql` is GraphQL over HTTP
//! or the explorer, as before.
//!
//! The protocol itself is async-graphql's ([`async_graphql::http::WebSocket`]); this module
//! stands between it and the socket:
//! - **`connection_init`** authenticates its payload (`{"authorization": "Bearer <jwt>"}` or
//!   `{"apiKey": "<key>"}`; `Authorization`/`X-Api-Key` spellings too; or those headers in the
//!   handshake; none: anonymous) exactly as HTTP authenticates headers; bad credentials, or
//!   two different ones, close the connection with 4403. The caller
//!   becomes the connection's [`Session`], checked again while it lasts ([`session`]).
//! - **`subscribe`** passes what an HTTP request passes before it runs: the document prepared
//!   (and cached) once, the trusted-documents rule, the same bounds (depth, fields, nodes,
//!   cost), a charge of its cost to the client's rate-limit budget (and of a point per page
//!   of a replay after the first, paced rather than refused). A refusal is an `error`
//!   message for that id; so is a query or mutation (they are served over HTTP) and a
//!   subscription beyond [`Hub`]'s limit per connection.
//! - **Bounds**: connections per client (account, key, anonymous IP address); subscriptions
//!   per connection; a message that cannot go out within the send timeout drops the
//!   connection, and a subscriber that falls [`crate::changes::feed::BACKLOG`] events behind
//!   is closed with 4408: nothing is buffered without end.
//! - **Closing**: a connection whose session ends (token expired, account disabled, key
//!   revoked, rights changed, slow consumer) lets its subscriptions end with an error and
//!   `complete`, then closes with the session's code; a stopping server closes every
//!   connection with 1001 (clients reconnect, to another instance behind a load balancer).
pub mod session;

use std::{
    collections::{HashMap, HashSet},
    net::IpAddr,
    pin::pin,
    sync::{Arc, Mutex, atomic::AtomicUsize},
    time::Duration,
};

use async_graphql::{
    Data,
    http::{ClientMessage, WebSocket as Protocol, WebSocketProtocols as Protocols, WsMessage},
    parser::types::OperationType,
};
use axum::{
    extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade},
    http::{HeaderMap, HeaderName, HeaderValue, header},
    response::Response,
};
use futures_util::{SinkExt, StreamExt, stream};
use serde_json::{Value as Json, json};
use tokio::{
    sync::{mpsc, watch},
    time::{Instant, sleep_until, timeout},
};

use super::{
    AppState, MAX_BODY_BYTES,
    admission::{self, Peer, Refusal},
    request::{self, Source},
};
use crate::{
    config::SubscriptionConfig,
    error::Code,
    limit::{Client, Verdict},
    loader::Loaders,
};
use session::{Connections, End, RECHECK_IDLE, RECHECK_TICK, Session, code};

/// The one subprotocol spoken.
pub const PROTOCOL: &str = "graphql-transport-ws";

/// How long a new connection may take to send `connection_init`.
const INIT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long an ending connection waits for its subscriptions' last messages to go out.
const CLOSING_GRACE: Duration = Duration::from_secs(1);

/// How often an open connection is pinged (a WebSocket ping frame, which clients answer by
/// themselves): load balancers close connections idle for longer (nginx after 60 s), and a
/// client gone without a word is found out.
const KEEPALIVE: Duration = Duration::from_secs(30);

/// Client messages read ahead of the protocol: the socket is not read while they wait.
const INBOX: usize = 8;

/// The longest close reason a close frame carries (RFC 6455: 123 bytes).
const MAX_REASON: usize = 123;

/// This instance's WebSocket connections: their settings and counts, and the signal that
/// closes them all when the server stops.
#[derive(Clone)]
pub struct Hub {
    max_connections_per_client: usize,
    max_subscriptions: usize,
    send_timeout: Duration,
    connections: Connections,
    subscriptions: Arc<AtomicUsize>,
    shutdown: Arc<watch::Sender<bool>>,
}

impl Hub {
    pub fn new(config: &SubscriptionConfig) -> Hub {
        Hub {
            max_connections_per_client: config.ws_max_connections_per_client,
            max_subscriptions: config.ws_max_subscriptions_per_connection,
            send_timeout: Duration::from_millis(config.ws_send_timeout_ms.max(1)),
            connections: Connections::default(),
            subscriptions: Arc::default(),
            shutdown: Arc::new(watch::channel(false).0),
        }
    }

    /// Closes every connection (1001): the server is stopping.
    pub fn shut_down(&self) {
        self.shutdown.send_replace(true);
    }

    /// Connections past `connection_init`, now.
    pub fn connections(&self) -> usize {
        self.connections.total()
    }

    /// Subscriptions running, now.
    pub fn subscriptions(&self) -> usize {
        self.subscriptions.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// Whether a request asks to become a WebSocket.
pub fn asks_for_websocket(headers: &HeaderMap) -> bool {
    headers
        .get(header::UPGRADE)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"websocket"))
}

/// Upgrades a GET of `/graphql`. A client that does not offer graphql-transport-ws gets the
/// upgrade (browsers see no HTTP status of a refused one) and then a close with 4406.
pub fn upgrade(
    state: Arc<AppState>,
    upgrade: WebSocketUpgrade,
    headers: &HeaderMap,
    peer: &Peer,
) -> Response {
    let ip = admission::client_ip(&state, headers, peer);
    // Credentials sent with the handshake (clients that can set its headers) count as if the
    // `connection_init` payload held them.
    let mut handshake = HeaderMap::new();
    for name in [header::AUTHORIZATION, HeaderName::from_static("x-api-key")] {
        for value in headers.get_all(&name) {
            handshake.append(name.clone(), value.clone());
        }
    }
    let upgrade = upgrade
        .protocols([PROTOCOL])
        .max_message_size(MAX_BODY_BYTES)
        .max_frame_size(MAX_BODY_BYTES);
    let spoken = upgrade.selected_protocol().is_some();
    upgrade.on_upgrade(move |socket| async move {
        if spoken {
            Connection::new(state, ip, handshake).serve(socket).await;
        } else {
            refuse(
                socket,
                code::SUBPROTOCOL_NOT_ACCEPTABLE,
                "Subprotocol not acceptable",
            )
            .await;
        }
    })
}

/// Closes a socket at once.
async fn refuse(mut socket: WebSocket, code: u16, reason: &str) {
    let _ = timeout(Duration::from_secs(1), socket.send(close_message(code, reason))).await;
    // The client answers with its own close frame; reading it lets the TCP connection end
    // cleanly instead of being reset under the close frame.
    let _ = timeout(Duration::from_secs(1), async {
        while let Some(Ok(message)) = socket.recv().await {
            if matches!(message, Message::Close(_)) {
                break;
            }
        }
    })
    .await;
}

/// Whether a read failed because the message was over [`MAX_BODY_BYTES`].
fn too_big(e: &axum::Error) -> bool {
    std::error::Error::source(e)
        .and_then(|e| e.downcast_ref::<tungstenite::Error>())
        .is_some_and(|e| matches!(e, tungstenite::Error::Capacity(_)))
}

fn close_message(code: u16, reason: &str) -> Message {
    let mut end = reason.len().min(MAX_REASON);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    Message::Close(Some(CloseFrame {
        code,
        reason: reason[..end].into(),
    }))
}

/// Where a connection stands.
enum Phase {
    /// Waiting for `connection_init`.
    New,
    /// `connection_init` is being checked: nothing more is read until it is answered.
    Initialising,
    /// Acknowledged: subscriptions may start.
    Ready(Arc<Session>),
}

/// What `connection_init` found, for the connection (the protocol only keeps its data).
#[derive(Default)]
struct Init {
    session: Option<Arc<Session>>,
    /// The close code and reason of a refused `connection_init`.
    refused: Option<(u16, String)>,
}

/// A connection that is ending: when its close frame goes out.
struct Closing {
    code: u16,
    reason: String,
    deadline: Instant,
}

/// What to do with a client's message.
enum Action {
    /// Hand it to the protocol.
    Forward(Box<ClientMessage>),
    /// Answer it here.
    Reply(String),
    Close(u16, String),
}

struct Connection {
    state: Arc<AppState>,
    ip: Option<IpAddr>,
    /// The credentials the handshake's headers carried.
    handshake: Arc<HeaderMap>,
    init: Arc<Mutex<Init>>,
    phase: Phase,
    /// The ids of the subscriptions running, until their `complete` (either way).
    live: HashSet<String>,
    /// Subscriptions that have sent nothing yet (see [`Connection::outgoing`]).
    fresh: HashSet<String>,
    /// Subscriptions refused with an `error`, whose `complete` is not sent.
    refused: HashSet<String>,
    /// Subscriptions the client completed, by id, how many: the protocol's `complete` for
    /// each is not sent back (the client may already be using the id again, and again).
    stopped: HashMap<String, usize>,
    closing: Option<Closing>,
}

fn locked<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Connection {
    fn new(state: Arc<AppState>, ip: Option<IpAddr>, handshake: HeaderMap) -> Connection {
        Connection {
            state,
            ip,
            handshake: Arc::new(handshake),
            init: Arc::default(),
            phase: Phase::New,
            live: HashSet::new(),
            fresh: HashSet::new(),
            refused: HashSet::new(),
            stopped: HashMap::new(),
            closing: None,
        }
    }

    fn session(&self) -> Option<&Arc<Session>> {
        match &self.phase {
            Phase::Ready(session) => Some(session),
            _ => None,
        }
    }

    async fn serve(mut self, socket: WebSocket) {
        let (mut sink, mut source) = socket.split();
        let (inbox, messages) = mpsc::channel::<serde_json::Result<ClientMessage>>(INBOX);
        let messages = stream::unfold(messages, |mut rx| async move { rx.recv().await.map(|m| (m, rx)) });
        let protocol =
            Protocol::from_message_stream(self.state.schema.clone(), messages, Protocols::GraphQLWS)
                .on_connection_init({
                    let (state, ip, init) = (self.state.clone(), self.ip, self.init.clone());
                    let handshake = self.handshake.clone();
                    move |payload| connection_init(state, ip, payload, handshake, init)
                });
        let mut protocol = pin!(protocol);
        let hub = self.state.ws.clone();
        let mut stopping = hub.shutdown.subscribe();
        let init_deadline = Instant::now() + INIT_TIMEOUT;
        let mut recheck = tokio::time::interval_at(Instant::now() + RECHECK_TICK, RECHECK_TICK);
        recheck.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut keepalive = tokio::time::interval_at(Instant::now() + KEEPALIVE, KEEPALIVE);
        keepalive.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut ended: Option<watch::Receiver<Option<End>>> = None;
        let mut expiry: Option<Instant> = None;
        let (code, reason) = loop {
            if let Some(closing) = &self.closing
                && (self.live.is_empty() || Instant::now() >= closing.deadline)
            {
                break (closing.code, closing.reason.clone());
            }
            let reading = matches!(self.phase, Phase::New | Phase::Ready(_))
                && self.closing.is_none()
                && inbox.capacity() > 0;
            let checking = self.session().cloned().filter(|_| self.closing.is_none());
            tokio::select! {
                _ = stopped(&mut stopping) => break (code::GOING_AWAY, "the server is shutting down".into()),
                out = protocol.next() => match out {
                    None => break (1000, String::new()),
                    Some(WsMessage::Text(text)) => {
                        let Some(text) = self.outgoing(text) else { continue };
                        if let Some(session) = self.observe(&text) {
                            ended = Some(session.watch_end());
                            expiry = session.expires.map(|at| {
                                Instant::now() + (at - crate::common::now()).to_std().unwrap_or_default()
                            });
                        }
                        if !self.send(&mut sink, Message::Text(text.into()), hub.send_timeout).await {
                            return;
                        }
                    }
                    Some(WsMessage::Close(code, reason)) => {
                        break locked(&self.init).refused.take().unwrap_or((code, reason));
                    }
                },
                message = source.next(), if reading => match message {
                    Some(Err(e)) if too_big(&e) => {
                        let reason = format!("Message too big: at most {MAX_BODY_BYTES} bytes");
                        let close = close_message(code::MESSAGE_TOO_BIG, &reason);
                        let _ = timeout(Duration::from_secs(1), sink.send(close)).await;
                        return;
                    }
                    // Gone, or broke the WebSocket protocol (tungstenite answered that).
                    None | Some(Err(_)) => return,
                    // The client closes: tungstenite has queued the close frame that answers
                    // it (RFC 6455 §5.5.1); flushing sends it, so the client sees its own code
                    // rather than an abnormal closure (1006).
                    Some(Ok(Message::Close(_))) => {
                        let _ = timeout(Duration::from_secs(1), sink.flush()).await;
                        return;
                    }
                    Some(Ok(Message::Text(text))) => match self.inbound(text.as_str()).await {
                        Action::Forward(message) => {
                            // There is room: `reading` asked.
                            let _ = inbox.try_send(Ok(*message));
                        }
                        Action::Reply(text) => {
                            if !self.send(&mut sink, Message::Text(text.into()), hub.send_timeout).await {
                                return;
                            }
                        }
                        Action::Close(code, reason) => break (code, reason),
                    },
                    Some(Ok(Message::Binary(_))) => {
                        break (code::BAD_REQUEST, "Invalid message received: graphql-transport-ws messages are text".into());
                    }
                    // Answered by tungstenite.
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                },
                _ = sleep_until(init_deadline), if matches!(self.phase, Phase::New) => {
                    break (code::TIMEOUT, "Connection initialisation timeout".into());
                }
                end = session_end(&mut ended), if self.closing.is_none() => {
                    // The subscriptions end with the error; the close frame follows their
                    // `complete` (or the grace period).
                    self.closing = Some(Closing {
                        code: end.close_code,
                        reason: end.close_reason,
                        deadline: Instant::now() + CLOSING_GRACE,
                    });
                }
                _ = sleep_until(expiry.unwrap_or_else(Instant::now)), if expiry.is_some() && checking.is_some() => {
                    if let Some(session) = &checking {
                        session.end(End::expired());
                    }
                    expiry = None;
                }
                _ = recheck.tick(), if checking.is_some() => {
                    if let Some(session) = &checking {
                        // Ends the session when the account or key is no longer valid.
                        let _ = session.check_within(RECHECK_IDLE - RECHECK_TICK).await;
                    }
                }
                _ = keepalive.tick() => {
                    if !self.send(&mut sink, Message::Ping(Default::default()), hub.send_timeout).await {
                        return;
                    }
                }
                _ = sleep_until(self.closing.as_ref().map_or_else(Instant::now, |c| c.deadline)), if self.closing.is_some() => {}
            }
        };
        let _ = timeout(Duration::from_secs(1), sink.send(close_message(code, &reason))).await;
        let _ = timeout(Duration::from_secs(1), async {
            while let Some(Ok(message)) = source.next().await {
                if matches!(message, Message::Close(_)) {
                    break;
                }
            }
        })
        .await;
    }

    /// Sends one message within the send timeout; false when the connection is gone or the
    /// client does not read (a slow consumer is dropped rather than buffered for).
    async fn send(
        &self,
        sink: &mut futures_util::stream::SplitSink<WebSocket, Message>,
        message: Message,
        within: Duration,
    ) -> bool {
        match timeout(within, sink.send(message)).await {
            Ok(Ok(())) => true,
            Ok(Err(_)) => false,
            Err(_) => {
                tracing::info!(
                    timeout_ms = within.as_millis() as u64,
                    "a WebSocket client does not read its messages; disconnecting it"
                );
                false
            }
        }
    }

    /// Notes what the protocol tells the client: the acknowledgement (the session begins: it
    /// is returned) and each subscription's `complete`.
    /// async-graphql answers a subscription whose document does not validate with a `next`
    /// holding only the errors, then `complete`. The protocol wants an `error` message for
    /// that (graphql-transport-ws: errors before execution), with the codes HTTP gives them,
    /// and no `complete` after it. So a subscription's first message, when it is that (no
    /// data, errors without a `path`, or a `BAD_USER_INPUT` of the root field: a refused
    /// argument), goes out as an `error`, and its `complete` is dropped;
    /// every other message passes as it is (only first messages are read).
    fn outgoing(&mut self, text: String) -> Option<String> {
        #[derive(serde::Deserialize)]
        struct Head {
            #[serde(rename = "type")]
            kind: String,
            id: String,
        }
        if self.fresh.is_empty() && self.refused.is_empty() && self.stopped.is_empty() {
            return Some(text);
        }
        let Ok(head) = serde_json::from_str::<Head>(&text) else {
            return Some(text);
        };
        match head.kind.as_str() {
            "complete" if self.unstop(&head.id) => {
                // Unless the id already runs again, it has nothing more to send.
                if !self.live.contains(&head.id) {
                    self.fresh.remove(&head.id);
                }
                None
            }
            "complete" if self.refused.remove(&head.id) => {
                self.live.remove(&head.id);
                self.fresh.remove(&head.id);
                None
            }
            "complete" => {
                self.fresh.remove(&head.id);
                Some(text)
            }
            "next" if self.fresh.remove(&head.id) => {
                let Ok(Json::Object(mut message)) = serde_json::from_str::<Json>(&text) else {
                    return Some(text);
                };
                let payload = message.get_mut("payload").and_then(Json::as_object_mut);
                let refused = payload.as_ref().is_some_and(|p| {
                    p.get("data").is_none_or(Json::is_null)
                        && p.get("errors").and_then(Json::as_array).is_some_and(|errors| {
                            !errors.is_empty()
                                && errors
                                    .iter()
                                    .all(|e| match e.get("path").and_then(Json::as_array) {
                                        None => true,
                                        // The root field refused its arguments (a subscription that
                                        // ran and ended, its token expired, keeps its `complete`).
                                        Some(path) => {
                                            path.len() == 1
                                                && e.pointer("/extensions/code")
                                                    == Some(&json!(Code::BadUserInput.as_str()))
                                        }
                                    })
                        })
                });
                if !refused {
                    return Some(text);
                }
                let mut errors = payload
                    .and_then(|p| p.remove("errors"))
                    .unwrap_or_else(|| Json::Array(Vec::new()));
                // As HTTP codes async-graphql's own refusals (`http::execute`).
                for e in errors
                    .as_array_mut()
                    .into_iter()
                    .flatten()
                    .filter_map(Json::as_object_mut)
                {
                    if let Some(extensions) =
                        e.entry("extensions").or_insert_with(|| json!({})).as_object_mut()
                    {
                        extensions
                            .entry("code")
                            .or_insert_with(|| json!(Code::BadUserInput.as_str()));
                    }
                }
                self.refused.insert(head.id.clone());
                Some(json!({ "type": "error", "id": head.id, "payload": errors }).to_string())
            }
            _ => Some(text),
        }
    }

    /// Counts off one `complete` the client asked for of `id`; false when none is owed.
    fn unstop(&mut self, id: &str) -> bool {
        let Some(owed) = self.stopped.get_mut(id) else {
            return false;
        };
        *owed -= 1;
        if *owed == 0 {
            self.stopped.remove(id);
        }
        true
    }

    fn observe(&mut self, text: &str) -> Option<Arc<Session>> {
        if text.starts_with(r#"{"type":"complete""#) {
            #[derive(serde::Deserialize)]
            struct Complete {
                id: String,
            }
            if let Ok(Complete { id }) = serde_json::from_str(text) {
                self.live.remove(&id);
            }
        } else if text == r#"{"type":"connection_ack"}"# {
            let session = locked(&self.init).session.clone()?;
            self.phase = Phase::Ready(session.clone());
            return Some(session);
        }
        None
    }

    /// What to do with a client's text message.
    async fn inbound(&mut self, text: &str) -> Action {
        let mut message = match serde_json::from_str::<Json>(text) {
            Ok(Json::Object(message)) => message,
            _ => {
                return Action::Close(
                    code::BAD_REQUEST,
                    "Invalid message received: not a JSON object".into(),
                );
            }
        };
        let kind = message
            .get("type")
            .and_then(Json::as_str)
            .unwrap_or_default()
            .to_owned();
        let id = match message.get("id") {
            Some(Json::String(id)) => Some(id.clone()),
            _ => None,
        };
        let payload = message.remove("payload");
        match (kind.as_str(), id) {
            ("connection_init", _) => match self.phase {
                Phase::New => {
                    self.phase = Phase::Initialising;
                    Action::Forward(Box::new(ClientMessage::ConnectionInit { payload }))
                }
                _ => Action::Close(4429, "Too many initialisation requests".into()),
            },
            ("ping", _) => Action::Forward(Box::new(ClientMessage::Ping { payload })),
            ("pong", _) => Action::Forward(Box::new(ClientMessage::Pong { payload })),
            ("subscribe", Some(id)) => self.subscribe(id, payload).await,
            ("complete", Some(id)) => {
                if self.live.remove(&id) {
                    *self.stopped.entry(id.clone()).or_default() += 1;
                }
                Action::Forward(Box::new(ClientMessage::Stop { id }))
            }
            _ => Action::Close(
                code::BAD_REQUEST,
                "Invalid message received: not a graphql-transport-ws message".into(),
            ),
        }
    }

    /// A `subscribe`: handed to the protocol when it passes everything an HTTP request
    /// passes, else answered with an `error` for its id.
    async fn subscribe(&mut self, id: String, payload: Option<Json>) -> Action {
        let Some(session) = self.session().cloned() else {
            return Action::Close(code::UNAUTHORIZED, "Unauthorized".into());
        };
        if self.live.contains(&id) {
            return Action::Close(
                code::SUBSCRIBER_EXISTS,
                format!("Subscriber for {id} already exists"),
            );
        }
        let Some(Json::Object(payload)) = payload else {
            return Action::Close(
                code::BAD_REQUEST,
                "Invalid message received: `subscribe` needs a `payload` object".into(),
            );
        };
        let max = self.state.ws.max_subscriptions;
        let prepared = if max > 0 && self.live.len() >= max {
            Err(vec![error(
                &format!("at most {max} subscriptions may run on one connection: complete one first"),
                Code::TooManySubscriptions,
            )])
        } else {
            self.prepare(&session, payload).await
        };
        match prepared {
            Ok(request) => {
                self.live.insert(id.clone());
                self.fresh.insert(id.clone());
                Action::Forward(Box::new(ClientMessage::Start { id, payload: request }))
            }
            Err(errors) => Action::Reply(json!({ "type": "error", "id": id, "payload": errors }).to_string()),
        }
    }

    /// The request of a `subscribe`, admitted as HTTP admits one, or the errors that refuse it.
    async fn prepare(
        &self,
        session: &Session,
        payload: serde_json::Map<String, Json>,
    ) -> Result<async_graphql::Request, Vec<Json>> {
        let state = &self.state;
        let raw = request::from_object(payload, &state.documents)
            .map_err(|bad| vec![error(&bad.message, bad.code)])?;
        let (parsed, trusted) = match raw.source {
            Source::Text(text) => (state.prepared.get(text), false),
            Source::Trusted(parsed) => (parsed, true),
        };
        let prepared = parsed.map_err(|e| vec![server_error(e, Code::BadUserInput)])?;
        match prepared
            .operation(raw.operation_name.as_deref())
            .map(|(index, op)| (index, op.ty))
        {
            Some((index, OperationType::Subscription)) => {
                let (roots, conditional) = prepared
                    .document
                    .operations
                    .iter()
                    .nth(index)
                    .map(|(_, op)| root_fields(&prepared.document, &op.node.selection_set.node))
                    .unwrap_or_default();
                if conditional {
                    return Err(vec![error(
                        "a subscription's root field is always selected: `@skip` and `@include` cannot stand on it",
                        Code::BadUserInput,
                    )]);
                }
                if roots.len() != 1 {
                    return Err(vec![error(
                        &format!(
                            "a subscription selects exactly one root field; this one selects {} ({})",
                            roots.len(),
                            roots.join(", ")
                        ),
                        Code::BadUserInput,
                    )]);
                }
            }
            Some((_, _)) => {
                return Err(vec![error(
                    "only subscriptions run over WebSocket: send queries and mutations to /graphql over HTTP",
                    Code::BadRequest,
                )]);
            }
            None => {
                return Err(vec![error(
                    match &raw.operation_name {
                        Some(_) => "the document has no operation of that `operationName`",
                        None => "the document has several operations: name one with `operationName`",
                    },
                    Code::BadUserInput,
                )]);
            }
        }
        if state.documents.only_for_anonymous && session.viewer.is_anonymous() && !trusted {
            return Err(vec![error(
                "anonymous callers may only run trusted documents: send the `documentId` of one",
                Code::BadRequest,
            )]);
        }
        prepared
            .refuse_nul(&raw.variables)
            .and_then(|()| prepared.refuse_missing_variables(raw.operation_name.as_deref(), &raw.variables))
            .map_err(|e| vec![server_error(e, Code::BadUserInput)])?;
        let cost = prepared
            .cost(raw.operation_name.as_deref(), &raw.variables)
            .map_err(|over| vec![server_error(over.into_error(), Code::QueryTooLarge)])?;
        let points = u32::try_from(cost.points()).unwrap_or(u32::MAX);
        if let Verdict::Limited { retry_after, limit } =
            state.limits.check(session.client.as_ref(), points).await
        {
            return Err(vec![crate::http::respond::rate_limit_error(retry_after, limit)]);
        }
        let mut request = async_graphql::Request::new(String::new()).variables(raw.variables);
        if let Some(name) = raw.operation_name {
            request = request.operation_name(name);
        }
        request.set_parsed_query(prepared.document.clone());
        let introspection = match state.introspection {
            crate::config::Introspection::Everyone => true,
            crate::config::Introspection::SignedIn => !session.viewer.is_anonymous(),
            crate::config::Introspection::Nobody => false,
        };
        if !introspection {
            request = request.disable_introspection();
        }
        // The subscription's own loaders, emptied before each event (see `changes::subscription`).
        Ok(request.data(Loaders::for_request(
            state.db.clone(),
            session.viewer.access(),
            &state.reads,
        )))
    }
}

/// The response keys a selection set gives at its own level, fragments included, in order and
/// each once: what the GraphQL spec's "single root field" rule counts for a subscription; and
/// whether any of them, or a fragment that gives one, is under `@skip` or `@include`, which
/// the spec does not allow there (a subscription that may select nothing).
fn root_fields<'a>(
    document: &'a async_graphql::parser::types::ExecutableDocument,
    set: &'a async_graphql::parser::types::SelectionSet,
) -> (Vec<&'a str>, bool) {
    use async_graphql::parser::types::Selection;
    fn walk<'a>(
        document: &'a async_graphql::parser::types::ExecutableDocument,
        set: &'a async_graphql::parser::types::SelectionSet,
        seen: &mut Vec<&'a str>,
        conditional: &mut bool,
        depth: usize,
    ) {
        for item in &set.items {
            *conditional |= item
                .node
                .directives()
                .iter()
                .any(|d| matches!(d.node.name.node.as_str(), "skip" | "include"));
            match &item.node {
                Selection::Field(f) => {
                    let key = f.node.response_key().node.as_str();
                    if !seen.contains(&key) {
                        seen.push(key);
                    }
                }
                // Fragment cycles are the validation's to refuse; the depth keeps this finite.
                Selection::FragmentSpread(s) if depth < 16 => {
                    if let Some(fragment) = document.fragments.get(&s.node.fragment_name.node) {
                        walk(
                            document,
                            &fragment.node.selection_set.node,
                            seen,
                            conditional,
                            depth + 1,
                        );
                    }
                }
                Selection::InlineFragment(i) if depth < 16 => {
                    walk(document, &i.node.selection_set.node, seen, conditional, depth + 1)
                }
                _ => {}
            }
        }
    }
    let (mut seen, mut conditional) = (Vec::new(), false);
    walk(document, set, &mut seen, &mut conditional, 0);
    (seen, conditional)
}

/// A GraphQL error object.
fn error(message: &str, code: Code) -> Json {
    crate::http::respond::error_object(message, code, &[])
}

/// An error of async-graphql's or ours as a GraphQL error object, with a code.
fn server_error(e: async_graphql::ServerError, code: Code) -> Json {
    let e = crate::error::with_code(e, code);
    serde_json::to_value(&e).unwrap_or_else(|_| error(&e.message, code))
}

/// Resolves once the server stops.
async fn stopped(stopping: &mut watch::Receiver<bool>) {
    if stopping.wait_for(|stop| *stop).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// Resolves with why the session ended, once it does (never before there is one).
async fn session_end(ended: &mut Option<watch::Receiver<Option<End>>>) -> End {
    if let Some(rx) = ended
        && let Ok(end) = rx.wait_for(Option::is_some).await
        && let Some(end) = end.clone()
    {
        return end;
    }
    std::future::pending().await
}

/// `connection_init`: the credentials of its payload or of the handshake become the
/// connection's session, or the reason it is refused (kept for the close frame).
async fn connection_init(
    state: Arc<AppState>,
    ip: Option<IpAddr>,
    payload: Json,
    handshake: Arc<HeaderMap>,
    init: Arc<Mutex<Init>>,
) -> async_graphql::Result<Data> {
    match authenticate(&state, ip, payload, &handshake).await {
        Ok(session) => {
            let session = Arc::new(session);
            let mut data = Data::default();
            data.insert(session.viewer.clone());
            data.insert(session.viewer.access());
            data.insert(state.feed.clone());
            data.insert(session.clone());
            locked(&init).session = Some(session);
            Ok(data)
        }
        Err((code, reason)) => {
            locked(&init).refused = Some((code, reason.clone()));
            Err(async_graphql::Error::new(reason))
        }
    }
}

/// The credentials of a `connection_init` payload as the headers HTTP would carry them.
fn credentials(payload: Json) -> Result<HeaderMap, (u16, String)> {
    let forbidden = || (code::FORBIDDEN, "Forbidden".to_owned());
    let mut headers = HeaderMap::new();
    let fields = match payload {
        Json::Null => return Ok(headers),
        Json::Object(fields) => fields,
        _ => {
            return Err((
                code::BAD_REQUEST,
                "Bad request: the connection_init payload must be an object".into(),
            ));
        }
    };
    // Some clients put them under `headers`.
    let nested = match fields.get("headers") {
        Some(Json::Object(nested)) => nested.clone(),
        _ => Default::default(),
    };
    for (key, value) in fields.into_iter().chain(nested) {
        let name = match key.to_ascii_lowercase().as_str() {
            "authorization" => header::AUTHORIZATION,
            "apikey" | "api_key" | "x-api-key" => HeaderName::from_static("x-api-key"),
            _ => continue,
        };
        let value = match value {
            // Left empty, as clients do for a caller not signed in: none.
            Json::Null => continue,
            Json::String(value) if value.trim().is_empty() => continue,
            Json::String(value) => value,
            _ => return Err(forbidden()),
        };
        let value = HeaderValue::from_str(&value).map_err(|_| forbidden())?;
        // The same credential under two spellings is one; two different ones are two callers.
        if !headers.get_all(&name).iter().any(|given| *given == value) {
            headers.append(name, value);
        }
    }
    Ok(headers)
}

/// Who the credentials of the payload or the handshake say the caller is (both: two callers,
/// refused), admitted as a connection: within its budget (a connection costs one point) and
/// its number of connections.
async fn authenticate(
    state: &AppState,
    ip: Option<IpAddr>,
    payload: Json,
    handshake: &HeaderMap,
) -> Result<Session, (u16, String)> {
    let mut headers = credentials(payload)?;
    for (name, value) in handshake {
        if !headers.get_all(name).iter().any(|given| given == value) {
            headers.append(name.clone(), value.clone());
        }
    }
    let (viewer, expires) = match admission::caller_until(state, &headers).await {
        Ok(caller) => caller,
        Err(Refusal::Unavailable) => {
            return Err((
                code::TRY_AGAIN_LATER,
                "the database is unavailable: try again later".into(),
            ));
        }
        Err(_) => return Err((code::FORBIDDEN, "Forbidden".into())),
    };
    // Past its expiry, but within the leeway a request over HTTP is given: a connection would
    // end every subscription at once (they end when the token does), so it is refused here.
    if expires.is_some_and(|at| at <= crate::common::now()) {
        return Err((
            code::FORBIDDEN,
            "Forbidden: the token has expired; refresh it and connect again".into(),
        ));
    }
    let client = Client::of(&viewer, ip);
    if let Verdict::Limited { retry_after, .. } = state.limits.check(client.as_ref(), 1).await {
        let secs = crate::http::respond::whole_seconds(retry_after);
        return Err((
            code::TRY_AGAIN_LATER,
            format!("rate limit exceeded: try again in {secs} s"),
        ));
    }
    let hub = &state.ws;
    let slot = hub
        .connections
        .acquire(client.as_ref(), hub.max_connections_per_client)
        .ok_or_else(|| {
            (
                code::TRY_AGAIN_LATER,
                format!(
                    "too many connections: at most {} per client",
                    hub.max_connections_per_client
                ),
            )
        })?;
    Ok(Session::new(
        viewer,
        expires,
        client,
        state.db.clone(),
        state.limits.clone(),
        Some(slot),
        hub.subscriptions.clone(),
    ))
}
