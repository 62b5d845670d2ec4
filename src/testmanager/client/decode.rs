//! Reading Test Manager's JSON answers into the API's shapes; a body that does
//! not fit is a [`TestManagerError::Decode`] naming the call.

use serde::de::DeserializeOwned;

use crate::testmanager::error::{body_detail, TestManagerError};
use crate::testmanager::model::Paged;

/// `body` as JSON of type `T`; a [`TestManagerError::Decode`] naming `call` if not.
pub(super) fn decode<T: DeserializeOwned>(
    call: &'static str,
    body: &[u8],
) -> Result<T, TestManagerError> {
    serde_json::from_slice(body).map_err(|e| TestManagerError::Decode {
        call,
        detail: body_detail(e.to_string().as_bytes()),
    })
}

/// Like [`decode`], for an already parsed `value`.
pub(super) fn decode_value<T: DeserializeOwned>(
    call: &'static str,
    value: serde_json::Value,
) -> Result<T, TestManagerError> {
    serde_json::from_value(value).map_err(|e| TestManagerError::Decode {
        call,
        detail: body_detail(e.to_string().as_bytes()),
    })
}

/// A list Test Manager may answer bare or in a paged envelope (only its first
/// page is read). No answer (404), an empty body or JSON `null` is an empty list.
pub(super) fn decode_list<T: DeserializeOwned>(
    call: &'static str,
    body: Option<Vec<u8>>,
) -> Result<Vec<T>, TestManagerError> {
    let Some(body) = body else {
        return Ok(Vec::new());
    };
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Vec::new());
    }
    let value: serde_json::Value = decode(call, &body)?;
    match value {
        serde_json::Value::Null => Ok(Vec::new()),
        serde_json::Value::Array(_) => decode_value(call, value),
        _ => decode_value::<Paged<T>>(call, value).map(|p| p.data),
    }
}
