"""Avoid blocking calls: a heartbeat, a 200 ms job, three ways. The asyncio twin
of examples/blocking.rs.

Run it with `python3 examples/asyncio/blocking.py` (about a second and a half).

A heartbeat task ticks every 10 ms for 400 ms. At 50 ms a worker task does a
200 ms job, three ways:

1. `time.sleep(0.2)` inside the coroutine. The loop has one thread, and the task
   is holding it: the heartbeat misses about 20 ticks. asyncio's debug mode
   (`loop.set_debug(True)`, on here) logs the step on stderr once it returns:
   "Executing <Task ...> took 0.200 seconds" (glassbox's stall report).
2. `await asyncio.sleep(0.2)`. The task waits, the loop is free: no tick missed.
3. `await loop.run_in_executor(None, time.sleep, 0.2)`: the same blocking call, on
   a pool thread (glassbox's spawn_blocking). No tick missed either.

Each run prints the ticks seen, the longest gap between two, and a timeline with
one character per 10 ms: `|` a tick in that slot, `.` none, and `#` under it
while the job ran.
"""

import asyncio
import time

PERIOD, RUN_FOR, JOB_STARTS_AT, JOB = 0.010, 0.400, 0.050, 0.200

WAYS = {
    "thread": "time.sleep(0.2) inside the coroutine",
    "async": "await asyncio.sleep(0.2)",
    "executor": "await loop.run_in_executor(None, time.sleep, 0.2)",
}


async def heartbeat(start):
    """Ticks at every 10 ms mark until RUN_FOR; returns when each tick came."""
    ticks = []
    while (at := time.monotonic() - start) < RUN_FOR:
        ticks.append(at)
        # Aim at the next mark: a late tick does not drift the ones after it, and
        # ticks missed while the loop was held are skipped, not made up.
        await asyncio.sleep((int(at / PERIOD) + 1) * PERIOD - (time.monotonic() - start))
    return ticks


async def worker(way, start):
    """Waits until JOB_STARTS_AT, then does the job `way`'s way; returns when it
    started and ended."""
    await asyncio.sleep(JOB_STARTS_AT)
    begun = time.monotonic() - start
    if way == "thread":
        time.sleep(JOB)  # the mistake: nothing else runs until this returns
    elif way == "async":
        await asyncio.sleep(JOB)
    else:
        await asyncio.get_running_loop().run_in_executor(None, time.sleep, JOB)
    return begun, time.monotonic() - start


async def run(way):
    loop = asyncio.get_running_loop()
    loop.set_debug(True)
    loop.slow_callback_duration = 0.100  # glassbox's default stall threshold
    start = time.monotonic()
    beats = asyncio.create_task(heartbeat(start))
    job = await asyncio.create_task(worker(way, start))
    return await beats, job


def timeline(ticks, job):
    slots = int(RUN_FOR / PERIOD)
    beats = ["."] * slots
    for tick in ticks:
        if int(tick / PERIOD) < slots:
            beats[int(tick / PERIOD)] = "|"
    begun, ended = job
    bar = "".join("#" if begun < (slot + 1) * PERIOD and ended > slot * PERIOD else " " for slot in range(slots))
    return "".join(beats), bar.rstrip()


def main():
    print("A heartbeat ticks every 10 ms for 400 ms; at 50 ms a worker does a 200 ms job.\n")
    summary = []
    for number, (way, describe) in enumerate(WAYS.items(), 1):
        print(f"── run {number}: {describe} ──")
        ticks, job = asyncio.run(run(way))
        gap = max(b - a for a, b in zip(ticks, ticks[1:]))
        print(f"ticks: expected {int(RUN_FOR / PERIOD)}, seen {len(ticks)}; longest gap between ticks: {gap * 1000:.0f} ms")
        beats, bar = timeline(ticks, job)
        print("           0         100       200       300       400 ms")
        print(f"heartbeat  {beats}")
        print(f"job        {bar}\n")
        summary.append((describe, len(ticks), gap))
    print("── summary ──")
    print(f"{'the 200 ms job, done with':<54} {'ticks seen':>12} {'longest gap':>12}")
    for describe, seen, gap in summary:
        print(f"{describe:<54} {seen:>9}/{int(RUN_FOR / PERIOD):<2} {gap * 1000:>9.0f} ms")


if __name__ == "__main__":
    main()
