//! What a chapter observed on each runtime, and how it is printed.
//!
//! A row is one observation: what glassbox did, what tokio did, and a verdict.
//! Orders, counts and bounds get a verdict (`same`, or `differs` with the reason);
//! times are only shown, never judged on their own, because a noisy machine makes
//! them wobble.

use std::fmt::Display;
use std::io::IsTerminal;

/// The verdict of one row.
pub enum Verdict {
    Same,
    Differs(&'static str),
    /// A timing, shown for reading, not judged.
    Shown,
}

/// One observation on both runtimes.
pub struct Row {
    pub what: String,
    pub glassbox: String,
    pub tokio: String,
    pub verdict: Verdict,
}

/// A judged row: `same` if the observations are equal, else `differs` with `why`.
pub fn compare<T: PartialEq + Display>(
    what: &str,
    glassbox: T,
    tokio: T,
    why: &'static str,
) -> Row {
    let verdict = if glassbox == tokio {
        Verdict::Same
    } else {
        Verdict::Differs(why)
    };
    Row {
        what: what.to_string(),
        glassbox: glassbox.to_string(),
        tokio: tokio.to_string(),
        verdict,
    }
}

/// A row judged on a property of each observation (a bound, a class), not on the raw
/// values it shows: `glassbox` and `tokio` are (what to show, what to compare).
pub fn compare_on<K: PartialEq>(
    what: &str,
    glassbox: (impl Display, K),
    tokio: (impl Display, K),
    why: &'static str,
) -> Row {
    let verdict = if glassbox.1 == tokio.1 {
        Verdict::Same
    } else {
        Verdict::Differs(why)
    };
    Row {
        what: what.to_string(),
        glassbox: glassbox.0.to_string(),
        tokio: tokio.0.to_string(),
        verdict,
    }
}

/// A row that only shows two timings.
pub fn shown(what: &str, glassbox: impl Display, tokio: impl Display) -> Row {
    Row {
        what: what.to_string(),
        glassbox: glassbox.to_string(),
        tokio: tokio.to_string(),
        verdict: Verdict::Shown,
    }
}

/// Milliseconds with one decimal, for `shown` rows.
pub fn ms(duration: std::time::Duration) -> String {
    format!("{:.1} ms", duration.as_secs_f64() * 1000.0)
}

/// Prints a chapter's title. A chapter may print figures (at most 99 columns wide)
/// between its title and its table.
pub fn print_title(title: &str) {
    println!("\n{}", Colour::detect().bold(&format!("== {title}")));
}

/// Prints a chapter's table, fitting 100 columns; long cells wrap within their column.
pub fn print_table(rows: &[Row]) {
    let colour = Colour::detect();
    println!(
        "{:<26} {:<25} {:<25} verdict",
        "observation", "glassbox", "tokio"
    );
    println!("{}", "-".repeat(99));
    for row in rows {
        let verdict = match row.verdict {
            Verdict::Same => colour.green("same"),
            Verdict::Differs(_) => colour.yellow("differs"),
            Verdict::Shown => colour.dim("(time)"),
        };
        let what = wrap(&row.what, 26);
        let glassbox = wrap(&row.glassbox, 25);
        let tokio = wrap(&row.tokio, 25);
        let lines = what.len().max(glassbox.len()).max(tokio.len());
        for i in 0..lines {
            let cell = |column: &[String]| column.get(i).cloned().unwrap_or_default();
            let verdict = if i == 0 { verdict.as_str() } else { "" };
            let line = format!(
                "{:<26} {:<25} {:<25} {verdict}",
                cell(&what),
                cell(&glassbox),
                cell(&tokio)
            );
            println!("{}", line.trim_end());
        }
        if let Verdict::Differs(why) = row.verdict {
            for line in wrap(&format!("why: {why}"), 72) {
                println!("{:<27}{}", "", colour.dim(&line));
            }
        }
    }
}

/// Splits `text` into lines of at most `width` characters, at spaces where possible.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split(' ') {
        let mut word = word.to_string();
        while word.chars().count() > width {
            let head: String = word.chars().take(width).collect();
            word = word.chars().skip(width).collect();
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            lines.push(head);
        }
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(&word);
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

/// ANSI colour, only when stdout is a terminal and `NO_COLOR` is unset.
struct Colour(bool);

impl Colour {
    fn detect() -> Colour {
        Colour(std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none())
    }

    fn paint(&self, code: &str, text: &str) -> String {
        if self.0 {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    fn bold(&self, text: &str) -> String {
        self.paint("1", text)
    }

    fn green(&self, text: &str) -> String {
        self.paint("32", text)
    }

    fn yellow(&self, text: &str) -> String {
        self.paint("33", text)
    }

    fn dim(&self, text: &str) -> String {
        self.paint("2", text)
    }
}
