"""Twin of examples/tour/chapters/precision.rs: `await asyncio.sleep(0.00025)`
200 times, and how late each one ends.

asyncio's loop waits for its next timer in `selector.select(timeout)`, and on
Linux that is epoll, whose timeout is whole milliseconds: `EpollSelector`
rounds the wait up (`math.ceil(timeout * 1e3) * 1e-3`), so a 250 µs sleep waits
about a millisecond. It never ends early: a timer is due only once
`loop.time()` has reached its deadline.

Prints one JSON object: sleep_us (the duration asked for) and lateness_us, one
per sleep, measured from just before the sleep began (so a sleep that ended
early shows as negative).
"""

import asyncio
import json
import time

SLEEP, SLEEPS = 0.000250, 200


async def lateness():
    late = []
    for _ in range(SLEEPS):
        began = time.monotonic()
        await asyncio.sleep(SLEEP)
        late.append((time.monotonic() - began - SLEEP) * 1e6)
    return late


def main():
    return {"sleep_us": SLEEP * 1e6, "lateness_us": asyncio.run(lateness())}


if __name__ == "__main__":
    print(json.dumps(main()))
