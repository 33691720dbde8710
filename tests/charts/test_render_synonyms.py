"""The shop's synonyms in charts/visual-search: ``synonyms.rules`` (or the user's ConfigMap)
becomes a file mounted into every API pod, where ``VISUALSEARCH_SYNONYMS_FILE`` points; nothing
else gets it, and a change of the rules does not restart a pod (the API re-imports the file)."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.charts.helm import RELEASE, env_of, named, of_kind, pod_spec, render

FULL = f"{RELEASE}-visual-search"
API = ("search", "products", "indexer")
RULES = "couch, sofa\nsneakers, trainers => running shoes\n"


def with_values(tmp_path: Path, values: dict) -> list[dict]:
    """Rendered with a values file (multi-line rules do not survive ``--set``)."""
    file = tmp_path / f"values-{len(list(tmp_path.iterdir()))}.yaml"
    file.write_text(yaml.safe_dump(values))
    return render("-f", str(file))


def deployment(objs: list[dict], component: str) -> dict:
    return named(objs, "Deployment", f"{FULL}-{component}")


def mounted(objs: list[dict], component: str) -> tuple[str | None, str | None, str | None]:
    """(VISUALSEARCH_SYNONYMS_FILE, the synonyms volume's mount path, its ConfigMap)."""
    spec = pod_spec(deployment(objs, component))
    main = spec["containers"][0]
    env = env_of(main).get("VISUALSEARCH_SYNONYMS_FILE")
    mount = next((m for m in main["volumeMounts"] if m["name"] == "synonyms"), None)
    volume = next((v for v in spec["volumes"] if v["name"] == "synonyms"), None)
    if mount is not None:
        assert mount["readOnly"] is True and "subPath" not in mount  # updated in place
    return (
        env["value"] if env else None,
        mount["mountPath"] if mount else None,
        volume["configMap"]["name"] if volume else None,
    )


def test_no_rules_no_file() -> None:
    objs = render()
    assert not [c for c in of_kind(objs, "ConfigMap") if c["metadata"]["name"].endswith("synonyms")]
    for component in (*API, "worker", "embedder"):
        assert mounted(objs, component) == (None, None, None)


def test_rules_become_a_configmap_mounted_into_every_api_pod(tmp_path: Path) -> None:
    objs = with_values(tmp_path, {"synonyms": {"rules": RULES}})
    assert named(objs, "ConfigMap", f"{FULL}-synonyms")["data"] == {"synonyms.txt": RULES}
    for component in API:
        assert mounted(objs, component) == (
            "/etc/visual-search/synonyms/synonyms.txt",
            "/etc/visual-search/synonyms",
            f"{FULL}-synonyms",
        )
    for component in ("worker", "embedder"):  # they never run a keyword query
        assert mounted(objs, component) == (None, None, None)
    settings = named(objs, "ConfigMap", FULL)["data"]
    assert "VISUALSEARCH_SYNONYMS_FILE" not in settings  # only the pods with the file get it


def test_one_api_deployment_mounts_it_too(tmp_path: Path) -> None:
    objs = with_values(tmp_path, {"api": {"enabled": True}, "synonyms": {"rules": RULES}})
    assert mounted(objs, "api")[0] == "/etc/visual-search/synonyms/synonyms.txt"


def test_an_existing_configmap_its_key_and_mount_path(tmp_path: Path) -> None:
    objs = with_values(
        tmp_path,
        {
            "synonyms": {
                "existingConfigMap": "shop-words",
                "key": "rules.txt",
                "mountPath": "/config/words",
                "rules": "ignored, since the user's ConfigMap wins",
            }
        },
    )
    assert not [c for c in of_kind(objs, "ConfigMap") if c["metadata"]["name"].endswith("synonyms")]
    assert mounted(objs, "search") == ("/config/words/rules.txt", "/config/words", "shop-words")


def test_changing_the_rules_restarts_no_pod(tmp_path: Path) -> None:
    before = with_values(tmp_path, {"synonyms": {"rules": RULES}})
    after = with_values(tmp_path, {"synonyms": {"rules": RULES + "tee => t shirt\n"}})
    for component in API:
        template = [deployment(objs, component)["spec"]["template"] for objs in (before, after)]
        assert template[0] == template[1]
    assert named(before, "ConfigMap", f"{FULL}-synonyms") != named(
        after, "ConfigMap", f"{FULL}-synonyms"
    )
