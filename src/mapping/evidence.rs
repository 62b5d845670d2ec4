//! The `[evidence]` table of a mapping: which evidence goes on the issue, size limits, and
//! the file-name rules.

use super::error::MappingError;
use super::schema::RawEvidence;

/// Default largest file attached (50 MiB).
pub const DEFAULT_MAX_FILE_BYTES: u64 = 50 * 1024 * 1024;
/// Default most bytes attached to one issue (200 MiB).
pub const DEFAULT_MAX_TOTAL_BYTES: u64 = 200 * 1024 * 1024;
/// Longest file name produced (before Jira's own limits bite).
const MAX_NAME_CHARS: usize = 180;

/// A mapping's evidence rules, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvidencePolicy {
    /// Attach the screenshots of failed assertions.
    pub screenshots: bool,
    /// Attach the robot log of the run.
    pub robot_log: bool,
    /// Attach the files attached to the test case log.
    pub attachments: bool,
    /// Largest file attached, in bytes.
    pub max_file_bytes: u64,
    /// Most bytes attached to one issue.
    pub max_total_bytes: u64,
    /// Put in front of every file name (already sanitised).
    pub file_prefix: String,
}

impl EvidencePolicy {
    /// Checks `raw` (from `file`).
    pub fn compile(file: &str, raw: RawEvidence) -> Result<Self, MappingError> {
        let invalid = |key: &str, message: String| MappingError::Invalid {
            file: file.to_owned(),
            key: key.to_owned(),
            message,
        };
        let mut policy = Self {
            screenshots: true,
            robot_log: true,
            attachments: true,
            max_file_bytes: raw.max_file_bytes.unwrap_or(DEFAULT_MAX_FILE_BYTES),
            max_total_bytes: raw.max_total_bytes.unwrap_or(DEFAULT_MAX_TOTAL_BYTES),
            file_prefix: String::new(),
        };
        if let Some(kinds) = raw.kinds {
            policy.screenshots = false;
            policy.robot_log = false;
            policy.attachments = false;
            for kind in kinds {
                match kind.trim() {
                    "screenshots" => policy.screenshots = true,
                    "robot_log" => policy.robot_log = true,
                    "attachments" => policy.attachments = true,
                    other => {
                        return Err(invalid(
                            "evidence.kinds",
                            format!(
                                "`{other}` is not one of `screenshots`, `robot_log`, `attachments`"
                            ),
                        ))
                    }
                }
            }
        }
        if policy.max_file_bytes == 0 || policy.max_total_bytes == 0 {
            return Err(invalid(
                "evidence.max_file_bytes",
                "size limits must be above 0 (leave a kind out of evidence.kinds to attach none)"
                    .into(),
            ));
        }
        if let Some(prefix) = raw.file_prefix {
            let clean = sanitise(&prefix);
            if clean != prefix {
                return Err(invalid(
                    "evidence.file_prefix",
                    format!("`{prefix}` may hold only letters, digits, `.`, `-` and `_`"),
                ));
            }
            policy.file_prefix = clean;
        }
        Ok(policy)
    }

    /// The file name a Test Manager file gets on the issue: the prefix, then the name with
    /// anything but ASCII letters, digits, `.`, `-` and `_` replaced by `_`, cut to a
    /// sane length keeping the extension.
    pub fn file_name(&self, name: &str) -> String {
        let clean = sanitise(name.trim());
        let clean = if clean.trim_matches(['.', '_']).is_empty() {
            "file".to_owned()
        } else {
            clean
        };
        let full = format!("{}{clean}", self.file_prefix);
        if full.chars().count() <= MAX_NAME_CHARS {
            return full;
        }
        let ext = full
            .rsplit_once('.')
            .map(|(_, e)| e)
            .filter(|e| e.len() <= 10)
            .unwrap_or("");
        let keep = MAX_NAME_CHARS - ext.len() - 1;
        let stem: String = full.chars().take(keep).collect();
        if ext.is_empty() {
            stem
        } else {
            format!("{stem}.{ext}")
        }
    }
}

fn sanitise(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(prefix: &str) -> EvidencePolicy {
        EvidencePolicy::compile(
            "m.toml",
            RawEvidence {
                file_prefix: Some(prefix.into()),
                ..Default::default()
            },
        )
        .unwrap()
    }

    #[test]
    fn names_are_prefixed_and_sanitised() {
        let p = policy("tm-");
        assert_eq!(p.file_name("Screen shot 1.png"), "tm-Screen_shot_1.png");
        assert_eq!(p.file_name("../../etc/passwd"), "tm-.._.._etc_passwd");
        assert_eq!(p.file_name("über/ärger.log"), "tm-_ber__rger.log");
        assert_eq!(p.file_name(""), "tm-file");
        let long = format!("{}.txt", "a".repeat(500));
        let cut = p.file_name(&long);
        assert_eq!(cut.chars().count(), MAX_NAME_CHARS);
        assert!(cut.ends_with(".txt"));
    }

    #[test]
    fn kinds_and_limits_are_checked() {
        let raw = RawEvidence {
            kinds: Some(vec!["screenshots".into(), "movies".into()]),
            ..Default::default()
        };
        assert!(EvidencePolicy::compile("m.toml", raw).is_err());
        let raw = RawEvidence {
            kinds: Some(vec!["robot_log".into()]),
            ..Default::default()
        };
        let p = EvidencePolicy::compile("m.toml", raw).unwrap();
        assert!(p.robot_log && !p.screenshots && !p.attachments);
        let raw = RawEvidence {
            file_prefix: Some("bad prefix".into()),
            ..Default::default()
        };
        assert!(EvidencePolicy::compile("m.toml", raw).is_err());
    }
}
