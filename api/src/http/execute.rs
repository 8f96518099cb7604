//! Running an admitted GraphQL operation: from the response cache when an anonymous caller
//! asks a query answered moments ago, else on the schema (the fast one when the document
//! passed full validation before), within the request's time limit; a query whose database
//! connection broke under it runs once more on a fresh one.
use std::sync::Arc;

use async_graphql::parser::types::OperationType;
use axum::{http::HeaderMap, response::Response};
use tokio::time::Instant;

use super::{
    AppState, Method,
    admission::Admitted,
    negotiate::MediaType,
    prepared::{Operation, Prepared},
    respond,
};
use crate::{
    access::Access,
    cache::{Answer, Key, NotCached},
    error::{Code, request_error, with_code},
    loader::Loaders,
    schema::LupSchema,
};

/// An operation of a prepared document, with the request's variables.
pub struct Call {
    pub prepared: Arc<Prepared>,
    pub operation_name: Option<String>,
    pub variables: async_graphql::Variables,
    /// The variables as JSON text, for the response cache's key.
    pub variables_text: String,
    /// What the operation costs with these variables (within the bounds).
    pub cost: crate::bounds::Cost,
}

/// How an answer goes out: its media type, the request's method and headers.
pub struct Delivery<'a> {
    pub media: MediaType,
    pub method: Method,
    pub request_headers: &'a HeaderMap,
}

/// The answer to an admitted request, from the cache or the schema; a document that did
/// not parse, or is over a bound, is answered with why (a request error).
pub async fn answer(
    state: &AppState,
    delivery: Delivery<'_>,
    admitted: Admitted,
    call: Result<Call, async_graphql::ServerError>,
) -> Response {
    let anonymous = admitted.viewer.is_anonymous();
    let caller = if anonymous {
        respond::Caller::Anonymous {
            get: delivery.method == Method::Get,
        }
    } else {
        respond::Caller::SignedIn
    };
    // What an anonymous GET answer needs: its ETag and Cache-Control.
    let public = (caller == respond::Caller::Anonymous { get: true }).then_some(state.public_max_age);
    // What is left of the client's budget, in headers: the body of an anonymous query's answer
    // may go to other clients too (see `run`). Not on an anonymous GET's answer either, which a
    // CDN may keep and hand out, headers and all.
    let budget_headers = match admitted.budget {
        Some(budget) if public.is_none() => respond::budget_headers(budget),
        _ => HeaderMap::new(),
    };
    // Called once, in whichever branch answers.
    let send = |answer: &Answer, mut extra: HeaderMap| {
        extra.extend(budget_headers);
        respond::graphql(delivery.media, answer, caller, extra, delivery.request_headers)
    };
    let mut call = match call {
        Ok(call) => call,
        Err(e) => {
            let mut response = async_graphql::Response::from_errors(vec![e]);
            // Refused as it is, it counts as a query: an anonymous caller's answer does not
            // say what is left of its budget (see `run`).
            let remaining = admitted.budget.map(|b| b.remaining).filter(|_| !anonymous);
            response.extensions.insert(
                "cost".into(),
                crate::bounds::report(None, admitted.budget.map(|b| b.limit), remaining),
            );
            let response = finish(response);
            state.http_metrics.count_errors(&response.errors);
            return send(&respond::answer_of(&response, public, false), HeaderMap::new());
        }
    };
    let access = admitted.viewer.access();
    // Only anonymous queries are cached; everyone else may see more, and sees it fresh.
    let key = match call.prepared.operation(call.operation_name.as_deref()) {
        // Not a document parsed anew each time (too large to keep): its `id` is its own.
        Some((operation, op))
            if anonymous
                && op.ty == OperationType::Query
                && state.cache.is_on()
                && call.prepared.is_kept() =>
        {
            Some(Key {
                access: access.clone(),
                document: call.prepared.id,
                operation,
                variables: std::mem::take(&mut call.variables_text),
            })
        }
        _ => None,
    };
    match key {
        // Mutations empty the cache themselves when their write commits.
        None => {
            let mutation = call
                .prepared
                .operation(call.operation_name.as_deref())
                .is_some_and(|(_, op)| op.ty == OperationType::Mutation);
            let response = run(state, &admitted, &access, &call).await;
            // A submission over its client's budget (and nothing written before it): 429,
            // after the same wait as any other refusal for going over budget.
            let budget = admitted.budget.filter(|_| public.is_none());
            if mutation && let Some(limited) = respond::over_budget(delivery.media, &response, budget) {
                tokio::time::sleep(state.rate_limit_delay).await;
                return limited;
            }
            let answer = respond::answer_of(&response, public, mutation);
            count_errors(state, &response, &answer);
            send(&answer, response.http_headers)
        }
        Some(key) => {
            let answer = state
                .cache
                .get_or_run(key, async {
                    let generation = state.cache.generation();
                    let response = run(state, &admitted, &access, &call).await;
                    // Not kept when a write committed meanwhile: it may predate that write.
                    let ok = response.is_ok() && state.cache.generation() == generation;
                    // Kept answers may go to any anonymous caller, by GET too.
                    let answer = Arc::new(respond::answer_of(&response, Some(state.public_max_age), false));
                    count_errors(state, &response, &answer);
                    if ok { Ok(answer) } else { Err(NotCached(answer)) }
                })
                .await;
            send(&answer, HeaderMap::new())
        }
    }
}

/// Counts an executed request's errors in `/metrics`, unless its answer refuses the whole
/// request (503 for an outage; a 429 is answered before this): those count as statuses.
fn count_errors(state: &AppState, response: &async_graphql::Response, answer: &Answer) {
    if !answer.unavailable {
        state.http_metrics.count_errors(&response.errors);
    }
}

/// Whether an error is async-graphql's own (ours always carry a code).
fn is_codeless(e: &async_graphql::ServerError) -> bool {
    e.extensions.as_ref().and_then(|x| x.get("code")).is_none()
}

/// Runs `call` on the schema in the client's turn and within the request's time limit, with
/// `extensions.cost` added to the answer.
async fn run(state: &AppState, admitted: &Admitted, access: &Access, call: &Call) -> async_graphql::Response {
    // Held until the answer is ready.
    let _turn = admitted.turn(state).await;
    let deadline = Instant::now() + state.timeout;
    let selected = call
        .prepared
        .operation(call.operation_name.as_deref())
        .map(|(_, op)| op);
    let mut response = attempt(state, admitted, access, call, selected, deadline).await;
    // A connection that broke under a statement (the database restarted, a backend was
    // killed): a fresh one will likely answer, so a query runs once more after the pool has
    // dropped its dead connections. Not a mutation: part of it may have been written. Not a
    // database out of reach either: that would only make the client wait twice.
    if selected.is_some_and(|op| op.ty == OperationType::Query)
        && crate::error::broke_connection(&response.errors)
    {
        tracing::warn!("a database connection broke under a query; running it again on a fresh one");
        crate::db::recover(&state.db).await;
        response = attempt(state, admitted, access, call, selected, deadline).await;
    }
    // An anonymous query's answer may be handed to other anonymous clients (the response
    // cache, a CDN): it gives the budget, but not what is left of one client's.
    // (A document whose operation is not known, refused as it is, counts as a query.)
    let shared =
        admitted.viewer.is_anonymous() && !selected.is_some_and(|op| op.ty == OperationType::Mutation);
    let remaining = admitted.budget.map(|b| b.remaining).filter(|_| !shared);
    response.extensions.insert(
        "cost".into(),
        crate::bounds::report(Some(&call.cost), admitted.budget.map(|b| b.limit), remaining),
    );
    finish(response)
}

/// One run of `call`. A query whose operation passed full validation before, with variables
/// it can check itself, runs on the fast schema (see [`super::prepared`]); if its answer has
/// an error of async-graphql's own anyway (only full validation reports a wrong value as a
/// request error), it runs again on the strict schema, whose answer stands. Everything else
/// runs on the strict schema, and marks its operation validated when it passed.
async fn attempt(
    state: &AppState,
    admitted: &Admitted,
    access: &Access,
    call: &Call,
    selected: Option<&Operation>,
    deadline: Instant,
) -> async_graphql::Response {
    // Refused before it runs, so the document is not marked validated by the refusal.
    if let Some(refused) = refuse_introspection(state, &admitted.viewer, call) {
        return refused;
    }
    if selected.is_some_and(|op| op.may_run_fast(&call.variables)) {
        state.prepared.count_run(true);
        let fast = run_on(&state.fast_schema, state, admitted, access, call, deadline).await;
        if !fast.errors.iter().any(is_codeless) {
            return fast;
        }
    }
    state.prepared.count_run(false);
    let strict = run_on(&state.schema, state, admitted, access, call, deadline).await;
    // Execution began, so the document passed validation.
    if let Some(op) = selected
        && !respond::is_request_error(&strict)
    {
        op.mark_validated();
    }
    strict
}

async fn run_on(
    schema: &LupSchema,
    state: &AppState,
    admitted: &Admitted,
    access: &Access,
    call: &Call,
    deadline: Instant,
) -> async_graphql::Response {
    let viewer = &admitted.viewer;
    // The text is not needed: the document is parsed already.
    let mut request = async_graphql::Request::new(String::new()).variables(call.variables.clone());
    if let Some(name) = &call.operation_name {
        request = request.operation_name(name.clone());
    }
    request.set_parsed_query(call.prepared.document.clone());
    if !may_introspect(state, viewer) {
        request = request.disable_introspection();
    }
    let loader = Loaders::for_request(state.db.clone(), access.clone(), &state.reads);
    // The client as admission keyed it, for the budget of consultation responses.
    let submitter = crate::consultation::abuse::Submitter::new(admitted.client.clone());
    let run = schema.execute(
        request
            .data(loader)
            .data(access.clone())
            .data(viewer.clone())
            .data(submitter)
            .data(state.submissions.clone())
            .data(state.sign_ins.clone())
            .data(state.search.clone())
            .data(state.feed.clone())
            .data(state.webhooks.clone()),
    );
    // A query still running at the deadline is dropped, its SQL with it.
    match tokio::time::timeout_at(deadline, run).await {
        Ok(response) => response,
        Err(_) => {
            let operation = described(call);
            tracing::warn!(
                request = %super::request_id(),
                timeout_ms = state.timeout.as_millis() as u64,
                operation,
                "a request ran out of time"
            );
            async_graphql::Response::from_errors(vec![request_error(
                format!(
                    "the request took longer than {} ms and was stopped; ask for less at a time",
                    state.timeout.as_millis()
                ),
                Code::Timeout,
            )])
        }
    }
}

/// The operation run, for the log: its name and its root fields (`Page { community plans }`),
/// not its variables, which may hold what a user typed.
fn described(call: &Call) -> String {
    use async_graphql::parser::types::{DocumentOperations, Selection};
    let document = &call.prepared.document;
    let operation = match (&document.operations, &call.operation_name) {
        (DocumentOperations::Single(op), _) => Some(op),
        (DocumentOperations::Multiple(ops), Some(name)) => ops.get(&async_graphql::Name::new(name)),
        (DocumentOperations::Multiple(ops), None) => ops.values().next(),
    };
    let fields: Vec<&str> = operation
        .map(|op| {
            op.node
                .selection_set
                .node
                .items
                .iter()
                .filter_map(|s| match &s.node {
                    Selection::Field(f) => Some(f.node.name.node.as_str()),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    let name = call.operation_name.as_deref().unwrap_or("");
    format!("{name} {{ {} }}", fields.join(" "))
        .trim_start()
        .to_owned()
}

/// Errors of our own carry a code; those without one are async-graphql's refusals of the
/// request itself (syntax, validation, a value of the wrong type): the client's to fix.
fn finish(mut response: async_graphql::Response) -> async_graphql::Response {
    response.errors = std::mem::take(&mut response.errors)
        .into_iter()
        .map(|e| with_code(e, Code::BadUserInput))
        .collect();
    response
}

/// Whether `viewer` may introspect on this server.
fn may_introspect(state: &AppState, viewer: &crate::auth::Viewer) -> bool {
    match state.introspection {
        crate::config::Introspection::Everyone => true,
        crate::config::Introspection::SignedIn => !viewer.is_anonymous(),
        crate::config::Introspection::Nobody => false,
    }
}

/// The answer to an operation that asks for introspection `viewer` may not use: an error
/// that says so, not a silent null for a field that cannot be null.
fn refuse_introspection(
    state: &AppState,
    viewer: &crate::auth::Viewer,
    call: &Call,
) -> Option<async_graphql::Response> {
    if may_introspect(state, viewer) {
        return None;
    }
    let (key, pos) = introspects(&call.prepared.document, call.operation_name.as_deref())?;
    let (message, code) =
        if viewer.is_anonymous() && matches!(state.introspection, crate::config::Introspection::SignedIn) {
            (
                "introspection is for signed-in callers: sign in first",
                Code::Unauthenticated,
            )
        } else {
            ("introspection is turned off on this server", Code::Forbidden)
        };
    let mut error = with_code(async_graphql::ServerError::new(message, Some(pos)), code);
    error.path = vec![async_graphql::PathSegment::Field(key)];
    let mut response = async_graphql::Response::new(async_graphql::Value::Null);
    response.errors = vec![error];
    Some(response)
}

/// The first introspection field (`__schema`, `__type`) the operation `name` of `document`
/// asks for at its root, through fragments too, with its position in the document.
fn introspects(
    document: &async_graphql::parser::types::ExecutableDocument,
    name: Option<&str>,
) -> Option<(String, async_graphql::Pos)> {
    use async_graphql::parser::types::{DocumentOperations, Selection, SelectionSet};
    fn walk<'a>(
        set: &'a SelectionSet,
        document: &'a async_graphql::parser::types::ExecutableDocument,
        seen: &mut Vec<&'a str>,
    ) -> Option<(String, async_graphql::Pos)> {
        set.items.iter().find_map(|item| match &item.node {
            Selection::Field(field) => {
                let field = &field.node;
                matches!(field.name.node.as_str(), "__schema" | "__type").then(|| {
                    let key = field.alias.as_ref().unwrap_or(&field.name);
                    (key.node.to_string(), key.pos)
                })
            }
            Selection::InlineFragment(fragment) => walk(&fragment.node.selection_set.node, document, seen),
            Selection::FragmentSpread(spread) => {
                // Each fragment once: what it holds at the root is the same every time.
                let name = spread.node.fragment_name.node.as_str();
                if seen.contains(&name) {
                    return None;
                }
                seen.push(name);
                let fragment = document.fragments.get(&spread.node.fragment_name.node)?;
                walk(&fragment.node.selection_set.node, document, seen)
            }
        })
    }
    let operation = match (&document.operations, name) {
        (DocumentOperations::Single(op), _) => op,
        (DocumentOperations::Multiple(ops), Some(name)) => ops.get(name)?,
        (DocumentOperations::Multiple(ops), None) => ops.values().next()?,
    };
    walk(&operation.node.selection_set.node, document, &mut Vec::new())
}
