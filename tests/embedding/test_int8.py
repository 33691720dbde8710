"""Static int8 for the convolutional model (EfficientNet-Lite0, real weights): the explicit
``visualsearch model quantize`` step, its verdict, and how a start reads it.

The step runs once for the session (on a 12-product sample of the harness; the gallery is the
whole demo catalogue), into a directory that then plays the image's prebuilt one. Every other
test copies that directory, so no test quantises again, and none exports the fp32 model again
(its file comes from the step, found by the model's fingerprint).
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import numpy as np
import onnx
import pytest
from click.testing import CliRunner
from PIL import Image

from tests.support.images import photo
from visualsearch.cli import main
from visualsearch.embedding import verdict as verdict_module
from visualsearch.embedding.efficientnet import EfficientNetLiteEmbedder
from visualsearch.embedding.optimised import PROBE_IMAGES, OnnxEmbedder, cosine_rows, optimise
from visualsearch.embedding.quantisation import quantised_convs
from visualsearch.embedding.verdict import read_verdict, sha256
from visualsearch.exceptions import ModelLoadError
from visualsearch.imaging import to_rgb

PRODUCTS = 12
pytestmark = pytest.mark.slow  # the step takes a minute or more (once for the session)


@pytest.fixture(scope="session")
def made(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real quantise step, once: fp32 export, static int8 model and verdict."""
    directory = tmp_path_factory.mktemp("prebuilt-onnx")
    result = CliRunner().invoke(
        main,
        [
            "model",
            "quantize",
            "--model",
            "efficientnet-lite0",
            "--output",
            str(directory),
            "--limit",
            str(PRODUCTS),
            "--calibration",
            "16",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "Recall@10 int8" in result.output
    logging.getLogger().handlers.clear()  # the command configured logging for a terminal
    return directory


@pytest.fixture(scope="module")
def exact() -> EfficientNetLiteEmbedder:
    embedder = EfficientNetLiteEmbedder("cpu")
    embedder.load()
    return embedder


def files_in(directory: Path) -> tuple[Path, Path, Path]:
    (fp32,) = directory.glob("*-fp32.onnx")
    (int8,) = directory.glob("*-int8.onnx")
    (verdict,) = directory.glob("*-int8.verdict.json")
    return fp32, int8, verdict


def copy_of(made: Path, tmp_path: Path) -> Path:
    target = tmp_path / "onnx"
    shutil.copytree(made, target)
    return target


def real_images(embedder: EfficientNetLiteEmbedder) -> np.ndarray:
    """Photographs and demo product images the step did not calibrate on (the -2 views)."""
    images = [photo(name) for name in ("chelsea.png", "coffee.png", "astronaut.png", "rocket.jpg")]
    for file in sorted(PROBE_IMAGES.glob("demo-????-2.jpg"))[::6]:
        with Image.open(file) as img:
            rgb = to_rgb(img)
            rgb.load()
            images.append(rgb)
    return np.stack([embedder.preprocess(i) for i in images])


def test_the_step_writes_the_int8_model_and_a_verdict_that_matches_the_files(made: Path) -> None:
    fp32, int8, path = files_in(made)
    raw = json.loads(path.read_text())
    assert raw["fp32_sha256"] == sha256(fp32) and raw["int8_sha256"] == sha256(int8)
    assert raw["model"] == "efficientnet-lite0" and raw["queries"]["views"] == "whole"
    queries = raw["queries"]
    assert queries["products"] == PRODUCTS and queries["indexed"] == 216
    assert "photo" in queries["kinds"] and "view" in queries["kinds"]
    assert queries["count"] >= PRODUCTS * 8  # one per generated kind, plus the views
    for key in ("recall_fp32", "recall_int8"):
        assert 0.3 <= raw[key] <= 1.0  # self queries alone give 1/9
    assert raw["passed"] == (raw["recall_int8"] >= raw["recall_fp32"] - 0.01)
    assert set(raw["extra"]["recall_at_10_by_kind"]) == set(queries["kinds"])
    assert isinstance(raw["extra"]["machine"]["vnni"], bool)
    verdict, why = read_verdict(fp32)
    assert verdict is not None and why == "valid"
    # the convolutions are int8 but the stem and the head are not
    graph = onnx.load(str(int8)).graph
    dequantised = {o for n in graph.node if n.op_type == "DequantizeLinear" for o in n.output}
    convs = {n.name: n for n in graph.node if n.op_type == "Conv"}
    assert quantised_convs(int8) == len(convs) - 2 >= 40
    assert convs["/_conv_stem/Conv"].input[1] not in dequantised
    assert convs["/_conv_head/Conv"].input[1] not in dequantised
    assert int8.stat().st_size < fp32.stat().st_size / 2


def test_auto_takes_int8_from_a_passing_verdict_without_exporting_or_quantising(
    made: Path, exact: EfficientNetLiteEmbedder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(verdict_module, "TOLERANCE", 1.0)  # whatever 12 products measured
    cache = tmp_path / "empty-cache"
    chosen = optimise(exact, "auto", cache, prebuilt_dir=made)
    assert isinstance(chosen, OnnxEmbedder) and chosen.backend == "int8"
    assert chosen.model_path == files_in(made)[1]
    assert not cache.exists() or not any(cache.iterdir())  # nothing made at start
    fp32 = optimise(exact, "onnx", cache, prebuilt_dir=made)
    assert isinstance(fp32, OnnxEmbedder) and fp32.model_path == files_in(made)[0]
    batch = real_images(exact)
    want, got = exact.embed_images(batch), chosen.embed_images(batch)
    cosine = cosine_rows(want, got)
    assert cosine.mean() >= 0.95 and cosine.min() >= 0.9, cosine
    assert cosine.max() < 0.99999  # really another model, not the fp32 one
    # the nearest neighbours among these images mostly survive quantisation
    sims_want, sims_got = want @ want.T, got @ got.T
    np.fill_diagonal(sims_want, -2)
    np.fill_diagonal(sims_got, -2)
    assert (sims_want.argmax(1) == sims_got.argmax(1)).mean() >= 0.8


def test_the_gate_refuses_int8_whose_recall_cannot_meet_the_tolerance(
    made: Path,
    exact: EfficientNetLiteEmbedder,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(verdict_module, "TOLERANCE", -1.0)  # int8 would need 1.0 above fp32
    with caplog.at_level(logging.INFO):
        chosen = optimise(exact, "auto", tmp_path / "cache", prebuilt_dir=made)
    assert isinstance(chosen, OnnxEmbedder) and chosen.backend == "onnx"
    assert chosen.model_path == files_in(made)[0]
    assert "refused by its recall verdict" in caplog.text
    # asked for by name, int8 is used anyway, with a warning
    with caplog.at_level(logging.WARNING):
        forced = optimise(exact, "int8", tmp_path / "cache", prebuilt_dir=made)
    assert isinstance(forced, OnnxEmbedder) and forced.model_path == files_in(made)[1]
    assert "verdict fails" in caplog.text


@pytest.mark.parametrize("tamper", ["stale fp32 hash", "edited int8 model", "broken json"])
def test_a_stale_or_tampered_verdict_is_ignored(
    tamper: str,
    made: Path,
    exact: EfficientNetLiteEmbedder,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(verdict_module, "TOLERANCE", 1.0)  # it would pass if it were believed
    cache = copy_of(made, tmp_path)
    fp32, int8, path = files_in(cache)
    if tamper == "stale fp32 hash":
        raw = json.loads(path.read_text())
        raw["fp32_sha256"] = "0" * 64
        path.write_text(json.dumps(raw))
        reason = "another fp32 model"
    elif tamper == "edited int8 model":
        with int8.open("ab") as file:
            file.write(b"\0")
        reason = "changed after its verdict"
    else:
        path.write_text('{"format": 1, "recall_int8": ')
        reason = "unreadable"
    with caplog.at_level(logging.INFO):
        chosen = optimise(exact, "auto", cache)
    assert isinstance(chosen, OnnxEmbedder) and chosen.backend == "onnx"
    assert chosen.model_path == fp32  # the copy's export, found, not made again
    assert reason in caplog.text and "visualsearch model quantize" in caplog.text
    with pytest.raises(ModelLoadError, match="visualsearch model quantize"):
        optimise(exact, "int8", cache)


def test_int8_by_name_without_a_quantised_model_is_a_clear_error(
    made: Path, exact: EfficientNetLiteEmbedder, tmp_path: Path
) -> None:
    cache = copy_of(made, tmp_path)
    for path in files_in(cache)[1:]:
        path.unlink()
    with pytest.raises(ModelLoadError, match=r"convolutional.*visualsearch model quantize"):
        optimise(exact, "int8", cache)
    assert optimise(exact, "auto", cache).backend == "onnx"  # type: ignore[attr-defined]
