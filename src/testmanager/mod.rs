//! Client side of UiPath Test Manager: everything the bridge reads from it.
//!
//! Owns the [`TestManager`] port (what the rest of the bridge may ask) and
//! its HTTP implementation, [`TestManagerClient`]. Layout, one concept per file:
//! - `port`: the [`TestManager`] trait and the file types crossing it;
//! - `connection`: where Test Manager is, its credentials, URL building;
//! - `token`: the OAuth2 client-credentials token cache;
//! - `model`: the API's JSON shapes and [`FailureDetails`];
//! - `client/`: the calls, and how they are combined and overlapped (its own layout in `client/mod.rs`);
//! - `defect`: the defect record write-back updates, and where it lives;
//! - `error`: [`TestManagerError`].

mod client;
mod connection;
mod defect;
mod error;
mod model;
mod port;
mod token;
pub mod webhook;

pub use client::{TestManagerClient, LOG_PAGE_SIZE};
pub use connection::{default_token_url, TestManagerConnection};
pub use defect::{
    defect_id, DefectApi, DefectUpdate, TmDefect, DEFAULT_DEFECT_PATH, DEFAULT_PRIORITY_FIELD,
    DEFAULT_STATUS_FIELD,
};
pub use error::TestManagerError;
pub use model::{
    Assertion, FailureDetails, LogTestCase, Paged, Paging, Project, TestCase, TestCaseLog,
    TestExecution,
};
pub use port::{Artifact, Download, LogAttachment, TestManager};
pub use token::{AccessToken, TokenCache};

#[cfg(test)]
mod tests;
