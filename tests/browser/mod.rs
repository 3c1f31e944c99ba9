//! Headless Chromium for the tests of the recorded page (`tests/record.rs`).
//!
//! A fresh machine may have no browser: then [`chromium`] says so loudly on stderr
//! and returns `None`, and the test that needed it passes without it. With
//! `GLASSBOX_REQUIRE_BROWSER=1` (set by `.ci/run`, which installs Debian's
//! `chromium`), a missing browser fails the test instead.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

/// The browser, if there is one: `chromium`, `chromium-browser` or
/// `google-chrome` on the `PATH`, or the one `GLASSBOX_CHROMIUM` names.
pub fn chromium() -> Option<PathBuf> {
    let named = std::env::var_os("GLASSBOX_CHROMIUM").map(PathBuf::from);
    let found = named.into_iter().chain(
        ["chromium", "chromium-browser", "google-chrome"]
            .into_iter()
            .filter_map(on_path),
    );
    let browser = found.into_iter().find(|path| path.is_file());
    if browser.is_none() {
        let required = std::env::var_os("GLASSBOX_REQUIRE_BROWSER").is_some_and(|v| v == "1");
        assert!(
            !required,
            "GLASSBOX_REQUIRE_BROWSER=1 but no chromium is installed (apt install chromium)"
        );
        eprintln!(
            "\n*** NO BROWSER: the recorded page's tests in headless Chromium did not run. ***\n\
             *** Install Debian's `chromium` (.ci/run does) to run them.                 ***\n"
        );
    }
    browser
}

fn on_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(name))
        .find(|path| path.is_file())
}

/// The DOM of `page` (with `query` and `fragment`, e.g. `?selftest`, `#turn=3`) once
/// its scripts have run, as `chromium --headless --dump-dom` prints it. `offline`:
/// every request goes to a proxy on a closed port, so a page that reached for the
/// network would find nothing.
pub fn dump_dom(browser: &Path, page: &Path, query: &str, offline: bool) -> String {
    static PROFILE: AtomicU32 = AtomicU32::new(0);
    // A profile of its own for each run: tests run in parallel, and two browsers
    // cannot share one.
    let profile = std::env::temp_dir().join(format!(
        "glassbox-chromium-{}-{}",
        std::process::id(),
        PROFILE.fetch_add(1, Ordering::Relaxed)
    ));
    let url = format!("file://{}{query}", page.display());
    let mut command = Command::new(browser);
    command.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-extensions",
        "--virtual-time-budget=10000",
    ]);
    command.arg(format!("--user-data-dir={}", profile.display()));
    if offline {
        command.args([
            "--proxy-server=127.0.0.1:9",
            "--proxy-bypass-list=<-loopback>",
        ]);
    }
    let output = command
        .arg("--dump-dom")
        .arg(&url)
        .output()
        .expect("chromium runs");
    let _ = std::fs::remove_dir_all(&profile);
    assert!(
        output.status.success(),
        "chromium failed on {url}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("the DOM is UTF-8")
}

/// The text of the `<pre id="…">` element in `dom`.
pub fn pre_text(dom: &str, id: &str) -> String {
    let open = format!("<pre id=\"{id}\">");
    let start = dom
        .find(&open)
        .unwrap_or_else(|| panic!("no <pre id=\"{id}\"> shown in:\n{dom}"))
        + open.len();
    let end = start + dom[start..].find("</pre>").expect("the <pre> closes");
    dom[start..end]
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}
