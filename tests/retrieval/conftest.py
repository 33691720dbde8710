"""The demo catalogue's rows in a fresh PostgreSQL database, shared by a module's tests."""

from tests.retrieval.demo import catalog

__all__ = ["catalog"]
