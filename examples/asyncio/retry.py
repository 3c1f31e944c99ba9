"""Retry with exponential backoff: the asyncio lesson's retry_with_backoff,
against a real (local) server that fails at first. The asyncio twin of
examples/retry.rs.

Run it with `python3 examples/asyncio/retry.py` (under a second).

The server (asyncio.start_server) answers `503` to its first three connections
and `200` afterwards. The loop waits 50, 100, 200 ms between attempts (factor 2)
and gives up after 5, as the Rust example's `Backoff` does; and, like its
`retry_if` predicate (and unlike the lesson's loop, which retries everything),
it retries only what is worth retrying: a 503 or a dropped connection.
"""

import asyncio
import time

FAILURES = 3  # connections the server answers with a 503 before it works
BASE_DELAY, FACTOR, MAX_ATTEMPTS = 0.050, 2, 5


class Unavailable(Exception):
    """503: the server is overloaded, worth another try."""


class Rejected(Exception):
    """Anything else the server said: retrying will not help."""


def flaky_server():
    served = 0

    async def answer(reader, writer):
        nonlocal served
        served += 1
        writer.write(b"503\n" if served <= FAILURES else b"200\n")
        await writer.drain()
        writer.close()

    return answer


async def fetch(address):
    """One attempt: connect, read the status line."""
    reader, writer = await asyncio.open_connection(*address)
    status = await reader.readexactly(4)
    writer.close()
    if status == b"200\n":
        return "the data"
    if status == b"503\n":
        raise Unavailable("503 service unavailable")
    raise Rejected(f"rejected with {status.decode().strip()}")


async def retry_with_backoff(coro_func, max_retries=MAX_ATTEMPTS, base_delay=BASE_DELAY):
    for attempt in range(max_retries):
        try:
            return await coro_func()
        except (Unavailable, OSError):
            if attempt == max_retries - 1:
                raise
            await asyncio.sleep(base_delay * FACTOR**attempt)


async def main():
    server = await asyncio.start_server(flaky_server(), "127.0.0.1", 0)
    address = server.sockets[0].getsockname()[:2]
    planned = [round(BASE_DELAY * FACTOR**n * 1000) for n in range(MAX_ATTEMPTS - 1)]
    print(f"backoff: waits of {planned} ms between at most {MAX_ATTEMPTS} attempts\n")

    started = time.monotonic()
    attempts = 0

    async def attempt():
        nonlocal attempts
        attempts += 1
        at = (time.monotonic() - started) * 1000
        try:
            data = await fetch(address)
        except Exception as error:
            print(f"attempt {attempts} at {at:>4.0f} ms: failed: {error}")
            raise
        print(f"attempt {attempts} at {at:>4.0f} ms: ok, got {data}")
        return data

    try:
        data = await retry_with_backoff(attempt)
        print(f"\nsucceeded after {attempts} attempts: {data}")
    except Exception as error:
        print(f"\ngave up after {attempts} attempts: {error}")
    server.close()


if __name__ == "__main__":
    asyncio.run(main())
