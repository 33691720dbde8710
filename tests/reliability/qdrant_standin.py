"""A Qdrant-compatible HTTP server for fault tests: Qdrant's REST API over its local-mode engine.

No Qdrant server binary can be installed on our machines, yet "Qdrant is down" must be tested
through the network path the service really uses in production (``QDRANT_URL``: the REST client,
its connection pool, timeouts and errors). This process answers the REST endpoints the service
calls, backed by ``qdrant-client``'s own local engine, so the service talks to it exactly as it
talks to a Qdrant server. The faults the tests inject are real process faults: the server is
killed (connections refused) or frozen with SIGSTOP (connections accepted, never answered).

What it cannot honour it refuses with Qdrant's 400 error, so a test of the collection layout
fails instead of passing on parameters silently dropped: more than one shard or replica, and
quantisation. Payload indexes (plain keyword/float/integer ones) are recorded and reported back
in the collection info; the engine filters by scanning, which finds the same points an index
would. Its search is an exact scan too, so recall is not tested against it.

Run: ``python tests/reliability/qdrant_standin.py --port P --path DIR``.
"""

from __future__ import annotations

import argparse
import json
import time
from importlib.metadata import version
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from qdrant_client import QdrantClient, models


def create_standin(path: str) -> FastAPI:
    client = QdrantClient(path=path)
    app = FastAPI()
    recorded = Path(path) / "payload-indexes.json"  # kept across restarts, as a server keeps them
    payload_schema: dict[str, dict[str, Any]] = (
        json.loads(recorded.read_text()) if recorded.exists() else {}
    )

    def record() -> None:
        recorded.write_text(json.dumps(payload_schema))

    def refused(reason: str) -> JSONResponse:
        """Qdrant's answer to a request it cannot carry out."""
        return JSONResponse({"status": {"error": f"Bad request: {reason}"}, "time": 0.0}, 400)

    def ok(result: Any) -> dict[str, Any]:
        if hasattr(result, "model_dump"):
            result = result.model_dump(mode="json", exclude_none=False)
        elif isinstance(result, list):
            result = [r.model_dump(mode="json") if hasattr(r, "model_dump") else r for r in result]
        return {"result": result, "status": "ok", "time": 0.0}

    async def body(request: Request, model: Any) -> Any:
        return model.model_validate(await request.json())

    @app.get("/")
    def root() -> dict[str, str]:
        # the client compares versions at start-up: answer with its own
        return {
            "title": "qdrant - vector search engine (test stand-in)",
            "version": version("qdrant-client"),
        }

    @app.get("/collections")
    def collections() -> dict[str, Any]:
        return ok(client.get_collections())

    @app.get("/aliases")
    def aliases() -> dict[str, Any]:
        return ok(client.get_aliases())

    @app.post("/collections/aliases")
    async def change_aliases(request: Request) -> dict[str, Any]:
        change = await body(request, models.ChangeAliasesOperation)
        return ok(client.update_collection_aliases(change_aliases_operations=change.actions))

    @app.get("/collections/{name}/exists")
    def exists(name: str) -> dict[str, Any]:
        return ok({"exists": client.collection_exists(name)})

    @app.get("/collections/{name}")
    def get_collection(name: str) -> dict[str, Any]:
        info = client.get_collection(name)
        info.config.params.shard_number = 1  # what it holds: one shard, one copy
        info.config.params.replication_factor = 1
        info.payload_schema = {
            field: models.PayloadIndexInfo.model_validate({**schema, "points": info.points_count})
            for field, schema in payload_schema.get(name, {}).items()
        }
        return ok(info)

    @app.put("/collections/{name}", response_model=None)
    async def create(name: str, request: Request) -> dict[str, Any] | JSONResponse:
        spec = await body(request, models.CreateCollection)
        if (spec.shard_number or 1) != 1 or (spec.sharding_method is not None):
            return refused(f"the stand-in has one shard (asked for {spec.shard_number})")
        if (spec.replication_factor or 1) != 1:
            return refused(f"the stand-in keeps one copy (asked for {spec.replication_factor})")
        vectors = spec.vectors
        quantised = spec.quantization_config is not None or (
            isinstance(vectors, models.VectorParams) and vectors.quantization_config is not None
        )
        if quantised:
            return refused("the stand-in cannot quantise vectors")
        created = client.create_collection(name, vectors_config=vectors)
        payload_schema[name] = {}
        record()
        return ok(created)

    @app.delete("/collections/{name}")
    def drop(name: str) -> dict[str, Any]:
        payload_schema.pop(name, None)
        record()
        return ok(client.delete_collection(name))

    @app.put("/collections/{name}/index", response_model=None)
    async def payload_index(name: str, request: Request) -> dict[str, Any] | JSONResponse:
        index = await body(request, models.CreateFieldIndex)
        schema = index.field_schema
        if not isinstance(schema, models.PayloadSchemaType):
            return refused(f"the stand-in records plain payload indexes only, not {schema!r}")
        if not client.collection_exists(name):
            return JSONResponse({"status": {"error": f"Collection `{name}` not found"}}, 404)
        payload_schema.setdefault(name, {})[index.field_name] = {"data_type": schema.value}
        record()
        return ok({"operation_id": 0, "status": "completed"})

    @app.put("/collections/{name}/points")
    async def upsert(name: str, request: Request) -> dict[str, Any]:
        points = await body(request, models.PointsList)
        return ok(client.upsert(name, points=points.points))

    @app.post("/collections/{name}/points/query")
    async def query(name: str, request: Request) -> dict[str, Any]:
        q = await body(request, models.QueryRequest)
        vector = q.query.nearest if isinstance(q.query, models.NearestQuery) else q.query
        return ok(
            client.query_points(
                name,
                query=vector,
                limit=q.limit or 10,
                offset=q.offset,
                query_filter=q.filter,
                score_threshold=q.score_threshold,
                with_payload=q.with_payload if q.with_payload is not None else True,
            )
        )

    @app.post("/collections/{name}/points/query/groups")
    async def query_groups(name: str, request: Request) -> dict[str, Any]:
        q = await body(request, models.QueryGroupsRequest)
        vector = q.query.nearest if isinstance(q.query, models.NearestQuery) else q.query
        return ok(
            client.query_points_groups(
                name,
                group_by=q.group_by,
                query=vector,
                limit=q.limit or 10,
                group_size=q.group_size or 1,
                query_filter=q.filter,
                score_threshold=q.score_threshold,
                with_payload=q.with_payload if q.with_payload is not None else True,
            )
        )

    @app.post("/collections/{name}/points/batch")
    async def batch(name: str, request: Request) -> dict[str, Any]:
        b = await body(request, models.UpdateOperations)
        return ok(client.batch_update_points(name, update_operations=b.operations))

    @app.post("/collections/{name}/points/delete")
    async def delete(name: str, request: Request) -> dict[str, Any]:
        data = await request.json()
        return ok(client.delete(name, points_selector=models.PointIdsList(points=data["points"])))

    @app.post("/collections/{name}/points")
    async def retrieve(name: str, request: Request) -> dict[str, Any]:
        r = await body(request, models.PointRequest)
        return ok(client.retrieve(name, ids=r.ids, with_payload=r.with_payload or True))

    @app.post("/collections/{name}/points/count")
    async def count(name: str, request: Request) -> dict[str, Any]:
        c = await body(request, models.CountRequest)
        return ok(client.count(name, count_filter=c.filter, exact=True))

    @app.post("/collections/{name}/points/scroll")
    async def scroll(name: str, request: Request) -> dict[str, Any]:
        s = await body(request, models.ScrollRequest)
        points, offset = client.scroll(
            name,
            scroll_filter=s.filter,
            limit=s.limit or 10,
            offset=s.offset,
            with_payload=s.with_payload if s.with_payload is not None else True,
        )
        return ok(
            {"points": [p.model_dump(mode="json") for p in points], "next_page_offset": offset}
        )

    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--path", required=True)
    args = parser.parse_args()
    started = time.monotonic()
    app = create_standin(args.path)
    print(f"qdrant stand-in ready in {time.monotonic() - started:.2f}s", flush=True)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
