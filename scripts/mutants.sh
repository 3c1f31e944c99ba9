#!/usr/bin/env bash
# Mutation testing: how many plausible one-line bugs in the code where a bug hurts most
# do the workspace's tests catch? cargo-mutants makes each mutant (an operator flipped,
# a body replaced by a default, a condition negated), builds it in a scratch copy of the
# tree and runs the whole workspace's tests against it (with cargo-nextest, which runs
# the test binaries side by side; doc tests are left out: they exercise the API's
# examples, not the loop's edge cases).
#
#   scripts/mutants.sh                 every mutant of the files below (about 3 hours on 2 cores)
#   scripts/mutants.sh --shard 0/8     one eighth of them (run 0/8 … 7/8, any order)
#   scripts/mutants.sh --list          only list the mutants
#   scripts/mutants.sh --in-diff F     only the mutants on lines a diff (F) changed
#   MUTANTS_TARGET=90 scripts/mutants.sh   the caught share to reach, in % (default 90)
#   MUTANTS_JOBS=1 scripts/mutants.sh      mutants tested at once (default 2: both cores)
#   MUTANTS_CRATE=patterns scripts/mutants.sh   only that crate's files, tested by its own
#                                          tests and the root package's (the executor's
#                                          tests cannot see a patterns bug: a third faster)
#
# Extra arguments go to `cargo mutants`. Results land in target/mutants/mutants.out
# (outcomes.json, missed.txt, caught.txt, timeout.txt, unviable.txt); the script prints
# the counts per file and exits non-zero when the caught share of viable mutants
# (caught + timeout) / (caught + timeout + missed) is under the target. A timeout is
# a mutant whose tests ran past the limit: every test that waits on time, threads or
# sockets fails by name within seconds (tests/reliability_support `within`, the
# paused clock's virtual-year guard), so a hang is the mutant's own.
set -euo pipefail
cd "$(dirname "$0")/.."

for tool in cargo-mutants cargo-nextest; do
    if ! command -v "$tool" >/dev/null; then
        cargo install --locked "$tool"
    fi
done

files=(
    executor/src/event_loop/mod.rs executor/src/task/waker.rs executor/src/task/wake_flag.rs
    'executor/src/task/**' executor/src/time/timer.rs 'executor/src/time/wheel/**'
    executor/src/time/wheel.rs executor/src/io/reactor.rs executor/src/io/reactor/sources.rs
    executor/src/net/registration.rs executor/src/task/join.rs executor/src/coop.rs
    executor/src/net/stream.rs executor/src/net/async_fd.rs executor/src/net/split.rs
    executor/src/net/unix_address.rs executor/src/signal.rs executor/src/time/clock.rs
    executor/src/resources.rs executor/src/io/park_timer.rs executor/src/observe/watchdog.rs
    executor/src/observe/turn.rs executor/src/observe/timeline.rs executor/src/observe/timeline/file.rs
    executor/src/observe/mod.rs executor/src/observe/stall.rs executor/src/time/driver.rs
    executor/src/runtime.rs
    patterns/src/contain.rs
    patterns/src/wait_list.rs patterns/src/semaphore.rs 'patterns/src/semaphore/**'
    patterns/src/queue.rs 'patterns/src/queue/**' patterns/src/timeout.rs
    patterns/src/retry.rs 'patterns/src/retry/**' 'patterns/src/blocking/**'
)
file_args=()
for file in "${files[@]}"; do
    if [[ -z "${MUTANTS_CRATE:-}" || "$file" == "$MUTANTS_CRATE"/* ]]; then
        file_args+=(--file "$file")
    fi
done
if [[ ${#file_args[@]} -eq 0 ]]; then
    echo "mutants: MUTANTS_CRATE=$MUTANTS_CRATE names no crate in the list" >&2
    exit 2
fi
# The suites that catch executor bugs live in the root package, so the whole workspace
# tests an executor mutant; a patterns mutant needs only patterns' tests and the root's.
if [[ -n "${MUTANTS_CRATE:-}" && "$MUTANTS_CRATE" != executor ]]; then
    test_args=(--test-package "$MUTANTS_CRATE" --test-package glassbox)
else
    test_args=(--test-workspace=true)
fi

if [[ " $* " == *" --list "* ]]; then
    exec cargo mutants --workspace "${file_args[@]}" "$@"
fi

# --profile mutants: the test profile without debug info (Cargo.toml), to link faster.
# --jobs: 2 (both cores) by default; more would make healthy test runs look like hangs.
# GLASSBOX_HANG_SECS: tests/hang_guard fails a hung test by name after 30 s (no healthy
# test takes 5 s); NEXTEST_PROFILE: .config/nextest.toml's `mutants` profile stops at the
# first failing test and ends any test (with a guard or not) still running at 30 s. The
# workspace's tests take 20-40 s under load, so a mutant whose tests still run at 120 s
# is counted a timeout.
status=0
GLASSBOX_HANG_SECS=${GLASSBOX_HANG_SECS:-30} NEXTEST_PROFILE=mutants \
    cargo mutants --workspace "${test_args[@]}" "${file_args[@]}" \
    --test-tool nextest --profile mutants \
    --jobs "${MUTANTS_JOBS:-2}" --timeout 120 --build-timeout 600 \
    --output target/mutants "$@" || status=$?
# cargo-mutants exits 2 when a mutant was missed, 3 on a timeout: the counts decide.
if [[ $status -ne 0 && $status -ne 2 && $status -ne 3 ]]; then
    echo "mutants: cargo mutants failed (exit $status)" >&2
    exit "$status"
fi

python3 - "${MUTANTS_TARGET:-90}" <<'EOF'
import collections, json, sys

target = float(sys.argv[1])
with open("target/mutants/mutants.out/outcomes.json") as f:
    outcomes = json.load(f)["outcomes"]
per_file = collections.defaultdict(collections.Counter)
for outcome in outcomes:
    scenario = outcome["scenario"]
    if not isinstance(scenario, dict) or "Mutant" not in scenario:
        continue  # the baseline build and test
    summary = outcome["summary"]
    kind = {"CaughtMutant": "caught", "MissedMutant": "missed",
            "Timeout": "timeout", "Unviable": "unviable"}.get(summary, summary)
    per_file[scenario["Mutant"]["file"]][kind] += 1
total = collections.Counter()
print(f"{'file':<40} {'caught':>7} {'missed':>7} {'timeout':>8} {'unviable':>9}")
for file in sorted(per_file):
    c = per_file[file]
    total.update(c)
    print(f"{file:<40} {c['caught']:>7} {c['missed']:>7} {c['timeout']:>8} {c['unviable']:>9}")
print(f"{'total':<40} {total['caught']:>7} {total['missed']:>7} {total['timeout']:>8} {total['unviable']:>9}")
viable = total["caught"] + total["timeout"] + total["missed"]
score = 100.0 * (total["caught"] + total["timeout"]) / viable if viable else 100.0
print(f"caught {score:.1f}% of {viable} viable mutants (target {target:.0f}%)")
sys.exit(0 if score >= target else 1)
EOF
