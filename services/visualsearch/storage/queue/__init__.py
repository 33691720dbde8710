"""The indexing job queue: ``base`` (the interface and its guarantees), ``redis``, ``postgres``."""
