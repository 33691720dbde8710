"""Settings of every visual-search process, read from ``VISUALSEARCH_*`` environment variables."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from visualsearch.experiments import Experiment

MiB = 1024 * 1024


def default_data_dir() -> Path:
    """The one-machine data directory: ``$XDG_DATA_HOME/visual-search`` (``~/.local/share``)."""
    import os

    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "visual-search"


class Settings(BaseSettings):
    """Configuration of the API, the worker, the embedder and the CLI tasks.

    Every store is a real server when its URL is set; the one-machine mode (``visualsearch serve``)
    fills the unset ones with embedded stores under ``data_dir``.
    """

    model_config = SettingsConfigDict(env_prefix="VISUALSEARCH_", extra="ignore")

    # Stores
    database_url: str | None = Field(
        None, description="PostgreSQL URL (postgresql://user:pass@host:5432/db) of the catalogue."
    )
    database_pool_size: int = Field(10, ge=1, description="Connections kept in the pool.")
    vector_store: Literal["auto", "qdrant", "pgvector", "qdrant-edge"] = Field(
        "auto",
        description="Vector index backend. 'auto': Qdrant when a Qdrant URL or path is set; "
        "with the embedded catalogue, Qdrant Edge in-process (the fastest here, bench/); with "
        "an external PostgreSQL that has pgvector, pgvector; else Qdrant Edge.",
    )
    pgvector_url: str | None = Field(
        None, description="PostgreSQL URL for pgvector (default: the catalogue's database)."
    )
    qdrant_url: str | None = Field(None, description="Qdrant server URL, e.g. http://qdrant:6333.")
    qdrant_path: Path | None = Field(
        None, description="Directory of an embedded Qdrant (used when qdrant_url is unset)."
    )
    qdrant_shards: int = Field(1, ge=1, le=64, description="Shards of a new Qdrant collection.")
    qdrant_replication_factor: int = Field(
        1, ge=1, le=9, description="Copies of each shard in a Qdrant cluster."
    )
    qdrant_quantization: Literal["none", "scalar", "product", "binary"] = Field(
        "none", description="Vector quantisation of a new Qdrant collection (rescored on search)."
    )
    qdrant_on_disk: bool = Field(False, description="Keep original vectors on disk (mmap).")
    qdrant_api_key: SecretStr | None = Field(None, description="API key of the Qdrant server.")
    vector_collection: str = Field(
        "products",
        description="Name of the vector collection in whichever store holds it (a Qdrant or "
        "Qdrant Edge collection, a pgvector table); the text vectors use it + '_text'. "
        "VISUALSEARCH_QDRANT_COLLECTION, its former name, is still read.",
        validation_alias=AliasChoices(
            "VISUALSEARCH_VECTOR_COLLECTION", "VISUALSEARCH_QDRANT_COLLECTION", "vector_collection"
        ),
    )
    collection_per_model: bool = Field(
        False,
        description="Keep each model's image vectors in a collection of their own, "
        "'<collection>_<model>' (e.g. products_efficientnet_lite0_colour0_25): a model switch "
        "fills the new model's collection beside the live one, and pods of either model read "
        "only their own model's vectors, never the other's. Needs an explicit MODEL (not "
        "'auto'). The text vectors stay in '<collection>_text' (one sentence encoder).",
    )
    s3_endpoint: str | None = Field(None, description="S3 / MinIO endpoint as host:port.")
    s3_access_key: str = Field("minioadmin", description="S3 access key.")
    s3_secret_key: SecretStr = Field(SecretStr("minioadmin"), description="S3 secret key.")
    s3_bucket: str = Field("products", description="Bucket holding product images.")
    s3_secure: bool = Field(False, description="Use HTTPS to reach the S3 endpoint.")
    s3_region: str | None = Field(None, description="S3 region, if the server needs one.")
    objects_path: Path | None = Field(
        None, description="Directory of the embedded object store (used when s3_endpoint is unset)."
    )
    redis_url: str | None = Field(
        None, description="Redis URL (redis://host:6379/0) of queue and cache."
    )
    redis_cache_ttl: int = Field(
        3600,
        ge=0,
        description="Seconds a search result stays cached (0 disables the cache).",
        validation_alias=AliasChoices("VISUALSEARCH_REDIS_CACHE_TTL", "REDIS_CACHE_TTL"),
    )
    queue_stream: str = Field("visualsearch:jobs", description="Redis stream of indexing jobs.")

    # Model
    model: str = Field(
        "auto",
        description="'auto' (CLIP ViT-B/32 where it loads, else EfficientNet-Lite0), "
        "'efficientnet-lite0' (or the larger 'efficientnet-lite1', 'efficientnet-lite2'), or a "
        "CLIP hub id / local directory.",
    )
    colour_weight: float = Field(
        0.25,
        ge=0,
        lt=1,
        description="The share of an image match's score that its colours make (the rest is the "
        "model's features; 0: features only). Part of the vectors: the index records it in its "
        "model name (efficientnet-lite0+colour0.25), and a change needs a re-index.",
    )
    model_cache_dir: Path | None = Field(
        None, description="Hugging Face cache directory for weights."
    )
    device: str = Field("auto", description="'auto' (CUDA when present), 'cpu' or 'cuda'.")
    embed_backend: Literal["auto", "torch", "onnx", "int8"] = Field(
        "auto",
        description="Image embedding runtime: 'torch' (exact fp32), 'onnx' (ONNX Runtime fp32), "
        "'int8' (ONNX Runtime int8) or 'auto' (int8 where its recall verdict from `visualsearch "
        "model quantize` passes, or for Linear towers without one where it agrees with fp32 at "
        "cosine >= 0.99 on shipped real images; else onnx; torch on GPUs).",
    )
    prebuilt_onnx_dir: Path | None = Field(
        None,
        description="Read-only directory of ONNX models made at image build time by "
        "`visualsearch model quantize` (fp32 export, int8 model, recall verdict); the image "
        "sets /opt/visualsearch/onnx. Looked up after MODEL_CACHE_DIR/onnx.",
    )
    query_views: Literal["whole", "grid", "fine"] = Field(
        "grid",
        description="How an image query is searched: 'whole' (the whole picture's vector), "
        "'grid' (also a 3x3 grid of windows of it, each product at its best score; finds "
        "products that fill only part of a photo or screenshot, at 10 images a query) or 'fine' "
        "(also a 4x4 grid of smaller windows, 26 images a query; docs/search-quality.md). Query "
        "side only: changing it needs no re-index.",
    )
    auto_crop_below: float = Field(
        0.0,
        ge=0,
        le=1,
        description="Search an image query's suggested crop instead of the whole picture when "
        "the shopper sent no crop and the box covers less than this share of the picture (e.g. "
        "0.3: a product inside a screenshot's page); 0 (the default) never applies it, the "
        "answer's suggested_crop is only offered. Measured in docs/search-quality.md.",
    )
    catalogue_lowres: int = Field(
        0,
        ge=0,
        le=256,
        description="Index each catalogue image with the mean of its vector and the vector of "
        "an N x N JPEG copy of it (e.g. 64): small, blurred queries (thumbnails) find their "
        "product first more often, at twice the embedding work per catalogue image; 0 (the "
        "default) indexes the image alone. Catalogue side only and in the same vector space: "
        "`visualsearch reindex` applies a change to products indexed before. Measured in "
        "docs/search-quality.md.",
    )
    embedder_url: str | None = Field(
        None, description="URL of a remote embedding service; unset embeds in this process."
    )
    batch_max_size: int = Field(16, ge=1, description="Most images embedded in one forward pass.")
    batch_max_wait_ms: float = Field(
        5.0, ge=0, description="Longest a request waits for others to share its batch."
    )
    torch_threads: int | None = Field(
        None, ge=1, description="Threads torch uses (default: all cores)."
    )

    # API
    api_key: SecretStr | None = Field(
        None, description="Key required in X-API-Key by write endpoints."
    )
    max_upload_bytes: int = Field(10 * MiB, ge=1024, description="Largest accepted image upload.")
    max_image_pixels: int = Field(
        40_000_000, ge=1, description="Largest accepted image in pixels (decompression bombs)."
    )
    max_images_per_product: int = Field(
        10, ge=1, le=100, description="Most images in one product's gallery (more: a 422)."
    )
    rate_limit_per_minute: int = Field(
        60, ge=0, description="API requests per minute per client IP (0 turns the limit off)."
    )
    trusted_proxies: list[str] = Field(
        default_factory=list, description="Proxy IPs whose X-Forwarded-For is believed."
    )
    cors_origins: list[str] = Field(default_factory=list, description="Origins allowed by CORS.")
    default_top_k: int = Field(12, ge=1, le=50, description="Results returned by default.")
    facet_depth: int = Field(
        200,
        ge=1,
        le=1000,
        description="Search facets (facets=true) count over this many best-ranked candidates "
        "that pass the filters.",
    )
    semantic_search: bool = Field(
        True,
        description="Semantic text retrieval with the offline sentence encoder "
        "(all-MiniLM-L6-v2): product text vectors in a second collection '<collection>_text'.",
    )
    semantic_min_similarity: float = Field(
        0.25, ge=0, le=1, description="Product texts less similar to a query are not candidates."
    )
    fusion_weights: dict[str, float] = Field(
        default_factory=lambda: {"visual": 1.0, "clip_text": 1.0, "keyword": 1.0, "semantic": 1.0},
        description="Reciprocal rank fusion weight per retriever (visual, clip_text, keyword, "
        'semantic); JSON, e.g. {"keyword": 1.5}. Unnamed retrievers weigh 1.',
    )
    synonyms_file: Path | None = Field(
        None,
        description="A synonyms file (Solr/Elasticsearch format: 'couch, sofa' or 'tee => "
        "t shirt', one rule a line, '#' comments) imported at start and whenever it changes; "
        "the rules live in the catalogue database, shared by every replica, and PUT /synonyms "
        "changes them too (rewriting this file where it is writable).",
    )
    synonyms_poll_seconds: float = Field(
        5.0, gt=0, description="How often the API checks the synonyms file for a change."
    )

    # Shopper insights (POST /events, GET /admin/insights)
    events_retention_days: int = Field(
        90,
        ge=1,
        le=3650,
        description="Days recorded searches and shopper events are kept (older rows are "
        "deleted hourly by every API process).",
    )
    events_buffer_size: int = Field(
        10_000,
        ge=1,
        description="Searches and events held in memory before a batch write; when full, new "
        "ones are dropped and counted (visualsearch_insights_dropped_total), never waited for.",
    )
    events_flush_seconds: float = Field(
        1.0, gt=0, le=60, description="Seconds between two batch writes of searches and events."
    )
    insights_low_score: float = Field(
        0.3,
        ge=0,
        le=1,
        description="A search whose best result scores below this counts as a low-score search.",
    )
    experiment: Experiment | None = Field(
        None,
        description="Two named variants of the search settings compared on live traffic, each "
        "shopper's tab assigned to one by its random id; JSON, e.g. "
        '{"name": "keyword-boost", "variants": {"control": {}, "boost": '
        '{"fusion_weights": {"keyword": 2}, "min_score": 0.05}}}.',
    )

    # Worker
    job_max_attempts: int = Field(5, ge=1, description="Attempts before a job is dead-lettered.")
    job_retry_base_seconds: float = Field(1.0, ge=0, description="First retry delay (doubles).")
    job_claim_idle_seconds: float = Field(
        60.0, gt=0, description="A job held this long by a silent worker is reclaimed."
    )
    orphan_grace_seconds: float = Field(
        300.0,
        ge=0,
        description="An image that no catalogue row refers to is removed (by the worker's "
        "start-up sweep and by doctor --repair) only once it is this old: indexing writes the "
        "image before its row, so a younger one may be an upload whose row is being written.",
    )

    # Process
    data_dir: Path = Field(
        default_factory=default_data_dir, description="One-machine data directory."
    )
    log_level: str = Field("INFO", description="Log level.")
    log_format: Literal["json", "text"] = Field("text", description="Log format.")
    frontend_dir: Path | None = Field(
        None, description="Storefront directory served at / by serve."
    )

    @model_validator(mode="after")
    def _per_model_needs_a_model(self) -> Settings:
        if self.collection_per_model and self.model == "auto":
            raise ValueError(
                "VISUALSEARCH_COLLECTION_PER_MODEL names each collection after its model: set "
                "VISUALSEARCH_MODEL to one (e.g. efficientnet-lite0), not 'auto'"
            )
        return self
