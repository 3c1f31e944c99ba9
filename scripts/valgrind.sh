#!/usr/bin/env bash
# Runs the tests that exercise glassbox's unsafe code under valgrind memcheck: the
# task cell and its raw waker (executor/src/task/), the pin projection in
# patterns/src/timeout.rs, the stall watchdog's two (executor/src/observe/thread_cpu.rs, the
# spawn site read back in watchdog.rs), the coarse poll clock (observe/poll_clock.rs), the timerfd (executor/src/io/park_timer.rs), the
# signal handler's registration (executor/src/signal.rs) and AsyncFd's fcntl
# (executor/src/net/async_fd.rs) and the snapshot naming a waker's task
# (executor/src/task/raw_waker.rs). Any memory error or definite leak fails the script.
#
#   executor_task_cells, executor_tasks,   the task cell: output slot, drop order,
#   executor_scheduling, reliability_panics  destructors and outputs that panic
#   executor_wakers, reliability_threads   the raw waker: cloned, woken and dropped on
#                                          other threads, racing completion, slot reuse
#                                          and the runtime's drop; the last reference
#                                          freeing the cell off the runtime's thread
#   timeout, reliability_cancellation      the Timeout projection; JoinHandles and
#                                          every public future dropped mid-flight
#   stall_watchdog                         the watchdog reading the loop thread's CPU
#                                          clock and the spawn site of a running poll;
#                                          polls timed on the coarse clock
#                                          (observe/poll_clock.rs, a 50 ms threshold)
#   precise_timers, signal, net_async_fd   timerfd_create/settime and CLOCK_MONOTONIC;
#                                          a handler writing to its pipe; F_GETFL
#   snapshot_owners, snapshot_warnings     a waker's task read back from its data
#                                          pointer (task/raw_waker.rs `header_of`)
#
# --fair-sched=yes: valgrind runs one thread at a time; without a fair lock a thread
# spinning on wakes can starve the one it waits for.
set -euo pipefail
cd "$(dirname "$0")/.."
# tests/hang_guard fails a test still running after 60 s; memcheck is 20-50x slower.
export GLASSBOX_HANG_SECS=1200
tests=(
    executor_task_cells executor_tasks executor_wakers executor_scheduling timeout
    reliability_panics reliability_threads reliability_cancellation stall_watchdog
    precise_timers signal net_async_fd snapshot_owners snapshot_warnings
)
cargo test --workspace --no-run
for name in "${tests[@]}"; do
    binary=$(ls -t target/debug/deps/"$name"-* | grep -v '\.d$' | head -1)
    echo "== $name ($binary)"
    valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
        --show-possibly-lost=no --fair-sched=yes -q \
        "$binary" --test-threads=1
done
echo "valgrind: no errors"
