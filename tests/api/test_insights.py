"""Shopper insights end to end on real stores: every answer has a search_id, events are checked
(422 and stored nowhere when malformed), figures come out as computed by hand, the admin API
wants the write key, and /events is rate limited like every public route."""

from __future__ import annotations

import json
from typing import Any

from tests.api.helpers import index
from tests.conftest import Api, SettingsFactory, start_api
from tests.support.images import jpeg


async def _catalogue(api: Api) -> None:
    for n in range(4):
        await index(api, f"p{n}", jpeg(seed=n), name=f"Red shoe {n}")


async def _insights(api: Api, **params: Any) -> dict[str, Any]:
    response = await api.client.get("/admin/insights", headers=api.headers, params=params)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def test_a_click_at_position_3_moves_mrr_and_ctr_as_computed_by_hand(api: Api) -> None:
    await _catalogue(api)
    first = (await api.client.get("/search", params={"q": "red shoe"})).json()
    second = (await api.client.get("/search", params={"q": "red shoe", "top_k": 3})).json()
    nothing = (await api.client.get("/search", params={"q": "zzzqqq xxyyzz"})).json()
    assert len({first["search_id"], second["search_id"], nothing["search_id"]}) == 3
    assert nothing["count"] == 0
    for search_id, position in ((first["search_id"], 1), (second["search_id"], 3)):
        response = await api.client.post(
            "/events",
            json={
                "search_id": search_id,
                "type": "click",
                "product_id": "p0",
                "position": position,
                "tab_id": "tab-12345678",
            },
        )
        assert response.status_code == 202, response.text
    body = await _insights(api)
    text = next(k for k in body["by_kind"] if k["kind"] == "text")
    assert text["searches"] == 3 and text["clicks"] == 2
    assert text["mean_reciprocal_rank"] == round((1 + 1 / 3) / 2, 6)
    assert text["click_through_rate"] == round(2 / 3, 6)
    assert text["zero_result_rate"] == round(1 / 3, 6)
    assert [q["query"] for q in body["unclicked_queries"]] == ["zzzqqq xxyyzz"]
    assert body["slowest"] and body["slowest"][0]["latency_ms"] > 0
    assert body["totals"]["searches"] == 3


async def test_cached_answers_get_a_new_search_id_and_similar_is_recorded(api: Api) -> None:
    await _catalogue(api)
    a = (await api.client.get("/search", params={"q": "red"})).json()
    b = (await api.client.get("/search", params={"q": "red"})).json()
    assert b["cache"] is True and a["search_id"] != b["search_id"]
    similar = (await api.client.get("/products/p0/similar")).json()
    assert len(similar["search_id"]) == 32
    kinds = {k["kind"]: k["searches"] for k in (await _insights(api))["by_kind"]}
    assert kinds == {"text": 2, "similar": 1}


async def test_a_click_in_a_similar_row_counts_for_the_similar_kind(api: Api) -> None:
    await _catalogue(api)
    first = (await api.client.get("/products/p0/similar", params={"top_k": 3})).json()
    again = (await api.client.get("/products/p0/similar", params={"top_k": 3})).json()
    assert again["cache"] is True and len({first["search_id"], again["search_id"]}) == 2
    clicked = again["results"][1]["product_id"]
    event = {"search_id": again["search_id"], "type": "click", "product_id": clicked}
    response = await api.client.post("/events", json={**event, "position": 2})
    assert response.status_code == 202, response.text
    similar = next(k for k in (await _insights(api))["by_kind"] if k["kind"] == "similar")
    assert similar["searches"] == 2 and similar["clicks"] == 1
    assert similar["click_through_rate"] == 0.5 and similar["mean_reciprocal_rank"] == 0.5


async def test_malformed_events_are_422_and_stored_nowhere(api: Api) -> None:
    good = {"search_id": "a" * 32, "type": "click", "product_id": "p0", "position": 1}
    bad = [
        {**good, "type": "hover"},
        {**good, "position": 0},
        {**good, "search_id": "not-an-id"},
        {**good, "product_id": "bad id/../"},
        {**good, "tab_id": "x"},
        {**good, "extra": "field"},
        {k: v for k, v in good.items() if k != "position"},
    ]
    for event in bad:
        response = await api.client.post("/events", json=event)
        assert response.status_code == 422, (event, response.text)
    assert (await api.client.post("/events", content=b"{not json")).status_code == 422
    await _insights(api)  # flushes the buffer
    status = (await api.client.get("/admin/status", headers=api.headers)).json()
    assert status["events_stored"] == 0
    assert (await api.client.post("/events", json=good)).status_code == 202
    await _insights(api)
    status = (await api.client.get("/admin/status", headers=api.headers)).json()
    assert status["events_stored"] == 1


async def test_the_event_intake_answers_as_the_route_does(api: Api) -> None:
    """A valid JSON event is answered before FastAPI's routing (the cheap path); one in another JSON
    media type takes the route itself. Both answer alike and both are stored; a malformed
    one is the route's 422 ErrorBody either way."""
    event = {"search_id": "c" * 32, "type": "purchase", "product_id": "p0", "position": 4}
    body = json.dumps(event).encode()
    fast = await api.client.post("/events", json=event)
    routed = await api.client.post(
        "/events", content=body, headers={"content-type": "application/merge-patch+json"}
    )
    for response in (fast, routed):
        assert response.status_code == 202
        assert response.headers["content-type"] == "application/json"
        assert response.content == b'{"status":"accepted"}'
    for headers in (
        {"content-type": "application/json"},
        {"content-type": "application/merge-patch+json"},
    ):
        bad = await api.client.post("/events", content=b'{"position": 0}', headers=headers)
        assert bad.status_code == 422 and bad.json()["code"] == "validation_error", bad.text
    await _insights(api)
    status = (await api.client.get("/admin/status", headers=api.headers)).json()
    assert status["events_stored"] == 2


async def test_the_admin_api_refuses_a_missing_or_wrong_key(api: Api) -> None:
    for path in ("/admin/insights", "/admin/status"):
        assert (await api.client.get(path)).status_code == 401
        wrong = await api.client.get(path, headers={"X-API-Key": "wrong"})
        assert wrong.status_code == 401 and "X-API-Key" in wrong.json()["detail"]
    retry = await api.client.post(f"/admin/dead-letters/{'0' * 32}/retry")
    assert retry.status_code == 401
    unknown = await api.client.post(f"/admin/dead-letters/{'0' * 32}/retry", headers=api.headers)
    assert unknown.status_code == 404


async def test_events_are_rate_limited(make_settings: SettingsFactory) -> None:
    running, lifespan = await start_api(make_settings(rate_limit_per_minute=5), worker=False)
    try:
        event = {"search_id": "b" * 32, "type": "click", "product_id": "p0", "position": 2}
        codes = [(await running.client.post("/events", json=event)).status_code for _ in range(8)]
        assert codes[:5] == [202] * 5 and codes[5:] == [429] * 3
    finally:
        await running.client.aclose()
        await lifespan.__aexit__(None, None, None)  # type: ignore[attr-defined]


async def test_an_experiment_splits_tabs_deterministically(make_settings: SettingsFactory) -> None:
    experiment = {"name": "cut", "variants": {"loose": {}, "strict": {"min_score": 0.99}}}
    running, lifespan = await start_api(make_settings(experiment=experiment))
    try:
        await _catalogue(running)
        counts = {}
        for n in range(12):
            tab = f"tab-{n:08d}"
            body = (
                await running.client.get(
                    "/search", params={"q": "shoe qqqq"}, headers={"X-Tab-Id": tab}
                )
            ).json()
            counts[tab] = body["count"]
        report = await _insights(running)
        variants = {v["variant"]: v for v in report["by_variant"]}
        assert set(variants) == {"loose", "strict"} and report["experiment"] == "cut"
        assert variants["strict"]["zero_result_rate"] == 1.0  # min_score 0.99 cuts half-matches
        assert variants["loose"]["zero_result_rate"] == 0.0
        assert sum(v["searches"] for v in variants.values()) == 12
    finally:
        await running.client.aclose()
        await lifespan.__aexit__(None, None, None)  # type: ignore[attr-defined]
