"""Typed views of the two custom resources' specs (the models layer).

The API server applies the CRD defaults and validates types and ranges; these parsers apply the
same defaults again (so builders work on a bare dict in tests and on objects stored before a
default was added) and check what an OpenAPI schema cannot express, raising
:class:`InvalidSpecError` for a spec that can never work.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from visualsearch_operator import constants as c
from visualsearch_operator.exceptions import InvalidSpecError
from visualsearch_operator.schedule import parse_cron

Resources = dict[str, dict[str, Any]]


@dataclass(frozen=True)
class SecretKeyRef:
    """One key of one Secret in the resource's namespace."""

    name: str
    key: str


@dataclass(frozen=True)
class Autoscaling:
    """Bounds and target of the embedding HorizontalPodAutoscaler."""

    min_replicas: int = 1
    max_replicas: int = 4
    target_cpu: int = 70


@dataclass(frozen=True)
class StoreSpec:
    """One backing store: in-cluster (a StatefulSet) unless ``external`` is set."""

    storage: str
    image: str
    external: dict[str, Any] | None = None

    @property
    def in_cluster(self) -> bool:
        """Whether the operator deploys this store itself."""
        return self.external is None


@dataclass(frozen=True)
class VectorStoreSpec(StoreSpec):
    """The vector index: Qdrant (with sharding, replication and quantisation) or pgvector in
    the index's PostgreSQL."""

    type: str = "qdrant"
    replicas: int = 1
    shards: int = 1
    quantization: str = "none"
    on_disk: bool = False

    @property
    def deploys_qdrant(self) -> bool:
        """Whether the operator runs a Qdrant StatefulSet for this index."""
        return self.type == "qdrant" and self.in_cluster


@dataclass(frozen=True)
class IngressSpec:
    """How the index is exposed: host, controller flavour and per-client-IP rate limit."""

    enabled: bool = True
    host: str | None = None
    class_name: str | None = None
    controller: str = "nginx"
    rate_limit_per_minute: int = 60
    burst_multiplier: int = 1
    tls_secret_name: str | None = None


@dataclass(frozen=True)
class IndexSpec:
    """A parsed ``VisualSearchIndex`` spec."""

    model: str
    image: str
    storefront_image: str
    image_pull_policy: str
    autoscaling: Autoscaling
    embedding_resources: Resources
    api_replicas: int
    api_resources: Resources
    worker_replicas: int
    worker_resources: Resources
    storefront_enabled: bool
    storefront_replicas: int
    vector_store: VectorStoreSpec
    database: StoreSpec
    object_store: StoreSpec
    bucket: str
    redis: StoreSpec
    cache_ttl_seconds: int
    ingress: IngressSpec
    synonyms: str = ""
    gateway_enabled: bool = False
    gateway_parent_refs: tuple[dict[str, str], ...] = ()
    api_key_secret: SecretKeyRef | None = None
    storage_class_name: str | None = None
    retain_data: bool = False
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


def _section(spec: dict[str, Any], key: str) -> dict[str, Any]:
    value = spec.get(key) or {}
    if not isinstance(value, dict):
        raise InvalidSpecError(f"spec.{key} must be an object")
    return value


def _resources(section: dict[str, Any], default: Resources) -> Resources:
    value = section.get("resources")
    return dict(value) if value else default


def _secret_ref(
    value: dict[str, Any] | None, default_key: str | None = None
) -> SecretKeyRef | None:
    if not value:
        return None
    key = value.get("key", default_key)
    if not value.get("name") or not key:
        raise InvalidSpecError("a Secret reference needs a name and a key")
    return SecretKeyRef(name=value["name"], key=key)


def parse_index_spec(spec: dict[str, Any]) -> IndexSpec:
    """Parse and check an index spec; :class:`InvalidSpecError` if it can never work."""
    embedding = _section(spec, "embedding")
    autoscaling = Autoscaling(
        min_replicas=int(embedding.get("minReplicas", 1)),
        max_replicas=int(embedding.get("maxReplicas", 4)),
        target_cpu=int(embedding.get("targetCPUUtilizationPercentage", 70)),
    )
    if autoscaling.min_replicas > autoscaling.max_replicas:
        raise InvalidSpecError(
            f"spec.embedding.minReplicas ({autoscaling.min_replicas}) is larger than "
            f"maxReplicas ({autoscaling.max_replicas})"
        )
    vs = _section(spec, "vectorStore")
    vector_store = VectorStoreSpec(
        type=vs.get("type", "qdrant"),
        storage=vs.get("storage", "10Gi"),
        image=vs.get("image", c.QDRANT_IMAGE),
        external=vs.get("external"),
        replicas=int(vs.get("replicas", 1)),
        shards=int(vs.get("shards", 1)),
        quantization=vs.get("quantization", "none"),
        on_disk=bool(vs.get("onDisk", False)),
    )
    db = _section(spec, "database")
    obj = _section(spec, "objectStore")
    rd = _section(spec, "redis")
    ingress = _section(spec, "ingress")
    gateway = _section(spec, "gateway")
    api = _section(spec, "api")
    worker = _section(spec, "worker")
    storefront = _section(spec, "storefront")
    parsed_ingress = IngressSpec(
        enabled=bool(ingress.get("enabled", True)),
        host=ingress.get("host"),
        class_name=ingress.get("className"),
        controller=ingress.get("controller", "nginx"),
        rate_limit_per_minute=int(ingress.get("rateLimitPerMinute", 60)),
        burst_multiplier=int(ingress.get("burstMultiplier", 1)),
        tls_secret_name=ingress.get("tlsSecretName"),
    )
    if parsed_ingress.controller not in ("nginx", "traefik"):
        raise InvalidSpecError(f"spec.ingress.controller {parsed_ingress.controller!r} is unknown")
    parent_refs = tuple(dict(ref) for ref in gateway.get("parentRefs") or [])
    gateway_enabled = bool(gateway.get("enabled", False))
    if gateway_enabled and not parent_refs:
        raise InvalidSpecError("spec.gateway.enabled needs at least one spec.gateway.parentRefs")
    return IndexSpec(
        model=spec.get("model") or c.DEFAULT_MODEL,
        image=spec.get("image") or c.DEFAULT_IMAGE,
        storefront_image=spec.get("storefrontImage") or c.DEFAULT_STOREFRONT_IMAGE,
        image_pull_policy=spec.get("imagePullPolicy", "IfNotPresent"),
        autoscaling=autoscaling,
        embedding_resources=_resources(
            embedding,
            {"requests": {"cpu": "500m", "memory": "1536Mi"}, "limits": {"memory": "3Gi"}},
        ),
        api_replicas=int(api.get("replicas", 2)),
        api_resources=_resources(
            api, {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"memory": "1Gi"}}
        ),
        worker_replicas=int(worker.get("replicas", 1)),
        worker_resources=_resources(
            worker, {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"memory": "1Gi"}}
        ),
        storefront_enabled=bool(storefront.get("enabled", True)),
        storefront_replicas=int(storefront.get("replicas", 1)),
        vector_store=vector_store,
        database=StoreSpec(
            storage=db.get("storage", "5Gi"),
            image=db.get(
                "image", c.PGVECTOR_IMAGE if vector_store.type == "pgvector" else c.POSTGRES_IMAGE
            ),
            external=db.get("external"),
        ),
        object_store=StoreSpec(
            storage=obj.get("storage", "10Gi"),
            image=obj.get("image", c.MINIO_IMAGE),
            external=obj.get("external"),
        ),
        bucket=obj.get("bucket", "products"),
        redis=StoreSpec(
            storage=rd.get("storage", "1Gi"),
            image=rd.get("image", c.REDIS_IMAGE),
            external=rd.get("external"),
        ),
        cache_ttl_seconds=int(spec.get("cacheTTLSeconds", 3600)),
        synonyms=str(spec.get("synonyms") or ""),
        ingress=parsed_ingress,
        gateway_enabled=gateway_enabled,
        gateway_parent_refs=parent_refs,
        api_key_secret=_secret_ref(spec.get("apiKeySecretRef"), default_key="api-key"),
        storage_class_name=spec.get("storageClassName"),
        retain_data=bool(spec.get("retainData", False)),
        raw=spec,
    )


@dataclass(frozen=True)
class SourceSpec:
    """A parsed ``CatalogSource`` spec."""

    index_name: str
    type: str
    url: str | None = None
    format: str = "auto"
    s3: dict[str, Any] | None = None
    config_map: dict[str, Any] | None = None
    schedule: str | None = None
    prune: bool = False
    suspend: bool = False
    backoff_limit: int = 2
    active_deadline_seconds: int = 7200
    resources: Resources = field(default_factory=dict)

    def identity(self) -> dict[str, Any]:
        """The fields that decide what a sync does: their hash names the Job."""
        return {
            "index": self.index_name,
            "type": self.type,
            "url": self.url,
            "format": self.format,
            "s3": self.s3,
            "configMap": self.config_map,
            "prune": self.prune,
        }


def parse_source_spec(spec: dict[str, Any]) -> SourceSpec:
    """Parse and check a source spec; :class:`InvalidSpecError` if it can never work."""
    index_ref = spec.get("indexRef") or {}
    if not index_ref.get("name"):
        raise InvalidSpecError("spec.indexRef.name is required")
    kind = spec.get("type")
    needs = {"Url": "url", "S3": "s3", "ConfigMap": "configMap"}
    if kind not in ("Demo", *needs):
        raise InvalidSpecError(f"spec.type {kind!r} is not one of Demo, Url, S3, ConfigMap")
    if kind in needs and not spec.get(needs[kind]):
        raise InvalidSpecError(f"spec.type {kind} needs spec.{needs[kind]}")
    schedule = spec.get("schedule")
    if schedule:
        parse_cron(schedule)  # raises InvalidSpecError saying what is wrong
    return SourceSpec(
        index_name=index_ref["name"],
        type=kind,
        url=spec.get("url"),
        format=spec.get("format", "auto"),
        s3=spec.get("s3"),
        config_map=spec.get("configMap"),
        schedule=schedule,
        prune=bool(spec.get("prune", False)),
        suspend=bool(spec.get("suspend", False)),
        backoff_limit=int(spec.get("backoffLimit", 2)),
        active_deadline_seconds=int(spec.get("activeDeadlineSeconds", 7200)),
        resources=dict(spec.get("resources") or {}),
    )
