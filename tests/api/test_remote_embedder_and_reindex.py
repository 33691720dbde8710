"""The Kubernetes shapes of the platform: the API using a separate embedding service, and a
model switch by ``visualsearch reindex`` run as the CLI against real stores, with the API
answering searches while the re-index is in flight."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image

from tests.api.helpers import index, search
from tests.api.test_jobs import worker_env
from tests.conftest import SettingsFactory, start_api
from tests.support.images import jpeg, photo
from tests.support.servers import free_port, wait_for_port
from tests.support.tiny_clip import build_tiny_clip
from visualsearch.embedding.colour import BINS, model_name
from visualsearch.embedding.service import EmbeddingService, RemoteEmbeddingService
from visualsearch.exceptions import StoreUnavailableError
from visualsearch.factory import create_embedding
from visualsearch.imaging import Crop
from visualsearch.services.reindex import Reindexer


@pytest.fixture(scope="module")
def embedder_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``visualsearch embedder`` as its own process, as the embedding Deployment runs it."""
    with embedder_process(tmp_path_factory.mktemp("embedder")) as (url, _):
        yield url


@contextmanager
def embedder_process(
    directory: Path, port: int | None = None, **settings: str
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """``settings``: more ``VISUALSEARCH_*`` variables, e.g. ``COLOUR_WEIGHT="0"``."""
    port = port or free_port()
    log = directory / "embedder.log"
    env = {**os.environ, "VISUALSEARCH_MODEL": "efficientnet-lite0"}
    env.update({f"VISUALSEARCH_{name}": value for name, value in settings.items()})
    with log.open("wb") as handle:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "visualsearch",
                "embedder",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            env=env,
            stdout=handle,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for_port(port, timeout=120)
        url = f"http://127.0.0.1:{port}"
        assert httpx.get(f"{url}/ready", timeout=30).status_code == 200, log.read_text()
        yield url, proc
    finally:
        if proc.poll() is None:
            proc.terminate()
        proc.wait(20)


async def test_a_client_waits_for_an_embedder_that_is_still_starting(tmp_path: Path) -> None:
    """Pods start beside their embedder (a fresh index, a model switch): a client's start waits
    for it to answer instead of failing (and being restarted with a growing back-off), and
    gives up with a clear 503-kind error only after its wait."""
    port = free_port()
    early = RemoteEmbeddingService(f"http://127.0.0.1:{port}")
    starting = asyncio.create_task(early.start(wait_seconds=120))
    await asyncio.sleep(2.5)
    assert not starting.done()  # nothing listens yet: still waiting, not failed
    try:
        with embedder_process(tmp_path, port=port):
            await asyncio.wait_for(starting, 30)
            assert early.info.name == model_name("efficientnet-lite0", 0.25)
            assert len(await early.embed_image(jpeg(seed=3))) == early.info.dim
    finally:
        await early.close()

    lonely = RemoteEmbeddingService(f"http://127.0.0.1:{free_port()}")
    began = asyncio.get_running_loop().time()
    with pytest.raises(StoreUnavailableError, match="embedding service is unavailable"):
        await lonely.start(wait_seconds=1.0)
    assert asyncio.get_running_loop().time() - began < 10
    await lonely.close()


def test_the_embedder_embeds_text_only_with_a_text_tower(embedder_url: str) -> None:
    # EfficientNet has none: a clear 400, not a vector of nonsense
    refused = httpx.post(f"{embedder_url}/embed/text", json={"text": "red shoes"})
    assert refused.status_code == 400 and refused.json()["code"] == "text_search_unavailable"
    assert httpx.post(f"{embedder_url}/embed/text", json={"text": ""}).status_code == 422


async def test_an_unreachable_embedder_is_503_and_recovers(
    make_settings: SettingsFactory, tmp_path: Path
) -> None:
    with embedder_process(tmp_path) as (url, proc):
        api, lifespan = await start_api(make_settings(embedder_url=url))
        try:
            cat = jpeg(photo("chelsea.png"))
            await index(api, "cat", cat)
            proc.kill()
            proc.wait(10)
            down = await api.client.post("/search", files={"file": ("q.jpg", cat, "image/jpeg")})
            assert down.status_code == 503, down.text
            assert down.json()["code"] == "store_unavailable"
            assert "embedding service" in down.json()["detail"]
            assert (await api.client.get("/products/cat")).status_code == 200  # browsing works
        finally:
            await api.client.aclose()
            await lifespan.__aexit__(None, None, None)  # type: ignore[attr-defined]


async def test_api_embeds_through_the_embedding_service(
    make_settings: SettingsFactory, embedder_url: str
) -> None:
    info = httpx.get(f"{embedder_url}/embed/info").json()
    assert info["model"] == "efficientnet-lite0+colour0.25" and info["dim"] == 1280 + BINS
    bad = httpx.post(f"{embedder_url}/embed/image", content=b"not an image")
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_image"

    api, lifespan = await start_api(make_settings(embedder_url=embedder_url, model="auto"))
    try:
        cat = jpeg(photo("chelsea.png"))
        await index(api, "cat", cat)
        coffee = jpeg(photo("coffee.png"))
        await index(api, "coffee", coffee)
        body = await search(api, cat)
        assert body["results"][0]["product_id"] == "cat" and body["results"][0]["score"] > 0.99
        served = (await api.client.get("/info")).json()
        assert served["model"] == "efficientnet-lite0+colour0.25" and served["text_search"] is False
        # the embedding service's errors reach the shopper as they are
        corrupt = await api.client.post(
            "/search", files={"file": ("x.jpg", cat[:200], "image/jpeg")}
        )
        assert corrupt.status_code == 400
        text = await api.client.get("/search", params={"q": "cat", "mode": "visual"})
        assert text.status_code == 400 and text.json()["code"] == "text_search_unavailable"
        # a crop travels to the embedding service: only the region is embedded there
        both = Image.new("RGB", (320, 160))
        both.paste(photo("coffee.png").resize((160, 160)), (0, 0))
        both.paste(photo("chelsea.png").resize((160, 160)), (160, 0))
        pair = jpeg(both)
        for crop, expected in (("0,0,0.5,1", "coffee"), ("0.5,0,0.5,1", "cat")):
            assert (await search(api, pair, crop=crop))["results"][0]["product_id"] == expected
        bad = httpx.post(f"{embedder_url}/embed/image?crop=0,0,2,1", content=pair)
        assert bad.status_code == 422
        # the query's views (VISUALSEARCH_QUERY_VIEWS=grid, the default) come from it too
        assert api.settings.query_views == "grid"
        plain = httpx.post(f"{embedder_url}/embed/image", content=pair, timeout=30).json()
        grid = httpx.post(f"{embedder_url}/embed/image?views=grid", content=pair, timeout=30)
        rows = grid.json()["views"]
        assert len(rows) == 10 and plain["views"] is None
        assert rows[0] == pytest.approx(plain["vector"], abs=1e-5)  # the whole image first
        found = {r["product_id"]: r["score"] for r in (await search(api, pair))["results"]}
        for name, image in (("cat", cat), ("coffee", coffee)):  # each at its best view's score
            stored = httpx.post(f"{embedder_url}/embed/image", content=image, timeout=30).json()
            best = float((np.asarray(rows) @ np.asarray(stored["vector"])).max())
            assert found[name] == pytest.approx(best, abs=1e-3)
    finally:
        await api.client.aclose()
        await lifespan.__aexit__(None, None, None)  # type: ignore[attr-defined]


async def test_the_reindex_command_switches_models(
    make_settings: SettingsFactory, tmp_path: Path
) -> None:
    settings = make_settings()
    api, lifespan = await start_api(settings)
    photos = {"cat": "chelsea.png", "coffee": "coffee.png", "rocket": "rocket.jpg"}
    try:
        for pid, name in photos.items():
            await index(api, pid, jpeg(photo(name)))
    finally:
        await api.client.aclose()
        await lifespan.__aexit__(None, None, None)  # type: ignore[attr-defined]

    (tmp_path / "clip").mkdir()
    clip = build_tiny_clip(tmp_path / "clip")
    env = {**worker_env(settings), "VISUALSEARCH_MODEL": str(clip)}
    # refused while the index holds another model's vectors
    refused = subprocess.run(
        [sys.executable, "-m", "visualsearch", "migrate"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert refused.returncode != 0 and "reindex" in refused.stderr
    result = subprocess.run(
        [sys.executable, "-m", "visualsearch", "reindex", "--yes"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Re-embedded 3 products" in result.stdout

    switched, lifespan = await start_api(settings.model_copy(update={"model": str(clip)}))
    try:
        info = (await switched.client.get("/info")).json()
        assert info["model"] == model_name(str(clip), settings.colour_weight)
        assert info["dim"] == 24 + BINS and info["vectors"] == 3
        assert info["text_search"] is True
        for pid, name in photos.items():
            assert (await search(switched, jpeg(photo(name))))["results"][0]["product_id"] == pid
        text = await switched.client.get("/search", params={"q": "red shoes", "top_k": 2})
        assert text.status_code == 200 and text.json()["count"] == 2
    finally:
        await switched.client.aclose()
        await lifespan.__aexit__(None, None, None)  # type: ignore[attr-defined]


class HeldOnImage(EmbeddingService):
    """The new model's embedding service, holding the ``n``-th image until released: the
    re-index stops there, mid-generation, for as long as the test searches."""

    def __init__(self, inner: EmbeddingService, n: int) -> None:
        self.info = inner.info
        self._inner = inner
        self._left = n
        self.holding = asyncio.Event()
        self.release = asyncio.Event()

    async def embed_image(self, data: bytes, crop: Crop | None = None) -> np.ndarray:
        self._left -= 1
        if self._left == 0:
            self.holding.set()
            await self.release.wait()
        return await self._inner.embed_image(data, crop)

    async def embed_text(self, text: str) -> np.ndarray:
        return await self._inner.embed_text(text)

    async def close(self) -> None:
        await self._inner.close()


async def test_search_keeps_working_while_a_reindex_is_in_flight(
    make_settings: SettingsFactory, tmp_path: Path
) -> None:
    """The ``Reindexer`` the command runs, on the running API's stores, one product per batch,
    held on its second product: the first one's vector is already in the new generation."""
    settings = make_settings()
    photos = {"cat": "chelsea.png", "coffee": "coffee.png", "rocket": "rocket.jpg"}
    (tmp_path / "clip").mkdir()
    clip = build_tiny_clip(tmp_path / "clip")
    api, lifespan = await start_api(settings)
    new_model = HeldOnImage(
        await create_embedding(settings.model_copy(update={"model": str(clip)})), n=2
    )
    reindex: asyncio.Task[int] | None = None
    try:
        for pid, name in photos.items():
            await index(api, pid, jpeg(photo(name)))
        context = api.context
        done: list[int] = []
        reindex = asyncio.create_task(
            Reindexer(
                context.catalog, context.objects, context.vectors, new_model, batch_size=1
            ).run(done.append)
        )
        await asyncio.wait_for(new_model.holding.wait(), 120)
        # in flight: one product re-embedded and stored in the new generation, the next held
        assert done == [1] and not reindex.done()
        for pid, name in photos.items():  # the live generation answers, with the old model
            top = (await search(api, jpeg(photo(name))))["results"][0]
            assert top["product_id"] == pid and top["score"] > 0.99
        info = (await api.client.get("/info")).json()
        assert info["model"] == model_name(settings.model, settings.colour_weight)
        assert info["vectors"] == 3
        new_model.release.set()
        assert await asyncio.wait_for(reindex, 120) == 3 and done == [1, 1, 1]
    finally:
        new_model.release.set()  # a failed assertion must not leave it held on closed stores
        if reindex is not None:
            await asyncio.gather(reindex, return_exceptions=True)
        await new_model.close()
        await api.client.aclose()
        await lifespan.__aexit__(None, None, None)  # type: ignore[attr-defined]

    # switched: restarted on the new model, the API finds every product in the new generation
    switched, lifespan = await start_api(settings.model_copy(update={"model": str(clip)}))
    try:
        assert (await switched.client.get("/info")).json()["dim"] == 24 + BINS
        for pid, name in photos.items():
            assert (await search(switched, jpeg(photo(name))))["results"][0]["product_id"] == pid
    finally:
        await switched.client.aclose()
        await lifespan.__aexit__(None, None, None)  # type: ignore[attr-defined]


@pytest.mark.parametrize("answer", ["n\n", ""])
def test_reindex_without_yes_asks_and_does_nothing_unless_told(
    make_settings: SettingsFactory, answer: str
) -> None:
    # "n", or no terminal to answer from (stdin closed): aborted before any store is touched
    run = subprocess.run(
        [sys.executable, "-m", "visualsearch", "reindex"],
        env=worker_env(make_settings()),
        input=answer,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "Re-embed every product with the configured model? [y/N]" in run.stdout
    assert run.returncode == 1 and "Aborted" in run.stderr, (run.stdout, run.stderr)
    assert "Re-embedded" not in run.stdout and "Re-embedding" not in run.stderr
