"""``python -m bench.operator_render [--rounds N] [--before COMMIT]``: what rendering the charts
costs the operator, against the hand-written builders it replaced.

Measures, for the demo index (``manifests/demo.yaml``'s spec):
- ``helm template`` of charts/visual-search with the operator's values (a new spec each round,
  so no render is served from the cache), and a cached render (an unchanged spec, as on every
  periodic re-apply);
- the old ``build_index_manifests`` of ``--before`` (checked out with ``git archive`` into a
  temporary folder and run in a child process);
- the size the helm binary and the charts add to the operator image.
Prints a Markdown section for bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from bench.timing import percentiles
from visualsearch_operator.builders.common import Capabilities, Owner
from visualsearch_operator.charts import STORE_CHARTS, ChartRenderer, default_charts_dir
from visualsearch_operator.services.index_reconcile import render_children
from visualsearch_operator.spec import parse_index_spec

ROOT = Path(__file__).resolve().parents[1]
OWNER = Owner("VisualSearchIndex", "demo", "shop", "uid-1")
CAPS = Capabilities(hpa_api_version="autoscaling/v2beta2")
OLD_BUILD = """
import sys, time, yaml
from visualsearch_operator.builders.common import Capabilities, Owner
from visualsearch_operator.builders.index import build_index_manifests
from visualsearch_operator.spec import parse_index_spec
raw = yaml.safe_load(open(sys.argv[1]))
owner = Owner("VisualSearchIndex", "demo", "shop", "uid-1")
caps = Capabilities(hpa_api_version="autoscaling/v2beta2")
for n in range(int(sys.argv[2])):
    spec = parse_index_spec({**raw, "cacheTTLSeconds": 100 + n})
    t = time.perf_counter(); build_index_manifests(owner, spec, caps)
    print(time.perf_counter() - t)
"""


def demo_spec() -> dict:
    docs = yaml.safe_load_all((ROOT / "manifests" / "demo.yaml").read_text())
    return next(d for d in docs if d and d["kind"] == "VisualSearchIndex")["spec"]


def find_helm() -> str:
    cached = Path.home() / ".cache/visualsearch/k8s/bin/helm"
    return os.environ.get("VISUALSEARCH_OPERATOR_HELM") or (
        str(cached) if cached.is_file() else shutil.which("helm") or "helm"
    )


def old_builders(before: str, spec_file: Path, rounds: int) -> list[float]:
    with tempfile.TemporaryDirectory() as tmp:
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", before, "operator/visualsearch_operator"],
            capture_output=True,
            check=True,
        ).stdout
        subprocess.run(["tar", "-x", "-C", tmp], input=archive, check=True)
        env = {**os.environ, "PYTHONPATH": f"{tmp}/operator"}
        out = subprocess.run(
            [sys.executable, "-c", OLD_BUILD, str(spec_file), str(rounds)],
            capture_output=True,
            text=True,
            env=env,
            check=True,
        ).stdout
    return [float(line) for line in out.split()]


def du(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.operator_render", description=__doc__)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--before", default="4a78d2e", help="Commit with the old builders.")
    args = parser.parse_args()
    raw = demo_spec()
    helm = find_helm()
    renderer = ChartRenderer(helm=helm)
    renderer.chart_path()  # staged once per process, as in the operator
    cold, cached = [], []
    for n in range(args.rounds):
        spec = parse_index_spec({**raw, "cacheTTLSeconds": 100 + n})
        t = time.perf_counter()
        objs = render_children(renderer, OWNER, spec, CAPS)
        cold.append(time.perf_counter() - t)
        t = time.perf_counter()
        render_children(renderer, OWNER, spec, CAPS)
        cached.append(time.perf_counter() - t)
    with tempfile.NamedTemporaryFile("w", suffix=".yaml") as spec_file:
        yaml.safe_dump(raw, spec_file)
        spec_file.flush()
        old = old_builders(args.before, Path(spec_file.name), args.rounds)
    charts = default_charts_dir()
    chart_bytes = sum(du(charts / name) for name in ("visual-search", *STORE_CHARTS))
    helm_bytes = Path(shutil.which(helm) or helm).stat().st_size
    rows = [
        ("helm template + own (new spec each round)", percentiles(cold)),
        ("cached render (unchanged spec: periodic re-apply)", percentiles(cached)),
        (f"old hand-written builders ({args.before})", percentiles(old)),
    ]
    print("## Operator: rendering the charts (issue 19)\n")
    cpus = os.cpu_count()
    print(f"Demo index, {len(objs)} objects, {args.rounds} rounds, {cpus} CPUs (shared).\n")
    print("| step | p50 ms | p95 ms | mean ms |\n|---|---|---|---|")
    for name, p in rows:
        print(f"| {name} | {p['p50']:.1f} | {p['p95']:.1f} | {p['mean']:.1f} |")
    print(
        f"\nImage: the helm binary adds {helm_bytes / 2**20:.1f} MiB, the five charts "
        f"{chart_bytes / 2**10:.0f} KiB."
    )


if __name__ == "__main__":
    main()
