"""Twin of examples/tour/chapters/echo.rs: a TCP echo server and its client on
one asyncio loop, with asyncio.start_server and asyncio.open_connection.

The client measures the round trip of a 64-byte message, pushes 64 KiB chunks
through and checks every byte that comes back, half-closes its side
(`write_eof`) and waits for the server to close; last, it connects to a port
nobody listens on. (asyncio's streams set TCP_NODELAY on their own.)

Prints one JSON object with the Rust `Echo`'s fields: round_trip_us,
bytes_per_sec, intact, half_close and refused (as the Rust chapter writes
them, in asyncio's words); and how much it did: round_trips, bulk_bytes.
"""

import asyncio
import json
import socket
import sys
import time

MESSAGE, CHUNK = 64, 64 * 1024
# A fifth of the Rust chapter's 5,000 round trips and 64 MiB: Python's streams are
# slower, and the tour waits for this twin.
ROUND_TRIPS, BULK_CHUNKS = 1_000, 256  # 16 MiB

_BY_OFFSET = bytes((offset * 31) & 0xFF for offset in range(CHUNK))


def pattern(chunk):
    """Chunk number `chunk`: byte `offset` is `offset * 31 ^ chunk * 131` (the Rust
    chapter's `pattern`), so a lost, repeated or reordered chunk shows."""
    key = (chunk * 131) & 0xFF
    return _BY_OFFSET.translate(bytes(byte ^ key for byte in range(256)))


async def echo(round_trips, bulk_chunks):
    server_saw_eof = False

    async def echo_until_eof(reader, writer):
        nonlocal server_saw_eof
        while data := await reader.read(CHUNK):
            writer.write(data)
            await writer.drain()
        server_saw_eof = True
        writer.close()

    server = await asyncio.start_server(echo_until_eof, "127.0.0.1", 0)
    reader, writer = await asyncio.open_connection(*server.sockets[0].getsockname()[:2])

    message = bytes([7]) * MESSAGE
    start = time.perf_counter()
    for _ in range(round_trips):
        writer.write(message)
        await reader.readexactly(MESSAGE)
    round_trip_us = (time.perf_counter() - start) / round_trips * 1e6

    intact = True
    start = time.perf_counter()
    for chunk in range(bulk_chunks):
        sent = pattern(chunk)
        writer.write(sent)
        intact &= await reader.readexactly(CHUNK) == sent
    bytes_per_sec = bulk_chunks * CHUNK / (time.perf_counter() - start)

    writer.write_eof()
    client_saw_eof = await reader.read(CHUNK) == b""
    half_close = f"server read EOF: {str(server_saw_eof).lower()}; client read EOF: {str(client_saw_eof).lower()}"
    writer.close()
    server.close()

    try:
        await asyncio.open_connection(*closed_port())
        refused = "connected"
    except OSError as error:
        refused = f"Err({type(error).__name__})"
    return {
        "round_trips": round_trips,
        "bulk_bytes": bulk_chunks * CHUNK,
        "round_trip_us": round_trip_us,
        "bytes_per_sec": bytes_per_sec,
        "intact": intact,
        "half_close": half_close,
        "refused": refused,
    }


def closed_port():
    """An address where, a moment ago, a listener was: now nobody listens there."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        return listener.getsockname()


def main():
    # `echo_twin.py ROUND_TRIPS BULK_CHUNKS` scales the scenario (the tests do).
    round_trips, bulk_chunks = map(int, sys.argv[1:3]) if len(sys.argv) > 2 else (ROUND_TRIPS, BULK_CHUNKS)
    return asyncio.run(echo(round_trips, bulk_chunks))


if __name__ == "__main__":
    print(json.dumps(main()))
