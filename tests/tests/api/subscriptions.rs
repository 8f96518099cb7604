//! GraphQL subscriptions over WebSocket (graphql-transport-ws at `/graphql`): `changed`
//! delivers the changes a subscriber may see, within a second, also when they were written
//! through another instance; `connection_init` authenticates like HTTP, and a subscription
//! ends when its credentials do; the bounds per client and per connection hold.
//!
//! Some tests write change events straight into the outbox (`emit`), to test the transport
//! and the filtering whatever records them; the others make real writes over HTTP.
use std::time::{Duration, Instant};

use entity::{change_event, plan::PlanStatus};
use futures_util::{SinkExt, StreamExt};
use lup_api::config::Config;
use lup_tests::{As, Backend, TestApp, fixture::Fixture, fixture::global_id};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QuerySelect, Set};
use serde_json::{Value, json};
use tokio_tungstenite::{
    MaybeTlsStream, WebSocketStream, connect_async,
    tungstenite::{
        Message,
        client::IntoClientRequest,
        http::HeaderValue,
        protocol::{CloseFrame, frame::coding::CloseCode},
    },
};
use uuid::Uuid;

/// How long a change may take to reach a subscriber.
const WITHIN: Duration = Duration::from_secs(1);

const CHANGED: &str = "subscription($types: [ChangeType!], $after: String) {
  changed(types: $types, after: $after) {
    cursor kind type nodeId
    node { id ... on Community { name } ... on Contact { name } ... on Action { title } ... on Plan { status } }
  } }";

/// What the server sent.
#[derive(Debug)]
enum Got {
    Message(Value),
    Closed(u16, String),
    /// Nothing within the time asked.
    Nothing,
}

/// A graphql-transport-ws client.
struct Ws {
    socket: WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>,
}

fn ws_url(app: &TestApp) -> String {
    format!("{}/graphql", app.base.replacen("http", "ws", 1))
}

/// The `connection_init` payload of a handle's credentials.
fn payload_of(app: &TestApp) -> Option<Value> {
    match &app.credentials {
        None => None,
        Some((header, value)) if header.eq_ignore_ascii_case("authorization") => {
            Some(json!({ "authorization": value }))
        }
        Some((_, key)) => Some(json!({ "apiKey": key })),
    }
}

impl Ws {
    /// A WebSocket to `/graphql` offering `protocol`.
    async fn open_with(app: &TestApp, protocol: Option<&str>) -> Ws {
        let mut request = ws_url(app).into_client_request().expect("request");
        if let Some(p) = protocol {
            request
                .headers_mut()
                .insert("sec-websocket-protocol", HeaderValue::from_str(p).unwrap());
        }
        let (socket, response) = connect_async(request).await.expect("WebSocket upgrade");
        if protocol == Some("graphql-transport-ws") {
            assert_eq!(
                response
                    .headers()
                    .get("sec-websocket-protocol")
                    .map(|v| v.as_bytes()),
                Some(&b"graphql-transport-ws"[..])
            );
        }
        Ws { socket }
    }

    async fn open(app: &TestApp) -> Ws {
        Ws::open_with(app, Some("graphql-transport-ws")).await
    }

    /// Opened with these headers in the handshake.
    async fn open_with_headers(app: &TestApp, headers: &[(&'static str, &str)]) -> Ws {
        let mut request = ws_url(app).into_client_request().expect("request");
        request.headers_mut().insert(
            "sec-websocket-protocol",
            HeaderValue::from_static("graphql-transport-ws"),
        );
        for (name, value) in headers {
            request
                .headers_mut()
                .append(*name, HeaderValue::from_str(value).unwrap());
        }
        let (socket, _) = connect_async(request).await.expect("WebSocket upgrade");
        Ws { socket }
    }

    /// Open and acknowledged, with the handle's credentials.
    async fn connect(app: &TestApp) -> Ws {
        let mut ws = Ws::open(app).await;
        ws.init(payload_of(app)).await;
        match ws.recv(Duration::from_secs(5)).await {
            Got::Message(m) if m["type"] == "connection_ack" => ws,
            other => panic!("expected connection_ack, got {other:?}"),
        }
    }

    async fn init(&mut self, payload: Option<Value>) {
        let mut message = json!({ "type": "connection_init" });
        if let Some(p) = payload {
            message["payload"] = p;
        }
        self.send(message).await;
    }

    async fn send(&mut self, message: Value) {
        self.socket
            .send(Message::text(message.to_string()))
            .await
            .expect("send");
    }

    async fn subscribe(&mut self, id: &str, query: &str, variables: Value) {
        self.send(
            json!({ "type": "subscribe", "id": id, "payload": { "query": query, "variables": variables } }),
        )
        .await;
    }

    /// The next protocol message, a close, or nothing within `within`.
    async fn recv(&mut self, within: Duration) -> Got {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let next = match tokio::time::timeout_at(deadline, self.socket.next()).await {
                Err(_) => return Got::Nothing,
                Ok(next) => next,
            };
            match next {
                Some(Ok(Message::Text(text))) => {
                    return Got::Message(serde_json::from_str(text.as_str()).expect("JSON message"));
                }
                Some(Ok(Message::Close(frame))) => {
                    return match frame {
                        Some(f) => Got::Closed(f.code.into(), f.reason.to_string()),
                        None => Got::Closed(1005, String::new()),
                    };
                }
                Some(Ok(_)) => continue,
                Some(Err(e)) => return Got::Closed(1006, e.to_string()),
                None => return Got::Closed(1006, "ended".into()),
            }
        }
    }

    /// Subscribes `id` to `query` and expects the protocol's `error` for it, coded
    /// BAD_USER_INPUT; its message.
    async fn refused(&mut self, id: &str, query: &str) -> String {
        self.subscribe(id, query, json!({})).await;
        match self.recv(Duration::from_secs(5)).await {
            Got::Message(m) => {
                assert_eq!(
                    (m["type"].as_str(), m["id"].as_str()),
                    (Some("error"), Some(id)),
                    "{m}"
                );
                assert_eq!(m["payload"][0]["extensions"]["code"], "BAD_USER_INPUT", "{m}");
                m["payload"][0]["message"].as_str().expect("a message").to_owned()
            }
            other => panic!("expected an error for {id}, got {other:?}"),
        }
    }

    /// The payload of the next `next` of subscription `id` within `within`.
    async fn next(&mut self, id: &str, within: Duration) -> Value {
        match self.recv(within).await {
            Got::Message(m) if m["type"] == "next" && m["id"] == id => m["payload"].clone(),
            other => panic!("expected a `next` for {id} within {within:?}, got {other:?}"),
        }
    }

    /// The change of the next `next` of `id`, which must have no errors.
    async fn change(&mut self, id: &str, within: Duration) -> Value {
        let payload = self.next(id, within).await;
        assert!(payload.get("errors").is_none(), "{payload:#}");
        payload["data"]["changed"].clone()
    }

    /// Nothing arrives within `within`.
    async fn quiet(&mut self, within: Duration) {
        match self.recv(within).await {
            Got::Nothing => {}
            other => panic!("expected nothing, got {other:?}"),
        }
    }

    /// Reads until the connection closes; its code and reason.
    async fn closed(&mut self, within: Duration) -> (u16, String) {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.recv(left).await {
                Got::Closed(code, reason) => return (code, reason),
                Got::Nothing => panic!("not closed within {within:?}"),
                Got::Message(_) => continue,
            }
        }
    }
}

/// Who may see a row, as the outbox stores it.
#[derive(Clone, Copy)]
struct Seen {
    public: bool,
    community: Option<Uuid>,
}

const PUBLIC: Seen = Seen {
    public: true,
    community: None,
};

/// Writes one change event straight into the outbox (numbered after the newest) and wakes
/// the server's feed; its number.
async fn emit(
    app: &TestApp,
    entity: &str,
    id: Uuid,
    operation: change_event::ChangeOperation,
    seen: Seen,
) -> i64 {
    let newest: Option<Option<i64>> = change_event::Entity::find()
        .select_only()
        .expr(change_event::Column::Seq.max())
        .into_tuple::<Option<i64>>()
        .one(&app.db)
        .await
        .expect("newest event");
    let seq = newest.flatten().unwrap_or(0) + 1;
    let exists_before = operation != change_event::ChangeOperation::Create;
    let exists_after = operation != change_event::ChangeOperation::Delete;
    change_event::ActiveModel {
        seq: Set(seq),
        occurred_at: Set(chrono::Utc::now()),
        entity_type: Set(entity.into()),
        entity_id: Set(id),
        operation: Set(operation),
        audit_id: Set(None),
        before_exists: Set(exists_before),
        before_public: Set(exists_before && seen.public),
        before_community_id: Set(seen.community.filter(|_| exists_before)),
        before_organization_id: Set(None),
        after_exists: Set(exists_after),
        after_public: Set(exists_after && seen.public),
        after_community_id: Set(seen.community.filter(|_| exists_after)),
        after_organization_id: Set(None),
    }
    .insert(&app.db)
    .await
    .expect("insert change event");
    app.state().feed.wake();
    seq
}

/// Gives the rows written straight into the database (fixtures) their events, as a server's
/// start-up does, and waits until the feed has handed them out: the subscriptions made after
/// this hear only of what comes next, and a write's change of who may see a row is measured
/// against what the feed said of it.
async fn settle(app: &TestApp) {
    lup_api::changes::catch_up(&app.db).await.expect("catch up");
    let newest = lup_api::changes::feed::newest(&app.db).await.expect("newest");
    let feed = &app.state().feed;
    feed.wake();
    let deadline = Instant::now() + Duration::from_secs(5);
    while feed.head() < newest {
        assert!(Instant::now() < deadline, "the feed did not catch up");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Runs `$body(&app)` on SQLite and PostgreSQL (ignored without `TEST_DATABASE_URL`), with
/// the server owned by the test (so it can reach the server's state).
macro_rules! on_both {
    ($name:ident, $configure:expr, $body:path) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test]
            async fn sqlite() {
                let app = TestApp::spawn_with(Backend::Sqlite, $configure).await;
                $body(&app).await;
                app.stop().await;
            }

            #[tokio::test]
            #[cfg_attr(not(postgres_tests), ignore = "skipped: TEST_DATABASE_URL is not set")]
            async fn postgres() {
                let app = TestApp::spawn_with(Backend::Postgres, $configure).await;
                $body(&app).await;
                app.stop().await;
            }
        }
    };
    ($name:ident, $body:path) => {
        on_both!($name, |_: &mut Config| {}, $body);
    };
}

// --- The transport and the filtering, with events written straight into the outbox. ---

on_both!(
    an_event_reaches_the_subscribers_who_may_see_it,
    events_reach_who_may_see_them
);

async fn events_reach_who_may_see_them(app: &TestApp) {
    let f = Fixture::new(&app.db);
    let gjol = f.community("gjoel", "Gjøl").await;
    let private = f.contact("Privat Person", false, Some(gjol)).await;
    let staff = app.signed_in(As::Staff, &[], None).await;
    let mut anonymous = Ws::connect(app).await;
    let mut coordinator = Ws::connect(&staff).await;
    anonymous.subscribe("a", CHANGED, json!({})).await;
    coordinator.subscribe("s", CHANGED, json!({})).await;
    // Subscriptions start when their `subscribe` is handled: give them a moment.
    tokio::time::sleep(Duration::from_millis(200)).await;

    // A private contact: staff only.
    emit(
        app,
        "Contact",
        private,
        change_event::ChangeOperation::Update,
        Seen {
            public: false,
            community: Some(gjol),
        },
    )
    .await;
    let written = Instant::now();
    let change = coordinator.change("s", WITHIN).await;
    assert!(written.elapsed() < WITHIN);
    assert_eq!(change["kind"], "UPDATED");
    assert_eq!(change["type"], "CONTACT");
    assert_eq!(change["nodeId"], global_id("Contact", private));
    assert_eq!(change["node"]["name"], "Privat Person");

    // A public community: everyone; the anonymous subscriber's first event is this one.
    emit(
        app,
        "Community",
        gjol,
        change_event::ChangeOperation::Update,
        PUBLIC,
    )
    .await;
    let change = anonymous.change("a", WITHIN).await;
    assert_eq!(change["type"], "COMMUNITY");
    assert_eq!(change["nodeId"], global_id("Community", gjol));
    assert_eq!(change["node"]["name"], "Gjøl");
    let change = coordinator.change("s", WITHIN).await;
    assert_eq!(change["type"], "COMMUNITY");
    anonymous.quiet(Duration::from_millis(300)).await;
}

on_both!(each_event_reads_the_row_as_it_is_then, node_is_fresh_per_event);

async fn node_is_fresh_per_event(app: &TestApp) {
    let f = Fixture::new(&app.db);
    let gjol = f.community("gjoel", "Gjøl").await;
    let mut ws = Ws::connect(app).await;
    ws.subscribe("1", CHANGED, json!({ "types": ["COMMUNITY"] }))
        .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    for name in ["Gjøl", "Gjøl Havn", "Gjøl By"] {
        f.set("community", gjol, "name", name).await;
        emit(
            app,
            "Community",
            gjol,
            change_event::ChangeOperation::Update,
            PUBLIC,
        )
        .await;
        let change = ws.change("1", WITHIN).await;
        assert_eq!(
            change["node"]["name"], name,
            "each event shows the row as it is now"
        );
    }
    // `types`: other types are left out.
    let other = f.community("saltum", "Saltum").await;
    emit(
        app,
        "Contact",
        other,
        change_event::ChangeOperation::Update,
        PUBLIC,
    )
    .await;
    emit(
        app,
        "Community",
        other,
        change_event::ChangeOperation::Delete,
        PUBLIC,
    )
    .await;
    let change = ws.change("1", WITHIN).await;
    assert_eq!(change["kind"], "DELETED");
    assert_eq!(change["nodeId"], global_id("Community", other));
    assert!(change["node"].is_null(), "a tombstone has no node");
}

on_both!(after_a_cursor_the_missed_changes_come_first, replay_then_live);

async fn replay_then_live(app: &TestApp) {
    let f = Fixture::new(&app.db);
    let mut ids = Vec::new();
    for (slug, name) in [("a", "A"), ("b", "B"), ("c", "C")] {
        let id = f.community(slug, name).await;
        emit(
            app,
            "Community",
            id,
            change_event::ChangeOperation::Create,
            PUBLIC,
        )
        .await;
        ids.push(id);
    }
    // The cursor of the first, from the feed.
    let page = app
        .data("{ changes(first: 1) { edges { cursor } } }", json!({}))
        .await;
    let first = page["changes"]["edges"][0]["cursor"].as_str().unwrap().to_owned();
    let mut ws = Ws::connect(app).await;
    ws.subscribe("1", CHANGED, json!({ "after": first.clone() }))
        .await;
    for id in &ids[1..] {
        let change = ws.change("1", WITHIN).await;
        assert_eq!(change["nodeId"], global_id("Community", *id));
        assert_eq!(change["kind"], "CREATED");
    }
    // Then the live ones, none twice.
    let d = f.community("d", "D").await;
    emit(app, "Community", d, change_event::ChangeOperation::Create, PUBLIC).await;
    let change = ws.change("1", WITHIN).await;
    assert_eq!(change["nodeId"], global_id("Community", d));
    ws.quiet(Duration::from_millis(300)).await;
}

// --- The protocol, authentication and bounds. ---

on_both!(bad_credentials_close_the_connection_with_4403, bad_credentials);

async fn bad_credentials(app: &TestApp) {
    for payload in [
        json!({ "authorization": "Bearer not-a-token" }),
        json!({ "Authorization": "Basic dXNlcjpwYXNz" }),
        json!({ "apiKey": "lup_unknown" }),
        json!({ "X-Api-Key": "lup_unknown" }),
    ] {
        let mut ws = Ws::open(app).await;
        ws.init(Some(payload.clone())).await;
        let (code, reason) = ws.closed(Duration::from_secs(5)).await;
        assert_eq!(code, 4403, "{payload}: {reason}");
        assert_eq!(reason, "Forbidden");
    }
    // A token that expired moments ago is refused at the start, as over HTTP.
    let id = app.create_account("udloebet@lup.test", As::Staff, &[]).await;
    let now = chrono::Utc::now().timestamp();
    let expired = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &json!({ "sub": id.to_string(), "role": "STAFF", "aud": "lup-api", "iss": "lup",
                 "iat": now - 600, "exp": now - 10 }),
        &jsonwebtoken::EncodingKey::from_secret(lup_api::config::DEVELOPMENT_JWT_SECRET.as_bytes()),
    )
    .expect("sign");
    let mut ws = Ws::open(app).await;
    ws.init(Some(json!({ "authorization": format!("Bearer {expired}") })))
        .await;
    let (code, reason) = ws.closed(Duration::from_secs(5)).await;
    assert_eq!(code, 4403, "{reason}");
    // Good ones, in each spelling.
    let staff = app.signed_in(As::Staff, &[], None).await;
    let (_, bearer) = staff.credentials.clone().unwrap();
    let (key, _) = partner_key(app).await;
    for payload in [
        json!({ "authorization": bearer }),
        json!({ "Authorization": bearer }),
        json!({ "apiKey": key }),
        json!({ "X-Api-Key": key }),
        json!({ "headers": { "Authorization": bearer } }),
        // Left empty: anonymous.
        json!({ "authorization": "" }),
        json!({ "authorization": null, "apiKey": null }),
        json!({}),
    ] {
        let mut ws = Ws::open(app).await;
        ws.init(Some(payload.clone())).await;
        match ws.recv(Duration::from_secs(5)).await {
            Got::Message(m) if m["type"] == "connection_ack" => {}
            other => panic!("{payload}: expected connection_ack, got {other:?}"),
        }
    }
}

on_both!(the_protocol_is_kept, protocol_rules);

async fn protocol_rules(app: &TestApp) {
    // Another subprotocol, or none: 4406.
    let mut ws = Ws::open_with(app, None).await;
    assert_eq!(ws.closed(Duration::from_secs(5)).await.0, 4406);

    // `subscribe` before `connection_init`: 4401.
    let mut ws = Ws::open(app).await;
    ws.subscribe("1", CHANGED, json!({})).await;
    assert_eq!(ws.closed(Duration::from_secs(5)).await.0, 4401);

    // Ping, pong.
    let mut ws = Ws::connect(app).await;
    ws.send(json!({ "type": "ping" })).await;
    match ws.recv(Duration::from_secs(5)).await {
        Got::Message(m) => assert_eq!(m["type"], "pong"),
        other => panic!("expected pong, got {other:?}"),
    }

    // Queries and mutations are served over HTTP: an `error` for that id.
    ws.subscribe("q", "{ communities { totalCount } }", json!({}))
        .await;
    match ws.recv(Duration::from_secs(5)).await {
        Got::Message(m) => {
            assert_eq!(m["type"], "error", "{m}");
            assert_eq!(m["id"], "q");
            assert_eq!(m["payload"][0]["extensions"]["code"], "BAD_REQUEST", "{m}");
        }
        other => panic!("expected an error, got {other:?}"),
    }
    // A document that does not parse, a field that does not exist.
    ws.subscribe("p", "subscription { changed {", json!({})).await;
    match ws.recv(Duration::from_secs(5)).await {
        Got::Message(m) => assert_eq!((m["type"].as_str(), m["id"].as_str()), (Some("error"), Some("p"))),
        other => panic!("expected an error, got {other:?}"),
    }
    // A document that does not validate: the protocol's `error` for that id (errors before
    // execution), coded as over HTTP, and no `complete` after it.
    for (id, q) in [
        ("v", "subscription { changed { nope } }"),
        (
            "w",
            r#"subscription { changed { cursor __typename @skip(if: "x") } }"#,
        ),
    ] {
        ws.refused(id, q).await;
        ws.quiet(Duration::from_millis(300)).await;
    }
    // The id is free again.
    ws.subscribe("v", CHANGED, json!({})).await;
    ws.quiet(Duration::from_millis(300)).await;
    ws.send(json!({ "type": "complete", "id": "v" })).await;
    // Nothing comes back for it: the client may already be using the id again.
    ws.quiet(Duration::from_millis(500)).await;
    // Even at once, again and again: no `complete` for the subscription running last.
    for _ in 0..20 {
        ws.subscribe("v", CHANGED, json!({})).await;
        ws.send(json!({ "type": "complete", "id": "v" })).await;
    }
    ws.subscribe("v", CHANGED, json!({})).await;
    ws.quiet(Duration::from_millis(600)).await;
    ws.send(json!({ "type": "complete", "id": "v" })).await;
    ws.quiet(Duration::from_millis(300)).await;

    // A subscription selects one root field (the spec's "single root field"), aliases and
    // fragments counted; an `error` for that id, before anything runs.
    for (id, q) in [
        (
            "two",
            "subscription { a: changed { cursor } b: changed { cursor } }",
        ),
        (
            "spread",
            "subscription { changed { cursor } ...More } fragment More on Subscription { again: changed { cursor } }",
        ),
        (
            "inline",
            "subscription { ... on Subscription { a: changed { cursor } } b: changed { cursor } }",
        ),
    ] {
        let message = ws.refused(id, q).await;
        assert!(message.contains("exactly one root field"), "{message}");
    }

    // A variable of a non-null type left out refuses the subscription before it starts.
    let message = ws
        .refused(
            "nv",
            "subscription($t: [ChangeType!]!) { changed(types: $t) { cursor } }",
        )
        .await;
    assert!(message.contains("$t"), "{message}");

    // A cursor past the newest change (from another database, or from before a restore) is
    // refused: read on from it, the subscription would skip every change up to it.
    ws.subscribe("ahead", CHANGED, json!({ "after": "Y2hhbmdlOjk5OTk5OTk5OQ" })) // change:999999999
        .await;
    // A refused argument, like a document that does not validate: the protocol's `error`
    // for that id, and no `complete` after it.
    match ws.recv(Duration::from_secs(5)).await {
        Got::Message(m) => {
            assert_eq!(
                (m["type"].as_str(), m["id"].as_str()),
                (Some("error"), Some("ahead")),
                "{m}"
            );
            let error = &m["payload"][0];
            assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT", "{m}");
            assert!(
                error["message"]
                    .as_str()
                    .unwrap_or_default()
                    .contains("newest change"),
                "{m}"
            );
        }
        other => panic!("expected an error, got {other:?}"),
    }
    ws.quiet(Duration::from_millis(300)).await;

    // The client closes: the server answers with a close frame of the same code (RFC 6455
    // §5.5.1), not by dropping the connection (1006 on the client's side).
    let mut closing = Ws::connect(app).await;
    closing
        .socket
        .send(Message::Close(Some(CloseFrame {
            code: CloseCode::Normal,
            reason: "bye".into(),
        })))
        .await
        .expect("close sent");
    assert_eq!(closing.closed(Duration::from_secs(5)).await.0, 1000);

    // The same id twice: 4409.
    ws.subscribe("1", CHANGED, json!({})).await;
    ws.subscribe("1", CHANGED, json!({})).await;
    assert_eq!(ws.closed(Duration::from_secs(5)).await.0, 4409);

    // No `connection_init` in time is 4408 (after 10 s: not waited for here); a second one
    // is 4429.
    let mut ws = Ws::connect(app).await;
    ws.init(None).await;
    assert_eq!(ws.closed(Duration::from_secs(5)).await.0, 4429);
}

on_both!(
    subscriptions_per_connection_and_connections_per_client_are_bounded,
    |c: &mut Config| {
        c.subscriptions.ws_max_subscriptions_per_connection = 2;
        c.subscriptions.ws_max_connections_per_client = 2;
    },
    bounds
);

async fn bounds(app: &TestApp) {
    let staff = app.signed_in(As::Staff, &[], None).await;
    let mut ws = Ws::connect(&staff).await;
    ws.subscribe("1", CHANGED, json!({})).await;
    ws.subscribe("2", CHANGED, json!({})).await;
    ws.subscribe("3", CHANGED, json!({})).await;
    match ws.recv(Duration::from_secs(5)).await {
        Got::Message(m) => {
            assert_eq!(m["type"], "error", "{m}");
            assert_eq!(m["id"], "3");
            assert_eq!(m["payload"][0]["extensions"]["code"], "TOO_MANY_SUBSCRIPTIONS");
        }
        other => panic!("expected an error, got {other:?}"),
    }
    // Completing one makes room.
    ws.send(json!({ "type": "complete", "id": "1" })).await;
    ws.subscribe("3", CHANGED, json!({})).await;
    ws.quiet(Duration::from_millis(500)).await;
    assert_eq!(metric(app, "lup_subscriptions").await, 2);

    // A second connection of the same account is let in, a third is not (1013: later).
    let _second = Ws::connect(&staff).await;
    let mut third = Ws::open(&staff).await;
    third.init(payload_of(&staff)).await;
    let (code, reason) = third.closed(Duration::from_secs(5)).await;
    assert_eq!(code, 1013, "{reason}");
    assert!(reason.contains("too many connections"), "{reason}");
    // Another client is counted on its own.
    let other = app.signed_in(As::Staff, &[], None).await;
    let _other = Ws::connect(&other).await;
    assert_eq!(metric(app, "lup_websocket_connections").await, 3);
    // Closing one frees its place.
    drop(ws);
    let deadline = Instant::now() + Duration::from_secs(5);
    while metric(app, "lup_websocket_connections").await > 2 {
        assert!(Instant::now() < deadline, "a closed connection is forgotten");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _again = Ws::connect(&staff).await;
}

async fn metric(app: &TestApp, series: &str) -> u64 {
    app.metric(series).await
}

on_both!(
    a_subscription_ends_when_its_token_expires,
    |c: &mut Config| c.auth.access_token_ttl_secs = 3,
    token_expiry
);

async fn token_expiry(app: &TestApp) {
    let staff = app.signed_in(As::Staff, &[], None).await;
    let mut ws = Ws::connect(&staff).await;
    ws.subscribe("1", CHANGED, json!({})).await;
    let started = Instant::now();
    // The subscription ends with an error, then `complete`, then the connection closes.
    let payload = ws.next("1", Duration::from_secs(6)).await;
    assert_eq!(
        payload["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
        "{payload}"
    );
    assert!(
        started.elapsed() > Duration::from_secs(1),
        "not before the token expires"
    );
    match ws.recv(Duration::from_secs(2)).await {
        Got::Message(m) => assert_eq!(
            (m["type"].as_str(), m["id"].as_str()),
            (Some("complete"), Some("1"))
        ),
        other => panic!("expected complete, got {other:?}"),
    }
    let (code, reason) = ws.closed(Duration::from_secs(2)).await;
    assert_eq!(code, 4403, "{reason}");
}

/// The partner organisation Nordfonden with an API key: the key, and its row's ID.
async fn partner_key(app: &TestApp) -> (String, Uuid) {
    let org = Fixture::new(&app.db)
        .organization(
            "nordfonden",
            "Nordfonden",
            lup_tests::fixture::OrganizationKind::Foundation,
            None,
        )
        .await;
    let key = app.create_api_key(org).await;
    let id = entity::api_key::Entity::find()
        .filter(entity::api_key::Column::OrganizationId.eq(org))
        .select_only()
        .column(entity::api_key::Column::Id)
        .into_tuple()
        .one(&app.db)
        .await
        .expect("key")
        .expect("a key");
    (key, id)
}

on_both!(
    a_subscription_ends_when_its_account_is_disabled_or_its_key_revoked,
    disabled_account
);

async fn disabled_account(app: &TestApp) {
    let email = "koordinator@jammerbugt.dk";
    let account = app.create_account(email, As::Staff, &[]).await;
    let login = app.login(email, lup_tests::PASSWORD).await;
    let staff = app.with_token(login["accessToken"].as_str().unwrap());
    let f = Fixture::new(&app.db);
    let gjol = f.community("gjoel", "Gjøl").await;
    let (key, key_id) = partner_key(app).await;
    let partner = app.with_credentials("x-api-key", &key);
    let mut subscribers = Vec::new();
    for who in [&staff, &partner] {
        let mut ws = Ws::connect(who).await;
        ws.subscribe("1", CHANGED, json!({})).await;
        subscribers.push(ws);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    emit(
        app,
        "Community",
        gjol,
        change_event::ChangeOperation::Update,
        PUBLIC,
    )
    .await;
    for ws in &mut subscribers {
        ws.change("1", WITHIN).await;
    }

    f.set("account", account, "disabled", true).await;
    f.set("api_key", key_id, "revoked_at", chrono::Utc::now()).await;
    // Checked again before an event once the last check is 5 s old (and every 15 s).
    tokio::time::sleep(Duration::from_millis(5200)).await;
    emit(
        app,
        "Community",
        gjol,
        change_event::ChangeOperation::Update,
        PUBLIC,
    )
    .await;
    for ws in &mut subscribers {
        let payload = ws.next("1", WITHIN).await;
        assert_eq!(
            payload["errors"][0]["extensions"]["code"], "FORBIDDEN",
            "{payload}"
        );
        assert!(payload["data"].is_null(), "the event is not delivered: {payload}");
        let (code, _) = ws.closed(Duration::from_secs(3)).await;
        assert_eq!(code, 4403);
    }
}

on_both!(
    a_quiet_subscription_ends_within_15_s_of_its_key_being_revoked,
    quiet_revoked_key
);

/// With no event to check before, the timer reads the key again: within 15 s of the last look
/// (the look at `connection_init`), not a tick later (a look just under 15 s old at one tick
/// used to wait for the next, up to 30 s).
async fn quiet_revoked_key(app: &TestApp) {
    let (key, key_id) = partner_key(app).await;
    let partner = app.with_credentials("x-api-key", &key);
    let opened = std::time::Instant::now();
    let mut ws = Ws::connect(&partner).await;
    ws.subscribe("1", CHANGED, json!({})).await;
    Fixture::new(&app.db)
        .set("api_key", key_id, "revoked_at", chrono::Utc::now())
        .await;
    let payload = ws.next("1", Duration::from_secs(17)).await;
    assert_eq!(
        payload["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "{payload}"
    );
    let (code, reason) = ws.closed(Duration::from_secs(3)).await;
    assert_eq!(code, 4403);
    assert!(reason.contains("revoked API key"), "{reason}");
    let took = opened.elapsed();
    assert!(took <= Duration::from_millis(16_500), "closed after {took:?}");
}

on_both!(
    a_subscription_ends_when_its_session_is_logged_out_and_says_so,
    logged_out
);

/// Signing out ends the session's subscriptions too, and the close says why: the session
/// ended (it said the account was disabled or a key revoked, neither of which happened).
async fn logged_out(app: &TestApp) {
    let email = "koordinator@jammerbugt.dk";
    app.create_account(email, As::Staff, &[]).await;
    let login = app.login(email, lup_tests::PASSWORD).await;
    let staff = app.with_token(login["accessToken"].as_str().unwrap());
    let mut ws = Ws::connect(&staff).await;
    ws.subscribe("1", CHANGED, json!({})).await;
    let out = staff
        .data(
            "mutation($i: LogoutInput!) { logout(input: $i) { ended } }",
            json!({ "i": { "refreshToken": login["refreshToken"] } }),
        )
        .await;
    assert_eq!(out["logout"]["ended"], true, "{out}");
    let payload = ws.next("1", Duration::from_secs(17)).await;
    assert_eq!(
        payload["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "{payload}"
    );
    assert!(
        payload["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("ended session")),
        "{payload}"
    );
    let (code, reason) = ws.closed(Duration::from_secs(3)).await;
    assert_eq!(code, 4403);
    assert!(reason.contains("ended session"), "{reason}");
}

on_both!(a_subscription_over_http_is_refused_clearly, over_http);

async fn over_http(app: &TestApp) {
    let (status, body) = app.post_status(CHANGED, json!({})).await;
    assert_eq!(status, 400, "{body}");
    let message = body["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(message.contains("WebSocket"), "{body}");
    let response = app
        .client
        .get(app.url("/graphql"))
        .query(&[("query", "subscription { changed { kind } }")])
        .header("accept", "application/json")
        .send()
        .await
        .expect("GET");
    assert_eq!(response.status().as_u16(), 400);
    // GET of /graphql without an upgrade is still GraphQL over HTTP.
    let response = app
        .client
        .get(app.url("/graphql"))
        .query(&[("query", "{ __typename }")])
        .header("accept", "application/json")
        .send()
        .await
        .expect("GET");
    assert_eq!(response.status().as_u16(), 200);
}

// --- Real writes over HTTP. ---

const UPDATE_COMMUNITY: &str =
    "mutation($i: UpdateCommunityInput!) { updateCommunity(input: $i) { userErrors { code } } }";

on_both!(
    a_write_over_http_reaches_a_subscriber_within_a_second,
    write_reaches_subscriber
);

/// Renames community `id` at `version` as `staff`.
async fn rename(staff: &TestApp, id: Uuid, version: i64, name: &str) {
    let answer = staff
        .data(
            UPDATE_COMMUNITY,
            json!({ "i": { "id": global_id("Community", id), "version": version, "name": name } }),
        )
        .await;
    assert_eq!(answer["updateCommunity"]["userErrors"], json!([]), "{answer}");
}

/// Gjøl, with the feed settled, and staff signed in with a connection open.
async fn gjol_and_staff(app: &TestApp) -> (Uuid, TestApp, Ws) {
    let gjol = Fixture::new(&app.db).community("gjoel", "Gjøl").await;
    settle(app).await;
    let staff = app.signed_in(As::Staff, &[], None).await;
    let ws = Ws::connect(&staff).await;
    (gjol, staff, ws)
}

async fn write_reaches_subscriber(app: &TestApp) {
    let (gjol, staff, mut ws) = gjol_and_staff(app).await;
    ws.subscribe("1", CHANGED, json!({ "types": ["COMMUNITY"] }))
        .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    for (version, name) in [(1, "Gjøl Havn"), (2, "Gjøl By")] {
        rename(&staff, gjol, version, name).await;
        let written = Instant::now();
        let change = ws.change("1", WITHIN).await;
        assert!(written.elapsed() < WITHIN);
        assert_eq!(change["kind"], "UPDATED");
        assert_eq!(change["type"], "COMMUNITY");
        assert_eq!(change["nodeId"], global_id("Community", gjol));
        assert_eq!(change["node"]["name"], name);
    }
}

on_both!(
    a_subscription_through_a_fragment_streams_as_one_written_out,
    through_fragments
);

// `changed` selected through a named or an inline fragment is the same subscription: it
// streams (it used to end at once with no event and no error), and its arguments are checked
// as they are when written out. A root field under `@skip`/`@include` is refused: the spec
// does not allow a subscription that may select nothing.
async fn through_fragments(app: &TestApp) {
    let (gjol, staff, mut ws) = gjol_and_staff(app).await;
    let named = "subscription { ...F } fragment F on Subscription { changed(types: [COMMUNITY]) { kind node { ... on Community { name } } } }";
    let inline = "subscription { ... on Subscription { changed(types: [COMMUNITY]) { kind node { ... on Community { name } } } } }";
    let untyped = "subscription { ... { c: changed(types: [COMMUNITY]) { kind } } ...G } fragment G on Subscription { c: changed(types: [COMMUNITY]) { kind } }";
    ws.subscribe("named", named, json!({})).await;
    ws.subscribe("inline", inline, json!({})).await;
    ws.subscribe("untyped", untyped, json!({})).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    rename(&staff, gjol, 1, "Gjøl Havn").await;
    let mut heard = std::collections::BTreeMap::new();
    for _ in 0..3 {
        match ws.recv(WITHIN).await {
            Got::Message(m) if m["type"] == "next" => {
                let id = m["id"].as_str().expect("an id").to_owned();
                assert!(m["payload"].get("errors").is_none(), "{m}");
                *heard.entry(id).or_insert(0) += 1;
                let data = &m["payload"]["data"];
                let change = if data["c"].is_object() {
                    &data["c"]
                } else {
                    &data["changed"]
                };
                assert_eq!(change["kind"], "UPDATED", "{m}");
            }
            other => panic!("expected a `next`, got {other:?}"),
        }
    }
    // Each once: the field the untyped fragment and the spread both select is one field.
    assert_eq!(
        heard,
        [("inline", 1), ("named", 1), ("untyped", 1)]
            .map(|(k, v)| (k.to_owned(), v))
            .into()
    );
    ws.quiet(Duration::from_millis(300)).await;

    let message = ws
        .refused(
            "bad",
            r#"subscription { ...F } fragment F on Subscription { changed(after: "garbage") { cursor } }"#,
        )
        .await;
    assert!(message.contains("cursor"), "{message}");
    for (id, query) in [
        ("skip", "subscription { changed @skip(if: false) { cursor } }"),
        (
            "include",
            "subscription { ...F @include(if: true) } fragment F on Subscription { changed { cursor } }",
        ),
    ] {
        let message = ws.refused(id, query).await;
        assert!(message.contains("@skip"), "{message}");
    }
}

/// Two instances on one PostgreSQL: a subscriber of B hears of a write made through A.
#[tokio::test]
#[cfg_attr(not(postgres_tests), ignore = "skipped: TEST_DATABASE_URL is not set")]
async fn a_write_on_one_instance_reaches_a_subscriber_of_the_other() {
    let a = TestApp::spawn(Backend::Postgres).await;
    let b = a.sibling(|_| {}).await;
    let gjol = Fixture::new(&a.db).community("gjoel", "Gjøl").await;
    let staff = a.signed_in(As::Staff, &[], None).await;
    let mut ws = Ws::connect(&staff.on(&b)).await;
    ws.subscribe("1", CHANGED, json!({})).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    rename(&staff, gjol, 1, "Gjøl Havn").await;
    let written = Instant::now();
    let change = ws.change("1", WITHIN).await;
    assert!(written.elapsed() < WITHIN, "{:?}", written.elapsed());
    assert_eq!(change["nodeId"], global_id("Community", gjol));
    assert_eq!(change["node"]["name"], "Gjøl Havn");
    drop(ws);
    b.stop().await;
    a.stop().await;
}

on_both!(drafts_and_private_rows_reach_only_who_may_see_them, visibility);

async fn visibility(app: &TestApp) {
    let f = Fixture::new(&app.db);
    let gjol = f.community("gjoel", "Gjøl").await;
    let draft = f.plan(gjol, "Kladde", PlanStatus::Draft, 2025, 2029).await;
    let public = f.plan(gjol, "Høring", PlanStatus::Consultation, 2025, 2029).await;
    let org = f
        .organization(
            "nordfonden",
            "Nordfonden",
            lup_tests::fixture::OrganizationKind::Foundation,
            None,
        )
        .await;
    let staff = app.signed_in(As::Staff, &[], None).await;
    let partner = app.signed_in(As::Partner, &[], Some(org)).await;
    settle(app).await;
    let mut subscribers = Vec::new();
    for who in [&staff, &partner, app] {
        let mut ws = Ws::connect(who).await;
        ws.subscribe("1", CHANGED, json!({})).await;
        subscribers.push(ws);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let [staff_ws, partner_ws, anonymous_ws] = &mut subscribers[..] else {
        unreachable!()
    };

    // An action of the draft plan, a private contact: staff only.
    let created = staff
        .data(
            "mutation($i: CreateActionInput!) { createAction(input: $i) { action { id } userErrors { code } } }",
            json!({ "i": { "planId": global_id("Plan", draft), "title": "Shelter", "horizon": "HERE_AND_NOW" } }),
        )
        .await;
    let action = created["createAction"]["action"]["id"].clone();
    assert!(action.is_string(), "{created}");
    let created = staff
        .data(
            "mutation($i: CreateContactInput!) { createContact(input: $i) { contact { id } userErrors { code } } }",
            json!({ "i": { "name": "Privat Person", "communityId": global_id("Community", gjol) } }),
        )
        .await;
    let contact = created["createContact"]["contact"]["id"].clone();
    assert!(contact.is_string(), "{created}");
    let mut seen = Vec::new();
    for _ in 0..2 {
        let change = staff_ws.change("1", WITHIN).await;
        assert_eq!(change["kind"], "CREATED");
        seen.push(change["nodeId"].clone());
    }
    assert_eq!(seen, vec![action.clone(), contact.clone()]);

    // A public plan taken back to draft: a tombstone for those who may not see drafts.
    let answer = staff
        .data(
            "mutation($i: ChangePlanStatusInput!) { changePlanStatus(input: $i) { userErrors { code } } }",
            json!({ "i": { "id": global_id("Plan", public), "version": 1, "status": "DRAFT" } }),
        )
        .await;
    assert_eq!(answer["changePlanStatus"]["userErrors"], json!([]), "{answer}");
    for ws in [partner_ws, anonymous_ws] {
        // Their first event: nothing of the draft's action or the private contact came first.
        let change = ws.change("1", WITHIN).await;
        assert_eq!(change["nodeId"], global_id("Plan", public), "{change}");
        assert_eq!(change["kind"], "DELETED");
        assert!(change["node"].is_null());
    }
    let change = staff_ws.change("1", WITHIN).await;
    assert_eq!(change["nodeId"], global_id("Plan", public));
    assert_eq!(change["kind"], "UPDATED");
    assert_eq!(change["node"]["status"], "DRAFT");
}

on_both!(
    a_subscriber_that_falls_behind_reads_on_from_the_database,
    slow_consumer
);

async fn slow_consumer(app: &TestApp) {
    let gjol = Fixture::new(&app.db).community("gjoel", "Gjøl").await;
    let mut ws = Ws::connect(app).await;
    ws.subscribe("1", CHANGED, json!({})).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    // Far more events at once than the live backlog holds (1024): the feed hands them over in
    // a few statements, the subscriber reads each node and falls behind; it reads on from the
    // database, and gets every one, in order, once.
    let from = many_changes(app, gjol, 1500).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut cursors = Vec::new();
    while cursors.len() < 1500 {
        let left = deadline.saturating_duration_since(Instant::now());
        match ws.recv(left).await {
            Got::Message(m) if m["type"] == "next" => {
                assert!(m["payload"]["errors"].is_null(), "{m}");
                cursors.push(m["payload"]["data"]["changed"]["cursor"].clone());
            }
            Got::Message(_) => {}
            other => panic!("after {} events: {other:?}", cursors.len()),
        }
    }
    let numbers: Vec<i64> = cursors.iter().map(seq_of).collect();
    assert_eq!(
        numbers,
        (from..from + 1500).collect::<Vec<_>>(),
        "every event, in order, once"
    );
}

on_both!(
    a_subscribe_is_bounded_and_charged_like_an_http_request,
    |c: &mut Config| {
        // Two points at once: the connection's and one subscription's.
        c.rate_limit_anonymous_per_minute = 60;
        c.rate_limit_burst_secs = 2;
    },
    charged
);

async fn charged(app: &TestApp) {
    let mut ws = Ws::connect(app).await;
    // Over the bounds of any query: refused before it runs, at no charge.
    let huge = "subscription { changed { node { ... on Community { plans(first: 100) { nodes {
        actions(first: 100) { nodes { partnerships(first: 100) { nodes { id } } } } } } } } } }";
    ws.subscribe("big", huge, json!({})).await;
    match ws.recv(Duration::from_secs(5)).await {
        Got::Message(m) => {
            assert_eq!(
                (m["type"].as_str(), m["id"].as_str()),
                (Some("error"), Some("big")),
                "{m}"
            );
            assert_eq!(m["payload"][0]["extensions"]["code"], "QUERY_TOO_LARGE", "{m}");
        }
        other => panic!("expected an error, got {other:?}"),
    }
    ws.subscribe("1", CHANGED, json!({})).await;
    ws.quiet(Duration::from_millis(200)).await;
    ws.subscribe("2", CHANGED, json!({})).await;
    match ws.recv(Duration::from_secs(5)).await {
        Got::Message(m) => {
            assert_eq!(
                (m["type"].as_str(), m["id"].as_str()),
                (Some("error"), Some("2")),
                "{m}"
            );
            assert_eq!(m["payload"][0]["extensions"]["code"], "RATE_LIMITED", "{m}");
            assert!(m["payload"][0]["extensions"]["retryAfterSeconds"].is_u64(), "{m}");
        }
        other => panic!("expected an error, got {other:?}"),
    }
}

on_both!(
    a_replay_is_charged_per_page_and_paced_by_the_budget,
    |c: &mut Config| {
        // A point every 3 s, two at once: the connection's and the subscription's.
        c.rate_limit_anonymous_per_minute = 20;
        c.rate_limit_burst_secs = 6;
    },
    replay_paced
);

/// Writes `n` public changes of a community straight into the outbox; the number of the first.
async fn many_changes(app: &TestApp, community: Uuid, n: i64) -> i64 {
    let newest: Option<Option<i64>> = change_event::Entity::find()
        .select_only()
        .expr(change_event::Column::Seq.max())
        .into_tuple::<Option<i64>>()
        .one(&app.db)
        .await
        .expect("newest event");
    let from = newest.flatten().unwrap_or(0) + 1;
    let rows = (0..n).map(|i| change_event::ActiveModel {
        seq: Set(from + i),
        occurred_at: Set(chrono::Utc::now()),
        entity_type: Set("Community".into()),
        entity_id: Set(community),
        operation: Set(change_event::ChangeOperation::Update),
        audit_id: Set(None),
        before_exists: Set(true),
        before_public: Set(true),
        before_community_id: Set(None),
        before_organization_id: Set(None),
        after_exists: Set(true),
        after_public: Set(true),
        after_community_id: Set(None),
        after_organization_id: Set(None),
    });
    change_event::Entity::insert_many(rows)
        .exec(&app.db)
        .await
        .expect("insert events");
    app.state().feed.wake();
    from
}

/// The change number a cursor of the feed names.
fn seq_of(cursor: &Value) -> i64 {
    use base64::Engine;
    let text = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor.as_str().expect("a cursor"))
        .expect("base64");
    let text = String::from_utf8(text).expect("UTF-8");
    text["change:".len()..]
        .split(':')
        .next()
        .and_then(|n| n.parse().ok())
        .expect("a number")
}

async fn replay_paced(app: &TestApp) {
    let f = Fixture::new(&app.db);
    let gjol = f.community("gjoel", "Gjøl").await;
    let org = f
        .organization(
            "nordfonden",
            "Nordfonden",
            lup_tests::fixture::OrganizationKind::Foundation,
            None,
        )
        .await;
    settle(app).await;
    let from = many_changes(app, gjol, 151).await;
    settle(app).await;
    // The cursor of the first, read by a partner (another client's budget).
    let partner = app.signed_in(As::Partner, &[], Some(org)).await;
    let page = partner
        .data("{ changes(first: 100) { edges { cursor } } }", json!({}))
        .await;
    let first = page["changes"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| e["cursor"].clone())
        .find(|c| seq_of(c) == from)
        .expect("the first change written");
    // The connection and the subscribe spend the anonymous client's two points; the replay's
    // first hundred are the subscribe's, the next page waits for the next point (3 s on).
    let mut ws = Ws::connect(app).await;
    let connected = Instant::now();
    ws.subscribe("1", CHANGED, json!({ "after": first.clone() }))
        .await;
    let mut seqs = Vec::new();
    let mut second_page = None;
    while seqs.len() < 150 {
        let change = ws.change("1", Duration::from_secs(10)).await;
        seqs.push(seq_of(&change["cursor"]));
        if seqs.len() == 101 {
            second_page = Some(connected.elapsed());
        }
    }
    assert_eq!(
        seqs,
        ((from + 1)..=(from + 150)).collect::<Vec<_>>(),
        "every change, in order, once"
    );
    // The next point comes 3 s after the connection's: without the charge the 101st change
    // came within a tenth of a second.
    let second_page = second_page.expect("a second page");
    assert!(
        second_page >= Duration::from_millis(2500),
        "the second page waited for the budget: it came {second_page:?} after connecting"
    );
    // The replay spent the budget: the client's next request over HTTP waits its turn.
    let (status, body) = app.post_status("{ __typename }", json!({})).await;
    assert_eq!(status, 429, "{body}");
}

/// The explorer runs subscriptions too, over the same WebSocket (GraphiQL's own graphql-ws).
#[tokio::test]
async fn a_subscription_runs_from_the_explorer_in_a_browser() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let gjol = Fixture::new(&app.db).community("gjoel", "Gjøl").await;
    settle(&app).await;
    let Some(browser) = crate::browser::Browser::start().await else {
        app.stop().await;
        return;
    };
    browser.goto(&app.url("/graphql")).await;
    browser
        .wait_for(
            "the query editor",
            "var e = document.querySelector('.graphiql-query-editor .CodeMirror'); return e && !!e.CodeMirror",
            60,
        )
        .await;
    browser
        .run(
            "document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror.setValue(arguments[0]);",
            json!(["subscription { changed(types: [COMMUNITY]) { kind nodeId node { ... on Community { name } } } }"]),
        )
        .await;
    // GraphiQL sends an operation over WebSocket once it has parsed the editor's document as a
    // subscription (a moment after the text is set); before that it sends it over HTTP (and
    // shows the 400 that says where subscriptions go): run it again then.
    let mut subscribed = false;
    for _ in 0..10 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        browser
            .run(
                "document.querySelector('.graphiql-execute-button').click();",
                json!([]),
            )
            .await;
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline && !subscribed {
            subscribed = app.metric("lup_subscriptions").await >= 1;
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        if subscribed {
            break;
        }
    }
    assert!(subscribed, "the explorer did not subscribe");
    let staff = app.signed_in(As::Staff, &[], None).await;
    rename(&staff, gjol, 1, "Gjøl Havn").await;
    let shown = browser
        .wait_for(
            "the change in the result pane",
            "var e = document.querySelector('.result-window .CodeMirror'); \
             var v = e && e.CodeMirror && e.CodeMirror.getValue(); \
             return v && v.indexOf('Gjøl Havn') >= 0 ? v : null",
            10,
        )
        .await;
    let shown: Value = serde_json::from_str(shown.as_str().unwrap()).unwrap();
    assert_eq!(shown["data"]["changed"]["kind"], "UPDATED", "{shown}");
    let console = browser.console().await;
    let refused: Vec<_> = console
        .iter()
        .filter(|m| m.contains("Content Security Policy") || m.contains("Refused to"))
        .collect();
    assert!(refused.is_empty(), "{refused:#?}");
    browser.quit().await;
    app.stop().await;
}

on_both!(
    credentials_in_the_handshake_count_like_the_payloads,
    handshake_credentials
);

async fn handshake_credentials(app: &TestApp) {
    let f = Fixture::new(&app.db);
    let gjol = f.community("gjoel", "Gjøl").await;
    let staff = app.signed_in(As::Staff, &[], None).await;
    let (_, bearer) = staff.credentials.clone().expect("a token");
    settle(app).await;
    // Bad ones are refused, never a silent anonymous connection; so are two callers.
    for (headers, payload) in [
        (vec![("authorization", "Bearer skrald")], None),
        (
            vec![("authorization", bearer.as_str())],
            Some(json!({ "apiKey": "lup_ukendt00_abc" })),
        ),
        (
            vec![
                ("authorization", bearer.as_str()),
                ("authorization", "Bearer skrald"),
            ],
            None,
        ),
    ] {
        let mut ws = Ws::open_with_headers(app, &headers).await;
        ws.init(payload).await;
        let (code, reason) = ws.closed(Duration::from_secs(5)).await;
        assert_eq!(code, 4403, "{headers:?}: {reason}");
    }
    // A good one makes the connection the caller's: staff see a private contact's creation.
    // (The same token in the payload too is still one caller.)
    let mut ws = Ws::open_with_headers(app, &[("authorization", bearer.as_str())]).await;
    ws.init(Some(json!({ "authorization": bearer }))).await;
    match ws.recv(Duration::from_secs(5)).await {
        Got::Message(m) if m["type"] == "connection_ack" => {}
        other => panic!("expected connection_ack, got {other:?}"),
    }
    ws.subscribe("1", CHANGED, json!({ "types": ["CONTACT"] })).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let created = staff
        .data(
            "mutation($i: CreateContactInput!) { createContact(input: $i) { contact { id } } }",
            json!({ "i": { "name": "Privat Person", "communityId": global_id("Community", gjol) } }),
        )
        .await;
    let change = ws.change("1", WITHIN).await;
    assert_eq!(change["nodeId"], created["createContact"]["contact"]["id"]);
}

on_both!(a_message_over_the_limit_is_closed_with_1009, message_too_big);

async fn message_too_big(app: &TestApp) {
    let mut ws = Ws::connect(app).await;
    let query = format!(
        "subscription {{ changed {{ kind }} }} # {}",
        "x".repeat(1_100_000)
    );
    ws.send(json!({ "id": "1", "type": "subscribe", "payload": { "query": query } }))
        .await;
    let (code, reason) = ws.closed(Duration::from_secs(5)).await;
    assert_eq!(code, 1009, "{reason}");
    assert!(reason.contains("too big"), "{reason}");
}

/// A connection that sends its request head too slowly (or nothing) is closed after
/// `HEADER_READ_TIMEOUT_SECS`, and so is a kept-alive one left idle that long; a WebSocket,
/// no longer HTTP once upgraded, stays open however quiet it is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_headers_are_cut_off_but_websockets_stay() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = TestApp::spawn_with(Backend::Sqlite, |c| c.header_read_timeout_secs = 1).await;
    let address = app
        .base
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    // Reads until the server closes the connection; what it sent, or None if it stayed open.
    async fn closed_within(stream: &mut tokio::net::TcpStream, within: Duration) -> Option<String> {
        let mut seen = Vec::new();
        let read = tokio::time::timeout(within, async {
            let mut buffer = [0u8; 4096];
            loop {
                match stream.read(&mut buffer).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => seen.extend_from_slice(&buffer[..n]),
                }
            }
        })
        .await;
        read.ok().map(|()| String::from_utf8_lossy(&seen).into_owned())
    }

    let mut ws = Ws::connect(&app).await;

    // Half a request head, the rest never sent (a byte now and then would not help either).
    let mut trickling = tokio::net::TcpStream::connect(&address).await.unwrap();
    trickling
        .write_all(format!("GET /healthz HTTP/1.1\r\nhost: {address}\r\nx-slow: ").as_bytes())
        .await
        .unwrap();
    let started = Instant::now();
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_millis(400)).await;
        let _ = trickling.write_all(b"a").await;
    }
    assert!(
        closed_within(&mut trickling, Duration::from_secs(5))
            .await
            .is_some(),
        "a connection that never finished its headers is closed"
    );
    assert!(started.elapsed() < Duration::from_secs(5));

    // A whole request is answered, and the connection kept alive; left idle, it is closed.
    let mut idle = tokio::net::TcpStream::connect(&address).await.unwrap();
    idle.write_all(format!("GET /healthz HTTP/1.1\r\nhost: {address}\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let answered = closed_within(&mut idle, Duration::from_secs(5))
        .await
        .expect("an idle kept-alive connection is closed");
    assert!(answered.starts_with("HTTP/1.1 200"), "{answered}");

    // The WebSocket opened before all this, quiet for longer than the timeout, still works.
    assert!(started.elapsed() > Duration::from_secs(2));
    ws.send(json!({ "type": "ping" })).await;
    match ws.recv(Duration::from_secs(5)).await {
        Got::Message(m) => assert_eq!(m["type"], "pong"),
        other => panic!("expected pong, got {other:?}"),
    }
    app.stop().await;
}
