"""The charts adapter (storage layer): ``helm template`` of ``charts/visual-search``, as dicts.

The operator deploys the same charts a Helm user installs; it only renders them. Nothing of a Helm
release is kept (no release Secret, no history, no lock): the objects are applied by
:mod:`visualsearch_operator.kube` with server-side apply and owner references.

The platform chart depends on the four store charts beside it (``file://../qdrant`` ...). So that
no ``helm dependency build`` (and no chart archive) is needed, the renderer stages the chart once
per process in a temporary folder with the store charts as directories under its ``charts/``.
"""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
import tempfile
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from visualsearch_operator.exceptions import ChartRenderError

Obj = dict[str, Any]

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's loader where PyYAML has it: a render's YAML parses in a few ms instead of ~100."""

PLATFORM_CHART = "visual-search"
STORE_CHARTS = ("qdrant", "postgresql", "minio", "redis")
CACHED_RENDERS = 64
"""Renders kept per process: a render is a pure function of its values, and the periodic
re-apply of an unchanged index then costs no helm run."""


def default_charts_dir() -> Path:
    """``charts/`` of the source tree the operator runs from (the image sets its own path)."""
    return Path(__file__).resolve().parents[2] / "charts"


@dataclass
class ChartRenderer:
    """Renders ``charts/visual-search`` (with its store subcharts) for one release name."""

    helm: str = "helm"
    charts_dir: Path = field(default_factory=default_charts_dir)
    timeout: float = 60.0
    _staged: Path | None = field(default=None, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _cache: OrderedDict[str, list[Obj]] = field(default_factory=OrderedDict, init=False, repr=False)

    def chart_path(self) -> Path:
        """The platform chart with its dependencies in place (staged once per process)."""
        with self._lock:
            if self._staged is None or not self._staged.is_dir():
                self._staged = self._stage()
            return self._staged

    def _stage(self) -> Path:
        source = self.charts_dir / PLATFORM_CHART
        if not (source / "Chart.yaml").is_file():
            raise ChartRenderError(f"no chart at {source} (set VISUALSEARCH_OPERATOR_CHARTS_DIR)")
        root = Path(tempfile.mkdtemp(prefix="visualsearch-charts-"))
        staged = root / PLATFORM_CHART
        shutil.copytree(source, staged, ignore=shutil.ignore_patterns("charts", "Chart.lock"))
        for store in STORE_CHARTS:
            shutil.copytree(self.charts_dir / store, staged / "charts" / store)
        return staged

    def render(self, release: str, namespace: str, values: dict[str, Any]) -> list[Obj]:
        """Every object of the chart for ``values`` (helm test hooks left out), in Helm's order."""
        text = json.dumps(values, sort_keys=True)
        key = f"{release}\0{namespace}\0{text}"
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
                return copy.deepcopy(hit)
        objs = self._helm_template(release, namespace, text)
        with self._lock:
            self._cache[key] = objs
            while len(self._cache) > CACHED_RENDERS:
                self._cache.popitem(last=False)
        return copy.deepcopy(objs)

    def _helm_template(self, release: str, namespace: str, values: str) -> list[Obj]:
        command = [
            self.helm,
            "template",
            release,
            str(self.chart_path()),
            "--namespace",
            namespace,
            "--skip-tests",
            # JSON is YAML: the values go in on stdin, nothing is written to disk.
            "--values",
            "-",
        ]
        try:
            done = subprocess.run(
                command,
                input=values,
                capture_output=True,
                text=True,
                timeout=self.timeout,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise ChartRenderError(f"cannot run {self.helm}: {exc}") from exc
        if done.returncode != 0:
            raise ChartRenderError(f"helm template failed: {done.stderr.strip()[:2000]}")
        return [doc for doc in yaml.load_all(done.stdout, Loader=_LOADER) if doc]
