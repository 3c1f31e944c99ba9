"""Twin of examples/tour/chapters/retry.rs: a plain retry loop with exponential
backoff, the asyncio lesson's retry_with_backoff, on the paused clock.

The policy: first wait 100 ms, double each time, never more than 400 ms, at most
6 attempts; only transient failures are retried. Prints one JSON object with a
key per scenario (flaky, down, then_refused), each with the Rust `Attempts`'
fields: started_at_ms, and result as the Rust chapter writes it.
"""

import asyncio
import json

from paused_clock import ms, run_paused

FIRST_DELAY, FACTOR, MAX_DELAY, MAX_ATTEMPTS = 0.100, 2, 0.400, 6


class Transient(Exception):
    """Worth another try (a timeout, a 503)."""


class Permanent(Exception):
    """Not worth it (a 404, bad credentials)."""


async def retry_with_backoff(operation):
    """Try; on a transient error sleep the next delay and try again."""
    delay = FIRST_DELAY
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            return await operation()
        except Transient:
            if attempt == MAX_ATTEMPTS:
                raise
            await asyncio.sleep(delay)
            delay = min(delay * FACTOR, MAX_DELAY)


async def retried(fail):
    """An operation whose attempt n (from 1) raises fail(n), or succeeds if None."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    started_at = []

    async def operation():
        started_at.append(ms(loop.time() - start))
        attempt = len(started_at)
        failure = fail(attempt)
        if failure is not None:
            raise failure(attempt)
        return attempt

    try:
        result = f"Ok on attempt {await retry_with_backoff(operation)}"
    except (Transient, Permanent) as error:
        result = f"Err({type(error).__name__}) of attempt {error.args[0]}"
    return {"started_at_ms": started_at, "result": result}


SCENARIOS = {
    "flaky": lambda attempt: Transient if attempt <= 3 else None,
    "down": lambda attempt: Transient,
    "then_refused": lambda attempt: Transient if attempt == 1 else Permanent,
}


def main():
    return {name: run_paused(retried(fail)) for name, fail in SCENARIOS.items()}


if __name__ == "__main__":
    print(json.dumps(main()))
