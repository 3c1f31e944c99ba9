"""Twin of examples/tour/chapters/queue.rs: asyncio.Queue with two producers and
three consumers, join, then cancel; and Python 3.13's shutdown.

Two producers put 10 items each into a queue of at most 5; three consumers get
items, work 1 ms on each and call task_done. The main task waits for the
producers, joins the queue, then cancels the consumers (parked in get by then).
On the paused clock (paused_clock.py), like the Rust chapter.

Prints one JSON object: the keys of the Rust chapter's `Run` (put, got,
done_at_join, max_qsize, cancelled, took_ms); `getters`, who got what when
consumers a, b and c parked in get in that order and 1, 2, 3 were put; and
`shutdown`, the shutdown scenarios as strings (drain, immediate, parked), or
{"skipped": why} before Python 3.13.
"""

import asyncio
import json
import sys

from paused_clock import ms, run_paused

MAXSIZE = 5


async def producers_and_consumers(per_producer):
    loop = asyncio.get_running_loop()
    start = loop.time()
    queue = asyncio.Queue(MAXSIZE)
    run = {"put": [], "got": [], "max_qsize": 0}
    done = 0

    async def consumer():
        nonlocal done
        while True:
            item = await queue.get()
            run["got"].append(item)
            await asyncio.sleep(0.001)  # the work
            done += 1
            queue.task_done()

    async def producer(first):
        for item in range(first, first + per_producer):
            run["put"].append(item)
            await queue.put(item)
            run["max_qsize"] = max(run["max_qsize"], queue.qsize())

    consumers = [asyncio.create_task(consumer()) for _ in range(3)]
    producers = [asyncio.create_task(producer(first)) for first in (0, 100)]
    await asyncio.gather(*producers)
    await queue.join()
    run["done_at_join"] = done
    run["took_ms"] = ms(loop.time() - start)
    for task in consumers:
        task.cancel()
    ended = await asyncio.gather(*consumers, return_exceptions=True)
    run["cancelled"] = sum(isinstance(end, asyncio.CancelledError) for end in ended)
    return run


async def getters_served_in_line_order():
    queue = asyncio.Queue(MAXSIZE)

    async def getter(name):
        return f"{name} got {await queue.get()}"

    getters = [asyncio.create_task(getter(name)) for name in "abc"]
    await asyncio.sleep(0)  # let them line up
    for item in (1, 2, 3):
        await queue.put(item)
    return ", ".join(await asyncio.gather(*getters))


async def get_or_error(queue):
    """What a get returned, as the Rust chapter writes it."""
    try:
        return f"Ok({await queue.get()})"
    except asyncio.QueueShutDown:
        return "Err(QueueShutDown)"


async def drain_after_shutdown():
    """Items 1 and 2 queued, then shutdown(immediate=False): a put fails, gets
    drain what is left, then fail."""
    queue = asyncio.Queue()
    queue.put_nowait(1)
    queue.put_nowait(2)
    queue.shutdown(immediate=False)
    try:
        await queue.put(3)
        put = "Ok"
    except asyncio.QueueShutDown:
        put = "Err(QueueShutDown)"
    gets = [await get_or_error(queue) for _ in range(3)]
    return f"put: {put}; gets: {', '.join(gets)}"


async def immediate_shutdown():
    """Items 1 and 2 queued, 1 got and not yet marked done, then
    shutdown(immediate=True): item 2 is removed and counts as done, so join returns
    after one task_done; a get fails."""
    queue = asyncio.Queue()
    queue.put_nowait(1)
    queue.put_nowait(2)
    got = queue.get_nowait()
    queue.shutdown(immediate=True)
    left = queue.qsize()
    queue.task_done()  # for item 1
    await queue.join()
    return f"got {got}; qsize after: {left}; join returned; get: {await get_or_error(queue)}"


async def parked_getter_woken():
    """A consumer parked in get on an empty queue, then shutdown(immediate=False):
    its get fails."""
    queue = asyncio.Queue()
    parked = asyncio.create_task(get_or_error(queue))
    await asyncio.sleep(0)  # let it park
    queue.shutdown(immediate=False)
    return f"parked get: {await parked}"


async def shutdown_scenarios():
    return {
        "drain": await drain_after_shutdown(),
        "immediate": await immediate_shutdown(),
        "parked": await parked_getter_woken(),
    }


def main():
    observed = run_paused(producers_and_consumers(10))
    observed["getters"] = run_paused(getters_served_in_line_order())
    if hasattr(asyncio.Queue, "shutdown"):
        observed["shutdown"] = run_paused(shutdown_scenarios())
    else:
        version = ".".join(map(str, sys.version_info[:3]))
        observed["shutdown"] = {"skipped": f"Queue.shutdown needs Python 3.13 (this is {version})"}
    return observed


if __name__ == "__main__":
    print(json.dumps(main()))
