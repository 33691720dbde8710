"""Snapshot of the host settings the one-node cluster must never change, and their comparison.

Why: the cluster shares the machine with other work. K8S-NODE rules: no cgroup may be created,
the kubelet's three sysctls must keep their values, and the host's iptables must stay as they
were. The harness snapshots these before starting and fails the run when any differs afterwards.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

#: Names of cgroups a kubelet, containerd or crun would create (64-hex container ids, pod UIDs).
#: Other work on the shared machine creates and removes its own cgroups while the test runs, so
#: only names of this kind count as created by the cluster; every change is still reported.
CLUSTER_CGROUP = re.compile(
    r"kubepods|k8s\.io|containerd|crun|besteffort|burstable|^[0-9a-f]{64}$"
    r"|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
)

#: The kernel settings the kubelet would write for the whole machine.
GUARDED_SYSCTLS = ("vm/overcommit_memory", "kernel/panic", "kernel/panic_on_oops")


@dataclass(frozen=True)
class HostState:
    """What the cluster must leave untouched on the host."""

    cgroup_dirs: frozenset[str]
    sysctls: tuple[tuple[str, str], ...]
    iptables: str

    def other_cgroup_changes(self, other: HostState) -> list[str]:
        """Cgroups that appeared or vanished meanwhile with names no cluster component uses."""
        changed = self.cgroup_dirs ^ other.cgroup_dirs
        return sorted(d for d in changed if not CLUSTER_CGROUP.search(Path(d).name))

    def differences(self, other: HostState) -> list[str]:
        """Human-readable changes the cluster made between this snapshot and ``other``."""
        found: list[str] = []
        ours = sorted(
            d for d in other.cgroup_dirs ^ self.cgroup_dirs if CLUSTER_CGROUP.search(Path(d).name)
        )
        if ours:
            found.append(f"cgroups created or removed: {ours[:10]}")
        if self.sysctls != other.sysctls:
            found.append(f"sysctls changed: {dict(self.sysctls)} -> {dict(other.sysctls)}")
        if self.iptables != other.iptables:
            found.append("host iptables rules changed")
        return found


def _iptables_rules() -> str:
    """The host's rules without counters or the timestamp comments, for comparison."""
    out = subprocess.run(["iptables-save"], capture_output=True, text=True, check=False).stdout
    lines = [line for line in out.splitlines() if not line.startswith("#")]
    return "\n".join(line.split(" [")[0] if line.startswith(":") else line for line in lines)


def snapshot() -> HostState:
    """Read the cgroup tree, the guarded sysctls and the host's iptables rules now."""
    root = Path("/sys/fs/cgroup")
    dirs = frozenset(str(p) for p in root.rglob("*") if p.is_dir() and not p.is_symlink())
    sysctls = tuple(
        (name, (Path("/proc/sys") / name).read_text().strip()) for name in GUARDED_SYSCTLS
    )
    return HostState(cgroup_dirs=dirs, sysctls=sysctls, iptables=_iptables_rules())
