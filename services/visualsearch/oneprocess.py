"""``visualsearch serve``: the whole platform in one process on one machine.

Storefront, API and worker share one process and one loaded model; stores that are not
configured are embedded under the data directory. The demo catalogue is loaded on first start
(in the background: the storefront is usable at once and fills as products are indexed).
"""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

import click
from pydantic import SecretStr

from visualsearch.config import Settings
from visualsearch.factory import Context

log = logging.getLogger(__name__)


def find_frontend(settings: Settings) -> Path | None:
    """The storefront directory: configured, or ``frontend/`` of a source checkout."""
    if settings.frontend_dir is not None:
        return settings.frontend_dir
    candidate = Path(__file__).resolve().parents[2] / "frontend"
    return candidate if (candidate / "index.html").is_file() else None


async def seed_demo_if_empty(context: Context) -> None:
    """Load the demo catalogue into a new shop, and finish that load on every start until done.

    The catalogue's PostgreSQL records that the load began and, after its last batch, that it
    completed (``demo_load``). A start after an interrupted load (Ctrl+C, a crash) runs it
    again, which only writes what is missing; once completed it never runs again, so what the
    shop deleted or changed since stays so. A catalogue that holds products without a load
    ever begun is the shop's own and is never seeded.
    """
    from visualsearch.exceptions import VisualSearchError
    from visualsearch.seeding import DEMO_CATALOG, print_summary, seed_local

    state = await context.catalog.demo_load_state()
    if state == "completed":
        log.info("demo catalogue loaded on an earlier start; not seeding")
        return
    if not DEMO_CATALOG.is_file():
        log.warning("no demo catalogue shipped; start with an empty catalogue")
        return
    if state is None:
        if not await context.catalog.begin_demo_load():
            log.info("catalogue present; not seeding")
            return
        log.info("first start: loading the demo catalogue")
    else:
        log.info("resuming the demo catalogue load that an earlier start did not finish")
    try:
        summary = await seed_local(context, DEMO_CATALOG)
    except VisualSearchError as exc:
        log.error("demo catalogue load stopped; the next start resumes it: %s", exc.message)
        return
    await context.catalog.complete_demo_load()
    print_summary(summary, lambda line: log.info(line))


def ensure_api_key(settings: Settings) -> tuple[str, bool]:
    """The write key: configured, or generated once and kept in the data directory."""
    if settings.api_key is not None:
        return settings.api_key.get_secret_value(), False
    path = settings.data_dir / "api-key"
    if path.exists():
        return path.read_text().strip(), False
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    return key, True


def serve_one_machine(settings: Settings, host: str, port: int, seed_demo: bool = True) -> None:

    from visualsearch.app import create_app, serve_http

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    key, generated = ensure_api_key(settings)
    settings = settings.model_copy(update={"api_key": SecretStr(key)})
    if generated:
        click.secho("A write key was generated for this data directory (shown once):", fg="yellow")
        click.echo(f"  {key}")
        click.echo(
            f"  It is kept in {settings.data_dir / 'api-key'}. Send it as the X-API-Key header,"
        )
        click.echo(
            f"  e.g. curl -H 'X-API-Key: {key}' -F file=@shoe.jpg ... {_url(host, port)}/index"
        )
    frontend = find_frontend(settings)
    if frontend is None:
        log.warning("storefront files not found; set VISUALSEARCH_FRONTEND_DIR to serve them")
    app = create_app(
        settings,
        frontend_dir=frontend,
        run_worker_inside=True,
        on_ready=seed_demo_if_empty if seed_demo else None,
    )
    click.secho(
        f"visual-search is starting: open {_url(host, port)}  (API docs: "
        f"{_url(host, port)}/docs, data: {settings.data_dir})",
        fg="green",
    )
    serve_http(app, host, port)


def _url(host: str, port: int) -> str:
    shown = "localhost" if host in ("127.0.0.1", "0.0.0.0", "::") else host
    return f"http://{shown}:{port}"
