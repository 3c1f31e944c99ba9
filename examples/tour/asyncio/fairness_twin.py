"""Twin of examples/tour/chapters/fairness.rs: a heartbeat beside a loop that is
never pending, on asyncio's loop.

asyncio has no cooperative budget. A coroutine gives the loop back only at an
await that really waits (a future not yet done); `await queue.put(x)` on a
queue with room, or `await queue.get()` on one with an item, completes without
yielding. So a loop of them keeps the thread, as glassbox's does with
`coop_budget(None)`. The socket loop reads 64 bytes at a time with
`StreamReader.read` from a peer (a thread) that never stops writing: a read
returns at once while the reader's buffer holds data, and waits, giving the
loop back, each time the buffer runs dry.

Last, a step that never awaits: debug mode (`loop.set_debug(True)`, with
`slow_callback_duration` at the Rust chapter's 50 ms threshold) logs it, but
only once the step has returned.

Prints one JSON object: `queue` and `socket`, each with the Rust `Run`'s fields
(ticks_ms, hot_ms, rounds; forced_yields is null: there is no budget to count),
and `spin` (spun_ms, reported_ms: how long debug mode said each slow step ran,
and while_running: false, since the report comes after the step).
"""

import asyncio
import json
import logging
import socket
import threading
import time

PERIOD, RUN_FOR, READ, STALL_THRESHOLD, SPIN = 0.010, 0.300, 64, 0.050, 0.300


def peer_that_keeps_writing():
    """A thread that accepts one connection and writes 64 KiB chunks into it until
    the reader hangs up; returns the address to connect to."""
    listener = socket.create_server(("127.0.0.1", 0))

    def write_forever():
        peer, _ = listener.accept()
        listener.close()
        chunk = bytes(64 * 1024)
        try:
            while True:
                peer.sendall(chunk)
        except OSError:  # EPIPE or ECONNRESET, once the reader has closed
            peer.close()

    threading.Thread(target=write_forever, daemon=True).start()
    return listener.getsockname()


async def heartbeat_beside(hot):
    loop = asyncio.get_running_loop()
    if hot == "queue":
        queue = asyncio.Queue(1)

        async def round_():
            await queue.put(1)
            await queue.get()
    else:
        reader, writer = await asyncio.open_connection(*peer_that_keeps_writing())

        async def round_():
            assert await reader.read(READ), "the peer never stops writing"

    start = time.monotonic()
    since_start = lambda: time.monotonic() - start

    async def heartbeat():
        ticks = []
        while (at := since_start()) < RUN_FOR:
            ticks.append(at * 1000)
            # The mark after the last one served, even if it has passed: catch up.
            await asyncio.sleep(len(ticks) * PERIOD - since_start())
        return ticks

    async def hot_loop():
        begun, rounds = since_start(), 0
        while since_start() < RUN_FOR:
            await round_()
            rounds += 1
        return [begun * 1000, since_start() * 1000], rounds

    beats = asyncio.create_task(heartbeat())
    hot_ms, rounds = await asyncio.create_task(hot_loop())
    ticks = await beats
    if hot == "socket":
        writer.close()
    return {"ticks_ms": ticks, "hot_ms": hot_ms, "rounds": rounds, "forced_yields": None}


class SlowSteps(logging.Handler):
    """Collects how long each step that debug mode calls slow ran, in ms."""

    def __init__(self):
        super().__init__()
        self.took_ms = []

    def emit(self, record):
        if record.getMessage().startswith("Executing"):
            self.took_ms.append(record.args[-1] * 1000)


async def a_step_that_never_returns():
    loop = asyncio.get_running_loop()
    loop.set_debug(True)
    loop.slow_callback_duration = STALL_THRESHOLD

    async def spinner():
        begun = time.monotonic()
        while time.monotonic() - begun < SPIN:  # the mistake: no await in the loop
            pass
        return (time.monotonic() - begun) * 1000

    return await asyncio.create_task(spinner())


def main():
    observed = {hot: asyncio.run(heartbeat_beside(hot)) for hot in ("queue", "socket")}
    slow_steps = SlowSteps()
    logging.getLogger("asyncio").addHandler(slow_steps)
    spun_ms = asyncio.run(a_step_that_never_returns())
    observed["spin"] = {"spun_ms": spun_ms, "reported_ms": slow_steps.took_ms, "while_running": False}
    return observed


if __name__ == "__main__":
    print(json.dumps(main()))
