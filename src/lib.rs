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
//! Data flows one way: [`http`] → use cases ([`status`], [`defects`], [`evidence`],
//! [`kpis`], [`writeback`]) → ports ([`testmanager`], [`tracker`], [`ledger`],
//! [`mapping`]). No two files import each other, directly or through others.
//! Modules in import order, each importing only modules listed after it:
//!
//! - [`admin`] — the commands behind the CLI: `serve`, `check`, `preview`, `ledger`.
//! - [`startup`] — the composition root: adapters, wiring, use cases, background
//!   tasks (readiness prober, mapping reload, queue workers, reconcile poller), the server.
//! - [`http`] — actix-web routes, Test Manager webhook auth, the Jira webhook route,
//!   `/readyz`, `/metrics`, the operator's page (`/`, `/operator.json`), problem+json.
//! - [`status`] — what the bridge has done and where it stands, for the operator's page:
//!   the view model gathered from the ports, the dependencies' readiness (also behind
//!   `/readyz` and `bridge_dependency_ready`), the last mapping check per file, the last
//!   Create Defect answers and the webhook calls refused before any use case ran.
//! - [`defects`] — the Create Defect use case (queues its evidence through [`evidence`]).
//! - [`evidence`] — screenshots, robot logs and attachments streamed to the issue from a queue in the ledger.
//! - [`kpis`] — the Defect KPIs use case: counts from mapping JQL, cache, status.
//! - [`writeback`] — Jira's status, priority, resolution and deletions written back to
//!   Test Manager's defects: webhook intake, queue worker, reconcile poller and sweep.
//! - [`servable`] — whether a set of mapping files can be served (secrets, templates, Jira metadata).
//! - [`testmanager`] — the Test Manager port, the webhook contract and the REST client.
//! - [`tracker`] — the `DefectTracker` port and its Jira adapter, which owns Markdown → ADF / wiki.
//! - [`outbound`] — the retry schedule and concurrency caps shared by the Jira and Test Manager adapters.
//! - [`ledger`] — which result maps to which issue, the evidence and write-back queues,
//!   delivery ids and poller watermarks (SQLite or PostgreSQL).
//! - [`mapping`] — mapping files, the `Failure` template model, rendering to a Markdown
//!   draft, plain-text rules, KPI and write-back rules.
//! - [`config`] — `bridge.toml` with `BRIDGE_*` overrides; secrets.
//! - [`metrics`] — Prometheus metric names and the recorder.
//! - [`result_key`] — the identity of a Test Manager result and its Jira label.
//! - [`secret_match`] — how every presented secret is compared with the configured one.
//! - [`byte_stream`] — the `ByteStream` files travel in from Test Manager to the tracker.
//! - [`worker_signal`] — wakes and stops a queue worker.
//! - [`telemetry`] — logging, with webhook secrets redacted from request paths.

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
pub mod secret_match;
pub mod servable;
pub mod startup;
pub mod status;
pub mod telemetry;
pub mod testmanager;
pub mod tracker;
pub mod worker_signal;
pub mod writeback;
