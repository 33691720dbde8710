"""One context per process: the stores, the model and the services, built once and closed once.

Entry points (the FastAPI lifespan, the worker's main, CLI tasks) create a ``Context`` and hand
out its services. Stores whose server is not configured are embedded under the data directory.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from functools import cached_property

import psycopg
import redis.asyncio as aioredis

from visualsearch.config import Settings
from visualsearch.embedding.colour import model_name, split_model
from visualsearch.embedding.loader import FALLBACK_WARNING, load_embedder
from visualsearch.embedding.service import (
    EmbeddingService,
    LocalEmbeddingService,
    RemoteEmbeddingService,
)
from visualsearch.embedding.text import MiniLMEncoder, TextEncoder
from visualsearch.exceptions import ModelMismatchError
from visualsearch.experiments import VariantSettings
from visualsearch.imaging import ImageLimits
from visualsearch.retrieval import Retriever
from visualsearch.retrieval.keyword import KeywordRetriever
from visualsearch.retrieval.semantic import SemanticRetriever
from visualsearch.retrieval.visual import VisualRetriever
from visualsearch.services.doctor import Doctor
from visualsearch.services.indexing import IndexingService, VectorIndexer
from visualsearch.services.ingest import BulkIngester
from visualsearch.services.insights import InsightsService
from visualsearch.services.products import ProductService
from visualsearch.services.recorder import InsightsRecorder
from visualsearch.services.search import SearchService
from visualsearch.services.similar import SimilarService
from visualsearch.services.suggest import SuggestService
from visualsearch.services.synonyms import SynonymService
from visualsearch.services.text_vectors import TextVectors
from visualsearch.storage.cache.base import ResultCache
from visualsearch.storage.cache.memory import MemoryResultCache
from visualsearch.storage.cache.redis import RedisResultCache
from visualsearch.storage.catalog import CatalogStore
from visualsearch.storage.embedded_postgres import EmbeddedPostgres
from visualsearch.storage.insights import InsightsStore
from visualsearch.storage.objects.base import ObjectStore
from visualsearch.storage.objects.local import LocalObjectStore
from visualsearch.storage.objects.s3 import S3ObjectStore
from visualsearch.storage.queue.base import JobQueue, QueuePolicy
from visualsearch.storage.queue.postgres import PostgresJobQueue
from visualsearch.storage.queue.redis import RedisJobQueue
from visualsearch.storage.suggestions import SuggestionStore
from visualsearch.storage.synonyms import SynonymStore
from visualsearch.storage.vectors.base import VectorStore, model_collection
from visualsearch.storage.vectors.pgvector import PgVectorStore
from visualsearch.storage.vectors.qdrant import QdrantLayout, QdrantVectorStore
from visualsearch.storage.vectors.qdrant_edge import QdrantEdgeVectorStore

log = logging.getLogger(__name__)


def image_limits(settings: Settings) -> ImageLimits:
    return ImageLimits(
        max_bytes=settings.max_upload_bytes,
        max_pixels=settings.max_image_pixels,
        max_images=settings.max_images_per_product,
    )


async def create_embedding(settings: Settings) -> EmbeddingService:
    """The remote embedding service when configured, else the model loaded in this process;
    catalogue images embedded as ``CATALOGUE_LOWRES`` says (``embedding.catalogue``)."""
    service = await _embedding_service(settings)
    service.catalogue_lowres = settings.catalogue_lowres
    service.catalogue_limits = image_limits(settings)
    return service


async def _embedding_service(settings: Settings) -> EmbeddingService:
    if settings.embedder_url:
        remote = RemoteEmbeddingService(settings.embedder_url)
        await remote.start()
        return remote
    if settings.torch_threads:
        import torch

        torch.set_num_threads(settings.torch_threads)
    embedder, warning = await asyncio.to_thread(
        load_embedder,
        settings.model,
        settings.device,
        settings.model_cache_dir,
        settings.embed_backend,
        settings.prebuilt_onnx_dir,
        settings.colour_weight,
    )
    log.info(
        "model loaded",
        extra={
            "model": embedder.info.name,
            "dim": embedder.info.dim,
            "runtime": type(embedder).__name__,
        },
    )
    return LocalEmbeddingService(
        embedder,
        image_limits(settings),
        max_batch=settings.batch_max_size,
        max_wait=settings.batch_max_wait_ms / 1000,
        warning=warning,
    )


async def choose_vector_store(settings: Settings, database_url: str) -> str:
    """Resolve ``vector_store=auto``: Qdrant when configured; on one machine Qdrant Edge (the
    fastest embedded index measured, bench/RESULTS.md); pgvector where a shop's own
    PostgreSQL has it."""
    if settings.vector_store != "auto":
        return settings.vector_store
    if settings.qdrant_url or settings.qdrant_path:
        return "qdrant"
    if settings.database_url is None and settings.pgvector_url is None:
        return "qdrant-edge"
    url = settings.pgvector_url or database_url
    try:
        async with await psycopg.AsyncConnection.connect(url, connect_timeout=5) as conn:
            cur = await conn.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'vector'")
            available = await cur.fetchone() is not None
    except psycopg.Error:
        available = False
    return "pgvector" if available else "qdrant-edge"


TEXT_COLLECTION_SUFFIX = "_text"
"""The product text vectors (semantic retrieval) live in ``<collection>_text``, same store kind."""


def configured_model(settings: Settings) -> str:
    """The name the configured model's vectors are recorded under, without loading it:
    ``efficientnet-lite0`` with the default colour weight is ``efficientnet-lite0+colour0.25``."""
    base, named_weight = split_model(settings.model)
    return model_name(base, settings.colour_weight if named_weight is None else named_weight)


def image_collection(settings: Settings, model: str) -> str:
    """The collection of the image vectors: ``VECTOR_COLLECTION``, or with
    ``COLLECTION_PER_MODEL`` the one of ``model``'s vectors alone."""
    if settings.collection_per_model:
        return model_collection(settings.vector_collection, model)
    return settings.vector_collection


async def create_vector_store(
    settings: Settings,
    database_url: str,
    *,
    kind: str | None = None,
    suffix: str = "",
    collection: str | None = None,
) -> VectorStore:
    """The store of ``collection`` (default: ``VECTOR_COLLECTION`` + ``suffix``)."""
    kind = kind or await choose_vector_store(settings, database_url)
    collection = collection or settings.vector_collection + suffix
    log.info("vector store chosen", extra={"vector_store": kind, "collection": collection})
    if kind == "pgvector":
        return PgVectorStore(collection, settings.pgvector_url or database_url)
    if kind == "qdrant-edge":
        # one embedded engine directory has one owner (a lock): the text vectors get their own
        return QdrantEdgeVectorStore(collection, settings.data_dir / f"vectors{suffix}")
    return QdrantVectorStore(
        collection,
        url=settings.qdrant_url,
        path=None
        if settings.qdrant_url
        else (settings.qdrant_path or settings.data_dir / "qdrant"),
        api_key=settings.qdrant_api_key.get_secret_value() if settings.qdrant_api_key else None,
        layout=QdrantLayout(
            shards=settings.qdrant_shards,
            replication_factor=settings.qdrant_replication_factor,
            quantization=settings.qdrant_quantization,
            on_disk=settings.qdrant_on_disk,
        ),
    )


@dataclass
class Context:
    settings: Settings
    catalog: CatalogStore
    vectors: VectorStore
    objects: ObjectStore
    queue: JobQueue
    cache: ResultCache
    embedding: EmbeddingService | None
    insights: InsightsStore
    recorder: InsightsRecorder
    _stack: AsyncExitStack = field(repr=False)
    text_encoder: TextEncoder | None = None
    text_vectors: VectorStore | None = None
    synonyms: SynonymService | None = None

    @classmethod
    @asynccontextmanager
    async def open(
        cls, settings: Settings, *, with_model: bool = True, with_text: bool = False
    ) -> AsyncIterator[Context]:
        """``async with Context.open(settings) as context``: every store open, closed on exit;
        ``with_text`` opens the product text vectors without the image model (doctor,
        reindex)."""
        context = await cls.create(settings, with_model=with_model, with_text=with_text)
        try:
            yield context
        finally:
            await context.aclose()

    @classmethod
    async def create(
        cls, settings: Settings, *, with_model: bool = True, with_text: bool = False
    ) -> Context:
        """Open every store (embedding the unconfigured ones) and, if asked, load the model."""
        stack = AsyncExitStack()
        try:
            return await cls._open(settings, with_model, stack, with_text)
        except BaseException:
            await stack.aclose()
            raise

    @classmethod
    async def _open(
        cls, settings: Settings, with_model: bool, stack: AsyncExitStack, with_text: bool = False
    ) -> Context:
        data = settings.data_dir
        database_url = settings.database_url
        if database_url is None:
            postgres = EmbeddedPostgres(data / "postgres")
            database_url = await asyncio.to_thread(postgres.start)
            stack.callback(postgres.stop)
        catalog = CatalogStore(database_url, settings.database_pool_size)
        await catalog.open()
        stack.push_async_callback(catalog.close)
        insights = InsightsStore(database_url)  # its tables are the catalogue's migrations
        await insights.open()
        stack.push_async_callback(insights.close)
        recorder = InsightsRecorder(
            insights,
            buffer_size=settings.events_buffer_size,
            flush_seconds=settings.events_flush_seconds,
            retention_days=settings.events_retention_days,
            low_score=settings.insights_low_score,
        )
        synonyms = SynonymService(SynonymStore(catalog), settings.synonyms_file)
        await synonyms.sync_file(strict=True)  # a bad synonyms file stops the start, named

        objects: ObjectStore
        if settings.s3_endpoint:
            objects = S3ObjectStore(
                settings.s3_endpoint,
                settings.s3_access_key,
                settings.s3_secret_key.get_secret_value(),
                settings.s3_bucket,
                settings.s3_secure,
                settings.s3_region,
            )
        else:
            objects = LocalObjectStore(settings.objects_path or data / "objects")
        await objects.open()

        policy = QueuePolicy(
            settings.job_max_attempts,
            settings.job_retry_base_seconds,
            settings.job_claim_idle_seconds,
        )
        queue: JobQueue
        cache: ResultCache
        if settings.redis_url:
            client = aioredis.Redis.from_url(
                settings.redis_url,
                socket_timeout=5,
                socket_connect_timeout=3,
                health_check_interval=30,
                retry_on_timeout=True,
            )
            stack.push_async_callback(client.aclose)
            queue = RedisJobQueue(client, settings.queue_stream, policy)
            cache = RedisResultCache(client)
        else:
            queue = PostgresJobQueue(database_url, policy)
            cache = MemoryResultCache()
        await queue.open()
        stack.push_async_callback(queue.close)

        embedding = None
        if with_model:
            recorded = await catalog.recorded_model()
            auto = settings.model == "auto"
            if auto and recorded:
                # 'auto' keeps the model the index was built with, its colour weight included
                # (none when its name has none); switching is `reindex`'s job.
                weight = split_model(recorded)[1] or 0.0
                settings = settings.model_copy(update={"model": recorded, "colour_weight": weight})
            embedding = await create_embedding(settings)
            if auto and not embedding.info.text_search and embedding.warning is None:
                embedding.warning = FALLBACK_WARNING
            stack.push_async_callback(embedding.close)
        configured = configured_model(settings)
        model = embedding.info.name if embedding else configured
        if settings.collection_per_model and model != configured:
            # the embedding service runs another model (a switch rolling through its pods):
            # its vectors would query, or land in, this model's collection
            raise ModelMismatchError(
                f"The embedding service runs {model}, but this process is configured for "
                f"{configured} (VISUALSEARCH_MODEL) and reads only that model's "
                "collection; it starts once the service runs the same model."
            )
        vectors = await create_vector_store(
            settings, database_url, collection=image_collection(settings, model)
        )
        stack.push_async_callback(vectors.close)
        await vectors.open()
        if embedding is not None:
            # a collection per model holds one model's vectors by its name: pods of the old
            # and the new model run side by side during a switch, each on its own collection
            exclusive = not settings.collection_per_model
            await catalog.record_model(embedding.info.name, embedding.info.dim, exclusive)
            await vectors.ensure_collection(embedding.info.dim)
        text_encoder: TextEncoder | None = None
        text_vectors: VectorStore | None = None
        if (with_model or with_text) and settings.semantic_search and MiniLMEncoder.available():
            text_encoder = MiniLMEncoder()
            if isinstance(vectors, QdrantVectorStore):
                text_vectors = vectors.sibling(settings.vector_collection + TEXT_COLLECTION_SUFFIX)
            else:
                text_vectors = await create_vector_store(
                    settings, database_url, kind=vectors.kind, suffix=TEXT_COLLECTION_SUFFIX
                )
            text_store: VectorStore = text_vectors
            stack.push_async_callback(text_store.close)
            await text_store.open()
            await text_store.ensure_collection(text_encoder.dim)
            if with_model:  # the API and the worker; the doctor reports them missing instead
                # an index made before text vectors (or a lost text collection) gets them now
                await TextVectors(text_encoder, text_store).backfill(catalog)
        elif with_model and settings.semantic_search:
            log.warning("semantic text search is off: the sentence encoder is not installed")
        return cls(
            settings,
            catalog,
            vectors,
            objects,
            queue,
            cache,
            embedding,
            insights,
            recorder,
            stack,
            text_encoder,
            text_vectors,
            synonyms,
        )

    async def aclose(self) -> None:
        await self._stack.aclose()

    # -- services --------------------------------------------------------------------------

    def _model(self) -> EmbeddingService:
        if self.embedding is None:
            raise RuntimeError("this context was created without a model")
        return self.embedding

    def retrievers(self) -> list[Retriever]:
        model = self._model()
        found: list[Retriever] = [
            VisualRetriever(model, self.vectors, "image", self.settings.query_views),
            VisualRetriever(model, self.vectors, "text"),
            KeywordRetriever(self.catalog, self.synonym_service().rules),
        ]
        if self.semantic_retriever is not None:
            found.append(self.semantic_retriever)
        return found

    @cached_property
    def semantic_retriever(self) -> SemanticRetriever | None:
        """One per process, so its recent query vectors serve every request."""
        if self.text_encoder is None or self.text_vectors is None:
            return None
        return SemanticRetriever(
            self.text_encoder, self.text_vectors, self.settings.semantic_min_similarity
        )

    def synonym_service(self) -> SynonymService:
        if self.synonyms is None:
            self.synonyms = SynonymService(SynonymStore(self.catalog), self.settings.synonyms_file)
        return self.synonyms

    def variant(self, tab_id: str | None) -> tuple[str | None, VariantSettings | None]:
        """The experiment variant a shopper's tab is in (None, None: no experiment or tab)."""
        experiment = self.settings.experiment
        name = experiment.assign(tab_id) if experiment is not None else None
        if experiment is None or name is None:
            return None, None
        return name, experiment.variants[name]

    def search_service(self, variant: str | None = None) -> SearchService:
        """The search service, with ``variant``'s fusion weights when a tab is in one."""
        weights = dict(self.settings.fusion_weights)
        experiment = self.settings.experiment
        tag = None
        if variant is not None and experiment is not None:
            weights |= experiment.variants[variant].fusion_weights
            tag = f"{experiment.name}:{variant}"
        return SearchService(
            self._model(),
            self.vectors,
            self.catalog,
            self.cache,
            self.settings.redis_cache_ttl,
            self.settings.facet_depth,
            retrievers=self.retrievers(),
            weights=weights,
            cache_tag=tag,
            did_you_mean=self.suggest_service().did_you_mean,
            auto_crop_below=self.settings.auto_crop_below,
        )

    def insights_service(self) -> InsightsService:
        experiment = self.settings.experiment
        return InsightsService(
            self.insights, self.recorder, self.queue, experiment.name if experiment else None
        )

    def suggest_service(self) -> SuggestService:
        return SuggestService(SuggestionStore(self.catalog))

    def text_vector_writer(self) -> TextVectors | None:
        """Writes product text vectors, where semantic retrieval is on."""
        if self.text_encoder is None or self.text_vectors is None:
            return None
        return TextVectors(self.text_encoder, self.text_vectors)

    def similar_service(self) -> SimilarService:
        return SimilarService(
            self.vectors,
            self.catalog,
            self.cache,
            self.settings.redis_cache_ttl,
            self.settings.facet_depth,
        )

    def product_service(self) -> ProductService:
        return ProductService(self.catalog, self.vectors, self.objects, self.text_vector_writer())

    def indexing_service(self) -> IndexingService:
        return IndexingService(self.catalog, self.objects, self.queue, image_limits(self.settings))

    def vector_indexer(self) -> VectorIndexer:
        return VectorIndexer(
            self.catalog,
            self.objects,
            self.vectors,
            self._model(),
            self.queue,
            self.text_vector_writer(),
        )

    def doctor(self) -> Doctor:
        return Doctor(
            self.catalog,
            self.vectors,
            self.objects,
            self.queue,
            self.settings.orphan_grace_seconds,
            self.text_vector_writer(),
        )

    def bulk_ingester(self, batch_size: int = 32) -> BulkIngester:
        return BulkIngester(
            self.catalog,
            self.vectors,
            self._model(),
            self.indexing_service(),
            batch_size,
            self.text_vector_writer(),
        )
