//! What the integration tests stand on: the bridge spawned on port 0 ([`spawn_app`]) and
//! fakes of Test Manager and Jira that behave like the real services as Atlassian's and UiPath's
//! documentation describe them (status codes, error bodies, paging), recording what they received.
//!
//! - [`app`] — `spawn_app(AppOptions)`, the settings it starts the bridge with, ledgers.
//! - [`fake_testmanager`] — seeded results, their failure details and evidence.
//! - [`tm_defects`] — Test Manager's defects as write-back reads and PATCHes them.
//! - [`fake_jira`] — issues, comments, uploads, transitions, search, counts, create
//!   metadata, and changes a Jira user makes (status, priority, resolution, deletion).
//! - [`jira_webhook`] — signed Jira webhook deliveries, sent like Jira sends them.
//! - [`multipart`] — reads the `multipart/form-data` bodies the bridge uploads.
//! - [`schema`] — checks bodies against Atlassian's Jira Cloud OpenAPI document.
//! - [`proxy`] — a TCP proxy that can be killed and restarted on the same address.

pub mod app;
pub mod base64;
pub mod fake_jira;
pub mod fake_testmanager;
pub mod jira_webhook;
pub mod multipart;
pub mod proxy;
pub mod schema;
pub mod tm_defects;

pub use app::*;
pub use base64::base64;
pub use fake_jira::*;
pub use fake_testmanager::*;
pub use jira_webhook::*;
pub use multipart::*;
pub use proxy::*;
pub use schema::*;

/// The Test Manager project the SHOP mapping serves.
pub const PROJECT_ID: &str = "6c1f0b4e-3f7a-4b8e-9a51-2f0c8d7e1a42";
/// The webhook secret of route `shop`.
pub const SECRET: &str = "hook-secret-1234";
/// The Jira API token the bridge signs in with (and the fake Jira accepts).
pub const JIRA_TOKEN: &str = "jira-token-abcdef";
/// The secret the fake Jira signs its webhook deliveries with (`X-Hub-Signature`).
pub const JIRA_WEBHOOK_SECRET: &str = "jira-webhook-secret-5678";
/// The Test Manager client secret.
pub const TM_SECRET: &str = "tm-client-secret-xyz";
/// Where Test Manager's API lives under the fake's address.
pub const TM_PREFIX: &str = "/org/tenant/testmanager_";

/// The SHOP project's mapping (`tests/fixtures/shop.toml`), route `shop`.
pub const MAPPING: &str = include_str!("../../fixtures/shop.toml");
