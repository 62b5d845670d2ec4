#![warn(missing_docs)]
//! tm-defect-bridge: UiPath Test Manager's WebHooks connection, answered from Jira.
//!
//! Test Manager calls the bridge when a user presses *Create Defect* on a
//! failed result; the bridge fetches the failure from Test Manager, renders a
//! Jira issue through the project's mapping file, creates it exactly once,
//! links it back, and answers with a defect payload. When the Test Manager
//! dashboard refreshes, the bridge answers the project's defect counts from
//! Jira, cached.
//!
//! # Layout
//!
//! Data flows one way: [`http`] → use cases ([`defects`], [`kpis`]) → ports
//! ([`testmanager`], [`tracker`], [`ledger`], [`mapping`]).
//!
//! - [`config`] — `bridge.toml` with `BRIDGE_*` overrides; secrets.
//! - [`admin`] — the `check` and `preview` commands.
//! - [`adapters`] — builds the Jira and Test Manager adapters with the outbound HTTP policy.
//! - [`startup`] — builds the adapters and use cases, binds the listener.
//! - [`http`] — actix-web routes, webhook auth, problem+json.
//! - [`defects`] — the Create Defect use case.
//! - [`evidence`] — screenshots, robot logs and attachments streamed to the issue from a queue in the ledger.
//! - [`kpis`] — the Defect KPIs use case: counts from mapping JQL, cache, status.
//! - [`writeback`] — Jira's status and priority written back to Test Manager's defects.
//! - [`mapping`] — mapping files, the `Failure` template model, rendering to a Markdown draft, plain-text rules.
//! - [`testmanager`] — the webhook contract and the Test Manager REST client.
//! - [`tracker`] — the `DefectTracker` port and its Jira adapter, which owns Markdown → ADF / wiki.
//! - [`ledger`] — which result maps to which issue, and the evidence and write-back queues (SQLite or PostgreSQL).
//! - [`byte_stream`] — the `ByteStream` files travel in from Test Manager to the tracker.
//! - [`result_key`] — the identity of a Test Manager result and its Jira label.
//! - [`outbound`] — the retry schedule and concurrency caps shared by the Jira and Test Manager adapters.
//! - [`metrics`] — Prometheus metric names and the recorder.
//! - [`readiness`] — background probes behind `/readyz`.
//! - [`reload`] — mapping reload on SIGHUP or change.
//! - [`telemetry`] — logging, with webhook secrets redacted from request paths.
//!

pub mod admin;
pub mod byte_stream;
pub mod config;
pub mod defects;
pub mod evidence;
pub mod http;
pub mod kpis;
pub mod ledger;
pub mod mapping;
pub mod metrics;
pub mod outbound;
pub mod result_key;
pub mod servable;
pub mod startup;
pub mod telemetry;
pub mod testmanager;
pub mod tracker;
pub mod worker_signal;
pub mod writeback;
