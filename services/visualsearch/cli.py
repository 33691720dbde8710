"""The ``visualsearch`` command: run each service, the worker, seeding and admin tasks."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

import click

from visualsearch import __version__
from visualsearch.config import Settings
from visualsearch.logging_setup import configure_logging

T = TypeVar("T")
log = logging.getLogger("visualsearch")


def _settings(**overrides: Any) -> Settings:
    settings = Settings(**{k: v for k, v in overrides.items() if v is not None})
    configure_logging(settings.log_level, settings.log_format)
    return settings


def _run(main: Callable[[], Coroutine[Any, Any, T]]) -> T:
    return asyncio.run(main())


def _fail(message: str) -> None:
    click.secho(f"error: {message}", fg="red", err=True)
    sys.exit(1)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="visualsearch")
def main() -> None:
    """Visual product search for e-commerce.

    Every store is configured by VISUALSEARCH_* environment variables (see the README); the
    ones left unset are embedded under the data directory, so `visualsearch serve` alone runs
    the whole platform on one machine.
    """


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8000, show_default=True, help="Port to listen on.")
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path),
    help="Where the embedded stores keep data [default: $XDG_DATA_HOME/visual-search].",
)
@click.option("--no-seed", is_flag=True, help="Do not load the demo catalogue on first start.")
def serve(host: str, port: int, data_dir: Path | None, no_seed: bool) -> None:
    """Run the whole platform in one process: storefront, API and worker.

    Stores are embedded under the data directory unless configured; the demo catalogue is
    loaded on first start. Open the printed address in a browser.
    """
    from visualsearch.oneprocess import serve_one_machine

    settings = _settings(data_dir=data_dir)
    serve_one_machine(settings, host, port, seed_demo=not no_seed)


@main.command()
@click.option("--host", default="0.0.0.0", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8000, show_default=True, help="Port to listen on.")
@click.option(
    "--routes",
    default="search,products,index,images,info,insights",
    show_default=True,
    help="Comma-separated route groups this instance serves.",
)
def api(host: str, port: int, routes: str) -> None:
    """Run the HTTP API (search, catalogue, indexing) against the configured stores.

    One process per instance: scale out with more instances (pods) behind a Service.
    """
    from visualsearch.app import ROUTES, create_app, serve_http

    chosen = [r.strip() for r in routes.split(",") if r.strip()]
    unknown = set(chosen) - set(ROUTES)
    if unknown:
        _fail(f"unknown route groups {sorted(unknown)}; choose from {sorted(ROUTES)}")
    settings = _settings()
    serve_http(create_app(settings, routes=chosen), host, port)


@main.command()
@click.option("--host", default="0.0.0.0", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8001, show_default=True, help="Port to listen on.")
def embedder(host: str, port: int) -> None:
    """Run the embedding service (model only) that API pods call via VISUALSEARCH_EMBEDDER_URL."""
    from visualsearch.app import create_embedder_app, serve_http

    serve_http(create_embedder_app(_settings()), host, port)


@main.command()
@click.option("--concurrency", default=4, show_default=True, help="Jobs processed at once.")
def worker(concurrency: int) -> None:
    """Run the indexing worker: embed queued products and store their vectors."""
    from visualsearch.factory import Context
    from visualsearch.worker import run_worker

    settings = _settings()

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        async with Context.open(settings) as context:
            log.info(
                "worker started",
                extra={"model": context.embedding.info.name if context.embedding else None},
            )
            await run_worker(context, stop, concurrency)

    _run(run)


@main.command()
@click.option("--demo", is_flag=True, help="Load the demo catalogue shipped with the project.")
@click.option(
    "--file",
    "path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Load a catalogue (.json, .jsonl or .csv; images by path or URL).",
)
@click.option(
    "--api",
    "api_url",
    help="Seed a running deployment through its API instead "
    "of the configured stores (e.g. http://localhost:8000).",
)
@click.option("--api-key", envvar="VISUALSEARCH_API_KEY", help="Write key for --api.")
@click.option(
    "--data-dir", type=click.Path(path_type=Path), help="Data directory of embedded stores."
)
@click.option("--batch-size", default=32, show_default=True, help="Products per batch.")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
def seed(
    demo: bool,
    path: Path | None,
    api_url: str | None,
    api_key: str | None,
    data_dir: Path | None,
    batch_size: int,
    no_progress: bool,
) -> None:
    """Load a catalogue through the bulk path: idempotent, resumable, with a summary.

    Rows that cannot be loaded are reported with their reason; the others load.
    Exit status 0 when every row loaded, 2 when some were rejected.
    """
    from visualsearch.seeding import DEMO_CATALOG, print_summary, seed_local, seed_remote

    if demo == (path is not None):
        _fail("give exactly one of --demo or --file")
    source = DEMO_CATALOG if demo else path
    assert source is not None
    settings = _settings(data_dir=data_dir)
    if api_url:
        if not api_key:
            _fail("--api needs --api-key (or VISUALSEARCH_API_KEY)")
        summary = seed_remote(api_url, api_key or "", source, batch_size, not no_progress)
    else:
        from visualsearch.factory import Context

        async def run() -> Any:
            async with Context.open(settings) as context:
                return await seed_local(context, source, batch_size, not no_progress)

        summary = _run(run)
    print_summary(summary, click.echo)
    sys.exit(2 if summary.rejected else 0)


@main.command()
@click.option(
    "--data-dir", type=click.Path(path_type=Path), help="Data directory of embedded stores."
)
def migrate(data_dir: Path | None) -> None:
    """Create or upgrade the catalogue schema and the vector collection, then exit.

    Vector payloads that lack what filters need (brand, price, stock) or disagree with the
    catalogue are rewritten from it, without re-embedding.
    """
    from visualsearch.factory import Context

    async def run() -> int:
        # opening migrates the schema and creates the collection; then payloads follow rows
        async with Context.open(_settings(data_dir=data_dir)) as context:
            return await context.doctor().sync_payloads()

    synced = _run(run)
    if synced:
        click.echo(f"Rewrote {synced} vector payloads from the catalogue.")
    click.echo("Schema and collection are up to date.")


@main.command()
@click.option("--repair", is_flag=True, help="Fix what was found (requeue, delete orphans).")
@click.option(
    "--data-dir", type=click.Path(path_type=Path), help="Data directory of embedded stores."
)
def doctor(repair: bool, data_dir: Path | None) -> None:
    """Check that the catalogue, the vector index and the object store agree.

    Exit status 0 when they agree (or were repaired), 1 when drift remains.
    """
    from visualsearch.factory import Context

    async def run() -> bool:
        settings = _settings(data_dir=data_dir)
        async with Context.open(settings, with_model=False, with_text=True) as context:
            doc = context.doctor()
            report = await doc.examine()
            for line in report.lines():
                click.echo(line)
            # the admin view shows the last report
            await context.insights.save_doctor_report(report.clean, report.lines())
            if report.clean:
                click.echo("Everything agrees.")
                return True
            if repair:
                await doc.repair(report)
                click.echo(
                    "Repaired: rows were requeued, orphans removed, payloads rewritten and text "
                    "vectors made; "
                    "the worker embeds the rest."
                )
                if report.rows_without_image:  # only the shop can fix these: drift remains
                    click.echo(
                        f"{len(report.rows_without_image)} products lost their image and need "
                        f"a re-upload (POST /index): {', '.join(report.rows_without_image[:20])}"
                    )
                    return False
                return True
            click.echo("Run with --repair to fix.")
            return False

    sys.exit(0 if _run(run) else 1)


@main.command()
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option(
    "--data-dir", type=click.Path(path_type=Path), help="Data directory of embedded stores."
)
def reindex(yes: bool, data_dir: Path | None) -> None:
    """Re-embed every product with the configured model, without a gap in search.

    The new vectors are built beside the live ones and switched to in one step. Restart the API
    and the workers with the same VISUALSEARCH_MODEL afterwards.
    """
    from tqdm import tqdm

    from visualsearch.factory import Context, create_embedding
    from visualsearch.services.reindex import Reindexer

    if not yes:
        click.confirm("Re-embed every product with the configured model?", abort=True)
    settings = _settings(data_dir=data_dir)

    async def run() -> int:
        async with Context.open(settings, with_model=False, with_text=True) as context:
            embedding = await create_embedding(settings)
            try:
                total = await context.catalog.count()
                with tqdm(total=total, unit="product", desc="Re-embedding") as bar:
                    count = await Reindexer(
                        context.catalog, context.objects, context.vectors, embedding
                    ).run(bar.update)
                # products written while the new generation was built are queued again
                await context.doctor().requeue_missing_vectors()
                text = context.text_vector_writer()
                if text is not None:
                    click.echo(f"Rebuilt {await text.rebuild(context.catalog)} text vectors.")
                return count
            finally:
                await embedding.close()

    count = _run(run)
    click.echo(f"Re-embedded {count} products with {settings.model}; search now uses them.")


@main.command(name="drop-model")
@click.argument("model")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option(
    "--data-dir", type=click.Path(path_type=Path), help="Data directory of embedded stores."
)
def drop_model(model: str, yes: bool, data_dir: Path | None) -> None:
    """Remove MODEL's vectors: its collection, with VISUALSEARCH_COLLECTION_PER_MODEL.

    MODEL is read as VISUALSEARCH_MODEL is: efficientnet-lite0 with VISUALSEARCH_COLOUR_WEIGHT
    (default 0.25) is efficientnet-lite0+colour0.25, the name GET /info reports.

    The last step of a model switch, once no API or worker serves MODEL any more (after
    `visualsearch reindex` with the new model and the restart onto it). The model the index
    was last re-indexed with is refused: it is the one being served.
    """
    from visualsearch.embedding.colour import split_model
    from visualsearch.factory import Context, configured_model, image_collection

    settings = _settings(data_dir=data_dir)
    if split_model(model)[0] == "auto":
        _fail(
            "MODEL must name the model to drop: auto stands for whichever model the index was "
            "last re-indexed with, which is the one being served (GET /info names it)"
        )
    if not settings.collection_per_model:
        _fail(
            "drop-model needs VISUALSEARCH_COLLECTION_PER_MODEL=true: without it every model "
            "shares one collection, and `visualsearch reindex` replaces its vectors itself"
        )
    old = settings.model_copy(update={"model": model})
    name = configured_model(old)
    collection = image_collection(old, name)
    if not yes:
        click.confirm(f"Remove the vectors of {name} (collection {collection})?", abort=True)

    async def run() -> bool:
        async with Context.open(old, with_model=False) as context:
            if await context.catalog.recorded_model() == name:
                return False
            await context.vectors.drop_collection()
            return True

    if not _run(run):
        _fail(f"{name} is the model the index was last re-indexed with; it is not dropped")
    click.echo(f"Removed the vectors of {name} (collection {collection}).")


@main.command(name="eval")
@click.option(
    "--catalogue",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Catalogue to index and query (.json, .jsonl or .csv) [default: the demo catalogue].",
)
@click.option(
    "--kinds",
    default="all",
    show_default=True,
    help="Kinds of query, comma-separated: self, photo, screenshot, phone, thumbnail, crop, "
    "rotated, background, view (a product's further catalogue images; "
    "docs/search-quality.md describes each).",
)
@click.option("--limit", type=int, help="Query only a seeded sample of N products (all indexed).")
@click.option("--variants", default=2, show_default=True, help="Queries per product and kind.")
@click.option("--seed", default=0, show_default=True, help="Seed of the sample and the queries.")
@click.option(
    "--output", type=click.Path(dir_okay=False, path_type=Path), help="Also write the table here."
)
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path),
    help="Index into this data directory (kept; re-used if already indexed; the eval's own: "
    "it indexes main images only) [default: a fresh temporary one].",
)
@click.option("--no-progress", is_flag=True, help="No progress bars.")
def eval_(
    catalogue: Path | None,
    kinds: str,
    limit: int | None,
    variants: int,
    seed: int,
    output: Path | None,
    data_dir: Path | None,
    no_progress: bool,
) -> None:
    """Measure search quality: Recall@1/5/10, MRR and nDCG@10 per kind of query, and latency.

    Indexes the catalogue's main images through the bulk path (as `seed` does, one image per
    product), makes seeded queries from them (the product on photographs, in a web page, a phone
    photo, a thumbnail, a crop, a rotated view, another background, and its own file), takes a
    product's further images (a gallery's second views, not indexed) as its 'view' queries, and
    sends each through the search service. Each query has one right answer: its product.
    Model and stores come from the VISUALSEARCH_* settings, e.g. VISUALSEARCH_MODEL=/path/to/clip
    for a local CLIP.

    Example: visualsearch eval --limit 48 --kinds photo,phone --output quality.md
    """
    from contextlib import nullcontext

    from visualsearch.quality import evaluate_catalog, fresh_data_dir
    from visualsearch.query_images import KINDS
    from visualsearch.seeding import DEMO_CATALOG
    from visualsearch.services.evaluation import QuerySet

    chosen = [k.strip() for k in kinds.split(",") if k.strip()]
    try:
        queries = QuerySet(
            kinds=KINDS if chosen == ["all"] else chosen,
            seed=seed,
            variants=variants,
            limit=limit,
        )
    except ValueError as exc:
        _fail(str(exc))
    directory = nullcontext(data_dir) if data_dir else fresh_data_dir()
    with directory as where:
        settings = _settings(data_dir=where)
        report = _run(
            lambda: evaluate_catalog(settings, catalogue or DEMO_CATALOG, queries, not no_progress)
        )
    text = report.markdown()
    click.echo(text)
    if output:
        output.write_text(text + "\n")


@main.group()
def model() -> None:
    """Prepare the embedding model ahead of time (image builds, model-cache volumes)."""


@model.command()
@click.option(
    "--model",
    "model_name",
    help="The model to quantise [default: VISUALSEARCH_MODEL, e.g. efficientnet-lite0].",
)
@click.option(
    "--output",
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory of the fp32 export, the int8 model and its verdict "
    "[default: $VISUALSEARCH_MODEL_CACHE_DIR/onnx, else ~/.cache/visualsearch/onnx].",
)
@click.option("--limit", type=int, help="Judge on a seeded sample of N products (default: all).")
@click.option(
    "--seed", default=1, show_default=True, help="Seed of the harness's queries (eval's)."
)
@click.option("--variants", default=1, show_default=True, help="Queries per product and kind.")
@click.option(
    "--calibration", default=64, show_default=True, help="Shipped product images to calibrate on."
)
def quantize(
    model_name: str | None,
    output: Path | None,
    limit: int | None,
    seed: int,
    variants: int,
    calibration: int,
) -> None:
    """Make the int8 image tower and judge it: Recall@10 against fp32 on the quality harness.

    Exports the fp32 tower to ONNX (if the directory lacks it), quantises it (static QDQ int8
    with per-channel weights, calibrated on the shipped demo images, for convolutional towers;
    dynamic int8 for towers with Linear layers), runs both on the queries `visualsearch eval`
    makes (exact ranking, whole pictures) and writes the verdict beside the fp32 file. With
    EMBED_BACKEND=auto a service then uses int8 only when that verdict says int8's Recall@10 is
    within 0.01 of fp32's; no start quantises. Takes a few minutes on two cores; the image
    build runs it (the Dockerfile). The photo queries need scikit-image (the dev extras).
    """
    from visualsearch.embedding.loader import load_base
    from visualsearch.embedding.optimised import default_cache_dir
    from visualsearch.exceptions import ModelLoadError
    from visualsearch.int8_gate import make_int8

    settings = _settings()
    if settings.torch_threads:
        import torch

        torch.set_num_threads(settings.torch_threads)
    try:
        base, _ = load_base(model_name or settings.model, "cpu", settings.model_cache_dir)
    except ModelLoadError as exc:
        _fail(str(exc))
    directory = output or default_cache_dir(settings.model_cache_dir)
    verdict = make_int8(base, directory, seed, variants, limit, calibration)
    click.echo(f"{verdict.model}: {verdict.method}")
    click.echo(f"{verdict.summary()}: {'passes' if verdict.passed else 'FAILS'}")
    click.echo(f"written to {directory}: {verdict.fp32_file}, {verdict.int8_file} and its verdict")
    if not verdict.passed:
        click.echo("EMBED_BACKEND=auto will run fp32 for this model.")
