"""Search p50 with and without a flood of shopper events (issue 22): ``python -m bench.events``.

One ``visualsearch serve`` (EfficientNet-Lite0, the demo catalogue, rate limit off so every
event is accepted and written). Image searches (cache misses: every upload is new) run in
interleaved rounds, quiet then under ``POST /events`` at 500 per second from a second client, so
both columns share the same moments of a noisy machine. The events are real: buffered by the
recorder and written to PostgreSQL in batches while the searches run. The figures replace this
benchmark's section of ``bench/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import threading
import time
from pathlib import Path

import httpx

from bench.machine import describe
from bench.search import one_search, unique_bodies
from bench.serve import Server
from bench.timing import percentiles

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
TITLE = "## Search p50 under a flood of shopper events (issue 22)"


class EventLoad:
    """``rate`` events per second against ``url`` from a thread of its own, until stopped."""

    def __init__(self, url: str, rate: float, search_id: str) -> None:
        self.url, self.rate, self.search_id = url, rate, search_id
        self.sent = 0
        self.statuses: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)

    async def _run(self) -> None:
        limits = httpx.Limits(max_connections=16)
        async with httpx.AsyncClient(base_url=self.url, timeout=30, limits=limits) as client:
            pending: set[asyncio.Task[None]] = set()
            start = time.perf_counter()
            while not self._stop.is_set():
                due = int((time.perf_counter() - start) * self.rate)
                while self.sent < due:
                    self.sent += 1
                    task = asyncio.create_task(self._one(client, self.sent))
                    pending.add(task)
                    task.add_done_callback(pending.discard)
                await asyncio.sleep(0.002)
            await asyncio.gather(*pending, return_exceptions=True)

    async def _one(self, client: httpx.AsyncClient, n: int) -> None:
        event = {
            "search_id": self.search_id,
            "type": "click",
            "product_id": f"demo-{n % 194 + 1:04d}",
            "position": n % 12 + 1,
            "tab_id": f"bench-{n % 1000:06d}",
        }
        response = await client.post("/events", json=event)
        self.statuses[response.status_code] = self.statuses.get(response.status_code, 0) + 1

    def __enter__(self) -> EventLoad:
        self._started = time.perf_counter()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.seconds = time.perf_counter() - self._started


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.events", description=__doc__)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--per-round", type=int, default=25)
    parser.add_argument("--rate", type=float, default=500.0)
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args()

    server = Server()
    server.start(timeout=server.start_timeout)
    try:
        server.wait_indexed(194, timeout=server.index_timeout)
        quiet: list[float] = []
        loaded: list[float] = []
        sent = seconds = 0.0
        statuses: dict[int, int] = {}
        with httpx.Client(base_url=server.url, timeout=60) as client:
            for body in unique_bodies(6, offset=50_000):  # warm-up
                one_search(client, body)
            search_id = client.get("/search", params={"q": "shoes"}).json()["search_id"]
            for r in range(args.rounds):
                bodies = unique_bodies(2 * args.per_round, offset=r * 1000)
                quiet += [one_search(client, b)[0] for b in bodies[: args.per_round]]
                with EventLoad(server.url, args.rate, search_id) as load:
                    time.sleep(0.5)  # the flood is on before the first search
                    loaded += [one_search(client, b)[0] for b in bodies[args.per_round :]]
                sent += load.sent
                seconds += load.seconds
                for code, n in load.statuses.items():
                    statuses[code] = statuses.get(code, 0) + n
            metrics = client.get("/metrics").text
    finally:
        server.stop()

    q, ld = percentiles(quiet), percentiles(loaded)
    dropped = sum(
        float(line.rsplit(" ", 1)[1])
        for line in metrics.splitlines()
        if line.startswith("visualsearch_insights_dropped_total{")
    )
    written = sum(
        float(line.rsplit(" ", 1)[1])
        for line in metrics.splitlines()
        if line.startswith('visualsearch_insights_written_total{what="event"}')
    )
    ratio = ld["p50"] / q["p50"]
    lines = [
        TITLE,
        "",
        *(f"- {line}" for line in describe()),
        "",
        "`python -m bench.events` (EfficientNet-Lite0, demo catalogue, "
        f"image searches, all cache misses), {args.rounds} interleaved rounds of "
        f"{args.per_round} searches quiet / {args.per_round} under load.",
        "",
        "| | p50 ms | p95 ms | mean ms | searches |",
        "|---|---:|---:|---:|---:|",
        f"| quiet | {q['p50']:.1f} | {q['p95']:.1f} | {q['mean']:.1f} | {len(quiet)} |",
        f"| under events | {ld['p50']:.1f} | {ld['p95']:.1f} | {ld['mean']:.1f} | {len(loaded)} |",
        "",
        f"Events sent: {int(sent)} in {seconds:.1f} s of load ({sent / max(seconds, 1e-9):.0f}/s "
        f"offered, target {args.rate:.0f}/s); answers {dict(sorted(statuses.items()))}; written "
        f"to PostgreSQL {int(written)}, dropped {int(dropped)}.",
        "",
        f"p50 under load / quiet: **{ratio:.2f}x** (target ≤ 1.10x: "
        f"{'met' if ratio <= 1.10 else '**missed**'}).",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    old = args.output.read_text() if args.output.exists() else ""
    if TITLE in old:
        head, _, rest = old.partition(TITLE)
        tail = rest[rest.find("\n## ") :] if "\n## " in rest else ""
        new = head + text + tail.lstrip("\n")
    else:
        new = old.rstrip("\n") + "\n\n" + text
    args.output.write_text(new)


if __name__ == "__main__":
    main()
