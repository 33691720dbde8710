"""``GET /suggest``: completions for the search box as the shopper types."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from visualsearch.handlers.dependencies import ContextDep
from visualsearch.schemas import Suggestions
from visualsearch.services.suggest import MAX_SUGGESTIONS, SuggestService

router = APIRouter(tags=["search"])


def suggest_service(context: ContextDep) -> SuggestService:
    return context.suggest_service()


@router.get("/suggest", response_model=Suggestions)
async def suggest(
    service: Annotated[SuggestService, Depends(suggest_service)],
    q: Annotated[str, Query(max_length=200, description="What the shopper has typed so far.")],
    limit: Annotated[int, Query(ge=1, le=MAX_SUGGESTIONS, description="Most suggestions.")] = 8,
) -> Suggestions:
    """Product names, brands and categories that complete the typed words (the last one as a
    prefix), then close ones by trigram similarity (typos). Empty for nothing typed."""
    return await service.suggest(q, limit)
