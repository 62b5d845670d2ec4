//! A Jira webhook delivery's authenticity, decided before anything in it is read.
//!
//! Jira admin webhooks (Cloud and Data Center) sign the raw body with HMAC-SHA256 under
//! the webhook's secret and send `X-Hub-Signature: sha256=<hex>`. The signature is
//! checked over the exact bytes received, in constant time, against up to two secrets
//! at once (the current and the previous one) so a secret can be rotated without losing
//! deliveries. A Jira that cannot sign may instead put a secret in the registered URL's
//! path, as Test Manager's webhooks do; it is compared in constant time too.
//!
//! The only way to a [`VerifiedDelivery`] is [`UnverifiedDelivery::verify`], so code that
//! parses a body cannot forget to check it. Secrets are held as [`SecretString`] and
//! never appear in `Debug` output or error messages.

use bytes::Bytes;
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

use crate::config::WritebackSettings;
use crate::secret_match::secret_matches;

type HmacSha256 = Hmac<Sha256>;

/// The prefix of the `X-Hub-Signature` value naming the algorithm.
const SIGNATURE_PREFIX: &str = "sha256=";

/// Length of an HMAC-SHA256 tag in bytes.
const TAG_BYTES: usize = 32;

/// Why a delivery was refused or could not be read.
///
/// None of the messages carries a secret, a signature or body text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeliveryError {
    /// No webhook secret of any kind is configured: write-back webhooks are off. The route
    /// answers without reading the delivery and logs that they are not configured.
    #[error("Jira webhooks for write-back are not configured (set writeback.webhook_secret or writeback.webhook_path_secret)")]
    NotConfigured,
    /// The delivery carries neither a signature nor a path secret.
    #[error("the Jira webhook delivery is not signed")]
    Unsigned,
    /// The `X-Hub-Signature` header is not `sha256=` followed by 64 hex digits.
    #[error("the Jira webhook delivery's X-Hub-Signature is not `sha256=<64 hex digits>`")]
    MalformedSignature,
    /// The signature or path secret does not match any configured secret.
    #[error("the Jira webhook delivery's signature or path secret does not match")]
    Mismatch,
    /// The verified body is not a Jira webhook payload (not JSON, or a value of the wrong type).
    #[error("the Jira webhook body cannot be read: {0}")]
    Unreadable(String),
    /// The verified body lacks a value the bridge needs.
    #[error("the Jira webhook body has no `{0}`")]
    MissingField(&'static str),
}

impl DeliveryError {
    /// True when the delivery failed authentication (the route answers 401 and writes
    /// nothing); false for [`Self::NotConfigured`] and for bodies that cannot be read.
    pub fn is_unauthenticated(&self) -> bool {
        matches!(
            self,
            Self::Unsigned | Self::MalformedSignature | Self::Mismatch
        )
    }
}

/// The secrets a delivery may prove itself with: up to two signing secrets and an
/// optional path secret. Blank secrets count as absent.
#[derive(Clone, Default)]
pub struct WebhookSecrets {
    signing: Vec<SecretString>,
    path: Option<SecretString>,
}

impl std::fmt::Debug for WebhookSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookSecrets")
            .field("signing_secrets", &self.signing.len())
            .field("path_secret", &self.path.is_some())
            .finish()
    }
}

impl WebhookSecrets {
    /// The current and previous signing secrets (either may be absent) and the path
    /// secret. A blank secret is ignored: an empty HMAC key or an empty path segment
    /// would authenticate anyone.
    pub fn new(
        current: Option<SecretString>,
        previous: Option<SecretString>,
        path: Option<SecretString>,
    ) -> Self {
        let present = |s: &SecretString| !s.expose_secret().trim().is_empty();
        Self {
            signing: [current, previous]
                .into_iter()
                .flatten()
                .filter(present)
                .collect(),
            path: path.filter(present),
        }
    }

    /// The secrets configured in `[writeback]`: `webhook_secret`,
    /// `webhook_secret_previous` and `webhook_path_secret`.
    pub fn from_settings(settings: &WritebackSettings) -> Self {
        Self::new(
            settings.webhook_secret.clone(),
            settings.webhook_secret_previous.clone(),
            settings.webhook_path_secret.clone(),
        )
    }

    /// True when at least one secret is configured, i.e. webhooks can be accepted at all.
    pub fn is_configured(&self) -> bool {
        !self.signing.is_empty() || self.path.is_some()
    }

    /// True when a signing secret is configured (Jira can be told to sign).
    pub fn can_check_signatures(&self) -> bool {
        !self.signing.is_empty()
    }

    /// True when a path secret is configured.
    pub fn has_path_secret(&self) -> bool {
        self.path.is_some()
    }

    /// Whether `tag` is the HMAC of `body` under any signing secret. Every secret is
    /// tried, so the time taken does not tell which one matched.
    fn signed_by_any(&self, body: &[u8], tag: &[u8]) -> bool {
        self.signing.iter().fold(false, |matched, secret| {
            let mut mac = HmacSha256::new_from_slice(secret.expose_secret().as_bytes())
                .expect("HMAC accepts keys of any length");
            mac.update(body);
            matched | mac.verify_slice(tag).is_ok()
        })
    }

    /// Whether `given` equals the path secret, compared in constant time.
    fn path_matches(&self, given: &str) -> bool {
        self.path.as_ref().is_some_and(|p| secret_matches(p, given))
    }
}

/// How a verified delivery proved itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Authenticity {
    /// A valid `X-Hub-Signature` under the current or previous signing secret.
    Signature,
    /// The path secret in the URL (a Jira that cannot sign).
    PathSecret,
}

/// A Jira webhook delivery as received: the raw body and the headers that matter, not yet
/// trusted. Its `Debug` output hides the path secret.
#[derive(Clone)]
pub struct UnverifiedDelivery {
    /// The request body exactly as received (the signature covers these bytes).
    pub body: Bytes,
    /// The `X-Hub-Signature` header value, e.g. `sha256=3f0a…`.
    pub signature: Option<String>,
    /// The secret from the URL path, when the route has one.
    pub path_secret: Option<String>,
    /// The `X-Atlassian-Webhook-Identifier` header: stable across Jira's retries.
    pub identifier: Option<String>,
    /// The `X-Atlassian-Webhook-Retry` header: how many times Jira retried this delivery.
    pub retry: Option<u32>,
}

impl std::fmt::Debug for UnverifiedDelivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UnverifiedDelivery")
            .field("body_bytes", &self.body.len())
            .field("signed", &self.signature.is_some())
            .field(
                "path_secret",
                &self.path_secret.as_ref().map(|_| "<redacted>"),
            )
            .field("identifier", &self.identifier)
            .field("retry", &self.retry)
            .finish()
    }
}

impl UnverifiedDelivery {
    /// Checks the delivery against `secrets`; the only way to a [`VerifiedDelivery`].
    ///
    /// Accepted when the signature matches a signing secret or the path secret matches.
    /// Refused with [`DeliveryError::NotConfigured`] when no secret is configured at all,
    /// [`DeliveryError::Unsigned`] when it brings neither proof,
    /// [`DeliveryError::MalformedSignature`] when the signature header cannot be read and
    /// no path secret matched, and [`DeliveryError::Mismatch`] otherwise.
    pub fn verify(self, secrets: &WebhookSecrets) -> Result<VerifiedDelivery, DeliveryError> {
        if !secrets.is_configured() {
            return Err(DeliveryError::NotConfigured);
        }
        let tag = self.signature.as_deref().map(parse_signature);
        let by_signature = match &tag {
            Some(Ok(tag)) => secrets.signed_by_any(&self.body, tag),
            _ => false,
        };
        let by_path = self
            .path_secret
            .as_deref()
            .is_some_and(|given| secrets.path_matches(given));
        let authenticity = if by_signature {
            Authenticity::Signature
        } else if by_path {
            Authenticity::PathSecret
        } else {
            return Err(match (tag, &self.path_secret) {
                (None, None) => DeliveryError::Unsigned,
                (Some(Err(e)), None) => e,
                _ => DeliveryError::Mismatch,
            });
        };
        Ok(VerifiedDelivery {
            body: self.body,
            identifier: self
                .identifier
                .map(|i| i.trim().to_owned())
                .filter(|i| !i.is_empty()),
            retry: self.retry,
            authenticity,
        })
    }
}

/// A delivery whose signature or path secret was checked: its body may be read.
#[derive(Clone)]
pub struct VerifiedDelivery {
    body: Bytes,
    identifier: Option<String>,
    retry: Option<u32>,
    authenticity: Authenticity,
}

impl std::fmt::Debug for VerifiedDelivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifiedDelivery")
            .field("body_bytes", &self.body.len())
            .field("identifier", &self.identifier)
            .field("retry", &self.retry)
            .field("authenticity", &self.authenticity)
            .finish()
    }
}

impl VerifiedDelivery {
    /// The body exactly as received.
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// `X-Atlassian-Webhook-Identifier`, trimmed; `None` when absent or blank. The same
    /// for every retry of one delivery, so it is the key deliveries are deduplicated by.
    pub fn identifier(&self) -> Option<&str> {
        self.identifier.as_deref()
    }

    /// `X-Atlassian-Webhook-Retry`: how often Jira has retried this delivery.
    pub fn retry(&self) -> Option<u32> {
        self.retry
    }

    /// How the delivery proved itself.
    pub fn authenticity(&self) -> Authenticity {
        self.authenticity
    }
}

/// The `X-Hub-Signature` value Jira sends for `body` signed with `secret`
/// (`sha256=<lower-case hex>`). For the Jira fakes in tests, and for operators checking
/// a captured delivery.
pub fn signature_header(secret: &str, body: &[u8]) -> String {
    let mut mac =
        HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC accepts keys of any length");
    mac.update(body);
    format!(
        "{SIGNATURE_PREFIX}{}",
        hex::encode(mac.finalize().into_bytes())
    )
}

/// The tag in `sha256=<hex>`; the prefix and the hex digits in either case.
fn parse_signature(header: &str) -> Result<Vec<u8>, DeliveryError> {
    let header = header.trim();
    let hex_digits = header
        .get(..SIGNATURE_PREFIX.len())
        .filter(|p| p.eq_ignore_ascii_case(SIGNATURE_PREFIX))
        .map(|_| &header[SIGNATURE_PREFIX.len()..])
        .ok_or(DeliveryError::MalformedSignature)?;
    match hex::decode(hex_digits) {
        Ok(tag) if tag.len() == TAG_BYTES => Ok(tag),
        _ => Err(DeliveryError::MalformedSignature),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A Jira Cloud delivery body, byte for byte as signed.
    const BODY: &str = r#"{"timestamp":1765000522000,"webhookEvent":"jira:issue_updated","issue":{"id":"10002","key":"SHOP-7"}}"#;
    const CURRENT: &str = "wh-current-7f3a";
    const PREVIOUS: &str = "wh-previous-19c2";
    /// python3: hmac.new(b"wh-current-7f3a", BODY, hashlib.sha256).hexdigest()
    const BODY_BY_CURRENT: &str =
        "de167b7c021094a7df7a75c810993b901cd547689b859fc656ec9f7202481049";
    /// python3: hmac.new(b"wh-previous-19c2", BODY, hashlib.sha256).hexdigest()
    const BODY_BY_PREVIOUS: &str =
        "27790ecd71e20940c0d53d0ef076610a63b6f5a6d809d28be84d344bbb8c06d5";

    fn secret(s: &str) -> Option<SecretString> {
        Some(SecretString::from(s))
    }

    fn secrets() -> WebhookSecrets {
        WebhookSecrets::new(secret(CURRENT), secret(PREVIOUS), None)
    }

    fn delivery(body: &str, signature: Option<&str>) -> UnverifiedDelivery {
        UnverifiedDelivery {
            body: Bytes::copy_from_slice(body.as_bytes()),
            signature: signature.map(str::to_owned),
            path_secret: None,
            identifier: Some(" 3c4a2f1e-77b0-4f43-9a1c-5d2e9f0b8a61 ".into()),
            retry: Some(2),
        }
    }

    #[test]
    fn signature_header_matches_known_answers() {
        // GitHub's published example for the same X-Hub-Signature-256 scheme.
        assert_eq!(
            signature_header("It's a Secret to Everybody", b"Hello, World!"),
            "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
        );
        assert_eq!(
            signature_header(CURRENT, BODY.as_bytes()),
            format!("sha256={BODY_BY_CURRENT}")
        );
    }

    #[test]
    fn the_current_secret_verifies_and_headers_are_kept() {
        let verified = delivery(BODY, Some(&format!("sha256={BODY_BY_CURRENT}")))
            .verify(&secrets())
            .unwrap();
        assert_eq!(verified.body().as_ref(), BODY.as_bytes());
        assert_eq!(
            verified.identifier(),
            Some("3c4a2f1e-77b0-4f43-9a1c-5d2e9f0b8a61")
        );
        assert_eq!(verified.retry(), Some(2));
        assert_eq!(verified.authenticity(), Authenticity::Signature);
    }

    #[test]
    fn the_previous_secret_verifies_during_rotation() {
        let verified = delivery(BODY, Some(&format!("sha256={BODY_BY_PREVIOUS}")))
            .verify(&secrets())
            .unwrap();
        assert_eq!(verified.authenticity(), Authenticity::Signature);
        // Once the previous secret is dropped, its signatures no longer pass.
        let only_current = WebhookSecrets::new(secret(CURRENT), None, None);
        assert_eq!(
            delivery(BODY, Some(&format!("sha256={BODY_BY_PREVIOUS}")))
                .verify(&only_current)
                .unwrap_err(),
            DeliveryError::Mismatch
        );
    }

    #[test]
    fn upper_case_hex_and_prefix_verify() {
        let upper = format!("SHA256={}", BODY_BY_CURRENT.to_uppercase());
        assert!(delivery(BODY, Some(&upper)).verify(&secrets()).is_ok());
        let mixed = format!(
            " sha256={}{} ",
            &BODY_BY_CURRENT[..32].to_uppercase(),
            &BODY_BY_CURRENT[32..]
        );
        assert!(delivery(BODY, Some(&mixed)).verify(&secrets()).is_ok());
    }

    #[test]
    fn a_wrong_secret_is_refused() {
        let header = signature_header("not-the-secret", BODY.as_bytes());
        let err = delivery(BODY, Some(&header))
            .verify(&secrets())
            .unwrap_err();
        assert_eq!(err, DeliveryError::Mismatch);
        assert!(err.is_unauthenticated());
    }

    #[test]
    fn a_tampered_body_is_refused() {
        let tampered = BODY.replace("SHOP-7", "SHOP-8");
        let header = format!("sha256={BODY_BY_CURRENT}");
        assert_eq!(
            delivery(&tampered, Some(&header))
                .verify(&secrets())
                .unwrap_err(),
            DeliveryError::Mismatch
        );
        // Trailing whitespace is part of the signed bytes too.
        assert_eq!(
            delivery(&format!("{BODY}\n"), Some(&header))
                .verify(&secrets())
                .unwrap_err(),
            DeliveryError::Mismatch
        );
    }

    #[test]
    fn malformed_headers_are_refused() {
        for header in [
            BODY_BY_CURRENT.to_owned(),                     // no prefix
            format!("sha1={BODY_BY_CURRENT}"),              // other algorithm
            format!("sha256={}", &BODY_BY_CURRENT[..62]),   // truncated
            format!("sha256={BODY_BY_CURRENT}00"),          // too long
            format!("sha256={}zz", &BODY_BY_CURRENT[..62]), // not hex
            "sha256=".to_owned(),
            String::new(),
            "sha256=é".to_owned(),
        ] {
            let err = delivery(BODY, Some(&header))
                .verify(&secrets())
                .unwrap_err();
            assert_eq!(err, DeliveryError::MalformedSignature, "{header:?}");
            assert!(err.is_unauthenticated());
        }
    }

    #[test]
    fn a_missing_signature_is_refused() {
        let err = delivery(BODY, None).verify(&secrets()).unwrap_err();
        assert_eq!(err, DeliveryError::Unsigned);
        assert!(err.is_unauthenticated());
    }

    #[test]
    fn no_secret_configured_is_its_own_error() {
        let blank = WebhookSecrets::new(secret(""), secret("  "), secret(""));
        assert!(!blank.is_configured());
        for secrets in [WebhookSecrets::default(), blank] {
            let header = signature_header("", BODY.as_bytes());
            let err = delivery(BODY, Some(&header)).verify(&secrets).unwrap_err();
            assert_eq!(err, DeliveryError::NotConfigured);
            assert!(!err.is_unauthenticated());
        }
    }

    #[test]
    fn a_path_secret_is_accepted_where_jira_cannot_sign() {
        let secrets = WebhookSecrets::new(None, None, secret("p4th-s3cret"));
        assert!(secrets.is_configured() && !secrets.can_check_signatures());
        let mut unsigned = delivery(BODY, None);
        unsigned.path_secret = Some("p4th-s3cret".into());
        let verified = unsigned.clone().verify(&secrets).unwrap();
        assert_eq!(verified.authenticity(), Authenticity::PathSecret);

        for wrong in ["p4th-s3cre", "p4th-s3cret2", "P4TH-S3CRET", ""] {
            let mut d = unsigned.clone();
            d.path_secret = Some(wrong.into());
            assert_eq!(d.verify(&secrets).unwrap_err(), DeliveryError::Mismatch);
        }
        // A path secret is no proof when none is configured.
        let mut d = unsigned;
        d.path_secret = Some(CURRENT.into());
        assert_eq!(
            d.verify(&self::secrets()).unwrap_err(),
            DeliveryError::Mismatch
        );
    }

    #[test]
    fn either_proof_suffices_when_both_are_configured() {
        let both = WebhookSecrets::new(secret(CURRENT), None, secret("p4th-s3cret"));
        let mut d = delivery(BODY, Some("sha256=nonsense"));
        d.path_secret = Some("p4th-s3cret".into());
        assert_eq!(
            d.verify(&both).unwrap().authenticity(),
            Authenticity::PathSecret
        );
        let mut d = delivery(BODY, Some(&format!("sha256={BODY_BY_CURRENT}")));
        d.path_secret = Some("wrong".into());
        assert_eq!(
            d.verify(&both).unwrap().authenticity(),
            Authenticity::Signature
        );
    }

    #[test]
    fn blank_identifiers_are_absent() {
        let mut d = delivery(BODY, Some(&format!("sha256={BODY_BY_CURRENT}")));
        d.identifier = Some("   ".into());
        assert_eq!(d.verify(&secrets()).unwrap().identifier(), None);
    }

    #[test]
    fn secrets_never_show_in_debug_or_errors() {
        let secrets = WebhookSecrets::new(secret(CURRENT), secret(PREVIOUS), secret("p4th-s3cret"));
        let shown = format!("{secrets:?}");
        for s in [CURRENT, PREVIOUS, "p4th-s3cret"] {
            assert!(!shown.contains(s), "{shown}");
        }
        let mut d = delivery(BODY, Some("sha256=abc"));
        d.path_secret = Some("p4th-s3cret-guess".into());
        let shown = format!("{d:?}");
        assert!(!shown.contains("p4th-s3cret-guess"), "{shown}");
        let err = d.verify(&secrets).unwrap_err().to_string();
        assert!(!err.contains("p4th") && !err.contains("abc"), "{err}");
    }

    proptest! {
        #[test]
        fn any_signed_body_verifies_and_any_changed_byte_does_not(
            body in proptest::collection::vec(any::<u8>(), 1..512),
            key in "[ -~]{1,64}",
            flip in any::<proptest::sample::Index>(),
            bit in 0u8..8,
        ) {
            let secrets = WebhookSecrets::new(None, Some(SecretString::from(key.clone())), None);
            prop_assume!(secrets.is_configured());
            let header = signature_header(&key, &body);
            let signed = UnverifiedDelivery {
                body: Bytes::from(body.clone()),
                signature: Some(header.clone()),
                path_secret: None,
                identifier: None,
                retry: None,
            };
            prop_assert!(signed.verify(&secrets).is_ok());
            let mut changed = body;
            let i = flip.index(changed.len());
            changed[i] ^= 1 << bit;
            let tampered = UnverifiedDelivery {
                body: Bytes::from(changed),
                signature: Some(header),
                path_secret: None,
                identifier: None,
                retry: None,
            };
            prop_assert_eq!(tampered.verify(&secrets).unwrap_err(), DeliveryError::Mismatch);
        }
    }
}
