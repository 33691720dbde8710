"""The ``visualsearch-operator`` command line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from visualsearch_operator.cli import parse_args


def test_default_is_every_namespace() -> None:
    args = parse_args([])
    assert (args.namespace, args.all_namespaces) == ([], False)
    assert args.liveness == "http://0.0.0.0:8080/healthz"


def test_namespaces_repeat() -> None:
    assert parse_args(["-n", "shop", "--namespace", "outlet"]).namespace == ["shop", "outlet"]


def test_namespace_and_all_namespaces_exclude_each_other(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit):
        parse_args(["-n", "shop", "--all-namespaces"])
    assert "not allowed with" in capsys.readouterr().err


def test_console_script_is_installed() -> None:
    script = Path(sys.executable).with_name("visualsearch-operator")
    done = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0
    assert "VisualSearchIndex" in done.stdout and "--namespace" in done.stdout
