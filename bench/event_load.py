"""A flood of ``POST /events`` from a process of its own, for ``bench.events``.

The generator has its own interpreter, event loop and CPU time, so it never shares the bench's
loop or GIL with the searches it is compared against. It speaks raw HTTP/1.1 over a few
keep-alive connections (a few microseconds of its own per event, next to the server's share),
paced to a target rate: event ``n`` is due ``n / rate`` seconds after the start, and a
connection that falls behind sends at once, so what it reports as achieved is what the server
answered, not what was hoped for. Stdlib only: the child imports nothing heavy.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import multiprocessing
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from urllib.parse import urlsplit

DEMO_PRODUCTS = 194


@dataclass
class LoadStats:
    """One loaded phase as the generator saw it."""

    seconds: float = 0.0
    sent: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    errors: int = 0
    cpu_seconds: float = 0.0

    @property
    def accepted(self) -> int:
        return self.statuses.get(202, 0)

    @property
    def achieved(self) -> float:
        """Events the server accepted (202) per second of load."""
        return self.accepted / self.seconds if self.seconds else 0.0

    def add(self, other: LoadStats) -> None:
        self.seconds += other.seconds
        self.sent += other.sent
        self.errors += other.errors
        self.cpu_seconds += other.cpu_seconds
        for code, n in other.statuses.items():
            self.statuses[code] = self.statuses.get(code, 0) + n


def _request(host: str, n: int, search_ids: list[str]) -> bytes:
    body = json.dumps(
        {
            "search_id": search_ids[n % len(search_ids)],
            "type": "click" if n % 10 else "add_to_cart",
            "product_id": f"demo-{n % DEMO_PRODUCTS + 1:04d}",
            "position": n % 12 + 1,
            "tab_id": f"bench-{n % 1000:06d}",
        }
    ).encode()
    head = (
        f"POST /events HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def _status(reader: asyncio.StreamReader) -> int:
    """Reads one response; its status code."""
    line = await reader.readline()
    if not line:
        raise ConnectionError("the server closed the connection")
    code = int(line.split()[1])
    length = 0
    while (header := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = header.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    await reader.readexactly(length)
    return code


async def _flood(
    url: str, rate: float, search_ids: list[str], connections: int, control: Connection
) -> LoadStats:
    """Events at ``rate`` per second until the parent says stop."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    stats = LoadStats()
    due = itertools.count()
    stopping = asyncio.Event()
    cpu, start = time.process_time(), time.perf_counter()

    async def connection() -> None:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while not stopping.is_set():
                n = next(due)
                delay = start + n / rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                if stopping.is_set():
                    return
                writer.write(_request(parts.netloc, n, search_ids))
                stats.sent += 1
                try:
                    code = await _status(reader)
                except (ConnectionError, asyncio.IncompleteReadError, ValueError, IndexError):
                    stats.errors += 1
                    writer.close()
                    reader, writer = await asyncio.open_connection(host, port)
                    continue
                stats.statuses[code] = stats.statuses.get(code, 0) + 1
        finally:
            writer.close()

    async def watch() -> None:
        asked = asyncio.Event()
        loop = asyncio.get_running_loop()
        loop.add_reader(control.fileno(), asked.set)  # the parent wrote "stop"
        try:
            await asked.wait()
        finally:
            loop.remove_reader(control.fileno())
        control.recv()
        stopping.set()

    watcher = asyncio.create_task(watch())
    await asyncio.gather(*(connection() for _ in range(connections)), return_exceptions=True)
    await watcher
    stats.seconds = time.perf_counter() - start
    stats.cpu_seconds = time.process_time() - cpu
    return stats


def _serve(
    control: Connection, url: str, rate: float, search_ids: list[str], connections: int
) -> None:
    """The child: ``go`` starts a flood, ``stop`` ends it and answers its stats, ``exit``."""
    while (command := control.recv()) != "exit":
        if command == "go":
            control.send("started")
            control.send(asyncio.run(_flood(url, rate, search_ids, connections, control)))


class EventLoad:
    """The generator process; ``start()`` and ``stop()`` one loaded phase at a time."""

    def __init__(self, url: str, rate: float, search_ids: list[str], connections: int = 16) -> None:
        context = multiprocessing.get_context("spawn")  # a fresh interpreter, nothing inherited
        self._control, child = context.Pipe()
        self._process = context.Process(
            target=_serve, args=(child, url, rate, search_ids, connections), daemon=True
        )

    def __enter__(self) -> EventLoad:
        self._process.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._control.send("exit")
        self._process.join(timeout=30)
        if self._process.is_alive():
            self._process.kill()

    def start(self) -> None:
        self._control.send("go")
        if self._control.recv() != "started":
            raise RuntimeError("the event generator did not start")

    def stop(self) -> LoadStats:
        self._control.send("stop")
        stats = self._control.recv()
        if not isinstance(stats, LoadStats):
            raise RuntimeError(f"the event generator answered {stats!r}")
        return stats
