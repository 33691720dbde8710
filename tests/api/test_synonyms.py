"""``GET``/``PUT /synonyms`` through the API: the write key, readable 422s, and rules shared by
two processes on one catalogue and reloaded from the file, without a restart."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.conftest import Api, SettingsFactory, start_api
from tests.retrieval.demo import demo_records


async def _open(settings) -> AsyncIterator[Api]:  # type: ignore[no-untyped-def]
    running, lifespan = await start_api(settings, worker=False)
    try:
        yield running
    finally:
        await running.client.aclose()
        await lifespan.__aexit__(None, None, None)  # type: ignore[attr-defined]


async def _names(api: Api, q: str) -> list[str]:
    response = await api.client.get("/search", params={"q": q, "mode": "keyword", "top_k": 5})
    assert response.status_code == 200, response.text
    return [r["name"].lower() for r in response.json()["results"]]


async def test_put_needs_the_key_and_refuses_bad_rules_readably(api: Api) -> None:
    put = api.client.put
    assert (await put("/synonyms", json={"synonyms": "a, b"})).status_code == 401
    bad = await put("/synonyms", json={"synonyms": "couch, sofa\nsneakers"}, headers=api.headers)
    assert bad.status_code == 422
    assert "line 2" in bad.json()["detail"] and bad.json()["code"] == "validation_error"
    assert (await put("/synonyms", json={"rules": "a, b"}, headers=api.headers)).status_code == 422
    ok = await put("/synonyms", json={"synonyms": "# shop\ncouch, sofa\n"}, headers=api.headers)
    assert ok.status_code == 200, ok.text
    body = (await api.client.get("/synonyms")).json()
    assert body == {**ok.json(), "synonyms": "# shop\ncouch, sofa\n", "rules": 1, "file": None}
    assert body["version"] >= 1


async def test_a_put_on_one_process_applies_in_another_without_restart(
    make_settings: SettingsFactory,
) -> None:
    first_settings = make_settings()
    second_settings = make_settings(database_url=first_settings.database_url)
    async for first in _open(first_settings):
        await first.context.catalog.upsert(demo_records())
        async for second in _open(second_settings):
            assert not any("sofa" in n for n in await _names(second, "couch"))  # cached too
            put = await first.client.put(
                "/synonyms", json={"synonyms": "couch, sofa"}, headers=first.headers
            )
            assert put.status_code == 200
            names = await _names(second, "couch")
            assert names and all("sofa" in n for n in names[:3]), names


async def test_the_synonyms_file_loads_at_start_and_reloads_when_it_changes(
    make_settings: SettingsFactory, tmp_path: Path
) -> None:
    file = tmp_path / "synonyms.txt"
    file.write_text("couch, sofa\n")
    settings = make_settings(synonyms_file=file, synonyms_poll_seconds=0.1)
    async for api in _open(settings):
        await api.context.catalog.upsert(demo_records())
        assert (await api.client.get("/synonyms")).json()["file"] == str(file)
        assert any("sofa" in n for n in await _names(api, "couch"))
        file.write_text("# no rules any more\n")
        for _ in range(50):
            if not any("sofa" in n for n in await _names(api, "couch")):
                break
            await asyncio.sleep(0.1)
        else:
            pytest.fail("the edited synonyms file was not reloaded")
        # a PUT rewrites the (writable) file, so the next start keeps it
        put = await api.client.put(
            "/synonyms", json={"synonyms": "perfume, lipstick"}, headers=api.headers
        )
        assert put.status_code == 200
        assert file.read_text() == "perfume, lipstick"


async def test_a_bad_synonyms_file_stops_the_start_naming_it(
    make_settings: SettingsFactory, tmp_path: Path
) -> None:
    file = tmp_path / "synonyms.txt"
    file.write_text("couch\n")
    with pytest.raises(Exception, match=r"synonyms.txt.*line 1"):
        async for _ in _open(make_settings(synonyms_file=file)):
            pass
