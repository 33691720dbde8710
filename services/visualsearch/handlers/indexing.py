"""The indexing API: accept products, follow their jobs, bulk-load catalogues, remove products."""

from __future__ import annotations

from pathlib import PurePath
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Path, Query, Response, UploadFile

from visualsearch.exceptions import InputError
from visualsearch.handlers.dependencies import (
    ContextDep,
    IndexingDep,
    ProductsDep,
    WriteAccess,
    read_upload,
)
from visualsearch.schemas import (
    PRODUCT_ID_PATTERN,
    DeadLetters,
    Duplicates,
    ErrorBody,
    IndexAccepted,
    IngestSummary,
    JobOut,
    ProductInput,
)
from visualsearch.services.catalog_files import parse_catalog
from visualsearch.services.duplicates import DuplicateFinder

router = APIRouter(prefix="/index", tags=["indexing"])
MAX_DUPLICATES_PAGE = 1000
WRITE_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody},
    413: {"model": ErrorBody},
    415: {"model": ErrorBody},
    422: {"model": ErrorBody},
    503: {"model": ErrorBody},
}


@router.post(
    "",
    status_code=202,
    response_model=IndexAccepted,
    dependencies=[WriteAccess],
    responses=WRITE_ERRORS,
)
async def index_product(
    service: IndexingDep,
    context: ContextDep,
    file: Annotated[
        list[UploadFile],
        File(
            description="The product's images: one `file` field each, the first is the main "
            "image (at most VISUALSEARCH_MAX_IMAGES_PER_PRODUCT, 10 by default)."
        ),
    ],
    # the fields are validated together, so one 422 names every problem; an empty form field
    # counts as absent (FastAPI)
    product: Annotated[ProductInput, Form()],
) -> IndexAccepted:
    """Store the images and metadata, queue the embedding; 202 with the job to follow.

    Re-indexing a product replaces its gallery. Every image is checked before any is stored:
    one that is corrupt rejects the product whole."""
    service.check_gallery_size(len(file))
    images = [await read_upload(f, context.settings.max_upload_bytes) for f in file]
    job = await service.submit(product, images)
    return IndexAccepted(job_id=job.job_id, product_id=job.product_id, status=job.status)


@router.get("/jobs/{job_id}", response_model=JobOut, responses={404: {"model": ErrorBody}})
async def get_job(
    service: IndexingDep, job_id: Annotated[str, Path(pattern=r"^[0-9a-f]{32}$")]
) -> JobOut:
    """Where an indexing job stands: queued, running, done or failed (with its error)."""
    return JobOut(**(await service.job(job_id)).public())


@router.get("/dead-letters", response_model=DeadLetters)
async def dead_letters(service: IndexingDep, limit: int = 100) -> DeadLetters:
    """Jobs that failed every attempt, newest first, with their last error."""
    jobs = await service.dead_letters(min(max(limit, 1), 1000))
    return DeadLetters(jobs=[JobOut(**j.public()) for j in jobs])


@router.get("/duplicates", response_model=Duplicates, responses={503: {"model": ErrorBody}})
async def near_duplicates(
    context: ContextDep,
    limit: Annotated[
        int, Query(ge=1, le=MAX_DUPLICATES_PAGE, description="The most pairs in the page.")
    ] = 100,
    offset: Annotated[
        int, Query(ge=0, le=1_000_000, description="How many pairs to skip (0: the first).")
    ] = 0,
) -> Duplicates:
    """Pairs of products whose main images are near-duplicates (cosine at or above
    `threshold`, 0.98): double listings, most often. Each pair once, the most similar first,
    a page of `limit` from `offset` with the `total`; read from the stored vectors (one vector
    search per product, whatever the page)."""
    finder = DuplicateFinder(context.vectors)
    pairs = await finder.pairs()
    return Duplicates(
        threshold=finder.threshold,
        total=len(pairs),
        offset=offset,
        limit=limit,
        pairs=pairs[offset : offset + limit],
    )


@router.post(
    "/bulk", response_model=IngestSummary, dependencies=[WriteAccess], responses=WRITE_ERRORS
)
async def bulk_index(
    context: ContextDep,
    catalogue: Annotated[UploadFile, File(description="Catalogue as .json, .jsonl or .csv.")],
    images: Annotated[
        list[UploadFile] | None, File(description="Images named by the rows.")
    ] = None,
) -> IngestSummary:
    """Load many products at once (idempotent): rows name their images by file name (`image`,
    and an `images` list for a gallery).

    Products are embedded and stored synchronously in batches; the answer counts added,
    updated and unchanged products, lists each rejected row with its reason, and lists the
    near-duplicate pairs (main images, cosine >= 0.98) that involve a product it indexed.
    """
    suffix = PurePath(catalogue.filename or "catalogue.json").suffix.lower()
    text = (await read_upload(catalogue, 20 * 1024 * 1024)).decode("utf-8-sig", errors="replace")
    uploads = {PurePath(u.filename or "").name: u for u in images or []}
    cache: dict[str, bytes] = {}

    async def load(ref: str) -> bytes:
        if ref.startswith(("http://", "https://")):
            raise InputError("Bulk uploads must carry their images; URLs are fetched by `seed`.")
        name = PurePath(ref).name
        if name not in uploads:
            raise InputError(f"The image {ref!r} was not uploaded with the catalogue.")
        if name not in cache:
            cache[name] = await read_upload(uploads[name], context.settings.max_upload_bytes)
        return cache[name]

    entries = list(parse_catalog(text, suffix))
    return await context.bulk_ingester().ingest(entries, load)


@router.delete(
    "/{product_id}",
    status_code=204,
    dependencies=[WriteAccess],
    responses={401: {"model": ErrorBody}, 404: {"model": ErrorBody}},
)
async def delete_from_index(
    service: ProductsDep,
    product_id: Annotated[str, Path(pattern=PRODUCT_ID_PATTERN)],
) -> Response:
    """Remove the product from the vector index, the catalogue and the object store."""
    await service.remove(product_id)
    return Response(status_code=204)
