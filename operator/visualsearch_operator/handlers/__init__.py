"""kopf entry points (thin): importing this package registers every handler."""

from visualsearch_operator.handlers import catalog, index, lifecycle

__all__ = ["catalog", "index", "lifecycle"]
