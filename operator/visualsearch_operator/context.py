"""The per-process context: one API client and the services built on it, kept in kopf's memo."""

from __future__ import annotations

from dataclasses import dataclass

from visualsearch_operator.charts import ChartRenderer
from visualsearch_operator.events import EventRecorder
from visualsearch_operator.kube import KubeClient, load_api_client
from visualsearch_operator.services.index_reconcile import IndexService
from visualsearch_operator.services.index_status import IndexStatusService
from visualsearch_operator.services.source_sync import CatalogSourceService
from visualsearch_operator.settings import OperatorSettings


@dataclass(frozen=True)
class OperatorContext:
    """Everything the handlers need, built once at startup and closed at cleanup."""

    settings: OperatorSettings
    kube: KubeClient
    events: EventRecorder
    indexes: IndexService
    index_status: IndexStatusService
    sources: CatalogSourceService

    @classmethod
    def create(cls, settings: OperatorSettings | None = None) -> OperatorContext:
        """Connect to the cluster (in-cluster account or kubeconfig) and build the services."""
        settings = settings or OperatorSettings()  # type: ignore[call-arg]  # from the env
        kube = KubeClient(load_api_client(), timeout=settings.request_timeout)
        index_status = IndexStatusService(kube)
        return cls(
            settings=settings,
            kube=kube,
            events=EventRecorder(kube),
            indexes=IndexService(
                kube,
                index_status,
                renderer=ChartRenderer(helm=settings.helm, charts_dir=settings.charts_dir),
                retry_delay=settings.retry_delay,
            ),
            index_status=index_status,
            sources=CatalogSourceService(
                kube, retry_delay=settings.retry_delay, job_history=settings.job_history
            ),
        )

    def close(self) -> None:
        """Release the API client's connection pool."""
        self.kube.api.close()
