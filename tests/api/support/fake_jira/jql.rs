//! The JQL the fake's issue search understands: the clauses the bridge writes
//! (`project = "…"`, `labels = "…"`, `updated >= -Nm`, `statusCategory (!)= Done`) joined
//! by `AND`, and `ORDER BY` on `created`, `updated` and `key`. Relative dates count back
//! from the fake's clock. Anything else is refused, as Jira refuses a JQL error.

use super::counts::{split_top, unquote};
use super::FakeIssue;
use chrono::{DateTime, Duration, Utc};
use std::cmp::Ordering;

type Filter = Box<dyn Fn(&FakeIssue) -> bool>;

/// A parsed query: what it selects and in which order.
pub struct IssueQuery {
    filters: Vec<Filter>,
    order: Vec<(SortField, bool)>,
}

#[derive(Clone, Copy)]
enum SortField {
    Created,
    Updated,
    Key,
}

impl IssueQuery {
    /// Reads `jql`, with relative dates counting back from `now`; the error is Jira's message.
    pub fn parse(jql: &str, now: DateTime<Utc>) -> Result<Self, String> {
        let (condition, order) = match jql.split_once(" ORDER BY ") {
            Some((condition, order)) => (condition, Some(order)),
            None => match jql.trim().strip_prefix("ORDER BY ") {
                Some(order) => ("", Some(order)),
                None => (jql, None),
            },
        };
        let filters = if condition.trim().is_empty() {
            Vec::new()
        } else {
            split_top(condition.trim(), " AND ")?
                .iter()
                .map(|clause| filter(clause.trim(), now))
                .collect::<Result<_, _>>()?
        };
        let order = order.map(parse_order).transpose()?.unwrap_or_default();
        Ok(Self { filters, order })
    }

    /// The issues selected, sorted as asked (otherwise in the order the fake holds them).
    pub fn select<'a>(&self, issues: impl Iterator<Item = &'a FakeIssue>) -> Vec<&'a FakeIssue> {
        let mut found: Vec<&FakeIssue> = issues
            .filter(|issue| self.filters.iter().all(|f| f(issue)))
            .collect();
        found.sort_by(|a, b| {
            self.order
                .iter()
                .map(|(field, ascending)| {
                    let ordering = compare(*field, a, b);
                    if *ascending {
                        ordering
                    } else {
                        ordering.reverse()
                    }
                })
                .find(|o| o.is_ne())
                .unwrap_or(Ordering::Equal)
        });
        found
    }
}

fn unknown(clause: &str) -> String {
    format!("Error in the JQL Query: the fake does not understand `{clause}`.")
}

fn filter(clause: &str, now: DateTime<Utc>) -> Result<Filter, String> {
    match clause {
        "statusCategory = Done" => return Ok(Box::new(|i| i.done())),
        "statusCategory != Done" => return Ok(Box::new(|i| !i.done())),
        _ => {}
    }
    if let Some(ago) = clause.strip_prefix("updated >= ") {
        let since = now - relative(ago.trim_matches('"')).ok_or_else(|| unknown(clause))?;
        return Ok(Box::new(move |i| i.updated >= since));
    }
    let (field, value) = clause.split_once(" = ").ok_or_else(|| unknown(clause))?;
    let value = unquote(value).ok_or_else(|| unknown(clause))?;
    match field {
        "project" => {
            let prefix = format!("{value}-");
            Ok(Box::new(move |i| i.key.starts_with(&prefix)))
        }
        "labels" => Ok(Box::new(move |i| i.labels.contains(&value))),
        _ => Err(unknown(clause)),
    }
}

/// `-17m`, `-2h`, `-1d`, `-1w` as a duration back.
fn relative(text: &str) -> Option<Duration> {
    let text = text.strip_prefix('-')?;
    let unit = text.chars().last()?;
    let amount: i64 = text[..text.len() - 1].parse().ok()?;
    match unit {
        'm' => Some(Duration::minutes(amount)),
        'h' => Some(Duration::hours(amount)),
        'd' => Some(Duration::days(amount)),
        'w' => Some(Duration::weeks(amount)),
        _ => None,
    }
}

fn parse_order(text: &str) -> Result<Vec<(SortField, bool)>, String> {
    text.split(',')
        .map(|part| {
            let mut words = part.split_whitespace();
            let field = match words.next() {
                Some("created") => SortField::Created,
                Some("updated") => SortField::Updated,
                Some("key") => SortField::Key,
                _ => return Err(unknown(part)),
            };
            let ascending = match words.next().map(str::to_ascii_uppercase).as_deref() {
                None | Some("ASC") => true,
                Some("DESC") => false,
                Some(_) => return Err(unknown(part)),
            };
            Ok((field, ascending))
        })
        .collect()
}

fn compare(field: SortField, a: &FakeIssue, b: &FakeIssue) -> Ordering {
    match field {
        SortField::Created => a.created.cmp(&b.created),
        SortField::Updated => a.updated.cmp(&b.updated),
        SortField::Key => key_order(&a.key).cmp(&key_order(&b.key)),
    }
}

/// Jira sorts keys by project, then by number (SHOP-9 before SHOP-10).
fn key_order(key: &str) -> (&str, u64) {
    match key.rsplit_once('-') {
        Some((project, n)) => (project, n.parse().unwrap_or(0)),
        None => (key, 0),
    }
}

#[test]
fn relative_dates_and_orders_read_like_jira() {
    assert_eq!(relative("-17m"), Some(Duration::minutes(17)));
    assert_eq!(relative("-2h"), Some(Duration::hours(2)));
    assert_eq!(relative("17m"), None);
    assert!(IssueQuery::parse("project = SHOP", Utc::now()).is_err());
    assert!(IssueQuery::parse(
        r#"project = "SHOP" AND labels = "x" AND updated >= -17m ORDER BY updated ASC, key ASC"#,
        Utc::now()
    )
    .is_ok());
    assert!(IssueQuery::parse(r#"labels = "x" ORDER BY rank"#, Utc::now()).is_err());
    assert!(key_order("SHOP-9") < key_order("SHOP-10"));
}
