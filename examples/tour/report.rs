//! What a chapter observed on each runtime, and how it is printed.
//!
//! A row is one observation: what glassbox did, what tokio did, and a verdict.
//! Orders, counts and bounds get a verdict (`same`, or `differs` with the reason);
//! times are only shown, never judged on their own, because a noisy machine makes
//! them wobble; a row that names what each side uses (`the queue used`) gets `n/a`.
//! When the chapter's asyncio twin ran (`asyncio.rs`), the row has a third
//! observation on a line of its own, under the first, judged against glassbox's by
//! the same rules (`same as glassbox`): glassbox's patterns follow asyncio's lesson,
//! so asyncio is the reference it is held to.
//!
//! A reason is a [`Why`]: a known [`Cause`] (a short title, for the summary, and the
//! explanation printed under the row), or a plain phrase that is its own title. Rows
//! that differ for one cause share its title, and the summary counts them once.
//!
//! A cell never splits a sequence: when glassbox's or tokio's observation is too long
//! for its column, the row is printed stacked, one line per runtime.

use std::fmt::Display;
use std::io::IsTerminal;

/// The verdict of one row.
pub enum Verdict {
    Same,
    Differs(Why),
    /// A timing, shown for reading, not judged.
    Shown,
    /// What each side uses (a type, a helper), named for reading: no behaviour to judge.
    Uses,
    /// Not observed on this interpreter (a Python 3.13 API on an older one).
    Skipped,
}

/// Why two runtimes may differ on a row, when the reason is a known difference
/// between them: `title` names it in the summary, `why` explains it under the row.
pub struct Cause {
    pub title: &'static str,
    pub why: &'static str,
}

/// A `differs` verdict's reason: a known cause, or a plain phrase saying what
/// differed (a difference no runtime is meant to have), which is its own title.
#[derive(Clone, Copy)]
pub enum Why {
    Plain(&'static str),
    Known(&'static Cause),
}

impl Why {
    /// The cause's name in the summary.
    pub fn title(self) -> &'static str {
        match self {
            Why::Plain(text) => text,
            Why::Known(cause) => cause.title,
        }
    }

    /// The explanation under the row.
    fn text(self) -> &'static str {
        match self {
            Why::Plain(text) => text,
            Why::Known(cause) => cause.why,
        }
    }
}

impl From<&'static str> for Why {
    fn from(text: &'static str) -> Why {
        Why::Plain(text)
    }
}

impl From<&'static Cause> for Why {
    fn from(cause: &'static Cause) -> Why {
        Why::Known(cause)
    }
}

/// Rows that differ, grouped by the title of their cause, the causes in the order
/// they first came. Prints as `N different, for K causes:` and each cause with its
/// rows under it.
#[derive(Default)]
pub struct Causes(Vec<(&'static str, Vec<String>)>);

impl Causes {
    pub fn add(&mut self, why: Why, row: String) {
        match self.0.iter_mut().find(|(title, _)| *title == why.title()) {
            Some((_, rows)) => rows.push(row),
            None => self.0.push((why.title(), vec![row])),
        }
    }

    /// How many rows differ.
    pub fn rows(&self) -> usize {
        self.0.iter().map(|(_, rows)| rows.len()).sum()
    }
}

impl Display for Causes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let causes = self.0.len();
        if causes == 0 {
            return writeln!(f, "none different.");
        }
        let plural = if causes == 1 { "" } else { "s" };
        writeln!(f, "{} different, for {causes} cause{plural}:", self.rows())?;
        for (title, rows) in &self.0 {
            match rows.len() {
                1 => writeln!(f, "  {title}")?,
                n => writeln!(f, "  {title} ({n} rows)")?,
            }
            for row in rows {
                writeln!(f, "      {row}")?;
            }
        }
        Ok(())
    }
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
    why: impl Into<Why>,
) -> Third {
    asyncio_compare_on(&glassbox, (&asyncio, &asyncio), why)
}

/// asyncio's side of a row judged on a property (as [`compare_on`]): `asyncio` is
/// (what to show, what to compare with `glassbox`).
pub fn asyncio_compare_on<K: PartialEq>(
    glassbox: K,
    asyncio: (impl Display, K),
    why: impl Into<Why>,
) -> Third {
    let verdict = if glassbox == asyncio.1 {
        Verdict::Same
    } else {
        Verdict::Differs(why.into())
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
    why: impl Into<Why>,
) -> Row {
    compare_on(what, (&glassbox, &glassbox), (&tokio, &tokio), why)
}

/// A row judged on a property of each observation (a bound, a class), not on the raw
/// values it shows: `glassbox` and `tokio` are (what to show, what to compare).
pub fn compare_on<K: PartialEq>(
    what: &str,
    glassbox: (impl Display, K),
    tokio: (impl Display, K),
    why: impl Into<Why>,
) -> Row {
    let verdict = if glassbox.1 == tokio.1 {
        Verdict::Same
    } else {
        Verdict::Differs(why.into())
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

/// The columns: the observation, glassbox, tokio; a verdict after them; and the span
/// of the last two, where a stacked row or asyncio's line writes.
const WHAT: usize = 26;
const CELL: usize = 25;
const SPAN: usize = 2 * CELL + 1;
const ALL_BUT_VERDICT: usize = WHAT + 1 + SPAN;

/// Prints a chapter's table (see [`table`]).
pub fn print_table(rows: &[Row]) {
    for line in table(rows, &Colour::detect()) {
        println!("{line}");
    }
}

/// A chapter's table, line by line, within 100 columns; long cells wrap within their
/// column, and a row with an observation too long for its column is stacked.
/// asyncio's observation, when there is one, spans the glassbox and tokio columns on
/// the line under the row.
pub fn table(rows: &[Row], colour: &Colour) -> Vec<String> {
    let mut out = vec![
        format!(
            "{:<WHAT$} {:<CELL$} {:<CELL$} verdict",
            "observation", "glassbox", "tokio"
        ),
        "-".repeat(99),
    ];
    for row in rows {
        let fits = |cell: &str| cell.chars().count() <= CELL;
        if fits(&row.glassbox) && fits(&row.tokio) {
            side_by_side(&mut out, colour, row);
        } else {
            stacked(&mut out, colour, row);
        }
        why_under(&mut out, colour, "why", &row.verdict);
        if let Some(asyncio) = &row.asyncio {
            let verdict = colour.verdict_against_glassbox(&asyncio.verdict);
            labelled(&mut out, &verdict, "  asyncio", &asyncio.seen);
            why_under(&mut out, colour, "why (asyncio)", &asyncio.verdict);
        }
    }
    out
}

/// A row whose observations fit their columns: each in its own, on one line.
fn side_by_side(out: &mut Vec<String>, colour: &Colour, row: &Row) {
    for (i, what) in wrap(&row.what, WHAT).into_iter().enumerate() {
        let line = match i {
            0 => format!(
                "{what:<WHAT$} {:<CELL$} {:<CELL$} {}",
                row.glassbox,
                row.tokio,
                colour.verdict(&row.verdict)
            ),
            _ => what,
        };
        out.push(line.trim_end().to_string());
    }
}

/// A row with an observation too long for its column: the observation across the
/// table, then each runtime's on its own lines, so no sequence is cut in two.
fn stacked(out: &mut Vec<String>, colour: &Colour, row: &Row) {
    for (i, what) in wrap(&row.what, ALL_BUT_VERDICT).into_iter().enumerate() {
        out.push(match i {
            0 => format!("{what:<ALL_BUT_VERDICT$} {}", colour.verdict(&row.verdict)),
            _ => what,
        });
    }
    labelled(out, "", "  glassbox", &row.glassbox);
    labelled(out, "", "  tokio", &row.tokio);
}

/// `label` in the first column and `seen` across the two others, `verdict` after the
/// first line.
fn labelled(out: &mut Vec<String>, verdict: &str, label: &str, seen: &str) {
    for (i, line) in wrap(seen, SPAN).iter().enumerate() {
        let (label, verdict) = match i {
            0 => (label, verdict),
            _ => ("", ""),
        };
        let line = format!("{label:<WHAT$} {line:<SPAN$} {verdict}");
        out.push(line.trim_end().to_string());
    }
}

/// A `differs` verdict's reason, under the row, from the glassbox column on.
fn why_under(out: &mut Vec<String>, colour: &Colour, label: &str, verdict: &Verdict) {
    if let Verdict::Differs(why) = verdict {
        for line in wrap(&format!("{label}: {}", why.text()), 72) {
            out.push(format!("{:<27}{}", "", colour.dim(&line)));
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

/// ANSI colour, only when stdout is a terminal and `NO_COLOR` is unset
/// (`Colour(false)`: none, for a table a test reads).
pub struct Colour(pub bool);

impl Colour {
    pub fn detect() -> Colour {
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

    /// asyncio's verdict, which is against glassbox's observation, not tokio's.
    fn verdict_against_glassbox(&self, verdict: &Verdict) -> String {
        match verdict {
            Verdict::Same => self.green("same as glassbox"),
            Verdict::Differs(_) => self.yellow("differs from glassbox"),
            other => self.verdict(other),
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
