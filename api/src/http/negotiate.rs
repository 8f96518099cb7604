//! Media types: which response type the client accepts (`Accept`), whether a POST body is
//! JSON (`Content-Type`), and whether a browser asks for a page (GraphiQL).
use axum::http::{HeaderMap, header};

/// The media type of a GraphQL response, chosen from the request's `Accept`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaType {
    /// `application/graphql-response+json`: the status code tells request errors apart.
    GraphqlResponse,
    /// `application/json`: the legacy type, 200 for every GraphQL response.
    Json,
}

impl MediaType {
    pub fn as_str(self) -> &'static str {
        match self {
            MediaType::GraphqlResponse => "application/graphql-response+json",
            MediaType::Json => "application/json",
        }
    }
}

/// The response type the client accepts: `application/graphql-response+json` when it names it
/// at least as highly as `application/json`; `application/json` when it names that (or
/// `application/*`, `*/*`, or sends no `Accept` at all, as the specification asks until its
/// watershed); `None` when it accepts neither.
pub fn negotiate(headers: &HeaderMap) -> Option<MediaType> {
    let mut any = false;
    let (mut graphql, mut json, mut application, mut all) = (None, None, None, None);
    for value in headers.get_all(header::ACCEPT) {
        let Ok(value) = value.to_str() else { continue };
        for range in value.split(',') {
            let mut parts = range.split(';');
            let media = parts.next().unwrap_or_default().trim();
            if media.is_empty() {
                continue;
            }
            any = true;
            let q = parts
                .filter_map(|p| p.split_once('='))
                .find(|(k, _)| k.trim().eq_ignore_ascii_case("q"))
                .map_or(1.0, |(_, v)| v.trim().parse::<f32>().unwrap_or(0.0));
            let slot = if media.eq_ignore_ascii_case("application/graphql-response+json") {
                &mut graphql
            } else if media.eq_ignore_ascii_case("application/json") {
                &mut json
            } else if media.eq_ignore_ascii_case("application/*") {
                &mut application
            } else if media == "*/*" {
                &mut all
            } else {
                continue;
            };
            *slot = Some(slot.map_or(q, |old: f32| old.max(q)));
        }
    }
    if !any {
        return Some(MediaType::Json);
    }
    let wildcard = application.or(all).unwrap_or(0.0);
    let named = graphql.is_some();
    let graphql = graphql.unwrap_or(0.0);
    let json = json.or(application).or(all).unwrap_or(0.0);
    if graphql > 0.0 && graphql >= json {
        Some(MediaType::GraphqlResponse)
    } else if json > 0.0 {
        Some(MediaType::Json)
    } else if !named && wildcard > 0.0 {
        // `application/*` (or `*/*`) with `application/json` refused: the other one matches.
        Some(MediaType::GraphqlResponse)
    } else {
        None
    }
}

/// `Content-Type: application/json`, with no charset or UTF-8.
pub fn is_json_body(headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let mut parts = value.split(';');
    let media = parts.next().unwrap_or_default().trim();
    media.eq_ignore_ascii_case("application/json")
        && parts.all(|p| match p.split_once('=') {
            Some((k, v)) if k.trim().eq_ignore_ascii_case("charset") => {
                let charset = v.trim().trim_matches('"');
                charset.eq_ignore_ascii_case("utf-8") || charset.eq_ignore_ascii_case("utf8")
            }
            _ => true,
        })
}

/// A browser asking for a page (it names `text/html`).
pub fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"))
}
