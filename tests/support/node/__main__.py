"""Run a command against a fresh one-node cluster in its sandbox.

``python -m tests.support.node run [--images DIR] [--keep] -- COMMAND...`` (as root): creates the
network namespace, enters it with a private mount namespace, starts the cluster, imports every
``*.tar`` image archive in DIR, runs COMMAND with ``KUBECONFIG`` set, stops everything by PID,
deletes the namespace and checks that the host's cgroup tree, kernel settings and iptables are
unchanged. ``inner`` is the part that runs inside the namespaces.
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

from .node import NodeError, prepare_mounts, start_node
from .sandbox import run_sandboxed


def _inner(state: Path, images: Path | None, command: list[str]) -> int:
    prepare_mounts(state)
    archives = sorted(images.glob("*.tar")) if images else []
    node = None
    try:
        started = time.monotonic()
        try:
            node = start_node(state, archives)
        except NodeError as error:
            sys.stderr.write(f"cluster did not start: {error}\n")
            return 4
        print(f"cluster up in {time.monotonic() - started:.1f} s", flush=True)
        status = subprocess.run(command, env=node.env(), check=False).returncode
        dead = [p.name for p in node.processes if p.popen.poll() is not None]
        if dead:
            # A component that died during the run makes the run fail, whatever the test said.
            for proc in node.processes:
                if proc.name in dead:
                    sys.stderr.write(f"{proc.name} died during the run:\n{proc.tail()}\n")
            return status or 5
        return status
    finally:
        if node is not None:
            node.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.support.node", description=__doc__)
    parser.add_argument("mode", choices=["run", "inner"])
    parser.add_argument("--state", type=Path, help="state directory (default: a temporary one)")
    parser.add_argument("--images", type=Path, help="folder of image archives to import")
    parser.add_argument("--keep", action="store_true", help="keep the state directory")
    argv = sys.argv[1:] if argv is None else argv
    split = argv.index("--") if "--" in argv else len(argv)
    args = parser.parse_args(argv[:split])
    command = argv[split + 1 :]
    if not command:
        parser.error("a command to run is required after --")
    if args.mode == "inner":
        return _inner(args.state, Path(os.environ["VS_E2E_IMAGES"]) if os.environ.get(
            "VS_E2E_IMAGES") else None, command)  # fmt: skip
    state = args.state or Path(tempfile.mkdtemp(prefix="vs-e2e-", dir="/var/tmp"))
    state.mkdir(parents=True, exist_ok=True)
    if args.images:
        os.environ["VS_E2E_IMAGES"] = str(args.images.resolve())
    try:
        return run_sandboxed(state, command)
    finally:
        if not args.keep:
            shutil.rmtree(state, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
