//! The failed results the stand-in Test Manager holds: four test cases of the
//! example project, each with a failed assertion and its screenshot, a robot
//! log with an error, and a file attached to the test case log.

use crate::support::{FakeTestManager, SeededCase, SeededResult};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use uuid::Uuid;
use wiremock::matchers::{method, path};
use wiremock::{Mock, Request, Respond, ResponseTemplate};

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

/// More test cases, failed in the stand-in Test Manager but not printed: the
/// `/sandbox/next-failure` line hands them out one by one, so there is always a
/// new failure to send after editing a mapping. (A new run of a test case
/// that already has an open issue would become a comment on it, not an issue,
/// under the example mapping's repeat policy.)
const MORE_CASES: [(&str, &str, &[&str], &str); 12] = [
    (
        "SHOP:101",
        "Basket keeps items after sign-in",
        &["basket"],
        "Expected 3 items in the basket after sign-in but found 0",
    ),
    (
        "SHOP:102",
        "Coupon SAVE10 takes 10 % off",
        &["checkout"],
        "Expected total 90.00 but found 100.00",
    ),
    (
        "SHOP:103",
        "Password reset mail arrives",
        &["login"],
        "No mail to qa+reset@example.com within 60 s",
    ),
    (
        "SHOP:104",
        "Product page shows stock level",
        &["catalogue"],
        "Element 'stock-level' not found",
    ),
    (
        "SHOP:105",
        "Address form refuses an empty postcode",
        &["checkout"],
        "Expected an error for an empty postcode but the form was sent",
    ),
    (
        "SHOP:106",
        "Order history lists the last order",
        &["account"],
        "Expected order 10042 in the history but the list was empty",
    ),
    (
        "SHOP:107",
        "Search suggests as you type",
        &["search"],
        "Expected suggestions after 3 letters but none appeared",
    ),
    (
        "SHOP:108",
        "Newsletter sign-up confirms by mail",
        &["account"],
        "Confirmation link answered 500",
    ),
    (
        "SHOP:109",
        "Currency switch shows prices in EUR",
        &["catalogue"],
        "Expected '€' in the price but found '$'",
    ),
    (
        "SHOP:110",
        "Gift wrap adds 2.50 to the total",
        &["checkout"],
        "Expected 102.50 but found 100.00",
    ),
    (
        "SHOP:111",
        "Returns form accepts a photo",
        &["account"],
        "Upload of returns-photo.jpg timed out after 30 s",
    ),
    (
        "SHOP:112",
        "Wish list survives sign-out",
        &["account"],
        "Expected 2 items on the wish list but found 0",
    ),
];

/// Seeds [`CASES`] as failed results with their evidence. The ids are fixed,
/// so the printed `curl` lines work from one sandbox run to the next.
pub async fn failed_results(tm: &FakeTestManager) -> Vec<Seeded> {
    let mut seeded = Vec::new();
    for (n, case) in CASES.into_iter().enumerate() {
        seeded.push(seed_failure(tm, n as u128 + 1, case).await);
    }
    seeded
}

/// Seeds [`MORE_CASES`] and mounts `POST /sandbox/next-failure` on the stand-in
/// Test Manager, which answers the Create Defect body of the next one (410
/// once all were handed out); returns that URL.
pub async fn mount_new_failures(tm: &FakeTestManager) -> String {
    let mut bodies = Vec::new();
    for (n, (key, name, labels, message)) in MORE_CASES.into_iter().enumerate() {
        let case = SeededCase {
            key,
            name,
            description: "",
            labels,
            execution: "Nightly regression",
            host: "WIN-TEST-02",
            message,
            payload: "",
        };
        bodies.push(
            seed_failure(tm, 0x100 + n as u128, case)
                .await
                .result
                .body(),
        );
    }
    Mock::given(method("POST"))
        .and(path("/sandbox/next-failure"))
        .respond_with(NextFailure {
            bodies,
            next: AtomicUsize::new(0),
        })
        .mount(&tm.server)
        .await;
    format!("{}/sandbox/next-failure", tm.server.uri())
}

/// Hands out the Create Defect bodies of the unsent failures, in order.
struct NextFailure {
    bodies: Vec<Value>,
    next: AtomicUsize,
}

impl Respond for NextFailure {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        match self.bodies.get(self.next.fetch_add(1, Ordering::SeqCst)) {
            Some(body) => ResponseTemplate::new(200).set_body_json(body),
            None => ResponseTemplate::new(410).set_body_json(json!({
                "title": "No more new failures",
                "detail": format!("all {} were handed out; restart the sandbox for more", self.bodies.len()),
            })),
        }
    }
}

/// Seeds `case` as failed result number `n` (its ids derive from `n`) with evidence.
async fn seed_failure(tm: &FakeTestManager, n: u128, case: SeededCase<'static>) -> Seeded {
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
    Seeded { result, case }
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
