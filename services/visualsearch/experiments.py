"""An experiment: two named variants of the search settings, a shopper's tab in one of them.

The split is deterministic: the variant is chosen from a hash of the experiment's name and the
tab's random id (the storefront keeps one per tab in session storage), so a tab stays in its
variant for the whole visit and a new experiment name reshuffles everyone. A request without a
tab id (an API client) gets the deployment's own settings and no variant.
"""

from __future__ import annotations

import hashlib
import re

from pydantic import BaseModel, ConfigDict, Field, field_validator

TAB_ID_PATTERN = r"^[A-Za-z0-9_-]{8,64}$"
"""A per-tab random id: no personal data, just enough letters to tell tabs apart."""
_TAB_ID = re.compile(TAB_ID_PATTERN)
VARIANT_NAME_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,31}$"


class VariantSettings(BaseModel):
    """The search settings one variant changes (unset: the deployment's own)."""

    model_config = ConfigDict(extra="forbid")

    min_score: float | None = Field(
        None, ge=0, le=1, description="Cut-off used when a search sends no min_score."
    )
    fusion_weights: dict[str, float] = Field(
        default_factory=dict,
        description="Fusion weights merged over VISUALSEARCH_FUSION_WEIGHTS.",
    )


class Experiment(BaseModel):
    """``{"name": ..., "variants": {"a": {...}, "b": {...}}}``: exactly two variants."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=VARIANT_NAME_PATTERN)
    variants: dict[str, VariantSettings]

    @field_validator("variants")
    @classmethod
    def _two(cls, value: dict[str, VariantSettings]) -> dict[str, VariantSettings]:
        if len(value) != 2:
            raise ValueError(f"an experiment has exactly two variants (got {len(value)})")
        for name in value:
            if not re.match(VARIANT_NAME_PATTERN, name):
                raise ValueError(f"variant name {name!r} must match {VARIANT_NAME_PATTERN}")
        return value

    def assign(self, tab_id: str | None) -> str | None:
        """The variant of this tab (the same every time), or None without a valid tab id."""
        if tab_id is None or not _TAB_ID.match(tab_id):
            return None
        digest = hashlib.sha256(f"{self.name}:{tab_id}".encode()).digest()
        names = sorted(self.variants)
        return names[digest[0] % 2]


def valid_tab_id(tab_id: str | None) -> str | None:
    """The tab id if it has the expected shape, else None (it is never an error to omit it)."""
    return tab_id if tab_id is not None and _TAB_ID.match(tab_id) else None
