//! Integration tests: the real app on port 0 against fake Test Manager and
//! fake Jira servers (wiremock), checking what the fakes received.

mod access;
mod bad_input;
mod cli;
mod contract;
mod create_defect;
mod dashboards;
mod deploy;
mod evidence;
mod exactly_once;
mod faults;
mod hostile;
mod kpis;
mod ledger_outage;
mod operations;
mod operator_page;
mod process;
mod startup;
mod support;
mod writeback;
mod writeback_fakes;
