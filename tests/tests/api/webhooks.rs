//! Webhooks for partners: a partner registers endpoints with its API key; the changes it may
//! see come to them as signed Standard Webhooks messages, verified here by an implementation
//! that is not ours (the `standardwebhooks` package from PyPI, in the receiving server
//! `tests/webhooks/receiver.py` that each test starts); failures are retried and recorded, an
//! endpoint that keeps failing is disabled with its reason; two instances send each message
//! once; bad inputs are refused and change nothing.
use std::{
    collections::{BTreeMap, BTreeSet},
    time::{Duration, Instant},
};

use entity::{webhook_delivery, webhook_endpoint};
use lup_api::config::{AppEnv, Config, Secret};
use lup_tests::{
    As, TestApp, both,
    fixture::{Fixture, OrganizationKind, PlanStatus, global_id},
};
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{Value, json};
use tokio::io::AsyncBufReadExt;
use uuid::Uuid;

const CREATE: &str = "mutation($i: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $i) {
    webhookEndpoint { id url eventTypes status version } secret userErrors { field code message } } }";
const UPDATE: &str = "mutation($i: UpdateWebhookEndpointInput!) { updateWebhookEndpoint(input: $i) {
    webhookEndpoint { id url eventTypes status disabledReason consecutiveFailures version } userErrors { field code message } } }";
const DELETE: &str = "mutation($i: DeleteWebhookEndpointInput!) { deleteWebhookEndpoint(input: $i) {
    deletedId userErrors { field code message } } }";
const ROTATE: &str = "mutation($i: RotateWebhookSecretInput!) { rotateWebhookSecret(input: $i) {
    webhookEndpoint { id version previousSecretExpiresAt } secret userErrors { field code message } } }";
const ENDPOINTS: &str = "query($org: ID) { webhookEndpoints(organizationId: $org) {
    id url eventTypes status disabledReason disabledAt consecutiveFailures version organization { id }
    deliveries(first: 50) { messageId eventType payload status attempts nextAttemptAt lastAttemptAt
                            lastStatus lastResponse lastError } } }";
const CREATE_ACTION: &str = "mutation($i: CreateActionInput!) { createAction(input: $i) {
    action { id } userErrors { field code message } } }";
const UPDATE_ACTION: &str = "mutation($i: UpdateActionInput!) { updateAction(input: $i) {
    action { id version } userErrors { field code message } } }";
const INTEREST: &str = "mutation($i: ExpressInterestInput!) { expressInterest(input: $i) {
    partnership { id version } userErrors { field code message } } }";
const ACCEPT: &str = "mutation($i: AcceptPartnershipProposalInput!) { acceptPartnershipProposal(input: $i) {
    partnership { id status } userErrors { field code message } } }";
const DECLINE: &str =
    "mutation($i: DeclinePartnershipProposalInput!) { declinePartnershipProposal(input: $i) {
    partnership { id status } userErrors { field code message } } }";

/// The receiving server: `tests/webhooks/receiver.py`, verifying each message with the
/// `standardwebhooks` package.
struct Receiver {
    base: String,
    client: reqwest::Client,
    _child: tokio::process::Child,
}

const RECEIVER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/webhooks/receiver.py");

impl Receiver {
    /// Starts the receiver; `None` (and a line saying the test was skipped) when Python or
    /// `standardwebhooks` is missing, except under CI, where that fails the test.
    async fn start() -> Option<Receiver> {
        let ready = std::process::Command::new("python3")
            .args(["-c", "import standardwebhooks.webhooks"])
            .output()
            .is_ok_and(|o| o.status.success());
        if !ready {
            if std::env::var_os("CI").is_some() {
                panic!(
                    "python3 with `standardwebhooks` is needed; .ci/run installs it (pip install standardwebhooks)"
                );
            }
            eprintln!(
                "skipped: python3 with `standardwebhooks` is not installed (pip install standardwebhooks), so no webhook was verified"
            );
            return None;
        }
        let mut child = tokio::process::Command::new("python3")
            .arg(RECEIVER)
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("the receiver starts");
        let stdout = child.stdout.take().expect("its output");
        let mut line = String::new();
        tokio::time::timeout(
            Duration::from_secs(10),
            tokio::io::BufReader::new(stdout).read_line(&mut line),
        )
        .await
        .expect("the receiver says its port within 10 s")
        .expect("its port");
        let port: u16 = line.trim().parse().expect("a port");
        Some(Receiver {
            base: format!("http://127.0.0.1:{port}"),
            client: reqwest::Client::new(),
            _child: child,
        })
    }

    fn url(&self, mailbox: &str) -> String {
        format!("{}/hooks/{mailbox}", self.base)
    }

    async fn put(&self, mailbox: &str, what: &str, body: String) {
        let status = self
            .client
            .put(format!("{}/control/{mailbox}/{what}", self.base))
            .body(body)
            .send()
            .await
            .expect("the receiver answers")
            .status();
        assert_eq!(status, 204);
    }

    async fn secret(&self, mailbox: &str, secret: &str) {
        self.put(mailbox, "secret", secret.to_owned()).await;
    }

    /// The statuses the mailbox answers with, in turn, then `default`.
    async fn plan(&self, mailbox: &str, statuses: &[u16], default: u16, delay_ms: u64) {
        self.put(
            mailbox,
            "plan",
            json!({ "statuses": statuses, "default": default, "delay_ms": delay_ms }).to_string(),
        )
        .await;
    }

    async fn received(&self, mailbox: &str) -> Vec<Value> {
        self.client
            .get(format!("{}/control/{mailbox}/received", self.base))
            .send()
            .await
            .expect("the receiver answers")
            .json::<Vec<Value>>()
            .await
            .expect("JSON")
    }

    /// What arrived once at least `n` requests have (within `within`).
    async fn wait_for(&self, mailbox: &str, n: usize, within: Duration) -> Vec<Value> {
        let start = Instant::now();
        loop {
            let got = self.received(mailbox).await;
            if got.len() >= n {
                return got;
            }
            assert!(
                start.elapsed() < within,
                "{mailbox}: {} of {n} requests arrived within {within:?}: {got:#?}",
                got.len()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// Webhooks to the receiver on 127.0.0.1 over plain HTTP, retried quickly.
fn local(config: &mut Config) {
    config.webhooks.webhook_allow_private = true;
    config.webhooks.webhook_retry_schedule = "200ms,300ms,300ms".parse().expect("a schedule");
}

struct World {
    gjol: Uuid,
    /// Adopted: its actions that seek partners are opportunities.
    adopted: Uuid,
    draft: Uuid,
    fonden: Uuid,
    kassen: Uuid,
}

async fn world(app: &TestApp) -> World {
    let fx = Fixture::new(&app.db);
    let gjol = fx.community("gjoel", "Gjøl").await;
    World {
        gjol,
        adopted: fx.plan(gjol, "Gjøl 2030", PlanStatus::Adopted, 2026, 2030).await,
        draft: fx.plan(gjol, "Gjøl 2035", PlanStatus::Draft, 2031, 2035).await,
        fonden: fx
            .organization("fonden", "Nordjysk Fond", OrganizationKind::Foundation, None)
            .await,
        kassen: fx
            .organization("andelskassen", "Andelskassen", OrganizationKind::Business, None)
            .await,
    }
}

/// A new action of `plan` (through the API, so the change feed tells of it); its global ID.
async fn action(staff: &TestApp, plan: Uuid, title: &str, seeking: bool) -> String {
    let body = staff
        .data(
            CREATE_ACTION,
            json!({ "i": { "planId": global_id("Plan", plan), "title": title, "horizon": "HERE_AND_NOW",
                          "seekingPartners": seeking } }),
        )
        .await["createAction"]
        .clone();
    assert_eq!(body["userErrors"], json!([]), "{body:#}");
    body["action"]["id"].as_str().expect("an ID").to_owned()
}

/// A partner's proposal to join `action`: its ID and version.
async fn propose(partner: &TestApp, action: &str) -> (String, i64) {
    let body = partner
        .data(
            INTEREST,
            json!({ "i": { "actionId": action, "message": "Vi vil gerne være med.",
                          "offer": { "contributionKind": "MONEY", "amountDkk": 10000 } } }),
        )
        .await["expressInterest"]
        .clone();
    assert_eq!(body["userErrors"], json!([]), "{body:#}");
    (
        body["partnership"]["id"].as_str().expect("an ID").to_owned(),
        body["partnership"]["version"].as_i64().expect("a version"),
    )
}

/// Registers an endpoint; its ID and secret (the receiver's mailbox is told the secret).
async fn register(partner: &TestApp, receiver: &Receiver, mailbox: &str, types: &[&str]) -> (String, String) {
    let body = partner
        .data(
            CREATE,
            json!({ "i": { "url": receiver.url(mailbox), "eventTypes": types } }),
        )
        .await["createWebhookEndpoint"]
        .clone();
    assert_eq!(body["userErrors"], json!([]), "{body:#}");
    let secret = body["secret"].as_str().expect("the secret").to_owned();
    receiver.secret(mailbox, &secret).await;
    (
        body["webhookEndpoint"]["id"].as_str().expect("an ID").to_owned(),
        secret,
    )
}

/// Every request arrived verified, each message once (retries aside: `attempts` requests
/// with one `webhook-id`); the messages' bodies, in order of arrival.
fn verified(received: &[Value]) -> Vec<Value> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for r in received {
        assert_eq!(r["verified"], true, "a message that does not verify: {r:#}");
        if seen.insert(r["id"].as_str().expect("webhook-id").to_owned()) {
            out.push(r["payload"].clone());
        }
    }
    out
}

/// `type` and `data.id` of each message.
fn summary(messages: &[Value]) -> Vec<(String, String)> {
    messages
        .iter()
        .map(|m| {
            (
                m["type"].as_str().unwrap_or_default().to_owned(),
                m["data"]["id"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

async fn endpoints(partner: &TestApp) -> Vec<Value> {
    partner.data(ENDPOINTS, json!({})).await["webhookEndpoints"]
        .as_array()
        .expect("a list")
        .clone()
}

/// Waits until the endpoint `id` says what `done` looks for.
async fn until(partner: &TestApp, id: &str, within: Duration, done: impl Fn(&Value) -> bool) -> Value {
    let start = Instant::now();
    loop {
        let all = endpoints(partner).await;
        let e = all
            .iter()
            .find(|e| e["id"] == id)
            .expect("the endpoint is listed")
            .clone();
        if done(&e) {
            return e;
        }
        assert!(start.elapsed() < within, "not within {within:?}: {e:#}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

both!(
    a_partner_hears_of_its_opportunities_and_proposals_signed,
    local,
    |app: TestApp| async move {
        let Some(receiver) = Receiver::start().await else {
            return;
        };
        let w = world(&app).await;
        let staff = app.signed_in(As::Staff, &[], None).await;
        let partner = app.signed_in(As::Partner, &[], Some(w.fonden)).await;
        let other = app.signed_in(As::Partner, &[], Some(w.kassen)).await;
        let (_, secret) = register(
            &partner,
            &receiver,
            "events",
            &["OPPORTUNITY_CREATED", "PROPOSAL_ACCEPTED", "PROPOSAL_DECLINED"],
        )
        .await;
        assert!(secret.starts_with("whsec_"), "{secret}");
        let (changes_id, _) = register(&partner, &receiver, "changes", &["CHANGE"]).await;

        // A new opportunity; an action of a draft plan (never seen by partners); an action of
        // the adopted plan that does not seek partners, which then starts to.
        let first = action(&staff, w.adopted, "Ny shelterplads", true).await;
        let drafted = action(&staff, w.draft, "Kladdehandling", true).await;
        let quiet = action(&staff, w.adopted, "Stille handling", false).await;
        let opened = staff
            .data(
                UPDATE_ACTION,
                json!({ "i": { "id": quiet, "version": 1, "seekingPartners": true } }),
            )
            .await;
        assert_eq!(opened["updateAction"]["userErrors"], json!([]), "{opened:#}");
        // Another partner's proposal is none of this partner's business.
        propose(&other, &first).await;
        // This partner's proposals: one accepted, one declined.
        let (accepted, v) = propose(&partner, &first).await;
        let body = staff
            .data(ACCEPT, json!({ "i": { "id": accepted, "version": v } }))
            .await;
        assert_eq!(
            body["acceptPartnershipProposal"]["userErrors"],
            json!([]),
            "{body:#}"
        );
        let (declined, v) = propose(&partner, &quiet).await;
        let body = staff
            .data(
                DECLINE,
                json!({ "i": { "id": declined, "version": v, "reason": "Ikke nu" } }),
            )
            .await;
        assert_eq!(
            body["declinePartnershipProposal"]["userErrors"],
            json!([]),
            "{body:#}"
        );

        let got = receiver.wait_for("events", 4, Duration::from_secs(15)).await;
        let messages = verified(&got);
        // Messages may arrive in any order (they are sent concurrently).
        let mut arrived = summary(&messages);
        arrived.sort();
        let mut expected = vec![
            ("opportunity.created".to_owned(), first.clone()),
            ("opportunity.created".to_owned(), quiet.clone()),
            ("proposal.accepted".to_owned(), accepted.clone()),
            ("proposal.declined".to_owned(), declined.clone()),
        ];
        expected.sort();
        assert_eq!(arrived, expected, "{messages:#?}");
        let message = |id: &str| {
            messages
                .iter()
                .find(|m| m["data"]["id"] == id)
                .expect("a message")
                .clone()
        };
        let m = message(&accepted);
        assert_eq!(m["data"]["type"], "Partnership");
        assert_eq!(m["data"]["kind"], "UPDATED");
        assert!(
            m["data"]["cursor"].as_str().is_some_and(|c| !c.is_empty()),
            "{m:#}"
        );
        assert!(
            chrono::DateTime::parse_from_rfc3339(m["timestamp"].as_str().unwrap_or_default()).is_ok(),
            "{m:#}"
        );
        // New to partners; open to them since it started seeking partners.
        assert_eq!(message(&first)["data"]["kind"], "CREATED");
        assert_eq!(message(&first)["data"]["type"], "Action");
        assert_eq!(message(&quiet)["data"]["kind"], "UPDATED");
        assert_eq!(message(&declined)["data"]["type"], "Partnership");
        // The cursor reads on in the change feed.
        let feed = partner
            .data(
                "query($after: String) { changes(after: $after, first: 100) { nodes { nodeId } } }",
                json!({ "after": m["data"]["cursor"] }),
            )
            .await;
        assert!(
            feed["changes"]["nodes"]
                .as_array()
                .is_some_and(|n| n.iter().any(|c| c["nodeId"] == declined)),
            "{feed:#}"
        );

        // Every change the partner may see, and nothing else: not the draft's action, not the
        // other partner's proposal.
        let start = Instant::now();
        let changes = loop {
            let changes = verified(&receiver.received("changes").await);
            if changes.iter().any(|m| m["data"]["id"] == declined)
                || start.elapsed() > Duration::from_secs(15)
            {
                break changes;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        let ids: BTreeSet<&str> = changes.iter().filter_map(|m| m["data"]["id"].as_str()).collect();
        for expected in [&first, &quiet, &accepted, &declined] {
            assert!(ids.contains(expected.as_str()), "{expected} in {changes:#?}");
        }
        assert!(
            !ids.contains(drafted.as_str()),
            "the draft's action: {changes:#?}"
        );
        let proposals = changes
            .iter()
            .filter(|m| m["data"]["type"] == "Partnership")
            .filter_map(|m| m["data"]["id"].as_str())
            .collect::<BTreeSet<_>>();
        assert_eq!(
            proposals,
            BTreeSet::from([accepted.as_str(), declined.as_str()]),
            "only this partner's proposals: {changes:#?}"
        );
        for m in &changes {
            assert_eq!(m["type"], "change", "{m:#}");
        }

        // Nothing more comes: no message twice, none for the draft.
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let again = receiver.received("events").await;
        assert_eq!(again.len(), got.len(), "{again:#?}");

        // Each delivery is recorded: delivered at the first attempt, with the answer.
        let listed = endpoints(&partner).await;
        assert_eq!(listed.len(), 2, "{listed:#?}");
        let events = listed
            .iter()
            .find(|e| e["id"] != changes_id)
            .expect("the events endpoint");
        let deliveries = events["deliveries"].as_array().expect("deliveries");
        assert_eq!(deliveries.len(), 4, "{deliveries:#?}");
        for d in deliveries {
            assert_eq!(d["status"], "DELIVERED", "{d:#}");
            assert_eq!(d["attempts"], 1, "{d:#}");
            assert_eq!(d["lastStatus"], 200, "{d:#}");
            assert_eq!(d["lastResponse"], "ok", "{d:#}");
            assert!(d["nextAttemptAt"].is_null(), "{d:#}");
            assert!(got.iter().any(|r| r["id"] == d["messageId"]), "{d:#} arrived");
        }
        // Newest first.
        assert_eq!(deliveries[0]["eventType"], "PROPOSAL_DECLINED");
        // The other partner has no endpoints, and sees none of these.
        assert_eq!(endpoints(&other).await, Vec::<Value>::new());
        // Nor by naming the organisation; and a made-up ID is refused, not ignored.
        let (code, message) = other
            .error(ENDPOINTS, json!({ "org": global_id("Organization", w.fonden) }))
            .await;
        assert_eq!(code, "FORBIDDEN", "{message}");
        for who in [&other, &staff] {
            let (code, message) = who.error(ENDPOINTS, json!({ "org": "x" })).await;
            assert_eq!(code, "BAD_USER_INPUT", "{message}");
        }
        // Staff see every partner's endpoints.
        let all = staff
            .data(ENDPOINTS, json!({ "org": global_id("Organization", w.fonden) }))
            .await["webhookEndpoints"]
            .clone();
        assert_eq!(all.as_array().map(Vec::len), Some(2), "{all:#}");
    }
);

both!(
    a_failed_delivery_is_retried_and_recorded,
    local,
    |app: TestApp| async move {
        let Some(receiver) = Receiver::start().await else {
            return;
        };
        let w = world(&app).await;
        let staff = app.signed_in(As::Staff, &[], None).await;
        let partner = app.signed_in(As::Partner, &[], Some(w.fonden)).await;
        receiver.plan("flaky", &[500, 503], 200, 0).await;
        let (id, _) = register(&partner, &receiver, "flaky", &["OPPORTUNITY_CREATED"]).await;
        let opportunity = action(&staff, w.adopted, "Ny shelterplads", true).await;

        let got = receiver.wait_for("flaky", 3, Duration::from_secs(15)).await;
        assert_eq!(got.len(), 3, "{got:#?}");
        let answered: Vec<&Value> = got.iter().map(|r| &r["answered"]).collect();
        assert_eq!(answered, [&json!(500), &json!(503), &json!(200)]);
        // One message: the same `webhook-id` every time, each attempt signed afresh.
        let messages = verified(&got);
        assert_eq!(
            summary(&messages),
            vec![("opportunity.created".to_owned(), opportunity.clone())]
        );
        // The endpoint and its deliveries are read by separate statements, so one answer can
        // show the delivery done and the endpoint as it was just before (one transaction
        // writes both): wait for an answer that shows both after it.
        let e = until(&partner, &id, Duration::from_secs(5), |e| {
            e["deliveries"][0]["status"] == "DELIVERED" && e["consecutiveFailures"] == 0
        })
        .await;
        let d = &e["deliveries"][0];
        assert_eq!(d["attempts"], 3, "{d:#}");
        assert_eq!(d["lastStatus"], 200, "{d:#}");
        assert_eq!(d["messageId"], got[0]["id"], "{d:#}");
        assert!(d["lastError"].is_null(), "{d:#}");
        assert_eq!(e["status"], "ENABLED");
        assert_eq!(
            e["consecutiveFailures"], 0,
            "a success forgets the failures: {e:#}"
        );
        let payload: Value = serde_json::from_str(d["payload"].as_str().expect("the body")).expect("JSON");
        assert_eq!(payload, messages[0]);

        // A new secret: for a day each message is signed with the old one too, so a receiver
        // that still holds the old one (the mailbox does) verifies it, and one that holds the
        // new one does as well.
        let body = partner
            .data(ROTATE, json!({ "i": { "id": id, "version": e["version"] } }))
            .await["rotateWebhookSecret"]
            .clone();
        assert_eq!(body["userErrors"], json!([]), "{body:#}");
        let new_secret = body["secret"].as_str().expect("a secret").to_owned();
        action(&staff, w.adopted, "Efter nyt hemmeligt", true).await;
        let got = receiver.wait_for("flaky", 4, Duration::from_secs(15)).await;
        assert_eq!(got[3]["verified"], true, "{:#}", got[3]);
        assert_eq!(
            got[3]["signature"].as_str().map(|s| s.split(' ').count()),
            Some(2),
            "{:#}",
            got[3]
        );
        receiver.secret("flaky", &new_secret).await;
        action(&staff, w.adopted, "Med det nye", true).await;
        let got = receiver.wait_for("flaky", 5, Duration::from_secs(15)).await;
        assert_eq!(got[4]["verified"], true, "{:#}", got[4]);
    }
);

both!(
    an_endpoint_that_keeps_failing_is_disabled_with_its_reason,
    local,
    |app: TestApp| async move {
        let Some(receiver) = Receiver::start().await else {
            return;
        };
        let w = world(&app).await;
        let staff = app.signed_in(As::Staff, &[], None).await;
        let partner = app.signed_in(As::Partner, &[], Some(w.fonden)).await;
        receiver.plan("down", &[], 500, 0).await;
        let (down, _) = register(&partner, &receiver, "down", &["OPPORTUNITY_CREATED"]).await;
        // Nothing listens on port 1.
        let gone = partner
            .data(
                CREATE,
                json!({ "i": { "url": "http://127.0.0.1:1/hooks", "eventTypes": ["OPPORTUNITY_CREATED"] } }),
            )
            .await["createWebhookEndpoint"]["webhookEndpoint"]["id"]
            .as_str()
            .expect("an ID")
            .to_owned();
        action(&staff, w.adopted, "Ny shelterplads", true).await;

        let failed = |e: &Value| e["status"] == "DISABLED_AFTER_FAILURES";
        let e = until(&partner, &down, Duration::from_secs(15), failed).await;
        let reason = e["disabledReason"].as_str().expect("a reason");
        assert!(
            reason.contains("4 attempts") && reason.contains("HTTP 500"),
            "{reason}"
        );
        assert!(e["disabledAt"].is_string(), "{e:#}");
        let d = &e["deliveries"][0];
        assert_eq!(d["status"], "FAILED", "{d:#}");
        assert_eq!(d["attempts"], 4, "{d:#}");
        assert_eq!(d["lastStatus"], 500, "{d:#}");
        assert!(d["nextAttemptAt"].is_null(), "{d:#}");
        assert_eq!(
            d["lastResponse"].as_str().map(str::len),
            Some(1024),
            "the first kilobyte of the answer: {d:#}"
        );
        assert_eq!(receiver.received("down").await.len(), 4);

        let e = until(&partner, &gone, Duration::from_secs(15), failed).await;
        let d = &e["deliveries"][0];
        assert!(d["lastStatus"].is_null(), "{d:#}");
        assert!(
            d["lastError"]
                .as_str()
                .is_some_and(|m| m.to_lowercase().contains("connect")),
            "{d:#}"
        );
        // The partner parks it: disabled by the partner from now on, not by failures.
        let body = partner
            .data(
                UPDATE,
                json!({ "i": { "id": gone, "version": e["version"], "enabled": false } }),
            )
            .await["updateWebhookEndpoint"]
            .clone();
        assert_eq!(body["userErrors"], json!([]), "{body:#}");
        assert_eq!(
            body["webhookEndpoint"]["status"], "DISABLED_BY_PARTNER",
            "{body:#}"
        );

        // Disabled: nothing more is dispatched to it.
        action(&staff, w.adopted, "Endnu en", true).await;
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert_eq!(receiver.received("down").await.len(), 4);

        // Enabled again (its endpoint fixed): failures forgotten, later changes delivered.
        receiver.plan("down", &[], 200, 0).await;
        let e = until(&partner, &down, Duration::from_secs(1), |_| true).await;
        let body = partner
            .data(
                UPDATE,
                json!({ "i": { "id": down, "version": e["version"], "enabled": true } }),
            )
            .await["updateWebhookEndpoint"]
            .clone();
        assert_eq!(body["userErrors"], json!([]), "{body:#}");
        assert_eq!(body["webhookEndpoint"]["status"], "ENABLED");
        assert_eq!(body["webhookEndpoint"]["consecutiveFailures"], 0);
        assert!(body["webhookEndpoint"]["disabledReason"].is_null());
        let later = action(&staff, w.adopted, "Efter rettelsen", true).await;
        let got = receiver.wait_for("down", 5, Duration::from_secs(15)).await;
        assert_eq!(got[4]["payload"]["data"]["id"], later, "{got:#?}");
        assert_eq!(got[4]["answered"], 200);
    }
);

both!(
    adopting_a_plan_opens_its_actions_to_proposals,
    local,
    |app: TestApp| async move {
        let Some(receiver) = Receiver::start().await else {
            return;
        };
        let w = world(&app).await;
        let staff = app.signed_in(As::Staff, &[], None).await;
        let partner = app.signed_in(As::Partner, &[], Some(w.fonden)).await;
        register(&partner, &receiver, "adopted", &["OPPORTUNITY_CREATED"]).await;
        let seeking = action(&staff, w.draft, "Søger partnere", true).await;
        action(&staff, w.draft, "Søger ikke", false).await;
        let status = |version: i64, status: &str| json!({ "i": { "id": global_id("Plan", w.draft), "version": version, "status": status } });
        const STATUS: &str = "mutation($i: ChangePlanStatusInput!) { changePlanStatus(input: $i) {
            plan { status } userErrors { field code message } } }";
        // In consultation the plan's actions are public, but not yet open to proposals.
        let body = staff.data(STATUS, status(1, "CONSULTATION")).await;
        assert_eq!(body["changePlanStatus"]["userErrors"], json!([]), "{body:#}");
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert_eq!(receiver.received("adopted").await, Vec::<Value>::new());
        // Adopted: the action that seeks partners is an opportunity now.
        let body = staff.data(STATUS, status(2, "ADOPTED")).await;
        assert_eq!(body["changePlanStatus"]["userErrors"], json!([]), "{body:#}");
        let got = receiver.wait_for("adopted", 1, Duration::from_secs(15)).await;
        let messages = verified(&got);
        assert_eq!(
            summary(&messages),
            vec![("opportunity.created".to_owned(), seeking.clone())]
        );
        assert_eq!(messages[0]["data"]["kind"], "UPDATED", "it was public already");
        tokio::time::sleep(Duration::from_millis(1000)).await;
        assert_eq!(receiver.received("adopted").await.len(), 1);
    }
);

// Changes made while no instance dispatches (here: the workers are off where they are made)
// are judged as they stood when each was committed, once an instance comes to them: an
// action that opened, closed and opened again is announced twice; one that opened and is
// closed by now is not; a proposal accepted is told as it happened.
both!(
    a_late_dispatcher_judges_each_change_as_it_was,
    |config: &mut Config| {
        local(config);
        config.webhooks.webhook_workers = false;
    },
    |app: TestApp| async move {
        let Some(receiver) = Receiver::start().await else {
            return;
        };
        let w = world(&app).await;
        let staff = app.signed_in(As::Staff, &[], None).await;
        let partner = app.signed_in(As::Partner, &[], Some(w.fonden)).await;
        register(
            &partner,
            &receiver,
            "late",
            &["OPPORTUNITY_CREATED", "PROPOSAL_ACCEPTED"],
        )
        .await;
        let update = |id: &str, version: i64, field: &str, value: Value| json!({ "i": { "id": id, "version": version, field: value } });
        let reopened = action(&staff, w.adopted, "Åbnet to gange", false).await;
        for (version, seeking) in [(1, true), (2, false), (3, true)] {
            let body = staff
                .data(
                    UPDATE_ACTION,
                    update(&reopened, version, "seekingPartners", json!(seeking)),
                )
                .await;
            assert_eq!(body["updateAction"]["userErrors"], json!([]), "{body:#}");
        }
        let closed = action(&staff, w.adopted, "Lukket igen", true).await;
        let body = staff
            .data(UPDATE_ACTION, update(&closed, 1, "status", json!("COMPLETED")))
            .await;
        assert_eq!(body["updateAction"]["userErrors"], json!([]), "{body:#}");
        let (accepted, v) = propose(&partner, &reopened).await;
        let body = staff
            .data(ACCEPT, json!({ "i": { "id": accepted, "version": v } }))
            .await;
        assert_eq!(
            body["acceptPartnershipProposal"]["userErrors"],
            json!([]),
            "{body:#}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(
            receiver.received("late").await,
            Vec::<Value>::new(),
            "no workers yet"
        );

        // An instance with workers comes along.
        let worker = app.sibling(local).await;
        let got = receiver.wait_for("late", 3, Duration::from_secs(15)).await;
        tokio::time::sleep(Duration::from_millis(1000)).await;
        let messages = verified(&receiver.received("late").await);
        let mut arrived = summary(&messages);
        arrived.sort();
        assert_eq!(
            arrived,
            vec![
                ("opportunity.created".to_owned(), reopened.clone()),
                ("opportunity.created".to_owned(), reopened.clone()),
                ("proposal.accepted".to_owned(), accepted.clone()),
            ],
            "{got:#?}"
        );
        let cursors: BTreeSet<&str> = messages
            .iter()
            .filter_map(|m| m["data"]["cursor"].as_str())
            .collect();
        assert_eq!(cursors.len(), 3, "each from its own change: {messages:#?}");
        worker.stop().await;
    }
);

/// Two instances on one PostgreSQL, both running the workers: every message arrives once,
/// and every delivery took one attempt.
#[tokio::test]
#[cfg_attr(not(postgres_tests), ignore = "skipped: TEST_DATABASE_URL is not set")]
async fn two_instances_send_each_message_once() {
    let a = TestApp::spawn_with(lup_tests::Backend::Postgres, local).await;
    let Some(receiver) = Receiver::start().await else {
        a.stop().await;
        return;
    };
    let w = world(&a).await;
    let partner = a.signed_in(As::Partner, &[], Some(w.fonden)).await;
    // Slow answers, so both instances' senders have attempts in flight at once.
    receiver.plan("both", &[], 200, 40).await;
    register(&partner, &receiver, "both", &["OPPORTUNITY_CREATED", "CHANGE"]).await;
    let b = a.sibling(local).await;
    let staff_a = a.signed_in(As::Staff, &[], None).await;
    let staff_b = staff_a.on(&b);

    // Writes through both instances at once.
    let mut writers = Vec::new();
    for (n, staff) in [staff_a.clone_handle(), staff_b].into_iter().enumerate() {
        let plan = w.adopted;
        writers.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            for i in 0..10 {
                ids.push(action(&staff, plan, &format!("Handling {n}-{i}"), true).await);
            }
            ids
        }));
    }
    let mut actions = Vec::new();
    for w in writers {
        actions.extend(w.await.expect("writer"));
    }
    // Each action: its opportunity and its change.
    let expected = actions.len() * 2;
    receiver.wait_for("both", expected, Duration::from_secs(30)).await;
    // Whatever else is still on its way.
    tokio::time::sleep(Duration::from_millis(2000)).await;
    let got = receiver.received("both").await;
    let mut per_message: BTreeMap<String, usize> = BTreeMap::new();
    for r in &got {
        assert_eq!(r["verified"], true, "{r:#}");
        *per_message
            .entry(r["id"].as_str().expect("id").to_owned())
            .or_default() += 1;
    }
    let twice: Vec<_> = per_message.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "sent more than once: {twice:?}");
    // One message per event and type: no event was dispatched twice.
    let mut per_event: BTreeSet<(String, String, String)> = BTreeSet::new();
    for r in &got {
        let p = &r["payload"];
        let key = (
            p["type"].as_str().unwrap_or_default().to_owned(),
            p["data"]["id"].as_str().unwrap_or_default().to_owned(),
            p["data"]["cursor"].as_str().unwrap_or_default().to_owned(),
        );
        assert!(per_event.insert(key.clone()), "{key:?} twice");
    }
    for id in &actions {
        for t in ["opportunity.created", "change"] {
            assert_eq!(
                per_event.iter().filter(|(ty, i, _)| ty == t && i == id).count(),
                1,
                "{t} {id}"
            );
        }
    }
    let deliveries = webhook_delivery::Entity::find()
        .all(&a.db)
        .await
        .expect("deliveries");
    assert_eq!(deliveries.len(), got.len());
    for d in &deliveries {
        assert_eq!(d.status, webhook_delivery::DeliveryStatus::Delivered, "{d:?}");
        assert_eq!(d.attempts, 1, "{d:?}");
    }
    b.stop().await;
    a.stop().await;
}

/// Production: `https://` only, public addresses only.
fn production(config: &mut Config) {
    config.auth.app_env = AppEnv::Production;
    config.auth.jwt_secret = Some(Secret::new("en-rigtig-hemmelighed-paa-mindst-32-bytes"));
}

both!(
    bad_inputs_are_refused_and_change_nothing,
    production,
    |app: TestApp| async move {
        let w = world(&app).await;
        let partner = app.signed_in(As::Partner, &[], Some(w.fonden)).await;
        let other = app.signed_in(As::Partner, &[], Some(w.kassen)).await;
        let staff = app.signed_in(As::Staff, &[], None).await;
        let editor = app.signed_in(As::CommunityEditor, &[w.gjol], None).await;
        let good = "https://partner.example/hooks";
        let long = format!("https://partner.example/{}", "a".repeat(2000));
        let all_types = vec!["CHANGE"; 11];
        let cases: Vec<(Value, Vec<(&str, &str)>)> = vec![
            (
                json!({ "url": "", "eventTypes": ["CHANGE"] }),
                vec![("url", "REQUIRED")],
            ),
            (
                json!({ "url": "   ", "eventTypes": ["CHANGE"] }),
                vec![("url", "REQUIRED")],
            ),
            (
                json!({ "url": "partner.example/hooks", "eventTypes": ["CHANGE"] }),
                vec![("url", "INVALID")],
            ),
            (
                json!({ "url": "http://partner.example/hooks", "eventTypes": ["CHANGE"] }),
                vec![("url", "INVALID")],
            ),
            (
                json!({ "url": "ftp://partner.example/hooks", "eventTypes": ["CHANGE"] }),
                vec![("url", "INVALID")],
            ),
            (
                json!({ "url": "https://127.0.0.1/hooks", "eventTypes": ["CHANGE"] }),
                vec![("url", "INVALID")],
            ),
            (
                json!({ "url": "https://127.0.0.1:8443/hooks", "eventTypes": ["CHANGE"] }),
                vec![("url", "INVALID")],
            ),
            (
                json!({ "url": "https://localhost/hooks", "eventTypes": ["CHANGE"] }),
                vec![("url", "INVALID")],
            ),
            (
                json!({ "url": "https://[::1]/hooks", "eventTypes": ["CHANGE"] }),
                vec![("url", "INVALID")],
            ),
            (
                json!({ "url": "https://10.0.0.5/hooks", "eventTypes": ["CHANGE"] }),
                vec![("url", "INVALID")],
            ),
            (
                json!({ "url": "https://192.168.1.20/hooks", "eventTypes": ["CHANGE"] }),
                vec![("url", "INVALID")],
            ),
            (
                json!({ "url": "https://169.254.169.254/latest", "eventTypes": ["CHANGE"] }),
                vec![("url", "INVALID")],
            ),
            (
                json!({ "url": "https://[fd00::1]/hooks", "eventTypes": ["CHANGE"] }),
                vec![("url", "INVALID")],
            ),
            (
                json!({ "url": "https://[fe80::1]/hooks", "eventTypes": ["CHANGE"] }),
                vec![("url", "INVALID")],
            ),
            (
                json!({ "url": "https://0.0.0.0/hooks", "eventTypes": ["CHANGE"] }),
                vec![("url", "INVALID")],
            ),
            (
                json!({ "url": "https://[::ffff:10.0.0.1]/hooks", "eventTypes": ["CHANGE"] }),
                vec![("url", "INVALID")],
            ),
            (
                json!({ "url": "https://user:pw@partner.example/hooks", "eventTypes": ["CHANGE"] }),
                vec![("url", "INVALID")],
            ),
            (
                json!({ "url": long, "eventTypes": ["CHANGE"] }),
                vec![("url", "TOO_LONG")],
            ),
            (
                json!({ "url": good, "eventTypes": [] }),
                vec![("eventTypes", "REQUIRED")],
            ),
            (
                json!({ "url": good, "eventTypes": all_types }),
                vec![("eventTypes", "TOO_LONG")],
            ),
            (
                json!({ "url": "http://10.0.0.5/", "eventTypes": [] }),
                vec![("url", "INVALID"), ("eventTypes", "REQUIRED")],
            ),
        ];
        for (input, expected) in &cases {
            let body = partner.data(CREATE, json!({ "i": input })).await["createWebhookEndpoint"].clone();
            let errors: Vec<(String, String)> = body["userErrors"]
                .as_array()
                .expect("user errors")
                .iter()
                .map(|e| {
                    (
                        e["field"][0].as_str().unwrap_or_default().to_owned(),
                        e["code"].as_str().unwrap_or_default().to_owned(),
                    )
                })
                .collect();
            let expected: Vec<(String, String)> = expected
                .iter()
                .map(|(f, c)| (f.to_string(), c.to_string()))
                .collect();
            assert_eq!(errors, expected, "{input}: {body:#}");
            assert!(
                body["webhookEndpoint"].is_null() && body["secret"].is_null(),
                "{body:#}"
            );
            for e in body["userErrors"].as_array().unwrap() {
                assert!(
                    e["message"].as_str().is_some_and(|m| m.len() > 10),
                    "a message a person can act on: {e:#}"
                );
            }
        }
        // An unknown event type is not in the schema.
        let (code, message) = partner
            .error(CREATE, json!({ "i": { "url": good, "eventTypes": ["NOPE"] } }))
            .await;
        assert!(message.contains("NOPE"), "{code}: {message}");
        // Only partners register; anonymous callers and editors are refused.
        for (who, expected) in [
            (&app.clone_handle(), "UNAUTHENTICATED"),
            (&editor, "FORBIDDEN"),
            (&staff, "FORBIDDEN"),
        ] {
            let (code, _) = who
                .error(CREATE, json!({ "i": { "url": good, "eventTypes": ["CHANGE"] } }))
                .await;
            assert_eq!(code, expected);
        }
        let (code, _) = app.error(ENDPOINTS, json!({})).await;
        assert_eq!(code, "UNAUTHENTICATED");
        let (code, _) = editor.error(ENDPOINTS, json!({})).await;
        assert_eq!(code, "FORBIDDEN");
        // Nothing was written.
        assert_eq!(
            webhook_endpoint::Entity::find()
                .count(&app.db)
                .await
                .expect("count"),
            0
        );
        assert_eq!(endpoints(&partner).await, Vec::<Value>::new());

        // A good one; the same URL again is taken; at most ten.
        let created = partner
            .data(
                CREATE,
                json!({ "i": { "url": good, "eventTypes": ["CHANGE", "CHANGE"] } }),
            )
            .await["createWebhookEndpoint"]
            .clone();
        assert_eq!(created["userErrors"], json!([]), "{created:#}");
        assert_eq!(created["webhookEndpoint"]["eventTypes"], json!(["CHANGE"]));
        let id = created["webhookEndpoint"]["id"].clone();
        let body = partner
            .data(CREATE, json!({ "i": { "url": good, "eventTypes": ["CHANGE"] } }))
            .await["createWebhookEndpoint"]
            .clone();
        assert_eq!(body["userErrors"][0]["code"], "TAKEN", "{body:#}");
        // Registered all at once, more than the limit: each counts the others' endpoints, so
        // exactly 9 more get in and the others are refused.
        let answers = futures_util::future::join_all((1..14).map(|n| {
            let partner = &partner;
            async move {
                partner
                    .data(
                        CREATE,
                        json!({ "i": { "url": format!("{good}/{n}"), "eventTypes": ["CHANGE"] } }),
                    )
                    .await["createWebhookEndpoint"]["userErrors"]
                    .clone()
            }
        }))
        .await;
        let refused: Vec<&Value> = answers.iter().filter(|e| *e != &json!([])).collect();
        assert_eq!(refused.len(), 4, "{answers:#?}");
        assert!(
            refused.iter().all(|e| e[0]["code"] == "OUT_OF_RANGE"),
            "{refused:#?}"
        );
        let body = partner
            .data(
                CREATE,
                json!({ "i": { "url": format!("{good}/11"), "eventTypes": ["CHANGE"] } }),
            )
            .await["createWebhookEndpoint"]
            .clone();
        assert_eq!(body["userErrors"][0]["code"], "OUT_OF_RANGE", "{body:#}");
        assert_eq!(
            webhook_endpoint::Entity::find()
                .count(&app.db)
                .await
                .expect("count"),
            10
        );

        // Updates: the same checks, the version, whose endpoint it is.
        for (input, field, code) in [
            (
                json!({ "id": id, "version": 1, "url": "http://partner.example/hooks" }),
                "url",
                "INVALID",
            ),
            (
                json!({ "id": id, "version": 1, "url": "https://10.1.1.1/" }),
                "url",
                "INVALID",
            ),
            (
                json!({ "id": id, "version": 1, "eventTypes": [] }),
                "eventTypes",
                "REQUIRED",
            ),
            (json!({ "id": "nonsense", "version": 1 }), "id", "INVALID"),
            (
                json!({ "id": global_id("Plan", w.adopted), "version": 1 }),
                "id",
                "INVALID",
            ),
        ] {
            let body = partner.data(UPDATE, json!({ "i": input })).await["updateWebhookEndpoint"].clone();
            assert_eq!(body["userErrors"][0]["field"][0], field, "{input}: {body:#}");
            assert_eq!(body["userErrors"][0]["code"], code, "{input}: {body:#}");
        }
        let (code, _) = partner
            .error(
                UPDATE,
                json!({ "i": { "id": id, "version": 7, "enabled": false } }),
            )
            .await;
        assert_eq!(code, "CONFLICT");
        let (code, _) = other
            .error(
                UPDATE,
                json!({ "i": { "id": id, "version": 1, "enabled": false } }),
            )
            .await;
        assert_eq!(code, "NOT_FOUND", "another partner's endpoint is not found");
        let (code, _) = other
            .error(DELETE, json!({ "i": { "id": id, "version": 1 } }))
            .await;
        assert_eq!(code, "NOT_FOUND");
        let (code, _) = other
            .error(ROTATE, json!({ "i": { "id": id, "version": 1 } }))
            .await;
        assert_eq!(code, "NOT_FOUND");
        let (code, _) = staff
            .error(
                UPDATE,
                json!({ "i": { "id": id, "version": 1, "url": "https://elsewhere.example/" } }),
            )
            .await;
        assert_eq!(code, "FORBIDDEN", "staff do not rewrite a partner's endpoint");
        let listed = endpoints(&partner).await;
        let e = listed.iter().find(|e| e["id"] == id).expect("listed");
        assert_eq!(e["url"], good);
        assert_eq!(e["version"], 1, "nothing changed: {e:#}");

        // Staff disable it (sending the endpoint as it is beside, as a form does: that is no
        // change); the partner may not enable it again, staff may.
        let body = staff
            .data(
                UPDATE,
                json!({ "i": { "id": id, "version": 1, "enabled": false, "url": good,
                               "eventTypes": e["eventTypes"] } }),
            )
            .await["updateWebhookEndpoint"]
            .clone();
        assert_eq!(body["webhookEndpoint"]["status"], "DISABLED_BY_STAFF", "{body:#}");
        assert!(body["webhookEndpoint"]["disabledReason"].is_string());
        let body = partner
            .data(
                UPDATE,
                json!({ "i": { "id": id, "version": 2, "enabled": true } }),
            )
            .await["updateWebhookEndpoint"]
            .clone();
        assert_eq!(body["userErrors"][0]["code"], "INVALID_TRANSITION", "{body:#}");
        let body = staff
            .data(
                UPDATE,
                json!({ "i": { "id": id, "version": 2, "enabled": true } }),
            )
            .await["updateWebhookEndpoint"]
            .clone();
        assert_eq!(body["webhookEndpoint"]["status"], "ENABLED", "{body:#}");
        // The partner disables and enables its own.
        let body = partner
            .data(
                UPDATE,
                json!({ "i": { "id": id, "version": 3, "enabled": false } }),
            )
            .await["updateWebhookEndpoint"]
            .clone();
        assert_eq!(
            body["webhookEndpoint"]["status"], "DISABLED_BY_PARTNER",
            "{body:#}"
        );

        // Rotation: a new secret, the old one signing beside it for a day.
        let body = partner
            .data(ROTATE, json!({ "i": { "id": id, "version": 4 } }))
            .await["rotateWebhookSecret"]
            .clone();
        assert_eq!(body["userErrors"], json!([]), "{body:#}");
        let secret = body["secret"].as_str().expect("a new secret");
        assert!(secret.starts_with("whsec_") && secret != created["secret"].as_str().unwrap());
        assert!(
            body["webhookEndpoint"]["previousSecretExpiresAt"].is_string(),
            "{body:#}"
        );
        // The secret is in no answer but these two, nor in the audit log.
        let audit = staff
            .data(
                "query($id: ID!) { auditLog(filter: { entityId: $id }) { nodes { operation changes } } }",
                json!({ "id": id }),
            )
            .await;
        assert!(!audit.to_string().contains("whsec_"), "{audit:#}");
        assert_eq!(
            audit["auditLog"]["nodes"].as_array().map(Vec::len),
            Some(5),
            "{audit:#}"
        );

        // Delete.
        let body = partner
            .data(DELETE, json!({ "i": { "id": id, "version": 5 } }))
            .await["deleteWebhookEndpoint"]
            .clone();
        assert_eq!(body["deletedId"], id, "{body:#}");
        assert_eq!(
            webhook_endpoint::Entity::find()
                .count(&app.db)
                .await
                .expect("count"),
            9
        );
    }
);

// A host whose name resolves to a loopback address passes registration (only its name is
// known then) but gets nothing: the resolver refuses it on every attempt.
both!(
    a_name_that_resolves_to_a_private_address_gets_nothing,
    |config: &mut Config| {
        config.webhooks.webhook_retry_schedule = "100ms".parse().expect("a schedule");
    },
    |app: TestApp| async move {
        let Some(host) = loopback_name().await else {
            eprintln!("skipped: no name of this machine resolves to a loopback address");
            return;
        };
        let w = world(&app).await;
        let staff = app.signed_in(As::Staff, &[], None).await;
        let partner = app.signed_in(As::Partner, &[], Some(w.fonden)).await;
        let body = partner
            .data(
                CREATE,
                json!({ "i": { "url": format!("https://{host}/hooks"), "eventTypes": ["OPPORTUNITY_CREATED"] } }),
            )
            .await["createWebhookEndpoint"]
            .clone();
        assert_eq!(body["userErrors"], json!([]), "{body:#}");
        let id = body["webhookEndpoint"]["id"].as_str().expect("an ID").to_owned();
        action(&staff, w.adopted, "Ny shelterplads", true).await;
        let e = until(&partner, &id, Duration::from_secs(15), |e| {
            e["status"] == "DISABLED_AFTER_FAILURES"
        })
        .await;
        let d = &e["deliveries"][0];
        assert_eq!(d["attempts"], 2, "{d:#}");
        assert!(d["lastStatus"].is_null(), "{d:#}");
        assert!(
            d["lastError"]
                .as_str()
                .is_some_and(|m| m.contains("not a public address")),
            "{d:#}"
        );
    }
);

/// This machine's name, when it resolves to a loopback address (as `/etc/hosts` usually
/// says).
async fn loopback_name() -> Option<String> {
    let name = std::fs::read_to_string("/etc/hostname").ok()?.trim().to_owned();
    if name.is_empty() || name == "localhost" {
        return None;
    }
    let addrs: Vec<std::net::SocketAddr> = tokio::net::lookup_host((name.as_str(), 443))
        .await
        .ok()?
        .collect();
    (!addrs.is_empty() && addrs.iter().all(|a| a.ip().is_loopback())).then_some(name)
}

both!(
    a_slow_endpoint_holds_up_no_other,
    local,
    |app: TestApp| async move {
        let Some(receiver) = Receiver::start().await else {
            return;
        };
        let w = world(&app).await;
        let staff = app.signed_in(As::Staff, &[], None).await;
        let slow_partner = app.signed_in(As::Partner, &[], Some(w.fonden)).await;
        let fast_partner = app.signed_in(As::Partner, &[], Some(w.kassen)).await;
        // One partner's endpoint takes 6 s to answer (within the 10 s timeout).
        register(&slow_partner, &receiver, "slow", &["CHANGE"]).await;
        receiver.plan("slow", &[], 200, 6_000).await;
        register(&fast_partner, &receiver, "fast", &["CHANGE"]).await;

        action(&staff, w.adopted, "Første", false).await;
        receiver.wait_for("fast", 1, Duration::from_secs(5)).await;
        // The slow endpoint is still answering the first message; the other partner's second
        // message does not wait for it.
        action(&staff, w.adopted, "Anden", false).await;
        let started = Instant::now();
        receiver.wait_for("fast", 2, Duration::from_secs(3)).await;
        assert!(started.elapsed() < Duration::from_secs(3));
        // And the slow endpoint gets both, in turn.
        let slow = receiver.wait_for("slow", 2, Duration::from_secs(20)).await;
        assert_eq!(verified(&slow).len(), 2);
    }
);

both!(
    an_endpoint_of_an_organisation_without_a_key_in_force_says_it_receives_nothing,
    |app: TestApp| async move {
        let w = world(&app).await;
        let admin = app.signed_in(As::Admin, &[], None).await;
        let staff = app.signed_in(As::Staff, &[], None).await;
        let partner = app.signed_in(As::Partner, &[], Some(w.fonden)).await;
        let body = partner
            .data(
                CREATE,
                json!({ "i": { "url": "https://hooks.nordjysk-fond.dk/lup", "eventTypes": ["OPPORTUNITY_CREATED"] } }),
            )
            .await["createWebhookEndpoint"]
            .clone();
        assert_eq!(body["userErrors"], json!([]), "{body:#}");
        const LIST: &str =
            "query($org: ID) { webhookEndpoints(organizationId: $org) { status receivesDeliveries } }";
        let org = json!({ "org": global_id("Organization", w.fonden) });
        let enabled = json!([{ "status": "ENABLED", "receivesDeliveries": true }]);
        assert_eq!(partner.data(LIST, org.clone()).await["webhookEndpoints"], enabled);
        assert_eq!(staff.data(LIST, org.clone()).await["webhookEndpoints"], enabled);

        // The organisation's only key is revoked: the endpoint stays enabled, but nothing is
        // sent to it until the organisation has a key again, and staff can tell.
        let keys = admin
            .data(
                "{ apiKeys(first: 100) { nodes { id organization { id } revokedAt } } }",
                json!({}),
            )
            .await["apiKeys"]["nodes"]
            .clone();
        let key = keys
            .as_array()
            .expect("a list")
            .iter()
            .find(|k| k["organization"]["id"] == org["org"])
            .expect("the partner's key")["id"]
            .clone();
        let r = admin
            .data(
                "mutation($i: RevokeApiKeyInput!) { revokeApiKey(input: $i) { userErrors { code } } }",
                json!({ "i": { "id": key } }),
            )
            .await;
        assert_eq!(r["revokeApiKey"]["userErrors"], json!([]), "{r}");
        assert_eq!(
            staff.data(LIST, org.clone()).await["webhookEndpoints"],
            json!([{ "status": "ENABLED", "receivesDeliveries": false }])
        );
        // A new key: deliveries again.
        let _partner_again = app.signed_in(As::Partner, &[], Some(w.fonden)).await;
        assert_eq!(staff.data(LIST, org).await["webhookEndpoints"], enabled);
    }
);
