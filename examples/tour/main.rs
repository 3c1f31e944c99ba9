//! The tour: every pattern on glassbox and on tokio's current_thread runtime, side
//! by side.
//!
//! ```text
//! cargo run --release --example tour              every chapter
//! cargo run --release --example tour -- order     one chapter
//! cargo run --release --example tour -- --list    the chapters
//! ```
//!
//! Each chapter's scenario is written once (`shim.rs` explains how) and run on both
//! runtimes. Each row shows what glassbox did, what tokio did, and a verdict: `same`,
//! or `differs` with the reason. Timings are shown but never judged on their own.

mod chapters {
    pub mod order;
}
mod report;
mod shim;

use report::{Row, Verdict, print_table};

/// A chapter: its name on the command line, a one-line summary, and its scenarios.
struct Chapter {
    name: &'static str,
    summary: &'static str,
    run: fn() -> Vec<Row>,
}

const CHAPTERS: &[Chapter] = &[Chapter {
    name: "order",
    summary: "the order in which spawned, yielding and woken tasks run",
    run: chapters::order::run,
}];

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("--help" | "-h") => print_help(),
        Some("--list") => {
            for chapter in CHAPTERS {
                println!("{:<10} {}", chapter.name, chapter.summary);
            }
        }
        Some(name) => match CHAPTERS.iter().find(|chapter| chapter.name == name) {
            Some(chapter) => run(&[chapter]),
            None => {
                eprintln!("tour: no chapter named {name:?}; `--list` shows them");
                std::process::exit(2);
            }
        },
        None => run(&CHAPTERS.iter().collect::<Vec<_>>()),
    }
}

fn run(chapters: &[&Chapter]) {
    let mut same = 0;
    let mut differs = Vec::new();
    for chapter in chapters {
        let rows = (chapter.run)();
        print_table(&format!("{}: {}", chapter.name, chapter.summary), &rows);
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
    println!("usage: cargo run --release --example tour [-- CHAPTER | --list | --help]\n");
    println!("Each row shows what each runtime did and a verdict: `same`, or `differs`");
    println!("with the reason. Timings are shown, never judged on their own.\n");
    println!("chapters:");
    for chapter in CHAPTERS {
        println!("  {:<10} {}", chapter.name, chapter.summary);
    }
}
