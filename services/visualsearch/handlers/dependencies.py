"""Request-scoped access to the process context, its services, and the API-key check."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request, Security, UploadFile
from fastapi.security import APIKeyHeader

from visualsearch.exceptions import AuthenticationError, ImageTooLargeError
from visualsearch.factory import Context
from visualsearch.services.indexing import IndexingService
from visualsearch.services.products import ProductService
from visualsearch.services.search import SearchService
from visualsearch.services.similar import SimilarService


def get_context(request: Request) -> Context:
    return request.app.state.context


ContextDep = Annotated[Context, Depends(get_context)]


def search_service(context: ContextDep) -> SearchService:
    return context.search_service()


def similar_service(context: ContextDep) -> SimilarService:
    return context.similar_service()


def product_service(context: ContextDep) -> ProductService:
    return context.product_service()


def indexing_service(context: ContextDep) -> IndexingService:
    return context.indexing_service()


API_KEY_HEADER = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="The deployment's write key."
)


def require_api_key(
    context: ContextDep, x_api_key: Annotated[str | None, Security(API_KEY_HEADER)] = None
) -> None:
    """Writes need the configured key (compared in constant time; never logged)."""
    expected = context.settings.api_key
    if expected is None:
        raise AuthenticationError(
            "Writes are disabled: this deployment has no VISUALSEARCH_API_KEY configured."
        )
    if not x_api_key or not hmac.compare_digest(
        x_api_key.encode(), expected.get_secret_value().encode()
    ):
        raise AuthenticationError("A valid X-API-Key header is required for this operation.")


async def read_upload(upload: UploadFile, max_bytes: int) -> bytes:
    """Read an uploaded file, refusing it as soon as it passes ``max_bytes``."""
    chunks, size = [], 0
    while chunk := await upload.read(1024 * 1024):
        size += len(chunk)
        if size > max_bytes:
            raise ImageTooLargeError(
                f"The image is larger than the {max_bytes / 1048576:.0f} MiB limit."
            )
        chunks.append(chunk)
    return b"".join(chunks)


SearchDep = Annotated[SearchService, Depends(search_service)]
SimilarDep = Annotated[SimilarService, Depends(similar_service)]
ProductsDep = Annotated[ProductService, Depends(product_service)]
IndexingDep = Annotated[IndexingService, Depends(indexing_service)]
WriteAccess = Depends(require_api_key)
