"""The sandbox of the one-node cluster: a network namespace with no default route, entered with a
private mount namespace, and the host checks around it.

Why: the machine is shared. Inside a network namespace of its own the cluster's addresses,
iptables rules and listening ports never reach the host, and with no default route nothing can
leave it; a private mount namespace keeps every bind mount and container rootfs off the host.
``ip netns exec`` is not used: it remounts /sys and hides the cgroup tree that crun reads.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from .addresses import NODE_IP, NODE_PREFIX, SERVICE_CIDR
from .hoststate import snapshot
from .node import missing_mount_points, remove_mount_points


def _ip(*args: str, netns: str | None = None) -> None:
    argv = ["ip", *(["-n", netns] if netns else []), *args]
    subprocess.run(argv, check=True, capture_output=True, text=True)


def create_netns(name: str) -> bool:
    """Create namespace ``name`` with loopback and a veth pair carrying the node IP, and only a
    route for the service range. Returns whether /run/netns was created by this call."""
    created_dir = not Path("/run/netns").exists()
    _ip("netns", "add", name)
    _ip("link", "set", "lo", "up", netns=name)
    _ip("link", "add", "vsnode0", "type", "veth", "peer", "name", "vsnode1", netns=name)
    _ip("addr", "add", f"{NODE_IP}/{NODE_PREFIX}", "dev", "vsnode0", netns=name)
    _ip("link", "set", "vsnode0", "up", netns=name)
    _ip("link", "set", "vsnode1", "up", netns=name)
    _ip("route", "add", SERVICE_CIDR, "dev", "vsnode0", netns=name)
    return created_dir


def delete_netns(name: str, created_dir: bool) -> None:
    """Delete the namespace; unmount and remove /run/netns when this harness created it."""
    subprocess.run(["ip", "netns", "del", name], check=False, capture_output=True)
    if created_dir and Path("/run/netns").exists() and not any(Path("/run/netns").iterdir()):
        subprocess.run(["umount", "/run/netns"], check=False, capture_output=True)
        subprocess.run(["rmdir", "/run/netns"], check=False, capture_output=True)


def run_sandboxed(state_dir: Path, command: list[str]) -> int:
    """Run ``command`` with a started cluster inside a fresh sandbox; check the host afterwards.

    The exit status is the command's, or 3 when the host was changed (that fails the run even
    when the command passed).
    """
    if os.geteuid() != 0:
        sys.stderr.write("the node harness needs root (namespaces, mounts, containerd)\n")
        return 2
    before = snapshot()
    name = f"vs-e2e-{os.getpid()}"
    mount_points = missing_mount_points()
    created_dir = create_netns(name)
    try:
        inner = [
            "nsenter", f"--net=/run/netns/{name}", "--",
            "unshare", "--mount", "--propagation", "private", "--",
            sys.executable, "-m", "tests.support.node", "inner", "--state", str(state_dir),
            "--", *command,
        ]  # fmt: skip
        status = subprocess.run(inner, check=False).returncode
    finally:
        delete_netns(name, created_dir)
        remove_mount_points([p for p in mount_points if p != Path("/run/netns")])
    after = snapshot()
    changes = before.differences(after)
    others = before.other_cgroup_changes(after)
    if others:
        print(f"(cgroups of other work on this machine changed meanwhile: {others[:5]})")
    if changes:
        sys.stderr.write("the cluster changed the host:\n  " + "\n  ".join(changes) + "\n")
        return 3
    print("host check: cgroup tree, kernel settings and iptables unchanged", flush=True)
    return status
