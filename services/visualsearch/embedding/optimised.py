"""Faster image embedding behind the same ``Embedder`` interface: ONNX Runtime, fp32 or int8.

The image tower of a loaded fp32 embedder is exported to ONNX once (cached on disk, keyed by the
model's output on a fixed probe, so new weights mean a new export) and run by ONNX Runtime, which
is markedly faster than eager PyTorch on CPUs, especially one image at a time. Text stays on the
fp32 PyTorch model, and ``torch`` keeps the exact fp32 path.

int8 (``quantisation``): a ViT's Linear layers quantise dynamically in seconds; a convolutional
tower (EfficientNet-Lite0) quantises statically with calibration, which with its recall gate on
the quality harness takes minutes, so it is made by an explicit step (``visualsearch model
quantize``, run in the image build) and never at a start. That step leaves a verdict beside the
fp32 file (``verdict``); a start reads it.

Backends (``VISUALSEARCH_EMBED_BACKEND``): ``torch`` (exact), ``onnx`` (fp32, same vectors to
~1e-6), ``int8`` and ``auto``:

- a valid int8 verdict for this model exists (in the cache or the image's prebuilt directory):
  int8 when its Recall@10 is within ``verdict.TOLERANCE`` of fp32's, else onnx;
- no verdict, Linear layers: int8 made now, where it passes the quick accuracy gate on shipped
  real images (cosine >= 0.99 to fp32 for every probe image), else onnx;
- no verdict, convolutions only: onnx, with a log line saying why.

torch on CUDA or without onnxruntime. ``int8`` by name uses the verdict's model (with a warning
when its verdict fails), quantises a Linear tower now, and is a start-up error for a
convolutional tower without a quantised model: quantising on demand would make every start of
a fresh cache pay minutes.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from visualsearch.embedding.base import Embedder, ModelInfo
from visualsearch.embedding.quantisation import count_dynamic, has_matmul, quantise_dynamic
from visualsearch.embedding.verdict import Verdict, int8_beside, read_verdict
from visualsearch.exceptions import ModelLoadError

log = logging.getLogger(__name__)

BACKENDS = ("auto", "torch", "onnx", "int8")
GATE_COSINE = 0.99
PROBE_IMAGES = Path(__file__).resolve().parents[1] / "demo" / "images"
PROBE_COUNT = 8
_export_lock = threading.Lock()


def default_cache_dir(model_cache_dir: Path | None = None) -> Path:
    """Where exported models live: beside the model cache, else the user's cache directory."""
    if model_cache_dir is not None:
        return model_cache_dir / "onnx"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "visualsearch" / "onnx"


def writable_dir(preferred: Path) -> Path:
    """``preferred`` when it can be written (created if needed), else a temp directory: pods
    with a read-only home still get the fast path, exporting once per start."""
    import tempfile

    for candidate in (preferred, Path(tempfile.gettempdir()) / "visualsearch-onnx"):
        try:
            candidate.mkdir(parents=True, exist_ok=True)
            probe = candidate / f".write-test-{os.getpid()}"
            probe.touch()
            probe.unlink()
            return candidate
        except OSError:
            continue
    raise ModelLoadError(f"no writable directory for exported models (tried {preferred})")


def probe_batch(embedder: Embedder, count: int = PROBE_COUNT) -> np.ndarray:
    """Preprocessed real product images (the shipped demo photos) to check a fast path against."""
    from visualsearch.imaging import to_rgb

    # the main images only (demo-NNNN.jpg): the probe set stayed as it was when galleries came
    files = sorted(PROBE_IMAGES.glob("demo-????.jpg"))[:count]
    if not files:
        raise ModelLoadError(f"no probe images in {PROBE_IMAGES} to check a quantised model")
    images = []
    for file in files:
        with Image.open(file) as img:
            images.append(embedder.preprocess(to_rgb(img)))
    return np.stack(images)


def modules_of(embedder: Embedder) -> list[torch.nn.Module]:
    """The torch modules an adapter holds (its model), found by type, not by name."""
    return [v for v in vars(embedder).values() if isinstance(v, torch.nn.Module)]


_fingerprints: weakref.WeakKeyDictionary[Embedder, str] = weakref.WeakKeyDictionary()


def fingerprint(embedder: Embedder) -> str:
    """A key that changes with the weights: a hash of every parameter and buffer, and versions."""
    cached = _fingerprints.get(embedder)
    if cached is not None:
        return cached
    digest = hashlib.blake2b(digest_size=12)
    for part in (embedder.info.name, str(embedder.input_size), torch.__version__, _ort_version()):
        digest.update(part.encode())
    for module in modules_of(embedder):
        for name, tensor in module.state_dict().items():
            digest.update(name.encode())
            digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    key = digest.hexdigest()
    _fingerprints[embedder] = key
    return key


def _ort_version() -> str:
    import onnxruntime

    return str(onnxruntime.__version__)


class _ImageTower(torch.nn.Module):
    """The embedder's fp32 image forward pass as a module the ONNX exporter can trace."""

    def __init__(self, embedder: Embedder) -> None:
        super().__init__()
        self._embedder = embedder
        for index, module in enumerate(modules_of(embedder)):  # weights export as initialisers
            self.add_module(f"model{index}", module)

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        return self._embedder._forward_images(pixels)


def export_onnx(embedder: Embedder, path: Path) -> None:
    """Write the image tower of a loaded fp32 ``embedder`` to ``path`` (batch size dynamic)."""
    import warnings

    size = embedder.input_size
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    with warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            _ImageTower(embedder).eval(),  # eval: the exporter restores the mode it finds
            (torch.zeros(2, 3, size, size),),
            str(tmp),
            input_names=["pixels"],
            output_names=["embedding"],
            dynamic_axes={"pixels": {0: "batch"}, "embedding": {0: "batch"}},
            opset_version=17,
            dynamo=False,
        )
    tmp.replace(path)


def cosine_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise cosine similarity of two (N, dim) arrays."""
    num = (a * b).sum(axis=1)
    return num / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1) + 1e-12)


@dataclass(frozen=True)
class Located:
    """Where this model's fp32 export is, and its int8 verdict if a valid one lies beside it."""

    fp32: Path
    verdict: Verdict | None
    why: str  # why there is no valid verdict ("valid" when there is)


class OnnxEmbedder(Embedder):
    """A loaded fp32 ``base`` embedder whose image tower runs in ONNX Runtime.

    ``precision`` is ``fp32`` or ``int8``; preprocessing, model info and text embedding are the
    base's own, so vectors live in the same space and the index never sees a difference in kind.
    Models are looked up in ``cache_dir`` (written when an export is needed) and then in
    ``prebuilt_dir`` (read only: the image build's ``visualsearch model quantize``);
    ``model_path`` runs that one file instead (the quantise step judging what it made).
    """

    def __init__(
        self,
        base: Embedder,
        precision: str = "fp32",
        cache_dir: Path | None = None,
        threads: int | None = None,
        prebuilt_dir: Path | None = None,
        model_path: Path | None = None,
    ) -> None:
        super().__init__("cpu")
        if precision not in ("fp32", "int8"):
            raise ValueError(f"unknown precision {precision!r}")
        self.base = base
        self.precision = precision
        self.cache_dir = cache_dir or default_cache_dir()
        self.prebuilt_dir = prebuilt_dir
        self.threads = threads
        self.model_path: Path | None = model_path
        self.verdict: Verdict | None = None
        self._located: Located | None = None
        self._session: Any = None

    @property
    def backend(self) -> str:
        return "int8" if self.precision == "int8" else "onnx"

    @property
    def info(self) -> ModelInfo:
        return self.base.info

    @property
    def input_size(self) -> int:
        return self.base.input_size

    def preprocess(self, image: Image.Image) -> np.ndarray:
        return self.base.preprocess(image)

    def pictures(self, batch: np.ndarray) -> np.ndarray:
        return self.base.pictures(batch)

    def embed_texts(self, texts: list[str]) -> np.ndarray:
        return self.base.embed_texts(texts)

    def located(self) -> Located:
        """The fp32 export to use: the first directory whose copy has a valid int8 verdict beside
        it, else the first that has one, else a new export into the (writable) cache."""
        if self._located is not None:
            return self._located
        self.base.load()
        name = f"{fingerprint(self.base)}-fp32.onnx"
        dirs = [self.cache_dir] + ([self.prebuilt_dir] if self.prebuilt_dir else [])
        found = [d / name for d in dirs if (d / name).is_file()]
        reasons = []
        for path in found:
            verdict, why = read_verdict(path)
            if verdict is not None:
                self._located = Located(path, verdict, why)
                return self._located
            reasons.append(why)
        if found:
            self._located = Located(found[0], None, "; ".join(reasons))
            return self._located
        self.cache_dir = writable_dir(self.cache_dir)
        path = self.cache_dir / name
        with _export_lock:
            if not path.is_file():
                log.info("exporting the image tower to ONNX", extra={"path": str(path)})
                export_onnx(self.base, path)
        self._located = Located(path, None, f"no int8 verdict beside {name} in {self.cache_dir}")
        return self._located

    def fp32_path(self) -> Path:
        """The exported fp32 model, exported now if no directory has it."""
        return self.located().fp32

    def int8_path(self) -> tuple[Path, int]:
        """The int8 model and its count of dynamically quantised Linear layers: the verdict's
        model when there is one, else a Linear tower quantised now (seconds); a convolutional
        tower without a verdict is an error (``visualsearch model quantize`` makes it)."""
        located = self.located()
        if located.verdict is not None:
            path = int8_beside(located.fp32)
            return path, count_dynamic(path)
        if not has_matmul(located.fp32):
            raise ModelLoadError(
                "EMBED_BACKEND=int8: this model's image tower is convolutional and has no int8 "
                f"model yet ({located.why}). Make it with `visualsearch model quantize` (a few "
                "minutes: static quantisation and the recall gate), or use "
                "EMBED_BACKEND=auto or onnx."
            )
        self.cache_dir = writable_dir(self.cache_dir)
        path = self.cache_dir / int8_beside(located.fp32).name
        with _export_lock:
            count = count_dynamic(path) if path.is_file() else quantise_dynamic(located.fp32, path)
        return path, count

    def _load(self) -> None:
        try:
            import onnxruntime as ort
        except ImportError as exc:
            raise ModelLoadError(
                "The onnx/int8 embedding backends need the onnxruntime package."
            ) from exc
        if self.model_path is None:
            fp32 = self.precision == "fp32"
            self.model_path = self.fp32_path() if fp32 else self.int8_path()[0]
            self.verdict = self.located().verdict
        self._session = make_session(ort, self.model_path, self.threads)

    def _forward_images(self, pixels: torch.Tensor) -> torch.Tensor:
        output = self._session.run(None, {"pixels": pixels.numpy()})[0]
        return torch.from_numpy(output)


def make_session(ort: Any, path: Path, threads: int | None) -> Any:
    """An ONNX Runtime CPU session using as many threads as torch does (the configured count)."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or torch.get_num_threads()
    options.inter_op_num_threads = 1
    # Idle pool threads sleep instead of spinning: in a server the model shares few cores with
    # decoding, the event loop and the stores, and spinning threads starve them (measured:
    # search p50 with a ViT-B/32-sized CLIP on 2 cores 54 ms spinning, 25 ms not).
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def gate(base: Embedder, fast: Embedder, batch: np.ndarray) -> float:
    """The lowest cosine between the fp32 base and a fast path over ``batch``."""
    return float(cosine_rows(base.embed_images(batch), fast.embed_images(batch)).min())


def optimise(
    base: Embedder,
    backend: str = "auto",
    cache_dir: Path | None = None,
    prebuilt_dir: Path | None = None,
) -> Embedder:
    """The loaded embedder for ``backend`` around a loaded fp32 ``base`` (see the module doc)."""
    if backend not in BACKENDS:
        raise ModelLoadError(f"Unknown embedding backend {backend!r}; use one of {BACKENDS}.")
    if backend == "torch":
        return base
    if backend == "auto":
        return _auto(base, cache_dir, prebuilt_dir)
    if base.device.type != "cpu":
        raise ModelLoadError(f"The {backend} embedding backend runs on the CPU; use torch on GPUs.")
    precision = "int8" if backend == "int8" else "fp32"
    fast = OnnxEmbedder(base, precision, cache_dir, prebuilt_dir=prebuilt_dir)
    fast.load()
    if fast.verdict is not None and precision == "int8" and not fast.verdict.passes():
        log.warning(
            "EMBED_BACKEND=int8 although its recall verdict fails: %s", fast.verdict.summary()
        )
    return fast


def _auto(base: Embedder, cache_dir: Path | None, prebuilt_dir: Path | None) -> Embedder:
    if base.device.type != "cpu":
        return base
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        log.warning("onnxruntime is not installed: embedding with plain PyTorch (slower)")
        return base
    try:
        return _fastest_that_agrees(base, cache_dir, prebuilt_dir)
    except Exception as exc:  # an export or runtime failure must not stop the service
        log.warning("fast embedding path unavailable (%s): embedding with plain PyTorch", exc)
        return base


def _fastest_that_agrees(
    base: Embedder, cache_dir: Path | None, prebuilt_dir: Path | None
) -> Embedder:
    int8 = OnnxEmbedder(base, "int8", cache_dir, prebuilt_dir=prebuilt_dir)
    located = int8.located()
    if located.verdict is not None:
        if located.verdict.passes():
            int8.load()
            log.info("embedding backend int8: %s", located.verdict.summary())
            return int8
        log.info(
            "int8 refused by its recall verdict (%s): using onnx fp32", located.verdict.summary()
        )
    elif has_matmul(located.fp32) and int8.int8_path()[1]:  # a ViT: dynamic int8, quick gate
        int8.load()
        cosine = gate(base, int8, probe_batch(base))
        if cosine >= GATE_COSINE:
            log.info("embedding backend int8", extra={"min_cosine": round(cosine, 5)})
            return int8
        log.info(
            "int8 embeddings disagree with fp32; using onnx fp32",
            extra={"min_cosine": round(cosine, 5)},
        )
    else:
        log.info(
            "no int8 model for this convolutional tower (%s): using onnx fp32; "
            "`visualsearch model quantize` makes one",
            located.why,
        )
    fp32 = OnnxEmbedder(base, "fp32", cache_dir, prebuilt_dir=prebuilt_dir)
    fp32._located = located  # the same lookup: no second hashing
    fp32.load()
    log.info("embedding backend onnx (fp32)")
    return fp32
