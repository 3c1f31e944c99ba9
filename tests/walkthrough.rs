//! The guides must not drift from the code: every `path/file.rs: function` that
//! docs/WALKTHROUGH.md or docs/FROM_ASYNCIO.md cites must still be a function defined
//! in that file, and every source file either names (`executor/src/io/reactor.rs`) must
//! still exist.

mod hang_guard;

use std::path::Path;

/// Every `` `some/path.rs: name` `` citation in the text, as (path, function name).
fn citations(text: &str) -> Vec<(String, String)> {
    text.split('`')
        .skip(1)
        .step_by(2) // the spans between backtick pairs
        .filter_map(|span| {
            // A citation may wrap onto the next line of the Markdown source.
            let span = span.split_whitespace().collect::<Vec<_>>().join(" ");
            let (path, name) = span.split_once(".rs: ")?;
            let name = name.trim();
            let is_identifier =
                !name.is_empty() && name.chars().all(|c| c.is_alphanumeric() || c == '_');
            is_identifier.then(|| (format!("{path}.rs"), name.to_string()))
        })
        .collect()
}

/// Every backticked span that is a path into the repository's code
/// (`executor/src/io/reactor.rs`, `examples/timeouts.rs`): one word, under a top-level
/// folder of the workspace, naming a Rust file.
fn cited_files(text: &str) -> Vec<String> {
    const ROOTS: [&str; 5] = ["executor/", "patterns/", "examples/", "tests/", "src/"];
    text.split('`')
        .skip(1)
        .step_by(2)
        .map(|span| span.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|span| {
            !span.contains(' ')
                && span.ends_with(".rs")
                && ROOTS.iter().any(|root| span.starts_with(root))
        })
        .collect()
}

/// True if `source` defines a function called `name`.
fn defines_function(source: &str, name: &str) -> bool {
    let needle = format!("fn {name}");
    source.match_indices(&needle).any(|(at, _)| {
        let next = source[at + needle.len()..].chars().next();
        matches!(next, Some('(' | '<'))
    })
}

/// What `guide` (a path under the workspace root) cites that the code no longer has:
/// functions missing from their files, and files missing altogether. Asserts the
/// guide cites at least `at_least` functions, so a broken parser cannot pass it.
fn stale_citations(guide: &str, at_least: usize) -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join(guide)).expect(guide);
    let cited = citations(&text);
    assert!(
        cited.len() >= at_least,
        "{guide} cites only {} functions",
        cited.len()
    );
    let missing_functions = cited.iter().filter_map(|(path, name)| {
        let source = std::fs::read_to_string(root.join(path)).unwrap_or_default();
        (!defines_function(&source, name)).then(|| format!("{path}: {name}"))
    });
    let missing_files = cited_files(&text)
        .into_iter()
        .filter(|path| !root.join(path).is_file())
        .map(|path| format!("{path} (no such file)"));
    missing_functions.chain(missing_files).collect()
}

#[test]
fn every_function_the_walkthrough_cites_exists_in_the_file_it_names() {
    let _hang = hang_guard::start();
    let stale = stale_citations("docs/WALKTHROUGH.md", 20);
    assert!(
        stale.is_empty(),
        "cited in docs/WALKTHROUGH.md but not found: {stale:#?}"
    );
}

#[test]
fn every_function_and_file_from_asyncio_cites_exists() {
    let _hang = hang_guard::start();
    let stale = stale_citations("docs/FROM_ASYNCIO.md", 30);
    assert!(
        stale.is_empty(),
        "cited in docs/FROM_ASYNCIO.md but not found: {stale:#?}"
    );
}

#[test]
fn the_citation_parser_finds_citations_and_rejects_prose() {
    let _hang = hang_guard::start();
    let text = "see `executor/src/event_loop/mod.rs: run_once` and `a.rs: not an ident`, `plain`,\n\
                and `executor/src/io/reactor.rs:\n   turn` (wrapped)";
    assert_eq!(
        citations(text),
        [
            (
                "executor/src/event_loop/mod.rs".to_string(),
                "run_once".to_string()
            ),
            ("executor/src/io/reactor.rs".to_string(), "turn".to_string()),
        ]
    );
    assert!(defines_function(
        "pub(crate) fn run_once(&self) {}",
        "run_once"
    ));
    assert!(!defines_function("fn run_once_more() {}", "run_once"));
    assert_eq!(
        cited_files(
            "`executor/src/io/reactor.rs`, `examples/timeouts.rs`, `Core::ready`, \
             `a b.rs`, `docs/WALKTHROUGH.md`, `executor/src/io/reactor.rs: turn`"
        ),
        ["executor/src/io/reactor.rs", "examples/timeouts.rs"]
    );
}
