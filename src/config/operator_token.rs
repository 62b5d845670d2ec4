//! The operator page's token is refused at load when it is too short to keep
//! anyone out: an empty one would match an empty Basic password (`Og==`).

use super::ConfigError;
use secrecy::{ExposeSecret, SecretString};

/// Fewest characters an operator token may have (`openssl rand -hex 16` gives 32).
pub const MIN_CHARS: usize = 16;

/// `token` as the operator token, or why it is refused; `origin` says where it
/// came from (the variable, or the file and the key naming it).
pub(super) fn accept(origin: String, token: SecretString) -> Result<SecretString, ConfigError> {
    // Surrounding whitespace does not count: a browser's password field and
    // `Authorization` parsing would not carry it.
    let length = token.expose_secret().trim().chars().count();
    if length < MIN_CHARS {
        return Err(ConfigError::WeakOperatorToken { origin, length });
    }
    Ok(token)
}
