"""The shop's synonyms in the catalogue database: one row with the rules' text and a version, so
every process and replica sees a change at its next keyword query (a cheap version read)."""

from __future__ import annotations

from dataclasses import dataclass

from visualsearch.storage.catalog import CatalogStore


@dataclass(frozen=True)
class StoredSynonyms:
    rules: str
    version: int
    file_sha256: str | None
    """The synonyms file's content (SHA-256) last imported, so a restart does not import it
    again over a later ``PUT /synonyms``."""


class SynonymStore:
    def __init__(self, catalog: CatalogStore) -> None:
        self._catalog = catalog

    async def version(self) -> int:
        async with self._catalog.connection() as conn:
            cur = await conn.execute("SELECT version FROM synonyms WHERE id = 1")
            row = await cur.fetchone()
            return int(row["version"]) if row else 0

    async def read(self) -> StoredSynonyms:
        async with self._catalog.connection() as conn:
            cur = await conn.execute(
                "SELECT rules, version, file_sha256 FROM synonyms WHERE id = 1"
            )
            row = await cur.fetchone()
        if row is None:
            return StoredSynonyms("", 0, None)
        return StoredSynonyms(row["rules"], int(row["version"]), row["file_sha256"])

    async def write(self, rules: str, file_sha256: str | None) -> int:
        """Store new rules (the new version is returned) and bump the index version in the
        same transaction: cached search answers made with the old rules are not served."""
        async with self._catalog.transaction() as conn:
            cur = await conn.execute(
                "UPDATE synonyms SET rules = %s, version = version + 1, "
                "file_sha256 = coalesce(%s, file_sha256), updated_at = now() "
                "WHERE id = 1 RETURNING version",
                [rules, file_sha256],
            )
            row = await cur.fetchone()
            await conn.execute("UPDATE index_state SET version = version + 1 WHERE id = 1")
            return int(row["version"]) if row else 0
