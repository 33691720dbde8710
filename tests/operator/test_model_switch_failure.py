"""A model change's steps, and its Jobs failing: a failed re-index keeps the old model and says
so; a successful one rolls the pods, then retires the old model's vectors once none serves it.

``model_switch`` is what the index's reconcile (and the re-index Job's event handler) calls; it
runs here against a small in-memory object store standing in for the API server, since what is
checked is the operator's decision, not the Kubernetes round-trips (test_cluster_model_switch
covers those for the successful switch).
"""

from __future__ import annotations

import copy
from dataclasses import replace
from typing import Any

from visualsearch_operator import constants as c
from visualsearch_operator.builders.common import Owner
from visualsearch_operator.services.model_switch import model_switch, retire_when_rolled
from visualsearch_operator.spec import parse_index_spec

OLD = "openai/clip-vit-base-patch32"
NEW = "openai/clip-vit-large-patch14"
OWNER = Owner("VisualSearchIndex", "demo", "shop", "uid-1234")
BACKOFF = "Job has reached the specified backoff limit"
MANAGER = c.MANAGED_BY
Obj = dict[str, Any]
Objs = list[Obj]  # spelt here: inside the class, ``list`` is its method


class Objects:
    """The four calls ``model_switch`` makes of a KubeClient, over a dict of objects."""

    def __init__(self) -> None:
        self.objects: dict[tuple[str, str, str, str], dict[str, Any]] = {}
        self.patches: list[dict[str, Any]] = []

    def get(self, api_version: str, kind: str, namespace: str, name: str) -> Any:
        found = self.objects.get((api_version, kind, namespace, name))
        return copy.deepcopy(found)

    def create(self, manifest: dict[str, Any]) -> Any:
        meta = manifest["metadata"]
        key = (manifest["apiVersion"], manifest["kind"], meta["namespace"], meta["name"])
        if key in self.objects:
            return None
        self.objects[key] = copy.deepcopy(manifest)
        return copy.deepcopy(manifest)

    def list(self, api_version: str, kind: str, namespace: str, selector: str = "") -> Objs:
        wanted = dict(part.split("=", 1) for part in selector.split(",") if part)
        return [
            copy.deepcopy(obj)
            for (v, k, ns, _), obj in self.objects.items()
            if (v, k, ns) == (api_version, kind, namespace)
            and wanted.items() <= (obj["metadata"].get("labels") or {}).items()
        ]

    def merge_patch(
        self,
        api_version: str,
        kind: str,
        namespace: str,
        name: str,
        patch: Any,
        subresource: str = "",
    ) -> None:
        self.patches.append({"name": name, subresource or "object": patch})

    def jobs(self) -> Objs:
        return self.list("batch/v1", "Job", OWNER.namespace)

    def fail(self, job: dict[str, Any]) -> None:
        """What the Job controller writes once the pods used up the backoff limit."""
        meta = job["metadata"]
        self.objects["batch/v1", "Job", meta["namespace"], meta["name"]]["status"] = {
            "failed": 3,
            "conditions": [
                {
                    "type": "Failed",
                    "status": "True",
                    "reason": "BackoffLimitExceeded",
                    "message": BACKOFF,
                    "lastTransitionTime": "2025-01-01T00:05:00Z",
                }
            ],
        }

    def succeed(self, job: dict[str, Any]) -> None:
        meta = job["metadata"]
        self.objects["batch/v1", "Job", meta["namespace"], meta["name"]]["status"] = {
            "succeeded": 1,
            "conditions": [{"type": "Complete", "status": "True"}],
        }

    def deployment(self, name: str, generation: int, **status: int) -> None:
        """A Deployment of the index as the controller reports it (2 replicas wanted)."""
        labels = {"visualsearch.dev/index": OWNER.name, "app.kubernetes.io/managed-by": MANAGER}
        self.objects["apps/v1", "Deployment", OWNER.namespace, name] = {
            "metadata": {"name": name, "generation": generation, "labels": labels},
            "spec": {"replicas": 2},
            "status": {"observedGeneration": generation, **status},
        }

    def delete_job(self, job: dict[str, Any]) -> None:
        meta = job["metadata"]
        del self.objects["batch/v1", "Job", meta["namespace"], meta["name"]]


def test_a_failed_reindex_job_keeps_the_old_model_and_sets_reindex_failed() -> None:
    kube = Objects()
    spec = parse_index_spec({"model": NEW})

    serving, switch = model_switch(kube, OWNER, spec, {"activeModel": OLD})  # type: ignore[arg-type]
    (job,) = kube.jobs()
    assert switch is not None and (switch.state, switch.launched) == ("Reindexing", True)
    assert serving.model == OLD

    kube.fail(job)
    serving, switch = model_switch(kube, OWNER, spec, {"activeModel": OLD})  # type: ignore[arg-type]
    assert switch is not None and switch.state == "ReindexFailed" and not switch.launched
    # the pods keep serving the old model (and its vector generation); nothing is recorded
    assert serving == replace(spec, model=OLD)
    assert kube.patches == []
    condition = switch.condition(generation=2)
    assert (condition["type"], condition["status"], condition["reason"]) == (
        "ModelSwitch",
        "False",
        "ReindexFailed",
    )
    name = job["metadata"]["name"]
    assert condition["message"] == f"{OLD} -> {NEW}: Job {name}: {BACKOFF}"
    assert condition["observedGeneration"] == 2
    # a failed Job is not retried behind the user's back: it stays, one of it
    _, again = model_switch(kube, OWNER, spec, {"activeModel": OLD})  # type: ignore[arg-type]
    assert again is not None and (again.state, again.launched) == ("ReindexFailed", False)
    (kept,) = kube.jobs()
    assert kept["metadata"]["name"] == name and kept["status"]["failed"] == 3

    # deleting the Job tries again (docs/operator.md): a fresh Job, Reindexing
    kube.delete_job(job)
    serving, switch = model_switch(kube, OWNER, spec, {"activeModel": OLD})  # type: ignore[arg-type]
    assert switch is not None and (switch.state, switch.launched) == ("Reindexing", True)
    assert serving.model == OLD and len(kube.jobs()) == 1
    assert "status" not in kube.jobs()[0]


def test_a_switch_rolls_the_pods_then_retires_the_old_models_vectors() -> None:
    kube = Objects()
    spec = parse_index_spec({"model": NEW})
    _, switch = model_switch(kube, OWNER, spec, {"activeModel": OLD})
    (reindex,) = kube.jobs()
    container = reindex["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e.get("value") for e in container["env"]}
    # the new model's vectors go to a collection of their own, beside the live one
    assert env["VISUALSEARCH_MODEL"] == NEW and env["VISUALSEARCH_COLLECTION_PER_MODEL"] == "true"

    kube.succeed(reindex)
    serving, switch = model_switch(kube, OWNER, spec, {"activeModel": OLD})
    assert serving.model == NEW  # the pods roll to the new model now ...
    assert switch is not None and switch.state == "Rolling"
    assert kube.patches[-1]["status"]["status"] == {"activeModel": NEW, "retiredModel": OLD}
    assert switch.condition(3)["status"] == "Unknown"

    # ... and the old model's vectors stay while any pod of the old template is left
    status = {"activeModel": NEW, "retiredModel": OLD}
    _, switch = model_switch(kube, OWNER, spec, status)
    assert switch is not None and switch.state == "Rolling" and len(kube.jobs()) == 1
    kube.deployment("demo-api", 4, updatedReplicas=1, replicas=3, availableReplicas=2)
    kube.deployment("demo-worker", 4, updatedReplicas=2, replicas=2, availableReplicas=2)
    assert retire_when_rolled(kube, OWNER, spec, switch) == switch and len(kube.jobs()) == 1
    kube.deployment("demo-api", 5, updatedReplicas=2, replicas=2, availableReplicas=2)
    kube.objects["apps/v1", "Deployment", OWNER.namespace, "demo-api"]["status"][
        "observedGeneration"
    ] = 4  # the controller has not seen the newest template yet
    assert retire_when_rolled(kube, OWNER, spec, switch) == switch and len(kube.jobs()) == 1

    kube.deployment("demo-api", 5, updatedReplicas=2, replicas=2, availableReplicas=2)
    retiring = retire_when_rolled(kube, OWNER, spec, switch)
    assert (retiring.state, retiring.launched) == ("Retiring", True)
    (retire,) = [j for j in kube.jobs() if j["metadata"]["name"] != reindex["metadata"]["name"]]
    assert retire["metadata"]["name"] == switch.job
    assert retire["spec"]["template"]["spec"]["containers"][0]["args"] == [
        "drop-model",
        OLD,
        "--yes",
    ]
    _, switch = model_switch(kube, OWNER, spec, status)  # the Job runs: Retiring, not Rolling
    assert switch is not None and (switch.state, switch.launched) == ("Retiring", False)

    kube.fail(retire)  # the old vectors stay; the index serves on, and says what is left
    _, switch = model_switch(kube, OWNER, spec, status)
    assert switch is not None and switch.state == "RetireFailed"
    assert switch.condition(3)["status"] == "False"
    kube.succeed(retire)
    _, switch = model_switch(kube, OWNER, spec, status)
    assert switch is not None and switch.state == "Switched"
    assert switch.condition(3)["status"] == "True"
    assert kube.patches[-1]["status"]["status"] == {"retiredModel": None}
    # done: nothing more to do once the status no longer names a retired model
    assert model_switch(kube, OWNER, spec, {"activeModel": NEW})[1] is None
