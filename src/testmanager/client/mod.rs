//! The HTTP implementation of the [`TestManager`](super::TestManager) port.
//!
//! Owns [`TestManagerClient`]: building `api/v2` URLs under the configured
//! base, attaching the bearer token (renewing it once on a 401), mapping
//! responses to [`TestManagerError`](super::TestManagerError), and the sequence
//! of calls that gathers a [`FailureDetails`](super::FailureDetails) with
//! independent calls running at the same time. Layout, one concept per file:
//! - `handle`: [`TestManagerClient`] itself, what it holds and how it is built;
//! - `calls`: every kind of call, with the scope Test Manager wants for it;
//! - `send`: one request with the token, its retries, and its status mapped;
//! - `decode`: reading JSON answers into the API's shapes;
//! - `logs`: listing a result's logs and choosing the latest run;
//! - `failure`: gathering a failure's details;
//! - `downloads`: streaming a log's files and listing its attachments;
//! - `defects`: reading and updating defects, and finding a result's defect;
//! - `projects`: resolving a project prefix;
//! - `port_impl`: which of the above answers each [`TestManager`](super::TestManager) method.

mod calls;
mod decode;
mod defects;
mod downloads;
mod failure;
mod handle;
mod logs;
mod port_impl;
mod projects;
mod send;

pub use handle::TestManagerClient;
pub use logs::LOG_PAGE_SIZE;
