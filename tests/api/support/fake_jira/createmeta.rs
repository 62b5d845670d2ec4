//! Create metadata in the fake Jira, for the start-up check of the mappings: project
//! SHOP's issue types (Bug, Task) and the fields of a Bug, paged like Jira (Cloud's
//! `issueTypes`/`fields`, Data Center's `values`).

use super::FakeJira;
use serde_json::{json, Value};
use tm_defect_bridge::config::JiraFlavour;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

impl FakeJira {
    /// Mounts `issue/createmeta/SHOP/issuetypes[/10001]`: a Bug has summary, issue type,
    /// project, priority (Highest … Lowest), components (Checkout), Environment, and
    /// `extra_fields`.
    pub async fn mount_createmeta(&self, extra_fields: Vec<Value>) {
        let rest = self.rest();
        let (types_key, fields_key) = match self.flavour {
            JiraFlavour::Cloud => ("issueTypes", "fields"),
            JiraFlavour::DataCenter => ("values", "values"),
        };
        Mock::given(method("GET"))
            .and(path(format!("{rest}/issue/createmeta/SHOP/issuetypes")))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                types_key: [{"id": "10001", "name": "Bug"}, {"id": "10002", "name": "Task"}],
                "startAt": 0, "maxResults": 200, "total": 2
            })))
            .mount(&self.server)
            .await;
        let mut fields = vec![
            json!({"fieldId": "summary", "name": "Summary", "required": true, "hasDefaultValue": false}),
            json!({"fieldId": "issuetype", "name": "Issue Type", "required": true, "hasDefaultValue": false}),
            json!({"fieldId": "project", "name": "Project", "required": true, "hasDefaultValue": false}),
            json!({"fieldId": "priority", "name": "Priority", "required": false, "hasDefaultValue": true,
               "allowedValues": [{"id": "1", "name": "Highest"}, {"id": "2", "name": "High"}, {"id": "3", "name": "Medium"}, {"id": "4", "name": "Low"}, {"id": "5", "name": "Lowest"}]}),
            json!({"fieldId": "components", "name": "Components", "required": false, "hasDefaultValue": false,
               "allowedValues": [{"id": "100", "name": "Checkout"}]}),
            json!({"fieldId": "customfield_10050", "name": "Environment", "required": false, "hasDefaultValue": false}),
        ];
        fields.extend(extra_fields);
        let total = fields.len();
        Mock::given(method("GET"))
            .and(path(format!(
                "{rest}/issue/createmeta/SHOP/issuetypes/10001"
            )))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                fields_key: fields, "startAt": 0, "maxResults": 200, "total": total
            })))
            .mount(&self.server)
            .await;
    }
}
