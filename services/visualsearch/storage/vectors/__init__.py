"""Product vectors: ``base`` (the interface, payloads, generations) and one module per
backend: ``qdrant``, ``pgvector``, ``qdrant_edge``."""
