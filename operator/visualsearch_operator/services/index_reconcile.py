"""Reconcile a VisualSearchIndex and clean up after it: validate → render → own/apply → prune.

The children are ``charts/visual-search`` (and its store charts) rendered with values computed
from the spec (:mod:`..builders.values`), then given namespace, owner and labels
(:mod:`..builders.index`) and applied one by one with server-side apply.

The status it then reports is judged and written by :mod:`.index_status`.
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass, field, replace

from visualsearch_operator import constants as c
from visualsearch_operator.builders.common import Capabilities, Manifest, Owner
from visualsearch_operator.builders.index import own
from visualsearch_operator.builders.stores import (
    CREDENTIAL_KEYS,
    build_credentials,
    credentials_secret_name,
)
from visualsearch_operator.builders.values import embedder_component, index_values
from visualsearch_operator.charts import ChartRenderer
from visualsearch_operator.exceptions import ChartRenderError, DependencyNotReadyError
from visualsearch_operator.kube import KubeClient, Obj
from visualsearch_operator.services import status as st
from visualsearch_operator.services.exposure import exposure_conditions
from visualsearch_operator.services.index_status import IndexStatusService
from visualsearch_operator.services.model_switch import (
    ModelSwitch,
    model_switch,
    retire_when_rolled,
)
from visualsearch_operator.spec import IndexSpec, parse_index_spec

OWNED_KINDS: tuple[tuple[str, str], ...] = (
    ("v1", "ConfigMap"),
    ("v1", "Service"),
    ("apps/v1", "StatefulSet"),
    ("apps/v1", "Deployment"),
    ("networking.k8s.io/v1", "Ingress"),
)
"""Kinds always built for an index; the HPA's and PDBs' versions, the Middleware and the
HTTPRoute depend on the cluster."""

OPTIONAL_KINDS = ("Middleware", "HTTPRoute")
"""Rendered kinds left out where the cluster does not serve them (the status says so)."""


def _ref(obj: Obj) -> str:
    return f"{obj['kind']}/{obj['metadata']['name']}"


def owned_kinds(caps: Capabilities) -> list[tuple[str, str]]:
    """Every (apiVersion, kind) this cluster can hold for an index."""
    kinds = [
        *OWNED_KINDS,
        (caps.hpa_api_version, "HorizontalPodAutoscaler"),
        (caps.pdb_api_version, "PodDisruptionBudget"),
    ]
    if caps.traefik_middleware:
        kinds.append(("traefik.io/v1alpha1", "Middleware"))
    if caps.gateway_api:
        kinds.append(("gateway.networking.k8s.io/v1", "HTTPRoute"))
    return kinds


def render_children(
    renderer: ChartRenderer, owner: Owner, spec: IndexSpec, caps: Capabilities
) -> list[Manifest]:
    """An index's children: the charts rendered for ``spec`` on this cluster, owned by it."""
    rendered = renderer.render(owner.name, owner.namespace, index_values(owner, spec, caps))
    managed = set(owned_kinds(caps))
    stray = [
        _ref(o)
        for o in rendered
        if (o["apiVersion"], o["kind"]) not in managed and o["kind"] not in OPTIONAL_KINDS
    ]
    if stray:
        # The operator would never find (nor prune) them again: a chart/values mismatch.
        raise ChartRenderError(f"the chart rendered objects the operator cannot own: {stray}")
    return own(rendered, owner, managed)


def embedder_of(
    renderer: ChartRenderer, owner: Owner, spec: IndexSpec, caps: Capabilities
) -> list[Manifest]:
    """The embedder of ``spec.model`` alone (Deployment, Service, autoscaler), as the charts
    render it for that model."""
    component = embedder_component(spec.model)
    return [
        m
        for m in render_children(renderer, owner, spec, caps)
        if (m["metadata"].get("labels") or {}).get(c.LABEL_COMPONENT) == component
    ]


@dataclass
class ReconcileResult:
    """What a reconcile did, for events and logs."""

    applied: list[str] = field(default_factory=list)
    pruned: list[str] = field(default_factory=list)
    update: st.StatusUpdate | None = None
    switch: ModelSwitch | None = None


@dataclass
class IndexService:
    """Drives one index's children toward its spec; safe to run any number of times."""

    kube: KubeClient
    status: IndexStatusService
    renderer: ChartRenderer = field(default_factory=ChartRenderer)
    retry_delay: float = 15.0
    _locks: dict[tuple[str, str], threading.Lock] = field(default_factory=dict, repr=False)
    _locks_guard: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def _lock(self, namespace: str, name: str) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault((namespace, name), threading.Lock())

    def capabilities(self) -> Capabilities:
        """Which optional APIs the cluster serves (read fresh each time: CRDs come and go)."""
        self.kube.forget_discovery()
        hpa = (
            "autoscaling/v2"
            if "HorizontalPodAutoscaler" in self.kube.served_kinds("autoscaling/v2")
            else "autoscaling/v2beta2"
        )
        pdb = (
            "policy/v1"
            if "PodDisruptionBudget" in self.kube.served_kinds("policy/v1")
            else "policy/v1beta1"  # before Kubernetes 1.21
        )
        return Capabilities(
            hpa_api_version=hpa,
            pdb_api_version=pdb,
            traefik_middleware="Middleware" in self.kube.served_kinds("traefik.io/v1alpha1"),
            gateway_api="HTTPRoute" in self.kube.served_kinds("gateway.networking.k8s.io/v1"),
        )

    def owned_kinds(self, caps: Capabilities) -> list[tuple[str, str]]:
        """Every (apiVersion, kind) this cluster can hold for an index."""
        return owned_kinds(caps)

    def reconcile(self, body: Obj) -> ReconcileResult:
        """Apply everything the spec asks for, remove what it no longer asks for, report status.

        One reconcile of an index at a time: handlers of the index, its Deployments and its
        Jobs run in parallel threads, and two reconciles of one index would each write the status
        they saw (a model switch's step written by one undone by the other). The one that waited
        works on the index as it is now, not as its event showed it.
        """
        meta = body["metadata"]
        with self._lock(meta["namespace"], meta["name"]):
            live = self.kube.get(c.API_VERSION, c.INDEX_KIND, meta["namespace"], meta["name"])
            if live is not None and live["metadata"].get("uid") == meta.get("uid"):
                body = live
            return self._reconcile(body)

    def _reconcile(self, body: Obj) -> ReconcileResult:
        meta = body["metadata"]
        owner = Owner(c.INDEX_KIND, meta["name"], meta["namespace"], meta["uid"])
        spec = parse_index_spec(body.get("spec") or {})
        try:
            self._check_user_secrets(owner.namespace, spec)
        except DependencyNotReadyError as exc:
            self.status.waiting(body, exc)
            raise
        result = ReconcileResult()
        status = body.get("status") or {}
        if not status.get("phase"):
            self.status.write_status(
                owner.namespace,
                owner.name,
                {"phase": c.PHASE_PENDING, "message": "creating objects"},
            )
        self._ensure_credentials(owner)
        serving, result.switch = model_switch(self.kube, owner, spec, status)
        caps = self.capabilities()
        desired = self.desired(owner, serving, caps)
        old_embedder: list[Manifest] = []
        if result.switch is not None and result.switch.state == "Rolling":
            # the old model's embedder serves its API pods until none of them is left
            old = replace(serving, model=result.switch.current)
            old_embedder = embedder_of(self.renderer, owner, old, caps)
            desired += old_embedder
        for manifest in desired:
            _, changed = self.kube.apply(manifest)
            if changed:
                result.applied.append(_ref(manifest))
        if (
            result.switch is not None
            and result.switch.state == "Rolling"
            and status.get("retiredModel")  # not the reconcile that moved activeModel
            # every Deployment already said the new model: those the roll check reads
            and not any(ref.startswith("Deployment/") for ref in result.applied)
        ):
            result.switch = retire_when_rolled(self.kube, owner, serving, result.switch)
            if result.switch.state != "Rolling":  # no pod of the old model is left
                desired = [m for m in desired if m not in old_embedder]
        wanted = {(m["kind"], m["metadata"]["name"]) for m in desired}
        for obj in self._owned(owner, caps):
            if (obj["kind"], obj["metadata"]["name"]) not in wanted:
                self.kube.delete(
                    obj["apiVersion"], obj["kind"], owner.namespace, obj["metadata"]["name"]
                )
                result.pruned.append(_ref(obj))
        generation = int(meta.get("generation", 1))
        extra = exposure_conditions(spec, caps, generation)
        if result.switch is not None:
            extra.append(result.switch.condition(generation))
        result.update = self.status.refresh_status(body, serving, reconciled=True, extra=extra)
        return result

    def desired(self, owner: Owner, spec: IndexSpec, caps: Capabilities) -> list[Manifest]:
        """The index's children: the charts rendered for ``spec``, owned by the index."""
        return render_children(self.renderer, owner, spec, caps)

    def _check_user_secrets(self, namespace: str, spec: IndexSpec) -> None:
        """External stores' Secrets must exist before pods can start; wait for them (retry)."""
        names = set()
        for store in (spec.database, spec.redis):
            if store.external:
                names.add(store.external["urlSecretRef"]["name"])
        if spec.object_store.external:
            names.add(spec.object_store.external["credentialsSecretRef"]["name"])
        if spec.vector_store.external and spec.vector_store.external.get("apiKeySecretRef"):
            names.add(spec.vector_store.external["apiKeySecretRef"]["name"])
        if spec.api_key_secret:
            names.add(spec.api_key_secret.name)
        missing = sorted(n for n in names if self.kube.get("v1", "Secret", namespace, n) is None)
        if missing:
            raise DependencyNotReadyError(
                f"Secret(s) not found: {', '.join(missing)}", delay=self.retry_delay
            )

    def _ensure_credentials(self, owner: Owner) -> None:
        """Generate store passwords once; an existing Secret (retainData) is never rewritten."""
        if self.kube.get("v1", "Secret", owner.namespace, credentials_secret_name(owner.name)):
            return
        generated = {key: secrets.token_urlsafe(24) for key in CREDENTIAL_KEYS}
        self.kube.create(build_credentials(owner.name, owner.namespace, generated))

    def _owned(self, owner: Owner, caps: Capabilities) -> list[Obj]:
        selector = f"{c.LABEL_INDEX}={owner.name},{c.LABEL_MANAGED_BY}={c.MANAGED_BY}"
        found: list[Obj] = []
        for api_version, kind in self.owned_kinds(caps):
            for obj in self.kube.list(api_version, kind, owner.namespace, selector):
                refs = obj["metadata"].get("ownerReferences") or []
                if any(ref.get("uid") == owner.uid for ref in refs):
                    obj.setdefault("apiVersion", api_version)
                    obj.setdefault("kind", kind)
                    found.append(obj)
        return found

    def reconcile_by_name(self, namespace: str, name: str) -> ReconcileResult | None:
        """Full reconcile of an index found by name (a child was deleted); ``None`` if gone."""
        body = self.kube.get(c.API_VERSION, c.INDEX_KIND, namespace, name)
        if body is None or body["metadata"].get("deletionTimestamp"):
            return None
        if (body.get("status") or {}).get("phase") == c.PHASE_FAILED:
            return None
        return self.reconcile(body)

    def cleanup(self, body: Obj) -> list[str]:
        """Delete what the index created; volumes and credentials only without ``retainData``."""
        meta = body["metadata"]
        owner = Owner(c.INDEX_KIND, meta["name"], meta["namespace"], meta["uid"])
        retain = bool((body.get("spec") or {}).get("retainData", False))
        removed = []
        for obj in self._owned(owner, self.capabilities()):
            if self.kube.delete(
                obj["apiVersion"], obj["kind"], owner.namespace, obj["metadata"]["name"]
            ):
                removed.append(_ref(obj))
        selector = f"{c.LABEL_INDEX}={owner.name},{c.LABEL_COMPONENT}=reindex"
        for job in self.kube.list("batch/v1", "Job", owner.namespace, selector):
            if self.kube.delete("batch/v1", "Job", owner.namespace, job["metadata"]["name"]):
                removed.append(f"Job/{job['metadata']['name']}")
        if not retain:
            selector = f"{c.LABEL_INDEX}={owner.name},{c.LABEL_MANAGED_BY}={c.MANAGED_BY}"
            for pvc in self.kube.list("v1", "PersistentVolumeClaim", owner.namespace, selector):
                self.kube.delete(
                    "v1", "PersistentVolumeClaim", owner.namespace, pvc["metadata"]["name"]
                )
                removed.append(f"PersistentVolumeClaim/{pvc['metadata']['name']}")
            secret = credentials_secret_name(owner.name)
            if self.kube.delete("v1", "Secret", owner.namespace, secret):
                removed.append(f"Secret/{secret}")
        return removed
