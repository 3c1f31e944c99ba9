//! The page: the viewer (`viewer.html`, `viewer.css`, `viewer.js`) with a run's
//! frames, its task names and the source lines around its spawn and wait sites
//! embedded, in one file that needs nothing else.
//!
//! # Ground rules
//! - No network of any kind: the page's content security policy allows no source
//!   but its own inline script and style (`default-src 'none'`).
//! - The data sits in a `<script type="application/json">`, made safe for HTML
//!   (`json::for_html`), and is read with `JSON.parse`.
//! - A source file is looked for from the current directory, then from each folder
//!   above the program; one found nowhere (a file since deleted, a program moved
//!   away) leaves its excerpt out, and the page says the source is not embedded.

use std::collections::{BTreeMap, BTreeSet};

use crate::record::json;

const VIEWER_HTML: &str = include_str!("viewer.html");
const VIEWER_CSS: &str = include_str!("viewer.css");
const VIEWER_JS: &str = include_str!("viewer.js");

/// Lines shown before and after a site's own line.
const CONTEXT_LINES: usize = 3;

/// What the page is made from.
pub(crate) struct Run<'a> {
    /// The frames' JSON, comma-separated.
    pub(crate) frames: &'a str,
    pub(crate) turns: u64,
    pub(crate) paused: bool,
    pub(crate) cut: Option<&'a str>,
    /// Spawn and wait sites, `file:line:col`.
    pub(crate) sites: &'a BTreeSet<String>,
    pub(crate) names: &'a [(u64, String)],
}

/// The whole page.
pub(crate) fn render(run: &Run<'_>) -> String {
    let mut data = String::from("{");
    json::key(&mut data, true, "version");
    data.push('1');
    json::key(&mut data, false, "program");
    json::string(&mut data, &program_name());
    json::key(&mut data, false, "paused");
    data.push_str(if run.paused { "true" } else { "false" });
    json::key(&mut data, false, "cut");
    json::optional_string(&mut data, run.cut);
    json::key(&mut data, false, "turn_count");
    json::number(&mut data, run.turns);
    json::key(&mut data, false, "names");
    data.push('{');
    for (i, (id, name)) in run.names.iter().enumerate() {
        json::key(&mut data, i == 0, &id.to_string());
        json::string(&mut data, name);
    }
    data.push('}');
    json::key(&mut data, false, "sources");
    write_sources(&mut data, run.sites);
    json::key(&mut data, false, "turns");
    data.push('[');
    data.push_str(run.frames);
    data.push_str("]}");
    VIEWER_HTML
        .replace("/*GLASSBOX-CSS*/", VIEWER_CSS)
        .replace("/*GLASSBOX-JS*/", VIEWER_JS)
        .replace("GLASSBOX-DATA", &json::for_html(&data))
}

/// The program's file name, for the page's title.
fn program_name() -> String {
    std::env::args()
        .next()
        .and_then(|path| {
            std::path::Path::new(&path)
                .file_name()
                .map(|name| name.to_string_lossy().into_owned())
        })
        .unwrap_or_else(|| "a glassbox program".to_string())
}

/// `{"file:line": {"first": n, "lines": […]}}`: each site's line with
/// `CONTEXT_LINES` either side, from the files that can be read.
fn write_sources(out: &mut String, sites: &BTreeSet<String>) {
    let mut files: BTreeMap<&str, Option<Vec<String>>> = BTreeMap::new();
    let mut first = true;
    out.push('{');
    for site in sites {
        // `file:line:col`; a file name may itself hold a colon, so split from the end.
        let mut parts = site.rsplitn(3, ':');
        let (Some(_col), Some(line), Some(file)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        let Ok(line) = line.parse::<usize>() else {
            continue;
        };
        let text = files.entry(file).or_insert_with(|| {
            read_source(file).map(|text| text.lines().map(str::to_string).collect())
        });
        let Some(text) = text else { continue };
        if line == 0 || line > text.len() {
            continue;
        }
        let from = line.saturating_sub(CONTEXT_LINES + 1);
        let to = (line + CONTEXT_LINES).min(text.len());
        json::key(out, first, &format!("{file}:{line}"));
        first = false;
        out.push_str("{\"first\":");
        json::number(out, from as u64 + 1);
        out.push_str(",\"lines\":");
        json::array(out, &text[from..to], |out, line| json::string(out, line));
        out.push('}');
    }
    out.push('}');
}

/// A source file named as `Location` names it: relative to the workspace it was
/// built in. Found from the current directory (`cargo run`), or else from a folder
/// above the program (`target/release/examples/step` is three below the workspace).
fn read_source(file: &str) -> Option<String> {
    let from_here = std::fs::read_to_string(file).ok();
    from_here.or_else(|| {
        let program = std::env::current_exe().ok()?;
        (program.ancestors().skip(1))
            .find_map(|folder| std::fs::read_to_string(folder.join(file)).ok())
    })
}
