"""Run the loopback control plane by hand: ``python -m tests.support.kube [--state DIR] [--no-cm]``.

Prints ``export KUBECONFIG=...`` and keeps running until Ctrl-C (or SIGTERM), then stops every
component it started. Useful to try charts and the operator against a real API server.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

from .controlplane import start_control_plane


def main(argv: list[str] | None = None) -> int:
    """Start the control plane, print how to use it, wait for a signal, stop it."""
    parser = argparse.ArgumentParser(prog="python -m tests.support.kube", description=__doc__)
    parser.add_argument("--state", type=Path, help="state directory (default: a temporary one)")
    parser.add_argument(
        "--no-cm", action="store_true", help="start no kube-controller-manager (API server only)"
    )
    args = parser.parse_args(argv)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    plane = start_control_plane(args.state, with_controller_manager=not args.no_cm)
    try:
        sys.stdout.write(f"export KUBECONFIG={plane.kubeconfig}\n# API server: {plane.server}\n")
        sys.stdout.flush()
        stop.wait()
    finally:
        plane.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
