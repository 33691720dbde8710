"""The operator's one Kubernetes API adapter (storage layer).

Objects are plain dicts. Writes use server-side apply with a fixed field manager, so applying the
same manifest twice changes nothing (not even ``resourceVersion``) and drift in the fields the
operator owns is put back. Library errors become :mod:`visualsearch_operator.exceptions` here.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from visualsearch_operator import constants as c
from visualsearch_operator.exceptions import KubernetesError, KubernetesRejectedError

Obj = dict[str, Any]

PLURALS: dict[str, str] = {
    "ConfigMap": "configmaps",
    "Secret": "secrets",
    "Service": "services",
    "PersistentVolumeClaim": "persistentvolumeclaims",
    "Pod": "pods",
    "ServiceAccount": "serviceaccounts",
    "Event": "events",
    "Deployment": "deployments",
    "StatefulSet": "statefulsets",
    "HorizontalPodAutoscaler": "horizontalpodautoscalers",
    "PodDisruptionBudget": "poddisruptionbudgets",
    "Ingress": "ingresses",
    "Job": "jobs",
    "Middleware": "middlewares",
    "HTTPRoute": "httproutes",
    c.INDEX_KIND: c.INDEX_PLURAL,
    c.SOURCE_KIND: c.SOURCE_PLURAL,
}
"""Every kind the operator touches; all are namespaced."""


def resource_path(api_version: str, kind: str, namespace: str, name: str | None = None) -> str:
    """The REST path of a namespaced collection, or of one object when ``name`` is given."""
    base = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
    path = f"{base}/namespaces/{namespace}/{PLURALS[kind]}"
    return f"{path}/{name}" if name else path


def load_configuration() -> client.Configuration:
    """Client settings from the in-cluster service account, else from ``$KUBECONFIG``.

    ``$KUBECONFIG`` is read now, not when the library was imported, and no global default is
    touched: the operator and the tests that run it in-process keep their own settings.
    """
    configuration = client.Configuration()
    try:
        config.load_incluster_config(client_configuration=configuration)
    except config.ConfigException:
        path = os.environ.get("KUBECONFIG") or os.path.expanduser("~/.kube/config")
        config.load_kube_config(config_file=path, client_configuration=configuration)
    return configuration


def load_api_client() -> client.ApiClient:
    """An API client built from :func:`load_configuration`."""
    return client.ApiClient(load_configuration())


@dataclass
class KubeClient:
    """Thin synchronous REST wrapper; one per operator process, kept in kopf's memo."""

    api: client.ApiClient
    timeout: float = 30.0
    _served: dict[str, set[str]] = field(default_factory=dict)

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        query: list[tuple[str, str]] | None = None,
        content_type: str = "application/json",
    ) -> Obj | None:
        """Send one request; ``None`` for 404, an exception of ours for any other error."""
        headers = {"Accept": "application/json", "Content-Type": content_type}
        _, url, headers, body, _ = self.api.param_serialize(
            method,
            path,
            query_params=query or [],
            header_params=headers,
            body=body,
            auth_settings=["BearerToken"],
        )
        try:
            response = self.api.call_api(
                method, url, header_params=headers, body=body, _request_timeout=self.timeout
            )
            data = response.read()
        except ApiException as exc:
            status, data = exc.status, (exc.body or b"")
        except Exception as exc:  # urllib3 connection errors and timeouts
            raise KubernetesError(f"{method} {path}: {exc}") from exc
        else:
            status = response.status
        if status == 404:
            return None
        text = data.decode() if isinstance(data, bytes) else str(data or "")
        if status >= 400:
            message = _status_message(text)
            if status in (400, 422):
                raise KubernetesRejectedError(f"{method} {path}: {message}", status=status)
            raise KubernetesError(f"{method} {path}: {message}", status=status)
        return json.loads(text) if text else {}

    def get(self, api_version: str, kind: str, namespace: str, name: str) -> Obj | None:
        """One object, or ``None`` when it does not exist."""
        return self.request("GET", resource_path(api_version, kind, namespace, name))

    def list(self, api_version: str, kind: str, namespace: str, selector: str = "") -> list[Obj]:
        """Objects of a kind in a namespace, filtered by a label selector."""
        query = [("labelSelector", selector)] if selector else []
        found = self.request("GET", resource_path(api_version, kind, namespace), query=query)
        return list((found or {}).get("items") or [])

    def apply(self, manifest: Obj, force: bool = True) -> tuple[Obj, bool]:
        """Server-side apply ``manifest`` unless the live object already says all of it.

        Returns the object as stored and whether it was written. Reading first keeps a rerun
        write-free: the 1.20 API server rewrites a StatefulSet with volumeClaimTemplates on
        every no-op apply.
        """
        meta = manifest["metadata"]
        path = resource_path(
            manifest["apiVersion"], manifest["kind"], meta["namespace"], meta["name"]
        )
        live = self.request("GET", path)
        if live is not None and contains(live, manifest):
            return live, False
        query = [("fieldManager", c.FIELD_MANAGER), ("force", "true" if force else "false")]
        result = self.request(
            "PATCH", path, body=manifest, query=query, content_type="application/apply-patch+yaml"
        )
        return result or {}, True

    def create(self, manifest: Obj) -> Obj | None:
        """Create ``manifest`` unless it exists; the new object, or ``None`` if it existed."""
        meta = manifest["metadata"]
        path = resource_path(manifest["apiVersion"], manifest["kind"], meta["namespace"])
        try:
            return self.request(
                "POST", path, body=manifest, query=[("fieldManager", c.FIELD_MANAGER)]
            )
        except KubernetesError as exc:
            if exc.status == 409:
                return None
            raise

    def delete(self, api_version: str, kind: str, namespace: str, name: str) -> bool:
        """Delete one object (dependents in the background); ``False`` if it was already gone."""
        body = {"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Background"}
        path = resource_path(api_version, kind, namespace, name)
        return self.request("DELETE", path, body=body) is not None

    def merge_patch(
        self,
        api_version: str,
        kind: str,
        namespace: str,
        name: str,
        patch: Obj,
        subresource: str = "",
    ) -> Obj | None:
        """JSON merge patch of an object (or of its ``status`` subresource)."""
        path = resource_path(api_version, kind, namespace, name)
        if subresource:
            path = f"{path}/{subresource}"
        return self.request("PATCH", path, body=patch, content_type="application/merge-patch+json")

    def update_status(
        self,
        api_version: str,
        kind: str,
        namespace: str,
        name: str,
        compute: Callable[[Obj], dict[str, Any] | None],
        attempts: int = 8,
    ) -> tuple[Obj, dict[str, Any]] | None:
        """Read the object, ``compute`` its new status, write it only if nothing changed since.

        The write carries the read ``resourceVersion``: two writers racing (a reconcile and a
        child event) cannot leave a status computed from an older view; the loser re-reads.
        ``compute`` returning ``None`` writes nothing. Returns (object as read, status written).
        """
        for _ in range(attempts):
            obj = self.get(api_version, kind, namespace, name)
            if obj is None or obj["metadata"].get("deletionTimestamp"):
                return None
            status = compute(obj)
            if status is None:
                return None
            patch = {
                "metadata": {"resourceVersion": obj["metadata"]["resourceVersion"]},
                "status": status,
            }
            try:
                self.merge_patch(api_version, kind, namespace, name, patch, subresource="status")
            except KubernetesError as exc:
                if exc.status == 409:
                    continue
                raise
            return obj, status
        raise KubernetesError(f"{kind} {namespace}/{name}: status kept changing", status=409)

    def served_kinds(self, group_version: str) -> set[str]:
        """Kinds the API server serves in ``group_version`` (empty when the group is absent)."""
        if group_version not in self._served:
            path = "/api/v1" if group_version == "v1" else f"/apis/{group_version}"
            found = self.request("GET", path) or {}
            self._served[group_version] = {
                r["kind"] for r in found.get("resources", []) if "/" not in r.get("name", "")
            }
        return self._served[group_version]

    def forget_discovery(self) -> None:
        """Drop cached discovery, so a CRD installed later (Traefik, Gateway API) is seen."""
        self._served.clear()


def contains(live: Any, desired: Any) -> bool:
    """Whether ``live`` holds every field ``desired`` sets (server defaults may add more).

    A null in ``desired`` (a chart's empty ``annotations:``) asks for no value, which the server
    stores by leaving the field out: a missing field holds it.
    """
    if isinstance(desired, dict):
        return isinstance(live, dict) and all(
            contains(live[key], value) if key in live else value is None
            for key, value in desired.items()
        )
    if isinstance(desired, list):
        return (
            isinstance(live, list)
            and len(live) == len(desired)
            and all(contains(a, b) for a, b in zip(live, desired, strict=True))
        )
    return bool(live == desired)


def _status_message(text: str) -> str:
    try:
        return str(json.loads(text).get("message") or text)
    except (ValueError, AttributeError):
        return text[:500]
