//! What a chapter observed on each runtime, and how it is printed.
//!
//! A row is one observation: what glassbox did, what tokio did, and a verdict.
//! Orders, counts and bounds get a verdict (`same`, or `differs` with the reason);
//! times are only shown, never judged on their own, because a noisy machine makes
//! them wobble; a row that names what each side uses (`the queue used`) gets `n/a`. When the chapter's asyncio twin ran (`asyncio.rs`), the row has a
//! third observation on a line of its own, under the first, judged against
//! glassbox's by the same rules: glassbox's patterns follow asyncio's lesson, so
//! asyncio is the reference it is held to.

use std::fmt::Display;
use std::io::IsTerminal;

/// The verdict of one row.
pub enum Verdict {
    Same,
    Differs(&'static str),
    /// A timing, shown for reading, not judged.
    Shown,
    /// What each side uses (a type, a helper), named for reading: no behaviour to judge.
    Uses,
    /// Not observed on this interpreter (a Python 3.13 API on an older one).
    Skipped,
}

/// One observation on both runtimes, and on asyncio when its twin ran.
pub struct Row {
    pub what: String,
    pub glassbox: String,
    pub tokio: String,
    pub verdict: Verdict,
    pub asyncio: Option<Third>,
}

/// asyncio's observation of a row, and its verdict against glassbox's.
pub struct Third {
    pub seen: String,
    pub verdict: Verdict,
}

impl Row {
    /// Adds asyncio's observation, if its twin ran: `third` makes it from what the
    /// twin printed (with [`asyncio_compare`], [`asyncio_shown`] and the like).
    pub fn with_asyncio<T>(mut self, twin: Option<&T>, third: impl FnOnce(&T) -> Third) -> Row {
        self.asyncio = twin.map(third);
        self
    }
}

/// asyncio's side of a judged row: `same` if it equals glassbox's, else `differs`
/// with `why`.
pub fn asyncio_compare<T: PartialEq + Display>(
    glassbox: T,
    asyncio: T,
    why: &'static str,
) -> Third {
    asyncio_compare_on(&glassbox, (&asyncio, &asyncio), why)
}

/// asyncio's side of a row judged on a property (as [`compare_on`]): `asyncio` is
/// (what to show, what to compare with `glassbox`).
pub fn asyncio_compare_on<K: PartialEq>(
    glassbox: K,
    asyncio: (impl Display, K),
    why: &'static str,
) -> Third {
    let verdict = if glassbox == asyncio.1 {
        Verdict::Same
    } else {
        Verdict::Differs(why)
    };
    Third {
        seen: asyncio.0.to_string(),
        verdict,
    }
}

/// asyncio's timing, shown, not judged.
pub fn asyncio_shown(seen: impl Display) -> Third {
    Third {
        seen: seen.to_string(),
        verdict: Verdict::Shown,
    }
}

/// asyncio's side of a row that names what each side uses: not judged.
pub fn asyncio_uses(seen: impl Display) -> Third {
    Third {
        seen: seen.to_string(),
        verdict: Verdict::Uses,
    }
}

/// A row asyncio's interpreter cannot observe, and why.
pub fn asyncio_skipped(why: impl Display) -> Third {
    Third {
        seen: why.to_string(),
        verdict: Verdict::Skipped,
    }
}

/// A judged row: `same` if the observations are equal, else `differs` with `why`.
pub fn compare<T: PartialEq + Display>(
    what: &str,
    glassbox: T,
    tokio: T,
    why: &'static str,
) -> Row {
    compare_on(what, (&glassbox, &glassbox), (&tokio, &tokio), why)
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
        asyncio: None,
    }
}

/// A row that only shows two timings.
pub fn shown(what: &str, glassbox: impl Display, tokio: impl Display) -> Row {
    Row {
        what: what.to_string(),
        glassbox: glassbox.to_string(),
        tokio: tokio.to_string(),
        verdict: Verdict::Shown,
        asyncio: None,
    }
}

/// A row that names what each side uses for the scenario (a type, a helper): shown so
/// the reader knows what is compared, but not judged, so the summary counts only
/// behaviour.
pub fn uses(what: &str, glassbox: impl Display, tokio: impl Display) -> Row {
    Row {
        verdict: Verdict::Uses,
        ..shown(what, glassbox, tokio)
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
/// asyncio's observation, when there is one, spans the glassbox and tokio columns on
/// the lines under the row.
pub fn print_table(rows: &[Row]) {
    let colour = Colour::detect();
    println!(
        "{:<26} {:<25} {:<25} verdict",
        "observation", "glassbox", "tokio"
    );
    println!("{}", "-".repeat(99));
    for row in rows {
        let what = wrap(&row.what, 26);
        let glassbox = wrap(&row.glassbox, 25);
        let tokio = wrap(&row.tokio, 25);
        let lines = what.len().max(glassbox.len()).max(tokio.len());
        for i in 0..lines {
            let cell = |column: &[String]| column.get(i).cloned().unwrap_or_default();
            let verdict = if i == 0 {
                colour.verdict(&row.verdict)
            } else {
                String::new()
            };
            let line = format!(
                "{:<26} {:<25} {:<25} {verdict}",
                cell(&what),
                cell(&glassbox),
                cell(&tokio)
            );
            println!("{}", line.trim_end());
        }
        print_why(&colour, "why", &row.verdict);
        if let Some(asyncio) = &row.asyncio {
            for (i, line) in wrap(&asyncio.seen, 51).iter().enumerate() {
                let (label, verdict) = match i {
                    0 => ("  asyncio", colour.verdict(&asyncio.verdict)),
                    _ => ("", String::new()),
                };
                let line = format!("{label:<26} {line:<51} {verdict}");
                println!("{}", line.trim_end());
            }
            print_why(&colour, "why (asyncio)", &asyncio.verdict);
        }
    }
}

/// A `differs` verdict's reason, under the row, from the glassbox column on.
fn print_why(colour: &Colour, label: &str, verdict: &Verdict) {
    if let Verdict::Differs(why) = verdict {
        for line in wrap(&format!("{label}: {why}"), 72) {
            println!("{:<27}{}", "", colour.dim(&line));
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

    fn verdict(&self, verdict: &Verdict) -> String {
        match verdict {
            Verdict::Same => self.green("same"),
            Verdict::Differs(_) => self.yellow("differs"),
            Verdict::Shown => self.dim("(time)"),
            Verdict::Uses => self.dim("n/a"),
            Verdict::Skipped => self.dim("skipped"),
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
