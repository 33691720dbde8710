"""The pod sandbox ("pause") image, built here: Kubernetes' own ``pause.c`` compiled statically,
alone in a rootfs, written as a docker-archive for ``ctr images import``.

Why: no registry can be reached, and every pod needs the sandbox image. The source comes from the
Kubernetes tree that tools/k8s/build-control-plane.sh unpacks in the cache.
"""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from tests.support.kube.binaries import cache_dir

from .node import PAUSE_IMAGE


def write_docker_archive(path: Path, name: str, files: dict[str, tuple[bytes, int]],
                         entrypoint: list[str]) -> None:  # fmt: skip
    """A one-layer docker-archive (manifest.json, config, layer.tar) holding ``files``
    (path -> (content, mode))."""
    layer = io.BytesIO()
    with tarfile.open(fileobj=layer, mode="w") as tar:
        for file_path, (content, mode) in files.items():
            info = tarfile.TarInfo(file_path)
            info.size, info.mode = len(content), mode
            tar.addfile(info, io.BytesIO(content))
    layer_bytes = layer.getvalue()
    diff_id = "sha256:" + hashlib.sha256(layer_bytes).hexdigest()
    config = json.dumps({
        "architecture": "amd64", "os": "linux",
        "config": {"Entrypoint": entrypoint, "User": "65535:65535"},
        "rootfs": {"type": "layers", "diff_ids": [diff_id]}, "history": [{"created_by": "pause.py"}],
    }).encode()  # fmt: skip
    config_name = hashlib.sha256(config).hexdigest() + ".json"
    manifest = json.dumps([{"Config": config_name, "RepoTags": [name], "Layers": ["layer.tar"]}])
    with tarfile.open(path, mode="w") as tar:
        for member, content in (("layer.tar", layer_bytes), (config_name, config),
                                ("manifest.json", manifest.encode())):  # fmt: skip
            info = tarfile.TarInfo(member)
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))


def build_pause(out: Path) -> Path:
    """Compile pause.c statically and write ``out/pause.tar``; reuse it when present."""
    target = out / "pause.tar"
    if target.exists():
        return target
    sources = sorted((cache_dir() / "src").glob("kubernetes-*/build/pause/linux/pause.c"))
    if not sources:
        raise SystemExit("pause.c not found: run KEEP_SRC=1 tools/k8s/build-control-plane.sh")
    with tempfile.TemporaryDirectory() as tmp:
        binary = Path(tmp) / "pause"
        subprocess.run(
            ["gcc", "-Os", "-static", "-DVERSION=v3.2-visualsearch", "-o", str(binary),
             str(sources[0])], check=True,
        )  # fmt: skip
        out.mkdir(parents=True, exist_ok=True)
        write_docker_archive(target, PAUSE_IMAGE, {"pause": (binary.read_bytes(), 0o755)},
                             ["/pause"])  # fmt: skip
    return target


if __name__ == "__main__":
    print(build_pause(Path(sys.argv[1])))
