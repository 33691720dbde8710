"""Judge a VisualSearchIndex's status from its children, and write it (phase, conditions)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from visualsearch_operator import constants as c
from visualsearch_operator.builders.stores import store_name
from visualsearch_operator.builders.values import component_name, embedder_component
from visualsearch_operator.exceptions import DependencyNotReadyError, OperatorError
from visualsearch_operator.kube import KubeClient, Obj
from visualsearch_operator.services import status as st
from visualsearch_operator.spec import IndexSpec, parse_index_spec


@dataclass
class IndexStatusService:
    """Reads an index's workloads and writes what they add up to into its status."""

    kube: KubeClient

    def readiness(
        self, namespace: str, name: str, spec: IndexSpec
    ) -> tuple[list[st.Readiness], list[st.Readiness]]:
        """(stores, serving) readiness of every workload the spec asks for."""
        stores = [
            ("qdrant", spec.vector_store),
            ("postgresql", spec.database),
            ("minio", spec.object_store),
            ("redis", spec.redis),
        ]
        store_parts = [
            st.workload_readiness(
                store, self.kube.get("apps/v1", "StatefulSet", namespace, store_name(name, store))
            )
            for store, store_spec in stores
            if store_spec.in_cluster and (store != "qdrant" or spec.vector_store.deploys_qdrant)
        ]
        components = ["embedder", "api", "worker"]
        if spec.storefront_enabled:
            components.append("storefront")
        workloads = {"embedder": embedder_component(spec.model)}  # one embedder per model
        serving = []
        for comp in components:
            workload = component_name(name, workloads.get(comp, comp))
            deployment = self.kube.get("apps/v1", "Deployment", namespace, workload)
            serving.append(st.workload_readiness(comp, deployment))
        return store_parts, serving

    def refresh_status(
        self,
        body: Obj,
        spec: IndexSpec | None = None,
        reconciled: bool = False,
        extra: list[dict[str, Any]] | None = None,
    ) -> st.StatusUpdate | None:
        """Recompute phase, conditions and components from the children, and write them.

        With ``reconciled``, ``body``/``spec`` are what was just applied: their generation is
        the one observed. Otherwise (a child changed) the index is re-read and judged as it is.
        """
        meta = body["metadata"]

        def compute(fresh: Obj) -> dict[str, Any] | None:
            old = fresh.get("status") or {}
            if not reconciled and old.get("phase") == c.PHASE_FAILED:
                return None  # only a new generation (a change handler) leaves Failed
            current = spec or parse_index_spec(fresh.get("spec") or {})
            active = old.get("activeModel")
            if not reconciled and active and active != current.model:
                current = replace(current, model=active)  # a switch in progress
            generation = int((body if reconciled else fresh)["metadata"].get("generation", 1))
            status = self._status(fresh, current, generation, reconciled)
            if extra:
                status["conditions"] = st.merge_conditions(status["conditions"], extra)
            return status

        return st.updated(
            self.kube.update_status(
                c.API_VERSION, c.INDEX_KIND, meta["namespace"], meta["name"], compute
            )
        )

    def _status(
        self, index: Obj, spec: IndexSpec, generation: int, reconciled: bool
    ) -> dict[str, Any]:
        meta = index["metadata"]
        namespace, name = meta["namespace"], meta["name"]
        old = index.get("status") or {}
        store_parts, serving = self.readiness(namespace, name, spec)
        parts = store_parts + serving
        phase = st.index_phase(old.get("phase"), parts)
        waiting = [f"{p.component} {p.summary}" for p in parts if not p.full]
        stores_ok = all(p.full for p in store_parts)
        serving_ok = all(p.full for p in serving)
        message = "all components ready" if not waiting else "waiting for " + ", ".join(waiting)
        conditions = [
            st.condition(
                "StoresReady",
                stores_ok,
                "AllReady" if stores_ok else "Waiting",
                _describe(store_parts, "external stores only"),
                generation,
            ),
            st.condition(
                "ServingReady",
                serving_ok,
                "AllReady" if serving_ok else "Waiting",
                _describe(serving, ""),
                generation,
            ),
            st.condition("Ready", phase == c.PHASE_READY, phase, message, generation),
        ]
        if reconciled:
            conditions.append(
                st.condition("Reconciled", True, "Applied", "all objects applied", generation)
            )
        status: dict[str, Any] = {
            "phase": phase,
            "message": message,
            "products": self._products(namespace, name),
            "model": spec.model,
            "endpoint": endpoint(namespace, name, spec),
            "components": {p.component: p.summary for p in parts},
            "conditions": st.merge_conditions(old.get("conditions"), conditions),
        }
        if reconciled:
            status["observedGeneration"] = generation
        return status

    def _products(self, namespace: str, name: str) -> int:
        """Products indexed into this index by its CatalogSources (their last syncs)."""
        sources = self.kube.list(c.API_VERSION, c.SOURCE_KIND, namespace)
        return sum(
            int((src.get("status") or {}).get("productsIndexed") or 0)
            for src in sources
            if ((src.get("spec") or {}).get("indexRef") or {}).get("name") == name
        )

    def refresh_by_name(self, namespace: str, name: str) -> tuple[Obj, st.StatusUpdate] | None:
        """Re-judge an index whose child changed: (the index, its status update), or ``None``.

        ``None`` when it is gone, being deleted, or Failed (a change handler owns that phase).
        """
        body = self.kube.get(c.API_VERSION, c.INDEX_KIND, namespace, name)
        return self.refresh(body) if body is not None else None

    def refresh(self, body: Obj) -> tuple[Obj, st.StatusUpdate] | None:
        """``refresh_by_name`` for an index already read."""
        if body["metadata"].get("deletionTimestamp"):
            return None
        update = self.refresh_status(body)
        return (body, update) if update else None

    def waiting(self, body: Obj, error: DependencyNotReadyError) -> None:
        """Say in status what the index waits for (Pending until it first got its objects)."""
        meta = body["metadata"]
        old = body.get("status") or {}
        generation = int(meta.get("generation", 1))
        condition = st.condition("Reconciled", False, error.reason, str(error), generation)
        self.write_status(
            meta["namespace"],
            meta["name"],
            {
                "phase": old.get("phase") or c.PHASE_PENDING,
                "message": str(error),
                "conditions": st.merge_conditions(old.get("conditions"), [condition]),
            },
        )

    def fail(self, body: Obj, error: OperatorError) -> None:
        """Report a spec that can never work: phase Failed, with the reason in a condition."""
        meta = body["metadata"]
        generation = int(meta.get("generation", 1))
        old = body.get("status") or {}
        conditions = [
            st.condition("Reconciled", False, error.reason, str(error), generation),
            st.condition("Ready", False, error.reason, str(error), generation),
        ]
        self.write_status(
            meta["namespace"],
            meta["name"],
            {
                "phase": c.PHASE_FAILED,
                "message": str(error),
                "observedGeneration": generation,
                "conditions": st.merge_conditions(old.get("conditions"), conditions),
            },
        )

    def write_status(self, namespace: str, name: str, status: dict[str, Any]) -> None:
        """Merge ``status`` into the index's status subresource."""
        self.kube.merge_patch(
            c.API_VERSION, c.INDEX_KIND, namespace, name, {"status": status}, subresource="status"
        )


def endpoint(namespace: str, name: str, spec: IndexSpec) -> str:
    """Where shoppers and clients reach the index."""
    if spec.ingress.enabled and spec.ingress.host:
        scheme = "https" if spec.ingress.tls_secret_name else "http"
        return f"{scheme}://{spec.ingress.host}"
    return f"http://{component_name(name, 'api')}.{namespace}.svc:{c.API_PORT}"


def _describe(parts: list[st.Readiness], empty: str) -> str:
    if not parts:
        return empty
    return ", ".join(f"{p.component} {p.summary}" for p in parts)
