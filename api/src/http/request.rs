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
use crate::{auth::secret::sha256_hex, documents::TrustedDocuments};

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
    pub code: crate::error::Code,
}

fn bad(message: impl Into<String>) -> Malformed {
    Malformed {
        status: StatusCode::BAD_REQUEST,
        message: message.into(),
        code: crate::error::Code::BadRequest,
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
            code: crate::error::Code::BadRequest,
        });
    }
    // A compressed body (gzip, br…) is not read: say so, rather than that it is not JSON.
    if let Some(encoding) = headers.get(axum::http::header::CONTENT_ENCODING)
        && !encoding.as_bytes().eq_ignore_ascii_case(b"identity")
    {
        return Err(Malformed {
            status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
            message: format!(
                "a compressed request body (`Content-Encoding: {}`) is not accepted: send the JSON as it is",
                String::from_utf8_lossy(encoding.as_bytes())
            ),
            code: crate::error::Code::BadRequest,
        });
    }
    let body = body.map_err(|e| Malformed {
        status: e.status(),
        // Sent without a length and cut off at the limit (`RequestBodyLimitLayer`).
        message: if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            super::respond::body_too_large_message(None)
        } else {
            e.body_text()
        },
        code: crate::error::Code::BadRequest,
    })?;
    let value =
        serde_json::from_slice::<Json>(&body).map_err(|e| bad(format!("the body is not valid JSON: {e}")))?;
    let object = match value {
        Json::Object(object) => object,
        Json::Array(_) => {
            return Err(bad(
                "batched requests (a JSON array) are not supported: send one operation per request",
            ));
        }
        _ => return Err(bad("the request must be a JSON object with a `query`")),
    };
    from_object(object, documents)
}

/// A request as a JSON object (a POST's body, the payload of a WebSocket `subscribe`):
/// `query` or `documentId`, `operationName`, `variables`, `extensions`.
pub fn from_object(
    mut object: serde_json::Map<String, Json>,
    documents: &TrustedDocuments,
) -> Result<RawRequest, Malformed> {
    Fields {
        query: object.remove("query"),
        operation_name: object.remove("operationName"),
        variables: object.remove("variables"),
        extensions: object.remove("extensions"),
        document_id: object.remove("documentId"),
    }
    .into_request(documents)
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

/// A GET: the parameters, `variables` and `extensions` parsed as JSON. `raw_query` is the
/// URL's query string as sent: bytes that are not UTF-8 are refused, as in a POST's body,
/// rather than read as replacement characters.
pub fn from_get(
    raw_query: Option<&str>,
    params: Result<Query<GetParams>, QueryRejection>,
    documents: &TrustedDocuments,
) -> Result<RawRequest, Malformed> {
    if !raw_query.is_none_or(percent_decodes_to_utf8) {
        return Err(bad(NOT_UTF8));
    }
    let Query(params) = params.map_err(|e| bad(format!("invalid GraphQL GET request: {}", e.body_text())))?;
    let json = |key: &str, text: Option<String>| match text.filter(|t| !t.is_empty()) {
        None => Ok(None),
        Some(text) => serde_json::from_str::<Json>(&text)
            .map(Some)
            .map_err(|e| bad(format!("`{key}` is not valid JSON: {e}"))),
    };
    Fields {
        query: params.query.map(Json::String),
        operation_name: params.operation_name.filter(|n| !n.is_empty()).map(Json::String),
        variables: json("variables", params.variables)?,
        extensions: json("extensions", params.extensions)?,
        document_id: params.document_id.map(Json::String),
    }
    .into_request(documents)
}

/// Why a query string whose escapes are not UTF-8 is refused.
pub(crate) const NOT_UTF8: &str =
    "the query string is not valid UTF-8: percent-encode the text as UTF-8 (%C3%B8 for ø)";

/// Whether a URL's query string, its `%XX` escapes decoded, is UTF-8 (a `%` that starts no
/// escape stands for itself, as `application/x-www-form-urlencoded` reads it).
pub(crate) fn percent_decodes_to_utf8(query: &str) -> bool {
    let bytes = query.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (
            bytes[i],
            bytes.get(i + 1).copied().and_then(hex),
            bytes.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(high), Some(low)) => {
                decoded.push(u8::try_from(high * 16 + low).unwrap_or(0));
                i += 3;
            }
            (b, _, _) => {
                decoded.push(b);
                i += 1;
            }
        }
    }
    std::str::from_utf8(&decoded).is_ok()
}

/// The members of a request's JSON form (a POST body, or GET parameters), unchecked.
struct Fields {
    query: Option<Json>,
    operation_name: Option<Json>,
    variables: Option<Json>,
    extensions: Option<Json>,
    document_id: Option<Json>,
}

impl Fields {
    /// The trusted document a request names (`documentId`, or a persisted query's hash), if
    /// any; a `query` beside it must be the document's text.
    fn trusted_document(&mut self, documents: &TrustedDocuments) -> Result<Option<Parsed>, Malformed> {
        let document_id = match self.document_id.take() {
            None | Some(Json::Null) => None,
            Some(Json::String(id)) => Some(id),
            Some(_) => return Err(bad("`documentId` must be a string")),
        };
        let persisted = self
            .extensions
            .as_ref()
            .and_then(|e| e.get("persistedQuery"))
            .and_then(|p| p.get("sha256Hash"))
            .and_then(Json::as_str)
            .map(str::to_owned);
        let by_hash = document_id.is_none() && persisted.is_some();
        let Some(id) = document_id.or(persisted) else {
            return Ok(None);
        };
        // Apollo sends the bare hash; a trusted document's id is `sha256:` and the hash.
        let document = match documents.get(&id) {
            None if by_hash => documents.get(&format!("sha256:{id}")),
            found => found,
        };
        match (document, &self.query) {
            (Some(document), None | Some(Json::Null)) => Ok(Some(document.prepared.clone())),
            (Some(document), Some(Json::String(q))) if q.as_str() == &*document.text => {
                Ok(Some(document.prepared.clone()))
            }
            (Some(_), Some(_)) => Err(bad(format!(
                "`query` is not the text of the trusted document `{id}`"
            ))),
            // A persisted query's hash with the query's text beside it, as Apollo's clients
            // register one: the hash must be the text's (Apollo Server refuses it otherwise),
            // so a client that hashes wrongly learns it now, not when its hash is looked up.
            (None, Some(Json::String(q))) if by_hash && !id.eq_ignore_ascii_case(&sha256_hex(q)) => Err(bad(
                "`extensions.persistedQuery.sha256Hash` is not the SHA-256 of `query`",
            )),
            // An unknown id with the query's text beside it: an ordinary request.
            (None, Some(Json::String(_))) => Ok(None),
            // Apollo's automatic persisted queries: the code its clients answer by sending
            // the hash again with the query's text. With 200, as Apollo Server answers it:
            // older Apollo clients turn persisted queries off for good after a 400.
            (None, _) if by_hash => Err(Malformed {
                status: StatusCode::OK,
                message: "PersistedQueryNotFound".into(),
                code: crate::error::Code::PersistedQueryNotFound,
            }),
            // The id named, not echoed at any length (an id is 71 characters).
            (None, _) => {
                let shown: String = id.chars().take(80).collect();
                let more = if shown.len() < id.len() { "…" } else { "" };
                // The code Apollo's form gets, as a request error (400).
                Err(Malformed {
                    status: StatusCode::BAD_REQUEST,
                    message: format!("no trusted document has the id `{shown}{more}`"),
                    code: crate::error::Code::PersistedQueryNotFound,
                })
            }
        }
    }

    /// A string `query` (or a trusted document), and `operationName` (string), `variables`
    /// and `extensions` (objects), each of them optionally null. The message says what is
    /// wrong otherwise.
    fn into_request(mut self, documents: &TrustedDocuments) -> Result<RawRequest, Malformed> {
        let source = match (self.trusted_document(documents)?, self.query) {
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
        let operation_name = match self.operation_name {
            None | Some(Json::Null) => None,
            Some(Json::String(name)) => Some(name),
            Some(_) => return Err(bad("`operationName` must be a string or null")),
        };
        for (key, value) in [("variables", &self.variables), ("extensions", &self.extensions)] {
            if !matches!(value, None | Some(Json::Null | Json::Object(_))) {
                return Err(bad(format!("`{key}` must be an object or null")));
            }
        }
        let (variables, variables_text) = match self.variables {
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
}

#[cfg(test)]
mod tests {
    #[test]
    fn query_strings_decode_to_utf8_or_are_refused() {
        use super::percent_decodes_to_utf8 as ok;
        assert!(ok("query=%7B%20__typename%20%7D"));
        assert!(ok("query={community(slug:%22gj%C3%B8l%22){name}}"));
        assert!(ok("query=100%25&x=%zz%4"), "a % that starts no escape is itself");
        assert!(!ok("query=%ff%fe"));
        assert!(!ok("query=%C3"), "half a character");
    }
}
