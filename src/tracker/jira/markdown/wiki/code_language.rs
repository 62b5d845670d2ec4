//! The `{code:lang}` languages Jira Data Center knows, and the Markdown
//! fence names that map to them.

/// Languages Jira Data Center's `{code}` macro knows; any other name makes it
/// render an error banner, so unknown languages fall back to plain `{code}`.
const CODE_LANGUAGES: &[&str] = &[
    "actionscript",
    "ada",
    "applescript",
    "bash",
    "c",
    "c#",
    "c++",
    "cpp",
    "css",
    "erlang",
    "go",
    "groovy",
    "haskell",
    "html",
    "java",
    "javascript",
    "js",
    "json",
    "lua",
    "nyan",
    "objc",
    "perl",
    "php",
    "python",
    "r",
    "ruby",
    "scala",
    "sh",
    "sql",
    "swift",
    "visualbasic",
    "xml",
    "yaml",
];

/// The `{code:...}` language for a fence's info word, if Jira knows it
/// under that name or a common Markdown alias.
pub(super) fn code_language(info: &str) -> Option<String> {
    let lower = info.to_ascii_lowercase();
    let name = match lower.as_str() {
        "cs" | "csharp" => "c#",
        "py" => "python",
        "yml" => "yaml",
        "shell" | "console" | "zsh" => "bash",
        "vb" | "vbnet" => "visualbasic",
        "golang" => "go",
        other => other,
    };
    CODE_LANGUAGES.contains(&name).then(|| name.to_owned())
}
