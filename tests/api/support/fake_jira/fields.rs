//! `GET field` in the fake Jira: the field catalogue the bridge resolves custom field
//! names against (Environment and Steps to Reproduce are custom).

use super::FakeJira;
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

impl FakeJira {
    /// `GET field`.
    pub(super) async fn mount_fields(&self) {
        let rest = self.rest();
        Mock::given(method("GET"))
            .and(path(format!("{rest}/field")))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!([
                {"id": "summary", "name": "Summary", "custom": false, "schema": {"type": "string", "system": "summary"}},
                {"id": "customfield_10050", "name": "Environment", "custom": true, "schema": {"type": "option", "custom": "com.atlassian.jira.plugin.system.customfieldtypes:select", "customId": 10050}},
                {"id": "customfield_10051", "name": "Steps to Reproduce", "custom": true, "schema": {"type": "string", "custom": "com.atlassian.jira.plugin.system.customfieldtypes:textarea", "customId": 10051}}
            ])))
            .mount(&self.server)
            .await;
    }
}
