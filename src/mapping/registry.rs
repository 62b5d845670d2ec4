//! `Projects`: every loaded mapping, looked up by route, GUID or prefix.
//!
//! Loading reads each `*.toml` in the mappings directory, compiles it, and
//! rejects the set if two files claim the same project, prefix or route —
//! reporting every problem at once, each naming its file and key.

use super::error::MappingError;
use super::project::ProjectMapping;
use super::schema::RawMapping;
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use uuid::Uuid;

/// The loaded mapping set. Cheap to share behind an `Arc`.
#[derive(Debug, Default)]
pub struct Projects {
    by_route: HashMap<String, Arc<ProjectMapping>>,
    by_id: HashMap<Uuid, Arc<ProjectMapping>>,
    by_prefix: HashMap<String, Arc<ProjectMapping>>,
}

impl Projects {
    /// Loads every `*.toml` file in `dir` (files starting with `.` are skipped).
    /// Returns all problems found when any file is invalid.
    pub fn load_dir(dir: &Path) -> Result<Self, Vec<MappingError>> {
        let entries = std::fs::read_dir(dir).map_err(|e| {
            vec![MappingError::Io {
                file: dir.display().to_string(),
                message: e.to_string(),
            }]
        })?;
        let mut paths: Vec<_> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                p.extension().is_some_and(|x| x == "toml")
                    && !p
                        .file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.starts_with('.'))
            })
            .collect();
        paths.sort();
        let mut problems = Vec::new();
        let mut mappings = Vec::new();
        for path in paths {
            match load_file(&path) {
                Ok(m) => mappings.push(m),
                Err(e) => problems.push(e),
            }
        }
        match Self::from_mappings(mappings) {
            Ok(projects) if problems.is_empty() => Ok(projects),
            Ok(_) => Err(problems),
            Err(mut more) => {
                problems.append(&mut more);
                Err(problems)
            }
        }
    }

    /// Builds the set from compiled mappings, rejecting clashes.
    pub fn from_mappings(mappings: Vec<ProjectMapping>) -> Result<Self, Vec<MappingError>> {
        let mut projects = Self::default();
        let mut problems = Vec::new();
        for mapping in mappings {
            let mapping = Arc::new(mapping);
            let clash = |key: &str, other: &ProjectMapping| MappingError::Invalid {
                file: mapping.source.display().to_string(),
                key: key.to_owned(),
                message: format!("is also claimed by {}", other.source.display()),
            };
            if let Some(other) = projects.by_route.get(&mapping.route) {
                problems.push(clash("project.route", other));
                continue;
            }
            if let Some(other) = projects.by_id.get(&mapping.project_id) {
                problems.push(clash("project.id", other));
                continue;
            }
            if let Some(prefix) = &mapping.prefix {
                if let Some(other) = projects.by_prefix.get(prefix) {
                    problems.push(clash("project.prefix", other));
                    continue;
                }
                projects.by_prefix.insert(prefix.clone(), mapping.clone());
            }
            projects
                .by_route
                .insert(mapping.route.clone(), mapping.clone());
            projects.by_id.insert(mapping.project_id, mapping);
        }
        if problems.is_empty() {
            Ok(projects)
        } else {
            Err(problems)
        }
    }

    /// The mapping registered under the webhook route segment `route` (case-insensitive).
    pub fn by_route(&self, route: &str) -> Option<&Arc<ProjectMapping>> {
        self.by_route
            .get(route)
            .or_else(|| self.by_route.get(&route.to_lowercase()))
    }

    /// The mapping for a Test Manager project GUID or prefix (case-insensitive).
    pub fn by_id_or_prefix(&self, project: &str) -> Option<&Arc<ProjectMapping>> {
        match Uuid::parse_str(project) {
            Ok(id) => self.by_id.get(&id),
            Err(_) => self
                .by_prefix
                .get(project)
                .or_else(|| self.by_prefix.get(&project.to_uppercase())),
        }
    }

    /// All mappings, in route order.
    pub fn all(&self) -> Vec<Arc<ProjectMapping>> {
        let mut all: Vec<_> = self.by_route.values().cloned().collect();
        all.sort_by(|a, b| a.route.cmp(&b.route));
        all
    }

    /// Number of mappings.
    pub fn len(&self) -> usize {
        self.by_route.len()
    }

    /// True when no mapping is loaded.
    pub fn is_empty(&self) -> bool {
        self.by_route.is_empty()
    }
}

/// Reads, parses and compiles one mapping file.
pub fn load_file(path: &Path) -> Result<ProjectMapping, MappingError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| MappingError::Io {
        file: file.clone(),
        message: e.to_string(),
    })?;
    let raw: RawMapping = toml::from_str(&text).map_err(|e| MappingError::Syntax {
        file: file.clone(),
        message: e.to_string(),
    })?;
    ProjectMapping::compile(path, raw)
}

/// The current mapping set, replaceable as a whole (reload) while requests run.
#[derive(Debug, Clone, Default)]
pub struct ProjectsHandle {
    current: Arc<std::sync::RwLock<Arc<Projects>>>,
}

impl ProjectsHandle {
    /// A handle over `projects`.
    pub fn new(projects: Projects) -> Self {
        Self {
            current: Arc::new(std::sync::RwLock::new(Arc::new(projects))),
        }
    }

    /// The set in force now; requests keep the set they started with.
    pub fn current(&self) -> Arc<Projects> {
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Replaces the whole set at once.
    pub fn replace(&self, projects: Projects) {
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(projects);
    }
}
