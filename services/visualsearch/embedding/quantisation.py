"""Making the int8 image tower from its fp32 ONNX export.

Two ways, by what the tower is made of:

- Linear layers (a ViT such as CLIP): dynamic quantisation of MatMul/Gemm weights; activations
  are quantised on the fly, so no calibration is needed and it takes seconds.
- Convolutions only (EfficientNet-Lite0): static quantisation, QDQ format, per-channel int8
  weights and uint8 activations whose ranges are calibrated (min/max) on shipped product images.
  ONNX Runtime fuses each QuantizeLinear/DequantizeLinear pair around a Conv into an integer
  convolution (VNNI on CPUs that have it). The stem convolution (the raw pixels, whose fine
  differences matter most) and the head (the 1x1 convolution to 1280 channels and the pooling
  that makes the embedding) stay fp32: quantising them costs the most accuracy for the least
  time. Calibration takes a minute on two cores, which is why this runs in an explicit step
  (``visualsearch model quantize``), never at a service's start.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np

DYNAMIC_OPS = ("MatMulInteger", "DynamicQuantizeMatMul")
CALIBRATION_BATCH = 8


def has_matmul(path: Path) -> bool:
    """Whether an exported image tower has Linear layers (MatMul/Gemm)."""
    import onnx

    graph = onnx.load(str(path), load_external_data=False).graph
    return any(node.op_type in ("MatMul", "Gemm") for node in graph.node)


def quantise_dynamic(source: Path, target: Path) -> int:
    """Dynamic int8 quantisation of the Linear layers (MatMul/Gemm); returns how many were."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    tmp = target.with_suffix(f".{os.getpid()}.tmp")
    quantize_dynamic(
        str(source), str(tmp), weight_type=QuantType.QInt8, op_types_to_quantize=["MatMul", "Gemm"]
    )
    tmp.replace(target)
    return count_dynamic(target)


def count_dynamic(path: Path) -> int:
    """How many dynamically quantised Linear layers a model has."""
    import onnx

    graph = onnx.load(str(path), load_external_data=False).graph
    return sum(node.op_type in DYNAMIC_OPS for node in graph.node)


def kept_fp32(path: Path) -> list[str]:
    """The nodes static quantisation leaves in fp32: the first convolution (the stem), the last
    one (the head) and every node after it (activation, pooling), by graph order."""
    import onnx

    nodes = list(onnx.load(str(path), load_external_data=False).graph.node)
    convs = [i for i, node in enumerate(nodes) if node.op_type == "Conv"]
    if not convs:
        raise ValueError(f"{path.name} has no convolutions to quantise statically")
    return [nodes[convs[0]].name] + [node.name for node in nodes[convs[-1] :]]


def quantise_static(source: Path, target: Path, calibration: np.ndarray) -> list[str]:
    """Static QDQ int8 of a convolutional tower, calibrated on ``calibration`` (N, 3, H, W
    preprocessed images); returns the names of the nodes kept fp32."""
    from onnxruntime.quantization import CalibrationDataReader

    if len(calibration) == 0:
        raise ValueError("static quantisation needs calibration images")

    class Batches(CalibrationDataReader):
        """The calibration images, a few at a time (one pass is all min/max needs)."""

        def __init__(self) -> None:
            pixels = np.ascontiguousarray(calibration, dtype=np.float32)
            self._batches: Iterator[np.ndarray] = iter(
                [
                    pixels[i : i + CALIBRATION_BATCH]
                    for i in range(0, len(pixels), CALIBRATION_BATCH)
                ]
            )

        def get_next(self) -> dict[str, np.ndarray] | None:
            batch = next(self._batches, None)
            return None if batch is None else {"pixels": batch}

    from onnxruntime.quantization.shape_inference import quant_pre_process

    tmp = target.with_suffix(f".{os.getpid()}.tmp")
    prepared = target.with_suffix(f".{os.getpid()}.pre.tmp")
    # Folds the exporter's computed "same" paddings into the convolutions: a Pad between a
    # DequantizeLinear and its Conv would stop ONNX Runtime fusing them into an int8 Conv.
    quant_pre_process(str(source), str(prepared), skip_symbolic_shape=True)
    keep = kept_fp32(prepared)
    try:
        with _quiet_root_info():
            _quantise(prepared, tmp, Batches(), keep)
    finally:
        prepared.unlink(missing_ok=True)
    tmp.replace(target)
    return keep


@contextmanager
def _quiet_root_info() -> Iterator[None]:
    """ONNX Runtime's quantiser logs a line per adjusted weight scale to the root logger at INFO
    (hundreds for EfficientNet); they say nothing a reader of our logs can act on."""
    root = logging.getLogger()

    def keep(record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING

    root.addFilter(keep)
    try:
        yield
    finally:
        root.removeFilter(keep)


def _quantise(source: Path, target: Path, reader: object, keep: list[str]) -> None:
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static

    quantize_static(
        str(source),
        str(target),
        reader,
        quant_format=QuantFormat.QDQ,
        per_channel=True,
        activation_type=QuantType.QUInt8,
        weight_type=QuantType.QInt8,
        nodes_to_exclude=keep,
        calibrate_method=CalibrationMethod.MinMax,
    )


def quantised_convs(path: Path) -> int:
    """How many convolutions of a QDQ model take int8 weights (a DequantizeLinear feeds them)."""
    import onnx

    graph = onnx.load(str(path), load_external_data=False).graph
    dequantised = {
        out for node in graph.node if node.op_type == "DequantizeLinear" for out in node.output
    }
    return sum(
        node.op_type == "Conv" and len(node.input) > 1 and node.input[1] in dequantised
        for node in graph.node
    )


def spread(items: Sequence[Path], count: int) -> list[Path]:
    """``count`` items taken evenly across ``items`` (all of them when there are fewer)."""
    if count >= len(items):
        return list(items)
    step = len(items) / count
    return [items[int(i * step)] for i in range(count)]
