//! Task names (`spawn_named`, asyncio's `create_task(name=…)`): tasks spawned on one
//! line tell themselves apart in the snapshot, the stall report and the trace.

mod hang_guard;

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use glassbox::{Runtime, StallReport, snapshot, spawn, spawn_named, yield_now};

#[test]
fn tasks_spawned_on_one_line_show_their_names_in_the_snapshot() {
    let _hang = hang_guard::start();
    let mut rt = Runtime::builder().paused_clock(true).build().unwrap();
    let shown = rt.block_on(async {
        let workers: Vec<_> = (1..=3)
            .map(|n| spawn_named(&format!("worker-{n}"), std::future::pending::<()>()))
            .collect();
        let plain = spawn(std::future::pending::<()>());
        yield_now().await;
        let snap = snapshot();
        let names: Vec<Option<String>> = snap.tasks.iter().map(|t| t.name.clone()).collect();
        assert_eq!(
            names,
            [
                Some("worker-1".to_string()),
                Some("worker-2".to_string()),
                Some("worker-3".to_string()),
                None
            ]
        );
        for worker in workers {
            worker.abort();
        }
        plain.abort();
        snap.to_string()
    });
    for n in 1..=3 {
        assert!(shown.contains(&format!("\"worker-{n}\" ")), "{shown}");
    }
}

#[test]
fn a_stall_report_names_the_named_task_that_blocked() {
    let _hang = hang_guard::start();
    let reports: Rc<RefCell<Vec<StallReport>>> = Rc::default();
    let mut rt = Runtime::builder()
        .stall_threshold(Some(Duration::from_millis(50)))
        .on_stall({
            let reports = reports.clone();
            move |report| reports.borrow_mut().push(report.clone())
        })
        .build()
        .unwrap();
    rt.block_on(async {
        let blocker = spawn_named("the-blocker", async {
            std::thread::sleep(Duration::from_millis(200));
        });
        blocker.await.unwrap();
    });
    let reports = reports.borrow();
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert_eq!(reports[0].task_name.as_deref(), Some("the-blocker"));
    assert!(
        reports[0].to_string().contains("\"the-blocker\""),
        "{}",
        reports[0]
    );
}

/// Run in a child process (the trace goes to stderr): see the test below.
#[test]
fn child_traces_a_named_task() {
    if std::env::var_os("GLASSBOX_NAMES_CHILD").is_none() {
        return;
    }
    let mut rt = Runtime::builder()
        .trace(true)
        .stall_threshold(None)
        .build()
        .unwrap();
    rt.block_on(async {
        spawn_named("consumer-1", yield_now()).await.unwrap();
    });
}

#[test]
fn the_trace_names_a_named_task_on_its_wake_and_poll_lines() {
    let _hang = hang_guard::start();
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["child_traces_a_named_task", "--exact", "--nocapture"])
        .env("GLASSBOX_NAMES_CHILD", "1")
        .env_remove("GLASSBOX_TRACE")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "the child failed:\n{stderr}");
    let has = |text: &str| stderr.lines().any(|line| line.contains(text));
    assert!(has("name   task=1 consumer-1"), "{stderr}");
    assert!(has("wake   task=1 (consumer-1) (local, by "), "{stderr}");
    assert!(
        has("poll   task=1 (consumer-1) -> ready (finished), began at "),
        "{stderr}"
    );
}
