"""Shared helpers of the operator tests: CRD files and schema defaulting like the API server's."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
CRD_DIR = ROOT / "crds"
INDEX_CRD = CRD_DIR / "visualsearchindexes.visualsearch.dev.yaml"
SOURCE_CRD = CRD_DIR / "catalogsources.visualsearch.dev.yaml"


def load_yaml(path: Path) -> dict[str, Any]:
    """One YAML document."""
    return dict(yaml.safe_load(path.read_text()))


def openapi_schema(crd_path: Path) -> dict[str, Any]:
    """The v1alpha1 openAPIV3Schema of a CRD file."""
    crd = load_yaml(crd_path)
    (version,) = [v for v in crd["spec"]["versions"] if v["name"] == "v1alpha1"]
    return dict(version["schema"]["openAPIV3Schema"])


def apply_defaults(schema: dict[str, Any], value: Any) -> Any:
    """Structural defaulting as the API server does it: absent fields with a default get it."""
    if schema.get("type") != "object" or not isinstance(value, dict):
        return value
    out = copy.deepcopy(value)
    for key, sub in (schema.get("properties") or {}).items():
        if key not in out and "default" in sub:
            out[key] = copy.deepcopy(sub["default"])
        if key in out:
            out[key] = apply_defaults(sub, out[key])
    return out
