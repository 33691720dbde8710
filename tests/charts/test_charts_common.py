"""Rules every chart in charts/ keeps: lint-clean, documented values, pinned images, non-root
read-only containers with dropped capabilities and resources, selectors by name/instance/component
that match their pods, and a StatefulSet with persistence, probes and a Secret per store chart."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.charts.helm import (
    CHARTS,
    PLATFORM,
    RELEASE,
    STORE_CHARTS,
    env_of,
    helm,
    of_kind,
    pod_spec,
    render,
    workloads,
)

ALL_CHARTS = sorted(p.parent.name for p in CHARTS.glob("*/Chart.yaml"))
OUR_CHARTS = ["visual-search", *STORE_CHARTS]
SELECTOR_KEYS = {
    "app.kubernetes.io/name",
    "app.kubernetes.io/instance",
    "app.kubernetes.io/component",
}


def test_every_chart_is_known() -> None:
    assert set(OUR_CHARTS) <= set(ALL_CHARTS)


@pytest.mark.parametrize("chart", ALL_CHARTS)
def test_helm_lint_strict(chart: str) -> None:
    result = helm("lint", "--strict", str(CHARTS / chart))
    assert "0 chart(s) failed" in result.stdout


@pytest.fixture(scope="module", params=OUR_CHARTS)
def rendered(request: pytest.FixtureRequest) -> tuple[str, list[dict]]:
    chart = request.param
    values = {"seed.demo": True} if chart == "visual-search" else {}
    return chart, render(chart=CHARTS / chart, values=values)


def test_containers_are_locked_down(rendered: tuple[str, list[dict]]) -> None:
    chart, objs = rendered
    pods = list(workloads(objs))
    assert pods, chart
    for obj in pods:
        spec = pod_spec(obj)
        where = f"{chart}: {obj['kind']}/{obj['metadata']['name']}"
        assert spec["securityContext"]["runAsNonRoot"] is True, where
        assert spec["securityContext"]["runAsUser"] > 0, where
        assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, where
        assert spec["automountServiceAccountToken"] is False, where
        for c in spec["containers"]:
            sc = c["securityContext"]
            assert sc["allowPrivilegeEscalation"] is False, where
            assert sc["readOnlyRootFilesystem"] is True, where
            assert sc["capabilities"]["drop"] == ["ALL"], where
            assert {"requests", "limits"} <= set(c["resources"]), where
            assert {"cpu", "memory"} <= set(c["resources"]["requests"]), where
            # A read-only root needs a writable /tmp.
            assert any(m["mountPath"] == "/tmp" for m in c["volumeMounts"]), where


def test_images_are_pinned(rendered: tuple[str, list[dict]]) -> None:
    chart, objs = rendered
    for obj in workloads(objs):
        for c in pod_spec(obj)["containers"]:
            repository, _, tag = c["image"].rpartition(":")
            assert repository and tag and tag != "latest", f"{chart}: {c['image']}"


def test_selectors_by_name_instance_component(rendered: tuple[str, list[dict]]) -> None:
    _, objs = rendered
    pods = {}
    for obj in objs:
        if obj["kind"] in {"Deployment", "StatefulSet"}:
            selector = obj["spec"]["selector"]["matchLabels"]
            assert set(selector) == SELECTOR_KEYS, obj["metadata"]["name"]
            assert selector["app.kubernetes.io/instance"] == RELEASE
            labels = obj["spec"]["template"]["metadata"]["labels"]
            assert selector.items() <= labels.items()
            pods[obj["metadata"]["name"]] = labels
    # Each Service and PodDisruptionBudget selects the pods of exactly one workload.
    for obj in of_kind(objs, "Service") + of_kind(objs, "PodDisruptionBudget"):
        if obj["kind"] == "Service":
            selector = obj["spec"]["selector"]
        else:
            selector = obj["spec"]["selector"]["matchLabels"]
        assert set(selector) == SELECTOR_KEYS, obj["metadata"]["name"]
        matching = [name for name, labels in pods.items() if selector.items() <= labels.items()]
        assert len(matching) == 1, (obj["kind"], obj["metadata"]["name"], matching)


def test_helpers_are_namespaced() -> None:
    for chart in OUR_CHARTS:
        prefix = f"{chart}."
        for tpl in (CHARTS / chart / "templates").glob("*.tpl"):
            for name in re.findall(r'define "([^"]+)"', tpl.read_text()):
                assert name.startswith(prefix), f"{chart}: helper {name}"


def documented_problems(values_file: Path) -> list[str]:
    """Keys of a values.yaml with no `# --` comment on themselves or on an ancestor, unless
    they are section headers whose every child is documented."""
    nodes: list[dict] = []
    stack: list[dict] = []
    comment: list[str] = []  # the comment block right above the current line
    for line in values_file.read_text().splitlines():
        stripped = line.strip()
        if stripped.startswith("#"):
            comment.append(stripped)
            continue
        match = re.match(r"^(\s*)([\w.-]+):", line)
        if match and not stripped.startswith("-"):
            indent = len(match.group(1))
            while stack and stack[-1]["indent"] >= indent:
                stack.pop()
            node = {
                "indent": indent,
                "key": ".".join([*(n["name"] for n in stack), match.group(2)]),
                "name": match.group(2),
                "doc": bool(comment) and comment[0].startswith("# --"),
                "inherited": any(n["doc"] for n in stack),
                "children": [],
            }
            if stack:
                stack[-1]["children"].append(node)
            nodes.append(node)
            stack.append(node)
        comment = []

    def ok(node: dict) -> bool:
        if node["doc"] or node["inherited"]:
            return True
        return bool(node["children"]) and all(ok(child) for child in node["children"])

    return [n["key"] for n in nodes if not ok(n)]


@pytest.mark.parametrize("chart", OUR_CHARTS)
def test_every_value_is_documented(chart: str) -> None:
    assert documented_problems(CHARTS / chart / "values.yaml") == []


@pytest.mark.parametrize("chart", STORE_CHARTS)
def test_store_chart_statefulset(chart: str) -> None:
    objs = render(chart=CHARTS / chart)
    (sts,) = of_kind(objs, "StatefulSet")
    assert sts["metadata"]["name"] == f"{RELEASE}-{chart}"
    (claim,) = sts["spec"]["volumeClaimTemplates"]
    assert claim["spec"]["resources"]["requests"]["storage"]
    spec = pod_spec(sts)
    (c,) = spec["containers"]
    assert c["readinessProbe"] and c["livenessProbe"]
    assert any(m["name"] == claim["metadata"]["name"] for m in c["volumeMounts"])
    # Credentials come from the chart's own Secret, never inline.
    (secret,) = of_kind(objs, "Secret")
    refs = [
        e["valueFrom"]["secretKeyRef"]
        for e in env_of(c).values()
        if "valueFrom" in e and "secretKeyRef" in e["valueFrom"]
    ]
    assert refs and all(r["name"] == secret["metadata"]["name"] for r in refs)
    assert all(r["key"] in secret["data"] for r in refs)
    for e in env_of(c).values():
        assert "PASSWORD" not in e["name"] or "valueFrom" in e, e["name"]
    headless = [s for s in of_kind(objs, "Service") if s["spec"].get("clusterIP") == "None"]
    assert [s["metadata"]["name"] for s in headless] == [sts["spec"]["serviceName"]]


@pytest.mark.parametrize("chart", STORE_CHARTS)
def test_store_chart_without_persistence_and_with_existing_secret(chart: str) -> None:
    secret_key = {
        "qdrant": "apiKey.existingSecret",
        "postgresql": "auth.existingSecret",
        "minio": "auth.existingSecret",
        "redis": "auth.existingSecret",
    }[chart]
    objs = render(chart=CHARTS / chart, values={"persistence.enabled": False, secret_key: "mine"})
    (sts,) = of_kind(objs, "StatefulSet")
    assert "volumeClaimTemplates" not in sts["spec"]
    assert of_kind(objs, "Secret") == []
    refs = [
        e["valueFrom"]["secretKeyRef"]["name"]
        for e in env_of(pod_spec(sts)["containers"][0]).values()
        if "valueFrom" in e
    ]
    assert refs and set(refs) == {"mine"}


def test_qdrant_cluster_mode() -> None:
    objs = render(
        chart=CHARTS / "qdrant",
        values={"replicaCount": 3, "podDisruptionBudget.enabled": True},
    )
    (sts,) = of_kind(objs, "StatefulSet")
    assert sts["spec"]["replicas"] == 3
    c = pod_spec(sts)["containers"][0]
    env = env_of(c)
    assert env["QDRANT__CLUSTER__ENABLED"]["value"] == "true"
    script = c["args"][0]
    assert f'--bootstrap "http://{RELEASE}-qdrant-0.{RELEASE}-qdrant-headless:6335"' in script
    (pdb,) = of_kind(objs, "PodDisruptionBudget")
    assert pdb["spec"]["maxUnavailable"] == 1
    single = pod_spec(of_kind(render(chart=CHARTS / "qdrant"), "StatefulSet")[0])["containers"][0]
    assert "args" not in single and "QDRANT__CLUSTER__ENABLED" not in env_of(single)


def test_platform_values_match_the_store_charts() -> None:
    """The platform composes store URLs from its own copy of a few subchart values (service
    ports, secret keys, user names): they must equal the subcharts' defaults."""
    import yaml

    platform = yaml.safe_load((PLATFORM / "values.yaml").read_text())
    for chart in STORE_CHARTS:
        sub = yaml.safe_load((CHARTS / chart / "values.yaml").read_text())

        def compare(mine: dict, theirs: dict, path: str, chart: str = chart) -> None:
            for key, value in mine.items():
                if key == "enabled" and path == "":
                    continue
                assert key in theirs, f"{chart}: {path}{key} is not a value of the subchart"
                if isinstance(value, dict):
                    compare(value, theirs[key], f"{path}{key}.")
                else:
                    assert value == theirs[key], f"{chart}: {path}{key}"

        compare(platform[chart], sub, "")


def test_chart_readmes_are_generated_from_the_values() -> None:
    """Each chart's README lists every documented value with its default, as values.yaml says
    today (tools/chart_docs.py writes them; a changed comment or default makes this fail)."""
    from tools import chart_docs

    assert chart_docs.main(["--check"]) == 0, "run: python tools/chart_docs.py"
    table = chart_docs.render(CHARTS / "visual-search")
    assert '| `rollingUpdate` | `{"maxUnavailable": 0, "maxSurge": 1}` |' in table
    documented = documented_problems(CHARTS / "visual-search" / "values.yaml")
    assert documented == []  # so the table is complete: no undocumented key is left out
