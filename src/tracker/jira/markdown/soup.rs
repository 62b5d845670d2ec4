//! Test input for both converters: random runs of the fragments that make
//! Markdown (and raw HTML) structure, plus each flavour's own dangerous
//! markup, mixed with plain, non-ASCII and control characters.

use proptest::prelude::*;

/// Fragments every converter must survive.
const COMMON: &[&str] = &[
    "*", "**", "_", "`", "```", "~~", "[", "]", "(", ")", "![", "](", "<", ">", "> ", "- ", "* ",
    "1. ", "#", "# ", "|", "|---|", "\n", "\n\n", "  ", "    ", "\t", "{", "}", "\\", "a", "é",
    "😀", "שלום", "\u{0}", "\u{1b}", "h1. ", "{code}",
];

/// Up to 59 fragments drawn from [`COMMON`] and `flavour_pieces`, concatenated.
pub(super) fn soup(flavour_pieces: &'static [&'static str]) -> impl Strategy<Value = String> {
    let pieces: Vec<&'static str> = COMMON.iter().chain(flavour_pieces).copied().collect();
    prop::collection::vec(prop::sample::select(pieces), 0..60).prop_map(|v| v.concat())
}
