//! Differential tests: each tour chapter's scenarios on glassbox and on tokio's
//! current_thread runtime, asserting that what the tour's table calls `same` is the
//! same. A regression then fails here instead of quietly turning a row to `differs`.
//!
//! The scenarios are not copied: this file compiles the tour's own chapter files
//! (`examples/tour/chapters/*.rs`), with its shims and report, as modules.
//!
//! What is asserted: orders, counts, bounds, error kinds, and virtual times under the
//! paused clock. Never a real-clock duration, so a loaded machine cannot fail a test.
//! Where the runtimes differ (the rows marked `differs`), nothing about tokio is
//! asserted; in particular not the order in which tokio resumes tasks that called
//! `yield_now`, which its maintainers call subject to change.

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

// The chapters' `run` functions (which build the printed table) go unused here.
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

// === blocking ===
// Real time, but judged on bounds a scheduler cannot break: a task that calls
// `std::thread::sleep` holds the only thread, so no tick can land inside its job.

mod blocking_chapter {
    use super::blocking::{JOB, Way, glassbox_side, tokio_side};

    #[test]
    fn a_blocking_call_in_a_task_stops_the_heartbeat_on_both() {
        let _hang = crate::hang_guard::start();
        for run in [
            glassbox_side::heartbeat_during_job(Way::ThreadSleepInTheTask),
            tokio_side::heartbeat_during_job(Way::ThreadSleepInTheTask),
        ] {
            assert_eq!(run.ticks_during_job(), 0, "{run:?}");
            // Ticks on both sides of the job (the first is at 0 ms; one after it
            // needs the loop back before 300 ms): the gap between them spans it.
            if run.ticks.last().is_some_and(|&last| last >= run.job.1) {
                assert!(run.longest_gap() >= JOB, "{run:?}");
            }
        }
    }

    #[test]
    fn only_glassbox_reports_the_stall() {
        let _hang = crate::hang_guard::start();
        let glassbox = glassbox_side::heartbeat_during_job(Way::ThreadSleepInTheTask);
        let stalls = glassbox.stalls.expect("glassbox has a stall detector");
        assert!(stalls.iter().any(|&blocked| blocked >= JOB), "{stalls:?}");
        let tokio = tokio_side::heartbeat_during_job(Way::ThreadSleepInTheTask);
        assert_eq!(tokio.stalls, None, "tokio has no stall detector built in");
    }

    #[test]
    fn an_async_sleep_lets_the_heartbeat_tick_during_the_job_on_both() {
        let _hang = crate::hang_guard::start();
        for run in [
            glassbox_side::heartbeat_during_job(Way::AsyncSleep),
            tokio_side::heartbeat_during_job(Way::AsyncSleep),
        ] {
            // 15 ticks are due during the job; one is enough to show the loop ran.
            assert!(run.ticks_during_job() > 0, "{run:?}");
        }
    }

    #[test]
    fn spawn_blocking_lets_the_heartbeat_tick_during_the_job_on_both() {
        let _hang = crate::hang_guard::start();
        for run in [
            glassbox_side::heartbeat_during_job(Way::SpawnBlocking),
            tokio_side::heartbeat_during_job(Way::SpawnBlocking),
        ] {
            assert!(run.ticks_during_job() > 0, "{run:?}");
        }
    }
}

// === fairness ===
// Real time, judged on counts a loaded machine cannot lower: the heartbeat catches up
// on the marks it missed, so only a task that keeps the thread for the rest of the hot
// loop takes ticks away. The longest-silence row is not asserted: a process that the
// machine does not schedule for a while is silent too, through no fault of the runtime.

mod fairness_chapter {
    use super::fairness::{BUDGET_ON, HOT_LOOPS, STALL_THRESHOLD, glassbox_side, tokio_side};

    #[test]
    fn with_the_budget_on_a_heartbeat_keeps_half_its_ticks_beside_each_hot_loop_on_both() {
        let _hang = crate::hang_guard::start();
        for hot in HOT_LOOPS {
            for run in [
                glassbox_side::heartbeat_beside(hot, BUDGET_ON),
                tokio_side::heartbeat_beside(hot, BUDGET_ON),
            ] {
                assert!(run.kept(), "{hot:?}: {run:?}");
            }
        }
    }

    /// The trade-off the table shows (its `differs` row): nothing cuts an always-ready
    /// poll short, so the heartbeat starves. Nothing is asserted about tokio, whose
    /// budget cannot be turned off.
    #[test]
    fn with_glassbox_budget_off_the_heartbeat_starves_beside_each_hot_loop() {
        let _hang = crate::hang_guard::start();
        for hot in HOT_LOOPS {
            let run = glassbox_side::heartbeat_beside(hot, None);
            assert!(!run.kept(), "{hot:?}: {run:?}");
            assert_eq!(run.forced_yields, Some(0), "{hot:?}");
        }
    }

    #[test]
    fn only_glassbox_reports_a_poll_that_never_returns_while_it_runs() {
        let _hang = crate::hang_guard::start();
        let glassbox = glassbox_side::a_poll_that_never_returns();
        let reports = glassbox
            .reports
            .expect("glassbox has a live stall detector");
        // The spinning poll read these itself before it returned: each came while it ran.
        assert!(
            !reports.is_empty(),
            "nothing reported in {:?}",
            glassbox.spun
        );
        for report in &reports {
            assert!(report.running_for >= STALL_THRESHOLD, "{report:?}");
            assert!(
                !report.in_block_on,
                "the spinner is a spawned task: {report:?}"
            );
        }
        let tokio = tokio_side::a_poll_that_never_returns();
        assert!(
            tokio.reports.is_none(),
            "tokio has no stall detector built in"
        );
    }
}

// === timeout === (paused clock: exact virtual times)

mod timeout_chapter {
    use super::timeout::{glassbox_side, tokio_side};

    /// Asserts glassbox and tokio agree, and on what.
    fn both(glassbox: String, tokio: String, expected: &str) {
        assert_eq!(glassbox, tokio, "glassbox and tokio differ");
        assert_eq!(glassbox, expected);
    }

    #[test]
    fn a_deadline_before_the_job_elapses_at_the_deadline() {
        let _hang = crate::hang_guard::start();
        both(
            glassbox_side::job_under_timeout(50, 20),
            tokio_side::job_under_timeout(50, 20),
            "Err(deadline has elapsed) at 20 ms",
        );
    }

    #[test]
    fn a_job_that_ends_before_the_deadline_completes() {
        let _hang = crate::hang_guard::start();
        both(
            glassbox_side::job_under_timeout(20, 50),
            tokio_side::job_under_timeout(20, 50),
            r#"Ok("done") at 20 ms"#,
        );
    }

    #[test]
    fn a_job_ready_on_the_poll_where_the_deadline_passes_wins() {
        let _hang = crate::hang_guard::start();
        both(
            glassbox_side::job_under_timeout(20, 20),
            tokio_side::job_under_timeout(20, 20),
            r#"Ok("done") at 20 ms"#,
        );
    }

    #[test]
    fn a_zero_timeout_lets_a_ready_future_win_and_elapses_a_pending_one() {
        let _hang = crate::hang_guard::start();
        both(
            glassbox_side::zero_timeout(),
            tokio_side::zero_timeout(),
            "Ok(7) at 0 ms; Err(deadline has elapsed) at 0 ms",
        );
    }

    #[test]
    fn a_duration_max_timeout_never_fires_and_does_not_overflow() {
        let _hang = crate::hang_guard::start();
        both(
            glassbox_side::huge_timeout(),
            tokio_side::huge_timeout(),
            r#"Ok("done") at 10 ms"#,
        );
    }

    #[test]
    fn the_deadline_drops_the_inner_future_when_it_fires() {
        let _hang = crate::hang_guard::start();
        both(
            glassbox_side::deadline_cancels_the_job(),
            tokio_side::deadline_cancels_the_job(),
            "Err(deadline has elapsed) at 20 ms; job dropped",
        );
    }

    /// A cancelled future's cleanup is its Drop, run as the deadline drops it: on
    /// both, at the deadline, with no await (asyncio's `finally:` can await: the
    /// tour's `differs` row against asyncio).
    #[test]
    fn a_cancelled_jobs_cleanup_runs_in_drop_at_the_deadline() {
        let _hang = crate::hang_guard::start();
        both(
            glassbox_side::cancelled_cleanup_awaits(),
            tokio_side::cancelled_cleanup_awaits(),
            "timed out at 20 ms; cleanup in Drop at 20 ms",
        );
    }

    #[test]
    fn timeout_with_a_default_falls_back_only_when_late() {
        let _hang = crate::hang_guard::start();
        both(
            glassbox_side::timeout_with_default(),
            tokio_side::timeout_with_default(),
            "slow: 100; fast: 105",
        );
    }
}

// === semaphore ===

mod semaphore_chapter {
    use super::semaphore::{glassbox_side, tokio_side};

    #[test]
    fn at_most_the_limit_run_at_once_admitted_first_come_first_served() {
        let _hang = crate::hang_guard::start();
        let glassbox = glassbox_side::admission(100, 10);
        let tokio = tokio_side::admission(100, 10);
        for run in [&glassbox, &tokio] {
            assert_eq!(run.max_concurrent, 10);
            assert_eq!(run.order, (0..100).collect::<Vec<_>>(), "spawn order");
            assert_eq!(run.permits_after, 10, "no permit lost or made up");
        }
    }

    #[test]
    fn closing_fails_the_waiter_and_every_later_acquire_on_both() {
        let _hang = crate::hang_guard::start();
        let glassbox = glassbox_side::acquire_when_closed();
        assert_eq!(glassbox, tokio_side::acquire_when_closed());
        assert_eq!(
            glassbox,
            "waiting: Err(semaphore closed); after: Err(semaphore closed)"
        );
    }
}

// === queue === (paused clock; tokio's side is the tour's stand-in from its parts)

mod queue_chapter {
    use super::queue::{MAXSIZE, glassbox_side, tokio_side};

    #[test]
    fn every_item_is_processed_exactly_once_and_each_producer_keeps_its_order() {
        let _hang = crate::hang_guard::start();
        for run in [
            glassbox_side::producers_and_consumers(10),
            tokio_side::producers_and_consumers(10),
        ] {
            assert_eq!(run.got.len(), 20, "{run:?}");
            assert!(run.each_item_once(), "{run:?}");
            assert!(run.each_producer_in_order(), "{run:?}");
        }
    }

    #[test]
    fn join_returns_after_every_task_done_and_the_bound_holds() {
        let _hang = crate::hang_guard::start();
        let glassbox = glassbox_side::producers_and_consumers(10);
        let tokio = tokio_side::producers_and_consumers(10);
        for run in [&glassbox, &tokio] {
            assert_eq!(run.done_at_join, 20, "{run:?}");
            assert!(run.max_qsize <= MAXSIZE, "{run:?}");
        }
        assert_eq!(glassbox.max_qsize, tokio.max_qsize);
        assert_eq!(glassbox.took, tokio.took, "virtual time until join");
    }

    #[test]
    fn consumers_parked_in_get_end_as_cancelled_when_aborted() {
        let _hang = crate::hang_guard::start();
        assert_eq!(glassbox_side::producers_and_consumers(4).cancelled, 3);
        assert_eq!(tokio_side::producers_and_consumers(4).cancelled, 3);
    }

    /// glassbox's own contract (the table's one `differs` row here): a freed slot
    /// goes to the first waiting producer's item at once, so items come out exactly
    /// in the order producers offered them. Nothing is asserted about tokio's order.
    #[test]
    fn glassbox_hands_freed_slots_to_waiting_producers_in_line_order() {
        let _hang = crate::hang_guard::start();
        let run = glassbox_side::producers_and_consumers(10);
        assert_eq!(run.got, run.put);
    }
}

// === retry === (paused clock: exact virtual times)

mod retry_chapter {
    use std::time::Duration;

    use super::retry::{Attempts, Failure, down, flaky, glassbox_side, then_refused, tokio_side};

    fn ms(list: &[u64]) -> Vec<Duration> {
        list.iter().map(|&ms| Duration::from_millis(ms)).collect()
    }

    fn both(fail: fn(usize) -> Option<Failure>, expected: Attempts) {
        let glassbox = glassbox_side::retried(fail);
        assert_eq!(
            glassbox,
            tokio_side::retried(fail),
            "glassbox and tokio differ"
        );
        assert_eq!(glassbox, expected);
    }

    #[test]
    fn a_flaky_operation_is_retried_on_the_backoff_schedule_until_it_works() {
        let _hang = crate::hang_guard::start();
        both(
            flaky,
            Attempts {
                started_at: ms(&[0, 100, 300, 700]),
                result: Ok(4),
            },
        );
    }

    #[test]
    fn a_dead_operation_is_tried_max_attempts_times_with_capped_delays() {
        let _hang = crate::hang_guard::start();
        both(
            down,
            Attempts {
                started_at: ms(&[0, 100, 300, 700, 1100, 1500]),
                result: Err((6, Failure::Transient)),
            },
        );
    }

    #[test]
    fn a_permanent_error_stops_the_retries_at_once() {
        let _hang = crate::hang_guard::start();
        both(
            then_refused,
            Attempts {
                started_at: ms(&[0, 100]),
                result: Err((2, Failure::Permanent)),
            },
        );
    }
}

// === echo === (scaled down: 50 round trips, 1 MiB)

mod echo_chapter {
    use super::echo::{glassbox_side, tokio_side};

    #[test]
    fn echoed_bytes_come_back_intact_and_close_and_refusal_look_alike() {
        let _hang = crate::hang_guard::start();
        let glassbox = glassbox_side::echo(50, 16).expect("glassbox echo");
        let tokio = tokio_side::echo(50, 16).expect("tokio echo");
        assert!(glassbox.intact && tokio.intact);
        assert_eq!(glassbox.half_close, tokio.half_close);
        assert_eq!(
            glassbox.half_close,
            "server read EOF: true; client read EOF: true"
        );
        assert_eq!(glassbox.refused, tokio.refused);
        assert_eq!(glassbox.refused, "Err(ConnectionRefused)");
    }
}

// === order ===

mod order_chapter {
    use super::order::{glassbox_side, tokio_side};

    #[test]
    fn spawned_tasks_first_run_in_spawn_order_on_both() {
        let _hang = crate::hang_guard::start();
        assert_eq!(glassbox_side::spawn_order(), "a b c");
        assert_eq!(tokio_side::spawn_order(), "a b c");
    }

    #[test]
    fn a_spawner_runs_on_until_it_awaits_on_both() {
        let _hang = crate::hang_guard::start();
        let expected = "parent-before-await child parent-after-await";
        assert_eq!(glassbox_side::spawner_runs_first(), expected);
        assert_eq!(tokio_side::spawner_runs_first(), expected);
    }

    #[test]
    fn timers_wake_in_deadline_order_on_both() {
        let _hang = crate::hang_guard::start();
        assert_eq!(glassbox_side::timer_order().0, "10ms 20ms 30ms");
        assert_eq!(tokio_side::timer_order().0, "10ms 20ms 30ms");
    }

    /// Neither runtime documents it, but both fire timers that share a deadline in
    /// the order they were set; glassbox keeps that as its own contract.
    #[test]
    fn timers_sharing_a_deadline_wake_in_the_order_they_were_set_on_both() {
        let _hang = crate::hang_guard::start();
        assert_eq!(
            glassbox_side::same_deadline_order(),
            tokio_side::same_deadline_order()
        );
        assert_eq!(glassbox_side::same_deadline_order(), "a b c");
    }

    /// A late wake fires a batch of due timers by deadline on glassbox, as asyncio's
    /// heap does. tokio's order is not asserted: its millisecond ticks may or may not
    /// merge the two deadlines, depending on where the run starts within a millisecond.
    #[test]
    fn timers_due_together_after_a_late_wake_fire_by_deadline_on_glassbox() {
        let _hang = crate::hang_guard::start();
        assert_eq!(glassbox_side::late_wake_order(), "b a");
    }

    /// Each task's own steps stay in order across yields, on both. How tokio
    /// interleaves *different* tasks after `yield_now` is not asserted (its
    /// maintainers call it subject to change); glassbox's is, being its own
    /// contract: a yielding task goes to the back of the ready queue, as in asyncio.
    #[test]
    fn yield_now_keeps_each_tasks_steps_in_order() {
        let _hang = crate::hang_guard::start();
        for trace in [
            glassbox_side::yield_interleaving(),
            tokio_side::yield_interleaving(),
        ] {
            for task in ["a", "b", "c"] {
                let steps: Vec<&str> = trace.split(' ').filter(|s| s.starts_with(task)).collect();
                let expected: Vec<String> = (1..=3).map(|round| format!("{task}{round}")).collect();
                assert_eq!(steps, expected, "{trace}");
            }
        }
        assert_eq!(
            glassbox_side::yield_interleaving(),
            "a1 b1 c1 a2 b2 c2 a3 b3 c3"
        );
    }

    /// glassbox's own contract (a `differs` row): a zero sleep yields once, as
    /// asyncio's `sleep(0)` does, so the tasks take turns. tokio's, ready at once
    /// when due, is not asserted.
    #[test]
    fn a_zero_sleep_takes_turns_on_glassbox() {
        let _hang = crate::hang_guard::start();
        assert_eq!(
            glassbox_side::zero_sleep_interleaving(),
            "a1 b1 c1 a2 b2 c2 a3 b3 c3"
        );
    }
}

// === precision === (real clock: only what load cannot change is asserted)

mod precision_chapter {
    use super::precision::{glassbox_side, tokio_side};

    /// The `same` row. How late a sleep ends moves with the machine's load, so the
    /// judged "within 250 µs at the median" row is the tour's alone; but no load
    /// can make a timer fire before its deadline.
    #[test]
    fn no_sleep_ends_before_its_deadline_on_either() {
        let _hang = crate::hang_guard::start();
        for lateness in [glassbox_side::lateness(50), tokio_side::lateness(50)] {
            assert_eq!(lateness.early(), 0, "{lateness:?}");
        }
    }
}

// === schedules ===

mod schedules_chapter {
    use super::schedules::{self, glassbox_side, tokio_side};

    /// The planted bug passes a plain run on both: each runtime's own order lets
    /// the first withdrawal pay out before the second checks.
    #[test]
    fn the_planted_bug_passes_a_plain_run_on_both() {
        let _hang = crate::hang_guard::start();
        for fixed in [false, true] {
            assert_eq!(glassbox_side::plain(fixed), "30 left: passes");
            assert_eq!(tokio_side::plain(fixed), "30 left: passes");
        }
    }

    /// The row glassbox alone has: the explorer finds the order that overdraws,
    /// with both strategies, and the fix passes every seed.
    #[test]
    fn the_explorer_finds_it_and_the_fix_passes() {
        let _hang = crate::hang_guard::start();
        for (_, outcome) in schedules::explored(false) {
            let failure = outcome.failure().expect("found");
            assert!(failure.message().contains("overdrawn: -40"), "{outcome}");
        }
        for (_, outcome) in schedules::explored(true) {
            assert!(outcome.is_ok(), "{outcome}");
            assert_eq!(outcome.tried(), schedules::SEEDS);
        }
    }
}

// === the table and the summary, as the tour prints them ===

mod report_layout {
    use super::report::{self, Causes, Colour, Verdict, Why};

    /// The order chapter's interleavings are 26 characters, one more than a cell:
    /// the rows are stacked, and each runtime's sequence reads whole on one line.
    #[test]
    fn a_sequence_too_long_for_its_cell_is_stacked_not_split() {
        let _hang = crate::hang_guard::start();
        let rows = super::order::run(super::asyncio::Twin::Off);
        let lines = report::table(&rows, &Colour(false));
        for line in &lines {
            assert!(line.chars().count() <= 100, "over 100 columns: {line:?}");
        }
        let row = rows
            .iter()
            .find(|row| row.what.starts_with("yield_now interleaving"))
            .expect("the yield_now row");
        for (label, seen) in [("glassbox", &row.glassbox), ("tokio", &row.tokio)] {
            let whole = format!("  {label:<24} {seen}");
            assert!(
                lines.contains(&whole),
                "{whole:?} not on a line of its own:\n{}",
                lines.join("\n")
            );
        }
    }

    /// Rows that differ for one cause (its title), even with their own explanations,
    /// are one cause in the summary; a plain phrase is a cause of its own.
    #[test]
    fn the_summary_groups_rows_by_the_title_of_their_cause() {
        static SHARED_A: report::Cause = report::Cause {
            title: "tokio has no stall detector built in",
            why: "reported after the poll",
        };
        static SHARED_B: report::Cause = report::Cause {
            title: "tokio has no stall detector built in",
            why: "reported while the poll runs",
        };
        let mut causes = Causes::default();
        causes.add(Why::from(&SHARED_A), "blocking: stall reported".to_string());
        causes.add(Why::from("bytes were lost"), "echo: bytes".to_string());
        causes.add(Why::from(&SHARED_B), "fairness: live stall".to_string());
        assert_eq!(causes.rows(), 3);
        assert_eq!(
            causes.to_string(),
            "3 different, for 2 causes:\n\
             \x20 tokio has no stall detector built in (2 rows)\n\
             \x20     blocking: stall reported\n\
             \x20     fairness: live stall\n\
             \x20 bytes were lost\n\
             \x20     echo: bytes\n"
        );
    }

    /// asyncio's verdict is against glassbox's observation, and its line says so.
    #[test]
    fn the_asyncio_line_names_what_it_is_compared_with() {
        let row = report::compare("spawn order", "a b c", "a b c", "queued differently")
            .with_asyncio(Some(&()), |_| {
                report::asyncio_compare("a b c", "c b a", "asyncio queues otherwise")
            });
        assert!(matches!(row.verdict, Verdict::Same));
        let lines = report::table(&[row], &Colour(false));
        let asyncio = lines
            .iter()
            .find(|line| line.starts_with("  asyncio"))
            .expect("asyncio's line");
        assert!(asyncio.ends_with("differs from glassbox"), "{asyncio:?}");
        assert!(
            lines
                .iter()
                .any(|line| line.contains("why (asyncio): asyncio queues otherwise")),
            "{lines:?}"
        );
    }
}
