//! Running an admitted GraphQL request: from the response cache when an anonymous caller
//! asks a query answered moments ago, else on the schema, within the request's time limit.
use axum::{
    http::{HeaderMap, HeaderValue, header},
    response::Response,
};

use super::{AppState, admission::Admitted, negotiate::MediaType, respond};
use crate::{
    access::Access,
    auth::Viewer,
    cache::{Answer, NotCached},
    loader::Loaders,
};

/// The answer to an admitted request, from the cache or the schema.
pub async fn answer(
    state: &AppState,
    media: MediaType,
    admitted: Admitted,
    mut request: async_graphql::Request,
) -> Response {
    let Admitted {
        viewer,
        budget,
        turn: _turn,
    } = admitted;
    if let Some(budget) = budget {
        request = request.data(budget);
    }
    let introspection = match state.introspection {
        crate::config::Introspection::Everyone => true,
        crate::config::Introspection::SignedIn => !viewer.is_anonymous(),
        crate::config::Introspection::Nobody => false,
    };
    if !introspection {
        request = request.disable_introspection();
    }
    let access = viewer.access();
    let anonymous = viewer.is_anonymous();
    // Only anonymous answers are cached; everyone else may see more, and sees it fresh.
    let key = if anonymous {
        state.cache.key(&format!("{access:?}"), &request)
    } else {
        None
    };
    let (answer, extra_headers) = match key {
        // Mutations empty the cache themselves when their write commits.
        None => {
            let response = run(state, viewer, access, request).await;
            let answer = Answer {
                body: respond::serialise(&response).into(),
                hint: response.cache_control,
            };
            (answer, response.http_headers)
        }
        Some(key) => {
            let answer = state
                .cache
                .get_or_run(key, async {
                    let generation = state.cache.generation();
                    let response = run(state, viewer, access, request).await;
                    // Not kept when a write committed meanwhile: it may predate that write.
                    let ok = response.is_ok() && state.cache.generation() == generation;
                    let answer = Answer {
                        body: respond::serialise(&response).into(),
                        hint: response.cache_control,
                    };
                    if ok { Ok(answer) } else { Err(NotCached(answer)) }
                })
                .await;
            (answer, HeaderMap::new())
        }
    };
    let mut http = respond::graphql_body(media, answer.body.to_vec());
    http.headers_mut().extend(extra_headers);
    if anonymous {
        // For `cacheable`, which turns it into `Cache-Control` on GET answers.
        http.extensions_mut().insert(answer.hint);
    } else {
        http.headers_mut().insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("private, no-store"),
        );
    }
    http
}

async fn run(
    state: &AppState,
    viewer: Viewer,
    access: Access,
    request: async_graphql::Request,
) -> async_graphql::Response {
    let loader = Loaders::for_request(state.db.clone(), access.clone(), &state.reads);
    let run = state
        .schema
        .execute(request.data(loader).data(access).data(viewer));
    // A query still running at the deadline is dropped, its SQL with it.
    let Ok(mut response) = tokio::time::timeout(state.timeout, run).await else {
        tracing::warn!(
            timeout_ms = state.timeout.as_millis() as u64,
            "a request ran out of time"
        );
        let mut e = async_graphql::ServerError::new(
            format!(
                "the request took longer than {} ms and was stopped; ask for less at a time",
                state.timeout.as_millis()
            ),
            None,
        );
        e.extensions
            .get_or_insert_with(Default::default)
            .set("code", "TIMEOUT");
        return async_graphql::Response::from_errors(vec![e]);
    };
    // Errors of our own carry a code; those without one are async-graphql's refusals of the
    // request itself (syntax, validation, a value of the wrong type): the client's to fix.
    for e in &mut response.errors {
        let extensions = e.extensions.get_or_insert_with(Default::default);
        if extensions.get("code").is_none() {
            extensions.set("code", "BAD_USER_INPUT");
        }
    }
    response
}
