//! One run of a program under one schedule: a fresh paused-clock runtime whose loop
//! asks the given chooser, the program spawned as a task where `Explorer::run` was
//! called, and the loop turned until the task ends, or nothing can ever wake any
//! task (a deadlock), or `MAX_TURNS` have passed.
//!
//! # Ground rules
//! - A run never waits for a timer: a paused clock jumps to it. It waits only for
//!   what the explorer cannot control (a blocking job, a socket), and stops as a
//!   deadlock when none of those is there either.
//! - The program's panics are expected, and kept off stderr (`quietly`): its message
//!   and place become the failure's.
//! - Recording (`Explorer::record`) turns the loop through the recorder, so the page
//!   has every turn.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::panic::Location;
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::Once;
use std::sync::atomic::Ordering;

use super::{Decision, MAX_TURNS, Seeded};
use crate::event_loop::{Chooser, Core, WaitPolicy, context};
use crate::runtime::Runtime;

/// The program under test: what makes a fresh future of it, and where `run` was
/// called (its task's spawn site).
pub(super) struct Program<F> {
    pub(super) make: F,
    pub(super) at: &'static Location<'static>,
}

/// One run of the program under `chooser`: whether and how it failed, and every
/// decision it took.
pub(super) struct Run {
    pub(super) failed: Option<String>,
    pub(super) decisions: Vec<Decision>,
}

pub(super) fn run_program<F, Fut>(program: &Program<F>, chooser: Rc<Seeded>) -> Run
where
    F: Fn() -> Fut,
    Fut: Future + 'static,
{
    run_recorded(program, chooser, None)
}

/// [`run_program`], recording the run as a page at `record`, if given.
pub(super) fn run_recorded<F, Fut>(
    program: &Program<F>,
    chooser: Rc<Seeded>,
    record: Option<PathBuf>,
) -> Run
where
    F: Fn() -> Fut,
    Fut: Future + 'static,
{
    let mut builder = crate::Runtime::builder()
        .paused_clock(true)
        .stall_threshold(None)
        .ignoring_record_env()
        .chooser(Rc::clone(&chooser) as Rc<dyn Chooser>);
    if let Some(page) = record {
        builder = builder.record(page);
    }
    let mut rt = builder
        .build()
        .expect("glassbox: the explorer cannot build a runtime");
    let failed = quietly(|| drive(&mut rt, program));
    drop(rt);
    let decisions = chooser.decisions.take();
    Run { failed, decisions }
}

/// Turns `rt` until the program's task ends; the failure, if it fails.
fn drive<F, Fut>(rt: &mut Runtime, program: &Program<F>) -> Option<String>
where
    F: Fn() -> Fut,
    Fut: Future + 'static,
{
    let task = rt.core.spawn((program.make)(), program.at);
    let core = Rc::clone(&rt.core);
    let current = context::enter(&core);
    for _ in 0..MAX_TURNS {
        if task.is_finished() {
            drop(current);
            return rt
                .block_on(task)
                .err()
                .map(|error| match error.try_into_panic() {
                    Ok(payload) => panic_message(&*payload),
                    Err(error) => format!("the program's task ended without finishing: {error}"),
                });
        }
        if core.has_ready_work() {
            turn(rt, &core, WaitPolicy::Never);
            continue;
        }
        // Nothing ready: only a timer (the paused clock jumps to it), a blocking job
        // or a socket can wake a task now. With none of them, nothing ever will.
        let can_wake = core.time.wheel.borrow().next_expiration().is_some()
            || core.clock_holds.load(Ordering::Acquire) > 0
            || !core.reactor.sources(|_| ()).is_empty();
        if !can_wake {
            return Some(format!(
                "deadlock: every task waits, and nothing can wake any of them (turn {})",
                core.observers.counters.reactor_turns.get()
            ));
        }
        turn(rt, &core, WaitPolicy::WhileTasksLive);
    }
    Some(format!(
        "still running after {MAX_TURNS} turns (a livelock?)"
    ))
}

/// One turn of `core`, recorded if `rt` records.
fn turn(rt: &Runtime, core: &Core, waiting: WaitPolicy) {
    match &rt.recorder {
        Some(recorder) => {
            recorder.turn(core, waiting);
        }
        None => core.run_once(waiting),
    }
}

/// A panic's message, with the place `quietly` saw it raised.
fn panic_message(payload: &(dyn Any + Send)) -> String {
    let text = payload
        .downcast_ref::<&str>()
        .map(|text| text.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic with no message".to_string());
    match LAST_PANIC_AT.take() {
        Some(at) => format!("{text} (at {at})"),
        None => text,
    }
}

thread_local! {
    /// True while this thread explores: its panics are expected, and not printed.
    static QUIET: Cell<bool> = const { Cell::new(false) };
    /// Where the last quiet panic was raised.
    static LAST_PANIC_AT: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Runs `run` with this thread's panics kept off stderr (a failing schedule is an
/// expected panic; hundreds of them would bury the report). Other threads' panics
/// print as before.
fn quietly<R>(run: impl FnOnce() -> R) -> R {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if QUIET.with(Cell::get) {
                let at = info.location().map(ToString::to_string);
                LAST_PANIC_AT.with(|last| *last.borrow_mut() = at);
            } else {
                previous(info);
            }
        }));
    });
    struct Loud;
    impl Drop for Loud {
        fn drop(&mut self) {
            QUIET.with(|quiet| quiet.set(false));
        }
    }
    QUIET.with(|quiet| quiet.set(true));
    let _loud = Loud;
    run()
}
