//! An issue's fields as Jira answers them, and how a change moves them: every change
//! stamps `updated` from the fake's clock and remembers which fields it changed (what a
//! webhook's `changelog` lists).

use super::clock::jira_time;
use super::FakeIssue;
use serde_json::{json, Map, Value};

/// One changed field of a change, as a webhook's `changelog.items[]` names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeItem {
    /// `status`, `priority` or `resolution`.
    pub field: String,
    /// The value before (`fromString`); `None` when it was empty.
    pub from: Option<String>,
    /// The value after (`toString`); `None` when it was cleared.
    pub to: Option<String>,
}

/// The display name Jira gives a status category key.
fn category_name(key: &str) -> &'static str {
    match key {
        "done" => "Done",
        "indeterminate" => "In Progress",
        _ => "To Do",
    }
}

impl FakeIssue {
    /// Status category `done`?
    pub fn done(&self) -> bool {
        self.status_category == "done"
    }

    /// Jira's numeric id of the issue, as text (`SHOP-7` is `10007`).
    pub fn id(&self) -> String {
        let number: u32 = self
            .key
            .rsplit('-')
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        format!("{}", 10000 + number)
    }

    /// A change to no tracked field (a comment, an upload, an edit): only `updated` moves.
    pub fn touch(&mut self) {
        self.updated = self.clock.stamp();
        self.last_changes.clear();
    }

    /// Moves the issue to status `name` of category `category` (`new`, `indeterminate`, `done`).
    pub fn set_status(&mut self, name: &str, category: &str) {
        let item = changed("status", Some(&self.status), Some(name));
        self.status = name.to_owned();
        self.status_category = category.to_owned();
        self.changed(vec![item]);
    }

    /// Sets the priority by name.
    pub fn set_priority(&mut self, name: &str) {
        let item = changed("priority", Some(&self.priority), Some(name));
        self.priority = name.to_owned();
        self.changed(vec![item]);
    }

    /// Sets or clears the resolution.
    pub fn set_resolution(&mut self, name: Option<&str>) {
        let item = changed("resolution", self.resolution.as_deref(), name);
        self.resolution = name.map(str::to_owned);
        self.changed(vec![item]);
    }

    /// A workflow transition: status and resolution in one change, as Jira records it.
    pub fn transition(&mut self, status: &str, category: &str, resolution: Option<&str>) {
        let mut items = vec![changed("status", Some(&self.status), Some(status))];
        if self.resolution.as_deref() != resolution {
            items.push(changed(
                "resolution",
                self.resolution.as_deref(),
                resolution,
            ));
        }
        self.status = status.to_owned();
        self.status_category = category.to_owned();
        self.resolution = resolution.map(str::to_owned);
        self.changed(items);
    }

    fn changed(&mut self, items: Vec<ChangeItem>) {
        self.touch();
        self.last_changes = items;
    }

    /// The issue's fields as Jira answers them (every field the fake knows).
    pub fn fields_json(&self) -> Value {
        json!({
            "summary": self.body["fields"]["summary"],
            "description": self.body["fields"]["description"],
            "status": {"name": self.status, "statusCategory": {
                "key": self.status_category, "name": category_name(&self.status_category)
            }},
            "priority": {"name": self.priority},
            "resolution": self.resolution.as_ref().map(|name| json!({"name": name})),
            "updated": jira_time(self.updated),
            "labels": self.labels,
            "attachment": self.attachments.iter().enumerate().map(|(i, (name, bytes))| json!({
                "id": format!("{}", 30000 + i), "filename": name, "size": bytes.len(),
                "author": {"accountId": "5b10", "displayName": "Bridge"}
            })).collect::<Vec<_>>()
        })
    }

    /// The issue as `GET issue/{key}` or a search answers it: `id`, `key` and the
    /// `wanted` fields only (Jira leaves out fields not asked for; `None`, `*all`
    /// and `*navigable` mean every field).
    pub fn json(&self, wanted: Option<&[String]>) -> Value {
        let fields = self.fields_json();
        let fields = match wanted {
            Some(names) if !names.iter().any(|n| n == "*all" || n == "*navigable") => {
                let all = fields.as_object().cloned().unwrap_or_default();
                let kept: Map<String, Value> = all
                    .into_iter()
                    .filter(|(name, _)| names.iter().any(|n| n == name))
                    .collect();
                Value::Object(kept)
            }
            _ => fields,
        };
        json!({"id": self.id(), "key": self.key, "fields": fields})
    }
}

fn changed(field: &str, from: Option<&str>, to: Option<&str>) -> ChangeItem {
    ChangeItem {
        field: field.to_owned(),
        from: from.map(str::to_owned),
        to: to.map(str::to_owned),
    }
}
