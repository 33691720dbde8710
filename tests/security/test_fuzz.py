"""Property-based tests and a bounded fuzz run of the upload and form parsing.

Whatever bytes or fields arrive, the answer is a clean client error (or success): the image
decoder raises only our input errors, the catalogue parser only ``InputError``, and the HTTP
API never answers 500 to a mangled multipart body or form.
"""

from __future__ import annotations

import io

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from tests.api.helpers import index
from tests.conftest import API_KEY, Api
from tests.support.images import encode, jpeg
from visualsearch.exceptions import InputError
from visualsearch.imaging import ImageLimits, decode_image
from visualsearch.services.catalog_files import parse_catalog

LIMITS = ImageLimits(max_bytes=10 * 1024 * 1024, max_pixels=40_000_000)
CLIENT_ERRORS = {400, 413, 415, 422}


def seeds() -> list[bytes]:
    """One valid file per accepted format (and an animated GIF) to mutate."""
    base = Image.open(io.BytesIO(jpeg(seed=5, size=(48, 40))))
    frames = [base, base.rotate(90)]
    gif = io.BytesIO()
    frames[0].save(gif, "GIF", save_all=True, append_images=frames[1:], duration=50, loop=0)
    return [
        encode(base, "JPEG", quality=80),
        encode(base, "PNG"),
        encode(base.convert("RGBA"), "WEBP"),
        encode(base, "BMP"),
        gif.getvalue(),
    ]


SEEDS = seeds()


@st.composite
def mutated_images(draw: st.DrawFn) -> bytes:
    """A valid image with bytes flipped, cut, or inserted: what a broken upload looks like."""
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 8))):
        op = draw(st.sampled_from(("flip", "cut", "insert")))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if op == "flip" and data:
            data[at] = draw(st.integers(0, 255))
        elif op == "cut":
            del data[at : at + draw(st.integers(1, 64))]
        else:
            data[at:at] = draw(st.binary(min_size=1, max_size=16))
    return bytes(data)


def assert_decodes_or_refuses(data: bytes) -> None:
    try:
        image = decode_image(data, LIMITS)
    except InputError:
        return
    assert image.mode == "RGB" and image.width > 0 and image.height > 0


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_images())
def test_decoder_on_mutated_images_raises_only_input_errors(data: bytes) -> None:
    assert_decodes_or_refuses(data)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2048))
def test_decoder_on_arbitrary_bytes_raises_only_input_errors(data: bytes) -> None:
    assert_decodes_or_refuses(data)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from([".json", ".jsonl", ".csv"]), st.text(max_size=400))
def test_catalogue_parser_raises_only_input_errors(suffix: str, text: str) -> None:
    try:
        entries = list(parse_catalog(text, suffix))
    except InputError:
        return
    for entry in entries:
        assert entry.row >= 1


def multipart(fields: dict[str, str], file: bytes, boundary: str = "fuzzb0undary") -> bytes:
    out = io.BytesIO()
    for name, value in fields.items():
        out.write(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode())
        out.write(value.encode() + b"\r\n")
    out.write(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="q.jpg"\r\n'
        "Content-Type: image/jpeg\r\n\r\n".encode()
    )
    out.write(file + f"\r\n--{boundary}--\r\n".encode())
    return out.getvalue()


VALID_SEARCH = multipart({"top_k": "5"}, jpeg(seed=6, size=(32, 32)))


@st.composite
def mangled_bodies(draw: st.DrawFn) -> bytes:
    """The multipart body of a valid search, with its framing and headers damaged."""
    data = bytearray(VALID_SEARCH)
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, len(data) - 1))
        if draw(st.booleans()):
            data[at : at + draw(st.integers(1, 40))] = draw(st.binary(max_size=40))
        else:
            data[at:at] = draw(st.sampled_from([b"\r\n", b"--", b'"', b";", b"\x00", b"="]))
    return bytes(data)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(body=st.one_of(st.just(VALID_SEARCH), mangled_bodies()))
async def test_mangled_multipart_bodies_never_answer_500(api: Api, body: bytes) -> None:
    """A bounded fuzz run: damaged bodies against POST /search, answered 200 or 4xx.

    A 4xx names its problem; a body still whole enough to parse is an ordinary search, so its
    answer is a real one: the catalogue's one product, found.
    """
    if await api.context.catalog.count() == 0:  # hypothesis reuses the app between examples
        await index(api, "fuzz-1", jpeg(seed=6, size=(32, 32)))
    response = await api.client.post(
        "/search",
        content=body,
        headers={"Content-Type": "multipart/form-data; boundary=fuzzb0undary"},
    )
    assert response.status_code == 200 or response.status_code in CLIENT_ERRORS, (
        response.status_code,
        response.text,
        body[:300],
    )
    answer = response.json()
    if response.status_code != 200:
        assert set(answer) == {"detail", "code"}, answer
        assert answer["detail"] and answer["code"] != "internal_error", answer
    else:
        assert [hit["product_id"] for hit in answer["results"]] == ["fuzz-1"], answer
        assert answer["count"] == 1


form_text = st.one_of(
    st.text(max_size=60),
    st.sampled_from(
        ["NaN", "Infinity", "-0", "1e309", "0x10", "9" * 40, "", " ", "\x00", "<script>", "'; --"]
    ),
)


@settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    fields=st.fixed_dictionaries(
        {
            "product_id": form_text,
            "name": form_text,
            "price": form_text,
            "category": form_text,
        },
        optional={"stock": form_text, "rating": form_text, "brand": form_text},
    )
)
async def test_index_form_fields_never_answer_500(api: Api, fields: dict[str, str]) -> None:
    response = await api.client.post(
        "/index",
        data=fields,
        files={"file": ("a.jpg", jpeg(seed=7, size=(32, 32)), "image/jpeg")},
        headers={"X-API-Key": API_KEY},
    )
    assert response.status_code == 202 or response.status_code in CLIENT_ERRORS, (
        fields,
        response.status_code,
        response.text,
    )


async def test_index_form_with_every_field_mangled_in_one_go(api: Api) -> None:
    """Out-of-range values together: one 422 naming the problems, nothing stored."""
    response = await api.client.post(
        "/index",
        data={
            "product_id": "",
            "name": "",
            "price": "NaN",
            "category": "x" * 10_000,
            "stock": "-5",
        },
        files={"file": ("a.jpg", jpeg(seed=8), "image/jpeg")},
        headers={"X-API-Key": API_KEY},
    )
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["code"] == "validation_error"
    # one answer names every problem, so the shop fixes them in one go
    for field in ("product_id", "name", "price", "category", "stock"):
        assert field in body["detail"], (field, body["detail"])
    assert await api.context.catalog.count() == 0
