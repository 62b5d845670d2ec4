//! Reading Test Manager's JSON answers into the API's shapes; a body that does
//! not fit is a [`TestManagerError::Decode`] naming the call.

use serde::de::DeserializeOwned;

use crate::testmanager::error::{body_detail, TestManagerError};

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
