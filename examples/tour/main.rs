//! The tour: every pattern on glassbox and on tokio's current_thread runtime, side
//! by side.
//!
//! ```text
//! cargo run --release --example tour              every chapter
//! cargo run --release --example tour -- order     one chapter (or several)
//! cargo run --release --example tour -- --list    the chapters
//! ```
//!
//! Each chapter's scenario is written once (`shim/mod.rs` explains how) and run on both
//! runtimes. Each row shows what glassbox did, what tokio did, and a verdict: `same`,
//! or `differs` with the reason. Timings are shown but never judged on their own.

mod chapters {
    pub mod blocking;
    pub mod echo;
    pub mod fairness;
    pub mod order;
    pub mod queue;
    pub mod retry;
    pub mod semaphore;
    pub mod timeout;
}
#[path = "../support/accept_errors.rs"]
mod accept_errors;
mod report;
mod shim;

use report::{Row, Verdict, print_table, print_title};

/// A chapter: its name on the command line, a one-line summary, and its scenarios.
struct Chapter {
    name: &'static str,
    summary: &'static str,
    run: fn() -> Vec<Row>,
}

const CHAPTERS: &[Chapter] = &[
    Chapter {
        name: "blocking",
        summary: "a heartbeat while a 150 ms job blocks, sleeps, or runs in spawn_blocking",
        run: chapters::blocking::run,
    },
    Chapter {
        name: "fairness",
        summary: "a heartbeat beside a loop never pending: the coop budget on and off; a live stall",
        run: chapters::fairness::run,
    },
    Chapter {
        name: "timeout",
        summary: "deadlines: elapsed or completed, zero and huge, with a default",
        run: chapters::timeout::run,
    },
    Chapter {
        name: "semaphore",
        summary: "100 jobs through 10 permits: concurrency, order of admission",
        run: chapters::semaphore::run,
    },
    Chapter {
        name: "queue",
        summary: "2 producers, 3 consumers, join, cancel (tokio: a stand-in from its parts)",
        run: chapters::queue::run,
    },
    Chapter {
        name: "retry",
        summary: "exponential backoff: when the attempts start (tokio: a hand-written loop)",
        run: chapters::retry::run,
    },
    Chapter {
        name: "echo",
        summary: "a TCP echo server and client over loopback: round trip, throughput",
        run: chapters::echo::run,
    },
    Chapter {
        name: "order",
        summary: "the order in which spawned, yielding and woken tasks run",
        run: chapters::order::run,
    },
];

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
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
            run(&chosen.collect::<Vec<_>>());
        }
        None => run(&CHAPTERS.iter().collect::<Vec<_>>()),
    }
}

fn run(chapters: &[&Chapter]) {
    let mut same = 0;
    let mut differs = Vec::new();
    for chapter in chapters {
        print_title(&format!("{}: {}", chapter.name, chapter.summary));
        let rows = (chapter.run)();
        print_table(&rows);
        for row in &rows {
            match row.verdict {
                Verdict::Same => same += 1,
                Verdict::Differs(_) => differs.push(format!("{}: {}", chapter.name, row.what)),
                Verdict::Shown => {}
            }
        }
    }
    println!(
        "\nsummary: {same} rows the same on both runtimes, {} different:",
        differs.len()
    );
    for row in differs {
        println!("  differs  {row}");
    }
}

fn print_help() {
    println!("tour: run every glassbox pattern next to tokio's current_thread runtime\n");
    println!("usage: cargo run --release --example tour [-- CHAPTER... | --list | --help]\n");
    println!("Each row shows what each runtime did and a verdict: `same`, or `differs`");
    println!("with the reason. Timings are shown, never judged on their own.\n");
    println!("chapters:");
    for chapter in CHAPTERS {
        println!("  {:<10} {}", chapter.name, chapter.summary);
    }
}
