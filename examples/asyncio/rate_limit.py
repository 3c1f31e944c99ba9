"""Rate limiting with a semaphore: the asyncio lesson's snippet, against a real
(local) server. The asyncio twin of examples/rate_limit.rs.

Run it with `python3 examples/asyncio/rate_limit.py` (about half a second).

100 requests, at most 10 at once: `fetch(url)` is one TCP request to a small
server started in the same program (asyncio.start_server), which takes 50 ms to
answer and counts how many connections it serves at once. The most it saw is
the proof that the semaphore limited the clients.
"""

import asyncio
import time

REQUESTS, LIMIT, SERVICE_TIME = 100, 10, 0.050


class Concurrency:
    """What the server saw: connections being served now, and the most at once."""

    now = most = 0


async def serve(reader, writer, seen):
    seen.now += 1
    seen.most = max(seen.most, seen.now)
    try:
        await reader.readexactly(8)  # the request: "GET  42\n"
        await asyncio.sleep(SERVICE_TIME)  # the work: an async wait, not a blocking one
        writer.write(b"200 OK\n")
        await writer.drain()
    finally:
        seen.now -= 1
        writer.close()


async def fetch(address, request_id):
    """One request, one connection."""
    reader, writer = await asyncio.open_connection(*address)
    writer.write(f"GET {request_id:>3}\n".encode())
    reply = await reader.readexactly(7)
    writer.close()
    return reply.decode().strip()


async def fetch_with_limit(semaphore, address, request_id):
    async with semaphore:  # at most LIMIT requests in flight
        return await fetch(address, request_id)


async def main():
    seen = Concurrency()
    server = await asyncio.start_server(lambda r, w: serve(r, w, seen), "127.0.0.1", 0)
    address = server.sockets[0].getsockname()[:2]

    started = time.monotonic()
    semaphore = asyncio.Semaphore(LIMIT)
    tasks = [fetch_with_limit(semaphore, address, i) for i in range(REQUESTS)]
    results = await asyncio.gather(*tasks)
    elapsed = time.monotonic() - started
    server.close()

    ok = sum(result == "200 OK" for result in results)
    waves = REQUESTS // LIMIT
    print(f"{REQUESTS} requests, at most {LIMIT} at once (asyncio.Semaphore({LIMIT}))")
    print(f"  answered 200 OK:              {ok}/{REQUESTS}")
    print(f"  most connections at once:    {seen.most} (seen by the server)")
    print(
        f"  total time:                   {elapsed * 1000:.0f} ms (each request takes "
        f"{SERVICE_TIME * 1000:.0f} ms: {waves} waves of {LIMIT} ≈ {waves * SERVICE_TIME * 1000:.0f} ms)"
    )
    assert seen.most <= LIMIT, f"the semaphore let more than {LIMIT} through"


if __name__ == "__main__":
    asyncio.run(main())
