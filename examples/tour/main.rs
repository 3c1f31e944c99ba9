//! The tour: every pattern on glassbox and on tokio's current_thread runtime, side
//! by side, and on asyncio, the lesson's own language, when `python3` is there.
//!
//! ```text
//! cargo run --release --example tour                  every chapter
//! cargo run --release --example tour -- order         one chapter (or several)
//! cargo run --release --example tour -- --list        the chapters
//! cargo run --release --example tour -- --no-asyncio  without the asyncio column
//! ```
//!
//! Each chapter's scenario is written once (`shim/mod.rs` explains how) and run on both
//! runtimes. Each row shows what glassbox did, what tokio did, and a verdict: `same`,
//! or `differs` with the reason. Timings are shown but never judged on their own.
//! The chapter's asyncio twin (`asyncio/<chapter>_twin.py`, run by `asyncio.rs`)
//! adds a line under each row: what asyncio did, and its verdict against glassbox.

mod chapters {
    pub mod blocking;
    pub mod echo;
    pub mod fairness;
    pub mod fairness_asyncio;
    pub mod order;
    pub mod precision;
    pub mod queue;
    pub mod retry;
    pub mod semaphore;
    pub mod timeout;
}
#[path = "../support/accept_errors.rs"]
mod accept_errors;
mod asyncio;
mod report;
mod shim;

use asyncio::{Python, Twin};
use report::{Causes, Row, Verdict, print_table, print_title};

/// A chapter: its name on the command line, a one-line summary, its scenarios, and
/// when its asyncio twin runs.
struct Chapter {
    name: &'static str,
    summary: &'static str,
    run: fn(Twin) -> Vec<Row>,
    twin: When,
}

/// When a chapter's asyncio twin runs, as [`Twin`] explains.
#[derive(Clone, Copy)]
enum When {
    Beside,
    After,
}

const CHAPTERS: &[Chapter] = &[
    Chapter {
        name: "blocking",
        summary: "a heartbeat while a 150 ms job blocks, sleeps, or runs in spawn_blocking",
        run: chapters::blocking::run,
        twin: When::After,
    },
    Chapter {
        name: "fairness",
        summary: "a heartbeat beside a loop never pending: the coop budget on and off; a live stall",
        run: chapters::fairness::run,
        twin: When::After,
    },
    Chapter {
        name: "timeout",
        summary: "deadlines: elapsed or completed, zero and huge, with a default",
        run: chapters::timeout::run,
        twin: When::Beside,
    },
    Chapter {
        name: "semaphore",
        summary: "100 jobs through 10 permits: concurrency, order of admission",
        run: chapters::semaphore::run,
        twin: When::Beside,
    },
    Chapter {
        name: "queue",
        summary: "2 producers, 3 consumers, join, cancel (tokio: a stand-in from its parts)",
        run: chapters::queue::run,
        twin: When::Beside,
    },
    Chapter {
        name: "retry",
        summary: "exponential backoff: when the attempts start (tokio: a hand-written loop)",
        run: chapters::retry::run,
        twin: When::Beside,
    },
    Chapter {
        name: "echo",
        summary: "a TCP echo server and client over loopback: round trip, throughput",
        run: chapters::echo::run,
        twin: When::After,
    },
    Chapter {
        name: "order",
        summary: "the order in which spawned, yielding and woken tasks run",
        run: chapters::order::run,
        twin: When::Beside,
    },
    Chapter {
        name: "precision",
        summary: "sleep(250 µs) 200 times: how late each ends, and if ever early",
        run: chapters::precision::run,
        twin: When::After,
    },
];

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let with_asyncio = !args.iter().any(|arg| arg == "--no-asyncio");
    args.retain(|arg| arg != "--no-asyncio");
    match args.first().map(String::as_str) {
        Some("--help" | "-h") => print_help(),
        Some("--list") => {
            for chapter in CHAPTERS {
                println!("{:<10} {}", chapter.name, chapter.summary);
            }
        }
        Some(_) => {
            let chosen = args.iter().map(|name| {
                CHAPTERS
                    .iter()
                    .find(|chapter| chapter.name == name)
                    .unwrap_or_else(|| {
                        eprintln!("tour: no chapter named {name:?}; `--list` shows them");
                        std::process::exit(2);
                    })
            });
            run(&chosen.collect::<Vec<_>>(), with_asyncio);
        }
        None => run(&CHAPTERS.iter().collect::<Vec<_>>(), with_asyncio),
    }
}

/// The interpreter for the asyncio column, saying once which, or why there is none.
fn find_python(with_asyncio: bool) -> Option<Python> {
    if !with_asyncio {
        println!("asyncio column: off (--no-asyncio)");
        return None;
    }
    match Python::locate() {
        Ok(python) => {
            println!(
                "asyncio column: Python {} ({}), judged against glassbox",
                python.version,
                python.executable().display()
            );
            Some(python)
        }
        Err(why) => {
            println!("asyncio column: none: {why} (GLASSBOX_PYTHON names another interpreter)");
            None
        }
    }
}

fn run(chapters: &[&Chapter], with_asyncio: bool) {
    let python = find_python(with_asyncio);
    let mut tally = Tally::default();
    for chapter in chapters {
        print_title(&format!("{}: {}", chapter.name, chapter.summary));
        let twin = match (&python, chapter.twin) {
            (None, _) => Twin::Off,
            (Some(python), When::Beside) => Twin::Beside(python.spawn_twin(chapter.name, &[])),
            (Some(python), When::After) => Twin::After(python.clone(), chapter.name),
        };
        let rows = (chapter.run)(twin);
        print_table(&rows);
        tally.count(chapter.name, &rows);
    }
    tally.print(python.is_some());
}

/// The verdicts of every row, for the summary: the differences grouped by cause.
#[derive(Default)]
struct Tally {
    same: usize,
    differs: Causes,
    asyncio_same: usize,
    asyncio_skipped: usize,
    asyncio_differs: Causes,
}

impl Tally {
    fn count(&mut self, chapter: &str, rows: &[Row]) {
        for row in rows {
            let name = || format!("{chapter}: {}", row.what);
            match row.verdict {
                Verdict::Same => self.same += 1,
                Verdict::Differs(why) => self.differs.add(why, name()),
                Verdict::Shown | Verdict::Uses | Verdict::Skipped => {}
            }
            match row.asyncio.as_ref().map(|asyncio| &asyncio.verdict) {
                Some(Verdict::Same) => self.asyncio_same += 1,
                Some(&Verdict::Differs(why)) => self.asyncio_differs.add(why, name()),
                Some(Verdict::Skipped) => self.asyncio_skipped += 1,
                Some(Verdict::Shown | Verdict::Uses) | None => {}
            }
        }
    }

    fn print(&self, with_asyncio: bool) {
        print!(
            "\nsummary, glassbox against tokio: {} rows the same, ",
            self.same
        );
        print!("{}", self.differs);
        if !with_asyncio {
            return;
        }
        print!(
            "asyncio against glassbox: {} rows the same, {} skipped, ",
            self.asyncio_same, self.asyncio_skipped
        );
        print!("{}", self.asyncio_differs);
    }
}

fn print_help() {
    println!(
        "tour: run every glassbox pattern next to tokio's current_thread runtime and asyncio\n"
    );
    println!(
        "usage: cargo run --release --example tour [-- CHAPTER... | --list | --help] [--no-asyncio]\n"
    );
    println!("Each row shows what each runtime did and a verdict: `same`, or `differs`");
    println!("with the reason. Timings are shown, never judged on their own. When python3");
    println!("(or GLASSBOX_PYTHON) is CPython 3.11+, each chapter's asyncio twin runs too, and");
    println!(
        "a line under each row shows asyncio's observation and its verdict against glassbox.\n"
    );
    println!("chapters:");
    for chapter in CHAPTERS {
        println!("  {:<10} {}", chapter.name, chapter.summary);
    }
}
