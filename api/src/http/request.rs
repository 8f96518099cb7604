//! From HTTP to a GraphQL request: a POST's JSON body or a GET's parameters become one
//! [`RawRequest`] (the query's text, the operation's name, the variables), with a trusted
//! document (prepared at start-up) in place of the text when the request names one by id.
//! Everything malformed is a [`Malformed`] request, answered with a 4xx before anything else
//! happens.
use axum::{
    body::Bytes,
    extract::{Query, rejection::BytesRejection, rejection::QueryRejection},
    http::{HeaderMap, StatusCode},
};
use serde::Deserialize;
use serde_json::Value as Json;

use super::{MAX_QUERY_BYTES, negotiate::is_json_body, prepared::Parsed};
use crate::documents::TrustedDocuments;

/// The document a request runs.
pub enum Source {
    /// The query's text, as sent.
    Text(String),
    /// A trusted document, named by id.
    Trusted(Parsed),
}

/// A GraphQL request as the client sent it, its query not parsed yet.
pub struct RawRequest {
    pub source: Source,
    pub operation_name: Option<String>,
    pub variables: async_graphql::Variables,
    /// The variables as JSON text (empty for none): the same text for the same values.
    pub variables_text: String,
}

/// A request that is not a GraphQL request: the status and what is wrong.
pub struct Malformed {
    pub status: StatusCode,
    pub message: String,
}

fn bad(message: impl Into<String>) -> Malformed {
    Malformed {
        status: StatusCode::BAD_REQUEST,
        message: message.into(),
    }
}

/// A POST: `Content-Type: application/json` and a JSON object.
pub fn from_post(
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
    documents: &TrustedDocuments,
) -> Result<RawRequest, Malformed> {
    if !is_json_body(headers) {
        return Err(Malformed {
            status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
            message: "a POST to /graphql must have `Content-Type: application/json`".into(),
        });
    }
    let body = body.map_err(|e| Malformed {
        status: e.status(),
        message: e.body_text(),
    })?;
    let value =
        serde_json::from_slice::<Json>(&body).map_err(|e| bad(format!("the body is not valid JSON: {e}")))?;
    from_json(value, documents)
}

/// The parameters of a GraphQL GET; `variables` and `extensions` are JSON text.
#[derive(Deserialize)]
pub struct GetParams {
    pub query: Option<String>,
    #[serde(rename = "operationName")]
    operation_name: Option<String>,
    variables: Option<String>,
    extensions: Option<String>,
    #[serde(rename = "documentId")]
    document_id: Option<String>,
}

/// A GET: the parameters gathered into the JSON form of a request.
pub fn from_get(
    params: Result<Query<GetParams>, QueryRejection>,
    documents: &TrustedDocuments,
) -> Result<RawRequest, Malformed> {
    let Query(params) = params.map_err(|e| bad(format!("invalid GraphQL GET request: {}", e.body_text())))?;
    let mut object = serde_json::Map::new();
    if let Some(query) = params.query {
        object.insert("query".into(), Json::String(query));
    }
    if let Some(id) = params.document_id {
        object.insert("documentId".into(), Json::String(id));
    }
    if let Some(name) = params.operation_name.filter(|n| !n.is_empty()) {
        object.insert("operationName".into(), Json::String(name));
    }
    for (key, text) in [("variables", params.variables), ("extensions", params.extensions)] {
        let Some(text) = text.filter(|t| !t.is_empty()) else {
            continue;
        };
        let value = serde_json::from_str::<Json>(&text)
            .map_err(|e| bad(format!("`{key}` is not valid JSON: {e}")))?;
        object.insert(key.into(), value);
    }
    from_json(Json::Object(object), documents)
}

/// The trusted document a request names (`documentId`, or a persisted query's hash), if any;
/// a `query` beside it must be the document's text.
fn trusted_document(
    object: &mut serde_json::Map<String, Json>,
    documents: &TrustedDocuments,
) -> Result<Option<Parsed>, Malformed> {
    let document_id = match object.remove("documentId") {
        None | Some(Json::Null) => None,
        Some(Json::String(id)) => Some(id),
        Some(_) => return Err(bad("`documentId` must be a string")),
    };
    let persisted = object
        .get("extensions")
        .and_then(|e| e.get("persistedQuery"))
        .and_then(|p| p.get("sha256Hash"))
        .and_then(Json::as_str)
        .map(str::to_owned);
    let Some(id) = document_id.or(persisted) else {
        return Ok(None);
    };
    match (documents.get(&id), object.get("query")) {
        (Some(document), None | Some(Json::Null)) => Ok(Some(document.prepared.clone())),
        (Some(document), Some(Json::String(q))) if q.as_str() == &*document.text => {
            Ok(Some(document.prepared.clone()))
        }
        (Some(_), Some(_)) => Err(bad(format!(
            "`query` is not the text of the trusted document `{id}`"
        ))),
        // An unknown id with the query's text beside it: an ordinary request.
        (None, Some(Json::String(_))) => Ok(None),
        (None, _) => Err(bad(format!("no trusted document has the id `{id}`"))),
    }
}

/// A GraphQL request from its JSON form (a POST body, or GET parameters gathered into one):
/// an object with a string `query`, and `operationName` (string), `variables` and `extensions`
/// (objects), each of them optionally null. The message says what is wrong otherwise.
fn from_json(value: Json, documents: &TrustedDocuments) -> Result<RawRequest, Malformed> {
    let mut object = match value {
        Json::Object(object) => object,
        Json::Array(_) => {
            return Err(bad(
                "batched requests (a JSON array) are not supported: send one operation per request",
            ));
        }
        _ => return Err(bad("the request must be a JSON object with a `query`")),
    };
    let source = match (trusted_document(&mut object, documents)?, object.remove("query")) {
        (Some(trusted), _) => Source::Trusted(trusted),
        (None, Some(Json::String(query))) if query.len() > MAX_QUERY_BYTES => {
            return Err(bad(format!(
                "the query is {} bytes long; the limit is {MAX_QUERY_BYTES}",
                query.len()
            )));
        }
        (None, Some(Json::String(query))) => Source::Text(query),
        (None, None | Some(Json::Null)) => return Err(bad("the request has no `query`")),
        (None, Some(_)) => return Err(bad("`query` must be a string")),
    };
    let operation_name = match object.remove("operationName") {
        None | Some(Json::Null) => None,
        Some(Json::String(name)) => Some(name),
        Some(_) => return Err(bad("`operationName` must be a string or null")),
    };
    for key in ["variables", "extensions"] {
        if !matches!(object.get(key), None | Some(Json::Null | Json::Object(_))) {
            return Err(bad(format!("`{key}` must be an object or null")));
        }
    }
    let (variables, variables_text) = match object.remove("variables") {
        Some(Json::Object(map)) if !map.is_empty() => {
            // serde_json's maps are sorted: equal values give equal text.
            let map = Json::Object(map);
            let text = map.to_string();
            (async_graphql::Variables::from_json(map), text)
        }
        _ => (async_graphql::Variables::default(), String::new()),
    };
    Ok(RawRequest {
        source,
        operation_name,
        variables,
        variables_text,
    })
}
