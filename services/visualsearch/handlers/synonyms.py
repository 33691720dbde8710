"""``GET /synonyms`` (public) and ``PUT /synonyms`` (write key): the shop's synonyms."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from visualsearch.handlers.dependencies import ContextDep, WriteAccess
from visualsearch.schemas import ErrorBody, Synonyms, SynonymsUpdate
from visualsearch.services.synonyms import SynonymService

router = APIRouter(tags=["search"])


def synonym_service(context: ContextDep) -> SynonymService:
    return context.synonym_service()


SynonymsDep = Annotated[SynonymService, Depends(synonym_service)]


@router.get("/synonyms", response_model=Synonyms)
async def get_synonyms(service: SynonymsDep) -> Synonyms:
    """The synonyms keyword search applies, as the shop wrote them."""
    return await service.get()


@router.put(
    "/synonyms",
    response_model=Synonyms,
    dependencies=[WriteAccess],
    responses={
        401: {"model": ErrorBody, "description": "No or a wrong X-API-Key."},
        422: {"model": ErrorBody, "description": "A rule does not parse: the line is named."},
    },
)
async def put_synonyms(service: SynonymsDep, body: SynonymsUpdate) -> Synonyms:
    """Replace the synonyms (Solr/Elasticsearch format). Every replica applies them from its
    next search; cached answers made with the old ones are not served again."""
    return await service.put(body.synonyms)
