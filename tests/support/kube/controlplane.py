"""A real Kubernetes control plane on loopback: etcd, kube-apiserver and, optionally,
kube-controller-manager, each a child process with its own ports and state directory.

Why: charts and the operator must be tested against a real API server (validation, defaulting,
RBAC, CRDs, garbage collection), and no cluster exists on our machines. There is no kubelet, so
pods stay Pending; everything else behaves as on a cluster. Processes are stopped by the PIDs
recorded at start, never by name.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import ssl
import subprocess
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from tests.support.ports import free_port

from .binaries import find_binary
from .pki import Pki, create_pki

#: Service IP range of the test cluster (no traffic flows; Services only need addresses).
SERVICE_CIDR = "10.96.0.0/12"


class ControlPlaneError(RuntimeError):
    """A component did not start or become ready; the message carries its log tail."""


@dataclass
class _Process:
    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path
    log: IO[bytes]

    def tail(self, lines: int = 30) -> str:
        text = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])


@dataclass
class ControlPlane:
    """A running loopback control plane. Build it with :func:`start_control_plane`."""

    state_dir: Path
    api_port: int
    etcd_port: int
    token: str
    pki: Pki
    kubeconfig: Path
    with_controller_manager: bool
    _processes: list[_Process] = field(default_factory=list)
    _owns_state_dir: bool = False

    @property
    def server(self) -> str:
        """HTTPS URL of the API server."""
        return f"https://127.0.0.1:{self.api_port}"

    def env(self, **extra: str) -> dict[str, str]:
        """An environment for helm/kubectl/kopf child processes that targets this control plane."""
        env = dict(os.environ)
        env["KUBECONFIG"] = str(self.kubeconfig)
        # helm keeps its own caches; keep them inside the state dir so runs do not share them.
        env["HELM_CACHE_HOME"] = str(self.state_dir / "helm" / "cache")
        env["HELM_CONFIG_HOME"] = str(self.state_dir / "helm" / "config")
        env["HELM_DATA_HOME"] = str(self.state_dir / "helm" / "data")
        # The operator renders the charts with helm: the cached binary, wherever PATH points.
        env["VISUALSEARCH_OPERATOR_HELM"] = str(find_binary("helm"))
        env.update(extra)
        return env

    def helm(
        self, *args: str, check: bool = True, timeout: float = 180
    ) -> subprocess.CompletedProcess[str]:
        """Run helm against this control plane and return the completed process."""
        return _run([str(find_binary("helm")), *args], self.env(), check, timeout)

    def kubectl(
        self, *args: str, check: bool = True, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        """Run kubectl against this control plane and return the completed process."""
        return _run([str(find_binary("kubectl")), *args], self.env(), check, timeout)

    def get(self, path: str) -> tuple[int, bytes]:
        """GET an API path (e.g. ``/readyz``) with the admin token; returns (status, body)."""
        context = ssl.create_default_context(cafile=str(self.pki.ca_cert))
        request = urllib.request.Request(
            self.server + path, headers={"Authorization": f"Bearer {self.token}"}
        )
        try:
            with urllib.request.urlopen(request, context=context, timeout=5) as response:
                return int(response.status), response.read()
        except urllib.error.HTTPError as error:
            return int(error.code), error.read()

    def running(self) -> dict[str, bool]:
        """Whether each started component is still alive (name -> alive)."""
        return {p.name: p.popen.poll() is None for p in self._processes}

    def logs(self, name: str, lines: int = 50) -> str:
        """Last lines of a component's log (``etcd``, ``kube-apiserver``, ...)."""
        return next(p.tail(lines) for p in self._processes if p.name == name)

    def stop(self) -> None:
        """Stop the components in reverse start order by their recorded PIDs."""
        for proc in reversed(self._processes):
            if proc.popen.poll() is None:
                proc.popen.terminate()
                try:
                    proc.popen.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.popen.kill()
                    proc.popen.wait(timeout=15)
            proc.log.close()
        self._processes.clear()
        if self._owns_state_dir:
            subprocess.run(["rm", "-rf", str(self.state_dir)], check=False)

    def __enter__(self) -> ControlPlane:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _run(
    argv: list[str], env: dict[str, str], check: bool, timeout: float
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise subprocess.CalledProcessError(
            result.returncode, argv, output=result.stdout, stderr=result.stderr
        )
    return result


def _die_with_parent(argv: list[str]) -> list[str]:
    """Prefix ``argv`` so the kernel SIGTERMs the child when the test process dies (a killed run
    leaves no control plane behind). Only from the main thread: the signal follows the thread
    that started the child, and a worker thread may end long before the test run."""
    setpriv = shutil.which("setpriv")
    if setpriv is None or threading.current_thread() is not threading.main_thread():
        return argv
    return [setpriv, "--pdeathsig", "TERM", "--", *argv]


def _spawn(name: str, argv: list[str], state_dir: Path) -> _Process:
    log_path = state_dir / f"{name}.log"
    log = log_path.open("ab")
    popen = subprocess.Popen(
        _die_with_parent(argv),
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        cwd=state_dir,
        start_new_session=True,
    )
    return _Process(name=name, popen=popen, log_path=log_path, log=log)


def _wait(plane: ControlPlane, proc: _Process, probe: object, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.popen.poll() is not None:
            raise ControlPlaneError(f"{proc.name} exited early:\n{proc.tail()}")
        with contextlib.suppress(OSError):
            if callable(probe) and probe():
                return
        time.sleep(0.2)
    raise ControlPlaneError(f"{proc.name} not ready after {timeout:.0f} s:\n{proc.tail()}")


def _write_kubeconfig(path: Path, server: str, ca: Path, token: str) -> None:
    path.write_text(
        "apiVersion: v1\nkind: Config\n"
        f"clusters:\n- name: test\n  cluster:\n    server: {server}\n"
        f"    certificate-authority: {ca}\n"
        f"users:\n- name: admin\n  user:\n    token: {token}\n"
        "contexts:\n- name: test\n  context:\n    cluster: test\n    user: admin\n"
        "    namespace: default\n"
        "current-context: test\n"
    )
    path.chmod(0o600)


def start_control_plane(
    state_dir: Path | None = None, *, with_controller_manager: bool = True, timeout: float = 60
) -> ControlPlane:
    """Start etcd, kube-apiserver (and kube-controller-manager) on loopback; wait until ready.

    ``state_dir`` holds data, certificates, logs and the kubeconfig; a temporary one (removed at
    stop) is used when omitted. Raises :class:`ControlPlaneError` or ``MissingBinaryError``.
    """
    owns = state_dir is None
    state = Path(tempfile.mkdtemp(prefix="vs-kube-")) if state_dir is None else state_dir
    state.mkdir(parents=True, exist_ok=True)
    pki = create_pki(state / "pki")
    token = secrets.token_hex(16)
    (state / "tokens.csv").write_text(f'{token},admin,admin,"system:masters"\n')
    plane = ControlPlane(
        state_dir=state, api_port=free_port(), etcd_port=free_port(), token=token, pki=pki,
        kubeconfig=state / "kubeconfig", with_controller_manager=with_controller_manager,
        _owns_state_dir=owns,
    )  # fmt: skip
    _write_kubeconfig(plane.kubeconfig, plane.server, pki.ca_cert, token)
    try:
        _start_components(plane, timeout)
    except BaseException:
        plane.stop()
        raise
    return plane


def _start_components(plane: ControlPlane, timeout: float) -> None:
    state, pki = plane.state_dir, plane.pki
    etcd_url = f"http://127.0.0.1:{plane.etcd_port}"
    peer_url = f"http://127.0.0.1:{free_port()}"
    etcd = _spawn(
        "etcd",
        [
            str(find_binary("etcd")), "--name=test", f"--data-dir={state / 'etcd'}",
            f"--listen-client-urls={etcd_url}", f"--advertise-client-urls={etcd_url}",
            f"--listen-peer-urls={peer_url}", f"--initial-advertise-peer-urls={peer_url}",
            f"--initial-cluster=test={peer_url}", "--log-level=warn",
            "--quota-backend-bytes=1073741824", "--unsafe-no-fsync",
        ],
        state,
    )  # fmt: skip
    plane._processes.append(etcd)
    _wait(plane, etcd, lambda: urllib.request.urlopen(etcd_url + "/health", timeout=2), timeout)

    apiserver = _spawn(
        "kube-apiserver",
        [
            str(find_binary("kube-apiserver")), f"--etcd-servers={etcd_url}",
            "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1",
            f"--secure-port={plane.api_port}", "--insecure-port=0",
            f"--cert-dir={state / 'apiserver-certs'}",
            f"--tls-cert-file={pki.serving_cert}", f"--tls-private-key-file={pki.serving_key}",
            f"--client-ca-file={pki.ca_cert}",
            f"--token-auth-file={state / 'tokens.csv'}", "--authorization-mode=Node,RBAC",
            f"--service-account-key-file={pki.sa_pub}",
            f"--service-account-signing-key-file={pki.sa_key}",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            f"--service-cluster-ip-range={SERVICE_CIDR}", "--endpoint-reconciler-type=none",
            "--allow-privileged=true", "--kubelet-preferred-address-types=InternalIP",
            "--enable-admission-plugins=NamespaceLifecycle,ServiceAccount,DefaultStorageClass,"
            "ResourceQuota,LimitRanger,NodeRestriction",
        ],
        state,
    )  # fmt: skip
    plane._processes.append(apiserver)
    _wait(plane, apiserver, lambda: plane.get("/readyz")[0] == 200, timeout)

    if not plane.with_controller_manager:
        return
    manager = _spawn(
        "kube-controller-manager",
        [
            str(find_binary("kube-controller-manager")), f"--kubeconfig={plane.kubeconfig}",
            "--leader-elect=false", "--port=0", "--secure-port=0",
            "--controllers=*,-nodeipam,-csrsigning,-bootstrapsigner,-tokencleaner",
            f"--service-account-private-key-file={pki.sa_key}", f"--root-ca-file={pki.ca_cert}",
            "--use-service-account-credentials=false",
            f"--flex-volume-plugin-dir={state / 'flexvolume'}",
            f"--service-cluster-ip-range={SERVICE_CIDR}",
        ],
        state,
    )  # fmt: skip
    plane._processes.append(manager)
    # Ready when the service-account controller has made the default namespace's account.
    _wait(
        plane, manager,
        lambda: plane.get("/api/v1/namespaces/default/serviceaccounts/default")[0] == 200,
        timeout,
    )  # fmt: skip
