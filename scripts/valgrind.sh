#!/usr/bin/env bash
# Runs the tests that exercise glassbox's unsafe code (the task cell and its raw
# waker, executor/src/task/; the pin projection in patterns/src/timeout.rs) under
# valgrind memcheck. Any memory error or definite
# leak fails the script.
set -euo pipefail
cd "$(dirname "$0")/.."
tests=(executor_task_cells executor_tasks executor_wakers executor_scheduling timeout)
cargo test --workspace --no-run
for name in "${tests[@]}"; do
    binary=$(ls -t target/debug/deps/"$name"-* | grep -v '\.d$' | head -1)
    echo "== $name ($binary)"
    valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite --show-possibly-lost=no -q \
        "$binary" --test-threads=1
done
echo "valgrind: no errors"
