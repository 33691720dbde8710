"""In-cluster backing stores: Qdrant, PostgreSQL, MinIO and Redis as StatefulSets with Services.

An external store (``spec.<store>.external``) builds nothing here; its endpoint goes into the
platform's configuration instead (see :mod:`.platform`).
"""

from __future__ import annotations

from typing import Any

from visualsearch_operator import constants as c
from visualsearch_operator.builders.common import (
    TMP_DIR,
    Manifest,
    Owner,
    container_security_context,
    index_labels,
    metadata,
    pod_security_context,
    selector_labels,
    service,
)
from visualsearch_operator.spec import IndexSpec, StoreSpec

CREDENTIALS_SUFFIX = "-credentials"


def credentials_secret_name(index: str) -> str:
    """The Secret holding generated store passwords and the API key of ``index``."""
    return f"{index}{CREDENTIALS_SUFFIX}"


def store_name(index: str, store: str) -> str:
    """Name of a store's StatefulSet and Service (``qdrant``, ``postgresql``, ``minio``, ...)."""
    return f"{index}-{store}"


def _secret_env(name: str, secret: str, key: str) -> dict[str, Any]:
    return {"name": name, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}


def _statefulset(
    owner: Owner,
    component: str,
    store: StoreSpec,
    replicas: int,
    container: dict[str, Any],
    data_path: str,
    storage_class: str | None,
    uid: int,
    extra_volumes: list[dict[str, Any]] | None = None,
) -> Manifest:
    name = store_name(owner.name, component)
    container = {
        "image": store.image,
        "imagePullPolicy": "IfNotPresent",
        "securityContext": container_security_context(),
        **container,
    }
    container["volumeMounts"] = [
        {"name": "data", "mountPath": data_path},
        {"name": "tmp", "mountPath": TMP_DIR},
        *container.get("volumeMounts", []),
    ]
    claim: dict[str, Any] = {
        "metadata": {"name": "data", "labels": index_labels(owner.name, component)},
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": store.storage}},
        },
    }
    if storage_class:
        claim["spec"]["storageClassName"] = storage_class
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": metadata(name, owner, index_labels(owner.name, component)),
        "spec": {
            "serviceName": f"{name}-headless",
            "replicas": replicas,
            "podManagementPolicy": "Parallel",
            "selector": {"matchLabels": selector_labels(owner.name, component)},
            "template": {
                "metadata": {"labels": index_labels(owner.name, component)},
                "spec": {
                    "securityContext": pod_security_context(uid),
                    "automountServiceAccountToken": False,
                    "containers": [container],
                    "volumes": [{"name": "tmp", "emptyDir": {}}, *(extra_volumes or [])],
                },
            },
            "volumeClaimTemplates": [claim],
        },
    }


def build_qdrant_manifests(owner: Owner, spec: IndexSpec) -> list[Manifest]:
    """Qdrant StatefulSet (clustered when ``replicas`` > 1), its Service and headless Service."""
    vs = spec.vector_store
    name = store_name(owner.name, "qdrant")
    headless = f"{name}-headless"
    env = [
        _secret_env(
            "QDRANT__SERVICE__API_KEY", credentials_secret_name(owner.name), "qdrant-api-key"
        ),
        {"name": "QDRANT__STORAGE__STORAGE_PATH", "value": "/qdrant/storage"},
        {"name": "QDRANT__STORAGE__SNAPSHOTS_PATH", "value": "/qdrant/storage/snapshots"},
        {"name": "QDRANT__TELEMETRY_DISABLED", "value": "true"},
    ]
    container: dict[str, Any] = {
        "name": "qdrant",
        "ports": [
            {"name": "http", "containerPort": c.QDRANT_PORT},
            {"name": "grpc", "containerPort": 6334},
            {"name": "p2p", "containerPort": 6335},
        ],
        "readinessProbe": {
            "httpGet": {"path": "/readyz", "port": c.QDRANT_PORT},
            "periodSeconds": 5,
        },
        "livenessProbe": {
            "httpGet": {"path": "/livez", "port": c.QDRANT_PORT},
            "periodSeconds": 10,
        },
        "resources": {"requests": {"cpu": "200m", "memory": "512Mi"}, "limits": {"memory": "4Gi"}},
    }
    if vs.replicas > 1:
        # Peer 0 starts the cluster; the others bootstrap from it through the headless Service.
        peer = f"http://$(POD_NAME).{headless}:6335"
        first = f"http://{name}-0.{headless}:6335"
        env += [
            {"name": "QDRANT__CLUSTER__ENABLED", "value": "true"},
            {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        ]
        container["command"] = [
            "sh",
            "-c",
            f'if [ "$POD_NAME" = "{name}-0" ]; then exec ./qdrant --uri {peer}; '
            f"else exec ./qdrant --bootstrap {first} --uri {peer}; fi",
        ]
    container["env"] = env
    return [
        _statefulset(
            owner,
            "qdrant",
            vs,
            vs.replicas,
            container,
            "/qdrant/storage",
            spec.storage_class_name,
            uid=1000,
        ),
        service(name, owner, "qdrant", [("http", c.QDRANT_PORT), ("grpc", 6334)]),
        service(headless, owner, "qdrant", [("p2p", 6335), ("http", c.QDRANT_PORT)], headless=True),
    ]


def build_postgres_manifests(owner: Owner, spec: IndexSpec) -> list[Manifest]:
    """PostgreSQL StatefulSet (one primary) with its Services."""
    name = store_name(owner.name, "postgresql")
    secret = credentials_secret_name(owner.name)
    probe = {"exec": {"command": ["pg_isready", "-U", "visualsearch", "-d", "visualsearch"]}}
    container = {
        "name": "postgresql",
        "ports": [{"name": "postgresql", "containerPort": c.POSTGRES_PORT}],
        "env": [
            {"name": "POSTGRES_USER", "value": "visualsearch"},
            {"name": "POSTGRES_DB", "value": "visualsearch"},
            _secret_env("POSTGRES_PASSWORD", secret, "postgres-password"),
            {"name": "PGDATA", "value": "/var/lib/postgresql/data/pgdata"},
        ],
        "readinessProbe": {**probe, "periodSeconds": 5},
        "livenessProbe": {**probe, "periodSeconds": 10, "failureThreshold": 6},
        "resources": {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"memory": "1Gi"}},
        "volumeMounts": [{"name": "run", "mountPath": "/var/run/postgresql"}],
    }
    return [
        _statefulset(
            owner,
            "postgresql",
            spec.database,
            1,
            container,
            "/var/lib/postgresql/data",
            spec.storage_class_name,
            uid=70,  # postgres in the alpine image
            extra_volumes=[{"name": "run", "emptyDir": {}}],
        ),
        service(name, owner, "postgresql", [("postgresql", c.POSTGRES_PORT)]),
        service(
            f"{name}-headless",
            owner,
            "postgresql",
            [("postgresql", c.POSTGRES_PORT)],
            headless=True,
        ),
    ]


def build_minio_manifests(owner: Owner, spec: IndexSpec) -> list[Manifest]:
    """MinIO StatefulSet (single node) with its Services."""
    name = store_name(owner.name, "minio")
    secret = credentials_secret_name(owner.name)
    container = {
        "name": "minio",
        "args": ["server", "/data", "--address", f":{c.MINIO_PORT}"],
        "ports": [{"name": "s3", "containerPort": c.MINIO_PORT}],
        "env": [
            _secret_env("MINIO_ROOT_USER", secret, "minio-access-key"),
            _secret_env("MINIO_ROOT_PASSWORD", secret, "minio-secret-key"),
            {"name": "MINIO_BROWSER", "value": "off"},
        ],
        "readinessProbe": {"httpGet": {"path": "/minio/health/ready", "port": c.MINIO_PORT}},
        "livenessProbe": {"httpGet": {"path": "/minio/health/live", "port": c.MINIO_PORT}},
        "resources": {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"memory": "1Gi"}},
    }
    return [
        _statefulset(
            owner,
            "minio",
            spec.object_store,
            1,
            container,
            "/data",
            spec.storage_class_name,
            uid=1000,
        ),
        service(name, owner, "minio", [("s3", c.MINIO_PORT)]),
        service(f"{name}-headless", owner, "minio", [("s3", c.MINIO_PORT)], headless=True),
    ]


def build_redis_manifests(owner: Owner, spec: IndexSpec) -> list[Manifest]:
    """Redis StatefulSet (cache and indexing stream, append-only file on) with its Services."""
    name = store_name(owner.name, "redis")
    secret = credentials_secret_name(owner.name)
    probe = {
        "exec": {"command": ["sh", "-c", 'redis-cli -a "$REDIS_PASSWORD" --no-auth-warning ping']}
    }
    container = {
        "name": "redis",
        "command": [
            "sh",
            "-c",
            'exec redis-server --appendonly yes --dir /data --requirepass "$REDIS_PASSWORD"',
        ],
        "ports": [{"name": "redis", "containerPort": c.REDIS_PORT}],
        "env": [_secret_env("REDIS_PASSWORD", secret, "redis-password")],
        "readinessProbe": {**probe, "periodSeconds": 5},
        "livenessProbe": {**probe, "periodSeconds": 10},
        "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"memory": "512Mi"}},
    }
    return [
        _statefulset(
            owner, "redis", spec.redis, 1, container, "/data", spec.storage_class_name, uid=999
        ),
        service(name, owner, "redis", [("redis", c.REDIS_PORT)]),
        service(f"{name}-headless", owner, "redis", [("redis", c.REDIS_PORT)], headless=True),
    ]


def build_store_manifests(owner: Owner, spec: IndexSpec) -> list[Manifest]:
    """Every in-cluster store of ``spec``; external ones contribute nothing."""
    built: list[Manifest] = []
    if spec.vector_store.deploys_qdrant:
        built += build_qdrant_manifests(owner, spec)
    if spec.database.in_cluster:
        built += build_postgres_manifests(owner, spec)
    if spec.object_store.in_cluster:
        built += build_minio_manifests(owner, spec)
    if spec.redis.in_cluster:
        built += build_redis_manifests(owner, spec)
    return built


def build_credentials(index: str, namespace: str, generated: dict[str, str]) -> Manifest:
    """The generated-credentials Secret; no owner reference, so ``retainData`` can keep it."""
    host = f"{index}-postgresql.{namespace}.svc"
    redis_host = f"{index}-redis.{namespace}.svc"
    data = dict(generated)
    data["database-url"] = (
        f"postgresql://visualsearch:{generated['postgres-password']}@{host}:{c.POSTGRES_PORT}/visualsearch"
    )
    data["redis-url"] = f"redis://:{generated['redis-password']}@{redis_host}:{c.REDIS_PORT}/0"
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": {
            "name": credentials_secret_name(index),
            "namespace": namespace,
            "labels": index_labels(index, "credentials"),
        },
        "stringData": data,
    }


CREDENTIAL_KEYS = (
    "postgres-password",
    "redis-password",
    "minio-access-key",
    "minio-secret-key",
    "qdrant-api-key",
    "api-key",
)
"""Keys the operator generates once per index (random) and never rotates on its own."""
