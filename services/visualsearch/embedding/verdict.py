"""The int8 model's verdict: the recall gate's outcome, kept beside the fp32 ONNX file.

``visualsearch model quantize`` writes ``<key>-int8.onnx`` and ``<key>-int8.verdict.json`` next to
``<key>-fp32.onnx``: the Recall@10 of each model on the quality harness's queries, which queries,
and a SHA-256 of both model files. A service start only reads it (milliseconds: two file hashes),
so no start pays for quantising or for the harness. A verdict counts only while both hashes
match the files beside it (a re-export or an edited model makes it stale), and whether it passes
is decided again at every start from its recalls and today's ``TOLERANCE``; the ``passed`` it
records is for people reading the file.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

FORMAT = 1
TOLERANCE = 0.01  # int8's Recall@10 may be at most this far below fp32's (issue 21)


def int8_beside(fp32: Path) -> Path:
    return fp32.with_name(fp32.name.replace("-fp32.onnx", "-int8.onnx"))


def verdict_beside(fp32: Path) -> Path:
    return fp32.with_name(fp32.name.replace("-fp32.onnx", "-int8.verdict.json"))


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class Verdict:
    model: str
    fp32_file: str
    fp32_sha256: str
    int8_file: str
    int8_sha256: str
    method: str  # how the int8 model was made
    recall_fp32: float  # Recall@10 over every query
    recall_int8: float
    queries: dict[str, Any]  # count, products, seed, variants, kinds, views, catalogue
    tolerance: float = TOLERANCE
    passed: bool = False  # as judged when made; ``passes()`` judges it again
    made_at: str = ""
    seconds: float = 0.0
    format: int = FORMAT
    extra: dict[str, Any] = field(default_factory=dict)  # per-kind recalls and the like

    def passes(self, tolerance: float | None = None) -> bool:
        """Whether int8's Recall@10 is within ``tolerance`` (today's rule) of fp32's."""
        allowed = TOLERANCE if tolerance is None else tolerance
        return self.recall_int8 >= self.recall_fp32 - allowed

    def summary(self) -> str:
        return (
            f"Recall@10 int8 {self.recall_int8:.3f} vs fp32 {self.recall_fp32:.3f} on "
            f"{self.queries.get('count', '?')} harness queries (tolerance {TOLERANCE})"
        )

    def write(self, path: Path) -> None:
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2, sort_keys=True) + "\n")
        tmp.replace(path)


def read_verdict(fp32: Path) -> tuple[Verdict | None, str]:
    """The verdict beside ``fp32`` when it is valid for the files there, else None and why not."""
    path = verdict_beside(fp32)
    if not path.is_file():
        return None, f"no int8 verdict beside {fp32.name} in {fp32.parent}"
    try:
        raw = json.loads(path.read_text())
        if raw.get("format") != FORMAT:
            return None, f"{path.name} has format {raw.get('format')!r}, not {FORMAT}"
        verdict = Verdict(**raw)
        float(verdict.recall_fp32), float(verdict.recall_int8)
    except (OSError, ValueError, TypeError, AttributeError) as exc:
        return None, f"{path.name} is unreadable ({exc})"
    if verdict.fp32_sha256 != sha256(fp32):
        return None, f"{path.name} was made for another fp32 model (stale)"
    int8 = int8_beside(fp32)
    if not int8.is_file():
        return None, f"{path.name} names an int8 model that is missing ({int8.name})"
    if verdict.int8_sha256 != sha256(int8):
        return None, f"{int8.name} changed after its verdict was made"
    return verdict, "valid"
