//! docs/WALKTHROUGH.md must not drift from the code: every `path/file.rs: function`
//! it cites must still be a function defined in that file.

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

/// True if `source` defines a function called `name`.
fn defines_function(source: &str, name: &str) -> bool {
    let needle = format!("fn {name}");
    source.match_indices(&needle).any(|(at, _)| {
        let next = source[at + needle.len()..].chars().next();
        matches!(next, Some('(' | '<'))
    })
}

#[test]
fn every_function_the_walkthrough_cites_exists_in_the_file_it_names() {
    let _hang = hang_guard::start();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text =
        std::fs::read_to_string(root.join("docs/WALKTHROUGH.md")).expect("docs/WALKTHROUGH.md");
    let cited = citations(&text);
    assert!(
        cited.len() >= 20,
        "the walkthrough cites only {} functions",
        cited.len()
    );
    let missing: Vec<String> = cited
        .iter()
        .filter(|(path, name)| {
            let source = std::fs::read_to_string(root.join(path)).unwrap_or_default();
            !defines_function(&source, name)
        })
        .map(|(path, name)| format!("{path}: {name}"))
        .collect();
    assert!(
        missing.is_empty(),
        "cited in docs/WALKTHROUGH.md but not found: {missing:#?}"
    );
}

#[test]
fn the_citation_parser_finds_citations_and_rejects_prose() {
    let _hang = hang_guard::start();
    let text = "see `executor/src/event_loop.rs: run_once` and `a.rs: not an ident`, `plain`,\n\
                and `executor/src/reactor.rs:\n   turn` (wrapped)";
    assert_eq!(
        citations(text),
        [
            (
                "executor/src/event_loop.rs".to_string(),
                "run_once".to_string()
            ),
            ("executor/src/reactor.rs".to_string(), "turn".to_string()),
        ]
    );
    assert!(defines_function(
        "pub(crate) fn run_once(&self) {}",
        "run_once"
    ));
    assert!(!defines_function("fn run_once_more() {}", "run_once"));
}
