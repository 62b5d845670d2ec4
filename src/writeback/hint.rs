//! A verified Jira webhook body read as a hint: which issue, which event, what changed.
//!
//! Jira Cloud and Data Center send the same shape for issue events: `webhookEvent`,
//! `timestamp` (milliseconds), `issue` (`id`, `key`, `fields`) and, for updates, a
//! `changelog` whose items name the changed fields. The reader is lenient about
//! everything else in the body (Jira adds fields over time and the two flavours differ)
//! and strict about what the bridge needs: the event name and the issue key.
//!
//! A hint is never trusted for the values themselves: the write-back re-reads the issue
//! from Jira, because deliveries arrive late, twice and out of order.

use crate::tracker::parse_jira_time;
use chrono::{DateTime, TimeZone, Utc};
use serde::Deserialize;

use super::delivery::{DeliveryError, VerifiedDelivery};

/// `webhookEvent` of an issue change.
const ISSUE_UPDATED: &str = "jira:issue_updated";
/// `webhookEvent` of an issue deletion.
const ISSUE_DELETED: &str = "jira:issue_deleted";

/// Changelog fields that can change what Test Manager shows for a defect.
const DEFECT_FIELDS: [&str; 3] = ["status", "priority", "resolution"];

/// What a delivery reports happened to the issue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HintEvent {
    /// `jira:issue_updated`: re-read the issue and write what it says now.
    Updated,
    /// `jira:issue_deleted`: confirm the deletion with Jira, then write the deleted values.
    Deleted,
    /// Any other event (e.g. `jira:issue_created`, `comment_created`), named as Jira sent
    /// it: acknowledged and otherwise ignored.
    Ignored(String),
}

/// A verified delivery's body, reduced to what the write-back needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JiraHint {
    /// What happened.
    pub event: HintEvent,
    /// The issue's key, e.g. `SHOP-7` (its key at the time of the event).
    pub issue_key: String,
    /// Jira's numeric issue id as text, e.g. `10002`; stable when an issue moves project.
    pub issue_id: String,
    /// The issue's `fields.updated`, when the body carries it and it can be read.
    pub updated: Option<DateTime<Utc>>,
    /// The issue's labels, when the body carries them (empty otherwise).
    pub labels: Vec<String>,
    /// The delivery's `timestamp`: when Jira produced the event.
    pub timestamp: Option<DateTime<Utc>>,
    /// `changelog.items[].field`, in order (e.g. `status`, `priority`, `resolution`);
    /// empty when the body has no changelog.
    pub changed: Vec<String>,
}

/// The parts of a Jira webhook body that are read; everything else is ignored.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Payload {
    webhook_event: Option<String>,
    timestamp: Option<i64>,
    issue: Option<Issue>,
    changelog: Option<Changelog>,
}

#[derive(Deserialize)]
struct Issue {
    id: Option<IssueId>,
    key: Option<String>,
    #[serde(default)]
    fields: Option<Fields>,
}

/// Jira sends the id as text; some tools re-serialise it as a number.
#[derive(Deserialize)]
#[serde(untagged)]
enum IssueId {
    Text(String),
    Number(u64),
}

#[derive(Deserialize)]
struct Fields {
    updated: Option<String>,
    labels: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct Changelog {
    #[serde(default)]
    items: Vec<ChangelogItem>,
}

#[derive(Deserialize)]
struct ChangelogItem {
    field: Option<String>,
}

impl JiraHint {
    /// Reads `delivery`'s body. Fails with [`DeliveryError::Unreadable`] when it is not a
    /// JSON object of Jira's shape, and with [`DeliveryError::MissingField`] when it has no
    /// `webhookEvent`, `issue.key` or `issue.id`.
    pub fn parse(delivery: &VerifiedDelivery) -> Result<Self, DeliveryError> {
        Self::from_body(delivery.body())
    }

    fn from_body(body: &[u8]) -> Result<Self, DeliveryError> {
        let payload: Payload =
            serde_json::from_slice(body).map_err(|e| DeliveryError::Unreadable(e.to_string()))?;
        let event = match payload.webhook_event.as_deref().map(str::trim) {
            None | Some("") => return Err(DeliveryError::MissingField("webhookEvent")),
            Some(ISSUE_UPDATED) => HintEvent::Updated,
            Some(ISSUE_DELETED) => HintEvent::Deleted,
            Some(other) => HintEvent::Ignored(other.to_owned()),
        };
        let issue = payload
            .issue
            .ok_or(DeliveryError::MissingField("issue.key"))?;
        let issue_key = issue
            .key
            .map(|k| k.trim().to_owned())
            .filter(|k| !k.is_empty())
            .ok_or(DeliveryError::MissingField("issue.key"))?;
        let issue_id = match issue.id {
            Some(IssueId::Text(id)) if !id.trim().is_empty() => id.trim().to_owned(),
            Some(IssueId::Number(id)) => id.to_string(),
            _ => return Err(DeliveryError::MissingField("issue.id")),
        };
        let fields = issue.fields.unwrap_or(Fields {
            updated: None,
            labels: None,
        });
        Ok(Self {
            event,
            issue_key,
            issue_id,
            updated: fields.updated.as_deref().and_then(parse_jira_time),
            labels: fields.labels.unwrap_or_default(),
            timestamp: payload
                .timestamp
                .and_then(|ms| Utc.timestamp_millis_opt(ms).single()),
            changed: payload
                .changelog
                .map(|c| c.items.into_iter().filter_map(|i| i.field).collect())
                .unwrap_or_default(),
        })
    }

    /// Whether the event may change what Test Manager shows: a deletion, or an update
    /// whose changelog names status, priority or resolution (or has no changelog, so
    /// nothing can be ruled out). Other events and other field changes cannot.
    pub fn may_change_defect(&self) -> bool {
        match self.event {
            HintEvent::Deleted => true,
            HintEvent::Ignored(_) => false,
            HintEvent::Updated => {
                self.changed.is_empty()
                    || self.changed.iter().any(|field| {
                        DEFECT_FIELDS
                            .iter()
                            .any(|wanted| field.trim().eq_ignore_ascii_case(wanted))
                    })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::writeback::delivery::{signature_header, UnverifiedDelivery, WebhookSecrets};
    use bytes::Bytes;
    use proptest::prelude::*;
    use secrecy::SecretString;

    /// A Jira Cloud `jira:issue_updated` delivery (status moved to Done, resolution set),
    /// trimmed of avatar URLs but otherwise as Jira sends it.
    const CLOUD_UPDATED: &str = r#"{
      "timestamp": 1796536522123,
      "webhookEvent": "jira:issue_updated",
      "issue_event_type_name": "issue_generic",
      "user": {"self": "https://shop.atlassian.net/rest/api/2/user?accountId=5b10a2844c20165700ede21g", "accountId": "5b10a2844c20165700ede21g", "displayName": "Dana Dev", "active": true, "timeZone": "Europe/Berlin", "accountType": "atlassian"},
      "issue": {
        "id": "10002",
        "self": "https://shop.atlassian.net/rest/api/2/10002",
        "key": "SHOP-7",
        "fields": {
          "statuscategorychangedate": "2026-12-06T05:55:22.123+0000",
          "issuetype": {"id": "10004", "name": "Bug", "subtask": false},
          "project": {"id": "10000", "key": "SHOP", "name": "Web shop"},
          "resolution": {"id": "10000", "name": "Done"},
          "priority": {"id": "2", "name": "High"},
          "labels": ["test-manager", "tm-defect-bridge", "tm-result-4f2a9c0d1e3b5a77"],
          "status": {"id": "10002", "name": "Done", "statusCategory": {"id": 3, "key": "done", "name": "Done"}},
          "updated": "2026-12-06T05:55:22.123+0000",
          "created": "2026-11-30T09:12:01.000+0000",
          "summary": "[SHOP:42] Checkout failed in Nightly",
          "customfield_10020": null
        }
      },
      "changelog": {
        "id": "10123",
        "items": [
          {"field": "resolution", "fieldtype": "jira", "fieldId": "resolution", "from": null, "fromString": null, "to": "10000", "toString": "Done"},
          {"field": "status", "fieldtype": "jira", "fieldId": "status", "from": "10000", "fromString": "To Do", "to": "10002", "toString": "Done"}
        ]
      }
    }"#;

    /// A Jira Data Center `jira:issue_updated` delivery (priority raised): REST v2 shapes,
    /// user by name, no `fieldId`.
    const DATA_CENTER_UPDATED: &str = r#"{
      "timestamp": 1796536522000,
      "webhookEvent": "jira:issue_updated",
      "issue_event_type_name": "issue_updated",
      "user": {"self": "https://jira.example.com/rest/api/2/user?username=dana", "name": "dana", "key": "JIRAUSER10100", "displayName": "Dana Dev", "active": true},
      "issue": {
        "id": "20417",
        "self": "https://jira.example.com/rest/api/2/issue/20417",
        "key": "SHOP-118",
        "fields": {
          "priority": {"self": "https://jira.example.com/rest/api/2/priority/1", "name": "Blocker", "id": "1"},
          "labels": ["tm-defect-bridge", "tm-result-0a1b2c3d4e5f6071"],
          "status": {"name": "Open", "id": "1", "statusCategory": {"id": 2, "key": "new", "colorName": "blue-gray", "name": "To Do"}},
          "resolution": null,
          "updated": "2026-12-06T06:55:22.000+0100",
          "summary": "[SHOP:7] Login failed"
        }
      },
      "changelog": {
        "id": "45678",
        "items": [
          {"field": "priority", "fieldtype": "jira", "from": "3", "fromString": "Major", "to": "1", "toString": "Blocker"}
        ]
      }
    }"#;

    /// A Jira Cloud `jira:issue_deleted` delivery: no changelog.
    const CLOUD_DELETED: &str = r#"{
      "timestamp": 1796540000000,
      "webhookEvent": "jira:issue_deleted",
      "user": {"accountId": "5b10a2844c20165700ede21g", "displayName": "Dana Dev"},
      "issue": {
        "id": "10002",
        "key": "SHOP-7",
        "fields": {
          "labels": ["tm-defect-bridge", "tm-result-4f2a9c0d1e3b5a77"],
          "status": {"name": "Done"},
          "updated": "2026-12-06T05:55:22.123+0000"
        }
      }
    }"#;

    /// A Data Center `jira:issue_deleted` delivery, as sparse as Data Center sends it.
    const DATA_CENTER_DELETED: &str = r#"{"timestamp":1796540000000,"webhookEvent":"jira:issue_deleted","user":{"name":"dana"},"issue":{"id":"20417","key":"SHOP-118","fields":{"updated":"2026-12-06T06:55:22.000+0100"}}}"#;

    /// A comment event on a bridge issue.
    const COMMENT_CREATED: &str = r#"{"timestamp":1796536600000,"webhookEvent":"comment_created","comment":{"id":"10500","body":"Looking into it"},"issue":{"id":"10002","key":"SHOP-7","fields":{"summary":"x"}}}"#;

    const SECRET: &str = "wh-hint-tests";

    fn verified(body: &str) -> VerifiedDelivery {
        UnverifiedDelivery {
            body: Bytes::copy_from_slice(body.as_bytes()),
            signature: Some(signature_header(SECRET, body.as_bytes())),
            path_secret: None,
            identifier: Some("d1".into()),
            retry: None,
        }
        .verify(&WebhookSecrets::new(
            Some(SecretString::from(SECRET)),
            None,
            None,
        ))
        .unwrap()
    }

    fn hint(body: &str) -> Result<JiraHint, DeliveryError> {
        JiraHint::parse(&verified(body))
    }

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().to_utc()
    }

    #[test]
    fn updates_are_read_on_both_flavours() {
        for (body, key, id, updated, changed) in [
            (
                CLOUD_UPDATED,
                "SHOP-7",
                "10002",
                "2026-12-06T05:55:22.123Z",
                &["resolution", "status"][..],
            ),
            // Data Center: 06:55:22 at +01:00 is 05:55:22 UTC.
            (
                DATA_CENTER_UPDATED,
                "SHOP-118",
                "20417",
                "2026-12-06T05:55:22Z",
                &["priority"][..],
            ),
        ] {
            let h = hint(body).unwrap();
            assert_eq!(h.event, HintEvent::Updated);
            assert_eq!(h.issue_key, key);
            assert_eq!(h.issue_id, id);
            assert_eq!(h.updated, Some(utc(updated)));
            assert_eq!(h.changed, changed);
            assert!(h.labels.iter().any(|l| l.starts_with("tm-result-")));
            assert!(h.may_change_defect());
        }
        assert_eq!(
            hint(CLOUD_UPDATED).unwrap().timestamp,
            Some(utc("2026-12-06T05:55:22.123Z"))
        );
    }

    #[test]
    fn deletions_are_read_on_both_flavours() {
        for (body, key) in [(CLOUD_DELETED, "SHOP-7"), (DATA_CENTER_DELETED, "SHOP-118")] {
            let h = hint(body).unwrap();
            assert_eq!(h.event, HintEvent::Deleted);
            assert_eq!(h.issue_key, key);
            assert!(h.changed.is_empty());
            assert!(h.updated.is_some());
            assert!(h.may_change_defect());
        }
    }

    #[test]
    fn other_events_are_named_and_ignored() {
        let h = hint(COMMENT_CREATED).unwrap();
        assert_eq!(h.event, HintEvent::Ignored("comment_created".into()));
        assert_eq!(h.updated, None);
        assert!(h.labels.is_empty());
        assert!(!h.may_change_defect());
    }

    #[test]
    fn updates_of_unrelated_fields_cannot_change_the_defect() {
        let body = CLOUD_UPDATED
            .replace(r#""field": "resolution""#, r#""field": "summary""#)
            .replace(r#""field": "status""#, r#""field": "labels""#);
        let h = hint(&body).unwrap();
        assert_eq!(h.changed, ["summary", "labels"]);
        assert!(!h.may_change_defect());
        // Without a changelog nothing can be ruled out.
        let mut h = h;
        h.changed.clear();
        assert!(h.may_change_defect());
        h.changed = vec!["Priority".into()];
        assert!(h.may_change_defect());
    }

    #[test]
    fn what_the_bridge_needs_is_required() {
        assert_eq!(
            hint(r#"{"webhookEvent":"jira:issue_updated","issue":{"id":"1"}}"#),
            Err(DeliveryError::MissingField("issue.key"))
        );
        assert_eq!(
            hint(r#"{"webhookEvent":"jira:issue_updated","issue":{"id":"1","key":"  "}}"#),
            Err(DeliveryError::MissingField("issue.key"))
        );
        assert_eq!(
            hint(r#"{"webhookEvent":"jira:issue_updated"}"#),
            Err(DeliveryError::MissingField("issue.key"))
        );
        assert_eq!(
            hint(r#"{"webhookEvent":"jira:issue_updated","issue":{"key":"SHOP-1"}}"#),
            Err(DeliveryError::MissingField("issue.id"))
        );
        assert_eq!(
            hint(r#"{"issue":{"id":"1","key":"SHOP-1"}}"#),
            Err(DeliveryError::MissingField("webhookEvent"))
        );
        for bad in ["", "not json", "[]", r#"{"issue":{"key":7}}"#] {
            assert!(
                matches!(hint(bad), Err(DeliveryError::Unreadable(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn lenient_about_the_rest() {
        let h = hint(r#"{"webhookEvent":"jira:issue_updated","issue":{"id":10002,"key":"SHOP-7","fields":{"updated":"yesterday","labels":null}},"changelog":{"items":[{"to":"x"},{"field":"status"}]},"extra":{"nested":[1,2]}}"#).unwrap();
        assert_eq!(h.issue_id, "10002");
        assert_eq!(h.updated, None);
        assert!(h.labels.is_empty());
        assert_eq!(h.timestamp, None);
        assert_eq!(h.changed, ["status"]);
    }

    #[test]
    fn jira_and_rfc3339_times_are_read() {
        let expected = utc("2026-12-06T05:55:22Z");
        for text in [
            "2026-12-06T05:55:22.000+0000",
            "2026-12-06T05:55:22+0000",
            "2026-12-06T07:55:22.000+0200",
            "2026-12-06T00:55:22.000-0500",
            "2026-12-06T05:55:22Z",
            "2026-12-06T05:55:22.000+00:00",
            " 2026-12-06T05:55:22.000Z ",
        ] {
            assert_eq!(parse_jira_time(text), Some(expected), "{text}");
        }
        assert_eq!(
            parse_jira_time("2026-12-06T05:55:22.123+0000"),
            Some(utc("2026-12-06T05:55:22.123Z"))
        );
        for text in ["", "2026-12-06", "2026-12-06 05:55", "05:55:22.000+0000"] {
            assert_eq!(parse_jira_time(text), None, "{text}");
        }
    }

    proptest! {
        #[test]
        fn jira_format_round_trips(ms in 0i64..4_102_444_800_000, offset_min in -720i32..=840) {
            let t = Utc.timestamp_millis_opt(ms).unwrap();
            let zone = chrono::FixedOffset::east_opt(offset_min * 60).unwrap();
            let text = t.with_timezone(&zone).format("%Y-%m-%dT%H:%M:%S%.3f%z").to_string();
            prop_assert_eq!(parse_jira_time(&text), Some(t));
        }
    }
}
