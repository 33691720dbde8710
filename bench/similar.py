"""Similar products and the shopper's crop (issue 17): ``GET /products/{id}/similar`` decodes and
embeds nothing, so it should cost what a vector lookup and a search cost; a crop should cost no
more than the whole picture.

``python -m bench.similar [--quick] [--parts api,crop,stores] [--before REV]`` (or ``python -m
bench --only similar``) measures three
things, each comparison side by side in one run (the variants take turns, so a shared machine's
load falls on all of them alike):

1. **Through the real app**: ``visualsearch serve`` with the demo catalogue (EfficientNet-Lite0,
   the offline model, the one-machine mode: embedded PostgreSQL, Qdrant Edge, the memory result
   cache). For every demo product in turn: its similar products once (a cache miss: no product
   was asked before), again (a cache hit), and ``GET /products/{id}`` (one catalogue read: the
   HTTP and framework floor every request pays).
2. **The store's part at 10k and 100k vectors**: what the service asks of its vector store (the
   product's stored vector, then a search by it that leaves the product out: ``similar_hits``),
   against a plain search by a vector, through the product's adapters on ``bench.vectors``'
   clustered 512-dim vectors. Qdrant Edge at both sizes (loaded as a re-index loads it: the HNSW
   graph built once, at the commit); pgvector (embedded PostgreSQL) at 10k. Not the Qdrant
   adapter: no Qdrant server runs here, and its embedded mode (qdrant-client's local mode, a
   group-by in Python) took ~0.7 s a search at 3,000 vectors.
3. **Search with a crop against one without**: ``POST /search`` with the same uploads, with and
   without ``crop``, every upload new (cache misses), at the demo photos' size (320 px) and
   re-encoded at a phone photo's (1600 px), with the decode and embed stage means.

The section replaces its namesake in ``bench/RESULTS.md`` (``python -m bench`` writes it afresh).
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import numpy as np
from PIL import Image

from bench.indexing import demo_images, demo_rows, demo_size
from bench.machine import cores, describe
from bench.report import Report, replace_section
from bench.search import stage_delta, unique_bodies
from bench.serve import Server
from bench.timing import percentiles
from bench.vectors import DIM, dataset
from visualsearch.services.similar import similar_hits
from visualsearch.storage.vectors.base import VectorItem, VectorStore

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
TITLE = "Similar products and the shopper's crop (issue 17)"
TOP_K = 12
CROP = "0.2,0.15,0.6,0.7"
"""A box a shopper might drag around one object: 42 % of the picture, off centre."""
TARGET_DEMO_MS = 3.0
TARGET_100K_MS = 5.0


# -- 1. through the real app ------------------------------------------------------------------


def _get(client: httpx.Client, path: str, **params: int) -> tuple[float, dict]:
    start = time.perf_counter()
    response = client.get(path, params=params or None)
    elapsed = time.perf_counter() - start
    if response.status_code != 200:
        raise RuntimeError(f"GET {path} answered {response.status_code}: {response.text[:300]}")
    return elapsed, response.json()


def api_similar(servers: dict[str, Server], quick: bool) -> dict[str, dict[str, object]]:
    """Per demo product, interleaved: similar (miss), similar again (hit), the product itself,
    on each server in turn (the order turning every product)."""
    ids = [str(row["product_id"]) for row in demo_rows()]
    if quick:
        ids = ids[:60]
    clients = {label: httpx.Client(base_url=s.url, timeout=60) for label, s in servers.items()}
    times: dict[str, dict[str, list[float]]] = {
        label: {"miss": [], "hit": [], "product": []} for label in servers
    }
    try:
        for client in clients.values():
            for pid in ids[:5]:  # one-off costs (pools, lazy imports) on keys never timed
                _get(client, f"/products/{pid}/similar", top_k=TOP_K - 1)
                _get(client, f"/products/{pid}")
        before = {label: s.stages() for label, s in servers.items()}
        labels = list(servers)
        for n, pid in enumerate(ids):
            for label in labels if n % 2 == 0 else labels[::-1]:
                client, timing = clients[label], times[label]
                elapsed, body = _get(client, f"/products/{pid}/similar", top_k=TOP_K)
                returned = {r["product_id"] for r in body["results"]}
                if body["cache"] or body["count"] != TOP_K or pid in returned:
                    raise RuntimeError(f"similar({pid}): not a full, fresh page without it")
                timing["miss"].append(elapsed)
                elapsed, body = _get(client, f"/products/{pid}/similar", top_k=TOP_K)
                if not body["cache"]:
                    raise RuntimeError(f"similar({pid}) asked twice was not answered cached")
                timing["hit"].append(elapsed)
                timing["product"].append(_get(client, f"/products/{pid}")[0])
        stages = {label: stage_delta(before[label], s.stages()) for label, s in servers.items()}
    finally:
        for client in clients.values():
            client.close()
    return {
        label: {"times": times[label], "stages": stages[label], "products": len(ids)}
        for label in servers
    }


def revision_server(revision: str) -> tuple[Server, Path]:
    """A server running ``revision``'s ``services/`` (exported with ``git archive``) with this
    checkout's interpreter and packages: the same machine, the same moments, other code."""
    repo = Path(__file__).resolve().parents[1]
    directory = Path(tempfile.mkdtemp(prefix="bench-similar-rev-"))
    archive = subprocess.run(
        ["git", "-C", str(repo), "archive", revision, "services"],
        check=True,
        capture_output=True,
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(directory)], input=archive, check=True)
    path = os.pathsep.join([str(directory / "services"), str(repo / "operator"), str(repo)])
    return Server({"PYTHONPATH": path}), directory


# -- 2. the store's part at 10k and 100k --------------------------------------------------------


@contextmanager
def edge_graph_built_once() -> Iterator[None]:
    """While loading, Qdrant Edge's adapter folds new points into its graph only at the end (a
    re-index's commit optimises once): its every-1,000-points rebuild made a 100k load take
    ~7 minutes here (``bench.filtered``'s 419 s)."""
    from visualsearch.storage.vectors import qdrant_edge

    saved = qdrant_edge.OPTIMISE_EVERY
    qdrant_edge.OPTIMISE_EVERY = 1 << 62
    try:
        yield
    finally:
        qdrant_edge.OPTIMISE_EVERY = saved


async def load(store: VectorStore, points: np.ndarray) -> float:
    """The points as products ``0`` .. ``n-1`` (one image each), loaded through a re-index:
    ``begin_rebuild``, ``upsert`` in batches, ``commit_rebuild``. Seconds it took."""
    start = time.perf_counter()
    await store.ensure_collection(DIM)
    builder = await store.begin_rebuild(DIM)
    with edge_graph_built_once():
        for begin in range(0, len(points), 2000):
            await builder.upsert(
                [
                    VectorItem(str(i), points[i], f"c{i % 24}", f"b{i % 20}", 10.0, 1, f"h{i}")
                    for i in range(begin, min(begin + 2000, len(points)))
                ]
            )
    await store.commit_rebuild(builder)
    return time.perf_counter() - start


async def measure_store(
    store: VectorStore, points: np.ndarray, queries: np.ndarray, products: np.ndarray
) -> dict[str, object]:
    """Interleaved per query: ``similar`` (the one call the service makes), the two calls it
    made before (``vector_of``, then ``similar_hits``), and a plain search by a query vector."""
    one, fetch, two, search, recalls = [], [], [], [], []
    pairs = list(zip(products, queries, strict=True))
    for pid, query in pairs[:5]:  # warm-up
        await store.similar(str(pid), TOP_K + 1)
        await store.search(query, TOP_K + 1)
    for n, (pid, query) in enumerate(pairs):
        pid_s = str(pid)
        for variant in ("one", "two") if n % 2 == 0 else ("two", "one"):
            start = time.perf_counter()
            if variant == "one":
                answer = await store.similar(pid_s, TOP_K + 1)  # as the service asks
                one.append(time.perf_counter() - start)
                assert answer is not None
                hits = answer[1]
            else:
                vector = await store.vector_of(pid_s)
                fetched = time.perf_counter()
                assert vector is not None
                await similar_hits(store, pid_s, vector, TOP_K + 1)
                two.append(time.perf_counter() - start)
                fetch.append(fetched - start)
        start = time.perf_counter()
        await store.search(query, TOP_K + 1)
        search.append(time.perf_counter() - start)
        scores = points @ points[pid]
        scores[pid] = -np.inf  # the product itself is left out
        want = set(np.argpartition(-scores, TOP_K)[:TOP_K].tolist())
        if pid_s in {h.product_id for h in hits}:
            raise RuntimeError(f"similar({pid}) returned the product itself")
        recalls.append(len(want & {int(h.product_id) for h in hits[:TOP_K]}) / TOP_K)
    return {
        "similar": percentiles(one),
        "two": percentiles(two),
        "fetch": percentiles(fetch),
        "search": percentiles(search),
        "recall": float(np.mean(recalls)),
    }


def _edge(directory: Path) -> tuple[VectorStore, Callable[[], None]]:
    from visualsearch.storage.vectors.qdrant_edge import QdrantEdgeVectorStore

    return QdrantEdgeVectorStore("bench", directory / "edge"), lambda: None


def _pgvector(directory: Path) -> tuple[VectorStore, Callable[[], None]]:
    from visualsearch.storage.embedded_postgres import EmbeddedPostgres
    from visualsearch.storage.vectors.pgvector import PgVectorStore

    postgres = EmbeddedPostgres(directory / "pg")
    return PgVectorStore("bench", postgres.start()), postgres.stop


STORE_KEYS = {"Qdrant Edge": "QdrantEdge", "pgvector": "PgVector"}
STORES: dict[str, Callable[[Path], tuple[VectorStore, Callable[[], None]]]] = {
    "Qdrant Edge": _edge,
    "pgvector": _pgvector,
}


def store_cells(quick: bool) -> list[tuple[int, str]]:
    """(points, store) measured: Qdrant Edge at 100k too; pgvector at 10k only (its load and
    HNSW build at 100k take minutes here)."""
    cells = [(10_000, name) for name in STORES]
    return cells if quick else [*cells, (100_000, "Qdrant Edge")]


def stores_similar(quick: bool) -> list[dict[str, object]]:
    queries_n = 40 if quick else 100
    out = []
    for size, name in store_cells(quick):
        points, _, queries = dataset(size, queries_n)
        products = np.random.default_rng(size).choice(size, queries_n, replace=False)
        directory = Path(tempfile.mkdtemp(prefix="bench-similar-"))
        loop = asyncio.new_event_loop()
        stop: Callable[[], None] = lambda: None  # noqa: E731
        try:
            store, stop = STORES[name](directory)
            loop.run_until_complete(store.open())
            built = loop.run_until_complete(load(store, points))
            figures = loop.run_until_complete(measure_store(store, points, queries, products))
            out.append({"points": size, "store": name, "load_s": built, **figures})
            loop.run_until_complete(store.drop_collection())
            loop.run_until_complete(store.close())
        finally:
            loop.close()
            stop()
            shutil.rmtree(directory, ignore_errors=True)
    return out


# -- 3. search with a crop against one without --------------------------------------------------


def resized(bodies: list[bytes], side: int) -> list[bytes]:
    """The uploads re-encoded at ``side`` px (a phone photo's pixel count), still distinct."""
    out = []
    for i, body in enumerate(bodies):
        with Image.open(io.BytesIO(body)) as img:
            buffer = io.BytesIO()
            img.resize((side, side), Image.Resampling.BICUBIC).save(
                buffer, "JPEG", quality=90, comment=f"bench {side} {i}"
            )
            out.append(buffer.getvalue())
    return out


def crop_vs_whole(server: Server, quick: bool) -> list[dict[str, object]]:
    """Blocks of uploads searched whole, then the same uploads with the crop (the order turning
    every block), every request a cache miss; the stage histograms scraped between blocks."""
    blocks, per_block = (2, 6) if quick else (4, 8)
    out = []
    with httpx.Client(base_url=server.url, timeout=60) as client:

        def search(body: bytes, crop: str | None) -> float:
            data = {"top_k": str(TOP_K), **({"crop": crop} if crop else {})}
            start = time.perf_counter()
            response = client.post(
                "/search", files={"file": ("q.jpg", body, "image/jpeg")}, data=data
            )
            elapsed = time.perf_counter() - start
            if response.status_code != 200 or response.json()["cache"]:
                raise RuntimeError(f"search answered {response.status_code}: {response.text[:300]}")
            return elapsed

        for offset, side in ((20_000, 0), (30_000, 1600)):
            bodies = unique_bodies(blocks * per_block + 4, offset=offset)
            if side:
                bodies = resized(bodies, side)
            for body in bodies[:2]:  # warm-up, both ways
                search(body, None)
                search(body, CROP)
            bodies = bodies[4:]
            times: dict[str, list[float]] = {"whole": [], "crop": []}
            stage_sums: dict[str, dict[str, tuple[float, float]]] = {"whole": {}, "crop": {}}
            for block in range(blocks):
                chunk = bodies[block * per_block : (block + 1) * per_block]
                order = ("whole", "crop") if block % 2 == 0 else ("crop", "whole")
                for variant in order:
                    before = server.stages()
                    for body in chunk:
                        times[variant].append(search(body, CROP if variant == "crop" else None))
                    for stage, (sec, n) in stage_delta(before, server.stages()).items():
                        old = stage_sums[variant].get(stage, (0.0, 0.0))
                        stage_sums[variant][stage] = (old[0] + sec, old[1] + n)
            out.append({"side": side or 320, "times": times, "stages": stage_sums})
    return out


# -- the report ---------------------------------------------------------------------------------


def stage_ms(stages: dict[str, tuple[float, float]], stage: str, per: int | None = None) -> float:
    seconds, observed = stages.get(stage, (0.0, 0.0))
    divisor = per if per is not None else observed
    return 1000 * seconds / divisor if divisor else float("nan")


PARTS = ("api", "crop", "stores")


def run(
    report: Report, quick: bool, before: str | None = None, parts: tuple[str, ...] = PARTS
) -> dict[str, float]:
    """The ``parts`` asked for; ``before``: a git revision served side by side with this
    checkout (the ``api`` part)."""
    api: dict[str, dict[str, object]] = {}
    crops: list[dict[str, object]] = []
    if "api" in parts or "crop" in parts:
        servers = {"this checkout": Server()}
        exported: Path | None = None
        if before and "api" in parts:
            servers[f"before ({before})"], exported = revision_server(before)
        try:
            for server in servers.values():  # cold starts export the model: slow when loaded
                server.start(timeout=1200)
            for server in servers.values():
                server.wait_indexed(demo_size(), vectors=demo_images())
            api = api_similar(servers, quick) if "api" in parts else {}
            crops = crop_vs_whole(servers["this checkout"], quick) if "crop" in parts else []
        finally:
            for server in servers.values():
                server.stop()
            if exported is not None:
                shutil.rmtree(exported, ignore_errors=True)
    store_rows = stores_similar(quick) if "stores" in parts else []
    return write(report, api, crops, store_rows)


def write(
    report: Report,
    api: dict[str, dict[str, object]],
    crops: list[dict[str, object]],
    store_rows: list[dict[str, object]],
) -> dict[str, float]:
    figures: dict[str, float] = {}
    report.section(TITLE)
    load = os.getloadavg()[0]
    report.note(
        f"Measured with other work running (load average {load:.1f} on {cores()} cores at the "
        "end): the milliseconds are inflated by the machine's load; compare within a table, "
        "whose rows were taken side by side."
    )
    if api:
        api_section(report, api, figures)
    if store_rows:
        store_section(report, store_rows, figures)
    if crops:
        crop_section(report, crops, figures)
    return figures


def api_section(
    report: Report, api: dict[str, dict[str, object]], figures: dict[str, float]
) -> None:
    n = int(next(iter(api.values()))["products"])  # type: ignore[call-overload]
    report.note(
        f"**Through the real app** (`visualsearch serve`, the demo catalogue: {demo_size()} "
        f"products, {demo_images()} image vectors on Qdrant Edge; top_k={TOP_K}; an httpx client "
        f"on the same machine, its cost included). For each of {n} products in turn: similar "
        "products (a miss: never asked before), the same again (a hit), and the product's own "
        "`GET /products/{id}` (one catalogue read: the floor any request pays)"
        + (", on each server in turn." if len(api) > 1 else ".")
    )
    rows = []
    kinds = {
        "miss": "similar, cache miss",
        "hit": "similar, cache hit",
        "product": "GET /products/{id} (floor)",
    }
    shares = []
    for label, result in api.items():
        times: dict[str, list[float]] = result["times"]  # type: ignore[assignment]
        stages: dict[str, tuple[float, float]] = result["stages"]  # type: ignore[assignment]
        for key, kind in kinds.items():
            p = percentiles(times[key])
            rows.append([label, kind, len(times[key]), p["p50"], p["p95"], p["p99"], p["mean"]])
            if label == "this checkout":
                figures[f"api_{key}_p50"] = p["p50"]
        shares.append(
            [label, stage_ms(stages, "ann", n), stage_ms(stages, "metadata", n),
             stage_ms(stages, "cache", 2 * n)]
        )  # fmt: skip
    report.table(
        ["server", "request", "requests", "p50 ms", "p95 ms", "p99 ms", "mean ms"], rows, digits=2
    )
    report.note(
        "Server stage histograms (means): ann = the stored vector + the search, per similar "
        "miss; metadata = the product rows, per miss; cache = result-cache get/put, per similar "
        "request. The rest of a miss is HTTP, routing, dependencies, the catalogue-version query "
        "and JSON."
    )
    report.table(["server", "ann ms", "metadata ms", "cache ms"], shares, digits=2)


def store_section(
    report: Report, store_rows: list[dict[str, object]], figures: dict[str, float]
) -> None:
    report.note(
        "**The store's part** (the product's adapters; `bench.vectors`' clustered 512-dim "
        "vectors, one per product; loaded as a re-index loads). *similar* = `VectorStore."
        "similar`, the one call the service makes (on Qdrant Edge the stored vector and the "
        "ranking in one hop to the shard's thread); *two calls* = what it made before, "
        "`vector_of` then a search by it without the product (`similar_hits`); *search* = a "
        "search by a query vector, the same depth (top_k+1). The three take turns per query. "
        "Recall@12 against numpy's exact top 12 without the product."
    )
    rows = []
    for r in store_rows:
        one, two, f, q = (r[x] for x in ("similar", "two", "fetch", "search"))
        rows.append(
            [f"{r['points']:,}", r["store"], one["p50"], one["p95"], two["p50"], two["p95"],  # type: ignore[index]
             f["p50"], q["p50"], q["p95"], f"{r['recall']:.3f}", r["load_s"]]  # type: ignore[index]
        )  # fmt: skip
        key = STORE_KEYS[str(r["store"])]
        figures[f"store_{key}_{r['points']}_similar_p50"] = one["p50"]  # type: ignore[index]
        figures[f"store_{key}_{r['points']}_recall"] = float(r["recall"])  # type: ignore[arg-type]
    report.table(
        ["points", "store", "similar p50 ms", "similar p95 ms", "two calls p50 ms",
         "two calls p95 ms", "of them: vector_of p50", "search p50 ms", "search p95 ms",
         "recall@12", "load s"],
        rows,
        digits=2,
    )  # fmt: skip


def crop_section(report: Report, crops: list[dict[str, object]], figures: dict[str, float]) -> None:
    report.note(
        f"**Search with a crop against one without** (`POST /search`, top_k={TOP_K}, crop "
        f"`{CROP}`, the service's default query views; every upload new, so every request a "
        "miss; blocks of whole and cropped searches of the same uploads taking turns). Stage "
        "means from the server's histograms."
    )
    rows = []
    for c in crops:
        t: dict[str, list[float]] = c["times"]  # type: ignore[assignment]
        st: dict[str, dict[str, tuple[float, float]]] = c["stages"]  # type: ignore[assignment]
        whole = percentiles(t["whole"])
        for variant in ("whole", "crop"):
            p = percentiles(t[variant])
            rows.append(
                [f"{c['side']} px", variant, len(t[variant]), p["p50"], p["p95"], p["mean"],
                 f"{p['p50'] / whole['p50']:.2f}x", stage_ms(st[variant], "decode"),
                 stage_ms(st[variant], "embed")]
            )  # fmt: skip
        figures[f"crop_{c['side']}_ratio"] = percentiles(t["crop"])["p50"] / whole["p50"]
    report.table(
        ["upload", "query", "requests", "p50 ms", "p95 ms", "mean ms", "p50 vs whole",
         "decode ms (mean)", "embed ms (mean)"],
        rows,
    )  # fmt: skip


def target_rows(figures: dict[str, float]) -> list[list[object]]:
    def verdict(ok: bool) -> str:
        return "met" if ok else "**missed**"

    rows: list[list[object]] = []
    if "api_miss_p50" in figures:
        miss = figures["api_miss_p50"]
        rows.append(
            ["similar products p50 ≤ 3 ms, demo catalogue (cache miss, through the app)",
             f"{miss:.2f} ms (hit {figures['api_hit_p50']:.2f} ms; baseline GET /products/{{id}} "
             f"{figures['api_product_p50']:.2f} ms)", verdict(miss <= TARGET_DEMO_MS)]
        )  # fmt: skip
    edge = figures.get("store_QdrantEdge_100000_similar_p50")
    if edge is not None:
        rows.append(
            ["similar products p50 ≤ 5 ms, 100k vectors, Qdrant Edge (the store's part)",
             f"{edge:.2f} ms, recall {figures['store_QdrantEdge_100000_recall']:.3f}",
             verdict(edge <= TARGET_100K_MS)]
        )  # fmt: skip
    for key in sorted(k for k in figures if k.startswith("crop_")):
        side = key.split("_")[1]
        ratio = figures[key]
        rows.append(
            [f"search with a crop costs no more than without ({side} px uploads, p50)",
             f"{ratio:.2f}x", verdict(ratio <= 1.05)]
        )  # fmt: skip
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.similar", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="Fewer products and queries.")
    parser.add_argument("--output", type=Path, default=RESULTS, help="The results file.")
    parser.add_argument(
        "--before", metavar="REV", help="Also serve this git revision, side by side (e.g. main)."
    )
    parser.add_argument(
        "--parts", default=",".join(PARTS), help=f"Comma-separated, of {', '.join(PARTS)}."
    )
    args = parser.parse_args()
    parts = tuple(p.strip() for p in args.parts.split(",") if p.strip())
    if set(parts) - set(PARTS):
        raise SystemExit(f"unknown parts: {', '.join(sorted(set(parts) - set(PARTS)))}")
    command = shlex.join(["python", "-m", "bench.similar", *sys.argv[1:]])
    started = time.perf_counter()
    report = Report(TITLE)
    figures = run(report, args.quick, args.before, parts)
    report.table(["target (issue 17)", "measured", "verdict"], target_rows(figures))
    lines = report.lines[report.lines.index(f"## {TITLE}") :]  # the section, not the title
    run_line = (
        f"Run {time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC with `{command}` "
        f"({time.perf_counter() - started:.0f} s). " + "; ".join(describe()[:2]) + "."
    )
    lines[2:2] = [run_line, ""]
    text = args.output.read_text() if args.output.exists() else "# visual-search benchmarks\n"
    args.output.write_text(replace_section(text, TITLE, lines))
    print(f"written to {args.output}")


if __name__ == "__main__":
    main()
