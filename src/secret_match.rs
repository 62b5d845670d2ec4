//! The one rule for checking a secret someone presents (a webhook path or
//! header secret, Jira's path secret, the operator token) against the one
//! configured: both are hashed with SHA-256 and the digests compared in
//! constant time, so neither the content nor the length leaks through timing.

use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Whether `given` is `expected`.
pub fn secret_matches(expected: &SecretString, given: &str) -> bool {
    let expected = Sha256::digest(expected.expose_secret().as_bytes());
    let given = Sha256::digest(given.as_bytes());
    expected.ct_eq(&given).into()
}

#[cfg(test)]
mod tests {
    use super::secret_matches;
    use secrecy::SecretString;

    #[test]
    fn only_the_same_text_matches() {
        let expected = SecretString::from("s3cr3t-0042");
        assert!(secret_matches(&expected, "s3cr3t-0042"));
        for other in ["", "s3cr3t-004", "s3cr3t-00420", "S3CR3T-0042"] {
            assert!(!secret_matches(&expected, other), "{other}");
        }
    }
}
