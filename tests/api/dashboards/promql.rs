//! PromQL, as far as the checks need it: metric names, label matchers and
//! `by (...)` clauses. Hand-written because that is all they read; it refuses any
//! name that is neither a known PromQL word nor a `bridge_` metric, so a misspelt
//! metric cannot slip past as a "function".

/// The PromQL functions, aggregations and keywords the files may use.
const PROMQL_WORDS: &[&str] = &[
    "sum",
    "min",
    "max",
    "avg",
    "count",
    "rate",
    "irate",
    "increase",
    "histogram_quantile",
    "absent",
    "max_over_time",
    "min_over_time",
    "avg_over_time",
    "clamp_min",
    "clamp_max",
    "and",
    "or",
    "unless",
    "bool",
    "offset",
];

/// An expression and where it is written.
pub struct Query {
    /// The panel, variable or rule it belongs to.
    pub place: String,
    /// The PromQL.
    pub expr: String,
    /// For Grafana's `label_values(selector, label)`: the label.
    pub label_values_of: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Name(String),
    Str(String),
    /// `[5m]`, `[$__rate_interval]`: not looked into.
    Range,
    Number,
    Op(String),
}

fn tokens(expr: &str) -> Vec<Token> {
    let chars: Vec<char> = expr.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '"' || c == '\'' {
            let mut text = String::new();
            i += 1;
            while i < chars.len() && chars[i] != c {
                if chars[i] == '\\' {
                    i += 1;
                }
                text.extend(chars.get(i));
                i += 1;
            }
            assert!(i < chars.len(), "{expr}: an unterminated string");
            i += 1;
            out.push(Token::Str(text));
        } else if c == '[' {
            while i < chars.len() && chars[i] != ']' {
                i += 1;
            }
            i += 1;
            out.push(Token::Range);
        } else if c.is_ascii_digit() || c == '.' {
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '.') {
                i += 1;
            }
            out.push(Token::Number);
        } else if c.is_ascii_alphabetic() || c == '_' || c == ':' {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || "_:".contains(chars[i])) {
                i += 1;
            }
            out.push(Token::Name(chars[start..i].iter().collect()));
        } else {
            let pair: String = chars[i..(i + 2).min(chars.len())].iter().collect();
            if ["=~", "!~", "!=", "==", ">=", "<="].contains(&pair.as_str()) {
                out.push(Token::Op(pair));
                i += 2;
            } else {
                out.push(Token::Op(c.to_string()));
                i += 1;
            }
        }
    }
    out
}

/// `metric{label op "value", …}`.
#[derive(Debug)]
pub struct Selector {
    /// The metric name.
    pub metric: String,
    /// `(label, operator, value)`.
    pub matchers: Vec<(String, String, String)>,
}

/// `agg by (labels) (expression)`: the labels, and the metrics of the expression.
#[derive(Debug)]
pub struct Grouping {
    /// The labels in `by (...)`.
    pub labels: Vec<String>,
    /// The `bridge_` metrics of the aggregated expression.
    pub metrics: Vec<String>,
}

#[derive(Debug, Default)]
pub struct Parsed {
    /// Every metric selector.
    pub selectors: Vec<Selector>,
    /// Every `by` clause.
    pub groupings: Vec<Grouping>,
}

fn op(token: Option<&Token>) -> Option<&str> {
    match token {
        Some(Token::Op(o)) => Some(o),
        _ => None,
    }
}

/// The index of the `)` closing the `(` at `open`.
fn closing(tokens: &[Token], open: usize, expr: &str) -> usize {
    let mut depth = 0;
    for (i, token) in tokens.iter().enumerate().skip(open) {
        match op(Some(token)) {
            Some("(") => depth += 1,
            Some(")") => {
                depth -= 1;
                if depth == 0 {
                    return i;
                }
            }
            _ => {}
        }
    }
    panic!("{expr}: unbalanced parentheses")
}

/// The selectors and `by` clauses of `expr`; panics on what it cannot vouch for.
pub fn parse(expr: &str) -> Parsed {
    let tokens = tokens(expr);
    let mut parsed = Parsed::default();
    let mut i = 0;
    while i < tokens.len() {
        match &tokens[i] {
            Token::Name(word) if word == "by" || word == "without" => {
                assert_eq!(word, "by", "{expr}: `without` hides which labels are used");
                assert_eq!(op(tokens.get(i + 1)), Some("("), "{expr}: `by (labels)`");
                let end = closing(&tokens, i + 1, expr);
                let labels = tokens[i + 2..end]
                    .iter()
                    .filter_map(|t| match t {
                        Token::Name(label) => Some(label.clone()),
                        _ => None,
                    })
                    .collect();
                assert_eq!(
                    op(tokens.get(end + 1)),
                    Some("("),
                    "{expr}: write `agg by (labels) (expression)`, so the labels' expression is known"
                );
                let body_end = closing(&tokens, end + 1, expr);
                let metrics = tokens[end + 1..body_end]
                    .iter()
                    .filter_map(|t| match t {
                        Token::Name(name) if name.starts_with("bridge_") => Some(name.clone()),
                        _ => None,
                    })
                    .collect();
                parsed.groupings.push(Grouping { labels, metrics });
                i = end + 1;
            }
            Token::Name(metric) if metric.starts_with("bridge_") => {
                let mut selector = Selector {
                    metric: metric.clone(),
                    matchers: Vec::new(),
                };
                i += 1;
                if op(tokens.get(i)) == Some("{") {
                    i += 1;
                    while op(tokens.get(i)) != Some("}") {
                        let (Some(Token::Name(label)), Some(operator), Some(Token::Str(value))) =
                            (tokens.get(i), op(tokens.get(i + 1)), tokens.get(i + 2))
                        else {
                            panic!("{expr}: a matcher of {metric} is not `label op \"value\"`");
                        };
                        assert!(
                            ["=", "!=", "=~", "!~"].contains(&operator),
                            "{expr}: {operator}"
                        );
                        selector
                            .matchers
                            .push((label.clone(), operator.to_owned(), value.clone()));
                        i += 3;
                        if op(tokens.get(i)) == Some(",") {
                            i += 1;
                        }
                    }
                    i += 1;
                }
                parsed.selectors.push(selector);
            }
            Token::Name(word) => {
                assert!(
                    PROMQL_WORDS.contains(&word.as_str()),
                    "{expr}: `{word}` is neither a known PromQL word nor a bridge_ metric"
                );
                i += 1;
            }
            Token::Op(o) if o == "{" => panic!("{expr}: a selector without a bridge_ metric name"),
            _ => i += 1,
        }
    }
    parsed
}
