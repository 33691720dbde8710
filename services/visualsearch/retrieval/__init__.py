"""Retrievers: each ranks products for one kind of evidence (an image's vector, CLIP's text
vector, keywords in the catalogue, a sentence encoder's text vector), every filter applied inside
its own store; :mod:`.fusion` merges their rankings. The search service orchestrates them."""

from visualsearch.retrieval.base import Candidate, Query, Retriever

__all__ = ["Candidate", "Query", "Retriever"]
