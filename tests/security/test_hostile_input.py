"""Hostile input: product ids with path, SQL and HTML metacharacters, ``/images`` traversal on
the on-disk object store, SVG/HTML disguised as images, and animated images."""

from __future__ import annotations

import io
import socket
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest
from PIL import Image

from tests.api.helpers import index, product_form, search
from tests.conftest import Api, SettingsFactory, start_api
from tests.security.live import live_server, read_response
from tests.support.images import encode, jpeg

HOSTILE_IDS = [
    "../etc/passwd",
    "a/b",
    "a\\b",
    "x' OR '1'='1",
    "1; DROP TABLE products; --",
    '"><script>alert(1)</script>',
    "<img src=x onerror=alert(1)>",
    "a\x00b",
    "%2e%2e%2f",
    "\uff41\uff42\uff43",  # fullwidth "abc": not the ASCII id it looks like
    "x" * 129,
    ".",
    "..",
]


async def test_hostile_product_ids_are_refused_or_not_found(api: Api) -> None:
    # two real products in two categories: an injected id or filter that matched too much
    # (``' OR '1'='1``, a wildcard) would bring back the other one, or both
    await index(api, "real-1", jpeg(seed=20))
    await index(api, "real-2", jpeg(seed=22), category="bags")
    for pid in HOSTILE_IDS:
        form = product_form("placeholder")
        form["product_id"] = pid
        created = await api.client.post(
            "/index",
            data=form,
            headers=api.headers,
            files={"file": ("a.jpg", jpeg(seed=21), "image/jpeg")},
        )
        assert created.status_code == 422, (pid, created.text)
        assert created.headers["content-type"] == "application/json"
        path = quote(pid, safe="")
        for method, url in (
            ("GET", f"/products/{path}"),
            ("DELETE", f"/products/{path}"),
            ("DELETE", f"/index/{path}"),
        ):
            response = await api.client.request(method, url, headers=api.headers)
            if pid in (".", ".."):  # the client resolves dot segments: the listing's redirect
                assert response.status_code in (307, 404, 405), (url, response.status_code)
                continue
            assert response.status_code in (404, 405, 422), (method, url, response.status_code)
            assert response.headers["content-type"] == "application/json"
        # ids and filters reach the database only as parameters; a NUL byte, which PostgreSQL
        # cannot hold, is refused by the schema (422), never a 500
        batch = await api.client.get("/products/batch", params={"ids": f"{pid},real-1"})
        if "\x00" in pid:
            assert batch.status_code == 422 and batch.json()["code"] == "validation_error"
        else:
            assert batch.status_code == 200, (pid, batch.text)
            assert [p["product_id"] for p in batch.json()] == ["real-1"]
        listing = await api.client.get("/products/", params={"category": pid})
        if "\x00" in pid:
            assert listing.status_code == 422
        elif len(pid) <= 100:
            assert listing.status_code == 200 and listing.json()["total"] == 0
    # nothing was dropped or injected: the table and its two products are intact
    assert await api.context.catalog.count() == 2
    for real in ("real-1", "real-2"):
        assert (await api.client.get(f"/products/{real}")).status_code == 200


def test_images_cannot_escape_the_object_directory(
    make_settings: SettingsFactory, tmp_path: Path
) -> None:
    """On the one-machine object store (a directory), raw, unnormalised traversal attempts."""
    objects = tmp_path / "store" / "objects"
    secret = tmp_path / "store" / "api-key"
    objects.mkdir(parents=True)
    secret.write_text("SECRET-KEY-CONTENT\n")
    (objects / "products").mkdir()
    settings = make_settings(s3_endpoint=None, objects_path=objects)
    attempts = [
        "/images/../api-key",
        "/images/..%2fapi-key",
        "/images/%2e%2e/api-key",
        "/images/%2e%2e%2fapi-key",
        "/images/products/..%2f..%2fapi-key",
        "/images/products/%2e%2e/%2e%2e/api-key",
        "/images/%252e%252e%252fapi-key",
        "/images/..%5capi-key",
        "/images/..\\api-key",
        f"/images/{quote(str(secret), safe='')}",
        f"/images/{secret}",
        "/images//etc/passwd",
        "/images/%2fetc%2fpasswd",
        "/images/products%00/../../api-key",
        "/images/./../api-key",
    ]
    with live_server(settings) as port:
        for target in attempts:
            sock = socket.create_connection(("127.0.0.1", port), timeout=10)
            sock.sendall(f"GET {target} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n".encode())
            answer = read_response(sock, timeout=10)
            sock.close()
            status = answer.split(b" ", 2)[1] if answer else b"none"
            # 400 from the HTTP parser, 404 for no route, 422 for a key outside the key pattern
            assert status in (b"400", b"404", b"422"), (target, answer[:300])
            assert b"SECRET-KEY" not in answer and b"root:" not in answer, target


async def post_index(api: Api, pid: str, data: bytes, name: str, ctype: str):  # type: ignore[no-untyped-def]
    return await api.client.post(
        "/index",
        data=product_form(pid),
        headers=api.headers,
        files={"file": (name, data, ctype)},
    )


SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect width="9" height="9"/></svg>'
)
HTML = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"


@pytest.mark.parametrize(
    ("data", "name", "ctype"),
    [
        (SVG, "photo.png", "image/png"),
        (SVG, "photo.svg", "image/svg+xml"),
        (HTML, "photo.jpg", "image/jpeg"),
        (b"\xff\xd8\xff\xe0" + HTML, "photo.jpg", "image/jpeg"),  # a JPEG magic, then HTML
        (b"GIF89a" + HTML, "photo.gif", "image/gif"),  # a GIF magic, then HTML
    ],
)
async def test_svg_and_html_disguised_as_images_are_refused(
    api: Api, data: bytes, name: str, ctype: str
) -> None:
    response = await post_index(api, "disguised", data, name, ctype)
    assert response.status_code in (400, 415), response.text
    assert await api.context.catalog.get("disguised") is None
    assert await api.context.objects.keys("products/disguised/") == []
    searched = await api.client.post("/search", files={"file": (name, data, ctype)})
    assert searched.status_code in (400, 415)


async def test_images_are_served_by_their_content_never_the_declared_type(api: Api) -> None:
    """A real PNG declared as text/html, and a GIF with HTML in a comment, are served as images."""
    png = encode(Image.open(io.BytesIO(jpeg(seed=30))), "PNG")
    await index_as(api, "declared-html", png, "x.html", "text/html")
    gif = io.BytesIO()
    Image.open(io.BytesIO(jpeg(seed=31))).convert("P").save(gif, "GIF", comment=HTML)
    assert HTML in gif.getvalue()
    await index_as(api, "gif-with-html", gif.getvalue(), "x.gif", "image/gif")
    for pid, expected in (("declared-html", "image/png"), ("gif-with-html", "image/gif")):
        product = (await api.client.get(f"/products/{pid}")).json()
        served = await api.client.get(product["image_url"])
        assert served.status_code == 200
        assert served.headers["content-type"] == expected
        assert served.headers["x-content-type-options"] == "nosniff"


async def index_as(api: Api, pid: str, data: bytes, name: str, ctype: str) -> None:
    response = await post_index(api, pid, data, name, ctype)
    assert response.status_code == 202, response.text


@pytest.mark.parametrize("fmt", ["PNG", "WEBP", "GIF"])
async def test_animated_images_index_and_search_by_their_first_frame(api: Api, fmt: str) -> None:
    # distinct pictures per format, so each search really reaches its own index
    seed = {"PNG": 40, "WEBP": 42, "GIF": 44}[fmt]
    first = Image.open(io.BytesIO(jpeg(seed=seed, size=(96, 96))))
    other = Image.open(io.BytesIO(jpeg(seed=seed + 1, size=(96, 96))))
    buffer = io.BytesIO()
    first.save(buffer, fmt, save_all=True, append_images=[other, first], duration=80, loop=0)
    animated = buffer.getvalue()
    with Image.open(io.BytesIO(animated)) as check:
        assert getattr(check, "n_frames", 1) >= 2  # really animated (APNG, animated WebP, GIF)
    await index(api, f"anim-{fmt.lower()}", animated)
    by_first = (await search(api, encode(first, "PNG")))["results"][0]
    by_second = (await search(api, encode(other, "PNG")))["results"][0]
    assert by_first["product_id"] == by_second["product_id"] == f"anim-{fmt.lower()}"
    assert by_first["score"] > by_second["score"], (by_first["score"], by_second["score"])


async def test_hostile_ids_leave_the_schema_untouched(make_settings: SettingsFactory) -> None:
    """The SQL in the ids above reached the database only as parameters: the schema is whole."""
    settings = make_settings()
    api, lifespan = await start_api(settings, worker=False)
    try:
        for pid in HOSTILE_IDS:
            await api.client.get(f"/products/{quote(pid, safe='')}")
            await api.client.get("/products/batch", params={"ids": pid})
        assert settings.database_url is not None
        with psycopg.connect(settings.database_url) as conn:
            tables = {
                r[0]
                for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname='public'")
            }
        assert {"products", "index_state"} <= tables
    finally:
        await api.client.aclose()
        await lifespan.__aexit__(None, None, None)  # type: ignore[attr-defined]
