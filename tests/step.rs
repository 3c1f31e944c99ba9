//! Stepping the loop by hand: `Runtime::turn`, `Runtime::run_until_stalled`, and
//! what each `Turn` says it did.

mod hang_guard;

use std::time::Duration;

use glassbox::time::{self, Timer};
use glassbox::{ParkLimit, Runtime, Turn};

fn paused() -> Runtime {
    Runtime::builder().paused_clock(true).build().unwrap()
}

/// The polls of a turn as (task id, ready) pairs, in order.
fn polls(turn: &Turn) -> Vec<(u64, bool)> {
    turn.polls
        .iter()
        .map(|poll| (poll.task.to_string().parse().unwrap(), poll.ready))
        .collect()
}

#[test]
fn one_turn_polls_at_most_event_interval_tasks() {
    let _hang = hang_guard::start();
    let mut rt = Runtime::builder()
        .paused_clock(true)
        .event_interval(1)
        .build()
        .unwrap();
    let first = rt.spawn(async {});
    let second = rt.spawn(async {});

    let turn = rt.turn();
    assert_eq!(
        polls(&turn),
        [(1, true)],
        "one task per turn, the first spawned"
    );
    assert!(first.is_finished() && !second.is_finished());
    assert_eq!(turn.number, 1);

    let turn = rt.turn();
    assert_eq!(polls(&turn), [(2, true)]);
    assert!(second.is_finished());
}

/// Turns until one fires a timer; returns that turn and how many jumps came before.
fn turn_until_a_timer_fires(rt: &mut Runtime) -> (Turn, usize) {
    for jumps in 0.. {
        let turn = rt.turn();
        if !turn.timers.is_empty() {
            return (turn, jumps);
        }
        assert!(
            turn.clock_jump.is_some(),
            "a paused clock jumps toward the timer"
        );
    }
    unreachable!()
}

#[test]
fn a_fired_timer_shows_its_level_slot_and_no_lateness_on_a_paused_clock() {
    let _hang = hang_guard::start();
    let mut rt = paused();
    rt.spawn(async { Timer::after(Duration::from_millis(5)).await });

    let registers = rt.turn();
    assert_eq!(
        polls(&registers),
        [(1, false)],
        "the task parks on its timer"
    );
    assert!(registers.timers.is_empty());

    // 5,000 µs from tick 0 lands on level 2 (4,096 µs slots). The first turn already
    // jumps, to that slot's start, where the timer cascades lower; the next turn
    // jumps again and it fires.
    let (fires, jumps_before) = turn_until_a_timer_fires(&mut rt);
    assert_eq!(jumps_before, 1);
    assert_eq!(fires.clock_jump, Some(Duration::from_millis(5)));
    assert_eq!(fires.timers.len(), 1);
    let timer = &fires.timers[0];
    assert_eq!(timer.deadline, Duration::from_millis(5));
    assert_eq!((timer.level, timer.slot), (0, 8));
    assert_eq!(timer.late, Duration::ZERO);

    let finishes = rt.turn();
    assert_eq!(polls(&finishes), [(1, true)]);
    assert_eq!(finishes.park, ParkLimit::NoWait);
    assert!(
        rt.turn().is_idle(),
        "no task left: the turn returns at once"
    );
}

#[test]
fn run_until_stalled_stops_before_a_far_timer_and_leaves_the_paused_clock_alone() {
    let _hang = hang_guard::start();
    let mut rt = paused();
    let (sender, receiver) = std::sync::mpsc::channel();
    rt.spawn(async move {
        let start = time::now();
        Timer::after(Duration::from_secs(60)).await;
        sender.send(time::now() - start).unwrap();
    });
    rt.spawn(async { glassbox::yield_now().await });

    let turns = rt.run_until_stalled();
    // One turn: the sleeper parks, the yielder yields and, woken behind it in the
    // same batch, finishes. The next turn finds nothing to do and is left out.
    assert_eq!(turns.len(), 1);
    assert_eq!(polls(&turns[0]), [(1, false), (2, false), (2, true)]);
    assert_eq!(turns[0].park, ParkLimit::NoWait);
    assert_eq!(turns[0].clock_jump, None);
    assert_eq!(turns[0].ended_at, Duration::ZERO);
    assert!(receiver.try_recv().is_err(), "the sleeper is still parked");
    assert!(rt.run_until_stalled().is_empty(), "stalled stays stalled");

    // `turn` may wait, so a paused clock jumps (slot by slot) until the timer fires.
    let (fires, _) = turn_until_a_timer_fires(&mut rt);
    assert_eq!(fires.ended_at, Duration::from_secs(60));
    rt.run_until_stalled();
    assert_eq!(receiver.try_recv(), Ok(Duration::from_secs(60)));
}

#[test]
fn run_until_stalled_fires_a_timer_that_is_already_due() {
    let _hang = hang_guard::start();
    // A real clock: the timer comes due while the loop is not turning.
    let mut rt = Runtime::new().unwrap();
    rt.spawn(async { Timer::after(Duration::from_millis(1)).await });
    assert_eq!(
        rt.run_until_stalled().len(),
        1,
        "the task parks on its timer"
    );
    std::thread::sleep(Duration::from_millis(2));
    let turns = rt.run_until_stalled();
    assert_eq!(
        turns[0].timers.len(),
        1,
        "due by now: fired without waiting"
    );
    assert!(turns[0].timers[0].late >= Duration::from_millis(1));
    assert_eq!(polls(&turns[1]), [(1, true)]);
    assert_eq!(turns.len(), 2);
}

#[test]
fn a_turn_reads_as_aligned_lines() {
    let _hang = hang_guard::start();
    let mut rt = paused();
    let line = line!() + 1;
    rt.spawn(async { Timer::after(Duration::from_micros(40)).await });
    let text: String = (0..3).map(|_| format!("{:#}", rt.turn())).collect();
    let expected = "\
── turn 1 · 0.000 ms → 0.040 ms ──
polls  │ task 1 (tests/step.rs:LINE:8) Pending, its first poll
park   │ did not wait
clock  │ jumped to 0.040 ms (paused, nothing else could run)
timers │ 0.040 ms L0 s40 late 0.000 ms
── turn 2 · 0.040 ms → 0.040 ms ──
polls  │ task 1 (tests/step.rs:LINE:8) Ready, woken by the timer due 0.040 ms
park   │ did not wait
── turn 3 · 0.040 ms → 0.040 ms ──
park   │ did not wait
";
    assert_eq!(text, expected.replace("LINE", &line.to_string()));
}

#[test]
fn an_io_event_names_the_task_it_woke() {
    let _hang = hang_guard::start();
    let mut rt = paused();
    // Sockets register with the current runtime, so the pair is made inside it; the
    // writer sleeps, then writes, and the reader's readiness event wakes it.
    let reader_id = rt.block_on(async {
        let (writer, reader) = glassbox::net::UnixStream::pair().unwrap();
        let reader = glassbox::spawn(async move { reader.read(&mut [0; 4]).await });
        glassbox::spawn(async move {
            Timer::after(Duration::from_millis(1)).await;
            writer.write_all(b"ping").await.unwrap();
        });
        reader.id()
    });
    let woke = loop {
        let turn = rt.turn();
        if let Some(event) = turn.io.iter().find(|event| !event.woken.is_empty()) {
            break (event.clone(), turn.to_string());
        }
        assert!(!turn.is_idle(), "the write comes before the loop runs dry");
    };
    let (event, text) = woke;
    assert!(event.readable);
    assert_eq!(event.woken, [glassbox::Owner::Task(reader_id)]);
    let line = format!("io     │ token {} READABLE", event.token);
    assert!(text.contains(&line), "{text}");
    assert!(text.contains(&format!("→ task {reader_id}\n")), "{text}");
}

#[test]
fn a_turn_with_a_task_parked_on_a_socket_sleeps_until_its_event_and_one_with_none_does_not() {
    use std::future::Future;
    use std::io::Write;

    let _hang = hang_guard::start();
    let mut rt = paused();
    let (mut writer, reader) = std::os::unix::net::UnixStream::pair().unwrap();
    let reader = rt.block_on(async { glassbox::net::UnixStream::from_std(reader).unwrap() });
    // The task tells the writer when its read has parked; only then is the byte sent,
    // so the first turn always finds the task parked and nothing ready.
    let (parked, wait_until_parked) = std::sync::mpsc::channel();
    let reading = rt.spawn(async move {
        let mut byte = [0];
        let mut read = std::pin::pin!(reader.read(&mut byte));
        std::future::poll_fn(|cx| {
            let polled = read.as_mut().poll(cx);
            if polled.is_pending() {
                let _ = parked.send(());
            }
            polled
        })
        .await
    });
    let writing = std::thread::spawn(move || {
        wait_until_parked.recv().unwrap();
        writer.write_all(b"!").unwrap();
    });
    let first = rt.turn();
    assert_eq!(polls(&first), [(1, false)]);
    assert_eq!(
        first.park,
        ParkLimit::UntilEvent,
        "a task is alive and nothing is ready: the turn sleeps until an event\n{first}"
    );
    writing.join().unwrap();
    while !reading.is_finished() {
        rt.turn();
    }
    // No task left: a turn that slept now would sleep for ever.
    assert_eq!(rt.turn().park, ParkLimit::NoWait);
}

#[test]
fn io_events_say_which_ways_their_source_is_ready() {
    let _hang = hang_guard::start();
    let mut rt = paused();
    // A connected pair, fresh: each end can be written to and has nothing to read.
    let (a, b) = rt.block_on(async { glassbox::net::UnixStream::pair().unwrap() });
    let first = rt.run_until_stalled();
    let events: Vec<_> = first.iter().flat_map(|turn| turn.io.clone()).collect();
    assert_eq!(events.len(), 2, "{events:?}");
    for event in &events {
        assert!(event.writable && !event.readable, "{event:?}");
    }
    // A byte for `b`: its next event says readable.
    rt.block_on(a.write_all(b"!")).unwrap();
    let turns = rt.run_until_stalled();
    let events: Vec<_> = turns.iter().flat_map(|turn| turn.io.clone()).collect();
    assert!(
        events.iter().any(|event| event.readable),
        "no readable event after the write: {events:?}"
    );
    drop(b);
}

#[test]
fn a_turn_that_sleeps_until_a_timer_says_how_long_it_slept() {
    let _hang = hang_guard::start();
    let mut rt = Runtime::builder().build().unwrap(); // the real clock: the turn sleeps
    rt.spawn(async { Timer::after(Duration::from_millis(50)).await });
    let mut turn = rt.turn();
    // The first turn polls the task; under load its timer may already be due, so the
    // turn that sleeps is looked for, not assumed.
    while !matches!(turn.park, ParkLimit::UntilTimer(_)) && !turn.is_idle() {
        turn = rt.turn();
    }
    assert!(matches!(turn.park, ParkLimit::UntilTimer(_)), "{turn}");
    assert!(
        turn.parked_for > Duration::ZERO,
        "a sleep of no time: {turn}"
    );
}

#[test]
fn each_poll_of_a_turn_says_what_woke_the_task() {
    use glassbox::{Queue, WokenBy, yield_now};
    let _hang = hang_guard::start();
    let mut rt = paused();
    let queue = Queue::new(1);
    let consumer = {
        let queue = queue.clone();
        rt.spawn(async move { queue.get().await.unwrap() })
    };
    let consumer_id = consumer.id();
    let joiner = rt.spawn(async move { consumer.await.unwrap() });
    let producer = rt.spawn(async move {
        yield_now().await;
        queue.put("an item").await.unwrap();
    });
    let mut causes = Vec::new();
    let mut waits_ended = Vec::new();
    for turn in rt.run_until_stalled() {
        causes.extend(turn.polls.iter().map(|poll| (poll.task, poll.woken_by)));
        waits_ended.extend(
            turn.polls
                .iter()
                .filter_map(|poll| Some((poll.task, poll.waited_in?.what))),
        );
    }
    let (producer, joiner) = (producer.id(), joiner.id());
    assert_eq!(
        causes,
        [
            (consumer_id, Some(WokenBy::Spawn)),
            (joiner, Some(WokenBy::Spawn)),
            (producer, Some(WokenBy::Spawn)),
            (producer, Some(WokenBy::Itself)), // its yield_now
            (consumer_id, Some(WokenBy::Task(producer))), // the put handed it the item
            (joiner, Some(WokenBy::Task(consumer_id))), // the consumer finished
        ]
    );
    // Only the consumer had told its wait (a JoinHandle is found, not told).
    assert_eq!(waits_ended, [(consumer_id, "Queue::get")]);
}
