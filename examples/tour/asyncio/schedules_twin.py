"""Twin of examples/tour/chapters/schedules.rs: two withdrawals of 70 from 100,
each checking the balance, then awaiting (talking to the bank), then paying out;
the second starts two awaits later.

asyncio runs its ready callbacks first in, first out, so the first pays out before
the second checks, and the plain run passes: 30 left. asyncio has no way to try
other orders. Prints {"plain": …, "plain_fixed": …} as the Rust chapter writes them.
"""

import asyncio
import json

from paused_clock import run_paused


async def two_withdrawals(fixed):
    balance = 100

    async def withdraw(later):
        nonlocal balance
        if later:
            await asyncio.sleep(0)
            await asyncio.sleep(0)
        if fixed:
            if balance >= 70:
                balance -= 70
            await asyncio.sleep(0)
        elif balance >= 70:
            await asyncio.sleep(0)  # talk to the bank between the check and the payout
            balance -= 70

    first = asyncio.create_task(withdraw(False))
    second = asyncio.create_task(withdraw(True))
    await first
    await second
    return balance


def left_over(left):
    return f"{left} left: passes" if left >= 0 else f"{left}: overdrawn"


def main():
    return {
        "plain": left_over(run_paused(two_withdrawals(False))),
        "plain_fixed": left_over(run_paused(two_withdrawals(True))),
    }


if __name__ == "__main__":
    print(json.dumps(main()))
