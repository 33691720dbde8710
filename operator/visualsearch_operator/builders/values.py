"""Values of ``charts/visual-search`` (and its store subcharts) computed from an index's spec.

The charts are the one description of the workloads; this module only says how a
``VisualSearchIndex`` sets them. What the operator needs that a Helm user may not:

- names: the release is the index, ``fullnameOverride`` keeps ``<index>-<component>`` and each
  store's ``fullnameOverride`` keeps ``<index>-<store>`` whatever the index is called;
- one ``api`` Deployment with the migration as its init container (no Job named per release
  revision: nothing here has revisions);
- every credential from Secrets that exist before the render (the generated
  ``<index>-credentials`` or the user's), so no chart generates a random value: a render is a
  pure function of the spec, and re-applying it changes nothing;
- what the cluster serves picks the HPA and Middleware API versions (Helm's ``.Capabilities``);
- no ServiceAccount, PodDisruptionBudget, NetworkPolicy or ServiceMonitor: objects the operator
  was never given the rights to manage.
"""

from __future__ import annotations

import hashlib
from typing import Any

from visualsearch_operator import constants as c
from visualsearch_operator.builders.common import Capabilities, Owner
from visualsearch_operator.builders.stores import credentials_secret_name, store_name
from visualsearch_operator.spec import IndexSpec, Resources

Values = dict[str, Any]

TRAEFIK_API_VERSION = "traefik.io/v1alpha1"
PDB: Values = {"pdb": {"enabled": True, "maxUnavailable": 1}}
"""A PodDisruptionBudget per serving workload: a node drain takes one pod of it at a time."""


def config_map_name(index: str) -> str:
    """The ConfigMap with the index's non-secret ``VISUALSEARCH_*`` settings."""
    return f"{index}-config"


def model_slot(model: str) -> str:
    """A short stable digest naming everything that belongs to one model."""
    return hashlib.sha256(model.encode()).hexdigest()[:8]


def embedder_component(model: str) -> str:
    """``embedder-<slot>``: one embedder per model (the chart's ``embedder.modelSlot``), so
    during a switch the pods of each model reach only their own model's embedding pods."""
    return f"embedder-{model_slot(model)}"


def component_name(index: str, component: str) -> str:
    """Name of a platform workload (``embedder``, ``api``, ``worker``, ``storefront``)."""
    return f"{index}-{component}"


def split_image(ref: str) -> Values:
    """``repository`` and ``tag`` of an image reference (``latest`` when it has no tag)."""
    repository, sep, tag = ref.rpartition(":")
    if not sep or "/" in tag:  # a registry port, not a tag
        return {"repository": ref, "tag": "latest"}
    return {"repository": repository, "tag": tag}


def _image(ref: str, pull_policy: str) -> Values:
    return {**split_image(ref), "pullPolicy": pull_policy}


def exact_resources(resources: Resources) -> Values:
    """``resources`` as given: Helm merges maps into the chart's defaults, so every CPU and
    memory entry the spec leaves out is set to null (which deletes the chart's default)."""
    return {
        part: {"cpu": None, "memory": None, **(resources.get(part) or {})}
        for part in ("requests", "limits")
    }


def _persistence(size: str, storage_class: str | None) -> Values:
    return {"enabled": True, "size": size, "storageClass": storage_class or ""}


def _store_values(owner: Owner, spec: IndexSpec, secret: str) -> Values:
    """The four store subcharts: in-cluster ones on the generated credentials Secret."""
    vs, db, obj, rd = spec.vector_store, spec.database, spec.object_store, spec.redis
    klass = spec.storage_class_name
    values: Values = {
        "qdrant": {"enabled": vs.deploys_qdrant},
        "postgresql": {"enabled": db.in_cluster},
        "minio": {"enabled": obj.in_cluster},
        "redis": {"enabled": rd.in_cluster},
    }
    if vs.deploys_qdrant:
        values["qdrant"].update(
            fullnameOverride=store_name(owner.name, "qdrant"),
            image=_image(vs.image, "IfNotPresent"),
            replicaCount=vs.replicas,
            persistence=_persistence(vs.storage, klass),
            apiKey={"enabled": True, "existingSecret": secret, "secretKey": "qdrant-api-key"},
        )
    if db.in_cluster:
        values["postgresql"].update(
            fullnameOverride=store_name(owner.name, "postgresql"),
            image=_image(db.image, "IfNotPresent"),
            persistence=_persistence(db.storage, klass),
            auth={"existingSecret": secret, "secretKey": "postgres-password"},
        )
    if obj.in_cluster:
        values["minio"].update(
            fullnameOverride=store_name(owner.name, "minio"),
            image=_image(obj.image, "IfNotPresent"),
            persistence=_persistence(obj.storage, klass),
            auth={
                "existingSecret": secret,
                "userKey": "minio-access-key",
                "passwordKey": "minio-secret-key",
            },
        )
    if rd.in_cluster:
        values["redis"].update(
            fullnameOverride=store_name(owner.name, "redis"),
            image=_image(rd.image, "IfNotPresent"),
            persistence=_persistence(rd.storage, klass),
            auth={"enabled": True, "existingSecret": secret, "secretKey": "redis-password"},
        )
    return values


def _external_values(spec: IndexSpec) -> Values:
    """Endpoints and the user's Secrets of the external stores."""
    values: Values = {}
    vs = spec.vector_store.external
    if vs and spec.vector_store.type == "qdrant":
        ref = vs.get("apiKeySecretRef") or {}
        values["externalQdrant"] = {
            "url": vs["url"],
            "existingSecret": ref.get("name", ""),
            "secretKey": ref.get("key", "api-key"),
        }
    db = spec.database.external
    if db:
        ref = db["urlSecretRef"]
        values["externalDatabase"] = {"existingSecret": ref["name"], "secretKey": ref["key"]}
    obj = spec.object_store.external
    if obj:
        creds = obj["credentialsSecretRef"]
        values["externalS3"] = {
            "endpoint": obj["endpoint"],
            "secure": bool(obj.get("secure", True)),
            "existingSecret": creds["name"],
            "accessKeyKey": creds.get("accessKeyKey", "access-key"),
            "secretKeyKey": creds.get("secretKeyKey", "secret-key"),
        }
    rd = spec.redis.external
    if rd:
        ref = rd["urlSecretRef"]
        values["externalRedis"] = {"existingSecret": ref["name"], "secretKey": ref["key"]}
    return values


def _config_values(spec: IndexSpec) -> Values:
    vs = spec.vector_store
    extra: dict[str, str] = {}
    if vs.type == "qdrant":
        # spec.vectorStore's collection layout (the platform's settings do not read these yet).
        extra = {
            "QDRANT_SHARDS": str(vs.shards),
            "QDRANT_REPLICATION_FACTOR": str(min(vs.replicas, 3)),
            "QDRANT_QUANTIZATION": vs.quantization,
            "QDRANT_ON_DISK": str(vs.on_disk).lower(),
        }
    # Each model's vectors in a collection of their own: during a switch the pods of the old
    # model and of the new one each read only their own model's ('auto' names no model).
    extra["COLLECTION_PER_MODEL"] = str(spec.model != "auto").lower()
    return {
        "model": spec.model,
        "cacheTtl": spec.cache_ttl_seconds,
        "s3Bucket": spec.bucket,
        # The Ingress enforces the per-client limit; behind it every request comes from the
        # controller's address, so an in-app per-IP limit would throttle all shoppers together.
        "rateLimitPerMinute": 0,
        "logFormat": "json",
        "logLevel": "INFO",
        "extra": extra,
    }


def _exposure_values(spec: IndexSpec, caps: Capabilities) -> Values:
    ing = spec.ingress
    tls = (
        [{"hosts": [ing.host], "secretName": ing.tls_secret_name}]
        if ing.tls_secret_name and ing.host
        else []
    )
    return {
        "ingress": {
            "enabled": ing.enabled,
            "controller": ing.controller,
            "className": ing.class_name or "",
            "host": ing.host or "",
            "tls": tls,
            "rateLimit": {
                "enabled": ing.rate_limit_per_minute > 0,
                "requestsPerMinute": ing.rate_limit_per_minute,
                "burstMultiplier": ing.burst_multiplier,
            },
            "traefik": {"apiVersion": TRAEFIK_API_VERSION},
        },
        "gateway": {
            "enabled": spec.gateway_enabled and caps.gateway_api,
            "parentRefs": [dict(p) for p in spec.gateway_parent_refs],
            "hostnames": [ing.host] if ing.host else [],
        },
    }


def index_values(owner: Owner, spec: IndexSpec, caps: Capabilities) -> Values:
    """The values that make ``charts/visual-search`` render what ``spec`` asks for.

    ``spec.model`` is the model the pods serve with; during a model switch that is still the
    old one until the re-index Job has filled the new generation (see ``build_reindex_job``).
    """
    index = owner.name
    secret = credentials_secret_name(index)
    key = spec.api_key_secret
    auto = spec.autoscaling
    return {
        "fullnameOverride": index,
        "pdbApiVersion": caps.pdb_api_version,
        "configMapNameOverride": config_map_name(index),
        "image": _image(spec.image, spec.image_pull_policy),
        "serviceAccount": {"create": False},
        "config": _config_values(spec),
        "apiKey": {
            "existingSecret": key.name if key else secret,
            "secretKey": key.key if key else "api-key",
        },
        "embedder": {
            "enabled": True,
            "port": c.EMBEDDER_PORT,
            "modelSlot": model_slot(spec.model),
            "resources": exact_resources(spec.embedding_resources),
            "autoscaling": {
                "enabled": True,
                "minReplicas": auto.min_replicas,
                "maxReplicas": auto.max_replicas,
                "targetCPUUtilizationPercentage": auto.target_cpu,
                "apiVersion": caps.hpa_api_version,
            },
            **PDB,
        },
        "api": {
            "enabled": True,
            "replicaCount": spec.api_replicas,
            "resources": exact_resources(spec.api_resources),
            **PDB,
        },
        "worker": {
            "enabled": True,
            "replicaCount": spec.worker_replicas,
            "resources": exact_resources(spec.worker_resources),
            **PDB,
        },
        "storefront": {
            "enabled": spec.storefront_enabled,
            "image": _image(spec.storefront_image, spec.image_pull_policy),
            "replicaCount": spec.storefront_replicas,
            **PDB,
        },
        "service": {"apiPort": c.API_PORT},
        "migrate": {"enabled": True, "initContainer": True},
        "seed": {"demo": False},
        "networkPolicy": {"enabled": False},
        "metrics": {"serviceMonitor": {"enabled": False}},
        "vectorStore": {"type": spec.vector_store.type},
        # a ConfigMap the chart renders, mounted into the api pods (no restart on a change)
        "synonyms": {"rules": spec.synonyms},
        **_exposure_values(spec, caps),
        **_store_values(owner, spec, secret),
        **_external_values(spec),
    }
