"""Twin of examples/tour/chapters/order.rs: in what order do created, yielding
and woken tasks run on asyncio's loop?

Prints one JSON object with a key per Rust scenario, each written as the Rust
chapter writes it. asyncio has one way to yield, `await asyncio.sleep(0)`, so it
stands for both `yield_now` and a zero sleep. Same-deadline timers and the zero
sleep run on the paused clock (paused_clock.py), as in the Rust chapter.
"""

import asyncio
import json
import time

from paused_clock import run_paused


async def gather_log(names, body):
    """Creates a task per name running body(name, log); returns the log."""
    log = []
    await asyncio.gather(*(asyncio.create_task(body(name, log)) for name in names))
    return " ".join(log)


async def spawn_order():
    async def note(name, log):
        log.append(name)

    return await gather_log("abc", note)


async def take_turns():
    async def three_rounds(name, log):
        for round_ in range(1, 4):
            log.append(f"{name}{round_}")
            await asyncio.sleep(0)

    return await gather_log("abc", three_rounds)


async def timer_order():
    start = time.monotonic()

    async def sleeper(ms, log):
        await asyncio.sleep(ms / 1000)
        log.append(f"{ms}ms")

    order = await gather_log([30, 10, 20], sleeper)
    return order, (time.monotonic() - start) * 1000


async def same_deadline_order():
    loop = asyncio.get_running_loop()
    at = loop.time() + 0.010

    async def sleep_until(name, log):
        await asyncio.sleep(at - loop.time())
        log.append(name)

    return await gather_log("abc", sleep_until)


async def late_wake_order():
    loop = asyncio.get_running_loop()
    start = loop.time()

    async def sleep_until(name, at, log):
        await asyncio.sleep(at - loop.time())
        log.append(name)

    log = []
    tasks = [
        asyncio.create_task(sleep_until("a", start + 0.0509, log)),
        asyncio.create_task(sleep_until("b", start + 0.0501, log)),
    ]
    await asyncio.sleep(0)  # both timers are set
    time.sleep(0.060)  # the loop wakes late
    await asyncio.gather(*tasks)
    return " ".join(log)


async def spawner_runs_first():
    log = []

    async def child():
        log.append("child")

    task = asyncio.create_task(child())
    log.append("parent-before-await")
    await task
    log.append("parent-after-await")
    return " ".join(log)


def main():
    timers, took_ms = asyncio.run(timer_order())
    return {
        "spawn_order": asyncio.run(spawn_order()),
        "spawner_runs_first": asyncio.run(spawner_runs_first()),
        "timer_order": timers,
        "timers_took_ms": took_ms,
        "same_deadline_order": run_paused(same_deadline_order()),
        "late_wake_order": asyncio.run(late_wake_order()),
        "yield_interleaving": asyncio.run(take_turns()),
        "zero_sleep_interleaving": run_paused(take_turns()),
    }


if __name__ == "__main__":
    print(json.dumps(main()))
