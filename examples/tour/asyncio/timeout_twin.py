"""Twin of examples/tour/chapters/timeout.rs: deadlines with asyncio.timeout and
asyncio.wait_for, on the paused clock (paused_clock.py) but for the last one.

Prints one JSON object whose keys are the Rust chapter's scenario functions;
each value is written as the Rust chapter writes its cell, in asyncio's words
(`Err(TimeoutError)` where glassbox says `Err(deadline has elapsed)`).
"""

import asyncio
import json
import time

from paused_clock import ms, run_paused

# Duration::MAX, in seconds: the Rust scenario's "never".
DURATION_MAX = 18446744073709551615.999999999


def at(result, after):
    """A result and the virtual time it came at: `Ok('done') at 20 ms`."""
    return f"{result} at {ms(after):g} ms"


async def under_timeout(seconds, awaitable):
    """`Ok(value)` if `awaitable` ends within `seconds`, else `Err(TimeoutError)`."""
    try:
        async with asyncio.timeout(seconds):
            value = await awaitable
    except TimeoutError:
        return "Err(TimeoutError)"
    return f"Ok({value!r})".replace("'", '"')


async def job(seconds, value="done"):
    await asyncio.sleep(seconds)
    return value


async def job_under_timeout(job_ms, limit_ms):
    loop = asyncio.get_running_loop()
    start = loop.time()
    result = await under_timeout(limit_ms / 1000, job(job_ms / 1000))
    return at(result, loop.time() - start)


async def seven():
    return 7


async def zero_timeout():
    loop = asyncio.get_running_loop()
    start = loop.time()
    ready = at(await under_timeout(0, seven()), loop.time() - start)
    pending = await under_timeout(0, loop.create_future())
    return f"{ready}; {at(pending, loop.time() - start)}"


async def huge_timeout():
    loop = asyncio.get_running_loop()
    start = loop.time()
    return at(await under_timeout(DURATION_MAX, job(0.010)), loop.time() - start)


async def deadline_cancels_the_job():
    loop = asyncio.get_running_loop()
    start = loop.time()
    log = []

    async def logged_job():
        try:
            await asyncio.sleep(0.050)
        except asyncio.CancelledError:
            log.append("job cancelled")
            raise

    result = await under_timeout(0.020, logged_job())
    return f"{at(result, loop.time() - start)}; {', '.join(log) or 'job still alive'}"


async def cancelled_cleanup_awaits():
    loop = asyncio.get_running_loop()
    start = loop.time()
    cleaned = []

    async def job_with_cleanup():
        try:
            await asyncio.sleep(0.050)
        finally:
            # Cancelled: CancelledError is raised here, and the cleanup still awaits
            # (say, 10 ms to close a connection politely).
            await asyncio.sleep(0.010)
            cleaned.append(f"cleanup at {ms(loop.time() - start):g} ms, awaited 10 ms")

    result = await under_timeout(0.020, job_with_cleanup())
    assert result == "Err(TimeoutError)", result
    timed_out = f"timed out at {ms(loop.time() - start):g} ms"
    return f"{timed_out}; {', '.join(cleaned) or 'no cleanup ran'}"


async def fetch_with_default(limit, fetch, default):
    """The lesson's fetch_with_default: wait_for, and the default on TimeoutError."""
    try:
        return await asyncio.wait_for(fetch, timeout=limit)
    except asyncio.TimeoutError:
        return default


async def timeout_with_default():
    slow = await fetch_with_default(0.020, job(0.050, 105), 100)
    fast = await fetch_with_default(0.050, job(0.020, 105), 100)
    return f"slow: {slow}; fast: {fast}"


async def real_timeout_fires_after():
    """Real clock: how long a 20 ms timeout around a never-ready future takes."""
    start = time.monotonic()
    result = await under_timeout(0.020, asyncio.get_running_loop().create_future())
    assert result == "Err(TimeoutError)"
    return (time.monotonic() - start) * 1000


def main():
    return {
        "job_under_timeout_50_20": run_paused(job_under_timeout(50, 20)),
        "job_under_timeout_20_50": run_paused(job_under_timeout(20, 50)),
        "job_under_timeout_20_20": run_paused(job_under_timeout(20, 20)),
        "zero_timeout": run_paused(zero_timeout()),
        "huge_timeout": run_paused(huge_timeout()),
        "deadline_cancels_the_job": run_paused(deadline_cancels_the_job()),
        "cancelled_cleanup_awaits": run_paused(cancelled_cleanup_awaits()),
        "timeout_with_default": run_paused(timeout_with_default()),
        "real_timeout_fires_after_ms": asyncio.run(real_timeout_fires_after()),
    }


if __name__ == "__main__":
    print(json.dumps(main()))
