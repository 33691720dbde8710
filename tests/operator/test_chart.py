"""The operator chart: lint-clean, carries the CRDs unchanged, renders least-privilege RBAC."""

from __future__ import annotations

import subprocess
from typing import Any

import pytest
import yaml

from tests.operator.helpers import CRD_DIR, ROOT
from tests.support.kube.binaries import MissingBinaryError, find_binary

CHART = ROOT / "charts" / "visual-search-operator"


def helm(*args: str) -> str:
    try:
        binary = find_binary("helm")
    except MissingBinaryError as error:
        pytest.fail(str(error), pytrace=False)
    done = subprocess.run([str(binary), *args], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def render(*sets: str) -> list[dict[str, Any]]:
    args = ["template", "op", str(CHART), "-n", "ops"]
    for value in sets:
        args += ["--set", value]
    return [d for d in yaml.safe_load_all(helm(*args)) if d]


def test_chart_lints() -> None:
    helm("lint", "--strict", str(CHART))
    helm("lint", "--strict", str(CHART), "--set", "watchNamespaces={a,b}")


def test_chart_crds_are_the_crds() -> None:
    ours = sorted(p.name for p in CRD_DIR.glob("*.yaml"))
    assert sorted(p.name for p in (CHART / "crds").glob("*.yaml")) == ours
    for name in ours:
        assert (CHART / "crds" / name).read_text() == (CRD_DIR / name).read_text(), name


def test_all_namespaces_mode_binds_a_cluster_role() -> None:
    objs = {(d["kind"], d["metadata"]["name"]): d for d in render()}
    rules = objs[("ClusterRole", "op-visual-search-operator")]["rules"]
    groups = {g for rule in rules for g in rule["apiGroups"]}
    assert {"visualsearch.dev", "apps", "batch", "autoscaling", "networking.k8s.io"} <= groups
    assert not [r for r in rules if "*" in r["verbs"] or "*" in r["resources"]]
    (secrets,) = [r for r in rules if r["resources"] == ["secrets"]]
    assert "list" not in secrets["verbs"] and "watch" not in secrets["verbs"]
    container = objs[("Deployment", "op-visual-search-operator")]["spec"]["template"]["spec"][
        "containers"
    ][0]
    assert container["args"][0] == "--all-namespaces"
    assert container["securityContext"]["readOnlyRootFilesystem"] is True


def test_watched_namespaces_get_roles_only_there() -> None:
    docs = render("watchNamespaces={shop,outlet}")
    roles = sorted(d["metadata"]["namespace"] for d in docs if d["kind"] == "Role")
    assert roles == ["outlet", "shop"]
    (cluster_role,) = [d for d in docs if d["kind"] == "ClusterRole"]
    assert {r for rule in cluster_role["rules"] for r in rule["resources"]} == {
        "customresourcedefinitions",
        "namespaces",
    }
    assert all(set(rule["verbs"]) <= {"get", "list", "watch"} for rule in cluster_role["rules"])
    deployment = next(d for d in docs if d["kind"] == "Deployment")
    args = deployment["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args[:2] == ["--namespace=shop", "--namespace=outlet"]
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}


def test_helm_test_checks_health_through_a_service_that_never_selects_the_test_pod() -> None:
    objs = {(d["kind"], d["metadata"]["name"]): d for d in render("livenessPort=9090")}
    deployment = objs[("Deployment", "op-visual-search-operator")]
    service = objs[("Service", "op-visual-search-operator")]
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    selector = service["spec"]["selector"]
    assert selector == deployment["spec"]["selector"]["matchLabels"]
    assert selector.items() <= pod_labels.items()
    assert service["spec"]["ports"] == [{"name": "health", "port": 9090, "targetPort": "health"}]

    test = objs[("Pod", "op-visual-search-operator-test")]
    assert test["metadata"]["annotations"]["helm.sh/hook"] == "test"
    # a pod carrying the selector labels would be adopted by the ReplicaSet and served by the
    # Service it is meant to check
    assert not selector.items() <= test["metadata"]["labels"].items()
    assert test["spec"]["serviceAccountName"] == "op-visual-search-operator"
    script = test["spec"]["containers"][0]["args"][0]
    compile(script, "helm-test", "exec")  # the check is valid Python
    assert "http://op-visual-search-operator:9090/healthz" in script
    assert (
        test["spec"]["containers"][0]["image"]
        == deployment["spec"]["template"]["spec"]["containers"][0]["image"]
    )
