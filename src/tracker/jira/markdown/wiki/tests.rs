use super::escape::{line_start_keyword, SPECIAL};
use super::*;
use crate::tracker::jira::markdown::parse::MAX_NESTING;
use crate::tracker::jira::markdown::soup::soup;
use proptest::prelude::*;

#[track_caller]
fn check(markdown: &str, wiki: &str) {
    assert_eq!(to_wiki(markdown), wiki, "markdown: {markdown:?}");
}

#[test]
fn empty_input() {
    check("", "");
    check("\n\n  \n", "");
}

#[test]
fn paragraphs_keep_soft_breaks_as_newlines() {
    check("one\ntwo\n\nthree", "one\ntwo\n\nthree");
}

#[test]
fn headings() {
    check(
        "# A\n## B\n### C\n#### D\n##### E\n###### F",
        "h1. A\n\nh2. B\n\nh3. C\n\nh4. D\n\nh5. E\n\nh6. F",
    );
    check("Multi\nline\n---", "h2. Multi line");
}

#[test]
fn inline_marks() {
    check(
        "a *em* **strong** ~~gone~~ `code`",
        "a _em_ *strong* -gone- {{code}}",
    );
    check("***both***", "_*both*_");
}

#[test]
fn inline_code_is_escaped_and_brace_safe() {
    check("`a*b`", "{{a\\*b}}");
    check("`x}}y`", "x\\}\\}y");
    check("`{color:red}`", "\\{color:red\\}");
    check("`C:\\dir`", "{{C:&#92;dir}}");
}

#[test]
fn links_and_images() {
    check(
        "[see *here*](https://x.test/a?b=1)",
        "[see _here_|https://x.test/a?b=1]",
    );
    check("<https://x.test/p>", "[https://x.test/p|https://x.test/p]");
    check("[](https://x.test)", "[https://x.test]");
    check("[a|b](http://u/x|y]z)", "[a\\|b|http://u/x%7Cy%5Dz]");
    check("[x](~admin)", "[x|%7Eadmin]");
    check("[nowhere]()", "nowhere");
    check(
        "![shot](http://i/s.png) ![](http://i/t.png)",
        "[shot|http://i/s.png] [http://i/t.png]",
    );
    check(
        "[![build](http://b/badge.svg)](http://ci)",
        "[build|http://ci]",
    );
}

#[test]
fn bare_urls_become_links() {
    check(
        "see https://host/a_b-c*d?q=1. and (http://x/y)",
        "see [https://host/a_b-c%2Ad?q=1]. and ([http://x/y])",
    );
    check(
        "http:// alone",
        "http://&#92; alone".replace("&#92;", "").as_str(),
    );
}

#[test]
fn hard_break() {
    check("a  \nb\\\nc", "a\\\\ b\\\\ c");
}

#[test]
fn lists() {
    check("- a\n- b\n  1. c\n  2. d\n- e", "* a\n* b\n*# c\n*# d\n* e");
    check("3. x\n4. y", "# x\n# y");
    check("para\n- a\n\nafter", "para\n\n* a\n\nafter");
    check("- [x] done\n- [ ] todo", "* ☑ done\n* ☐ todo");
}

#[test]
fn loose_list_items_stay_on_one_line() {
    check("- a\n\n  more\n- b", "* a\\\\ more\n* b");
    check("- a\n  - b\n\n  tail", "* a\n** b\n* tail");
}

#[test]
fn code_blocks() {
    check("```rust\nfn main() {}\n```", "{code}\nfn main() {}\n{code}");
    check("```Java\nint x;\n```", "{code:java}\nint x;\n{code}");
    check("```csharp\nx;\n```", "{code:c#}\nx;\n{code}");
    check("    indented\n", "{code}\nindented\n{code}");
    check("```\n{code}\n```", "{noformat}\n{code}\n{noformat}");
    check("```\n{code}{noformat}*\n```", "\\{code\\}\\{noformat\\}\\*");
    check("```\n```", "{code}\n\n{code}");
    check("```js\nx\n```\n\nafter", "{code:js}\nx\n{code}\n\nafter");
}

#[test]
fn code_block_in_list_leaves_the_line() {
    check("- a\n  ```\n  x\n  ```\n- b", "* a\n{code}\nx\n{code}\n* b");
}

#[test]
fn quotes_and_rules() {
    check(
        "> quoted\n> more\n\n---\n\nend",
        "{quote}\nquoted\nmore\n{quote}\n\n----\n\nend",
    );
    check("> a\n> > b", "{quote}\na\n\nb\n{quote}");
    check("- > q", "* q");
}

#[test]
fn tables() {
    check(
        "| h1 | *h2* |\n|---|---|\n| a | |\n| `c` | d\\|e |",
        "||h1||_h2_||\n|a| |\n|{{c}}|d\\|e|",
    );
}

#[test]
fn raw_html_is_escaped_text() {
    check(
        "<div>\n{color:red}x\n</div>\n\na <b>b</b>",
        "<div>\n\\{color:red\\}x\n</div>\n\na <b>b</b>",
    );
}

#[test]
fn hostile_wiki_markup_is_literal() {
    check("{color:red}x{color}", "\\{color:red\\}x\\{color\\}");
    check("\\[evil|http://x\\]", "\\[evil\\|http://x\\]");
    check("\\!image.png\\!", "\\!image.png\\!");
    check("\\|\\|a\\|\\|", "\\|\\|a\\|\\|");
    check("\\*bold\\*", "\\*bold\\*");
    check("{code}", "\\{code\\}");
    check("h1. fake\nbq. fake", "\\h1. fake\n\\bq. fake");
    check(
        "x ^sup^ \\~sub\\~ ??cite?? +ins+ -del- ----",
        "x \\^sup\\^ \\~sub\\~ \\?\\?cite\\?\\? \\+ins\\+ \\-del\\- \\-\\-\\-\\-",
    );
    check("\\# not a list", "\\# not a list");
    check("a\\\\b", "a&#92;b");
    check("oops (x) (y) :) ;) :(", "oops \\(x) \\(y) :\\) ;\\) :\\(");
    check("[~admin]", "\\[\\~admin\\]");
}

#[test]
fn control_chars_removed_emoji_rtl_kept() {
    check(
        "a\u{1}b\u{1b}[31m 😀 مرحبا \u{7f}&#7;x",
        "ab\\[31m 😀 مرحبا x",
    );
    check("*\u{1}*", "");
}

#[test]
fn line_start_keyword_detection() {
    assert_eq!(line_start_keyword("h1. x"), Some(0));
    assert_eq!(line_start_keyword("  H6.x"), Some(2));
    assert_eq!(line_start_keyword("BQ. x"), Some(0));
    assert_eq!(line_start_keyword("h7. x"), None);
    assert_eq!(line_start_keyword("bq"), None);
    assert_eq!(line_start_keyword(""), None);
}

#[test]
fn deep_nesting_is_bounded() {
    let md = (0..200)
        .map(|i| format!("{}- l{i}\n", "  ".repeat(i)))
        .collect::<String>();
    let out = to_wiki(&md);
    let widest = out
        .lines()
        .map(|l| l.len() - l.trim_start_matches('*').len())
        .max();
    assert_eq!(widest, Some(MAX_NESTING));
    assert!(out.contains("l199"));
    assert!(to_wiki(&"> ".repeat(10_000)).starts_with("{quote}"));
}

#[test]
fn limited_fits_and_notes_truncation() {
    let md = "line - of text\n".repeat(100);
    let out = to_wiki_limited(&md, 300);
    assert!(out.chars().count() <= 300, "{out}");
    assert!(
        out.ends_with("_(truncated by tm\\-defect\\-bridge: 1291 characters omitted)_"),
        "{out}"
    );
    assert_eq!(to_wiki_limited("short", 300), "short");
    assert_eq!(to_wiki_limited(&md, 5), "_(tr…");
}

#[test]
fn limited_handles_megabytes() {
    let samples = [
        "# Step\n- **failed** at `x`\n> quote [l](http://u)\n\n".repeat(100_000),
        "{|}".repeat(1_700_000),
        "```\ncode\n".repeat(500_000),
    ];
    for md in &samples {
        let out = to_wiki_limited(md, super::super::JIRA_FIELD_LIMIT);
        let n = out.chars().count();
        assert!(n <= super::super::JIRA_FIELD_LIMIT);
        assert!(
            n > super::super::JIRA_FIELD_LIMIT / 2,
            "too aggressive: {n}"
        );
        assert!(out.contains("(truncated by tm\\-defect\\-bridge: "));
    }
}

/// Fragments only wiki markup needs tested: its block macros, image and
/// emoticon syntax, and the characters it styles with.
const WIKI_PIECES: &[&str] = &[
    "{noformat}",
    "bq. ",
    "!x.png!",
    "^",
    "+",
    "?",
    "~",
    "http://x.test/a_b",
    ":)",
    "(x)",
];

fn special_soup() -> impl Strategy<Value = String> {
    soup(WIKI_PIECES)
}

proptest! {
    #[test]
    fn arbitrary_unicode_never_panics(s in any::<String>()) {
        let out = to_wiki(&s);
        prop_assert!(out.chars().all(|c| !c.is_control() || c == '\n' || c == '\t'));
    }

    #[test]
    fn markdown_soup_never_panics(s in special_soup()) {
        let out = to_wiki(&s);
        prop_assert!(out.chars().all(|c| !c.is_control() || c == '\n' || c == '\t'));
    }

    #[test]
    fn plain_text_specials_are_always_escaped(s in "[a-z *_+^?{}|!#-]{0,40}") {
        // Inside one paragraph, every special character must be escaped.
        let out = to_wiki(&format!("x{s}"));
        let mut prev = None;
        for c in out.chars() {
            if SPECIAL.contains(&c) && c != '*' && c != '_' {
                prop_assert_eq!(prev, Some('\\'), "unescaped {} in {}", c, out);
            }
            prev = if prev == Some('\\') && c == '\\' { None } else { Some(c) };
        }
    }

    #[test]
    fn limited_always_fits(s in special_soup(), max in 0usize..400) {
        prop_assert!(to_wiki_limited(&s, max).chars().count() <= max);
    }
}
