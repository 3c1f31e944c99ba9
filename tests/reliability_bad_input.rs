//! Bad input: every constructor and method that takes a number or a duration, fed
//! 0, 1, MAX and the values that overflow `Instant` arithmetic, plus the misuses the
//! API can only catch at run time. Each row names its expected clear outcome: it
//! works (and the row checks what "works" means), it returns a typed error (the row
//! checks the type, the table the message), or it panics with a message that names
//! the mistake (the table checks the message).
//!
//! Each test checks a whole table and reports every row that did not behave, not
//! just the first. With `--nocapture` it prints the table as observed (it is the
//! source of the bad-input section of TESTING.md).
//!
//! The environment variables (`GLASSBOX_STALL_MS`, `GLASSBOX_TRACE`,
//! `GLASSBOX_TRACE_JSON`) are read by
//! `Builder::build`. Setting them in this multi-threaded test process would race, so
//! each value is tried in a child process: this same test binary, re-run with the
//! variable set and only `child_builds_a_runtime_from_its_environment` selected.

mod bombs;
mod hang_guard;

mod reliability_support;

use std::cell::Cell;
use std::ffi::OsString;
use std::future::Future;
use std::io::ErrorKind;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::process::Command;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::Poll;
use std::time::{Duration, Instant};

use bombs::{Bomb, BombingWaker, Grenade};
use glassbox::net::{
    AsyncFd, Interest, TcpListener, TcpStream, UdpSocket, UnixDatagram, UnixListener, UnixStream,
};
use glassbox::time::{self, Timer};
use glassbox::{
    AcquireError, Backoff, BlockingPool, GetNowaitError, Queue, Runtime, Semaphore,
    TryAcquireError, retry, sleep, sleep_until, spawn, timeout, timeout_at, yield_now,
};
use reliability_support::{debug_count, localhost, ms, panic_message, paused, poll_with, within};

// === the table ===

/// What a row expects.
#[derive(Debug)]
enum Expect {
    /// Works: the row's own assertions say what that means.
    Works,
    /// Returns a typed error (the row checks the type) whose message contains this.
    Error(&'static str),
    /// Panics with a message that contains this.
    Panic(&'static str),
}

type Outcome = Result<(), String>;

struct Row {
    input: String,
    expect: Expect,
    /// `Ok(())`: it worked; `Err(message)`: it returned the expected typed error.
    run: Box<dyn Fn() -> Outcome>,
}

fn works(input: impl Into<String>, run: impl Fn() + 'static) -> Row {
    Row {
        input: input.into(),
        expect: Expect::Works,
        run: Box::new(move || {
            run();
            Ok(())
        }),
    }
}

fn error(
    input: impl Into<String>,
    message: &'static str,
    run: impl Fn() -> String + 'static,
) -> Row {
    Row {
        input: input.into(),
        expect: Expect::Error(message),
        run: Box::new(move || Err(run())),
    }
}

fn panics(input: impl Into<String>, message: &'static str, run: impl Fn() + 'static) -> Row {
    Row {
        input: input.into(),
        expect: Expect::Panic(message),
        run: Box::new(move || {
            run();
            Ok(())
        }),
    }
}

/// Runs every row, prints the observed table, and fails listing every row that did
/// not behave as expected.
fn check(table: &str, rows: Vec<Row>) {
    let mut wrong = Vec::new();
    println!("\n{table}\n| input | expected | observed |\n|---|---|---|");
    for row in rows {
        let observed = match catch_unwind(AssertUnwindSafe(&*row.run)) {
            Ok(Ok(())) => "works".to_owned(),
            Ok(Err(message)) => format!("error: {message}"),
            Err(payload) => format!("panic: {}", panic_message(&*payload)),
        };
        let (expected, fine) = match row.expect {
            Expect::Works => ("works".to_owned(), observed == "works"),
            Expect::Error(part) => (
                format!("error naming `{part}`"),
                observed.starts_with("error: ") && observed.contains(part),
            ),
            Expect::Panic(part) => (
                format!("panic naming `{part}`"),
                observed.starts_with("panic: ") && observed.contains(part),
            ),
        };
        println!("| `{}` | {expected} | {observed} |", row.input);
        if !fine {
            wrong.push(format!(
                "{}: expected {expected}, observed {observed}",
                row.input
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{table}: rows that misbehaved:\n{}",
        wrong.join("\n")
    );
}

/// Runs `future` on a fresh paused runtime.
fn on_paused<F: Future>(future: F) -> F::Output {
    paused().block_on(future)
}

/// A deadline `years` after now; `None` past what `Instant` holds.
fn years_from_now(years: u64) -> Option<Instant> {
    Instant::now().checked_add(Duration::from_secs(years * 365 * 86_400))
}

/// A future that a thread of its own completes with `value` after `after` of real
/// time: a wake from outside the loop, which a paused clock must wait for rather
/// than jump past.
fn reply_from_another_thread<T: Send + 'static>(
    value: T,
    after: Duration,
) -> impl Future<Output = T> {
    let (reply, replied) = futures::channel::oneshot::channel();
    std::thread::spawn(move || {
        std::thread::sleep(after);
        let _ = reply.send(value);
    });
    async move { replied.await.expect("the replying thread sends") }
}

/// An instant long before now: a year back, or as far back as the clock goes.
fn long_ago() -> Instant {
    let now = Instant::now();
    (0..=40)
        .rev()
        .find_map(|shift| now.checked_sub(Duration::from_secs(1 << shift)))
        .unwrap_or(now)
}

// === the runtime and its builder ===

/// Runs three tasks and a timer to completion on `rt`: it works.
fn runs_tasks_and_timers(mut rt: Runtime) {
    rt.block_on(async {
        let tasks: Vec<_> = (0..3).map(|i| spawn(async move { i })).collect();
        Timer::new(time::now() + ms(5)).await;
        for (i, task) in tasks.into_iter().enumerate() {
            assert_eq!(task.await.unwrap(), i);
        }
    });
}

/// How many stall reports `threshold` gives for one poll that blocks `block_for`.
/// Counts the stall reports about the spawned task (the `block_on` future's own
/// polls are timed too; with a 1 ns threshold they would be reported as well).
fn stall_reports(threshold: Option<Duration>, block_for: Duration) -> usize {
    let reports = Rc::new(Cell::new(0));
    let mut rt = Runtime::builder()
        .stall_threshold(threshold)
        .on_stall({
            let reports = reports.clone();
            move |report| {
                if !report.in_block_on {
                    reports.set(reports.get() + 1)
                }
            }
        })
        .build()
        .unwrap();
    rt.block_on(async move {
        spawn(async move { std::thread::sleep(block_for) })
            .await
            .unwrap();
    });
    reports.get()
}

#[test]
fn builder_settings_at_their_limits() {
    let _hang = hang_guard::start();
    check(
        "Builder",
        vec![
            panics(
                "Builder::event_interval(0)",
                "event_interval must be at least 1",
                || {
                    let _ = Runtime::builder().event_interval(0);
                },
            ),
            works("Builder::event_interval(1)", || {
                runs_tasks_and_timers(Runtime::builder().event_interval(1).build().unwrap())
            }),
            works("Builder::event_interval(u32::MAX)", || {
                runs_tasks_and_timers(Runtime::builder().event_interval(u32::MAX).build().unwrap())
            }),
            works(
                "Builder::stall_threshold(Some(Duration::ZERO)): off",
                || {
                    assert_eq!(stall_reports(Some(Duration::ZERO), ms(5)), 0);
                },
            ),
            works("Builder::stall_threshold(None): off", || {
                assert_eq!(stall_reports(None, ms(5)), 0);
            }),
            works(
                "Builder::stall_threshold(Some(1 ns)): every poll counts",
                || {
                    assert_eq!(stall_reports(Some(Duration::from_nanos(1)), ms(2)), 1);
                },
            ),
            works(
                "Builder::stall_threshold(Some(Duration::MAX)): never",
                || {
                    assert_eq!(stall_reports(Some(Duration::MAX), ms(5)), 0);
                },
            ),
            error(
                "Builder::trace_json(\"/glassbox-no-such-dir/t.json\")",
                "Builder::trace_json(\"/glassbox-no-such-dir/t.json\"): cannot create",
                || {
                    let refused = Runtime::builder()
                        .trace_json("/glassbox-no-such-dir/t.json")
                        .build()
                        .unwrap_err();
                    assert_eq!(refused.kind(), ErrorKind::NotFound);
                    refused.to_string()
                },
            ),
            works(
                "Builder::trace_json(path) for a second runtime: writes path numbered",
                || {
                    let path = std::env::temp_dir()
                        .join(format!("glassbox-bad-input-{}.json", std::process::id()));
                    let second = path.with_extension("2.json");
                    runs_tasks_and_timers(Runtime::builder().trace_json(&path).build().unwrap());
                    let first_timeline = std::fs::read(&path).unwrap();
                    runs_tasks_and_timers(Runtime::builder().trace_json(&path).build().unwrap());
                    // The first is untouched; the second has its own, closed.
                    assert_eq!(std::fs::read(&path).unwrap(), first_timeline);
                    assert!(std::fs::read(&second).unwrap().ends_with(b"]}\n"));
                    std::fs::remove_file(&path).unwrap();
                    std::fs::remove_file(&second).unwrap();
                },
            ),
            panics(
                "block_on inside block_on",
                "block_on called while a runtime is already running",
                || {
                    Runtime::new().unwrap().block_on(async {
                        Runtime::new().unwrap().block_on(async {});
                    })
                },
            ),
            panics(
                "spawn outside a runtime",
                "glassbox::spawn must be called from inside a runtime",
                || {
                    drop(spawn(async {}));
                },
            ),
        ],
    );
}

/// Child side of `environment_variables_are_refused_by_build_naming_the_variable`:
/// builds a runtime from whatever environment it was started with and prints the
/// outcome for the parent to read.
#[test]
#[ignore = "run by its parent test in a child process, with the environment set"]
fn child_builds_a_runtime_from_its_environment() {
    let _hang = hang_guard::start();
    match Runtime::new() {
        Ok(_) => println!("OUTCOME works"),
        Err(error) => println!("OUTCOME error {:?}: {error}", error.kind()),
    }
}

/// Runs the child test with `var` set to `value` and returns its outcome line; an
/// error reads `Kind: message`, so a row can check the kind too.
fn build_with_env(var: &str, value: impl Into<OsString>) -> Outcome {
    let output = Command::new(std::env::current_exe().unwrap())
        .args([
            "child_builds_a_runtime_from_its_environment",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env_remove("GLASSBOX_STALL_MS")
        .env_remove("GLASSBOX_TRACE")
        .env_remove("GLASSBOX_TRACE_JSON")
        .env(var, value.into())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout
        .lines()
        .find_map(|line| line.split_once("OUTCOME ").map(|(_, outcome)| outcome))
        .unwrap_or_else(|| panic!("the child said nothing: {stdout}"));
    match line.strip_prefix("error ") {
        None => Ok(()),
        Some(error) => Err(error.to_owned()),
    }
}

#[test]
fn environment_variables_are_refused_by_build_naming_the_variable() {
    let _hang = hang_guard::start();
    use std::os::unix::ffi::OsStringExt;
    let mut rows = Vec::new();
    for value in ["fast", "-5", "1.5", "18446744073709551616", "100ms"] {
        rows.push(error(
            format!("GLASSBOX_STALL_MS={value:?}"),
            "InvalidInput: GLASSBOX_STALL_MS",
            move || build_with_env("GLASSBOX_STALL_MS", value).unwrap_err(),
        ));
    }
    rows.push(error(
        "GLASSBOX_STALL_MS=<not UTF-8>",
        "InvalidInput: GLASSBOX_STALL_MS",
        || build_with_env("GLASSBOX_STALL_MS", OsString::from_vec(vec![0xff, b'1'])).unwrap_err(),
    ));
    // Empty means unset (the default), as for GLASSBOX_TRACE.
    for value in ["0", " 250 ", "18446744073709551615", ""] {
        rows.push(works(format!("GLASSBOX_STALL_MS={value:?}"), move || {
            build_with_env("GLASSBOX_STALL_MS", value).unwrap()
        }));
    }
    rows.push(error(
        "GLASSBOX_TRACE=\"yes\"",
        "InvalidInput: GLASSBOX_TRACE",
        || build_with_env("GLASSBOX_TRACE", "yes").unwrap_err(),
    ));
    rows.push(works("GLASSBOX_TRACE=\"0\"", || {
        build_with_env("GLASSBOX_TRACE", "0").unwrap()
    }));
    // A timeline path that cannot be created: the OS's kind, the variable, the path.
    rows.push(error(
        "GLASSBOX_TRACE_JSON=\"/glassbox-no-such-dir/t.json\"",
        "NotFound: GLASSBOX_TRACE_JSON=\"/glassbox-no-such-dir/t.json\": cannot create",
        || build_with_env("GLASSBOX_TRACE_JSON", "/glassbox-no-such-dir/t.json").unwrap_err(),
    ));
    rows.push(error(
        "GLASSBOX_TRACE_JSON=\"/\" (a directory)",
        "IsADirectory: GLASSBOX_TRACE_JSON=\"/\": cannot create",
        || build_with_env("GLASSBOX_TRACE_JSON", "/").unwrap_err(),
    ));
    // Empty means unset, as for the other two.
    rows.push(works("GLASSBOX_TRACE_JSON=\"\"", || {
        build_with_env("GLASSBOX_TRACE_JSON", "").unwrap()
    }));
    check("environment", rows);
}

// === time ===

#[test]
fn durations_and_deadlines_at_their_limits() {
    let _hang = hang_guard::start();
    check(
        "time",
        vec![
            works("sleep(Duration::ZERO): yields once, no timer", || {
                let mut rt = paused();
                rt.block_on(async {
                    let mut nap = sleep(Duration::ZERO);
                    assert!(poll_with(&mut nap, std::task::Waker::noop()).is_pending());
                    assert!(poll_with(&mut nap, std::task::Waker::noop()).is_ready());
                });
                assert_eq!(debug_count(&rt, "pending_timers"), 0);
            }),
            works("sleep(1 ns): rounds up to the next 1 µs tick", || {
                on_paused(async {
                    let start = time::now();
                    sleep(Duration::from_nanos(1)).await;
                    assert_eq!(time::now() - start, Duration::from_micros(1));
                })
            }),
            works(
                "sleep(Duration::MAX): never ends, the paused clock never jumps to it",
                || {
                    on_paused(async {
                        // A century later it still sleeps (it used to end at 30 years).
                        let century = Duration::from_secs(100 * 365 * 86_400);
                        assert!(timeout(century, sleep(Duration::MAX)).await.is_err());
                    })
                },
            ),
            works("sleep_until(long ago): ready at once", || {
                on_paused(sleep_until(long_ago()));
            }),
            works("Sleep::reset(long ago): ready at the next poll", || {
                on_paused(async {
                    let mut nap = std::pin::pin!(sleep(Duration::from_secs(60)));
                    let _ = poll_with(&mut nap, std::task::Waker::noop());
                    nap.as_mut().reset(long_ago());
                    let start = time::now();
                    nap.await;
                    assert_eq!(time::now(), start);
                })
            }),
            works("Timer::new(Instant::now()): ready at once", || {
                on_paused(Timer::new(Instant::now()));
            }),
            works(
                "sleep_until(now + 600 million years), past the clock's count, raced \
                 against a reply from another thread: the reply wins",
                || {
                    within(Duration::from_secs(60), "600 million years", || {
                        on_paused(async {
                            let far = years_from_now(600_000_000).unwrap();
                            let reply = reply_from_another_thread(7, ms(20));
                            let raced = timeout_at(far, reply).await;
                            assert_eq!(raced, Ok(7), "the far deadline fired");
                        })
                    })
                },
            ),
            works("Timer::new(now + 31,700 years): fires, never early", || {
                on_paused(async {
                    let far = time::now() + Duration::from_secs(1_000_000_000_000);
                    Timer::new(far).await;
                    assert!(time::now() >= far);
                })
            }),
            works(
                "Timer::new(now + 1,000 years) under timeout(1 s): times out",
                || {
                    on_paused(async {
                        let far = years_from_now(1_000).unwrap();
                        assert!(
                            timeout(Duration::from_secs(1), Timer::new(far))
                                .await
                                .is_err()
                        );
                    })
                },
            ),
            works(
                "timeout(Duration::ZERO, ready future): the output wins",
                || {
                    assert_eq!(on_paused(timeout(Duration::ZERO, async { 1 })), Ok(1));
                },
            ),
            works(
                "timeout(Duration::ZERO, pending future): Elapsed at once",
                || {
                    on_paused(async {
                        let start = time::now();
                        assert!(
                            timeout(Duration::ZERO, std::future::pending::<()>())
                                .await
                                .is_err()
                        );
                        assert_eq!(time::now(), start);
                    })
                },
            ),
            works(
                "timeout(Duration::MAX, 1 s sleep): a deadline past the clock's count, Ok",
                || {
                    on_paused(async {
                        let guarded = timeout(Duration::MAX, sleep(Duration::from_secs(1)));
                        let years = (guarded.deadline() - time::now()).as_secs() / (365 * 86_400);
                        assert!(years > 584_000, "{years} years");
                        assert_eq!(guarded.await, Ok(()));
                    })
                },
            ),
            works(
                "timeout(Duration::MAX, reply from another thread): the reply, on the \
                 paused clock",
                || {
                    within(Duration::from_secs(60), "timeout(Duration::MAX)", || {
                        on_paused(async {
                            let reply = reply_from_another_thread("pong", ms(20));
                            let replied = timeout(Duration::MAX, reply).await;
                            assert_eq!(replied, Ok("pong"), "timed out after 30 years");
                        })
                    })
                },
            ),
            works(
                "timeout_at(long ago, pending future): Elapsed at once",
                || {
                    on_paused(async {
                        assert!(
                            timeout_at(long_ago(), std::future::pending::<()>())
                                .await
                                .is_err()
                        );
                    })
                },
            ),
            works(
                "time::advance(Duration::ZERO): the clock stays, the task yields",
                || {
                    on_paused(async {
                        let start = time::now();
                        let other = spawn(async {});
                        time::advance(Duration::ZERO).await;
                        assert_eq!(time::now(), start);
                        assert!(other.is_finished(), "advance yields");
                    })
                },
            ),
            works("time::advance(100 years)", || {
                on_paused(async {
                    let start = time::now();
                    let nap = sleep(Duration::from_secs(99 * 365 * 86_400));
                    time::advance(Duration::from_secs(100 * 365 * 86_400)).await;
                    nap.await;
                    assert_eq!((time::now() - start).as_secs(), 100 * 365 * 86_400);
                })
            }),
            panics("time::advance(Duration::MAX)", "time::advance(", || {
                on_paused(time::advance(Duration::MAX))
            }),
            works(
                "time::advance(Duration::MAX), caught: the clock did not move",
                || {
                    let mut rt = paused();
                    let before = rt.block_on(async { time::now() });
                    let advanced = catch_unwind(AssertUnwindSafe(|| {
                        rt.block_on(time::advance(Duration::MAX))
                    }));
                    assert!(advanced.is_err());
                    rt.block_on(async move {
                        assert_eq!(time::now(), before);
                        sleep(ms(5)).await; // timers still work
                        assert_eq!(time::now() - before, ms(5));
                    });
                },
            ),
            panics(
                "time::advance(600 million years): past the tick counter",
                "time::advance(",
                || {
                    on_paused(time::advance(Duration::from_secs(
                        600_000_000 * 365 * 86_400,
                    )))
                },
            ),
            panics(
                "time::advance to 2 s before the end of the clock's count",
                "past half of what it can count",
                || {
                    on_paused(time::advance(Duration::from_micros(u64::MAX - 2_000_000)));
                },
            ),
            works(
                "time::advance to 2 s before the furthest it goes, then timeout(3 s, sleep(10 s))",
                || {
                    on_paused(async {
                        let furthest = Duration::from_micros(u64::MAX / 2);
                        time::advance(furthest - Duration::from_secs(2)).await;
                        let before = time::now();
                        let outcome =
                            timeout(Duration::from_secs(3), sleep(Duration::from_secs(10)));
                        assert!(outcome.await.is_err(), "the timeout fires first");
                        assert_eq!(time::now() - before, Duration::from_secs(3));
                    });
                },
            ),
            panics(
                "time::advance on a real clock",
                "needs a paused clock",
                || Runtime::new().unwrap().block_on(time::advance(ms(1))),
            ),
            panics(
                "time::advance outside a runtime",
                "time::advance must be called from inside a runtime",
                || {
                    let mut advance = Box::pin(time::advance(ms(1)));
                    let _ = poll_with(&mut advance, std::task::Waker::noop());
                },
            ),
            panics(
                "a Timer polled outside a runtime",
                "must be called from inside a runtime",
                || {
                    let mut nap = sleep(ms(1));
                    let _ = poll_with(&mut nap, std::task::Waker::noop());
                },
            ),
            works("a Sleep created outside a runtime, awaited inside", || {
                let nap = sleep(ms(1));
                on_paused(nap);
            }),
            panics(
                "a Sleep first polled on one runtime, then on another",
                "registered with one runtime was polled outside it",
                || {
                    // Guarded: before the check, the second runtime waited for ever.
                    within(Duration::from_secs(60), "a Sleep on two runtimes", || {
                        let mut nap = Box::pin(sleep(Duration::from_secs(1)));
                        paused().block_on(async {
                            assert!(poll_with(&mut nap, std::task::Waker::noop()).is_pending());
                        });
                        paused().block_on(nap);
                    })
                },
            ),
        ],
    );
}

// === Semaphore ===

#[test]
fn semaphore_counts_at_their_limits() {
    let _hang = hang_guard::start();
    const MAX: usize = Semaphore::MAX_PERMITS;
    check(
        "Semaphore",
        vec![
            error(
                "Semaphore::new(0).try_acquire()",
                "no permits available",
                || {
                    let sem = Semaphore::new(0);
                    let error = sem.try_acquire().unwrap_err();
                    assert_eq!(error, TryAcquireError::NoPermits);
                    error.to_string()
                },
            ),
            works("Semaphore::new(0).acquire() waits for add_permits", || {
                on_paused(async {
                    let sem = Rc::new(Semaphore::new(0));
                    let waiter = spawn({
                        let sem = sem.clone();
                        async move { sem.acquire().await.unwrap().num_permits() }
                    });
                    yield_now().await;
                    assert!(!waiter.is_finished());
                    sem.add_permits(1);
                    assert_eq!(waiter.await.unwrap(), 1);
                })
            }),
            works("Semaphore::new(MAX_PERMITS)", || {
                assert_eq!(Semaphore::new(MAX).available_permits(), MAX);
            }),
            panics(
                "Semaphore::new(MAX_PERMITS + 1)",
                "exceeds Semaphore::MAX_PERMITS",
                || {
                    let _ = Semaphore::new(MAX + 1);
                },
            ),
            panics(
                "Semaphore::new(usize::MAX)",
                "exceeds Semaphore::MAX_PERMITS",
                || {
                    let _ = Semaphore::new(usize::MAX);
                },
            ),
            works("add_permits(0): nothing changes", || {
                let sem = Semaphore::new(1);
                sem.add_permits(0);
                assert_eq!(sem.available_permits(), 1);
            }),
            panics(
                "add_permits past MAX_PERMITS",
                "would exceed Semaphore::MAX_PERMITS",
                || {
                    Semaphore::new(1).add_permits(MAX);
                },
            ),
            works(
                "add_permits past MAX_PERMITS, caught: nothing changed",
                || {
                    let sem = Semaphore::new(1);
                    assert!(
                        catch_unwind(AssertUnwindSafe(|| sem.add_permits(usize::MAX))).is_err()
                    );
                    assert_eq!(sem.available_permits(), 1);
                    sem.add_permits(MAX - 1); // up to the maximum is still fine
                    assert_eq!(sem.available_permits(), MAX);
                },
            ),
            works("a forgotten permit makes room below MAX_PERMITS", || {
                let sem = Semaphore::new(MAX);
                sem.try_acquire().unwrap().forget();
                sem.add_permits(1);
                assert_eq!(sem.available_permits(), MAX);
            }),
            works(
                "acquire_many(0): at once, even with none free and others waiting",
                || {
                    on_paused(async {
                        let sem = Rc::new(Semaphore::new(0));
                        let _waiting = spawn({
                            let sem = sem.clone();
                            async move { drop(sem.acquire().await) }
                        });
                        yield_now().await;
                        assert_eq!(sem.acquire_many(0).await.unwrap().num_permits(), 0);
                        assert_eq!(sem.try_acquire_many(0).unwrap().num_permits(), 0);
                    })
                },
            ),
            error(
                "acquire_many(0) on a closed semaphore",
                "semaphore closed",
                || {
                    let sem = Semaphore::new(1);
                    sem.close();
                    let error = on_paused(sem.acquire_many(0)).unwrap_err();
                    assert_eq!(error, AcquireError::clone(&error));
                    error.to_string()
                },
            ),
            works(
                "acquire_many(u32::MAX): waits, then is served by add_permits",
                || {
                    on_paused(async {
                        let sem = Rc::new(Semaphore::new(0));
                        let big = spawn({
                            let sem = sem.clone();
                            async move { sem.acquire_many(u32::MAX).await.unwrap().num_permits() }
                        });
                        yield_now().await;
                        assert!(!big.is_finished());
                        sem.add_permits(u32::MAX as usize);
                        assert_eq!(big.await.unwrap(), u32::MAX as usize);
                        assert_eq!(sem.available_permits(), u32::MAX as usize);
                    })
                },
            ),
            works(
                "acquire_many(u32::MAX) timed out: the permits it gathered come back",
                || {
                    on_paused(async {
                        let sem = Semaphore::new(5);
                        assert!(timeout(ms(10), sem.acquire_many(u32::MAX)).await.is_err());
                        assert_eq!(sem.available_permits(), 5);
                    })
                },
            ),
            works(
                "a waiter's waker panics with a bomb (a payload whose drop panics): the waiter \
                 served behind it is still woken, with its permit",
                || {
                    let sem = Semaphore::new(0);
                    let (counting, waker) = reliability_support::CountingWaker::new();
                    let bombing = std::task::Waker::from(Arc::new(BombingWaker));
                    let mut first = Box::pin(sem.acquire());
                    let mut second = Box::pin(sem.acquire());
                    assert!(poll_with(&mut first, &bombing).is_pending());
                    assert!(poll_with(&mut second, &waker).is_pending());
                    sem.add_permits(2); // no panic escapes
                    assert_eq!(counting.wakes(), 1, "{sem:?}");
                    assert!(matches!(poll_with(&mut second, &waker), Poll::Ready(Ok(_))));
                },
            ),
        ],
    );
}

// === Queue ===

#[test]
fn queue_sizes_and_counts_at_their_limits() {
    let _hang = hang_guard::start();
    check(
        "Queue",
        vec![
            works("Queue::new(0): unbounded", || {
                let queue = Queue::new(0);
                for i in 0..100_000 {
                    queue.put_nowait(i).unwrap();
                }
                assert!(!queue.full());
                assert_eq!(queue.qsize(), 100_000);
            }),
            works("Queue::new(1): one item, then full", || {
                let queue = Queue::new(1);
                queue.put_nowait(1).unwrap();
                assert!(queue.full());
            }),
            works("Queue::new(usize::MAX): never full", || {
                let queue = Queue::new(usize::MAX);
                for i in 0..1_000 {
                    queue.put_nowait(i).unwrap();
                }
                assert!(!queue.full());
            }),
            error("task_done() on a fresh queue", "task_done", || {
                Queue::<()>::new(0).task_done().unwrap_err().to_string()
            }),
            error("task_done() twice for one item", "task_done", || {
                let queue = Queue::new(0);
                queue.put_nowait(1).unwrap();
                queue.get_nowait().unwrap();
                queue.task_done().unwrap();
                let error = queue.task_done().unwrap_err();
                on_paused(queue.join()); // the count was left alone: nothing unfinished
                error.to_string()
            }),
            error("get_nowait() on an empty queue", "empty", || {
                let error = Queue::<()>::new(0).get_nowait().unwrap_err();
                assert_eq!(error, GetNowaitError::Empty);
                error.to_string()
            }),
            error(
                "put_nowait() on a full queue gives the item back",
                "full",
                || {
                    let queue = Queue::new(1);
                    queue.put_nowait(1).unwrap();
                    let error = queue.put_nowait(2).unwrap_err();
                    let message = error.to_string();
                    assert_eq!(error.into_inner(), 2);
                    message
                },
            ),
            error(
                "put() after shutdown gives the item back",
                "shut down",
                || {
                    let queue = Queue::new(0);
                    queue.shutdown(false);
                    let error = on_paused(queue.put("item")).unwrap_err();
                    let message = error.to_string();
                    assert_eq!(error.into_inner(), "item");
                    message
                },
            ),
            works("shutdown twice", || {
                let queue = Queue::new(0);
                queue.put_nowait(1).unwrap();
                queue.shutdown(false);
                queue.shutdown(true);
                assert_eq!(queue.get_nowait(), Err(GetNowaitError::ShutDown));
            }),
        ],
    );
}

// === retry ===

/// Retries an always-failing operation with `policy` on the paused clock; returns
/// how many calls it made and how much virtual time passed.
fn always_failing(policy: Backoff) -> (usize, Duration) {
    on_paused(async {
        let calls = Rc::new(Cell::new(0));
        let start = time::now();
        let result: Result<(), &str> = retry(policy, || {
            calls.set(calls.get() + 1);
            async { Err("no") }
        })
        .await;
        assert_eq!(result, Err("no"));
        (calls.get(), time::now() - start)
    })
}

#[test]
fn backoff_settings_at_their_limits() {
    let _hang = hang_guard::start();
    const YEAR: u64 = 365 * 86_400;
    check(
        "Backoff",
        vec![
            panics(
                "Backoff::max_attempts(0)",
                "0 attempts would never run the operation",
                || {
                    let _ = Backoff::new(ms(1)).max_attempts(0);
                },
            ),
            works("Backoff::max_attempts(1): one call, no wait", || {
                assert_eq!(
                    always_failing(Backoff::new(ms(10)).max_attempts(1)),
                    (1, Duration::ZERO)
                );
            }),
            works(
                "Backoff::max_attempts(u32::MAX) with a deadline of 1 s",
                || {
                    let policy = Backoff::new(ms(10))
                        .max_attempts(u32::MAX)
                        .deadline(Duration::from_secs(1));
                    let (calls, took) = always_failing(policy);
                    assert_eq!(calls, 7); // at 0, 10, 30, 70, 150, 310, 630 ms
                    assert!(took < Duration::from_secs(1));
                },
            ),
            panics("Backoff::factor(NaN)", "NaN is not a valid factor", || {
                let _ = Backoff::new(ms(1)).factor(f64::NAN);
            }),
            panics(
                "Backoff::factor(f64::INFINITY)",
                "inf is not a valid factor",
                || {
                    let _ = Backoff::new(ms(1)).factor(f64::INFINITY);
                },
            ),
            panics("Backoff::factor(0.5)", "0.5 is not a valid factor", || {
                let _ = Backoff::new(ms(1)).factor(0.5);
            }),
            panics("Backoff::factor(-1.0)", "-1 is not a valid factor", || {
                let _ = Backoff::new(ms(1)).factor(-1.0);
            }),
            panics("Backoff::factor(0.0)", "0 is not a valid factor", || {
                let _ = Backoff::new(ms(1)).factor(0.0);
            }),
            works("Backoff::factor(1.0): constant delays", || {
                assert_eq!(
                    always_failing(Backoff::new(ms(10)).factor(1.0)),
                    (3, ms(20))
                );
            }),
            works("Backoff::new(Duration::ZERO): retries at once", || {
                assert_eq!(
                    always_failing(Backoff::new(Duration::ZERO)),
                    (3, Duration::ZERO)
                );
            }),
            works(
                "Backoff::new(Duration::MAX): each wait is about 30 years",
                || {
                    let (calls, took) = always_failing(Backoff::new(Duration::MAX));
                    assert_eq!(calls, 3);
                    assert_eq!(took.as_secs() / YEAR, 60);
                },
            ),
            works(
                "Backoff::new(Duration::MAX).full_jitter(): no overflow",
                || {
                    // A random part of Duration::MAX: up to the clock's end of time.
                    let (calls, _) = always_failing(Backoff::new(Duration::MAX).jitter_seed(1));
                    assert_eq!(calls, 3);
                },
            ),
            works("Backoff::max_delay(Duration::ZERO): no waits", || {
                assert_eq!(
                    always_failing(Backoff::new(ms(10)).max_delay(Duration::ZERO)),
                    (3, Duration::ZERO)
                );
            }),
            works("Backoff::deadline(Duration::ZERO): one attempt", || {
                assert_eq!(
                    always_failing(Backoff::new(ms(10)).deadline(Duration::ZERO)),
                    (1, Duration::ZERO)
                );
            }),
            works("Backoff::deadline(Duration::MAX): no overflow", || {
                assert_eq!(
                    always_failing(Backoff::new(ms(10)).deadline(Duration::MAX)),
                    (3, ms(30))
                );
            }),
            works(
                "Backoff with a huge factor: delays saturate at Duration::MAX",
                || {
                    let policy = Backoff::new(Duration::from_secs(1))
                        .factor(1e300)
                        .max_attempts(5);
                    assert_eq!(policy.delays().last(), Some(Duration::MAX));
                },
            ),
        ],
    );
}

// === BlockingPool ===

#[test]
fn blocking_pool_settings_at_their_limits() {
    let _hang = hang_guard::start();
    check(
        "BlockingPool",
        vec![
            panics(
                "BlockingPool::builder().max_threads(0)",
                "max_threads must be at least 1",
                || {
                    let _ = BlockingPool::builder().max_threads(0);
                },
            ),
            panics(
                "BlockingPool::builder().thread_name(\"bad\\0name\").build()",
                "BlockingPoolBuilder::thread_name must not contain a NUL byte",
                || {
                    let _ = BlockingPool::builder().thread_name("bad\0name").build();
                },
            ),
            works(
                "max_threads(1), detached jobs that panic with a bomb and return a grenade: \
                 the one thread lives on and runs the next job",
                || {
                    let pool = BlockingPool::builder().max_threads(1).build();
                    drop(pool.spawn(|| std::panic::panic_any(Bomb)));
                    drop(pool.spawn(|| Grenade));
                    let next =
                        glassbox::block_on(timeout(Duration::from_secs(20), pool.spawn(|| 7)));
                    assert_eq!(next.expect("the next job ran").unwrap(), 7);
                    assert!(pool.shutdown_timeout(Duration::from_secs(20)));
                },
            ),
            works(
                "a queued job whose closure holds a grenade, cancelled by shutdown_timeout: \
                 no panic escapes, its handle says cancelled",
                || {
                    let pool = BlockingPool::builder().max_threads(1).build();
                    let started = Arc::new(AtomicUsize::new(0));
                    let running = pool.spawn({
                        let started = started.clone();
                        move || {
                            started.store(1, Ordering::SeqCst);
                            std::thread::sleep(ms(50));
                        }
                    });
                    let grenade = Grenade;
                    let queued = pool.spawn(move || drop(grenade));
                    while started.load(Ordering::SeqCst) == 0 {
                        std::thread::yield_now();
                    }
                    assert!(!pool.shutdown_timeout(Duration::ZERO));
                    assert!(glassbox::block_on(queued).unwrap_err().is_cancelled());
                    assert!(glassbox::block_on(running).is_ok());
                },
            ),
            works("max_threads(1): jobs run one at a time", || {
                let pool = BlockingPool::builder().max_threads(1).build();
                let (running, most) =
                    (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
                glassbox::block_on(async {
                    let jobs: Vec<_> = (0..8)
                        .map(|_| {
                            let (running, most) = (running.clone(), most.clone());
                            pool.spawn(move || {
                                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                                most.fetch_max(now, Ordering::SeqCst);
                                std::thread::sleep(ms(1));
                                running.fetch_sub(1, Ordering::SeqCst);
                            })
                        })
                        .collect();
                    for job in jobs {
                        job.await.unwrap();
                    }
                });
                assert_eq!(most.load(Ordering::SeqCst), 1);
            }),
            works("max_threads(usize::MAX)", || {
                let pool = BlockingPool::builder().max_threads(usize::MAX).build();
                assert_eq!(glassbox::block_on(pool.spawn(|| 2)).unwrap(), 2);
            }),
            works(
                "keep_alive(Duration::ZERO): 500 jobs, none lost, threads retire",
                || {
                    within(Duration::from_secs(60), "keep_alive zero", || {
                        let pool = BlockingPool::builder()
                            .max_threads(4)
                            .keep_alive(Duration::ZERO)
                            .build();
                        glassbox::block_on(async {
                            for round in 0..50 {
                                let jobs: Vec<_> = (0..10)
                                    .map(|i| pool.spawn(move || round * 10 + i))
                                    .collect();
                                for (i, job) in jobs.into_iter().enumerate() {
                                    assert_eq!(job.await.unwrap(), round * 10 + i);
                                }
                            }
                        });
                        while pool.thread_count() > 0 {
                            std::thread::sleep(ms(1));
                        }
                    })
                },
            ),
            works(
                "keep_alive(Duration::MAX): the pool's drop still ends its threads",
                || {
                    within(Duration::from_secs(60), "keep_alive max", || {
                        let pool = BlockingPool::builder().keep_alive(Duration::MAX).build();
                        assert_eq!(glassbox::block_on(pool.spawn(|| 1)).unwrap(), 1);
                        drop(pool);
                    })
                },
            ),
            works(
                "shutdown_timeout(Duration::ZERO) with a job running: false",
                || {
                    let pool = BlockingPool::builder().build();
                    let started = Arc::new(AtomicUsize::new(0));
                    let handle = pool.spawn({
                        let started = started.clone();
                        move || {
                            started.store(1, Ordering::SeqCst);
                            std::thread::sleep(ms(50));
                        }
                    });
                    while started.load(Ordering::SeqCst) == 0 {
                        std::thread::yield_now();
                    }
                    assert!(!pool.shutdown_timeout(Duration::ZERO));
                    assert!(
                        glassbox::block_on(handle).is_ok(),
                        "the running job finished"
                    );
                },
            ),
            works(
                "shutdown_timeout(Duration::MAX) with a job running: waits, true",
                || {
                    let pool = BlockingPool::builder().build();
                    let started = Arc::new(AtomicUsize::new(0));
                    let handle = pool.spawn({
                        let started = started.clone();
                        move || {
                            started.store(1, Ordering::SeqCst);
                            std::thread::sleep(ms(5));
                        }
                    });
                    while started.load(Ordering::SeqCst) == 0 {
                        std::thread::yield_now();
                    }

                    assert!(pool.shutdown_timeout(Duration::MAX));
                    assert!(glassbox::block_on(handle).is_ok());
                },
            ),
        ],
    );
}

// === futures used twice, and other misuse ===

#[test]
fn futures_polled_after_they_returned_panic_naming_the_future() {
    let _hang = hang_guard::start();
    /// Awaits `future` to its end, then polls it once more.
    fn poll_again<F: Future + Unpin>(mut future: F) {
        on_paused(async {
            (&mut future).await;
            let _ = poll_with(&mut future, std::task::Waker::noop());
        });
    }
    check(
        "polled after completion",
        vec![
            panics(
                "JoinHandle",
                "JoinHandle polled after it already returned",
                || {
                    on_paused(async {
                        let mut handle = spawn(async {});
                        (&mut handle).await.unwrap();
                        let _ = poll_with(&mut handle, std::task::Waker::noop());
                    })
                },
            ),
            panics(
                "JoinError::into_panic on a cancellation",
                "into_panic called on a JoinError that is a cancellation",
                || {
                    on_paused(async {
                        let handle = spawn(std::future::pending::<()>());
                        handle.abort();
                        drop(handle.await.unwrap_err().into_panic());
                    })
                },
            ),
            panics(
                "BlockingHandle",
                "BlockingHandle polled after it already returned",
                || {
                    poll_again(glassbox::spawn_blocking(|| ()));
                },
            ),
            panics(
                "Semaphore::acquire",
                "Acquire polled after it already returned",
                || {
                    let sem = Semaphore::new(1);
                    poll_again(sem.acquire());
                },
            ),
            panics("Queue::put", "Put polled after it already returned", || {
                let queue = Queue::new(0);
                poll_again(queue.put(1));
            }),
            panics("Queue::get", "Get polled after it already returned", || {
                let queue = Queue::new(0);
                queue.put_nowait(1).unwrap();
                poll_again(Box::pin(queue.get()));
            }),
            panics(
                "Queue::join",
                "Join polled after it already returned",
                || {
                    let queue = Queue::<()>::new(0);
                    poll_again(Box::pin(queue.join()));
                },
            ),
            works("Sleep (a finished sleep stays finished)", || {
                poll_again(sleep(ms(1)));
            }),
        ],
    );
}

// === net ===

#[test]
fn sockets_given_empty_buffers_and_impossible_requests() {
    let _hang = hang_guard::start();
    check(
        "net",
        vec![
            panics(
                "TcpListener::bind outside a runtime",
                "TcpListener::bind must be called from inside a runtime",
                || {
                    let _ = TcpListener::bind(localhost());
                },
            ),
            error("TcpListener::bind to an address in use", "in use", || {
                glassbox::block_on(async {
                    let first = TcpListener::bind(localhost()).unwrap();
                    let error = TcpListener::bind(first.local_addr().unwrap()).unwrap_err();
                    assert_eq!(error.kind(), ErrorKind::AddrInUse);
                    error.to_string()
                })
            }),
            error("TcpStream::connect to a closed port", "refused", || {
                glassbox::block_on(async {
                    let addr = TcpListener::bind(localhost())
                        .unwrap()
                        .local_addr()
                        .unwrap();
                    // The listener is dropped: nothing listens there now.
                    let error = TcpStream::connect(addr).await.unwrap_err();
                    assert_eq!(error.kind(), ErrorKind::ConnectionRefused);
                    error.to_string()
                })
            }),
            works(
                "TcpStream::read(&mut []) with no data: Ok(0) at once",
                || {
                    // Found by this table: it waited for data (recv(2) says "would block").
                    within(Duration::from_secs(60), "read(&mut [])", || {
                        glassbox::block_on(async {
                            let listener = TcpListener::bind(localhost()).unwrap();
                            let addr = listener.local_addr().unwrap();
                            let _client = TcpStream::connect(addr).await.unwrap();
                            let (server, _) = listener.accept().await.unwrap();
                            assert_eq!(server.read(&mut []).await.unwrap(), 0);
                        })
                    })
                },
            ),
            works("write(&[]), read_exact(&mut []), write_all(&[])", || {
                glassbox::block_on(async {
                    let listener = TcpListener::bind(localhost()).unwrap();
                    let client = TcpStream::connect(listener.local_addr().unwrap())
                        .await
                        .unwrap();
                    let (server, _) = listener.accept().await.unwrap();
                    assert_eq!(client.write(&[]).await.unwrap(), 0);
                    server.read_exact(&mut []).await.unwrap();
                    client.write_all(&[]).await.unwrap();
                    // The stream still works.
                    client.write_all(b"x").await.unwrap();
                    let mut byte = [0];
                    server.read_exact(&mut byte).await.unwrap();
                })
            }),
            error("UdpSocket::send_to of 70,000 bytes", "too long", || {
                glassbox::block_on(async {
                    let socket = UdpSocket::bind(localhost()).unwrap();
                    let to = socket.local_addr().unwrap();
                    socket
                        .send_to(&vec![0; 70_000], to)
                        .await
                        .unwrap_err()
                        .to_string()
                })
            }),
            works(
                "UdpSocket::recv_from(&mut []): takes the datagram, returns 0",
                || {
                    glassbox::block_on(async {
                        let socket = UdpSocket::bind(localhost()).unwrap();
                        let to = socket.local_addr().unwrap();
                        socket.send_to(b"abc", to).await.unwrap();
                        let (n, from) = socket.recv_from(&mut []).await.unwrap();
                        assert_eq!((n, from), (0, to));
                    })
                },
            ),
            works(
                "UdpSocket::recv_from(&mut []) with nothing sent: waits for a datagram",
                || {
                    on_paused(async {
                        let socket = UdpSocket::bind(localhost()).unwrap();
                        assert!(timeout(ms(10), socket.recv_from(&mut [])).await.is_err());
                    })
                },
            ),
            error(
                "a socket used in another runtime's block_on",
                "belongs to a runtime that is not running",
                || {
                    let mut first = Runtime::new().unwrap();
                    let listener =
                        first.block_on(async { TcpListener::bind(localhost()).unwrap() });
                    let mut second = Runtime::new().unwrap();
                    let error = second.block_on(listener.accept()).unwrap_err();
                    error.to_string()
                },
            ),
            error(
                "UnixListener::bind, UnixStream::connect, UnixDatagram::send_to of a path \
                 with a NUL inside (\"/tmp/a\\0b\")",
                "has a NUL byte at byte 6",
                || {
                    glassbox::block_on(async {
                        let path = "/tmp/a\0b";
                        let bind = UnixListener::bind(path).unwrap_err();
                        let connect = UnixStream::connect(path).await.unwrap_err();
                        let unbound = UnixDatagram::unbound().unwrap();
                        let send_to = unbound.send_to(b"x", path).await.unwrap_err();
                        for error in [&bind, &connect, &send_to] {
                            assert_eq!(error.kind(), ErrorKind::InvalidInput);
                            assert!(!error.to_string().contains('\0'), "NUL shown escaped");
                        }
                        send_to.to_string()
                    })
                },
            ),
            works(
                "AsyncFd::async_io whose syscall always says Interrupted, in a 20 ms timeout: \
                 the timeout fires",
                || {
                    // Found by issue 34: the retries never gave the loop its thread back.
                    within(Duration::from_secs(60), "async_io(Interrupted)", || {
                        glassbox::block_on(async {
                            let (reader, mut writer) =
                                std::os::unix::net::UnixStream::pair().unwrap();
                            std::io::Write::write_all(&mut writer, b"x").unwrap();
                            reader.set_nonblocking(true).unwrap();
                            let fd = AsyncFd::with_interest(reader, Interest::READABLE).unwrap();
                            let interrupted = fd
                                .async_io(Interest::READABLE, |_| -> std::io::Result<()> {
                                    Err(ErrorKind::Interrupted.into())
                                });
                            assert!(timeout(ms(20), interrupted).await.is_err());
                        })
                    })
                },
            ),
        ],
    );
}

#[test]
fn a_join_handle_polled_without_a_runtime_still_reports_a_finished_task() {
    let _hang = hang_guard::start();
    // Not bad input exactly, but a limit worth pinning: a handle outliving its
    // runtime is still a valid future, as the drop tests rely on.
    let mut rt = Runtime::new().unwrap();
    // The handle is meant to leave this block_on unawaited, and outlive the runtime.
    #[allow(clippy::async_yields_async)]
    let mut handle = rt.block_on(async {
        let handle = spawn(async { 5 });
        yield_now().await;
        handle
    });
    drop(rt);
    assert!(matches!(
        poll_with(&mut handle, std::task::Waker::noop()),
        Poll::Ready(Ok(5))
    ));
}

/// Child side of `a_test_that_hangs_fails_by_name_within_the_bound`: waits far past
/// the one-second bound its parent gives it.
#[test]
#[ignore = "run by its parent test in a child process, with a one-second hang bound"]
fn child_that_hangs_past_its_bound() {
    let _hang = hang_guard::start();
    std::thread::sleep(std::time::Duration::from_secs(30));
}

// The guard every waiting suite uses (tests/hang_guard): a hang is a failure naming
// the test, in seconds.
#[test]
fn a_test_that_hangs_fails_by_name_within_the_bound() {
    let _hang = hang_guard::start();
    let started = std::time::Instant::now();
    let output = Command::new(std::env::current_exe().unwrap())
        .args([
            "child_that_hangs_past_its_bound",
            "--exact",
            "--ignored",
            "--test-threads=1",
        ])
        .env("GLASSBOX_HANG_SECS", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(101), "{stderr}");
    assert!(
        stderr
            .contains("hang_guard: test child_that_hangs_past_its_bound is still running after 1s"),
        "{stderr}"
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(25),
        "the child was stopped by the guard, not by its own end"
    );
}
