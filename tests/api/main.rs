//! Integration tests: the real app on port 0 against fake Test Manager and
//! fake Jira servers (wiremock), checking what the fakes received.

mod bad_input;
mod create_defect;
mod helpers;
mod jira_counts;
mod kpis;
