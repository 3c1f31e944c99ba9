"""Twin of examples/tour/chapters/semaphore.rs: 100 jobs through
asyncio.Semaphore(10), the lesson's rate limiter.

Each job, created in order, takes the semaphore with `async with`, works 1 to
5 ms (so permits come back out of order) and gives it back. Prints one JSON
object with the Rust `Admission`'s fields (order, max_concurrent,
permits_after, took_ms) and `closed`: asyncio.Semaphore has no close(), so that
scenario is written as an asyncio user would stop waiters: by cancelling them.
"""

import asyncio
import json
import time


async def admission(jobs, limit):
    start = time.monotonic()
    semaphore = asyncio.Semaphore(limit)
    order = []
    running = max_concurrent = 0

    async def job(number):
        nonlocal running, max_concurrent
        async with semaphore:
            order.append(number)
            running += 1
            max_concurrent = max(max_concurrent, running)
            await asyncio.sleep((1 + number % 5) / 1000)
            running -= 1

    await asyncio.gather(*(asyncio.create_task(job(number)) for number in range(jobs)))
    return {
        "order": order,
        "max_concurrent": max_concurrent,
        # asyncio.Semaphore has no public count of free permits; `_value` is it.
        "permits_after": semaphore._value,
        "took_ms": (time.monotonic() - start) * 1000,
    }


async def waiter_when_cancelled():
    """A task waiting on an exhausted semaphore, cancelled: what it gets."""
    semaphore = asyncio.Semaphore(0)
    waiter = asyncio.create_task(semaphore.acquire())
    await asyncio.sleep(0)  # let the waiter line up
    waiter.cancel()
    try:
        await waiter
        return "a permit"
    except asyncio.CancelledError:
        return "CancelledError (asyncio.Semaphore has no close)"


def main():
    observed = asyncio.run(admission(100, 10))
    observed["closed"] = asyncio.run(waiter_when_cancelled())
    return observed


if __name__ == "__main__":
    print(json.dumps(main()))
