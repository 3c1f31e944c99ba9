//! asyncio, the tour's third runtime: each chapter's Python twin
//! (`examples/tour/asyncio/*_twin.py`) run by the real interpreter, its output read
//! by the chapter's own code, and what glassbox mirrors of CPython checked against
//! it: `task_done`/`join`, first come, first served admission, Python 3.13's
//! `shutdown` where the interpreter has it, and the timeout, retry and ordering
//! scenarios that run on a paused clock. Nothing here compares against a transcript.
//!
//! Python is optional. Without it (`GLASSBOX_PYTHON=/nonexistent`, or no `python3`
//! on the PATH) every test that needs it prints why it is skipped and passes, and
//! `without_python_the_tour_leaves_the_column_out` checks that the tour copes.
//!
//! Like tests/vs_tokio.rs, this compiles the tour's own files as modules.

mod hang_guard;

#[path = "../examples/support/accept_errors.rs"]
mod accept_errors;
#[path = "../examples/tour/asyncio.rs"]
#[allow(dead_code)]
mod asyncio;
#[path = "../examples/tour/report.rs"]
#[allow(dead_code)]
mod report;
#[path = "../examples/tour/shim/mod.rs"]
#[allow(dead_code)]
mod shim;

#[path = "../examples/tour/chapters/blocking.rs"]
#[allow(dead_code)]
mod blocking;
#[path = "../examples/tour/chapters/echo.rs"]
#[allow(dead_code)]
mod echo;
#[path = "../examples/tour/chapters/fairness.rs"]
#[allow(dead_code)]
mod fairness;
#[path = "../examples/tour/chapters/fairness_asyncio.rs"]
#[allow(dead_code)]
mod fairness_asyncio;
#[path = "../examples/tour/chapters/order.rs"]
#[allow(dead_code)]
mod order;
#[path = "../examples/tour/chapters/precision.rs"]
#[allow(dead_code)]
mod precision;
#[path = "../examples/tour/chapters/queue.rs"]
#[allow(dead_code)]
mod queue;
#[path = "../examples/tour/chapters/retry.rs"]
#[allow(dead_code)]
mod retry;
#[path = "../examples/tour/chapters/schedules.rs"]
#[allow(dead_code)]
mod schedules;
#[path = "../examples/tour/chapters/semaphore.rs"]
#[allow(dead_code)]
mod semaphore;
#[path = "../examples/tour/chapters/timeout.rs"]
#[allow(dead_code)]
mod timeout;

use std::process::{Command, Stdio};

use asyncio::{Python, Twin, Value, field, text};

/// The interpreter, or `None` after saying why the test is skipped.
fn python_or_skip() -> Option<Python> {
    match Python::locate() {
        Ok(python) => Some(python),
        Err(why) => {
            eprintln!("skipped: no asyncio twin can run here: {why}");
            None
        }
    }
}

/// What a twin printed; panics with its error if it failed.
fn twin(python: &Python, chapter: &str) -> Value {
    python
        .run_twin(chapter, &[])
        .unwrap_or_else(|why| panic!("{why}"))
}

// === every twin runs, and prints what its chapter reads ===

#[test]
fn every_twin_runs_and_prints_the_keys_its_chapter_reads() {
    let _hang = hang_guard::start();
    let Some(python) = python_or_skip() else {
        return;
    };
    // All at once: only their keys are checked here, not their timings.
    let running: Vec<_> = [
        ("blocking", &[][..]),
        ("fairness", &[]),
        ("timeout", &[]),
        ("semaphore", &[]),
        ("queue", &[]),
        ("retry", &[]),
        ("echo", &["50", "16"]), // 50 round trips, 1 MiB
        ("order", &[]),
        ("schedules", &[]),
        ("precision", &[]),
    ]
    .into_iter()
    .map(|(chapter, args)| (chapter, python.spawn_twin(chapter, args)))
    .collect();
    for (chapter, twin) in running {
        let observed = twin.observation().unwrap_or_else(|why| panic!("{why}"));
        // Each chapter's own reader panics, naming the key, if one is missing.
        match chapter {
            "blocking" => {
                for way in blocking::WAYS {
                    blocking::Run::from_twin(&observed, way);
                }
            }
            "fairness" => {
                fairness_asyncio::Observed::from_twin(&observed);
            }
            "semaphore" => {
                semaphore::Admission::from_twin(&observed);
                text(&observed, "closed");
            }
            "queue" => {
                queue::Run::from_twin(&observed);
                text(&observed, "getters");
                field(&observed, "shutdown");
            }
            "retry" => {
                for (key, _, _) in retry::SCENARIOS {
                    retry::asyncio_attempts(field(&observed, key));
                }
            }
            "echo" => {
                echo::from_twin(&observed);
            }
            "precision" => assert_eq!(asyncio::numbers(&observed, "lateness_us").len(), 200),
            "timeout" => TIMEOUT_KEYS
                .iter()
                .for_each(|key| _ = field(&observed, key)),
            "order" => ORDER_KEYS.iter().for_each(|key| _ = field(&observed, key)),
            // The plain runs pass on asyncio too, as on glassbox under FIFO.
            "schedules" => {
                assert_eq!(
                    text(&observed, "plain"),
                    schedules::glassbox_side::plain(false)
                );
                assert_eq!(
                    text(&observed, "plain_fixed"),
                    schedules::glassbox_side::plain(true)
                );
            }
            _ => unreachable!(),
        }
    }
}

/// The timeout twin's keys: the chapter's scenario functions.
const TIMEOUT_KEYS: &[&str] = &[
    "job_under_timeout_50_20",
    "job_under_timeout_20_50",
    "job_under_timeout_20_20",
    "zero_timeout",
    "huge_timeout",
    "deadline_cancels_the_job",
    "cancelled_cleanup_awaits",
    "timeout_with_default",
    "real_timeout_fires_after_ms",
];

/// The order twin's keys: the chapter's scenario functions.
const ORDER_KEYS: &[&str] = &[
    "spawn_order",
    "spawner_runs_first",
    "timer_order",
    "timers_took_ms",
    "same_deadline_order",
    "late_wake_order",
    "yield_interleaving",
    "zero_sleep_interleaving",
];

// === the queue: what glassbox mirrors of asyncio.Queue ===

#[test]
fn asyncio_and_glassbox_queues_process_each_item_once_and_join_waits_for_every_task_done() {
    let _hang = hang_guard::start();
    let Some(python) = python_or_skip() else {
        return;
    };
    let asyncio = queue::Run::from_twin(&twin(&python, "queue"));
    let glassbox = queue::glassbox_side::producers_and_consumers(10);
    for run in [&asyncio, &glassbox] {
        assert_eq!(run.got.len(), 20, "{run:?}");
        assert!(run.each_item_once(), "{run:?}");
        assert!(run.each_producer_in_order(), "{run:?}");
        assert_eq!(
            run.done_at_join, 20,
            "join returned before every task_done: {run:?}"
        );
        assert!(run.max_qsize <= queue::MAXSIZE, "{run:?}");
        assert_eq!(
            run.cancelled, 3,
            "consumers parked in get end cancelled: {run:?}"
        );
    }
    assert_eq!(asyncio.max_qsize, glassbox.max_qsize);
    assert_eq!(asyncio.took, glassbox.took, "virtual time until join");
}

#[test]
fn asyncio_and_glassbox_serve_parked_getters_first_come_first_served() {
    let _hang = hang_guard::start();
    let Some(python) = python_or_skip() else {
        return;
    };
    let asyncio = text(&twin(&python, "queue"), "getters");
    assert_eq!(asyncio, "a got 1, b got 2, c got 3");
    assert_eq!(
        queue::glassbox_side::getters_served_in_line_order(),
        asyncio
    );
}

/// The table's `differs` row: glassbox holds a freed slot for the putter it wakes;
/// CPython's woken putter checks `full()` again when it runs, and a put that runs
/// first takes the slot. Asserted on both, so the row's explanation stays true.
#[test]
fn only_glassbox_holds_a_freed_slot_for_the_putter_it_woke() {
    let _hang = hang_guard::start();
    let Some(python) = python_or_skip() else {
        return;
    };
    let glassbox = queue::glassbox_side::producers_and_consumers(10);
    assert_eq!(glassbox.got, glassbox.put);
    let asyncio = queue::Run::from_twin(&twin(&python, "queue"));
    assert_ne!(
        asyncio.got, asyncio.put,
        "has CPython started to reserve freed slots?"
    );
}

#[test]
fn queue_shutdown_matches_python_3_13_where_the_interpreter_has_it() {
    let _hang = hang_guard::start();
    let Some(python) = python_or_skip() else {
        return;
    };
    let observed = twin(&python, "queue");
    let shutdown = field(&observed, "shutdown");
    if let Some(why) = shutdown.get("skipped") {
        eprintln!("skipped: {why} (GLASSBOX_PYTHON can name a 3.13)");
        return;
    }
    for (key, what, glassbox) in queue::SHUTDOWN {
        assert_eq!(glassbox(), text(shutdown, key), "{what}");
    }
}

// === the semaphore: first come, first served ===

#[test]
fn asyncio_and_glassbox_semaphores_admit_in_arrival_order_and_never_exceed_the_limit() {
    let _hang = hang_guard::start();
    let Some(python) = python_or_skip() else {
        return;
    };
    let asyncio = semaphore::Admission::from_twin(&twin(&python, "semaphore"));
    let glassbox = semaphore::glassbox_side::admission(100, 10);
    for run in [&asyncio, &glassbox] {
        assert_eq!(run.order, (0..100).collect::<Vec<_>>(), "arrival order");
        assert_eq!(run.max_concurrent, 10);
        assert_eq!(run.permits_after, 10);
    }
}

// === paused-clock scenarios: exact agreement, but where the table says otherwise ===

#[test]
fn timeouts_agree_with_asyncio_but_when_job_and_deadline_are_due_at_once() {
    let _hang = hang_guard::start();
    let Some(python) = python_or_skip() else {
        return;
    };
    let observed = twin(&python, "timeout");
    let asyncio = |key| timeout::in_glassbox_words(&text(&observed, key));
    use timeout::glassbox_side as glassbox;
    assert_eq!(
        asyncio("job_under_timeout_50_20"),
        glassbox::job_under_timeout(50, 20)
    );
    assert_eq!(
        asyncio("job_under_timeout_20_50"),
        glassbox::job_under_timeout(20, 50)
    );
    assert_eq!(asyncio("zero_timeout"), glassbox::zero_timeout());
    assert_eq!(asyncio("huge_timeout"), glassbox::huge_timeout());
    assert_eq!(
        asyncio("deadline_cancels_the_job"),
        glassbox::deadline_cancels_the_job()
    );
    assert_eq!(
        asyncio("timeout_with_default"),
        glassbox::timeout_with_default()
    );
    // The `differs` row: asyncio's timeout armed its timer first, and fires first.
    assert_eq!(
        glassbox::job_under_timeout(20, 20),
        r#"Ok("done") at 20 ms"#
    );
    assert_eq!(
        asyncio("job_under_timeout_20_20"),
        "Err(deadline has elapsed) at 20 ms"
    );
    // The other `differs` row: asyncio's cancelled job runs a `finally:` that awaits,
    // and the timeout waits for it; a Rust future's cleanup is its Drop, at once.
    assert_eq!(
        asyncio("cancelled_cleanup_awaits"),
        "timed out at 30 ms; cleanup at 30 ms, awaited 10 ms"
    );
    assert_eq!(
        glassbox::cancelled_cleanup_awaits(),
        "timed out at 20 ms; cleanup in Drop at 20 ms"
    );
}

#[test]
fn retries_start_at_the_same_virtual_times_and_end_alike_on_asyncio() {
    let _hang = hang_guard::start();
    let Some(python) = python_or_skip() else {
        return;
    };
    let observed = twin(&python, "retry");
    for (key, name, fail) in retry::SCENARIOS {
        let glassbox = retry::glassbox_side::retried(fail);
        let (schedule, outcome) = retry::asyncio_attempts(field(&observed, key));
        assert_eq!(schedule, glassbox.schedule(), "{name}");
        assert_eq!(outcome, glassbox.outcome(), "{name}");
    }
}

#[test]
fn tasks_run_in_the_same_order_on_asyncio_and_glassbox() {
    let _hang = hang_guard::start();
    let Some(python) = python_or_skip() else {
        return;
    };
    let observed = twin(&python, "order");
    use order::glassbox_side as glassbox;
    assert_eq!(text(&observed, "spawn_order"), glassbox::spawn_order());
    assert_eq!(
        text(&observed, "spawner_runs_first"),
        glassbox::spawner_runs_first()
    );
    assert_eq!(text(&observed, "timer_order"), glassbox::timer_order().0);
    assert_eq!(
        text(&observed, "same_deadline_order"),
        glassbox::same_deadline_order()
    );
    // asyncio.sleep(0) yields exactly once, as glassbox's yield_now and zero sleep do.
    let turns = "a1 b1 c1 a2 b2 c2 a3 b3 c3";
    assert_eq!(text(&observed, "yield_interleaving"), turns);
    assert_eq!(text(&observed, "zero_sleep_interleaving"), turns);
    assert_eq!(glassbox::yield_interleaving(), turns);
    assert_eq!(glassbox::zero_sleep_interleaving(), turns);
}

// === the examples' twins ===

/// `examples/asyncio/*.py`, the asyncio versions of the Rust examples, run to the
/// end (all at once; `timeouts.py` waits its 6 s on the real clock) and print what
/// their Rust twins print.
#[test]
fn every_example_twin_runs_to_the_end() {
    let _hang = hang_guard::start();
    let Some(python) = python_or_skip() else {
        return;
    };
    let examples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/asyncio");
    let running: Vec<_> = [
        ("blocking", "── summary ──"),
        ("timeouts", "3 of 3 tasks cancelled"),
        ("rate_limit", "answered 200 OK:              100/100"),
        ("producer_consumer", "3 consumers cancelled"),
        ("retry", "succeeded after 4 attempts"),
    ]
    .into_iter()
    .map(|(example, last_words)| {
        let child = Command::new(python.executable())
            .args(["-B", "-E", "-s"])
            .arg(examples.join(format!("{example}.py")))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the interpreter");
        (last_words, asyncio::Running::watch(child, example))
    })
    .collect();
    for (last_words, example) in running {
        let printed = example.finish().unwrap_or_else(|why| panic!("{why}"));
        assert!(printed.contains(last_words), "{printed}");
    }
}

// === without Python ===

/// Run with `GLASSBOX_PYTHON=/nonexistent`, the tour finds no interpreter and says
/// why. (Run without it, this test runs itself again with it: the variable is read
/// by the process, and one test cannot set it under the others' feet.)
#[test]
fn glassbox_python_names_the_interpreter_and_a_missing_one_is_reported() {
    let _hang = hang_guard::start();
    if std::env::var_os("GLASSBOX_PYTHON").as_deref() == Some("/nonexistent".as_ref()) {
        let why = Python::locate().expect_err("/nonexistent is no interpreter");
        assert!(why.contains("/nonexistent"), "{why}");
        return;
    }
    let name = "glassbox_python_names_the_interpreter_and_a_missing_one_is_reported";
    let child = Command::new(std::env::current_exe().expect("this test binary"))
        .args(["--exact", name, "--test-threads=1"])
        .env("GLASSBOX_PYTHON", "/nonexistent")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run this test binary again");
    let output = asyncio::Running::watch(child, name).finish();
    let output = output.unwrap_or_else(|why| panic!("under GLASSBOX_PYTHON=/nonexistent: {why}"));
    assert!(output.contains("1 passed"), "{output}");
}

#[test]
fn without_python_the_tour_leaves_the_column_out() {
    let _hang = hang_guard::start();
    for rows in [queue::run(Twin::Off), order::run(Twin::Off)] {
        assert!(rows.iter().all(|row| row.asyncio.is_none()));
    }
}

/// A row that only names what each side uses (tokio has no asyncio.Queue, nobody but
/// glassbox has a retry helper) is not judged: the summary counts only behaviour.
#[test]
fn rows_that_name_what_each_side_uses_get_no_verdict_on_any_side() {
    let _hang = hang_guard::start();
    let Some(python) = python_or_skip() else {
        return;
    };
    for (rows, what) in [
        (
            queue::run(Twin::After(python.clone(), "queue")),
            "the queue used",
        ),
        (retry::run(Twin::After(python, "retry")), "the retry loop"),
    ] {
        let row = rows.iter().find(|row| row.what == what).expect(what);
        assert!(matches!(row.verdict, report::Verdict::Uses), "{what}");
        let asyncio = row.asyncio.as_ref().expect("the twin ran");
        assert!(matches!(asyncio.verdict, report::Verdict::Uses), "{what}");
    }
}
