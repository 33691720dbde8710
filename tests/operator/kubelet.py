"""Playing the kubelet: write pod status the way a node would, through the status subresource."""

from __future__ import annotations

from datetime import UTC, datetime

from visualsearch_operator.kube import KubeClient


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def mark_pods_ready(kube: KubeClient, namespace: str, selector: str) -> int:
    """Every pod matching ``selector`` reports Running and Ready; returns how many."""
    pods = kube.list("v1", "Pod", namespace, selector)
    for pod in pods:
        containers = pod["spec"]["containers"]
        status = {
            "phase": "Running",
            "startTime": _now(),
            "conditions": [
                {"type": t, "status": "True", "lastTransitionTime": _now()}
                for t in ("Initialized", "ContainersReady", "Ready", "PodScheduled")
            ],
            "containerStatuses": [
                {
                    "name": c["name"],
                    "image": c["image"],
                    "imageID": "",
                    "ready": True,
                    "restartCount": 0,
                    "started": True,
                    "state": {"running": {"startedAt": _now()}},
                }
                for c in containers
            ],
        }
        kube.merge_patch(
            "v1",
            "Pod",
            namespace,
            pod["metadata"]["name"],
            {"status": status},
            subresource="status",
        )
    return len(pods)


def finish_pod(kube: KubeClient, namespace: str, name: str, exit_code: int, message: str) -> None:
    """A pod's only container ran to its end with ``exit_code`` and a termination message."""
    pod = kube.get("v1", "Pod", namespace, name)
    assert pod is not None
    container = pod["spec"]["containers"][0]
    terminated = {
        "exitCode": exit_code,
        "reason": "Completed" if exit_code == 0 else "Error",
        "message": message,
        "startedAt": _now(),
        "finishedAt": _now(),
    }
    status = {
        "phase": "Succeeded" if exit_code == 0 else "Failed",
        "startTime": _now(),
        "conditions": [{"type": "Ready", "status": "False", "lastTransitionTime": _now()}],
        "containerStatuses": [
            {
                "name": container["name"],
                "image": container["image"],
                "imageID": "",
                "ready": False,
                "restartCount": 0,
                "state": {"terminated": terminated},
            }
        ],
    }
    kube.merge_patch("v1", "Pod", namespace, name, {"status": status}, subresource="status")
