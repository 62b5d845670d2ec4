//! The failed results the stand-in Test Manager holds: four test cases of the
//! example project, each with a failed assertion and its screenshot, a robot
//! log with an error, and a file attached to the test case log.

use crate::support::{FakeTestManager, SeededCase, SeededResult};
use serde_json::json;
use uuid::Uuid;

/// A seeded failure: the ids Test Manager sends and the test case behind them.
pub struct Seeded {
    pub result: SeededResult,
    pub case: SeededCase<'static>,
}

/// Files each issue gets: the failed assertion's screenshot, the robot log and
/// one attachment of the test case log.
pub const EVIDENCE_FILES: usize = 3;

const SCREENSHOT: &[u8] = include_bytes!("screenshot.png");

const CASES: [SeededCase<'static>; 4] = [
    SeededCase {
        message: "Expected 'Card declined' but found 'Thank you for your order'",
        ..SeededCase::CHECKOUT
    },
    SeededCase {
        key: "SHOP:17",
        name: "Account locks after three wrong passwords",
        description: "The fourth attempt must be refused.",
        labels: &["login", "smoke"],
        execution: "Nightly regression",
        host: "WIN-TEST-02",
        message: "Expected 'Account locked' after 3 attempts but the 4th attempt signed in",
        payload: "attempts=4",
    },
    SeededCase {
        key: "SHOP:63",
        name: "Search finds products by partial name",
        description: "Typing part of a name lists the matching products.",
        labels: &["search"],
        execution: "Release 4.2 acceptance",
        host: "WIN-TEST-01",
        message: "Expected at least 1 result for 'blu' but found 0",
        payload: "query=blu",
    },
    SeededCase {
        key: "SHOP:88",
        name: "Invoice PDF shows the VAT number",
        description: "Business customers need the VAT number on every invoice.",
        labels: &["invoice"],
        execution: "Release 4.2 acceptance",
        host: "WIN-TEST-03",
        message: "Expected 'VAT DE123456789' in invoice.pdf but it was missing",
        payload: "file=invoice.pdf",
    },
];

/// A test case whose latest run passed: Create Defect refuses it.
const PASSED: SeededCase<'static> = SeededCase {
    key: "SHOP:5",
    name: "Guest can browse the catalogue",
    description: "No sign-in needed to see the products.",
    labels: &["catalogue"],
    execution: "Nightly regression",
    host: "WIN-TEST-01",
    message: "All assertions passed",
    payload: "",
};

/// Seeds a result that passed, to see how the bridge refuses it (a
/// problem+json answer, listed under Failures on the operator page).
pub async fn passed_result(tm: &FakeTestManager) -> Seeded {
    let result = SeededResult {
        execution_id: Uuid::from_u128(0x5a4d_b0c5_0000_4000_8000_0000_0000_0005),
        test_case_id: Uuid::from_u128(0x5a4d_b0c5_0000_4000_8000_0000_0001_0005),
        variation_id: None,
        log_id: Uuid::from_u128(0x5a4d_b0c5_0000_4000_8000_0000_0002_0005),
        defect_id: None,
    };
    tm.seed_case(&result, "Passed", &PASSED).await;
    Seeded {
        result,
        case: PASSED,
    }
}

/// Seeds [`CASES`] as failed results with their evidence. The ids are fixed,
/// so the printed `curl` lines work from one sandbox run to the next.
pub async fn failed_results(tm: &FakeTestManager) -> Vec<Seeded> {
    let mut seeded = Vec::new();
    for (n, case) in CASES.into_iter().enumerate() {
        let n = n as u128 + 1;
        let result = SeededResult {
            execution_id: Uuid::from_u128(0x5a4d_b0c5_0000_4000_8000_0000_0000_0000 + n),
            test_case_id: Uuid::from_u128(0x5a4d_b0c5_0000_4000_8000_0000_0001_0000 + n),
            variation_id: None,
            log_id: Uuid::from_u128(0x5a4d_b0c5_0000_4000_8000_0000_0002_0000 + n),
            defect_id: None,
        };
        tm.seed_case(&result, "Failed", &case).await;
        let attachment_id = Uuid::from_u128(0x5a4d_b0c5_0000_4000_8000_0000_0003_0000 + n);
        let trace = json!({"page": "/checkout", "status": 200, "case": case.key});
        let trace = serde_json::to_vec_pretty(&trace).unwrap_or_default();
        let attachments = [(attachment_id.to_string(), "network-trace.json", trace)];
        let attachments: Vec<(&str, &str, Vec<u8>)> = attachments
            .iter()
            .map(|(id, name, bytes)| (id.as_str(), *name, bytes.clone()))
            .collect();
        tm.seed_evidence(&result, SCREENSHOT, &robot_log(&case), &attachments)
            .await;
        seeded.push(Seeded { result, case });
    }
    seeded
}

/// The run's robot log as Orchestrator gives it: a JSON array of entries, one an error.
fn robot_log(case: &SeededCase<'_>) -> Vec<u8> {
    let entry = |second: u32, level: &str, message: &str| {
        json!({
            "timeStamp": format!("2026-11-27T02:00:{second:02}Z"),
            "level": level,
            "message": message,
            "processName": "Shop.Tests",
        })
    };
    let entries = [
        entry(1, "Info", &format!("{} execution started", case.key)),
        entry(12, "Info", "Opened https://shop.example.com"),
        entry(31, "Warn", "The page took 4.2 s to load"),
        entry(47, "Error", case.message),
        entry(59, "Info", &format!("{} execution ended", case.key)),
    ];
    serde_json::to_vec(&entries).unwrap_or_default()
}
