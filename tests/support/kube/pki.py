"""Make the keys and certificates a loopback control plane needs, with openssl.

Why: kube-apiserver serves TLS only and signs service-account tokens; a throwaway CA, a serving
certificate for 127.0.0.1 and an RSA key pair are enough for tests and never leave the state dir.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Pki:
    """Paths of the generated key material."""

    ca_cert: Path
    ca_key: Path
    serving_cert: Path
    serving_key: Path
    sa_key: Path
    sa_pub: Path


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def create_pki(directory: Path) -> Pki:
    """Create a CA, a serving certificate for 127.0.0.1/localhost and a service-account key pair."""
    directory.mkdir(parents=True, exist_ok=True)
    d = directory
    _openssl("genrsa", "-out", "ca.key", "2048", cwd=d)
    _openssl(
        "req", "-x509", "-new", "-nodes", "-key", "ca.key", "-subj", "/CN=visualsearch-test-ca",
        "-days", "2", "-out", "ca.crt", cwd=d,
    )  # fmt: skip
    _openssl("genrsa", "-out", "serving.key", "2048", cwd=d)
    _openssl(
        "req", "-new", "-key", "serving.key", "-subj", "/CN=kube-apiserver", "-out", "serving.csr",
        cwd=d,
    )  # fmt: skip
    (d / "san.ext").write_text(
        "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,"
        "DNS:kubernetes.default.svc,IP:10.96.0.1\n"
        "extendedKeyUsage=serverAuth\n"
    )
    _openssl(
        "x509", "-req", "-in", "serving.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
        "-CAcreateserial", "-days", "2", "-extfile", "san.ext", "-out", "serving.crt", cwd=d,
    )  # fmt: skip
    _openssl("genrsa", "-out", "sa.key", "2048", cwd=d)
    _openssl("rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub", cwd=d)
    return Pki(
        ca_cert=d / "ca.crt",
        ca_key=d / "ca.key",
        serving_cert=d / "serving.crt",
        serving_key=d / "serving.key",
        sa_key=d / "sa.key",
        sa_pub=d / "sa.pub",
    )
