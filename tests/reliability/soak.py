"""A bounded load test on loopback: mixed search, browse and index against ``visualsearch serve``.

``python -m tests.reliability.soak --duration 120 --concurrency 16`` starts ``visualsearch
serve`` in a subprocess with its own data directory, indexes a starter catalogue, warms up, then
runs ``concurrency`` shoppers (each a crowd of client IPs behind a trusted proxy, paced like busy
people) and one abusive client IP that ignores the rate limit. It reports requests, errors, p50/p99
per kind and the server's memory (RSS) before and after, waits for every accepted product to be
indexed, and exits non-zero unless: no errors (the abuser's 429s are the only intended refusals
and the abuser does get them), nothing accepted was lost, and memory stayed flat.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import random
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from PIL import Image, ImageEnhance

from tests.support.serve import ServeProcess
from visualsearch.services.catalog_files import FIELDS

DEMO = Path(__file__).resolve().parents[2] / "services" / "visualsearch" / "demo"
RATE_LIMIT_PER_MINUTE = 120
PEOPLE_PER_SHOPPER = 20  # each concurrent stream is a crowd: per-IP rates stay human
SHOPPER_MAX_RPS = 6.0
ABUSER_RPS = 15.0  # per connection; the abuser uses ABUSER_CONNECTIONS at once
ABUSER_CONNECTIONS = 3
MAX_RSS_GROWTH_MIB = 192.0  # warm-up of batch buffers and the bounded result cache
MAX_RSS_LATE_GROWTH_MIB = 32.0  # second half of the run: a leak keeps growing, a cache does not
LATE_GROWTH_MIN_SECONDS = 60.0


def rss_mib(pids: list[int]) -> float:
    """Resident memory of ``pids`` and their descendants, in MiB."""
    total, todo = 0, list(pids)
    while todo:
        current = todo.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            rss = [line for line in status.splitlines() if line.startswith("VmRSS:")]
            total += int(rss[0].split()[1]) if rss else 0
            for task in Path(f"/proc/{current}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total / 1024


def postgres_pids(data_dir: Path) -> list[int]:
    """The embedded PostgreSQL's postmaster (a daemon, not a child of serve)."""
    return [int(p.read_text().split()[0]) for p in data_dir.rglob("postmaster.pid")]


def jpeg_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, "JPEG", quality=88)
    return buffer.getvalue()


def catalog_images(count: int) -> list[tuple[dict[str, Any], bytes]]:
    rows = json.loads((DEMO / "catalogue.json").read_text())["products"][:count]
    return [(row, (DEMO / "images" / Path(row["image"]).name).read_bytes()) for row in rows]


def variant(data: bytes, rng: random.Random) -> bytes:
    """A shopper's photo of a product: cropped and re-lit, so most searches miss the cache."""
    image = Image.open(io.BytesIO(data)).convert("RGB")
    w, h = image.size
    dx, dy = rng.randint(0, w // 10), rng.randint(0, h // 10)
    image = image.crop((dx, dy, w - rng.randint(0, w // 10), h - rng.randint(0, h // 10)))
    return jpeg_bytes(ImageEnhance.Brightness(image).enhance(rng.uniform(0.8, 1.2)))


@dataclass
class Stats:
    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    limited: int = 0
    abuser_ok: int = 0
    accepted_jobs: dict[str, str] = field(default_factory=dict)

    def record(self, kind: str, seconds: float) -> None:
        self.latencies.setdefault(kind, []).append(seconds)

    def requests(self) -> int:
        return sum(len(v) for v in self.latencies.values()) + len(self.errors)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] if ordered else 0.0


class Load:
    def __init__(self, url: str, key: str, products: list[tuple[dict[str, Any], bytes]]) -> None:
        self.url = url
        self.key = key
        self.products = products
        self.ids = [row["product_id"] for row, _ in products]
        self.categories = sorted({row["category"] for row, _ in products})
        self.stats = Stats()
        self.counter = 0

    def form(self, row: dict[str, Any], product_id: str) -> dict[str, str]:
        fields = {f: str(row[f]) for f in FIELDS if f != "product_id" and row.get(f) is not None}
        return {"product_id": product_id, **fields}

    async def index(
        self, client: httpx.AsyncClient, product_id: str, row: dict[str, Any], data: bytes
    ) -> None:
        response = await client.post(
            "/index",
            data=self.form(row, product_id),
            files={"file": (f"{product_id}.jpg", data, "image/jpeg")},
            headers={"X-API-Key": self.key},
        )
        if response.status_code != 202:
            raise AssertionError(f"index {response.status_code}: {response.text[:200]}")
        self.stats.accepted_jobs[product_id] = response.json()["job_id"]

    async def one(self, client: httpx.AsyncClient, rng: random.Random, shopper: int) -> str:
        roll = rng.random()
        row, data = rng.choice(self.products)
        if roll < 0.40:
            image = data if rng.random() < 0.3 else variant(data, rng)
            response = await client.post(
                "/search",
                files={"file": ("q.jpg", image, "image/jpeg")},
                data={"top_k": str(rng.choice((6, 12, 24)))},
            )
            kind = "search"
        elif roll < 0.80:
            choice = rng.randrange(5)
            if choice == 0:
                params: dict[str, Any] = {"skip": rng.randrange(0, 40), "limit": 20}
                params["sort"] = rng.choice(("name", "price_asc", "price_desc", "rating"))
                if rng.random() < 0.5:
                    params["category"] = rng.choice(self.categories)
                response = await client.get("/products/", params=params)
            elif choice == 1:
                response = await client.get(f"/products/{rng.choice(self.ids)}")
            elif choice == 2:
                response = await client.get("/products/categories")
            elif choice == 3:
                response = await client.get("/info")
            else:
                product = (await client.get(f"/products/{rng.choice(self.ids)}")).json()
                response = await client.get(product["image_url"])
            kind = "browse"
        else:
            self.counter += 1
            await self.index(client, f"soak-{shopper}-{self.counter}", row, variant(data, rng))
            return "index"
        if response.status_code != 200:
            raise AssertionError(f"{kind} {response.status_code}: {response.text[:200]}")
        return kind

    async def shopper(self, number: int, until: float) -> None:
        rng = random.Random(number)
        async with httpx.AsyncClient(base_url=self.url, timeout=60) as client:
            while time.monotonic() < until:
                started = time.monotonic()
                person = rng.randrange(PEOPLE_PER_SHOPPER)
                client.headers["X-Forwarded-For"] = f"10.1.{number}.{person + 1}"
                try:
                    kind = await self.one(client, rng, number)
                    self.stats.record(kind, time.monotonic() - started)
                except (AssertionError, httpx.HTTPError) as exc:
                    self.stats.errors.append(f"{type(exc).__name__}: {exc}")
                pause = 1 / SHOPPER_MAX_RPS - (time.monotonic() - started)
                if pause > 0:
                    await asyncio.sleep(pause)

    async def abuser(self, until: float) -> None:
        headers = {"X-Forwarded-For": "10.66.6.6"}
        async with httpx.AsyncClient(base_url=self.url, headers=headers, timeout=60) as client:
            while time.monotonic() < until:
                started = time.monotonic()
                try:
                    response = await client.get("/products/", params={"limit": 1})
                    if response.status_code == 429:
                        self.stats.limited += 1
                    elif response.status_code == 200:
                        self.stats.abuser_ok += 1
                    else:
                        self.stats.errors.append(f"abuser got {response.status_code}")
                except httpx.HTTPError as exc:
                    self.stats.errors.append(f"abuser {type(exc).__name__}: {exc}")
                await asyncio.sleep(max(0.0, 1 / ABUSER_RPS - (time.monotonic() - started)))

    async def run(self, seconds: float, concurrency: int) -> None:
        until = time.monotonic() + seconds
        await asyncio.gather(
            *(self.shopper(i, until) for i in range(concurrency)),
            *(self.abuser(until) for _ in range(ABUSER_CONNECTIONS)),
        )

    async def wait_indexed(self, timeout: float) -> list[str]:
        """Wait until every row has its vector; the accepted products missing or not indexed.

        Few requests (the checker is one client IP and honours the rate limit): the counts in
        ``/info``, the dead-letter list and the accepted ids in batches.
        """
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(base_url=self.url, timeout=30) as client:

            async def get(path: str, **params: Any) -> Any:
                while True:
                    response = await client.get(path, params=params)
                    if response.status_code != 429:
                        response.raise_for_status()
                        return response.json()
                    await asyncio.sleep(float(response.headers.get("retry-after", "1")))

            while time.monotonic() < deadline:
                info = await get("/info")
                if info["vectors"] == info["products"]:
                    break
                await asyncio.sleep(1)
            problems = [
                f"dead letter {j['product_id']}: {j['error']}"
                for j in (await get("/index/dead-letters"))["jobs"]
            ]
            if info["vectors"] != info["products"]:
                problems.append(f"{info['products'] - info['vectors']} products without vector")
            wanted = list(self.stats.accepted_jobs)
            for start in range(0, len(wanted), 50):
                chunk = wanted[start : start + 50]
                found = {p["product_id"] for p in await get("/products/batch", ids=",".join(chunk))}
                problems += [f"{p} missing" for p in chunk if p not in found]
        return problems


async def soak(duration: float, concurrency: int, catalogue: int, workdir: Path) -> dict[str, Any]:
    serve = ServeProcess(
        workdir / "data",
        env={
            "VISUALSEARCH_MODEL": "efficientnet-lite0",
            "VISUALSEARCH_RATE_LIMIT_PER_MINUTE": str(RATE_LIMIT_PER_MINUTE),
            "VISUALSEARCH_TRUSTED_PROXIES": '["127.0.0.1"]',
            "VISUALSEARCH_LOG_LEVEL": "WARNING",
        },
        seed=False,
    )
    try:
        startup = serve.start(timeout=180)
        load = Load(serve.url, serve.api_key(), catalog_images(catalogue))
        async with httpx.AsyncClient(base_url=serve.url, timeout=60) as client:
            for row, data in load.products:
                await load.index(client, row["product_id"], row, data)
        if await load.wait_indexed(180):
            raise RuntimeError("the starter catalogue was not indexed")
        load.stats = Stats()
        await load.run(10.0, concurrency)  # warm-up: allocator arenas, batch buffers, pools
        await load.wait_indexed(120)
        warm_jobs = dict(load.stats.accepted_jobs)
        load.stats = Stats()
        load.stats.accepted_jobs = dict(warm_jobs)
        database = postgres_pids(serve.data_dir)
        before, db_before = rss_mib([serve.pid]), rss_mib(database)
        samples = [before]

        async def sample() -> None:
            while True:
                await asyncio.sleep(1)
                samples.append(rss_mib([serve.pid]))

        sampler = asyncio.create_task(sample())
        t0 = time.monotonic()
        await load.run(duration, concurrency)
        elapsed = time.monotonic() - t0
        sampler.cancel()
        lost = await load.wait_indexed(300)
        after, db_after = rss_mib([serve.pid]), rss_mib(database)
        everything = [v for values in load.stats.latencies.values() for v in values]
        return {
            "duration_s": round(elapsed, 1),
            "concurrency": concurrency,
            "startup_s": round(startup, 1),
            "requests": load.stats.requests() + load.stats.limited + load.stats.abuser_ok,
            "shopper_requests": load.stats.requests(),
            "requests_per_s": round(load.stats.requests() / elapsed, 1),
            "errors": len(load.stats.errors),
            "error_examples": load.stats.errors[:5],
            "intended_429": load.stats.limited,
            "abuser_served": load.stats.abuser_ok,
            "indexed_during_soak": len(load.stats.accepted_jobs) - len(warm_jobs),
            "lost_products": lost,
            "p50_ms": round(percentile(everything, 50) * 1000, 1),
            "p99_ms": round(percentile(everything, 99) * 1000, 1),
            "per_kind": {
                kind: {
                    "requests": len(values),
                    "p50_ms": round(percentile(values, 50) * 1000, 1),
                    "p99_ms": round(percentile(values, 99) * 1000, 1),
                }
                for kind, values in sorted(load.stats.latencies.items())
            },
            "rss_before_mib": round(before, 1),
            "rss_after_mib": round(after, 1),
            "rss_peak_mib": round(max(samples), 1),
            "rss_midway_mib": round(samples[len(samples) // 2], 1),
            # PostgreSQL's backends each count the shared buffers they touched: indicative only
            "postgres_rss_before_mib": round(db_before, 1),
            "postgres_rss_after_mib": round(db_after, 1),
        }
    finally:
        serve.stop()


def problems(report: dict[str, Any]) -> list[str]:
    """Why the soak failed (empty when it passed)."""
    found = []
    if report["errors"]:
        found.append(f"{report['errors']} errors, e.g. {report['error_examples']}")
    if report["intended_429"] == 0:
        found.append("the abusive client was never rate limited")
    if report["lost_products"]:
        found.append(f"accepted products not indexed: {report['lost_products'][:5]}")
    growth = report["rss_after_mib"] - report["rss_before_mib"]
    if growth > MAX_RSS_GROWTH_MIB:
        found.append(f"memory grew by {growth:.0f} MiB (limit {MAX_RSS_GROWTH_MIB:.0f})")
    late = report["rss_after_mib"] - report["rss_midway_mib"]
    # a short run cannot tell a late warm-up step (threads, batch buffers) from a leak
    if report["duration_s"] >= LATE_GROWTH_MIN_SECONDS and late > MAX_RSS_LATE_GROWTH_MIB:
        found.append(f"memory still grew by {late:.0f} MiB in the second half of the run")
    if not report["per_kind"].get("index") or not report["per_kind"].get("search"):
        found.append("the mix did not run (no search or no index requests)")
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=120, help="seconds of measured load")
    parser.add_argument("--concurrency", type=int, default=16, help="simultaneous shoppers")
    parser.add_argument("--catalogue", type=int, default=48, help="starter products")
    parser.add_argument("--report", type=Path, help="write the figures as JSON here too")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="vs-soak-") as tmp:
        report = asyncio.run(soak(args.duration, args.concurrency, args.catalogue, Path(tmp)))
    text = json.dumps(report, indent=2)
    print(text)
    if args.report:
        args.report.parent.mkdir(parents=True, exist_ok=True)
        args.report.write_text(text + "\n")
    failed = problems(report)
    for problem in failed:
        print(f"SOAK FAILED: {problem}", file=sys.stderr)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
