"""CLIP adapter through ``transformers``: image and text towers in one space.

Loads by hub id (``openai/clip-vit-base-patch32``) or from a local directory in the Hugging Face
layout. Never falls back to random weights: a model that cannot be loaded is an error.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from visualsearch.embedding.base import Embedder, ModelInfo, denormalise_pixels, l2_normalise
from visualsearch.exceptions import ModelLoadError

DEFAULT_CLIP = "openai/clip-vit-base-patch32"
OPENAI_MEAN = [0.48145466, 0.4578275, 0.40821073]
OPENAI_STD = [0.26862954, 0.26130258, 0.27577711]


def _features(output: Any) -> torch.Tensor:
    """transformers 4 returns a tensor, 5 a ModelOutput whose pooler_output is the projection."""
    return output if isinstance(output, torch.Tensor) else output.pooler_output


class ClipEmbedder(Embedder):
    """CLIP image and text features, L2-normalised; vector size from ``projection_dim``."""

    def __init__(
        self,
        name: str = DEFAULT_CLIP,
        device: str = "auto",
        cache_dir: Path | None = None,
        local_only: bool = False,
    ) -> None:
        super().__init__(device)
        self.name = name
        self.cache_dir = cache_dir
        self.local_only = local_only
        self._model: Any = None
        self._tokenizer: Any = None
        self._size = 224
        self._mean = np.array(OPENAI_MEAN, dtype=np.float32)
        self._std = np.array(OPENAI_STD, dtype=np.float32)
        self._dim = 0

    @property
    def info(self) -> ModelInfo:
        self.load()
        return ModelInfo(name=self.name, dim=self._dim, text_search=True)

    @property
    def input_size(self) -> int:
        return self._size

    def _load(self) -> None:
        from transformers import CLIPImageProcessor, CLIPModel, CLIPTokenizer

        kwargs: dict[str, Any] = {"cache_dir": str(self.cache_dir)} if self.cache_dir else {}
        if self.local_only:
            kwargs["local_files_only"] = True
        try:
            model = CLIPModel.from_pretrained(self.name, **kwargs)
            tokenizer = CLIPTokenizer.from_pretrained(self.name, **kwargs)
        except Exception as exc:  # hub unreachable, missing files, wrong architecture...
            raise ModelLoadError(f"CLIP model {self.name!r} could not be loaded: {exc}") from exc
        try:
            processor = CLIPImageProcessor.from_pretrained(self.name, **kwargs)
            crop = processor.crop_size
            self._size = int(crop["height"] if isinstance(crop, dict) else crop)
            self._mean = np.array(processor.image_mean, dtype=np.float32)
            self._std = np.array(processor.image_std, dtype=np.float32)
        except Exception:  # no preprocessor_config.json: the model config still says the size
            self._size = int(getattr(model.config.vision_config, "image_size", 224))
        self._model = model.eval().to(self.device)
        self._tokenizer = tokenizer
        self._dim = int(model.config.projection_dim or 512)

    def preprocess(self, image: Image.Image) -> np.ndarray:
        """CLIP's recipe: shortest side to the input size (bicubic), centre crop, standardise."""
        width, height = image.size
        scale = self._size / min(width, height)
        resized = image.resize(
            (max(self._size, round(width * scale)), max(self._size, round(height * scale))),
            Image.Resampling.BICUBIC,
        )
        left = (resized.width - self._size) // 2
        top = (resized.height - self._size) // 2
        cropped = resized.crop((left, top, left + self._size, top + self._size))
        array = np.asarray(cropped, dtype=np.float32) * (1.0 / 255.0)
        array = (array - self._mean) / self._std
        return np.ascontiguousarray(array.transpose(2, 0, 1), dtype=np.float32)

    def pictures(self, batch: np.ndarray) -> np.ndarray:
        return denormalise_pixels(batch, self._mean, self._std)

    def _forward_images(self, pixels: torch.Tensor) -> torch.Tensor:
        return _features(self._model.get_image_features(pixel_values=pixels))

    def embed_texts(self, texts: list[str]) -> np.ndarray:
        self.load()
        tokens = self._tokenizer(texts, padding=True, truncation=True, return_tensors="pt")
        with torch.inference_mode():
            output = self._model.get_text_features(**tokens.to(self.device))
            return l2_normalise(_features(output))
