"""Helpers of the chart tests: run helm, render a chart into Kubernetes objects, pick objects.

Why: every render test wants the same thing, the list of objects `helm template` would apply,
as dicts; a failing render must show helm's own message.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import yaml

from tests.support.kube import find_binary

REPO = Path(__file__).resolve().parents[2]
CHARTS = REPO / "charts"
PLATFORM = CHARTS / "visual-search"
STORE_CHARTS = ("qdrant", "postgresql", "minio", "redis")
RELEASE = "shop"
NAMESPACE = "store-ns"

Obj = dict[str, Any]


def helm(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run the cached helm binary (fails loudly when it is missing)."""
    result = subprocess.run(
        [str(find_binary("helm")), *args], capture_output=True, text=True, timeout=120
    )
    if check and result.returncode != 0:
        raise AssertionError(f"helm {' '.join(args)} failed:\n{result.stderr}{result.stdout}")
    return result


def set_args(values: dict[str, Any]) -> list[str]:
    """`--set k=v` arguments (bools and numbers as helm parses them)."""
    out: list[str] = []
    for key, value in values.items():
        text = str(value).lower() if isinstance(value, bool) else str(value)
        out += ["--set", f"{key}={text}"]
    return out


def render(*extra: str, chart: Path = PLATFORM, values: dict[str, Any] | None = None) -> list[Obj]:
    """Objects of `helm template` for ``chart`` (helm test hooks included)."""
    result = helm(
        "template", RELEASE, str(chart), "--namespace", NAMESPACE, *set_args(values or {}), *extra
    )
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def render_error(values: dict[str, Any] | None = None, chart: Path = PLATFORM) -> str:
    """helm's error output for a render that must fail."""
    result = helm("template", RELEASE, str(chart), *set_args(values or {}), check=False)
    assert result.returncode != 0, "the render was expected to fail"
    return result.stderr


def of_kind(objs: Iterable[Obj], kind: str) -> list[Obj]:
    """Objects of one kind."""
    return [o for o in objs if o["kind"] == kind]


def named(objs: Iterable[Obj], kind: str, name: str) -> Obj:
    """The one object of ``kind`` called ``name``."""
    found = [o for o in objs if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind}/{name}: found {len(found)}"
    return found[0]


def pod_spec(obj: Obj) -> Obj:
    """The pod spec of a workload or a Pod."""
    if obj["kind"] == "Pod":
        return obj["spec"]
    return obj["spec"]["template"]["spec"]


def workloads(objs: Iterable[Obj]) -> Iterator[Obj]:
    """Objects that run pods."""
    kinds = {"Deployment", "StatefulSet", "Job", "Pod", "DaemonSet"}
    return (o for o in objs if o["kind"] in kinds)


def env_of(container: Obj) -> dict[str, Obj]:
    """A container's env entries by name."""
    return {e["name"]: e for e in container.get("env", [])}
