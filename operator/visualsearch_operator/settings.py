"""Operator settings, from ``VISUALSEARCH_OPERATOR_*`` environment variables."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from visualsearch_operator.charts import default_charts_dir


class OperatorSettings(BaseSettings):
    """How the operator paces itself; every field has a safe default."""

    model_config = SettingsConfigDict(env_prefix="VISUALSEARCH_OPERATOR_", extra="ignore")

    retry_delay: float = Field(
        15.0, gt=0, description="Seconds before retrying a resource whose dependency is not ready."
    )
    job_history: int = Field(
        3, ge=1, description="Sync Jobs kept per CatalogSource (older ones are deleted)."
    )
    request_timeout: float = Field(30.0, gt=0, description="Kubernetes API request timeout (s).")
    helm: str = Field(
        "helm", min_length=1, description="The helm binary that renders the charts (PATH lookup)."
    )
    charts_dir: Path = Field(
        default_factory=default_charts_dir,
        description="Folder holding the visual-search, qdrant, postgresql, minio, redis charts.",
    )
