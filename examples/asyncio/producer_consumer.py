"""Producers and consumers around asyncio.Queue: the asyncio lesson's snippet,
with timestamps. The asyncio twin of examples/producer_consumer.rs.

Run it with `python3 examples/asyncio/producer_consumer.py` (about a second).

Two producers put 5 items each, one every 100 ms, into a queue of at most 10;
three consumers take 200 ms over each item and mark it done. The main task
waits for the producers, then `join`s the queue (every item processed), then
cancels the consumers, which loop forever.
"""

import asyncio
import time

STARTED = time.monotonic()


def stamp():
    return f"[{time.monotonic() - STARTED:4.2f} s]"


async def producer(queue, name, n):
    for i in range(n):
        await queue.put(f"{name}-{i}")  # waits while the queue is full
        print(f"{stamp()} {name} produced {name}-{i}")
        await asyncio.sleep(0.1)


async def consumer(queue, name):
    while True:
        item = await queue.get()
        print(f"{stamp()} {name} consumed {item}")
        await asyncio.sleep(0.2)  # process the item
        queue.task_done()


async def main():
    queue = asyncio.Queue(maxsize=10)
    producers = [asyncio.create_task(producer(queue, f"P{i}", 5)) for i in range(2)]
    consumers = [asyncio.create_task(consumer(queue, f"C{i}")) for i in range(3)]

    await asyncio.gather(*producers)  # everything is queued...
    print(f"{stamp()} all produced; waiting for the queue to drain")
    await queue.join()  # ...and every item is processed
    print(f"{stamp()} queue joined: every item processed")

    for task in consumers:
        task.cancel()  # the consumers loop forever: stop them
    ended = await asyncio.gather(*consumers, return_exceptions=True)
    cancelled = sum(isinstance(end, asyncio.CancelledError) for end in ended)
    print(f"{stamp()} {cancelled} consumers cancelled")


if __name__ == "__main__":
    asyncio.run(main())
