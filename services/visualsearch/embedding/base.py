"""The embedder interface every model family implements."""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

from visualsearch.exceptions import TextSearchUnavailableError


@dataclass(frozen=True)
class ModelInfo:
    """What an index records about the model that made its vectors."""

    name: str
    dim: int
    text_search: bool


def pick_device(requested: str = "auto") -> torch.device:
    """CUDA when present (or asked for), else the CPU."""
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(requested)


def l2_normalise(vectors: torch.Tensor) -> np.ndarray:
    """Unit-length float32 rows, as cosine similarity by dot product expects."""
    vectors = torch.nn.functional.normalize(vectors.float(), dim=-1)
    return vectors.cpu().numpy().astype(np.float32, copy=False)


class Embedder(ABC):
    """A model that maps images (and maybe texts) to L2-normalised float32 vectors.

    ``load()`` is lazy, locked and idempotent; ``preprocess`` is per-image CPU work that callers
    run on worker threads; ``embed_images`` takes a stacked batch and runs one forward pass.
    """

    def __init__(self, device: str = "auto") -> None:
        self.device = pick_device(device)
        self._lock = threading.Lock()
        self._loaded = False

    @property
    @abstractmethod
    def info(self) -> ModelInfo:
        """Name, vector size (read from the model) and whether text search works."""

    @property
    @abstractmethod
    def input_size(self) -> int:
        """Side of the square image the model takes, so decoders can draft-decode to it."""

    def load(self) -> None:
        with self._lock:
            if not self._loaded:
                self._load()
                self._loaded = True

    @abstractmethod
    def _load(self) -> None:
        """Load weights; called once under the lock."""

    @abstractmethod
    def preprocess(self, image: Image.Image) -> np.ndarray:
        """An RGB image → one float32 CHW array the model takes."""

    @abstractmethod
    def _forward_images(self, pixels: torch.Tensor) -> torch.Tensor:
        """A NCHW batch → un-normalised embeddings."""

    def embed_images(self, batch: np.ndarray) -> np.ndarray:
        """Stacked preprocessed images → (N, dim) unit vectors."""
        self.load()
        with torch.inference_mode():
            pixels = torch.from_numpy(batch).to(self.device)
            return l2_normalise(self._forward_images(pixels))

    def pictures(self, batch: np.ndarray) -> np.ndarray:
        """What a preprocessed batch shows: (N, H, W, 3) RGB in [0, 1] (``preprocess`` undone),
        for what reads colours beside the model (``embedding.colour``)."""
        raise NotImplementedError(f"{type(self).__name__} cannot show its inputs as pictures")

    def embed_texts(self, texts: list[str]) -> np.ndarray:
        """Texts → (N, dim) unit vectors in the image space, where the model has a text tower."""
        raise TextSearchUnavailableError(
            f"Text search needs a model with a text tower (CLIP); this index uses {self.info.name}."
        )


def normalise_pixels(
    image: Image.Image, size: int, mean: np.ndarray, std: np.ndarray
) -> np.ndarray:
    """Resize to ``size``², scale to [0,1], standardise, and return CHW float32."""
    if image.size != (size, size):
        image = image.resize((size, size), Image.Resampling.BICUBIC)
    array = np.asarray(image, dtype=np.float32) * (1.0 / 255.0)
    array = (array - mean) / std
    return np.ascontiguousarray(array.transpose(2, 0, 1), dtype=np.float32)


def denormalise_pixels(batch: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """The inverse of :func:`normalise_pixels` for a NCHW batch: NHWC RGB in [0, 1]."""
    rgb = batch.transpose(0, 2, 3, 1) * std + mean
    return np.clip(rgb, 0.0, 1.0, dtype=np.float32)
