"""A paused clock for asyncio: the twin of glassbox's `paused_clock(true)` and
tokio's `start_paused(true)`, which asyncio does not have built in.

`run_paused(main())` runs a coroutine on an event loop whose `time()` is virtual:
it starts at 0 and stands still while callbacks run. When the loop is about to
wait for its next timer and no socket is ready, the clock jumps to that timer
instead of waiting. So `asyncio.sleep(0.05)` takes no real time, and every
virtual time a scenario reads is exact, however loaded the machine is.

How it hooks in: `BaseEventLoop._run_once` asks its selector to wait
`timeout` seconds (the time to the next timer, or None if there is none). The
selector here polls the real one without waiting; if nothing is ready, it
advances the virtual clock by `timeout` and returns no events, and `_run_once`
then finds the timer due. Everything else is the standard selector event loop.

Ground rules
- Virtual time moves only while the loop is idle: never in the middle of a step.
- A ready socket is never skipped: the real selector is polled first.
- With no timer at all (`timeout is None`) the loop waits for real I/O, as an
  unpaused loop would.
"""

import asyncio


class _JumpToNextTimer:
    """Wraps the loop's selector: waits only as long as it takes to see that no
    socket is ready, then jumps the clock to the next timer."""

    def __init__(self, selector, loop):
        self._selector = selector
        self._loop = loop

    def select(self, timeout=None):
        if timeout is None:
            return self._selector.select(None)
        events = self._selector.select(0)
        if not events and timeout > 0:
            self._loop.advance(timeout)
        return events

    def __getattr__(self, name):
        # register, unregister, modify, get_key, get_map, close: the real selector's.
        return getattr(self._selector, name)


class PausedClockLoop(asyncio.SelectorEventLoop):
    """A selector event loop on virtual time."""

    def __init__(self):
        self._virtual_now = 0.0
        super().__init__()
        self._selector = _JumpToNextTimer(self._selector, self)

    def time(self):
        return self._virtual_now

    def advance(self, seconds):
        self._virtual_now += seconds


def run_paused(coroutine):
    """asyncio.run, on the paused clock."""
    with asyncio.Runner(loop_factory=PausedClockLoop) as runner:
        return runner.run(coroutine)


def ms(seconds):
    """Virtual seconds as whole-or-fractional milliseconds, exact to the microsecond
    (the jumps add floats, which can be a few ulps off)."""
    return round(seconds * 1000, 3)
