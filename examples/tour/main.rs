//! The tour: every pattern on glassbox and on tokio's current_thread runtime, side
//! by side, and on asyncio, the lesson's own language, when `python3` is there.
//!
//! ```text
//! cargo run --release --example tour                  every chapter
//! cargo run --release --example tour -- order         one chapter (or several)
//! cargo run --release --example tour -- --list        the chapters
//! cargo run --release --example tour -- --no-asyncio  without the asyncio column
//! cargo run --release --example tour -- --record DIR  also record each glassbox run
//!                                                      as a page in DIR (index.html)
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
    pub mod schedules;
    pub mod semaphore;
    pub mod timeout;
}
#[path = "../support/accept_errors.rs"]
mod accept_errors;
mod asyncio;
mod report;
mod shim;

use std::path::{Path, PathBuf};

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
        name: "schedules",
        summary: "a bug FIFO hides (two withdrawals): a plain run passes; the explorer finds it",
        run: chapters::schedules::run,
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
    let record = args.iter().position(|arg| arg == "--record").map(|at| {
        let dir = args.get(at + 1).cloned().unwrap_or_else(|| {
            eprintln!("tour: --record needs a directory: --record DIR");
            std::process::exit(2);
        });
        args.drain(at..=at + 1);
        PathBuf::from(dir)
    });
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
            run(&chosen.collect::<Vec<_>>(), with_asyncio, record.as_deref());
        }
        None => run(
            &CHAPTERS.iter().collect::<Vec<_>>(),
            with_asyncio,
            record.as_deref(),
        ),
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

fn run(chapters: &[&Chapter], with_asyncio: bool, record: Option<&Path>) {
    let python = find_python(with_asyncio);
    let mut tally = Tally::default();
    if let Some(dir) = record {
        std::fs::create_dir_all(dir).unwrap_or_else(|error| {
            eprintln!("tour: cannot create {}: {error}", dir.display());
            std::process::exit(2);
        });
    }
    for chapter in chapters {
        print_title(&format!("{}: {}", chapter.name, chapter.summary));
        shim::glassbox::record_to(record.map(|dir| dir.join(format!("{}.html", chapter.name))));
        let twin = match (&python, chapter.twin) {
            (None, _) => Twin::Off,
            (Some(python), When::Beside) => Twin::Beside(python.spawn_twin(chapter.name, &[])),
            (Some(python), When::After) => Twin::After(python.clone(), chapter.name),
        };
        let rows = (chapter.run)(twin);
        print_table(&rows);
        tally.count(chapter.name, &rows);
    }
    shim::glassbox::record_to(None);
    tally.print(python.is_some());
    if let Some(dir) = record {
        write_index(dir, chapters);
    }
}

/// `DIR/index.html`: a link to every page the chapters recorded, by chapter.
fn write_index(dir: &Path, chapters: &[&Chapter]) {
    let mut items = String::new();
    let mut pages = 0;
    for chapter in chapters {
        let mut runs: Vec<String> = std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
            .filter(|name| {
                name.strip_prefix(chapter.name).is_some_and(|rest| {
                    rest == ".html" || rest.starts_with('.') && rest.ends_with(".html")
                })
            })
            .collect();
        runs.sort_by_key(|name| {
            let number = name
                .trim_end_matches(".html")
                .rsplit('.')
                .next()
                .unwrap_or("");
            number.parse::<u32>().unwrap_or(1)
        });
        pages += runs.len();
        let links: Vec<String> = runs
            .iter()
            .enumerate()
            .map(|(i, name)| format!("<a href=\"{name}\">run {}</a>", i + 1))
            .collect();
        items.push_str(&format!(
            "<li><strong>{}</strong>: {} · {}</li>\n",
            chapter.name,
            chapter.summary.replace('<', "&lt;"),
            links.join(" ")
        ));
    }
    let page = format!(
        "<!doctype html>\n<meta charset=\"utf-8\">\n<title>glassbox tour: recorded runs</title>\n\
         <h1>glassbox tour: each glassbox run, recorded</h1>\n<p>One page per runtime the \
         chapter built, in the order it ran. Each opens from file://, needs no network, and \
         steps its run forwards and backwards.</p>\n<ul>\n{items}</ul>\n"
    );
    let index = dir.join("index.html");
    match std::fs::write(&index, page) {
        Ok(()) => println!("\nrecorded {pages} runs: open {}", index.display()),
        Err(error) => eprintln!("tour: cannot write {}: {error}", index.display()),
    }
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
        "usage: cargo run --release --example tour [-- CHAPTER... | --list | --help] [--no-asyncio] [--record DIR]\n"
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
