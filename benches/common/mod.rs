//! What every benchmark starts with: the mode it runs in.

/// Whether `--bench` was given (`cargo bench` passes it): the full run with the
/// figures the README reports; without it (`cargo test --bench …`) a quick run
/// that only shows the benchmark still works. Prints which, after `title`.
pub fn full_mode(title: &str, detail: &str) -> bool {
    let full = std::env::args().any(|a| a == "--bench");
    let mode = if full {
        "full"
    } else {
        "quick; pass --bench for the full"
    };
    println!("tm-defect-bridge {title} benchmark ({mode} mode{detail})");
    println!();
    full
}
