//! Parsing what follows `/hooks/{route}/`: an optional path secret and the event.
//!
//! Test Manager appends its own path to the registered WebHooks URL and does
//! not document it for Create Defect, so the bridge accepts the POST at the
//! registered URL itself and at `…/defects`; the KPI path is documented.

use percent_encoding::percent_decode_str;
use std::borrow::Cow;

/// What a request under `/hooks/{route}/` asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HookEvent {
    /// Create Defect (POST).
    CreateDefect,
    /// Preview of the Jira request a Create Defect would send (POST).
    Preview,
    /// Defect KPIs for a project id or prefix (GET).
    DefectKpis {
        /// `{projectId}` as sent (not trusted: looked up, never put in JQL).
        project: String,
    },
}

/// A parsed hook path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookPath {
    /// The secret segment, when the registered URL carries one.
    pub secret: Option<String>,
    /// The event.
    pub event: HookEvent,
}

/// Sub-path accepted for Create Defect besides the registered URL itself.
pub const CREATE_DEFECT_SUBPATH: &str = "defects";

/// Sub-path of the preview.
pub const PREVIEW_SUBPATH: &str = "preview";

/// Parses a whole request path `/hooks/{route}[/{tail}]` (percent-decoded
/// segments); `None` when it names no route or no event.
pub fn parse_full(path: &str) -> Option<(Cow<'_, str>, HookPath)> {
    let rest = path.strip_prefix("/hooks/")?;
    let (route, tail) = rest.split_once('/').unwrap_or((rest, ""));
    if route.is_empty() {
        return None;
    }
    let route = percent_decode_str(route).decode_utf8().ok()?;
    let mut parsed = parse(tail)?;
    if let Some(secret) = parsed.secret.take() {
        parsed.secret = Some(percent_decode_str(&secret).decode_utf8().ok()?.into_owned());
    }
    Some((route, parsed))
}

/// Parses the tail after `/hooks/{route}`; `None` when it names no event.
pub fn parse(tail: &str) -> Option<HookPath> {
    let segments: Vec<&str> = tail.split('/').filter(|s| !s.is_empty()).collect();
    let event = |rest: &[&str]| -> Option<HookEvent> {
        match rest {
            [] => Some(HookEvent::CreateDefect),
            [s] if *s == CREATE_DEFECT_SUBPATH => Some(HookEvent::CreateDefect),
            [s] if *s == PREVIEW_SUBPATH => Some(HookEvent::Preview),
            ["api", "kpis", "project", project, "defectstatus"] => Some(HookEvent::DefectKpis {
                project: (*project).to_owned(),
            }),
            _ => None,
        }
    };
    if let Some(event) = event(&segments) {
        return Some(HookPath {
            secret: None,
            event,
        });
    }
    let (secret, rest) = segments.split_first()?;
    event(rest).map(|event| HookPath {
        secret: Some((*secret).to_owned()),
        event,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_defect_at_the_base_and_the_subpath() {
        for tail in ["", "/", "defects", "/defects/"] {
            assert_eq!(
                parse(tail),
                Some(HookPath {
                    secret: None,
                    event: HookEvent::CreateDefect
                }),
                "{tail}"
            );
        }
        assert_eq!(
            parse("s3cr3t/defects"),
            Some(HookPath {
                secret: Some("s3cr3t".into()),
                event: HookEvent::CreateDefect
            })
        );
        assert_eq!(
            parse("s3cr3t"),
            Some(HookPath {
                secret: Some("s3cr3t".into()),
                event: HookEvent::CreateDefect
            })
        );
    }

    #[test]
    fn kpi_path_with_and_without_secret() {
        let kpi = HookEvent::DefectKpis {
            project: "SHOP".into(),
        };
        assert_eq!(
            parse("api/kpis/project/SHOP/defectstatus").map(|p| p.event),
            Some(kpi.clone())
        );
        assert_eq!(
            parse("k/api/kpis/project/SHOP/defectstatus"),
            Some(HookPath {
                secret: Some("k".into()),
                event: kpi
            })
        );
    }

    #[test]
    fn preview_with_and_without_secret() {
        assert_eq!(parse("preview").map(|p| p.event), Some(HookEvent::Preview));
        assert_eq!(
            parse("k/preview"),
            Some(HookPath {
                secret: Some("k".into()),
                event: HookEvent::Preview
            })
        );
    }

    #[test]
    fn whole_paths_are_decoded() {
        let (route, parsed) = parse_full("/hooks/shop/s%2Fc%20r/defects").unwrap();
        assert_eq!(route, "shop");
        assert_eq!(parsed.secret.as_deref(), Some("s/c r"));
        let (route, parsed) = parse_full("/hooks/shop").unwrap();
        assert_eq!(
            (route.as_ref(), parsed.event),
            ("shop", HookEvent::CreateDefect)
        );
        assert!(parse_full("/hooks/").is_none());
        assert!(parse_full("/other/shop").is_none());
    }

    #[test]
    fn anything_else_is_no_event() {
        assert_eq!(parse("a/b/c"), None);
        assert_eq!(parse("api/kpis/project/SHOP"), None);
    }
}
