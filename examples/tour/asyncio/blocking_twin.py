"""Twin of examples/tour/chapters/blocking.rs: a heartbeat, and a 150 ms job done
three ways on asyncio's loop.

A heartbeat task ticks every 10 ms for 300 ms. At 50 ms a worker does a 150 ms
job: `time.sleep` inside the coroutine (the loop's one thread is held), `await
asyncio.sleep` (the loop runs on), and `await loop.run_in_executor(None,
time.sleep, ...)` (the call moves to a pool thread).

asyncio's own stall report is its debug mode: with `loop.set_debug(True)` every
callback or task step that runs longer than `loop.slow_callback_duration` is
logged ("Executing <Task ...> took 0.150 seconds") once it has returned. The
twin sets that to 100 ms, the threshold the Rust chapter gives glassbox.

Prints one JSON object with a key per way, each with the Rust `Run`'s fields in
milliseconds since the start: ticks_ms, job_ms (start, end), stalls_ms.
"""

import asyncio
import json
import logging
import time

PERIOD, RUN_FOR, JOB_STARTS_AT, JOB, STALL_THRESHOLD = 0.010, 0.300, 0.050, 0.150, 0.100


class SlowSteps(logging.Handler):
    """Collects how long each step that debug mode calls slow ran, in ms."""

    def __init__(self):
        super().__init__()
        self.took_ms = []

    def emit(self, record):
        if record.getMessage().startswith("Executing"):
            self.took_ms.append(record.args[-1] * 1000)


async def heartbeat_during_job(way):
    loop = asyncio.get_running_loop()
    loop.set_debug(True)
    loop.slow_callback_duration = STALL_THRESHOLD
    start = time.monotonic()
    since_start = lambda: time.monotonic() - start

    async def heartbeat():
        ticks = []
        while (at := since_start()) < RUN_FOR:
            ticks.append(at * 1000)
            # Aim at the next 10 ms mark: a late tick does not drift the ones after.
            await asyncio.sleep((int(at / PERIOD) + 1) * PERIOD - since_start())
        return ticks

    async def worker():
        await asyncio.sleep(JOB_STARTS_AT)
        if way == "thread_sleep_in_the_task":
            begun = since_start()
            time.sleep(JOB)  # the mistake: this step holds the loop's only thread
            return begun, since_start()
        if way == "async_sleep":
            begun = since_start()
            await asyncio.sleep(JOB)
            return begun, since_start()

        def job():  # on a pool thread
            begun = since_start()
            time.sleep(JOB)
            return begun, since_start()

        return await loop.run_in_executor(None, job)

    beats = asyncio.create_task(heartbeat())
    job_window = await asyncio.create_task(worker())
    return {"ticks_ms": await beats, "job_ms": [t * 1000 for t in job_window]}


def main():
    slow_steps = SlowSteps()
    logging.getLogger("asyncio").addHandler(slow_steps)
    observed = {}
    for way in ("thread_sleep_in_the_task", "async_sleep", "spawn_blocking"):
        slow_steps.took_ms = []
        observed[way] = asyncio.run(heartbeat_during_job(way))
        observed[way]["stalls_ms"] = slow_steps.took_ms
    return observed


if __name__ == "__main__":
    print(json.dumps(main()))
