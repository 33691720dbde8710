"""kind-config.yaml, skaffold.yaml and the Dockerfiles: they parse, and name what exists."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import yaml

from tests.charts.helm import REPO, render

SKAFFOLD = yaml.safe_load((REPO / "skaffold.yaml").read_text())
DOCKERFILES = {
    "services": (REPO / "Dockerfile", REPO),
    "operator": (REPO / "operator" / "Dockerfile", REPO),
    "storefront": (REPO / "frontend" / "Dockerfile", REPO / "frontend"),
}


def test_kind_config_is_ingress_ready() -> None:
    config = yaml.safe_load((REPO / "kind-config.yaml").read_text())
    assert config["kind"] == "Cluster"
    assert config["apiVersion"] == "kind.x-k8s.io/v1alpha4"
    (node,) = [n for n in config["nodes"] if n["role"] == "control-plane"]
    patches = [yaml.safe_load(p) for p in node["kubeadmConfigPatches"]]
    labels = [p["nodeRegistration"]["kubeletExtraArgs"]["node-labels"] for p in patches]
    assert "ingress-ready=true" in labels
    ports = {(m["containerPort"], m["hostPort"]) for m in node["extraPortMappings"]}
    assert {(80, 80), (443, 443)} <= ports


def test_skaffold_artifacts_exist() -> None:
    assert SKAFFOLD["apiVersion"].startswith("skaffold/v4")
    images = {}
    for artifact in SKAFFOLD["build"]["artifacts"]:
        context = REPO / artifact.get("context", ".")
        dockerfile = context / artifact["docker"]["dockerfile"]
        assert dockerfile.is_file(), dockerfile
        images[artifact["image"]] = dockerfile.resolve()
    assert images == {
        "visual-search": (REPO / "Dockerfile").resolve(),
        "visual-search-storefront": (REPO / "frontend" / "Dockerfile").resolve(),
        "visual-search-operator": (REPO / "operator" / "Dockerfile").resolve(),
    }


def releases() -> list[dict]:
    found = list(SKAFFOLD["deploy"]["helm"]["releases"])
    for profile in SKAFFOLD.get("profiles", []):
        found += profile.get("deploy", {}).get("helm", {}).get("releases", [])
    return found


def test_skaffold_releases_set_image_values_the_chart_has() -> None:
    artifacts = {re.sub(r"[^A-Za-z0-9]", "_", a["image"]) for a in SKAFFOLD["build"]["artifacts"]}
    for release in releases():
        chart = REPO / release["chartPath"]
        assert (chart / "Chart.yaml").is_file(), chart
        defaults = yaml.safe_load((chart / "values.yaml").read_text())
        for key, template in release["setValueTemplates"].items():
            node = defaults
            for part in key.split("."):
                assert part in node, f"{key} is not a value of {chart.name}"
                node = node[part]
            (var,) = re.findall(r"\{\{\.(IMAGE_(?:REPO|TAG)_\w+)\}\}", template)
            assert var.split("_", 2)[2] in artifacts, var
        for values_file in release.get("valuesFiles", []):
            assert (REPO / values_file).is_file(), values_file
            render("-f", str(REPO / values_file), chart=chart)


def test_skaffold_profiles() -> None:
    profiles = {p["name"]: p for p in SKAFFOLD["profiles"]}
    assert {"dev", "operator"} <= set(profiles)
    (operator,) = profiles["operator"]["deploy"]["helm"]["releases"]
    assert operator["chartPath"] == "charts/visual-search-operator"
    assert "IMAGE_REPO_visual_search_operator" in operator["setValueTemplates"]["image.repository"]


def instructions(dockerfile: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", dockerfile.read_text())
    out = []
    heredoc_end = None
    for line in text.splitlines():
        if heredoc_end:
            if line.strip() == heredoc_end:
                heredoc_end = None
            continue
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        word, _, rest = line.strip().partition(" ")
        out.append((word.upper(), rest.strip()))
        marker = re.search(r"<<'?(\w+)'?", rest)
        if marker:
            heredoc_end = marker.group(1)
    return out


@pytest.mark.parametrize("image", sorted(DOCKERFILES))
def test_dockerfile_is_multistage_non_root_and_pinned(image: str) -> None:
    dockerfile, _ = DOCKERFILES[image]
    steps = instructions(dockerfile)
    froms = [rest for word, rest in steps if word == "FROM"]
    assert len(froms) >= 2, "multi-stage"
    args = dict(rest.split("=", 1) for word, rest in steps if word == "ARG" and "=" in rest)
    stages: set[str] = set()  # earlier stages' names: a FROM of one is not an image to pin
    for base in froms:
        ref, *alias = base.split()
        is_stage = ref in stages
        if len(alias) == 2 and alias[0].upper() == "AS":
            stages.add(alias[1])
        if is_stage:
            continue
        ref = re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], ref)
        name, _, tag = ref.rpartition(":")
        assert name and tag and tag != "latest", ref
    final = steps[max(i for i, (w, _) in enumerate(steps) if w == "FROM") :]
    users = [rest for word, rest in final if word == "USER"]
    assert users, "the final stage sets a user"
    user = users[-1].split(":")[0]
    user = re.sub(r"\$\{(\w+)\}", lambda m: args.get(m.group(1), m.group(0)), user)
    assert user.isdigit() and int(user) > 0, f"non-root numeric user, got {users[-1]}"
    for word, rest in steps:
        if word in {"ENV", "ARG"}:
            assert not re.search(r"(PASSWORD|SECRET|TOKEN|API_KEY)\w*=\S", rest), rest


def test_services_image_entry_point_and_torch_variant() -> None:
    steps = instructions(DOCKERFILES["services"][0])
    assert ("ENTRYPOINT", '["visualsearch"]') in steps
    args = [rest for word, rest in steps if word == "ARG"]
    assert "TORCH_VARIANT=cpu" in args
    assert any(a.startswith("TORCH_VERSION=") for a in args)
    pyproject = (REPO / "pyproject.toml").read_text()
    version = next(a.split("=", 1)[1] for a in args if a.startswith("TORCH_VERSION="))
    assert f'"torch=={version}"' in pyproject, "the image's torch matches the project's pin"


def test_operator_image_entry_point() -> None:
    steps = instructions(DOCKERFILES["operator"][0])
    assert ("ENTRYPOINT", '["visualsearch-operator"]') in steps
    assert "visualsearch-operator" in (REPO / "pyproject.toml").read_text()


def test_storefront_image_uses_the_nginx_template() -> None:
    steps = instructions(DOCKERFILES["storefront"][0])
    copies = [rest for word, rest in steps if word == "COPY"]
    assert "nginx.conf /etc/nginx/templates/default.conf.template" in copies
    env = " ".join(rest for word, rest in steps if word == "ENV")
    template = "\n".join(
        line
        for line in (REPO / "frontend" / "nginx.conf").read_text().splitlines()
        if not line.lstrip().startswith("#")
    )
    for var in set(re.findall(r"\$\{(\w+)\}", template)):
        assert f"{var}=" in env, f"the image gives {var} a default"
    # The chart sets the same variables on the storefront container.
    objs = render()
    (storefront,) = [
        d
        for d in objs
        if d["kind"] == "Deployment" and d["metadata"]["name"].endswith("storefront")
    ]
    names = {e["name"] for e in storefront["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert names == set(re.findall(r"\$\{(\w+)\}", template))


@pytest.mark.parametrize("image", sorted(DOCKERFILES))
def test_copy_sources_exist_and_are_not_dockerignored(image: str) -> None:
    dockerfile, context = DOCKERFILES[image]
    ignore_file = context / ".dockerignore"
    ignored = []
    if ignore_file.is_file():
        ignored = [
            line.strip().rstrip("/")
            for line in ignore_file.read_text().splitlines()
            if line.strip() and not line.startswith("#")
        ]
    for word, rest in instructions(dockerfile):
        if word != "COPY" or "--from=" in rest:
            continue
        parts = [p for p in shlex.split(rest) if not p.startswith("--")]
        for source in parts[:-1]:
            assert (context / source).exists(), f"{image}: COPY {source}"
            parts_of_source = Path(source).parts
            if parts_of_source:
                assert parts_of_source[0] not in ignored, f"{image}: {source} is dockerignored"
