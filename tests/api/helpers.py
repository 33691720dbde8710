"""Helpers for API tests: index a product and wait for its job."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.conftest import Api


def product_form(product_id: str, category: str = "shoes", **extra: Any) -> dict[str, str]:
    form = {
        "product_id": product_id,
        "name": f"Product {product_id}",
        "price": "19.99",
        "category": category,
        "brand": "Acme",
        "stock": "5",
        "rating": "4.5",
        "description": "A test product.",
        "warranty": "1 year",
    }
    form.update({k: str(v) for k, v in extra.items()})
    return form


async def index(
    api: Api, product_id: str, image: bytes, wait: bool = True, **extra: Any
) -> dict[str, Any]:
    response = await api.client.post(
        "/index",
        headers=api.headers,
        data=product_form(product_id, **extra),
        files={"file": (f"{product_id}.jpg", image, "image/jpeg")},
    )
    assert response.status_code == 202, response.text
    job = response.json()
    if wait:
        return await wait_job(api, job["job_id"])
    return job


async def wait_job(
    api: Api, job_id: str, status: str = "done", timeout: float = 30
) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        body = (await api.client.get(f"/index/jobs/{job_id}")).json()
        if body["status"] == status:
            return body  # type: ignore[no-any-return]
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"job {job_id} is {body}, expected {status}")
        await asyncio.sleep(0.1)


async def search(api: Api, image: bytes, **form: Any) -> dict[str, Any]:
    response = await api.client.post(
        "/search",
        files={"file": ("q.jpg", image, "image/jpeg")},
        data={k: str(v) for k, v in form.items()},
    )
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]
