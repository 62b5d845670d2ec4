//! Jira webhook deliveries as Jira Cloud and Data Center send them: the payload of
//! `jira:issue_updated` / `jira:issue_deleted` built from a fake issue's state, signed
//! with HMAC-SHA256 over the raw body (`X-Hub-Signature: sha256=<hex>`), with an
//! `X-Atlassian-Webhook-Identifier` that stays the same when a delivery is retried and an
//! `X-Atlassian-Webhook-Retry` that counts the retries. Jira guarantees no order and may
//! deliver twice: [`JiraDelivery::redelivery`] and [`send_in_order`] play that.
//!
//! ```ignore
//! app.jira.set_status("SHOP-1", "Done", "done");
//! let delivery = JiraWebhook::updated(&app.jira, "SHOP-1").delivery();
//! assert_eq!(delivery.send(&url).await, 202);
//! delivery.redelivery().send(&url).await; // same identifier, retry 1
//! ```

use super::{ChangeItem, FakeIssue, FakeJira, JIRA_WEBHOOK_SECRET};
use reqwest::StatusCode;
use serde_json::{json, Value};
use tm_defect_bridge::config::JiraFlavour;
use tm_defect_bridge::writeback::delivery::signature_header;
use uuid::Uuid;

/// A webhook about to be delivered: which event, the issue as it was then, how it is signed.
#[derive(Debug, Clone)]
pub struct JiraWebhook {
    flavour: JiraFlavour,
    base: String,
    event: &'static str,
    issue: FakeIssue,
    changes: Vec<ChangeItem>,
    signing: Signing,
}

#[derive(Debug, Clone)]
enum Signing {
    Secret(String),
    Header(String),
    Unsigned,
}

impl JiraWebhook {
    /// `jira:issue_updated` for `key` as the fake holds it now; the changelog lists the
    /// fields of its latest change. Signed with [`JIRA_WEBHOOK_SECRET`].
    pub fn updated(jira: &FakeJira, key: &str) -> Self {
        let issue = jira
            .issue(key)
            .unwrap_or_else(|| panic!("the fake Jira holds no issue {key}"));
        let changes = issue.last_changes.clone();
        Self::of(jira, "jira:issue_updated", issue, changes)
    }

    /// `jira:issue_deleted` for `issue` (what [`FakeJira::delete_issue`] returned).
    pub fn deleted(jira: &FakeJira, issue: &FakeIssue) -> Self {
        Self::of(jira, "jira:issue_deleted", issue.clone(), Vec::new())
    }

    fn of(
        jira: &FakeJira,
        event: &'static str,
        issue: FakeIssue,
        changes: Vec<ChangeItem>,
    ) -> Self {
        Self {
            flavour: jira.flavour,
            base: jira.base_url().as_str().trim_end_matches('/').to_owned(),
            event,
            issue,
            changes,
            signing: Signing::Secret(JIRA_WEBHOOK_SECRET.to_owned()),
        }
    }

    /// The changelog lists `items` instead (empty: no changelog at all).
    pub fn changelog(self, items: Vec<ChangeItem>) -> Self {
        Self {
            changes: items,
            ..self
        }
    }

    /// Signed with `secret` instead of [`JIRA_WEBHOOK_SECRET`].
    pub fn signed_with(self, secret: &str) -> Self {
        Self {
            signing: Signing::Secret(secret.to_owned()),
            ..self
        }
    }

    /// Sent with this `X-Hub-Signature` value, whatever the body (forged or malformed).
    pub fn signature(self, header: &str) -> Self {
        Self {
            signing: Signing::Header(header.to_owned()),
            ..self
        }
    }

    /// Sent without `X-Hub-Signature` (a webhook registered without a secret).
    pub fn unsigned(self) -> Self {
        Self {
            signing: Signing::Unsigned,
            ..self
        }
    }

    /// The payload, shaped like the flavour's.
    pub fn payload(&self) -> Value {
        let issue = &self.issue;
        let user = match self.flavour {
            JiraFlavour::Cloud => json!({
                "self": format!("{}/rest/api/2/user?accountId=5b10ac8d82e05b22cc7d4ef5", self.base),
                "accountId": "5b10ac8d82e05b22cc7d4ef5", "displayName": "Ada Admin",
                "active": true, "timeZone": "Europe/Berlin", "accountType": "atlassian"
            }),
            JiraFlavour::DataCenter => json!({
                "self": format!("{}/rest/api/2/user?username=ada", self.base),
                "name": "ada", "key": "JIRAUSER10100", "emailAddress": "ada@example.com",
                "displayName": "Ada Admin", "active": true, "timeZone": "Europe/Berlin"
            }),
        };
        let changelog_item = |c: &ChangeItem| {
            let mut item = json!({
                "field": c.field, "fieldtype": "jira",
                "from": null, "fromString": c.from, "to": null, "toString": c.to
            });
            if self.flavour == JiraFlavour::Cloud {
                item["fieldId"] = json!(c.field);
            }
            item
        };
        let deleted = self.event == "jira:issue_deleted";
        let timestamp = if deleted {
            issue.clock.now()
        } else {
            issue.updated
        };
        let mut payload = json!({
            "timestamp": timestamp.timestamp_millis(),
            "webhookEvent": self.event,
            "issue_event_type_name": if deleted { "issue_deleted" } else { "issue_generic" },
            "user": user,
            "issue": {
                "id": issue.id(),
                "self": format!("{}/rest/api/2/issue/{}", self.base, issue.id()),
                "key": issue.key,
                "fields": issue.fields_json(),
            }
        });
        if !self.changes.is_empty() {
            payload["changelog"] = json!({
                "id": format!("{}", 20000 + timestamp.timestamp_millis() % 100_000),
                "items": self.changes.iter().map(changelog_item).collect::<Vec<_>>()
            });
        }
        payload
    }

    /// One delivery of this webhook: the body fixed, a fresh identifier, retry 0.
    pub fn delivery(&self) -> JiraDelivery {
        let body = serde_json::to_vec(&self.payload()).expect("a payload serialises");
        let signature = match &self.signing {
            Signing::Secret(secret) => Some(signature_header(secret, &body)),
            Signing::Header(header) => Some(header.clone()),
            Signing::Unsigned => None,
        };
        JiraDelivery {
            body,
            signature,
            identifier: Some(Uuid::new_v4().to_string()),
            retry: 0,
        }
    }
}

/// One delivery as Jira POSTs it; send it again with [`Self::redelivery`].
#[derive(Debug, Clone)]
pub struct JiraDelivery {
    /// The raw body, exactly as signed.
    pub body: Vec<u8>,
    /// `X-Hub-Signature`, if sent.
    pub signature: Option<String>,
    /// `X-Atlassian-Webhook-Identifier`, if sent: the same on every retry.
    pub identifier: Option<String>,
    /// `X-Atlassian-Webhook-Retry`: 0 on the first attempt.
    pub retry: u32,
}

impl JiraDelivery {
    /// Jira retrying this delivery: same body, signature and identifier, retry + 1.
    pub fn redelivery(&self) -> Self {
        Self {
            retry: self.retry + 1,
            ..self.clone()
        }
    }

    /// Sent without `X-Atlassian-Webhook-Identifier` (a Jira that does not send one).
    pub fn without_identifier(self) -> Self {
        Self {
            identifier: None,
            ..self
        }
    }

    /// POSTs the delivery to `url` like Jira; the status the bridge answered.
    pub async fn send(&self, url: &str) -> StatusCode {
        let mut request = reqwest::Client::new()
            .post(url)
            .header("Content-Type", "application/json; charset=UTF-8")
            .header("User-Agent", "Atlassian Webhook HTTP Client")
            .header("X-Atlassian-Webhook-Retry", self.retry.to_string())
            .body(self.body.clone());
        if let Some(signature) = &self.signature {
            request = request.header("X-Hub-Signature", signature);
        }
        if let Some(identifier) = &self.identifier {
            request = request.header("X-Atlassian-Webhook-Identifier", identifier);
        }
        request
            .send()
            .await
            .expect("the bridge answers webhook deliveries")
            .status()
    }

    /// Sends the delivery and then `retries` redeliveries of it, one after another;
    /// the statuses, first attempt first.
    pub async fn send_with_retries(&self, url: &str, retries: u32) -> Vec<StatusCode> {
        let mut statuses = vec![self.send(url).await];
        let mut attempt = self.clone();
        for _ in 0..retries {
            attempt = attempt.redelivery();
            statuses.push(attempt.send(url).await);
        }
        statuses
    }
}

/// Sends `deliveries` one after another in the order given (e.g. newest first, to play
/// Jira's missing order guarantee); the statuses, in that order.
pub async fn send_in_order(url: &str, deliveries: &[&JiraDelivery]) -> Vec<StatusCode> {
    let mut statuses = Vec::new();
    for delivery in deliveries {
        statuses.push(delivery.send(url).await);
    }
    statuses
}
