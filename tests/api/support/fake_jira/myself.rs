//! `GET myself` in the fake Jira: the bridge's sign-in probe. The flavour's credentials
//! (Basic with the bot's e-mail on Cloud, Bearer on Data Center) get the account; any
//! other gets Jira's empty 401.

use super::FakeJira;
use crate::support::{base64, JIRA_TOKEN};
use serde_json::json;
use tm_defect_bridge::config::JiraFlavour;
use wiremock::matchers::{method, path};
use wiremock::{Mock, Request, ResponseTemplate};

impl FakeJira {
    /// `GET myself`.
    pub(super) async fn mount_myself(&self) {
        let (rest, flavour) = (self.rest(), self.flavour);
        let expected_auth = match flavour {
            JiraFlavour::Cloud => {
                format!("Basic {}", base64(&format!("bot@example.com:{JIRA_TOKEN}")))
            }
            JiraFlavour::DataCenter => format!("Bearer {JIRA_TOKEN}"),
        };
        Mock::given(method("GET"))
            .and(path(format!("{rest}/myself")))
            .respond_with(move |request: &Request| {
                let given = request
                    .headers
                    .get("authorization")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default();
                if given == expected_auth {
                    ResponseTemplate::new(200).set_body_json(
                        json!({"accountId": "5b10", "name": "bridge", "displayName": "Bridge"}),
                    )
                } else {
                    // Jira answers a bad token with an empty 401.
                    ResponseTemplate::new(401)
                }
            })
            .mount(&self.server)
            .await;
    }
}
