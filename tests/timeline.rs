//! The timeline for Perfetto (`Builder::trace_json`, executor/src/observe/timeline.rs): a
//! small program's run, written as Chrome trace-event JSON, read back and checked
//! against the rules Perfetto draws by.

mod hang_guard;

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::time::Duration;

use glassbox::net::UnixDatagram;
use glassbox::{Runtime, consume_budget, sleep, spawn, spawn_blocking, yield_now};
use serde_json::Value;

/// A fresh path in the temp directory, unique to this test.
fn temp_path(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("glassbox-{name}-{}.json", std::process::id()))
}

/// Runs the program on a paused clock, writing its timeline to `path`. Returns how
/// many task polls the runtime counted; the runtime is dropped (the file closed).
fn run_program(path: &PathBuf) -> u64 {
    let mut rt = Runtime::builder()
        .paused_clock(true)
        .coop_budget(Some(2))
        .trace_json(path)
        .build()
        .unwrap();
    rt.block_on(async {
        // Timers: woken from the loop's `timers` slice.
        let sleeper = spawn(async {
            sleep(Duration::from_millis(10)).await;
            sleep(Duration::from_millis(20)).await;
        });
        // I/O: the receiver is woken from the loop's `reactor` slice.
        let (tx, rx) = UnixDatagram::pair().unwrap();
        let receiver = spawn(async move {
            let mut buf = [0u8; 8];
            rx.recv(&mut buf).await.unwrap()
        });
        let sender = spawn(async move {
            sleep(Duration::from_millis(5)).await;
            tx.send(b"ping").await.unwrap();
        });
        // A yield (the task wakes itself) and forced yields (the coop budget is 2).
        let yielder = spawn(async {
            for _ in 0..3 {
                yield_now().await;
                consume_budget().await;
            }
        });
        // Another thread: its wake comes back through the loop's `remote wakes` slice.
        let offloaded = spawn(async { spawn_blocking(|| 7).await.unwrap() });
        sleeper.await.unwrap();
        assert_eq!(receiver.await.unwrap(), 4);
        sender.await.unwrap();
        yielder.await.unwrap();
        assert_eq!(offloaded.await.unwrap(), 7);
    });
    rt.metrics().polls
}

fn events_of(trace: &Value) -> &Vec<Value> {
    trace["traceEvents"]
        .as_array()
        .expect("traceEvents is an array")
}

fn phase<'a>(events: &'a [Value], ph: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["ph"] == ph).collect()
}

/// The complete slices by track, as (start, end) in µs, sorted by start.
fn slices_by_track(events: &[Value]) -> HashMap<u64, Vec<(f64, f64)>> {
    let mut tracks: HashMap<u64, Vec<(f64, f64)>> = HashMap::new();
    for slice in phase(events, "X") {
        let start = slice["ts"].as_f64().unwrap();
        let end = start + slice["dur"].as_f64().unwrap();
        tracks
            .entry(slice["tid"].as_u64().unwrap())
            .or_default()
            .push((start, end));
    }
    for slices in tracks.values_mut() {
        slices.sort_by(|a, b| a.0.total_cmp(&b.0));
    }
    tracks
}

/// True if a slice on `tid` encloses time `ts` (what `"bp":"e"` and an `s` bind to).
fn enclosed(tracks: &HashMap<u64, Vec<(f64, f64)>>, event: &Value) -> bool {
    let ts = event["ts"].as_f64().unwrap();
    tracks[&event["tid"].as_u64().unwrap()]
        .iter()
        .any(|&(start, end)| start <= ts && ts <= end)
}

#[test]
fn the_timeline_parses_and_keeps_perfettos_rules() {
    let _hang = hang_guard::start();
    let path = temp_path("timeline-rules");
    let polls = run_program(&path);
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    let trace: Value = serde_json::from_str(&text).expect("the closed file is valid JSON");
    let events = events_of(&trace);

    // Every task poll has exactly one slice on its task's track (tid = id + 1 ≥ 2).
    let task_polls = phase(events, "X")
        .into_iter()
        .filter(|e| e["cat"] == "poll" && e["tid"].as_u64().unwrap() >= 2)
        .count();
    assert_eq!(task_polls as u64, polls);

    // Slices on one track never overlap.
    let tracks = slices_by_track(events);
    for (tid, slices) in &tracks {
        for pair in slices.windows(2) {
            assert!(pair[0].1 <= pair[1].0, "track {tid}: {pair:?} overlap");
        }
    }

    // Every flow end has its start (same id, cat, name); ids are unique; both ends sit
    // inside a slice, or Perfetto drops the arrow.
    let starts: HashMap<u64, &Value> = phase(events, "s")
        .into_iter()
        .map(|s| (s["id"].as_u64().unwrap(), s))
        .collect();
    assert_eq!(
        starts.len(),
        phase(events, "s").len(),
        "flow ids are unique"
    );
    let ends = phase(events, "f");
    assert!(ends.len() >= 8, "arrows for spawns, timers, I/O, yields");
    for end in &ends {
        let start = starts[&end["id"].as_u64().unwrap()];
        assert_eq!((&start["cat"], &start["name"]), (&end["cat"], &end["name"]));
        assert_eq!(end["bp"], "e");
        assert!(enclosed(&tracks, start), "{start} has no enclosing slice");
        assert!(enclosed(&tracks, end), "{end} has no enclosing slice");
    }
    // The waker's side was each kind of slice on the loop's track.
    let loop_slices: HashSet<&str> = phase(events, "X")
        .into_iter()
        .filter(|e| e["tid"] == 0)
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    for name in ["timers", "reactor", "remote wakes"] {
        assert!(
            loop_slices.contains(name),
            "no {name} slice: {loop_slices:?}"
        );
    }

    // Each task's track is named after it; instants and the counter are there.
    let names: Vec<&str> = phase(events, "M")
        .into_iter()
        .filter(|e| e["name"] == "thread_name")
        .map(|e| e["args"]["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"event loop") && names.contains(&"block_on"));
    assert!(
        names
            .iter()
            .any(|n| n.starts_with("task 1 tests/timeline.rs:"))
    );
    assert!(
        phase(events, "i")
            .iter()
            .any(|e| e["name"] == "forced yield")
    );
    assert!(
        phase(events, "C")
            .iter()
            .all(|e| e["name"] == "ready queue")
    );
    assert!(!phase(events, "C").is_empty());
}

#[test]
fn a_timeline_written_to_a_pipe_is_whole_json_too() {
    let _hang = hang_guard::start();
    let fifo = temp_path("timeline-fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success(), "mkfifo failed");
    // The reader opens its end first: opening a FIFO to write waits for one.
    let reader = std::thread::spawn({
        let fifo = fifo.clone();
        move || std::fs::read(fifo).unwrap()
    });
    let polls = run_program(&fifo);
    let bytes = reader.join().unwrap();
    std::fs::remove_file(&fifo).unwrap();
    // A pipe cannot step back over a closing: it gets the events, then one closing.
    let trace: Value = serde_json::from_slice(&bytes)
        .unwrap_or_else(|error| panic!("the timeline read from the pipe: {error}"));
    let poll_slices = phase(events_of(&trace), "X")
        .into_iter()
        .filter(|slice| slice["cat"] == "poll" && slice["tid"] != 1)
        .count();
    assert_eq!(poll_slices as u64, polls);
}

/// Run by `a_process_that_dies_mid_run_leaves_a_timeline_that_parses_as_it_is` in a
/// child process, with the path in `GLASSBOX_TIMELINE_CHILD`: a program that sleeps
/// (the loop parks, so the timeline is flushed), then polls without ever sleeping
/// (flushed only as its events pile up), then dies without dropping its runtime.
#[test]
#[ignore = "run as a child process by the test below"]
fn child_dies_mid_run_with_its_timeline_open() {
    let Some(path) = std::env::var_os("GLASSBOX_TIMELINE_CHILD") else {
        return;
    };
    let mut rt = Runtime::builder().trace_json(path).build().unwrap();
    rt.block_on(async {
        for _ in 0..3 {
            sleep(Duration::from_millis(1)).await;
        }
        let busy = spawn(async {
            for _ in 0..2_000 {
                yield_now().await;
            }
        });
        busy.await.unwrap();
        println!("SLEPT AND YIELDED");
        std::process::abort();
    });
}

#[test]
fn a_process_that_dies_mid_run_leaves_a_timeline_that_parses_as_it_is() {
    let _hang = hang_guard::start();
    let path = temp_path("timeline-killed");
    let child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "child_dies_mid_run_with_its_timeline_open",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("GLASSBOX_TIMELINE_CHILD", &path)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&child.stdout);
    assert!(
        stdout.contains("SLEPT AND YIELDED") && !child.status.success(),
        "the child should run its program and then abort: {:?}\n{stdout}",
        child.status
    );
    let bytes = std::fs::read(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    // As it is: no repair. (Perfetto rejects a `{"traceEvents":[` left unclosed.)
    let trace: Value = serde_json::from_slice(&bytes)
        .unwrap_or_else(|error| panic!("the dead process's timeline: {error}"));
    let polls = phase(events_of(&trace), "X")
        .into_iter()
        .filter(|slice| slice["cat"] == "poll")
        .count();
    // The busy task's 2,001 polls wrote far more than the 64 KiB that make a flush
    // without a park: most of them must be on disk, though the last few are lost.
    assert!(polls > 1_000, "only {polls} poll slices reached the file");
}

// === one whole file per runtime ===

/// `path` numbered as a later runtime's timeline is: `t.json` → `t.2.json`.
fn numbered(path: &std::path::Path, n: u32) -> PathBuf {
    let stem = path.file_stem().unwrap().to_str().unwrap();
    path.with_file_name(format!("{stem}.{n}.json"))
}

/// The poll slices of the tasks (not `block_on`'s) in the timeline at `path`, which
/// must parse as it is; the file is removed.
fn task_polls_in(path: &PathBuf) -> u64 {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|error| panic!("reading {}: {error}", path.display()));
    std::fs::remove_file(path).unwrap();
    let trace: Value = serde_json::from_str(&text)
        .unwrap_or_else(|error| panic!("{} is not whole JSON: {error}", path.display()));
    phase(events_of(&trace), "X")
        .into_iter()
        .filter(|slice| slice["cat"] == "poll" && slice["tid"].as_u64().unwrap() >= 2)
        .count() as u64
}

/// A few tasks that each yield `yields` times.
async fn yielders(tasks: usize, yields: usize) {
    let handles: Vec<_> = (0..tasks)
        .map(|_| {
            spawn(async move {
                for _ in 0..yields {
                    yield_now().await;
                }
            })
        })
        .collect();
    for handle in handles {
        handle.await.unwrap();
    }
}

#[test]
fn two_runtimes_alive_at_once_each_write_a_whole_timeline_of_their_own() {
    let _hang = hang_guard::start();
    let path = temp_path("timeline-two-alive");
    let build = || Runtime::builder().trace_json(&path).build().unwrap();
    // Both alive at once, taking turns, as `examples/http.rs --workers 2` runs them on
    // two threads: each one's flushes land between the other's.
    let (mut first, mut second) = (build(), build());
    for _ in 0..3 {
        first.block_on(yielders(3, 400));
        second.block_on(yielders(2, 300));
    }
    let (first_polls, second_polls) = (first.metrics().polls, second.metrics().polls);
    drop((first, second));
    assert_eq!(task_polls_in(&path), first_polls);
    assert_eq!(task_polls_in(&numbered(&path, 2)), second_polls);
}

/// Run by `a_later_runtime_never_writes_over_an_earlier_timeline_and_says_where_it_writes`
/// with `GLASSBOX_TRACE_JSON` set: three runtimes on the one path, the first two alive
/// at once, the third built after both were dropped. Prints each one's poll count.
#[test]
#[ignore = "run as a child process by the test below"]
fn child_runs_three_runtimes_on_one_timeline_path() {
    if std::env::var_os("GLASSBOX_TRACE_JSON").is_none() {
        return;
    }
    let run = |rt: &mut Runtime| {
        rt.block_on(yielders(2, 50));
        rt.metrics().polls
    };
    let (mut first, mut second) = (Runtime::new().unwrap(), Runtime::new().unwrap());
    let polls = [run(&mut first), run(&mut second)];
    drop((first, second));
    let third = run(&mut Runtime::new().unwrap());
    println!("POLLS {} {} {third}", polls[0], polls[1]);
}

#[test]
fn a_later_runtime_never_writes_over_an_earlier_timeline_and_says_where_it_writes() {
    let _hang = hang_guard::start();
    let path = temp_path("timeline-three-runtimes");
    let child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "child_runs_three_runtimes_on_one_timeline_path",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("GLASSBOX_TRACE_JSON", &path)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&child.stdout);
    let stderr = String::from_utf8_lossy(&child.stderr);
    assert!(child.status.success(), "{stdout}\n{stderr}");
    let polls: Vec<u64> = stdout
        .lines()
        .find_map(|line| line.split_once("POLLS ").map(|(_, polls)| polls))
        .unwrap_or_else(|| panic!("the child said nothing: {stdout}"))
        .split(' ')
        .map(|n| n.parse().unwrap())
        .collect();
    let files = [path.clone(), numbered(&path, 2), numbered(&path, 3)];
    // Each later runtime said where its timeline went, naming the setting.
    for file in &files[1..] {
        assert!(
            stderr.contains(&format!("goes to {file:?}"))
                && stderr.contains(&format!("GLASSBOX_TRACE_JSON={path:?}")),
            "stderr does not say {file:?} is written instead:\n{stderr}"
        );
    }
    // Each timeline is whole and holds its own runtime's polls, the first included.
    let found: Vec<u64> = files.iter().map(task_polls_in).collect();
    assert_eq!(found, polls);
}

/// Run by the full-disk tests below in a child process: files may grow to
/// `GLASSBOX_TIMELINE_FSIZE` bytes (`RLIMIT_FSIZE`), and a write past that fails with
/// `EFBIG` rather than kill the process (`SIGXFSZ` ignored), as a full disk fails
/// with `ENOSPC`. The program writes far more events than 100 kB.
#[test]
#[ignore = "run as a child process by the tests below"]
fn child_writes_a_timeline_past_its_file_size_limit() {
    let (Some(path), Ok(size)) = (
        std::env::var_os("GLASSBOX_TIMELINE_CHILD"),
        std::env::var("GLASSBOX_TIMELINE_FSIZE"),
    ) else {
        return;
    };
    let size = size.parse().unwrap();
    let limit = libc::rlimit {
        rlim_cur: size,
        rlim_max: size,
    };
    // SAFETY: `limit` is a valid rlimit for the duration of the call.
    let status = unsafe { libc::setrlimit(libc::RLIMIT_FSIZE, &limit) };
    assert_eq!(status, 0, "setrlimit: {}", std::io::Error::last_os_error());
    // SAFETY: ignoring a signal installs no handler: no code runs when it arrives.
    let previous = unsafe { libc::signal(libc::SIGXFSZ, libc::SIG_IGN) };
    assert_ne!(previous, libc::SIG_ERR);
    let mut rt = match Runtime::builder().trace_json(path).build() {
        Ok(rt) => rt,
        Err(error) => return println!("REFUSED {:?}: {error}", error.kind()),
    };
    rt.block_on(yielders(4, 2_000));
    // The run went on to its end (4 × 2,001 polls): the timeline stopped, not the
    // program.
    println!("RAN {} POLLS", rt.metrics().polls);
}

/// Runs `child_writes_a_timeline_past_its_file_size_limit` with files limited to
/// `size` bytes; returns its stdout and stderr.
fn run_with_file_size_limit(path: &PathBuf, size: u64) -> (String, String) {
    let child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "child_writes_a_timeline_past_its_file_size_limit",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("GLASSBOX_TIMELINE_CHILD", path)
        .env("GLASSBOX_TIMELINE_FSIZE", size.to_string())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&child.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&child.stderr).into_owned();
    assert!(
        child.status.success(),
        "{:?}\n{stdout}\n{stderr}",
        child.status
    );
    (stdout, stderr)
}

#[test]
fn a_full_disk_leaves_the_timeline_whole_and_says_why_on_stderr() {
    let _hang = hang_guard::start();
    let path = temp_path("timeline-full-disk");
    let (stdout, stderr) = run_with_file_size_limit(&path, 100_000);
    assert!(
        stdout.contains("RAN 8004 POLLS"),
        "the program should run to its end:\n{stdout}\n{stderr}"
    );
    let size = std::fs::metadata(&path).unwrap().len();
    assert!(size <= 100_000, "{size} bytes");
    // Cut back to the last whole flush, closed: it parses as it is, and holds the
    // polls of the flushes that fitted (at least one of 64 KiB).
    let polls = task_polls_in(&path);
    assert!((100..8_004).contains(&polls), "{polls} poll slices");
    // Said once: which file, and why.
    let said = format!("glassbox: the timeline {path:?} stopped: File too large");
    assert_eq!(stderr.matches(&said).count(), 1, "{stderr}");
}

#[test]
fn a_disk_too_full_for_the_timelines_header_refuses_the_runtime_naming_the_setting() {
    let _hang = hang_guard::start();
    let path = temp_path("timeline-no-room");
    // Room for 10 bytes: not even the header fits.
    let (stdout, stderr) = run_with_file_size_limit(&path, 10);
    let refused = format!("REFUSED FileTooLarge: Builder::trace_json({path:?}): the timeline");
    assert!(stdout.contains(&refused), "{stdout}\n{stderr}");
    // Nothing half-written is left behind.
    assert_eq!(std::fs::metadata(&path).unwrap().len(), 0);
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn a_timeline_path_that_cannot_be_created_fails_build_naming_the_setting_and_the_path() {
    let _hang = hang_guard::start();
    let path = std::env::temp_dir().join("glassbox-no-such-dir/timeline.json");
    let error = Runtime::builder().trace_json(&path).build().unwrap_err();
    // The OS's kind is kept, for a program that matches on it.
    assert_eq!(error.kind(), std::io::ErrorKind::NotFound);
    let message = error.to_string();
    assert!(
        message.starts_with(&format!("Builder::trace_json({path:?}): cannot create")),
        "{message}"
    );
    assert!(message.contains("No such file or directory"), "{message}");
}

/// How many `park` slices the timeline of `program` (run with the given clock) draws.
fn park_slices(name: &str, paused: bool, program: impl std::future::Future<Output = ()>) -> usize {
    let path = temp_path(name);
    let mut rt = Runtime::builder()
        .paused_clock(paused)
        .trace_json(&path)
        .build()
        .unwrap();
    rt.block_on(program);
    drop(rt);
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    let trace: Value = serde_json::from_str(&text).unwrap();
    phase(events_of(&trace), "X")
        .into_iter()
        .filter(|slice| slice["name"] == "park")
        .count()
}

#[test]
fn a_park_that_may_sleep_is_drawn_and_a_look_without_waiting_only_when_something_happens() {
    let _hang = hang_guard::start();
    // The loop sleeps in the reactor until the timer: that park is drawn, even empty.
    let sleeping = park_slices("timeline-park-sleeps", false, async {
        sleep(Duration::from_millis(5)).await;
    });
    assert!(sleeping >= 1, "the park until the timer is not drawn");
    // Only yields: every park only looks (work is ready), and nothing happens in it.
    let looking = park_slices("timeline-park-looks", true, yielders(3, 20));
    assert_eq!(looking, 0, "empty looks drawn as parks");
}
