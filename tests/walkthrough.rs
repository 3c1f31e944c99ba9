//! The guides must not drift from the code: every `path/file.rs: function` that
//! docs/WALKTHROUGH.md or docs/FROM_ASYNCIO.md cites must still be a function defined
//! in that file, every source file either names (`executor/src/io/reactor.rs`) must
//! still exist, and where a guide chains two steps (`a.rs: f` → `b.rs: g`, or
//! `a.rs: f` calls `b.rs: g`) the body of `f` must call `g`. And the crate's map must
//! not drift from the tree: every file under executor/src is in the map at the top of
//! executor/src/lib.rs, and every `executor/src/….rs` path cited in the markdown, the
//! scripts and the module docs (`//!`) exists.

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

/// Every pair of citations the text chains, `a.rs: f` → `b.rs: g` or `a.rs: f` calls
/// `b.rs: g`, as ((path, f), (path, g)).
fn chained_steps(text: &str) -> Vec<((String, String), (String, String))> {
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let spans: Vec<&str> = text.split('`').collect();
    // spans[1], spans[3], … are the backticked ones; the spans between two of them
    // say how they relate.
    let mut steps = Vec::new();
    for at in (1..spans.len().saturating_sub(2)).step_by(2) {
        let between = spans[at + 1].trim();
        if between != "→" && between != "calls" {
            continue;
        }
        let (Some(from), Some(to)) = (
            citations(&format!("`{}`", spans[at])).pop(),
            citations(&format!("`{}`", spans[at + 2])).pop(),
        ) else {
            continue;
        };
        steps.push((from, to));
    }
    steps
}

/// The bodies of every function called `name` in `source` (a trait method and an
/// inherent one may share a name).
fn function_bodies<'a>(source: &'a str, name: &str) -> Vec<&'a str> {
    let needle = format!("fn {name}");
    source
        .match_indices(&needle)
        .filter(|(at, _)| matches!(source[at + needle.len()..].chars().next(), Some('(' | '<')))
        .filter_map(|(at, _)| {
            let open = at + source[at..].find('{')?;
            let mut depth = 0;
            for (offset, c) in source[open..].char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(&source[open..=open + offset]);
                        }
                    }
                    _ => {}
                }
            }
            None
        })
        .collect()
}

/// True if `body` calls a function or method called `name`.
fn calls(body: &str, name: &str) -> bool {
    let needle = format!("{name}(");
    body.match_indices(&needle).any(|(at, _)| {
        let before = body[..at].chars().next_back();
        !before.is_some_and(|c| c.is_alphanumeric() || c == '_')
    })
}

/// The chained steps of `guide` whose first function no longer calls the second.
/// Asserts the guide chains at least `at_least` steps.
fn broken_chains(guide: &str, at_least: usize) -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join(guide)).expect(guide);
    let steps = chained_steps(&text);
    assert!(
        steps.len() >= at_least,
        "{guide} chains only {} steps",
        steps.len()
    );
    steps
        .into_iter()
        .filter(|((path, from), (_, to))| {
            let source = std::fs::read_to_string(root.join(path)).unwrap_or_default();
            !function_bodies(&source, from)
                .iter()
                .any(|body| calls(body, to))
        })
        .map(|((path, from), (to_path, to))| {
            format!("{path}: {from} does not call {to_path}: {to}")
        })
        .collect()
}

#[test]
fn every_step_the_walkthrough_chains_calls_the_next() {
    let _hang = hang_guard::start();
    let broken = broken_chains("docs/WALKTHROUGH.md", 3);
    assert!(broken.is_empty(), "docs/WALKTHROUGH.md: {broken:#?}");
}

/// Every `.rs` file under `dir`, as paths relative to `base`, `/`-separated.
fn rust_files(base: &Path, dir: &Path, out: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).expect("a readable source folder") {
        let path = entry.expect("a folder entry").path();
        if path.is_dir() {
            rust_files(base, &path, out);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            let relative = path.strip_prefix(base).expect("under base");
            out.push(relative.to_string_lossy().replace('\\', "/"));
        }
    }
}

#[test]
fn every_file_under_executor_src_is_in_the_crate_map() {
    let _hang = hang_guard::start();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let src = root.join("executor/src");
    let lib = std::fs::read_to_string(src.join("lib.rs")).expect("executor/src/lib.rs");
    let map: String = lib
        .lines()
        .filter_map(|line| line.strip_prefix("//!"))
        .collect::<Vec<_>>()
        .join("\n");
    // The map's entries: backticked paths (a folder names a room; it covers nothing).
    let entries: Vec<&str> = map.split('`').skip(1).step_by(2).collect();
    let mut files = Vec::new();
    rust_files(&src, &src, &mut files);
    assert!(files.len() > 50, "found only {} files", files.len());
    let missing: Vec<&String> = files
        .iter()
        .filter(|file| file.as_str() != "lib.rs")
        .filter(|file| !entries.iter().any(|entry| entry == file))
        .collect();
    assert!(
        missing.is_empty(),
        "not in executor/src/lib.rs's map: {missing:#?}"
    );
}

/// Every `executor/src/….rs` path in `text`.
fn executor_paths(text: &str) -> Vec<String> {
    text.match_indices("executor/src/")
        .filter_map(|(at, _)| {
            let rest = &text[at..];
            let end = rest
                .find(|c: char| !(c.is_alphanumeric() || matches!(c, '_' | '/' | '.')))
                .unwrap_or(rest.len());
            let path = rest[..end].trim_end_matches('.');
            path.ends_with(".rs").then(|| path.to_string())
        })
        .collect()
}

#[test]
fn every_executor_path_cited_in_docs_scripts_and_module_docs_exists() {
    let _hang = hang_guard::start();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut cited = Vec::new();
    // The markdown files and the scripts, whole.
    let mut texts = vec![root.join(".ci/run")];
    for folder in [root.to_path_buf(), root.join("docs"), root.join("scripts")] {
        for entry in std::fs::read_dir(&folder).expect("a readable folder") {
            let path = entry.expect("a folder entry").path();
            let name = path.to_string_lossy();
            if name.ends_with(".md") || name.ends_with(".sh") {
                texts.push(path);
            }
        }
    }
    for path in &texts {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        cited.extend(executor_paths(&text).into_iter().map(|p| (path.clone(), p)));
    }
    // The module docs (`//!`) of every Rust file in the workspace's code.
    let mut sources = Vec::new();
    for folder in [
        "executor", "patterns", "examples", "tests", "src", "benches",
    ] {
        rust_files(root, &root.join(folder), &mut sources);
    }
    for file in &sources {
        let text = std::fs::read_to_string(root.join(file)).unwrap_or_default();
        let docs: String = text
            .lines()
            .filter_map(|line| line.trim_start().strip_prefix("//!"))
            .collect::<Vec<_>>()
            .join(" ");
        cited.extend(
            executor_paths(&docs)
                .into_iter()
                .map(|p| (root.join(file), p)),
        );
    }
    assert!(cited.len() > 30, "found only {} citations", cited.len());
    let missing: Vec<String> = cited
        .iter()
        .filter(|(_, path)| !root.join(path).is_file())
        .map(|(from, path)| format!("{path} (cited in {})", from.display()))
        .collect();
    assert!(missing.is_empty(), "cited but missing: {missing:#?}");
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
        chained_steps(
            "`a.rs: f` → `b.rs: g`, then `b.rs: g` calls `c.rs: h`; `c.rs: h` and `d.rs: i`"
        ),
        [
            (("a.rs".into(), "f".into()), ("b.rs".into(), "g".into())),
            (("b.rs".into(), "g".into()), ("c.rs".into(), "h".into())),
        ]
    );
    let source = "fn f() { let x = { 1 }; g(x) }\nfn k() { self.h() }\nfn m() { long_g() }";
    assert_eq!(function_bodies(source, "f"), ["{ let x = { 1 }; g(x) }"]);
    assert!(calls(function_bodies(source, "f")[0], "g"));
    assert!(calls(function_bodies(source, "k")[0], "h"));
    assert!(
        !calls(function_bodies(source, "m")[0], "g"),
        "long_g is not g"
    );
    assert_eq!(
        executor_paths(
            "see executor/src/io/reactor.rs. and `executor/src/time/` and executor/src/a_b.rs:"
        ),
        ["executor/src/io/reactor.rs", "executor/src/a_b.rs"]
    );
    assert_eq!(
        cited_files(
            "`executor/src/io/reactor.rs`, `examples/timeouts.rs`, `Core::ready`, \
             `a b.rs`, `docs/WALKTHROUGH.md`, `executor/src/io/reactor.rs: park`"
        ),
        ["executor/src/io/reactor.rs", "examples/timeouts.rs"]
    );
}
