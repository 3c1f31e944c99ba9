"""Timeouts, three ways: the asyncio lesson's timeout snippets, as they are. The
asyncio twin of examples/timeouts.rs.

Run it with `python3 examples/asyncio/timeouts.py` (about 6 seconds: the
lesson's 2-second timeouts really wait, on the real clock).

1. `asyncio.wait_for`: one awaitable, one deadline; on timeout it is cancelled.
2. `async with asyncio.timeout(...)` (3.11+): one deadline around a whole block.
3. Timeout with a default: `fetch_with_default` returns `default` when the fetch
   is too slow (glassbox's `timeout_or`).
4. `wait_for(gather(*tasks))`: on timeout the gather is cancelled, and with it
   every task. This is where Rust differs: dropping a glassbox (or tokio)
   `JoinHandle` detaches its task, so the Rust example aborts them by hand.
"""

import asyncio
import time

STARTED = time.monotonic()


def at():
    return f"[{time.monotonic() - STARTED:5.2f} s]"


async def slow_operation():
    await asyncio.sleep(10)
    print("slow_operation finished")  # never printed: it is cancelled
    return "done"


async def fetch(url):
    """A stand-in for a network call whose latency depends on the host."""
    await asyncio.sleep(3 if "slow" in url else 0.2)
    return f"<html from {url}>"


async def fetch_with_default(url, default=None, timeout=5.0):
    try:
        return await asyncio.wait_for(fetch(url), timeout=timeout)
    except asyncio.TimeoutError:
        return default


async def main():
    # 1. wait_for: give one awaitable a deadline.
    try:
        result = await asyncio.wait_for(slow_operation(), timeout=2.0)
        print(f"{at()} 1. wait_for: got {result!r}")
    except asyncio.TimeoutError:
        print(f"{at()} 1. wait_for: Operation timed out")

    # 2. A deadline around a whole block.
    try:
        async with asyncio.timeout(2.0):
            result = await slow_operation()
            print(f"never reached: {result}")
    except TimeoutError:
        print(f"{at()} 2. async with timeout: Block timed out")

    # 3. Timeout with a default: a fast host answers, a slow one yields the default.
    for url in ["http://fast.example", "http://slow.example"]:
        page = await fetch_with_default(url, "<cached copy>", timeout=1.0)
        print(f"{at()} 3. fetch_with_default({url}) = {page}")

    # 4. wait_for on a gather of tasks: on timeout, the tasks are cancelled too.
    tasks = [asyncio.create_task(slow_operation()) for _ in range(3)]
    try:
        await asyncio.wait_for(asyncio.gather(*tasks), timeout=1.0)
    except TimeoutError:
        cancelled = sum(task.cancelled() for task in tasks)
        print(f"{at()} 4. wait_for(gather): timed out, {cancelled} of 3 tasks cancelled")


if __name__ == "__main__":
    asyncio.run(main())
