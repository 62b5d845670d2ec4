//! Test Manager's defect records in the fake: `GET` and `PATCH
//! {tm}/api/v2/{projectId}/defects/{defectId}` (REFERENCE.md §6), stateful, behind the
//! bearer token. An unknown defect is a 404; a PATCH sets the `status` and `priority` it
//! carries and answers the defect (or 204, if a test asks). Faults: the next N PATCHes
//! refused with 503 (a gateway's HTML page) or 429 (`Retry-After: 1`), and a defect the
//! bridge's scope may not touch (403, empty body, as Test Manager's edge answers).
//! Every PATCH is in wiremock's record ([`FakeTestManager::defect_patches`]); those
//! answered 2xx are also kept in order ([`FakeTestManager::defect_writes`]).

use super::{FakeTestManager, TM_PREFIX};
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use wiremock::matchers::path_regex;
use wiremock::{Mock, Request, Respond, ResponseTemplate};

/// The defects a fake Test Manager holds, and the faults of their endpoint.
#[derive(Debug, Default)]
pub struct TmDefects {
    /// Defect JSON by (project id, defect id).
    held: HashMap<(String, String), Value>,
    /// PATCHes answered 2xx: (defect id, body), in order.
    written: Vec<(String, Value)>,
    /// The next N PATCHes answer this status and change nothing.
    failing_patches: Option<(u16, u32)>,
    /// Defects whose GET and PATCH answer 403 with an empty body.
    forbidden: HashSet<String>,
    /// PATCH answers 204 without a body instead of 200 with the defect.
    no_content: bool,
}

/// `…/api/v2/{projectId}/defects/{defectId}` as a regex capturing both ids.
fn defect_path_pattern() -> String {
    format!("^{TM_PREFIX}/api/v2/([^/]+)/defects/([^/]+)$")
}

/// The (project id, defect id) of a defect path.
fn ids(path: &str) -> Option<(String, String)> {
    let rest = path.strip_prefix(&format!("{TM_PREFIX}/api/v2/"))?;
    match rest.split('/').collect::<Vec<_>>()[..] {
        [project, "defects", defect] if !project.is_empty() && !defect.is_empty() => {
            Some((project.to_owned(), defect.to_owned()))
        }
        _ => None,
    }
}

struct DefectResponder {
    defects: Arc<Mutex<TmDefects>>,
}

impl Respond for DefectResponder {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let bearer = request
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok());
        if bearer != Some("Bearer tm-access-token") {
            return ResponseTemplate::new(401);
        }
        let Some((project, defect)) = ids(request.url.path()) else {
            return ResponseTemplate::new(404);
        };
        let mut defects = self.defects.lock().unwrap();
        if defects.forbidden.contains(&defect) {
            return ResponseTemplate::new(403);
        }
        let patch = request.method.as_str() == "PATCH";
        if patch {
            if let Some(refusal) = defects.refuse_patch() {
                return refusal;
            }
        }
        let no_content = defects.no_content;
        let Some(held) = defects.held.get_mut(&(project, defect.clone())) else {
            return ResponseTemplate::new(404).set_body_json(json!({
                "type": "https://tools.ietf.org/html/rfc9110#section-15.5.5",
                "title": "Not Found", "status": 404,
                "detail": format!("Defect {defect} was not found.")
            }));
        };
        if !patch {
            return ResponseTemplate::new(200).set_body_json(held.clone());
        }
        let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(&request.body) else {
            return ResponseTemplate::new(400).set_body_json(json!({
                "title": "One or more validation errors occurred.", "status": 400
            }));
        };
        for field in ["status", "priority"] {
            if let Some(value) = body.get(field) {
                held[field] = value.clone();
            }
        }
        let answer = held.clone();
        defects.written.push((defect, Value::Object(body)));
        if no_content {
            ResponseTemplate::new(204)
        } else {
            ResponseTemplate::new(200).set_body_json(answer)
        }
    }
}

impl TmDefects {
    /// The refusal of the next PATCH, if one is due (counts it down).
    fn refuse_patch(&mut self) -> Option<ResponseTemplate> {
        let (status, left) = self.failing_patches.as_mut()?;
        if *left == 0 {
            return None;
        }
        *left -= 1;
        Some(match *status {
            429 => ResponseTemplate::new(429).insert_header("Retry-After", "1"),
            503 => ResponseTemplate::new(503).set_body_raw(
                "<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>",
                "text/html",
            ),
            other => ResponseTemplate::new(other),
        })
    }
}

impl FakeTestManager {
    /// `GET`/`PATCH defects/{id}` of any project, answering from [`Self::defects`].
    pub(super) async fn mount_defects(&self) {
        Mock::given(path_regex(defect_path_pattern()))
            .respond_with(DefectResponder {
                defects: self.defects.clone(),
            })
            .mount(&self.server)
            .await;
    }

    /// Test Manager holds defect `defect_id` in project `project_id` (status `New`,
    /// priority `Medium`, not yet linked, `syncStatus` `None`).
    pub fn mount_defect(&self, project_id: &str, defect_id: &str) {
        let defect = json!({
            "id": defect_id, "name": "Checkout with an expired card failed",
            "status": "New", "priority": "Medium", "link": null, "linkLabel": null,
            "syncStatus": "None"
        });
        self.defects
            .lock()
            .unwrap()
            .held
            .insert((project_id.to_owned(), defect_id.to_owned()), defect);
    }

    /// Defect `defect_id` as Test Manager holds it now (any project).
    pub fn defect(&self, defect_id: &str) -> Option<Value> {
        let defects = self.defects.lock().unwrap();
        defects
            .held
            .iter()
            .find(|((_, id), _)| id == defect_id)
            .map(|(_, defect)| defect.clone())
    }

    /// The next `times` PATCHes answer `status` (429 with `Retry-After: 1`; 503 with a
    /// gateway's HTML page) and change nothing; later ones succeed.
    pub fn fail_defect_patches(&self, status: u16, times: u32) {
        self.defects.lock().unwrap().failing_patches = Some((status, times));
    }

    /// Reading or updating `defect_id` answers 403 with an empty body (the External
    /// Application lacks `TM.Defects.*`).
    pub fn forbid_defect(&self, defect_id: &str) {
        self.defects
            .lock()
            .unwrap()
            .forbidden
            .insert(defect_id.to_owned());
    }

    /// A successful PATCH answers 204 without a body (instead of 200 with the defect).
    pub fn answer_defect_patches_without_content(&self) {
        self.defects.lock().unwrap().no_content = true;
    }

    /// Every defect PATCH received (refused ones too): (defect id, body), in arrival order.
    pub async fn defect_patches(&self) -> Vec<(String, Value)> {
        self.server
            .received_requests()
            .await
            .unwrap_or_default()
            .iter()
            .filter(|r| r.method.as_str() == "PATCH")
            .filter_map(|r| {
                let (_, defect) = ids(r.url.path())?;
                Some((defect, serde_json::from_slice(&r.body).unwrap_or_default()))
            })
            .collect()
    }

    /// The defect PATCHes that were answered 2xx (and so changed the defect), in order.
    pub fn defect_writes(&self) -> Vec<(String, Value)> {
        self.defects.lock().unwrap().written.clone()
    }
}
