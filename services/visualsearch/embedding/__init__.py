"""Embedding models behind one interface (``base.Embedder``), one small adapter per model family."""
