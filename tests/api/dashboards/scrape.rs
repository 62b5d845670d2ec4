//! `/metrics` text parsed into metric types and label sets, and a query checked against it.

use super::promql::{parse, Grouping, Query};
use std::collections::BTreeMap;

/// Labels Prometheus adds to every scraped series; the bridge does not export them.
pub const TARGET_LABELS: [&str; 2] = ["job", "instance"];

/// `/metrics` parsed: each metric's type, and the label sets of each sample name.
pub struct Scrape {
    /// `# TYPE` of each metric.
    pub types: BTreeMap<String, String>,
    /// The label sets of each sample name.
    pub samples: BTreeMap<String, Vec<BTreeMap<String, String>>>,
}

/// Parses Prometheus text format.
pub fn parse_scrape(text: &str) -> Scrape {
    let mut types = BTreeMap::new();
    let mut samples: BTreeMap<String, Vec<BTreeMap<String, String>>> = BTreeMap::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("# TYPE name kind");
            types.insert(name.to_owned(), kind.to_owned());
            continue;
        }
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let name_end = line.find(['{', ' ']).expect("a sample line");
        let mut labels = BTreeMap::new();
        if line[name_end..].starts_with('{') {
            let mut chars = line[name_end + 1..].chars();
            loop {
                let label: String = chars.by_ref().take_while(|&c| c != '=').collect();
                let label = label.trim_start_matches(',').trim().to_owned();
                if label.is_empty() || label.starts_with('}') {
                    break;
                }
                assert_eq!(chars.next(), Some('"'), "{line}");
                let mut value = String::new();
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => value.extend(chars.next().map(|e| if e == 'n' { '\n' } else { e })),
                        '"' => break,
                        c => value.push(c),
                    }
                }
                labels.insert(label, value);
            }
        }
        samples
            .entry(line[..name_end].to_owned())
            .or_default()
            .push(labels);
    }
    Scrape { types, samples }
}

impl Scrape {
    /// The label sets of `name`'s samples, if the bridge exports it (a histogram's
    /// `_bucket`, `_sum` and `_count` only when the histogram is one).
    pub fn series(&self, name: &str) -> Option<&[BTreeMap<String, String>]> {
        let declared = self.types.contains_key(name)
            || ["_bucket", "_sum", "_count"].iter().any(|suffix| {
                name.strip_suffix(suffix).is_some_and(|base| {
                    self.types.get(base).map(String::as_str) == Some("histogram")
                })
            });
        declared
            .then(|| self.samples.get(name).map(Vec::as_slice))
            .flatten()
    }
}

/// Everything `query` names that the scrape lacks.
pub fn missing(query: &Query, scrape: &Scrape) -> Vec<String> {
    let parsed = parse(&query.expr);
    let place = &query.place;
    let mut problems = Vec::new();
    let has_label = |metric: &str, label: &str| {
        TARGET_LABELS.contains(&label)
            || scrape
                .series(metric)
                .is_some_and(|series| series.iter().any(|s| s.contains_key(label)))
    };
    let has_value = |metric: &str, label: &str, value: &str| {
        scrape.series(metric).is_some_and(|series| {
            series
                .iter()
                .any(|s| s.get(label).map(String::as_str) == Some(value))
        })
    };
    for selector in &parsed.selectors {
        let metric = &selector.metric;
        if scrape.series(metric).is_none() {
            problems.push(format!("{place}: `{metric}` is not exported"));
            continue;
        }
        for (label, operator, value) in &selector.matchers {
            if !has_label(metric, label) {
                problems.push(format!("{place}: `{metric}` has no label `{label}`"));
                continue;
            }
            if TARGET_LABELS.contains(&label.as_str()) || value.contains('$') {
                continue; // Grafana variables and Prometheus's own labels
            }
            let values: Vec<&str> = if operator.contains('~') {
                value.split('|').collect()
            } else {
                vec![value.as_str()]
            };
            for value in values {
                if operator.contains('~')
                    && !value
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "_-".contains(c))
                {
                    problems.push(format!(
                        "{place}: write `{label}{operator}` as plain values joined by `|`, not `{value}`"
                    ));
                } else if !has_value(metric, label, value) {
                    problems.push(format!("{place}: `{metric}` never has {label}=\"{value}\""));
                }
            }
        }
    }
    let mut groupings = parsed.groupings;
    if let Some(label) = &query.label_values_of {
        groupings.push(Grouping {
            labels: vec![label.clone()],
            metrics: parsed.selectors.iter().map(|s| s.metric.clone()).collect(),
        });
    }
    for grouping in &groupings {
        assert!(
            !grouping.metrics.is_empty(),
            "{place}: a `by` over no bridge_ metric"
        );
        for label in &grouping.labels {
            for metric in &grouping.metrics {
                if scrape.series(metric).is_some() && !has_label(metric, label) {
                    problems.push(format!(
                        "{place}: groups `{metric}` by `{label}`, which it lacks"
                    ));
                }
            }
        }
    }
    problems
}
