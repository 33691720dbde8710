"""The platform's own workloads: config, embedding Deployment + HPA, API, worker, storefront."""

from __future__ import annotations

from typing import Any

from visualsearch_operator import constants as c
from visualsearch_operator.builders.common import (
    TMP_DIR,
    Capabilities,
    Manifest,
    Owner,
    container_security_context,
    index_labels,
    metadata,
    pod_security_context,
    selector_labels,
    service,
)
from visualsearch_operator.builders.stores import credentials_secret_name, store_name
from visualsearch_operator.spec import IndexSpec, VectorStoreSpec


def config_map_name(index: str) -> str:
    """The ConfigMap with the index's non-secret ``VISUALSEARCH_*`` settings."""
    return f"{index}-config"


def component_name(index: str, component: str) -> str:
    """Name of a platform workload (``embedder``, ``api``, ``worker``, ``storefront``)."""
    return f"{index}-{component}"


def qdrant_settings(index: str, namespace: str, vs: VectorStoreSpec) -> dict[str, str]:
    """Where the Qdrant of an index is and how its collections are laid out."""
    return {
        "VISUALSEARCH_QDRANT_URL": (
            vs.external["url"]
            if vs.external
            else f"http://{store_name(index, 'qdrant')}.{namespace}.svc:{c.QDRANT_PORT}"
        ),
        "VISUALSEARCH_QDRANT_SHARDS": str(vs.shards),
        "VISUALSEARCH_QDRANT_REPLICATION_FACTOR": str(min(vs.replicas, 3)),
        "VISUALSEARCH_QDRANT_QUANTIZATION": vs.quantization,
        "VISUALSEARCH_QDRANT_ON_DISK": str(vs.on_disk).lower(),
    }


def build_config_map(owner: Owner, spec: IndexSpec) -> Manifest:
    """Non-secret settings shared by the API, worker, embedder and indexing Jobs."""
    index, ns = owner.name, owner.namespace
    vs = spec.vector_store
    obj = spec.object_store
    data = {
        "VISUALSEARCH_MODEL": spec.model,
        "VISUALSEARCH_MODEL_CACHE_DIR": "/models",
        "VISUALSEARCH_VECTOR_STORE": vs.type,
        "VISUALSEARCH_S3_ENDPOINT": (
            obj.external["endpoint"]
            if obj.external
            else f"{store_name(index, 'minio')}.{ns}.svc:{c.MINIO_PORT}"
        ),
        "VISUALSEARCH_S3_SECURE": str(
            bool(obj.external and obj.external.get("secure", True))
        ).lower(),
        "VISUALSEARCH_S3_BUCKET": spec.bucket,
        "VISUALSEARCH_REDIS_CACHE_TTL": str(spec.cache_ttl_seconds),
        # The Ingress enforces the per-client limit; behind it every request comes from the
        # controller's address, so an in-app per-IP limit would throttle all shoppers together.
        "VISUALSEARCH_RATE_LIMIT_PER_MINUTE": "0",
        "VISUALSEARCH_LOG_FORMAT": "json",
        "VISUALSEARCH_LOG_LEVEL": "INFO",
    }
    if vs.type == "qdrant":
        data.update(qdrant_settings(index, ns, vs))
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": metadata(config_map_name(index), owner, index_labels(index, "config")),
        "data": data,
    }


def _secret_env(name: str, secret: str, key: str, optional: bool = False) -> dict[str, Any]:
    ref: dict[str, Any] = {"name": secret, "key": key}
    if optional:
        ref["optional"] = True
    return {"name": name, "valueFrom": {"secretKeyRef": ref}}


def build_secret_env(index: str, spec: IndexSpec) -> list[dict[str, Any]]:
    """``VISUALSEARCH_*`` credentials, each from the generated Secret or the user's own."""
    generated = credentials_secret_name(index)
    env: list[dict[str, Any]] = []
    db = spec.database.external
    ref = db["urlSecretRef"] if db else {"name": generated, "key": "database-url"}
    env.append(_secret_env("VISUALSEARCH_DATABASE_URL", ref["name"], ref["key"]))
    rd = spec.redis.external
    ref = rd["urlSecretRef"] if rd else {"name": generated, "key": "redis-url"}
    env.append(_secret_env("VISUALSEARCH_REDIS_URL", ref["name"], ref["key"]))
    obj = spec.object_store.external
    if obj:
        creds = obj["credentialsSecretRef"]
        env.append(
            _secret_env(
                "VISUALSEARCH_S3_ACCESS_KEY", creds["name"], creds.get("accessKeyKey", "access-key")
            )
        )
        env.append(
            _secret_env(
                "VISUALSEARCH_S3_SECRET_KEY", creds["name"], creds.get("secretKeyKey", "secret-key")
            )
        )
    else:
        env.append(_secret_env("VISUALSEARCH_S3_ACCESS_KEY", generated, "minio-access-key"))
        env.append(_secret_env("VISUALSEARCH_S3_SECRET_KEY", generated, "minio-secret-key"))
    vs = spec.vector_store.external
    if spec.vector_store.type != "qdrant":
        pass  # pgvector lives in the index's PostgreSQL, reached with the database URL
    elif vs is None:
        env.append(_secret_env("VISUALSEARCH_QDRANT_API_KEY", generated, "qdrant-api-key"))
    elif vs.get("apiKeySecretRef"):
        ref = vs["apiKeySecretRef"]
        env.append(_secret_env("VISUALSEARCH_QDRANT_API_KEY", ref["name"], ref["key"]))
    key = spec.api_key_secret
    env.append(
        _secret_env(
            "VISUALSEARCH_API_KEY", key.name if key else generated, key.key if key else "api-key"
        )
    )
    return env


def build_platform_env(index: str, spec: IndexSpec, use_embedder: bool = True) -> dict[str, Any]:
    """``env``/``envFrom`` of a platform container; ``use_embedder``: embed via the service."""
    env = build_secret_env(index, spec)
    if use_embedder:
        env.append(
            {
                "name": "VISUALSEARCH_EMBEDDER_URL",
                "value": f"http://{component_name(index, 'embedder')}:{c.EMBEDDER_PORT}",
            }
        )
    return {"envFrom": [{"configMapRef": {"name": config_map_name(index)}}], "env": env}


def _platform_container(
    name: str, spec: IndexSpec, args: list[str], resources: dict[str, Any], env: dict[str, Any]
) -> dict[str, Any]:
    return {
        "name": name,
        "image": spec.image,
        "imagePullPolicy": spec.image_pull_policy,
        "command": ["visualsearch"],
        "args": args,
        **env,
        "resources": resources,
        "securityContext": container_security_context(),
        "volumeMounts": [
            {"name": "tmp", "mountPath": TMP_DIR},
            {"name": "models", "mountPath": "/models"},
        ],
    }


def _deployment(
    owner: Owner,
    component: str,
    replicas: int | None,
    containers: list[dict[str, Any]],
    init_containers: list[dict[str, Any]] | None = None,
    volumes: tuple[str, ...] = ("tmp", "models"),
) -> Manifest:
    pod_spec: dict[str, Any] = {
        "securityContext": pod_security_context(),
        "automountServiceAccountToken": False,
        "containers": containers,
        "volumes": [{"name": name, "emptyDir": {}} for name in volumes],
    }
    if init_containers:
        pod_spec["initContainers"] = init_containers
    spec: dict[str, Any] = {
        "selector": {"matchLabels": selector_labels(owner.name, component)},
        "strategy": {
            "type": "RollingUpdate",
            "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1},
        },
        "template": {
            "metadata": {"labels": index_labels(owner.name, component)},
            "spec": pod_spec,
        },
    }
    if replicas is not None:
        # Left out for the HPA-managed embedder, so re-applying never fights the autoscaler.
        spec["replicas"] = replicas
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": metadata(
            component_name(owner.name, component), owner, index_labels(owner.name, component)
        ),
        "spec": spec,
    }


def _http_probes(port: int) -> dict[str, Any]:
    return {
        "readinessProbe": {"httpGet": {"path": "/ready", "port": port}, "periodSeconds": 5},
        "livenessProbe": {
            "httpGet": {"path": "/health", "port": port},
            "periodSeconds": 10,
            "failureThreshold": 6,
        },
        "startupProbe": {
            "httpGet": {"path": "/health", "port": port},
            "periodSeconds": 5,
            "failureThreshold": 60,
        },
    }


def build_embedder_manifests(owner: Owner, spec: IndexSpec, caps: Capabilities) -> list[Manifest]:
    """The embedding Deployment (sized by the HPA), its Service and HorizontalPodAutoscaler."""
    index = owner.name
    container = _platform_container(
        "embedder",
        spec,
        ["embedder", "--port", str(c.EMBEDDER_PORT)],
        spec.embedding_resources,
        build_platform_env(index, spec, use_embedder=False),
    )
    container["ports"] = [{"name": "http", "containerPort": c.EMBEDDER_PORT}]
    container.update(_http_probes(c.EMBEDDER_PORT))
    deployment = _deployment(owner, "embedder", None, [container])
    auto = spec.autoscaling
    target = {"type": "Utilization", "averageUtilization": auto.target_cpu}
    hpa = {
        "apiVersion": caps.hpa_api_version,
        "kind": "HorizontalPodAutoscaler",
        "metadata": metadata(
            component_name(index, "embedder"), owner, index_labels(index, "embedder")
        ),
        "spec": {
            "scaleTargetRef": {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "name": component_name(index, "embedder"),
            },
            "minReplicas": auto.min_replicas,
            "maxReplicas": auto.max_replicas,
            "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": target}}],
        },
    }
    return [
        deployment,
        service(component_name(index, "embedder"), owner, "embedder", [("http", c.EMBEDDER_PORT)]),
        hpa,
    ]


def build_api_manifests(owner: Owner, spec: IndexSpec) -> list[Manifest]:
    """The HTTP API Deployment (schema migrated by an init container) and its Service."""
    index = owner.name
    env = build_platform_env(index, spec)
    container = _platform_container(
        "api",
        spec,
        ["api", "--host", "0.0.0.0", "--port", str(c.API_PORT)],
        spec.api_resources,
        env,
    )
    container["ports"] = [{"name": "http", "containerPort": c.API_PORT}]
    container.update(_http_probes(c.API_PORT))
    migrate = _platform_container("migrate", spec, ["migrate"], spec.api_resources, env)
    return [
        _deployment(owner, "api", spec.api_replicas, [container], [migrate]),
        service(component_name(index, "api"), owner, "api", [("http", c.API_PORT)]),
    ]


def build_worker_manifests(owner: Owner, spec: IndexSpec) -> list[Manifest]:
    """The indexing worker Deployment (a Redis Streams consumer: no Service)."""
    container = _platform_container(
        "worker", spec, ["worker"], spec.worker_resources, build_platform_env(owner.name, spec)
    )
    return [_deployment(owner, "worker", spec.worker_replicas, [container])]


def build_storefront_manifests(owner: Owner, spec: IndexSpec) -> list[Manifest]:
    """The storefront (static files behind nginx) and its Service; empty when disabled."""
    if not spec.storefront_enabled:
        return []
    index = owner.name
    api = f"http://{component_name(index, 'api')}:{c.API_PORT}"
    container = {
        "name": "storefront",
        "image": spec.storefront_image,
        "imagePullPolicy": spec.image_pull_policy,
        "ports": [{"name": "http", "containerPort": c.STOREFRONT_PORT}],
        # frontend/nginx.conf is a template filled at start; every API path goes to one Service.
        "env": [
            {"name": "SEARCH_UPSTREAM", "value": api},
            {"name": "PRODUCTS_UPSTREAM", "value": api},
            {"name": "INDEX_UPSTREAM", "value": api},
            {"name": "LISTEN_PORT", "value": str(c.STOREFRONT_PORT)},
            {"name": "CLIENT_MAX_BODY_SIZE", "value": "11m"},
        ],
        "readinessProbe": {"httpGet": {"path": "/healthz", "port": c.STOREFRONT_PORT}},
        "livenessProbe": {"httpGet": {"path": "/healthz", "port": c.STOREFRONT_PORT}},
        "resources": {"requests": {"cpu": "20m", "memory": "32Mi"}, "limits": {"memory": "128Mi"}},
        "securityContext": container_security_context(),
        # nginx writes its rendered config, pid file and temp files here (read-only root).
        "volumeMounts": [
            {"name": "tmp", "mountPath": TMP_DIR},
            {"name": "conf", "mountPath": "/etc/nginx/conf.d"},
            {"name": "cache", "mountPath": "/var/cache/nginx"},
        ],
    }
    return [
        _deployment(
            owner,
            "storefront",
            spec.storefront_replicas,
            [container],
            volumes=("tmp", "conf", "cache"),
        ),
        service(
            component_name(index, "storefront"), owner, "storefront", [("http", c.STOREFRONT_PORT)]
        ),
    ]
