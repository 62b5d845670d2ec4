//! Reading a request body whole, up to a limit, as problem+json on failure.

use super::problem::Problem;
use actix_web::http::StatusCode;
use actix_web::web;
use futures::StreamExt;

/// The whole body of `payload`, refused (413) past `limit` bytes; `what` names the body in the message.
pub async fn read_limited(
    mut payload: web::Payload,
    limit: usize,
    what: &str,
) -> Result<web::BytesMut, Problem> {
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| {
            Problem::new(
                StatusCode::BAD_REQUEST,
                "body-error",
                "Body could not be read",
                e.to_string(),
            )
        })?;
        if body.len() + chunk.len() > limit {
            return Err(Problem::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body-too-large",
                "Body too large",
                format!("{what} are at most {limit} bytes (server.body_limit_bytes)"),
            ));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}
