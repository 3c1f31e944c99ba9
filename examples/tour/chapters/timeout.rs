//! Chapter `timeout`: give a future a deadline, and a default when it misses it.
//!
//! Every scenario but the last runs under the paused clock (glassbox's
//! `paused_clock(true)`, tokio's `start_paused(true)`): virtual time jumps straight
//! to the next timer, so "a 50 ms job under a 20 ms timeout" gives the same answer
//! however loaded the machine is, and the virtual times at which things happen can
//! be compared exactly. The last scenario uses the real clock, to show how late a
//! 20 ms timeout really fires.
//!
//! Both runtimes poll the inner future before the timer, so a future that is ready
//! wins even against a zero or an already-passed deadline. `Duration::MAX` means
//! "never" on both: tokio's `timeout` makes no timer at all for a deadline `Instant`
//! cannot hold; glassbox's sets one past what its clock can count, which never fires
//! and which the paused clock never jumps to.
//!
//! asyncio's twin (`asyncio/timeout_twin.py`) runs each scenario with
//! `asyncio.timeout` (and the lesson's `fetch_with_default` with `wait_for`) on a
//! paused clock of its own. Its cells speak asyncio's words (`TimeoutError`, a job
//! "cancelled"); [`ASYNCIO_WORDS`] says which of glassbox's each one means, and the
//! verdict compares the meanings. asyncio parts from both Rust runtimes where a job
//! and its deadline are due at once: its loop runs due timers in deadline order, and
//! the timeout armed its timer before the job armed its sleep, so the timeout
//! cancels the job before the job's timer can resume it.

use std::cell::RefCell;
use std::fmt::{Debug, Display};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::rc::Rc;
use std::time::{Duration, Instant};

use crate::asyncio::{Twin, Value, number, text};
use crate::report::{Cause, Row, Third, Why, asyncio_compare, asyncio_shown, compare, ms, shown};
use crate::shim::on_both_runtimes;

/// asyncio's words for what glassbox calls otherwise, in the twin's cells.
pub const ASYNCIO_WORDS: [(&str, &str); 2] = [
    ("Err(TimeoutError)", "Err(deadline has elapsed)"),
    ("job cancelled", "job dropped"),
];

/// An asyncio cell in glassbox's words, to be compared with glassbox's.
pub fn in_glassbox_words(asyncio: &str) -> String {
    let translate = |cell: String, (theirs, ours): &(&str, &str)| cell.replace(theirs, ours);
    ASYNCIO_WORDS.iter().fold(asyncio.to_string(), translate)
}

/// asyncio's cell `key`, judged against glassbox's `cell` by meaning.
fn versus_asyncio(glassbox: &str, twin: &Value, key: &str, why: Why) -> Third {
    let asyncio = text(twin, key);
    let verdict = asyncio_compare(glassbox.to_string(), in_glassbox_words(&asyncio), why);
    Third {
        seen: asyncio,
        ..verdict
    }
}

/// A result and the virtual time it came at, as a table cell: `Ok(7) at 20 ms`.
fn at<T: Debug, E: Display>(result: Result<T, E>, after: Duration) -> String {
    let result = match result {
        Ok(value) => format!("Ok({value:?})"),
        Err(error) => format!("Err({error})"),
    };
    format!("{result} at {} ms", after.as_millis())
}

/// Logs when it is dropped: shows that the deadline cancels the inner future.
struct DropLog(Rc<RefCell<Vec<String>>>, &'static str);

impl Drop for DropLog {
    fn drop(&mut self) {
        self.0.borrow_mut().push(self.1.to_string());
    }
}

/// A cancelled job's cleanup, in `Drop`: notes when it ran, by its runtime's
/// (paused) clock `now`, since `start`. It cannot await: `drop` is a plain function.
struct Cleanup {
    ran_at: Rc<RefCell<Option<Duration>>>,
    start: Instant,
    now: fn() -> Instant,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        *self.ran_at.borrow_mut() = Some((self.now)() - self.start);
    }
}

on_both_runtimes! {
    /// A `job_ms` job under a `limit_ms` timeout: what comes out, and when.
    pub fn job_under_timeout(job_ms: u64, limit_ms: u64) -> String {
        rt::block_on_paused(async {
            let start = rt::now();
            let job = async {
                rt::sleep(Duration::from_millis(job_ms)).await;
                "done"
            };
            let result = rt::timeout(Duration::from_millis(limit_ms), job).await;
            at(result, rt::now() - start)
        })
    }

    /// A zero timeout around a future that is ready at once, and around one that
    /// never is.
    pub fn zero_timeout() -> String {
        rt::block_on_paused(async {
            let start = rt::now();
            let ready = rt::timeout(Duration::ZERO, async { 7 }).await;
            let ready = at(ready, rt::now() - start);
            let pending = rt::timeout(Duration::ZERO, std::future::pending::<()>()).await;
            format!("{ready}; {}", at(pending, rt::now() - start))
        })
    }

    /// `Duration::MAX` around a 10 ms job: no panic, no overflow, no timeout.
    pub fn huge_timeout() -> String {
        rt::block_on_paused(async {
            let start = rt::now();
            let job = async {
                rt::sleep(Duration::from_millis(10)).await;
                "done"
            };
            let result = rt::timeout(Duration::MAX, job).await;
            at(result, rt::now() - start)
        })
    }

    /// When the deadline wins, is the inner future dropped (cancelled) at once?
    pub fn deadline_cancels_the_job() -> String {
        rt::block_on_paused(async {
            let start = rt::now();
            let log = Rc::new(RefCell::new(Vec::new()));
            let job = {
                let log = log.clone();
                async move {
                    let _guard = DropLog(log, "job dropped");
                    rt::sleep(Duration::from_millis(50)).await;
                }
            };
            let result = rt::timeout(Duration::from_millis(20), job).await;
            let dropped = log.borrow().join(", ");
            let dropped = if dropped.is_empty() { "job still alive" } else { &dropped };
            format!("{}; {dropped}", at(result, rt::now() - start))
        })
    }

    /// A job whose cleanup would await (say, 10 ms to close a connection politely),
    /// cut by a 20 ms timeout: the cleanup can only be its `Drop`, run as the
    /// deadline drops the job, and it cannot await.
    pub fn cancelled_cleanup_awaits() -> String {
        rt::block_on_paused(async {
            let start = rt::now();
            let cleaned = Rc::new(RefCell::new(None));
            let job = {
                let cleaned = cleaned.clone();
                async move {
                    let _cleanup = Cleanup { ran_at: cleaned, start, now: rt::now };
                    rt::sleep(Duration::from_millis(50)).await;
                }
            };
            let result = rt::timeout(Duration::from_millis(20), job).await;
            assert!(result.is_err(), "the 50 ms job cannot beat its 20 ms deadline");
            let timed_out = format!("timed out at {} ms", (rt::now() - start).as_millis());
            match *cleaned.borrow() {
                Some(ran) => format!("{timed_out}; cleanup in Drop at {} ms", ran.as_millis()),
                None => format!("{timed_out}; no cleanup ran"),
            }
        })
    }

    /// asyncio's fetch-with-default: a 50 ms fetch under a 20 ms limit falls back to
    /// the default; a 20 ms fetch under a 50 ms limit returns its price.
    pub fn timeout_with_default() -> String {
        rt::block_on_paused(async {
            let fetch_price = |ms| async move {
                rt::sleep(Duration::from_millis(ms)).await;
                105
            };
            let slow = rt::timeout_or(Duration::from_millis(20), fetch_price(50), 100).await;
            let fast = rt::timeout_or(Duration::from_millis(50), fetch_price(20), 100).await;
            format!("slow: {slow}; fast: {fast}")
        })
    }

    /// How long a 20 ms timeout around a never-ready future really takes (real clock).
    pub fn real_timeout_fires_after() -> Duration {
        rt::block_on(async {
            let start = rt::now();
            let result = rt::timeout(Duration::from_millis(20), std::future::pending::<()>()).await;
            assert!(result.is_err(), "a pending future cannot beat its timeout");
            rt::now() - start
        })
    }
}

/// Why asyncio's timeout wins where glassbox's job does.
const BOTH_DUE_AT_ONCE: Cause = Cause {
    title: "asyncio fires the timeout's timer, armed first, before the job's",
    why: "glassbox (and tokio) poll the inner future before the \
          deadline, so a job ready on the poll where its deadline passes wins; asyncio runs due \
          timers in deadline order, and asyncio.timeout armed its timer before the job armed its \
          sleep, so the timeout cancels the job first",
};

/// Why asyncio's cancelled job can still clean up with awaits, and a Rust one cannot.
const CANCELLED_NOT_DROPPED: Cause = Cause {
    title: "asyncio cancels a task by raising in it; Rust drops the future",
    why: "asyncio throws CancelledError into the job, whose finally: may still await \
          (and asyncio.timeout waits for it, so the result comes 10 ms later); a Rust \
          future is dropped, and Drop cannot await. Do awaited cleanup before giving the \
          job up (ask it to stop, through a channel or a flag, and await its JoinHandle), \
          or spawn the cleanup from Drop",
};

pub fn run(asyncio: Twin) -> Vec<Row> {
    // A scenario that panicked (a huge deadline overflowing, say) becomes a cell
    // saying so, instead of ending the tour.
    let guarded = |scenario: fn() -> String| {
        catch_unwind(AssertUnwindSafe(scenario)).unwrap_or_else(|_| "panicked".to_string())
    };
    // (what, glassbox, tokio, the twin's key, why they may differ)
    let judged = [
        (
            "50 ms job, 20 ms timeout (virtual time)",
            glassbox_side::job_under_timeout(50, 20),
            tokio_side::job_under_timeout(50, 20),
            "job_under_timeout_50_20",
            "the deadlines fire at different virtual times",
        ),
        (
            "20 ms job, 50 ms timeout",
            glassbox_side::job_under_timeout(20, 50),
            tokio_side::job_under_timeout(20, 50),
            "job_under_timeout_20_50",
            "one runtime lets a job finish that the other cuts short",
        ),
        (
            "20 ms job, 20 ms timeout: both due at once",
            glassbox_side::job_under_timeout(20, 20),
            tokio_side::job_under_timeout(20, 20),
            "job_under_timeout_20_20",
            "one runtime lets the deadline win over a job ready on the same poll",
        ),
        (
            "zero timeout: ready future; pending one",
            glassbox_side::zero_timeout(),
            tokio_side::zero_timeout(),
            "zero_timeout",
            "one runtime checks the deadline before polling the future",
        ),
        (
            "Duration::MAX timeout, 10 ms job",
            guarded(glassbox_side::huge_timeout),
            guarded(tokio_side::huge_timeout),
            "huge_timeout",
            "one runtime cannot hold a deadline that far away",
        ),
        (
            "when the deadline wins",
            glassbox_side::deadline_cancels_the_job(),
            tokio_side::deadline_cancels_the_job(),
            "deadline_cancels_the_job",
            "one runtime keeps the timed-out future alive",
        ),
        (
            "a cancelled job's cleanup that would await 10 ms",
            glassbox_side::cancelled_cleanup_awaits(),
            tokio_side::cancelled_cleanup_awaits(),
            "cancelled_cleanup_awaits",
            "one runtime runs a cancelled job's cleanup at another time",
        ),
        (
            "timeout with a default (100) around a price fetch (105)",
            glassbox_side::timeout_with_default(),
            tokio_side::timeout_with_default(),
            "timeout_with_default",
            "the fallback differs",
        ),
    ];
    let real_clock = (
        glassbox_side::real_timeout_fires_after(),
        tokio_side::real_timeout_fires_after(),
    );
    let twin = asyncio.observe();
    let mut rows: Vec<Row> = judged
        .into_iter()
        .map(|(what, glassbox, tokio, key, why)| {
            let asyncio_why = match key {
                "job_under_timeout_20_20" => Why::from(&BOTH_DUE_AT_ONCE),
                "cancelled_cleanup_awaits" => Why::from(&CANCELLED_NOT_DROPPED),
                _ => Why::from(why),
            };
            let versus = |twin: &Value| versus_asyncio(&glassbox, twin, key, asyncio_why);
            let row = compare(what, glassbox.as_str(), tokio.as_str(), why);
            row.with_asyncio(twin.as_ref(), versus)
        })
        .collect();
    rows.push(
        shown(
            "real clock: a 20 ms timeout fired after",
            ms(real_clock.0),
            ms(real_clock.1),
        )
        .with_asyncio(twin.as_ref(), |twin| {
            asyncio_shown(format!(
                "{:.1} ms",
                number(twin, "real_timeout_fires_after_ms")
            ))
        }),
    );
    rows
}
