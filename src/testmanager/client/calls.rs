//! Every kind of call the client makes: its name in errors and logs, the
//! scope the External Application needs for it, and the `Accept` values sent.

/// Accept header of calls answered with JSON.
pub(super) const JSON: &str = "application/json";
// The markdown endpoint's content type is not documented: take either.
pub(super) const JSON_OR_TEXT: &str =
    "application/json, text/plain;q=0.9, text/markdown;q=0.9, */*;q=0.5";

/// One kind of API call: its name in errors and logs, and the scope the
/// External Application needs for it (named when Test Manager refuses).
#[derive(Clone, Copy)]
pub(super) struct Call {
    pub(super) name: &'static str,
    pub(super) scope: &'static str,
}

// There is no TM.TestCaseLogs scope: logs, assertions and robot logs are read
// under TM.TestExecutions (inferred from UiPath's scope list; nothing documents a logs scope).
pub(super) const LOGS_PAGED: Call = Call {
    name: "GET testcaselogs paged",
    scope: "TM.TestExecutions.Read",
};
pub(super) const GET_TEST_CASE: Call = Call {
    name: "GET testcases",
    scope: "TM.TestCases.Read",
};
pub(super) const GET_EXECUTION: Call = Call {
    name: "GET testexecutions",
    scope: "TM.TestExecutions.Read",
};
pub(super) const GET_ASSERTIONS: Call = Call {
    name: "GET testcaselogs assertions",
    scope: "TM.TestExecutions.Read",
};
pub(super) const GET_ASSERTIONS_MARKDOWN: Call = Call {
    name: "GET testcaselogs assertions markdown",
    scope: "TM.TestExecutions.Read",
};
pub(super) const GET_ROBOT_LOGS: Call = Call {
    name: "GET testcaselogs robotlogs info",
    scope: "TM.TestExecutions.Read",
};
pub(super) const GET_SCREENSHOT: Call = Call {
    name: "GET assertion screenshot",
    scope: "TM.TestExecutions.Read",
};
pub(super) const GET_ROBOT_LOG_FILE: Call = Call {
    name: "GET testcaselogs logs",
    scope: "TM.TestExecutions.Read",
};
pub(super) const GET_ATTACHMENT: Call = Call {
    name: "GET attachments download",
    scope: "TM.Attachments.Read",
};
pub(super) const LIST_ATTACHMENTS: Call = Call {
    name: "GET attachments of a test case log",
    scope: "TM.Attachments.Read",
};
pub(super) const GET_PROJECT_BY_PREFIX: Call = Call {
    name: "GET projects prefix",
    scope: "TM.Projects.Read",
};

pub(super) const GET_DEFECT: Call = Call {
    name: "GET defect",
    scope: "TM.Defects.Read",
};
pub(super) const PATCH_DEFECT: Call = Call {
    name: "PATCH defect",
    scope: "TM.Defects.Write",
};
