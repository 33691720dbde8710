"""Fixtures of the end-to-end test: the one-node cluster that ``make e2e`` started around pytest,
and, on any failure, the cluster's events, the operator's log and the failing pods' logs.

The test runs only inside the sandbox (``python -m tests.support.node run``); run directly, the
fixture fails and says how to run it. ``make test`` does not collect it (its module is not named
``test_*``).
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from tests.support.kube.binaries import find_binary

OPERATOR_NAMESPACE = "visualsearch-system"
SHOP_NAMESPACE = "shop"


@dataclass
class Cluster:
    """kubectl/helm against the sandboxed cluster, and the timings of the stages."""

    timings: list[tuple[str, float]] = field(default_factory=list)

    def kubectl(self, *args: str, check: bool = True, timeout: float = 120) -> str:
        result = subprocess.run(
            [str(find_binary("kubectl")), *args], capture_output=True, text=True, timeout=timeout
        )
        if check and result.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)}: {result.stderr.strip()}")
        return result.stdout

    def helm(self, *args: str, timeout: float = 300) -> str:
        result = subprocess.run(
            [str(find_binary("helm")), *args], capture_output=True, text=True, timeout=timeout
        )
        if result.returncode != 0:
            raise AssertionError(f"helm {' '.join(args)}: {result.stderr.strip()}")
        return result.stdout

    def json(self, *args: str) -> dict:
        return json.loads(self.kubectl(*args, "-o", "json"))

    def wait_for(self, what: str, predicate, timeout: float, every: float = 1.0):
        """Poll ``predicate`` until it returns a truthy value; fail naming ``what``."""
        deadline = time.monotonic() + timeout
        last: object = None
        while time.monotonic() < deadline:
            try:
                last = predicate()
            except AssertionError as error:
                last = error
                last_ok = None
            else:
                last_ok = last
            if last_ok:
                return last_ok
            time.sleep(every)
        raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what} (last: {last})")

    def record(self, stage: str, started: float) -> None:
        seconds = time.monotonic() - started
        self.timings.append((stage, seconds))
        print(f"\n[e2e] {stage}: {seconds:.1f} s", flush=True)


@pytest.fixture(scope="session")
def cluster() -> Iterator[Cluster]:
    if os.environ.get("VS_E2E_SANDBOX") != "1":
        pytest.fail(
            "the end-to-end test needs the one-node cluster: run `make e2e` "
            "(python -m tests.support.node run -- pytest tests/e2e/e2e_cluster.py)",
            pytrace=False,
        )
    handle = Cluster()
    yield handle
    print("\n[e2e] timings:")
    for stage, seconds in handle.timings:
        print(f"  {seconds:7.1f} s  {stage}")


def _diagnostics() -> str:
    kubectl = str(find_binary("kubectl"))

    def run(*args: str) -> str:
        result = subprocess.run([kubectl, *args], capture_output=True, text=True, timeout=60)
        return (result.stdout + result.stderr).strip()

    parts = ["== events ==", run("get", "events", "-A", "--sort-by=.lastTimestamp")]
    parts += ["== pods ==", run("get", "pods", "-A", "-o", "wide")]
    parts += ["== operator log ==", run("logs", "-n", OPERATOR_NAMESPACE, "-l",
                                         "app.kubernetes.io/name=visual-search-operator",
                                         "--tail=200", "--all-containers")]  # fmt: skip
    pods = json.loads(run("get", "pods", "-A", "-o", "json") or '{"items": []}')["items"]
    for pod in pods:
        statuses = pod.get("status", {}).get("containerStatuses") or []
        ns, name = pod["metadata"]["namespace"], pod["metadata"]["name"]
        owners = {o.get("kind") for o in pod["metadata"].get("ownerReferences") or []}
        if pod["status"].get("phase") != "Succeeded" and not (
            statuses and all(s.get("ready") for s in statuses)
        ):
            parts += [f"== log of failing pod {ns}/{name} ==",
                      run("logs", "-n", ns, name, "--all-containers", "--tail=80")]  # fmt: skip
            parts += [run("logs", "-n", ns, name, "--all-containers", "--tail=40", "--previous")]
        elif "StatefulSet" in owners:  # a store can fail its clients while its pod stays Ready
            parts += [f"== log of store pod {ns}/{name} ==",
                      run("logs", "-n", ns, name, "--all-containers", "--tail=40")]  # fmt: skip
    return "\n".join(parts)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" and report.failed and os.environ.get("VS_E2E_SANDBOX") == "1":
        report.sections.append(("cluster diagnostics", _diagnostics()))
