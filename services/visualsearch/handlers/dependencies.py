"""Request-scoped access to the process context, its services, and the API-key check.

The dependencies that do no I/O and load nothing are ``async def``: FastAPI runs a plain ``def``
dependency on its thread pool, one thread hop each, and a similar-products request made four
of them (bench/RESULTS.md, issue 17). ``search_service`` stays a ``def``: building the
retrievers may load the text model on first use, which must not block the event loop."""

from __future__ import annotations

import hmac
import time
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Header, Request, Security, UploadFile
from fastapi.security import APIKeyHeader

from visualsearch.exceptions import AuthenticationError, ImageTooLargeError
from visualsearch.experiments import VariantSettings, valid_tab_id
from visualsearch.factory import Context
from visualsearch.services.indexing import IndexingService
from visualsearch.services.insights import InsightsService
from visualsearch.services.products import ProductService
from visualsearch.services.search import SearchService
from visualsearch.services.similar import SimilarService


async def get_context(request: Request) -> Context:
    return request.app.state.context


ContextDep = Annotated[Context, Depends(get_context)]


@dataclass(frozen=True)
class Shopper:
    """Who searches, as far as the shop may know: a storefront tab's random id, the experiment
    variant it is in, and when the request arrived (for the search's recorded latency)."""

    tab_id: str | None
    variant: str | None
    settings: VariantSettings | None
    started: float = field(default_factory=time.perf_counter)

    def min_score(self, asked: float | None) -> float | None:
        """The request's cut-off, else the variant's (an experiment may set one)."""
        if asked is not None or self.settings is None:
            return asked
        return self.settings.min_score


TAB_ID = (
    "The storefront tab's random id (sessionStorage, no personal data): recorded with the "
    "search and, with an experiment on, it chooses the tab's variant. Optional."
)


async def shopper(
    context: ContextDep,
    x_tab_id: Annotated[str | None, Header(description=TAB_ID)] = None,
) -> Shopper:
    tab_id = valid_tab_id(x_tab_id)  # a malformed id is ignored, never an error
    variant, settings = context.variant(tab_id)
    return Shopper(tab_id, variant, settings)


ShopperDep = Annotated[Shopper, Depends(shopper)]


def search_service(context: ContextDep, who: ShopperDep) -> SearchService:
    return context.search_service(who.variant)


async def insights_service(context: ContextDep) -> InsightsService:
    return context.insights_service()


async def similar_service(context: ContextDep) -> SimilarService:
    return context.similar_service()


async def product_service(context: ContextDep) -> ProductService:
    return context.product_service()


async def indexing_service(context: ContextDep) -> IndexingService:
    return context.indexing_service()


API_KEY_HEADER = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="The deployment's write key."
)


async def require_api_key(
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
InsightsDep = Annotated[InsightsService, Depends(insights_service)]
WriteAccess = Depends(require_api_key)
