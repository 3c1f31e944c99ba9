//! The recorded page (`Builder::record`, `GLASSBOX_RECORD`): one HTML file per run
//! that steps it forwards and backwards.
//!
//! Checked twice over. Here in Rust: each turn's state, rebuilt from the page's
//! keyframes and deltas as the page rebuilds it, equals what `Runtime::snapshot()`
//! said at the end of that turn of the same run; a paused-clock run records the same
//! bytes twice; the page reaches for no network. And in headless Chromium (when one
//! is installed; `tests/browser/mod.rs`): the page's own self-test walks every turn
//! forwards and backwards against Rust's digests, `?dump#turn=K` agrees with the
//! snapshot of turn K, and all that still holds with the network cut off.

mod browser;
mod hang_guard;

// The tour's queue and blocking chapters, compiled from its own files, recorded as
// `cargo run --example tour -- --record DIR` records them.
#[path = "../examples/support/accept_errors.rs"]
mod accept_errors;
#[path = "../examples/tour/asyncio.rs"]
#[allow(dead_code)]
mod asyncio;
#[path = "../examples/tour/chapters/blocking.rs"]
#[allow(dead_code)]
mod blocking;
#[path = "../examples/tour/chapters/queue.rs"]
#[allow(dead_code)]
mod queue;
#[path = "../examples/tour/report.rs"]
#[allow(dead_code)]
mod report;
#[path = "../examples/tour/shim/mod.rs"]
#[allow(dead_code, unused_imports)]
mod shim;

use std::path::{Path, PathBuf};
use std::time::Duration;

use glassbox::net::{TcpListener, TcpStream, UnixStream};
use glassbox::{Owner, Queue, Runtime, Semaphore, Snapshot, TaskId, TaskState, sleep, spawn};
use serde_json::{Value, json};

/// A page's path in the system's temp directory, the file removed when it goes.
struct Page(PathBuf);

impl Page {
    fn new(name: &str) -> Page {
        let dir = std::env::temp_dir().join(format!("glassbox-record-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Page(dir.join(format!("{name}.html")))
    }
}

impl std::ops::Deref for Page {
    type Target = Path;

    fn deref(&self) -> &Path {
        &self.0
    }
}

impl AsRef<Path> for Page {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}

impl Drop for Page {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// The run embedded in a page.
fn embedded_run(page: &Path) -> Value {
    let html = std::fs::read_to_string(page).unwrap();
    let open = r#"<script type="application/json" id="glassbox-run">"#;
    let start = html.find(open).expect("the run's data") + open.len();
    let end = start + html[start..].find("</script>").unwrap();
    serde_json::from_str(&html[start..end]).expect("the embedded run is JSON")
}

/// Applies a frame's delta to a state, as `viewer.js` does.
fn apply_delta(state: &mut Value, delta: &Value) {
    state["turn"] = delta["turn"].clone();
    for key in ["now_us", "ready", "timers", "io", "blocking_in_flight"] {
        if let Some(value) = delta.get(key) {
            state[key] = value.clone();
        }
    }
    let tasks = state["tasks"].as_array_mut().unwrap();
    if let Some(gone) = delta.get("tasks_gone") {
        tasks.retain(|task| !gone.as_array().unwrap().contains(&task["id"]));
    }
    for row in delta
        .get("tasks_set")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        match tasks.iter_mut().find(|task| task["id"] == row["id"]) {
            Some(task) => *task = row.clone(),
            None => tasks.push(row.clone()),
        }
    }
    tasks.sort_by_key(|task| task["id"].as_u64());
}

/// The state at the end of every recorded turn, rebuilt from keyframes and deltas.
fn rebuilt_states(run: &Value) -> Vec<Value> {
    let mut states: Vec<Value> = Vec::new();
    for frame in run["turns"].as_array().unwrap() {
        let state = match frame.get("state") {
            Some(state) => state.clone(),
            None => {
                let mut state = states.last().expect("a keyframe first").clone();
                apply_delta(&mut state, &frame["delta"]);
                state
            }
        };
        states.push(state);
    }
    states
}

/// A task id as the page writes it.
fn id(task: TaskId) -> u64 {
    task.to_string().parse().unwrap()
}

fn owner(owner: &Owner) -> Value {
    match owner {
        Owner::Task(task) => json!(id(*task)),
        Owner::BlockOn => json!("block_on"),
        _ => json!("foreign"),
    }
}

/// What `snapshot` says, in the page's words (the contract's keys), leaving out what
/// only the page knows: finished tasks and each source's interest.
fn expected_state(snapshot: &Snapshot) -> Value {
    let tasks: Vec<Value> = snapshot
        .tasks
        .iter()
        .map(|task| {
            json!({
                "id": id(task.id),
                "state": match task.state {
                    TaskState::Scheduled => "scheduled",
                    TaskState::Running => "running",
                    _ => "parked",
                },
                "polls": task.polls,
                "wakes": task.wakes,
                "spawned_at": task.spawned_at.to_string(),
            })
        })
        .collect();
    json!({
        "turn": snapshot.turns,
        "now_us": snapshot.now.as_micros() as u64,
        "ready": snapshot.ready.iter().map(|task| id(*task)).collect::<Vec<_>>(),
        "tasks": tasks,
        "timers": snapshot.timers.iter().map(|timer| json!({
            "deadline_us": timer.deadline.as_micros() as u64,
            "level": timer.level,
            "slot": timer.slot,
            "task": timer.owner.as_ref().map_or(Value::Null, owner),
        })).collect::<Vec<_>>(),
        "io": snapshot.io.iter().map(|source| json!({
            "token": source.token,
            "readable": source.readable,
            "writable": source.writable,
            "readers": source.readers.iter().map(owner).collect::<Vec<_>>(),
            "writers": source.writers.iter().map(owner).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "blocking_in_flight": snapshot.blocking_jobs,
    })
}

/// `state` (the page's) cut down to what [`expected_state`] holds.
fn comparable(state: &Value) -> Value {
    let mut state = state.clone();
    let tasks = state["tasks"].as_array_mut().unwrap();
    tasks.retain(|task| task["state"] != "finished");
    for task in tasks.iter_mut() {
        let task = task.as_object_mut().unwrap();
        task.remove("waits_on");
        task.remove("wait_site");
    }
    for source in state["io"].as_array_mut().unwrap() {
        source.as_object_mut().unwrap().remove("interest");
    }
    state
}

/// A paused-clock runtime recording to `page`.
fn paused_recording(page: &Path) -> Runtime {
    Runtime::builder()
        .paused_clock(true)
        .record(page)
        .build()
        .unwrap()
}

/// The step example's program (examples/step.rs), stepped turn by turn and recorded
/// to `page`: returns the snapshot taken at the end of each turn.
fn step_program(page: &Path) -> Vec<Snapshot> {
    let mut rt = paused_recording(page);
    let queue = Queue::new(1);
    rt.spawn(async move {
        let (writer, reader) = UnixStream::pair().unwrap();
        spawn(async move {
            let mut buf = [0; 4];
            reader.read_exact(&mut buf).await.unwrap();
        });
        sleep(Duration::from_micros(250)).await;
        writer.write_all(b"ping").await.unwrap();
    });
    let producer = queue.clone();
    rt.spawn(async move {
        sleep(Duration::from_millis(3)).await;
        producer.put("an item").await.unwrap();
    });
    rt.spawn(async move { queue.get().await.unwrap() });
    let mut snapshots = Vec::new();
    loop {
        rt.turn();
        let snapshot = rt.snapshot();
        let done = snapshot.tasks.is_empty();
        snapshots.push(snapshot);
        if done {
            return snapshots;
        }
    }
}

/// Producers, consumers and a semaphore under `block_on`.
fn patterns_program(page: &Path) {
    let mut rt = paused_recording(page);
    rt.block_on(async {
        let queue = Queue::new(2);
        let permits = std::rc::Rc::new(Semaphore::new(1));
        let consumers: Vec<_> = (0..2)
            .map(|_| {
                let (queue, permits) = (queue.clone(), permits.clone());
                spawn(async move {
                    while let Ok(_item) = queue.get().await {
                        let _permit = permits.acquire().await.unwrap();
                        sleep(Duration::from_millis(1)).await;
                        queue.task_done().unwrap();
                    }
                })
            })
            .collect();
        for item in 0..6 {
            queue.put(item).await.unwrap();
        }
        queue.join().await;
        queue.shutdown(false);
        for consumer in consumers {
            consumer.await.unwrap();
        }
    });
}

/// A job on the blocking pool beside a ticking task. Its end comes from another
/// thread, so which turn takes it in varies from run to run.
fn blocking_program(page: &Path) {
    let mut rt = paused_recording(page);
    rt.block_on(async {
        let ticks = spawn(async {
            for _ in 0..3 {
                sleep(Duration::from_millis(1)).await;
            }
        });
        let job = glassbox::spawn_blocking(|| {
            std::thread::sleep(Duration::from_millis(5));
            6 * 7
        });
        assert_eq!(job.await.unwrap(), 42);
        ticks.await.unwrap();
    });
}

/// An echo over TCP on the real clock: a listener, a client, a server task.
fn echo_program(page: &Path) {
    let mut rt = Runtime::builder().record(page).build().unwrap();
    rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let address = listener.local_addr().unwrap();
        let server = spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let mut buf = [0; 5];
            stream.read_exact(&mut buf).await.unwrap();
            stream.write_all(&buf).await.unwrap();
        });
        let client = TcpStream::connect(address).await.unwrap();
        client.write_all(b"hello").await.unwrap();
        let mut back = [0; 5];
        client.read_exact(&mut back).await.unwrap();
        assert_eq!(&back, b"hello");
        server.await.unwrap();
    });
}

/// A task that blocks the loop past the stall threshold, beside a heartbeat.
fn stall_program(page: &Path) {
    let mut rt = Runtime::builder()
        .stall_threshold(Some(Duration::from_millis(20)))
        .on_stall(|_| {})
        .on_live_stall(|_| {})
        .record(page)
        .build()
        .unwrap();
    rt.block_on(async {
        let heartbeat = spawn(async {
            for _ in 0..3 {
                sleep(Duration::from_millis(5)).await;
            }
        });
        spawn(async { std::thread::sleep(Duration::from_millis(60)) })
            .await
            .unwrap();
        heartbeat.await.unwrap();
    });
}

#[test]
fn each_recorded_turn_rebuilds_to_what_the_snapshot_said_at_its_end() {
    let _hang = hang_guard::start();
    let page = Page::new("step-states");
    let snapshots = step_program(&page);
    let run = embedded_run(&page);
    let states = rebuilt_states(&run);
    assert_eq!(states.len(), snapshots.len(), "one frame per turn");
    for (state, snapshot) in states.iter().zip(&snapshots) {
        assert_eq!(
            comparable(state),
            expected_state(snapshot),
            "turn {}",
            snapshot.turns
        );
    }
    // The page's own view: the consumer's wait, with its call site; the socket's
    // interest; a task that finished this turn.
    let all = serde_json::to_string(&states).unwrap();
    assert!(all.contains("\"wait_site\":\"tests/record.rs:"), "{all}");
    assert!(all.contains("Queue::get at tests/record.rs:"), "{all}");
    assert!(all.contains("\"interest\":\"readable, writable\""), "{all}");
    assert!(all.contains("\"state\":\"finished\""), "{all}");
}

#[test]
fn a_paused_clock_run_records_the_same_bytes_every_time() {
    let _hang = hang_guard::start();
    let pages = ["same-1", "same-2", "same-3", "same-4"].map(Page::new);
    step_program(&pages[0]);
    step_program(&pages[1]);
    patterns_program(&pages[2]);
    patterns_program(&pages[3]);
    let bytes = pages.each_ref().map(|page| std::fs::read(&**page).unwrap());
    assert!(
        bytes[0] == bytes[1],
        "the stepped run's two recordings differ"
    );
    assert!(
        bytes[2] == bytes[3],
        "the block_on run's two recordings differ"
    );
}

#[test]
fn the_page_needs_nothing_from_the_network() {
    let _hang = hang_guard::start();
    let page = Page::new("offline-markup");
    step_program(&page);
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(
        html.contains(
            r#"content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'""#
        ),
        "the content security policy allows nothing but the page's own script and style"
    );
    for reach in [
        "src=",
        "href=",
        "url(",
        "@import",
        "fetch(",
        "XMLHttpRequest",
        "import(",
        "http://",
        "https://",
    ] {
        assert!(!html.contains(reach), "the page reaches out with {reach:?}");
    }
    // The sources around each site are embedded, so the page needs no file either.
    let run = embedded_run(&page);
    let sources = run["sources"].as_object().unwrap();
    assert!(
        sources
            .keys()
            .any(|site| site.starts_with("tests/record.rs:")),
        "{sources:?}"
    );
}

#[test]
fn a_recording_cut_at_its_cap_says_where() {
    let _hang = hang_guard::start();
    let page = Page::new("cut");
    let mut rt = Runtime::builder()
        .paused_clock(true)
        .record(page.to_path_buf())
        .build()
        .unwrap();
    rt.block_on(async {
        // One turn per yield: past the cap of 50,000 turns.
        for _ in 0..50_100 {
            glassbox::yield_now().await;
        }
    });
    drop(rt);
    let run = embedded_run(&page);
    assert_eq!(run["turns"].as_array().unwrap().len(), 50_000);
    let cut = run["cut"].as_str().expect("the page says it was cut");
    assert!(cut.contains("after turn 50000"), "{cut}");
}

#[test]
fn glassbox_record_names_the_page_and_a_second_runtime_gets_a_numbered_one() {
    let _hang = hang_guard::start();
    let page = Page::new("numbered");
    let first = Runtime::builder()
        .record(page.to_path_buf())
        .build()
        .unwrap();
    let second = Runtime::builder()
        .record(page.to_path_buf())
        .build()
        .unwrap();
    drop((first, second));
    assert!(page.is_file());
    let numbered = Page(page.with_file_name("numbered.2.html"));
    assert!(numbered.is_file());
}

// === in a real browser ===

#[test]
fn the_page_steps_every_recorded_run_forwards_and_back_in_chromium() {
    let _hang = hang_guard::start();
    let Some(chromium) = browser::chromium() else {
        return;
    };
    type Program = fn(&Path);
    let runs: [(&str, Program); 5] = [
        ("browser-step", |page| drop(step_program(page))),
        ("browser-patterns", patterns_program),
        ("browser-blocking", blocking_program),
        ("browser-echo", echo_program),
        ("browser-stall", stall_program),
    ];
    for (name, program) in runs {
        let page = Page::new(name);
        program(&page);
        let run = embedded_run(&page);
        let turns = run["turns"].as_array().unwrap().len();
        assert!(turns > 0, "{name}: no turn recorded");
        let stalls = run["turns"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|frame| frame["events"].as_array().unwrap())
            .filter(|event| event["stall"] == true)
            .count();
        assert_eq!(
            stalls,
            usize::from(name == "browser-stall"),
            "{name}: stalls marked"
        );
        let dom = browser::dump_dom(&chromium, &page, "?selftest", false);
        assert_eq!(
            browser::pre_text(&dom, "glassbox-selftest"),
            format!("pass {turns} turns forward, {turns} back"),
            "{name}"
        );
    }
}

#[test]
fn the_tours_queue_and_blocking_chapters_record_pages_that_pass_their_self_test() {
    let _hang = hang_guard::start();
    let dir = std::env::temp_dir().join(format!("glassbox-record-tour-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    shim::glassbox::record_to(Some(dir.join("queue.html")));
    queue::run(asyncio::Twin::Off);
    shim::glassbox::record_to(Some(dir.join("blocking.html")));
    blocking::run(asyncio::Twin::Off);
    shim::glassbox::record_to(None);
    let pages: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    let turns = |page: &Path| embedded_run(page)["turns"].as_array().unwrap().len();
    for chapter in ["queue", "blocking"] {
        let recorded = pages.iter().filter(|page| {
            let name = page.file_name().unwrap().to_str().unwrap();
            name.starts_with(chapter) && turns(page) > 0
        });
        assert!(recorded.count() >= 2, "{chapter}: {pages:?}");
    }
    if let Some(chromium) = browser::chromium() {
        for page in &pages {
            let dom = browser::dump_dom(&chromium, page, "?selftest", false);
            let turns = turns(page);
            assert_eq!(
                browser::pre_text(&dom, "glassbox-selftest"),
                format!("pass {turns} turns forward, {turns} back"),
                "{}",
                page.display()
            );
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_pages_dump_of_a_turn_is_what_the_snapshot_said_then() {
    let _hang = hang_guard::start();
    let Some(chromium) = browser::chromium() else {
        return;
    };
    let page = Page::new("browser-dump");
    let snapshots = step_program(&page);
    for snapshot in [&snapshots[0], &snapshots[3], snapshots.last().unwrap()] {
        let query = format!("?dump#turn={}", snapshot.turns);
        let dom = browser::dump_dom(&chromium, &page, &query, false);
        let dumped: Value =
            serde_json::from_str(&browser::pre_text(&dom, "glassbox-dump")).unwrap();
        assert_eq!(comparable(&dumped), expected_state(snapshot), "{query}");
    }
}

#[test]
fn with_the_network_cut_off_the_page_still_passes_its_self_test() {
    let _hang = hang_guard::start();
    let Some(chromium) = browser::chromium() else {
        return;
    };
    let page = Page::new("browser-offline");
    let turns = step_program(&page).len();
    let dom = browser::dump_dom(&chromium, &page, "?selftest", true);
    assert_eq!(
        browser::pre_text(&dom, "glassbox-selftest"),
        format!("pass {turns} turns forward, {turns} back")
    );
}

/// The explorer records the failing schedule (and only it) as a page.
#[test]
fn the_explorer_records_its_failing_schedule_as_a_page() {
    let _hang = hang_guard::start();
    let page = Page::new("explored-failure");
    let outcome = glassbox::explore::Explorer::new()
        .seeds(50)
        .record(page.to_path_buf())
        .run(|| async {
            let counter = std::rc::Rc::new(std::cell::Cell::new(0));
            let slow = {
                let counter = counter.clone();
                spawn(async move {
                    let read = counter.get();
                    glassbox::yield_now().await;
                    counter.set(read + 1);
                })
            };
            let quick = {
                let counter = counter.clone();
                spawn(async move {
                    glassbox::yield_now().await;
                    glassbox::yield_now().await;
                    counter.set(counter.get() + 1);
                })
            };
            slow.await.unwrap();
            quick.await.unwrap();
            assert_eq!(counter.get(), 2, "an update was lost");
        });
    let failure = outcome.failure().expect("the lost update is found");
    assert_eq!(failure.recorded(), Some(&*page));
    assert!(outcome.to_string().contains("recorded: "), "{outcome}");
    let turns = embedded_run(&page)["turns"].as_array().unwrap().len();
    assert!(turns > 0);
    if let Some(chromium) = browser::chromium() {
        let dom = browser::dump_dom(&chromium, &page, "?selftest", false);
        assert_eq!(
            browser::pre_text(&dom, "glassbox-selftest"),
            format!("pass {turns} turns forward, {turns} back")
        );
    }
}
