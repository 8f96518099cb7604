//! Opaque global IDs: `base64url("Type:uuid")`, so a client can hand any ID to `node`.
use async_graphql::ID;
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use uuid::Uuid;

use crate::error::ApiError;

pub fn encode(type_name: &str, id: Uuid) -> ID {
    ID(URL_SAFE_NO_PAD.encode(format!("{type_name}:{id}")))
}

/// Splits a global ID into its type name and UUID; anything else is a clear input error.
pub fn decode(id: &ID) -> Result<(String, Uuid), ApiError> {
    let invalid = || ApiError::bad_input(format!("\"{}\" is not a valid ID", truncate(id)));
    let bytes = URL_SAFE_NO_PAD.decode(id.as_str()).map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    let (type_name, uuid) = text.split_once(':').ok_or_else(invalid)?;
    let uuid = Uuid::parse_str(uuid).map_err(|_| invalid())?;
    Ok((type_name.to_owned(), uuid))
}

/// Decodes an ID that must be of one type (e.g. a `communityIds` filter).
pub fn decode_as(id: &ID, expected: &str) -> Result<Uuid, ApiError> {
    let (type_name, uuid) = decode(id)?;
    if type_name != expected {
        return Err(ApiError::bad_input(format!(
            "\"{}\" is the ID of a {type_name}, not of a {expected}",
            truncate(id)
        )));
    }
    Ok(uuid)
}

fn truncate(id: &ID) -> String {
    id.as_str().chars().take(64).collect()
}
