"""Constants shared by every layer: API group, versions, plurals, labels and defaults."""

from typing import Final

GROUP: Final = "visualsearch.dev"
VERSION: Final = "v1alpha1"
API_VERSION: Final = f"{GROUP}/{VERSION}"

INDEX_KIND: Final = "VisualSearchIndex"
INDEX_PLURAL: Final = "visualsearchindexes"
SOURCE_KIND: Final = "CatalogSource"
SOURCE_PLURAL: Final = "catalogsources"

FIELD_MANAGER: Final = "visualsearch-operator"
"""Server-side-apply field manager: the operator owns exactly the fields it sets."""

LABEL_NAME: Final = "app.kubernetes.io/name"
LABEL_INSTANCE: Final = "app.kubernetes.io/instance"
LABEL_COMPONENT: Final = "app.kubernetes.io/component"
LABEL_PART_OF: Final = "app.kubernetes.io/part-of"
LABEL_MANAGED_BY: Final = "app.kubernetes.io/managed-by"
LABEL_INDEX: Final = f"{GROUP}/index"
LABEL_SOURCE: Final = f"{GROUP}/source"
LABEL_SPEC_HASH: Final = f"{GROUP}/spec-hash"
ANNOTATION_SCHEDULED_FOR: Final = f"{GROUP}/scheduled-for"
LABEL_MODEL_SLOT: Final = f"{GROUP}/model-slot"

PART_OF: Final = "visual-search"
MANAGED_BY: Final = "visualsearch-operator"

DEFAULT_IMAGE: Final = "visual-search:0.1.0"
"""The services image (repository Dockerfile), named as the Helm chart and skaffold name it."""
DEFAULT_STOREFRONT_IMAGE: Final = "visual-search-storefront:0.1.0"
DEFAULT_MODEL: Final = "openai/clip-vit-base-patch32"

# Store images, pinned to the same tags as the store charts in charts/ (and run as the same
# non-root users); an index may override each one (spec.<store>.image, e.g. a private mirror).
QDRANT_IMAGE: Final = "docker.io/qdrant/qdrant:v1.12.5-unprivileged"
POSTGRES_IMAGE: Final = "docker.io/library/postgres:16.4-alpine"
PGVECTOR_IMAGE: Final = "docker.io/pgvector/pgvector:0.8.0-pg16"  # PostgreSQL 16 with pgvector
MINIO_IMAGE: Final = "quay.io/minio/minio:RELEASE.2024-12-18T13-15-44Z"
REDIS_IMAGE: Final = "docker.io/library/redis:7.2.6-alpine"

API_PORT: Final = 8000
EMBEDDER_PORT: Final = 8001
STOREFRONT_PORT: Final = 8080
QDRANT_PORT: Final = 6333
POSTGRES_PORT: Final = 5432
MINIO_PORT: Final = 9000
REDIS_PORT: Final = 6379

PHASE_PENDING: Final = "Pending"
PHASE_PROVISIONING: Final = "Provisioning"
PHASE_READY: Final = "Ready"
PHASE_DEGRADED: Final = "Degraded"
PHASE_FAILED: Final = "Failed"

SOURCE_PHASE_PENDING: Final = "Pending"
SOURCE_PHASE_SYNCING: Final = "Syncing"
SOURCE_PHASE_SYNCED: Final = "Synced"
SOURCE_PHASE_FAILED: Final = "Failed"
SOURCE_PHASE_SUSPENDED: Final = "Suspended"

STORES: Final = ("qdrant", "postgres", "objectStore", "redis")
"""The four backing stores of an index, as named under ``spec.stores``."""
