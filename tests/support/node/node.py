"""The one-node cluster, started inside the sandbox (see sandbox.py): containerd + crun with no
cgroups, etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kubelet, kube-proxy, a
test-only cluster DNS and volume provisioner.

Why: the operator and charts must be proven with pods that really run. Every rule of the shared
machine is kept here: crun with ``--cgroup-manager=disabled``, containerd's CRI plugin with cgroups
off, the kubelet with no QoS cgroups and ``--protect-kernel-defaults`` reading read-only bound
values, kube-proxy with conntrack settings left alone, and every state directory a bind mount from
the harness's state dir. Processes are stopped by their recorded PIDs, the kubelet first.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.kube.binaries import cache_dir, find_binary
from tests.support.kube.controlplane import _Process, _spawn, _write_kubeconfig, free_port
from tests.support.kube.pki import Pki, _openssl, create_pki

from .addresses import NODE_IP, NODE_NAME, POD_CIDR, SERVICE_CIDR
from .dns import ClusterDns
from .metrics import MetricsAdapter, register
from .volumes import HostPathProvisioner

#: Values the kubelet insists on (``--protect-kernel-defaults``); bound read-only over /proc/sys
#: inside the mount namespace only, so the host's own settings are never written.
KUBELET_SYSCTLS = {"vm/overcommit_memory": "1", "kernel/panic": "10", "kernel/panic_on_oops": "1"}
#: Directories the kubelet and containerd use at fixed paths: bind mounts from the state dir.
#: /run/netns too: containerd's CRI plugin makes each pod's network namespace file there.
BOUND_DIRS = ("/var/lib/kubelet", "/var/log/pods", "/var/log/containers", "/run/containerd",
              "/var/lib/cni", "/run/netns")  # fmt: skip
PAUSE_IMAGE = "localhost/visualsearch-e2e/pause:3.2"
#: Port of the test-only metrics.k8s.io adapter on the node IP.
METRICS_PORT = 10443


class NodeError(RuntimeError):
    """A node component did not start; the message carries its log tail."""


def node_bin(name: str) -> Path:
    """kubelet, kube-scheduler and kube-proxy from the cache (tools/k8s/build-control-plane.sh)."""
    path = cache_dir() / "bin" / name
    if not path.is_file():
        raise NodeError(
            f"{name} not found in {path.parent}: run "
            f'WHAT="cmd/kubelet cmd/kube-scheduler cmd/kube-proxy" tools/k8s/build-control-plane.sh'
        )
    return path


def _mount(*args: str) -> None:
    subprocess.run(["mount", *args], check=True, capture_output=True)


def prepare_mounts(state: Path) -> None:
    """Inside the private mount namespace: hide the cgroup v2 mount from crun, bind resolv.conf
    and the kubelet's sysctl values, and the fixed state paths (mount points missing on the host
    are created here and removed by the sandbox afterwards: :func:`remove_mount_points`)."""
    with contextlib.suppress(subprocess.CalledProcessError):
        subprocess.run(["umount", "/sys/fs/cgroup/unified"], check=True, capture_output=True)
    resolv = state / "resolv.conf"
    resolv.write_text("nameserver 127.0.0.1\n")
    _mount("--bind", str(resolv), "/etc/resolv.conf")
    for name, value in KUBELET_SYSCTLS.items():
        source = state / "sysctl" / name.replace("/", "_")
        source.parent.mkdir(parents=True, exist_ok=True)
        source.write_text(value + "\n")
        _mount("--bind", str(source), f"/proc/sys/{name}")
        _mount("-o", "remount,bind,ro", f"/proc/sys/{name}")
    for target in BOUND_DIRS:
        Path(target).mkdir(parents=True, exist_ok=True)
        source = state / "mounts" / target.strip("/").replace("/", "_")
        source.mkdir(parents=True, exist_ok=True)
        _mount("--bind", str(source), target)


def missing_mount_points() -> list[Path]:
    """The mount points of :data:`BOUND_DIRS` that do not exist on the host yet."""
    return [Path(p) for p in BOUND_DIRS if not Path(p).exists()]


def remove_mount_points(created: list[Path]) -> None:
    """On the host, after the mount namespace is gone: remove the (empty) mount points this run
    created, deepest first."""
    for path in sorted(created, key=lambda p: len(p.parts), reverse=True):
        with contextlib.suppress(OSError):
            path.rmdir()


def _node_pki(pki_dir: Path) -> tuple[Pki, Path, Path]:
    """The loopback PKI plus a serving certificate that also names the node IP, and the
    aggregation layer's front-proxy client certificate."""
    pki = create_pki(pki_dir)
    d = pki_dir
    (d / "node-san.ext").write_text(
        f"subjectAltName=IP:127.0.0.1,IP:{NODE_IP},IP:10.96.0.1,DNS:localhost,DNS:kubernetes,"
        "DNS:kubernetes.default,DNS:kubernetes.default.svc,"
        "DNS:kubernetes.default.svc.cluster.local\nextendedKeyUsage=serverAuth\n"
    )
    _openssl(
        "x509", "-req", "-in", "serving.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
        "-CAcreateserial", "-days", "2", "-extfile", "node-san.ext", "-out", "serving.crt", cwd=d,
    )  # fmt: skip
    _openssl("genrsa", "-out", "proxy.key", "2048", cwd=d)
    _openssl("req", "-new", "-key", "proxy.key", "-subj", "/CN=front-proxy", "-out", "proxy.csr",
             cwd=d)  # fmt: skip
    (d / "proxy.ext").write_text("extendedKeyUsage=clientAuth\n")
    _openssl(
        "x509", "-req", "-in", "proxy.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
        "-CAcreateserial", "-days", "2", "-extfile", "proxy.ext", "-out", "proxy.crt", cwd=d,
    )  # fmt: skip
    return pki, d / "proxy.crt", d / "proxy.key"


@dataclass
class Node:
    """A running one-node cluster (inside the sandbox). Build it with :func:`start_node`."""

    state: Path
    api_port: int = 0
    token: str = ""
    kubeconfig: Path = Path()
    ca: Path = Path()
    socket: Path = Path()
    processes: list[_Process] = field(default_factory=list)
    extras: list[object] = field(default_factory=list)

    @property
    def server(self) -> str:
        return f"https://127.0.0.1:{self.api_port}"

    def call(self, method: str, path: str, body: dict[str, object] | None = None
             ) -> tuple[int, bytes]:  # fmt: skip
        """One API request with the admin token; returns (status, body)."""
        context = ssl.create_default_context(cafile=str(self.ca))
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            self.server + path, data=data, method=method,
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )  # fmt: skip
        try:
            with urllib.request.urlopen(request, context=context, timeout=10) as response:
                return int(response.status), response.read()
        except urllib.error.HTTPError as error:
            return int(error.code), error.read()

    def get(self, path: str) -> tuple[int, bytes]:
        return self.call("GET", path)

    def spawn(self, name: str, argv: list[str]) -> _Process:
        proc = _spawn(name, argv, self.state)
        self.processes.append(proc)
        return proc

    def wait(self, proc: _Process, probe: object, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.popen.poll() is not None:
                raise NodeError(f"{proc.name} exited early:\n{proc.tail()}")
            with contextlib.suppress(OSError, ValueError):
                if callable(probe) and probe():
                    return
            time.sleep(0.3)
        raise NodeError(f"{proc.name} not ready after {timeout:.0f} s:\n{proc.tail()}")

    def ctr(self, *args: str, check: bool = True, timeout: float = 600
            ) -> subprocess.CompletedProcess[str]:  # fmt: skip
        """Run ``ctr`` against this node's containerd, namespace k8s.io."""
        return subprocess.run(
            ["ctr", "--address", str(self.socket), "-n", "k8s.io", *args],
            capture_output=True, text=True, check=check, timeout=timeout,
        )  # fmt: skip

    def env(self) -> dict[str, str]:
        """Environment for the test command: kubeconfig, private helm dirs, node facts."""
        env = dict(os.environ)
        env.update(
            KUBECONFIG=str(self.kubeconfig),
            HELM_CACHE_HOME=str(self.state / "helm" / "cache"),
            HELM_CONFIG_HOME=str(self.state / "helm" / "config"),
            HELM_DATA_HOME=str(self.state / "helm" / "data"),
            VS_E2E_SANDBOX="1", VS_E2E_NODE_IP=NODE_IP, VS_E2E_STATE=str(self.state),
            VS_E2E_CONTAINERD=str(self.socket),
        )  # fmt: skip
        return env

    def stop(self) -> None:
        """Stop by recorded PIDs: kubelet, then containerd's tasks and this containerd's shims,
        then the rest in reverse start order."""
        for extra in self.extras:
            with contextlib.suppress(Exception):
                extra.stop()  # type: ignore[attr-defined]
        by_name = {p.name: p for p in self.processes}
        if "kubelet" in by_name:
            _terminate(by_name["kubelet"])
        if "containerd" in by_name and by_name["containerd"].popen.poll() is None:
            tasks = self.ctr("tasks", "ls", "-q", check=False, timeout=60).stdout.split()
            for task in tasks:
                self.ctr("tasks", "kill", "-s", "SIGKILL", task, check=False, timeout=30)
            time.sleep(1)
            for task in tasks:
                self.ctr("tasks", "delete", "-f", task, check=False, timeout=30)
        for pid in shim_pids(self.socket):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, 9)
        for proc in reversed(self.processes):
            _terminate(proc)
        self.processes.clear()


def _terminate(proc: _Process) -> None:
    if proc.popen.poll() is None:
        proc.popen.terminate()
        try:
            proc.popen.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.popen.kill()
            proc.popen.wait(timeout=20)
    proc.log.close()


def shim_pids(socket_path: Path) -> list[int]:
    """PIDs of containerd shims started by the containerd listening on ``socket_path``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            if b"containerd-shim" in argv[0] and str(socket_path).encode() in argv:
                found.append(int(entry.name))
    return found


def _containerd_config(node: Node) -> Path:
    state = node.state
    wrapper = state / "bin" / "crun-nocgroup"
    wrapper.parent.mkdir(parents=True, exist_ok=True)
    wrapper.write_text('#!/bin/sh\nexec /usr/bin/crun --cgroup-manager=disabled "$@"\n')
    wrapper.chmod(0o755)
    cni = state / "cni" / "net.d"
    cni.mkdir(parents=True, exist_ok=True)
    (cni / "10-vs-e2e.conflist").write_text(json.dumps({
        "cniVersion": "0.4.0", "name": "vs-e2e",
        "plugins": [
            {"type": "bridge", "bridge": "cni0", "isGateway": True, "ipMasq": False,
             "hairpinMode": True,
             "ipam": {"type": "host-local", "ranges": [[{"subnet": POD_CIDR}]],
                      "routes": [{"dst": "0.0.0.0/0"}],
                      "dataDir": str(state / "cni" / "ipam")}},
            {"type": "loopback"},
        ],
    }))  # fmt: skip
    cri = 'plugins."io.containerd.grpc.v1.cri"'
    config = state / "containerd.toml"
    config.write_text(f"""version = 2
root = "{state}/containerd/root"
state = "/run/containerd"
oom_score = 0
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",
  "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]
[grpc]
  address = "{node.socket}"
[ttrpc]
  address = "{node.socket}.ttrpc"
[{cri}]
  sandbox_image = "{PAUSE_IMAGE}"
  disable_cgroup = true
  disable_apparmor = true
  disable_hugetlb_controller = true
  tolerate_missing_hugetlb_controller = true
  restrict_oom_score_adj = true
  enable_selinux = false
  [{cri}.containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "crun"
    [{cri}.containerd.runtimes.crun]
      runtime_type = "io.containerd.runc.v2"
      [{cri}.containerd.runtimes.crun.options]
        BinaryName = "{wrapper}"
  [{cri}.cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "{cni}"
""")
    return config


def start_node(state: Path, images: list[Path], timeout: float = 120) -> Node:
    """Start every component and wait until the node is Ready; import ``images`` (archives)."""
    node = Node(state=state, socket=state / "containerd.sock")
    try:
        _start(node, images, timeout)
    except BaseException:
        node.stop()
        raise
    return node


def _start(node: Node, images: list[Path], timeout: float) -> None:
    state = node.state
    t0 = time.monotonic()
    containerd = node.spawn("containerd", ["containerd", "--config", str(_containerd_config(node))])
    node.wait(containerd, lambda: node.socket.exists() and node.ctr("version").returncode == 0, 60)
    for archive in images:
        started = time.monotonic()
        node.ctr("images", "import", "--all-platforms", str(archive))
        print(f"  imported {archive.name} in {time.monotonic() - started:.1f} s", flush=True)

    pki, proxy_crt, proxy_key = _node_pki(state / "pki")
    node.ca, node.token = pki.ca_cert, secrets.token_hex(16)
    (state / "tokens.csv").write_text(f'{node.token},admin,admin,"system:masters"\n')
    node.api_port = free_port()
    node.kubeconfig = state / "kubeconfig"
    _write_kubeconfig(node.kubeconfig, node.server, pki.ca_cert, node.token)

    etcd_port, peer_port = free_port(), free_port()
    etcd_url = f"http://127.0.0.1:{etcd_port}"
    etcd = node.spawn("etcd", [
        str(find_binary("etcd")), "--name=node", f"--data-dir={state / 'etcd'}",
        f"--listen-client-urls={etcd_url}", f"--advertise-client-urls={etcd_url}",
        f"--listen-peer-urls=http://127.0.0.1:{peer_port}",
        f"--initial-advertise-peer-urls=http://127.0.0.1:{peer_port}",
        f"--initial-cluster=node=http://127.0.0.1:{peer_port}", "--log-level=warn",
        "--quota-backend-bytes=2147483648", "--unsafe-no-fsync",
    ])  # fmt: skip
    node.wait(etcd, lambda: urllib.request.urlopen(etcd_url + "/health", timeout=2), 60)
    apiserver = node.spawn("kube-apiserver", [
        str(find_binary("kube-apiserver")), f"--etcd-servers={etcd_url}",
        "--bind-address=0.0.0.0", f"--advertise-address={NODE_IP}",
        f"--secure-port={node.api_port}", "--insecure-port=0",
        f"--cert-dir={state / 'apiserver-certs'}",
        f"--tls-cert-file={pki.serving_cert}", f"--tls-private-key-file={pki.serving_key}",
        f"--client-ca-file={pki.ca_cert}", f"--token-auth-file={state / 'tokens.csv'}",
        "--authorization-mode=Node,RBAC",
        f"--service-account-key-file={pki.sa_pub}",
        f"--service-account-signing-key-file={pki.sa_key}",
        "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
        f"--service-cluster-ip-range={SERVICE_CIDR}", "--allow-privileged=true",
        "--kubelet-preferred-address-types=InternalIP",
        f"--requestheader-client-ca-file={pki.ca_cert}",
        "--requestheader-allowed-names=front-proxy",
        "--requestheader-username-headers=X-Remote-User",
        "--requestheader-group-headers=X-Remote-Group",
        "--requestheader-extra-headers-prefix=X-Remote-Extra-",
        f"--proxy-client-cert-file={proxy_crt}", f"--proxy-client-key-file={proxy_key}",
        "--enable-aggregator-routing=true",
        "--enable-admission-plugins=NamespaceLifecycle,ServiceAccount,DefaultStorageClass,"
        "ResourceQuota,LimitRanger,NodeRestriction",
    ])  # fmt: skip
    node.wait(apiserver, lambda: node.get("/readyz")[0] == 200, timeout)
    manager = node.spawn("kube-controller-manager", [
        str(find_binary("kube-controller-manager")), f"--kubeconfig={node.kubeconfig}",
        "--leader-elect=false", "--port=0", "--secure-port=0",
        "--controllers=*,-nodeipam,-csrsigning,-bootstrapsigner,-tokencleaner",
        f"--service-account-private-key-file={pki.sa_key}", f"--root-ca-file={pki.ca_cert}",
        "--use-service-account-credentials=true",
        f"--flex-volume-plugin-dir={state / 'flexvolume'}",
        f"--service-cluster-ip-range={SERVICE_CIDR}",
        "--horizontal-pod-autoscaler-sync-period=5s",
        "--horizontal-pod-autoscaler-downscale-stabilization=20s",
        "--horizontal-pod-autoscaler-cpu-initialization-period=30s",
    ])  # fmt: skip
    node.wait(
        manager, lambda: node.get("/api/v1/namespaces/default/serviceaccounts/default")[0] == 200,
        timeout,
    )  # fmt: skip
    node.spawn("kube-scheduler", [
        str(node_bin("kube-scheduler")), f"--kubeconfig={node.kubeconfig}",
        "--leader-elect=false", "--port=0", "--secure-port=0",
    ])  # fmt: skip
    kubelet = node.spawn("kubelet", [
        str(node_bin("kubelet")), f"--kubeconfig={node.kubeconfig}",
        f"--hostname-override={NODE_NAME}", f"--node-ip={NODE_IP}",
        "--container-runtime=remote", f"--container-runtime-endpoint=unix://{node.socket}",
        "--runtime-request-timeout=10m", "--root-dir=/var/lib/kubelet",
        f"--cert-dir={state / 'kubelet-pki'}", f"--volume-plugin-dir={state / 'kubelet-plugins'}",
        "--cgroups-per-qos=false", "--enforce-node-allocatable=", "--cgroup-driver=cgroupfs",
        "--fail-swap-on=false", "--make-iptables-util-chains=false",
        "--protect-kernel-defaults=true", f"--cluster-dns={NODE_IP}",
        "--cluster-domain=cluster.local", f"--resolv-conf={state / 'resolv.conf'}",
        "--read-only-port=0", "--anonymous-auth=true", "--authorization-mode=AlwaysAllow",
        "--image-gc-high-threshold=100", "--image-gc-low-threshold=99",
        "--eviction-hard=memory.available<64Mi,nodefs.available<1%,imagefs.available<1%",
        "--serialize-image-pulls=false", "--max-pods=110", f"--pod-infra-container-image={PAUSE_IMAGE}",
        "--healthz-port=0", "--v=1",
    ])  # fmt: skip
    proxy = node.spawn("kube-proxy", [
        str(node_bin("kube-proxy")), f"--kubeconfig={node.kubeconfig}",
        f"--hostname-override={NODE_NAME}", f"--bind-address={NODE_IP}", "--proxy-mode=iptables",
        "--masquerade-all", f"--cluster-cidr={POD_CIDR}", "--conntrack-max-per-core=0",
        "--conntrack-tcp-timeout-established=0s", "--conntrack-tcp-timeout-close-wait=0s",
        "--healthz-bind-address=127.0.0.1:10256", "--metrics-bind-address=127.0.0.1:10249",
    ])  # fmt: skip
    dns = ClusterDns(NODE_IP, node.get)
    dns.start()
    node.extras.append(dns)
    provisioner = HostPathProvisioner(state / "volumes", node.call)
    provisioner.start()
    node.extras.append(provisioner)
    adapter = MetricsAdapter(NODE_IP, METRICS_PORT, pki.serving_cert, pki.serving_key,
                             node.socket, node.get)  # fmt: skip
    adapter.start()
    node.extras.append(adapter)
    register(node.call, NODE_IP, METRICS_PORT)
    node.wait(kubelet, lambda: _node_ready(node), timeout)
    node.wait(kubelet, lambda: node.get("/apis/metrics.k8s.io/v1beta1")[0] == 200, 60)
    # kube-proxy answers its health check once it has written the Services' rules.
    node.wait(
        proxy, lambda: urllib.request.urlopen("http://127.0.0.1:10256/healthz", timeout=2), 60
    )
    print(f"  node {NODE_NAME} Ready {time.monotonic() - t0:.1f} s after start", flush=True)


def _node_ready(node: Node) -> bool:
    status, body = node.get(f"/api/v1/nodes/{NODE_NAME}")
    if status != 200:
        return False
    conditions = json.loads(body).get("status", {}).get("conditions", [])
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)
