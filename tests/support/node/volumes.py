"""A test-only static provisioner: a hostPath PersistentVolume for every Pending claim.

Why: a bare cluster has no storage provisioner, so StatefulSets' claims would stay Pending. The
loop creates a PersistentVolume under the harness's state dir, pre-bound to the claim, so the
stores keep their data on disk as on a real cluster. Volumes are deleted with their claims
(reclaim policy Delete has no deleter for hostPath, so the loop deletes Released ones itself).
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable
from pathlib import Path

#: ``call(method, path, body) -> (status, body)`` against the API server.
Caller = Callable[[str, str, dict[str, object] | None], tuple[int, bytes]]


class HostPathProvisioner:
    """Bind each Pending PVC to a new hostPath PV in ``root`` (polling every second)."""

    def __init__(self, root: Path, call: Caller) -> None:
        self._root = root
        self._call = call
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="provisioner", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _loop(self) -> None:
        while not self._stop.wait(1.0):
            with contextlib.suppress(Exception):
                self._tick()

    def _tick(self) -> None:
        status, body = self._call("GET", "/api/v1/persistentvolumeclaims", None)
        if status != 200:
            return
        for pvc in json.loads(body)["items"]:
            if pvc.get("status", {}).get("phase") != "Pending" or pvc["spec"].get("volumeName"):
                continue
            meta = pvc["metadata"]
            name = f"pv-{meta['uid']}"
            path = self._root / name
            path.mkdir(parents=True, exist_ok=True)
            path.chmod(0o777)
            pv = {
                "apiVersion": "v1",
                "kind": "PersistentVolume",
                "metadata": {"name": name, "labels": {"visualsearch-e2e/provisioned": "true"}},
                "spec": {
                    "capacity": {"storage": pvc["spec"]["resources"]["requests"]["storage"]},
                    "accessModes": pvc["spec"]["accessModes"],
                    "persistentVolumeReclaimPolicy": "Retain",
                    "storageClassName": pvc["spec"].get("storageClassName") or "",
                    "hostPath": {"path": str(path), "type": "Directory"},
                    "claimRef": {
                        "namespace": meta["namespace"], "name": meta["name"], "uid": meta["uid"],
                    },
                },
            }  # fmt: skip
            self._call("POST", "/api/v1/persistentvolumes", pv)
        status, body = self._call(
            "GET", "/api/v1/persistentvolumes?labelSelector=visualsearch-e2e/provisioned", None
        )
        if status == 200:
            for pv in json.loads(body)["items"]:
                if pv.get("status", {}).get("phase") == "Released":
                    self._call(
                        "DELETE", f"/api/v1/persistentvolumes/{pv['metadata']['name']}", None
                    )
