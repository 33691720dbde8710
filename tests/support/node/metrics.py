"""A test-only ``metrics.k8s.io`` adapter for the one-node cluster, so an HPA can scale on CPU.

Why: metrics-server's image cannot be had, and the kubelet's per-pod stats are empty without
cgroups. This adapter (never in a chart) samples every few seconds, for each container task of
the node's containerd, the CPU time and resident memory of all processes in the container's PID
namespace (from /proc), turns CPU time into a rate, and serves it as ``PodMetrics`` behind an
``APIService`` (the API server reaches it through the aggregation layer).
"""

from __future__ import annotations

import contextlib
import json
import os
import ssl
import subprocess
import threading
import time
import urllib.parse
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

GROUP_VERSION = "metrics.k8s.io/v1beta1"
SAMPLE_SECONDS = 5.0
TICKS = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")

Getter = Callable[[str], tuple[int, bytes]]
Usage = dict[str, float]


def _pid_namespaces() -> dict[str, list[int]]:
    found: dict[str, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                found.setdefault(os.readlink(entry / "ns" / "pid"), []).append(int(entry.name))
    return found


def _usage(pids: list[int]) -> tuple[float, float]:
    """(CPU seconds, resident bytes) summed over ``pids``."""
    cpu = rss = 0.0
    for pid in pids:
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            cpu += (int(fields[11]) + int(fields[12])) / TICKS
            rss += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE
    return cpu, rss


class MetricsAdapter:
    """Sample container usage and serve it over HTTPS on ``(address, port)``."""

    def __init__(self, address: str, port: int, cert: Path, key: Path, socket: Path,
                 get: Getter) -> None:  # fmt: skip
        self.port = port
        self._socket, self._get = socket, get
        self._labels: dict[str, dict[str, str]] = {}
        self._last: dict[str, tuple[float, float]] = {}
        self._usage: dict[tuple[str, str, str], Usage] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        adapter = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                status, body = adapter.respond(self.path)
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                return

        self._server = ThreadingHTTPServer((address, port), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(cert), str(key))
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self._threads = [
            threading.Thread(target=self._server.serve_forever, name="metrics", daemon=True),
            threading.Thread(target=self._sample_loop, name="metrics-sampler", daemon=True),
        ]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()

    def _ctr(self, *args: str) -> str:
        return subprocess.run(
            ["ctr", "--address", str(self._socket), "-n", "k8s.io", *args],
            capture_output=True, text=True, check=False, timeout=30,
        ).stdout  # fmt: skip

    def _sample_loop(self) -> None:
        while not self._stop.wait(SAMPLE_SECONDS):
            with contextlib.suppress(Exception):
                self._sample()

    def _sample(self) -> None:
        tasks = [line.split() for line in self._ctr("tasks", "ls").splitlines()[1:]]
        namespaces = _pid_namespaces()
        now = time.monotonic()
        usage: dict[tuple[str, str, str], Usage] = {}
        for task in tasks:
            if len(task) < 3 or task[2] != "RUNNING":
                continue
            cid, pid = task[0], int(task[1])
            if cid not in self._labels:
                info = json.loads(self._ctr("containers", "info", cid) or "{}")
                self._labels[cid] = info.get("Labels") or {}
            labels = self._labels[cid]
            if labels.get("io.cri-containerd.kind") != "container":
                continue
            with contextlib.suppress(OSError):
                pids = namespaces.get(os.readlink(f"/proc/{pid}/ns/pid"), [pid])
                cpu, rss = _usage(pids)
                before = self._last.get(cid)
                self._last[cid] = (now, cpu)
                if before is None or now <= before[0]:
                    continue
                key = (labels["io.kubernetes.pod.namespace"], labels["io.kubernetes.pod.name"],
                       labels["io.kubernetes.container.name"])  # fmt: skip
                usage[key] = {"cpu": max(0.0, (cpu - before[1]) / (now - before[0])), "rss": rss,
                              "window": now - before[0]}  # fmt: skip
        with self._lock:
            self._usage = usage

    def _pod_metrics(self, namespace: str, name: str, stamp: str) -> dict[str, object] | None:
        with self._lock:
            containers = [
                {"name": c, "usage": {"cpu": f"{int(u['cpu'] * 1e9)}n", "memory": f"{int(u['rss'])}"}}
                for (ns, pod, c), u in self._usage.items() if ns == namespace and pod == name
            ]  # fmt: skip
        if not containers:
            return None
        return {
            "kind": "PodMetrics", "apiVersion": GROUP_VERSION,
            "metadata": {"name": name, "namespace": namespace, "creationTimestamp": stamp},
            "timestamp": stamp, "window": f"{int(SAMPLE_SECONDS)}s", "containers": containers,
        }  # fmt: skip

    def respond(self, raw_path: str) -> tuple[int, dict[str, object]]:
        """The aggregated API's answers: discovery, PodMetrics lists and single pods."""
        url = urllib.parse.urlsplit(raw_path)
        parts = [p for p in url.path.split("/") if p]
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        if parts == ["apis", "metrics.k8s.io", "v1beta1"]:
            return 200, {
                "kind": "APIResourceList", "apiVersion": "v1", "groupVersion": GROUP_VERSION,
                "resources": [
                    {"name": "pods", "singularName": "", "namespaced": True,
                     "kind": "PodMetrics", "verbs": ["get", "list"]},
                    {"name": "nodes", "singularName": "", "namespaced": False,
                     "kind": "NodeMetrics", "verbs": ["get", "list"]},
                ],
            }  # fmt: skip
        if parts[:3] != ["apis", "metrics.k8s.io", "v1beta1"]:
            return 404, {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 404}
        rest = parts[3:]
        if rest[:1] == ["nodes"]:
            return 200, {"kind": "NodeMetricsList", "apiVersion": GROUP_VERSION, "items": []}
        if rest == ["pods"]:
            status, body = self._get(f"/api/v1/pods{'?' + url.query if url.query else ''}")
            pods = json.loads(body)["items"] if status == 200 else []
            every = [self._pod_metrics(p["metadata"]["namespace"], p["metadata"]["name"], stamp)
                     for p in pods]  # fmt: skip
            return 200, {"kind": "PodMetricsList", "apiVersion": GROUP_VERSION,
                         "metadata": {}, "items": [i for i in every if i]}  # fmt: skip
        if len(rest) >= 3 and rest[0] == "namespaces" and rest[2] == "pods":
            namespace = rest[1]
            if len(rest) == 4:
                found = self._pod_metrics(namespace, rest[3], stamp)
                if found is None:
                    return 404, {"kind": "Status", "apiVersion": "v1", "status": "Failure",
                                 "code": 404, "reason": "NotFound"}  # fmt: skip
                return 200, found
            query = f"?{url.query}" if url.query else ""
            status, body = self._get(f"/api/v1/namespaces/{namespace}/pods{query}")
            pods = json.loads(body)["items"] if status == 200 else []
            items = [self._pod_metrics(namespace, p["metadata"]["name"], stamp) for p in pods]
            return 200, {"kind": "PodMetricsList", "apiVersion": GROUP_VERSION,
                         "metadata": {}, "items": [i for i in items if i]}  # fmt: skip
        return 404, {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 404}


def register(call: Callable[..., tuple[int, bytes]], address: str, port: int) -> None:
    """Make the API server route ``metrics.k8s.io`` to the adapter (Service + Endpoints +
    APIService in kube-system)."""
    ns = "kube-system"
    call("POST", f"/api/v1/namespaces/{ns}/services", {
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": "vs-e2e-metrics"},
        "spec": {"ports": [{"port": 443, "targetPort": port}]},
    })  # fmt: skip
    call("POST", f"/api/v1/namespaces/{ns}/endpoints", {
        "apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": "vs-e2e-metrics"},
        "subsets": [{"addresses": [{"ip": address}], "ports": [{"port": port}]}],
    })  # fmt: skip
    call("POST", "/apis/apiregistration.k8s.io/v1/apiservices", {
        "apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService",
        "metadata": {"name": "v1beta1.metrics.k8s.io"},
        "spec": {"group": "metrics.k8s.io", "version": "v1beta1", "insecureSkipTLSVerify": True,
                 "groupPriorityMinimum": 100, "versionPriority": 100,
                 "service": {"namespace": ns, "name": "vs-e2e-metrics", "port": 443}},
    })  # fmt: skip
