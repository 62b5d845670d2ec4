//! Building JQL safely: every value is a quoted string literal.
//!
//! JQL is the query language of the tracker port ([`super::DefectTracker::count`]
//! takes it), so use cases build it here without reaching into the Jira adapter.
//!
//! Only values from configuration and mapping files ever enter JQL, and even
//! those are quoted here, so a priority named `High" OR project = X` stays one
//! value.

/// Quotes `value` as a JQL string literal: `"…"` with `\` and `"` escaped and
/// line breaks written as escapes.
pub fn quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `(“a”, “b”)`: a quoted list for `in`.
pub fn quote_list<S: AsRef<str>>(values: &[S]) -> String {
    let items: Vec<String> = values.iter().map(|v| quote(v.as_ref())).collect();
    format!("({})", items.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_escape_everything_that_could_end_the_literal() {
        assert_eq!(quote("tm-result-abc"), "\"tm-result-abc\"");
        assert_eq!(quote("a\" OR project = X"), "\"a\\\" OR project = X\"");
        assert_eq!(quote("back\\slash\nline"), "\"back\\\\slash\\nline\"");
        assert_eq!(quote_list(&["High", "Highest"]), "(\"High\", \"Highest\")");
    }
}
