"""The shop's synonyms: ``GET``/``PUT /synonyms``, the optional synonyms file, and the parsed
rules every keyword query uses.

The catalogue database holds the rules (``storage.synonyms``), so every process and replica
shares them: each keyword query reads their version (one indexed row) and re-parses only when it
changed, so a change applies at the next query, without a restart. With
``VISUALSEARCH_SYNONYMS_FILE`` set, the file is imported at start and whenever its content
changes (polled; a Kubernetes ConfigMap update arrives so), and ``PUT /synonyms`` also rewrites
the file where it is writable. Whichever changed last wins.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
from pathlib import Path

from visualsearch.exceptions import ValidationError
from visualsearch.retrieval.synonyms import NO_SYNONYMS, SynonymRules
from visualsearch.schemas import Synonyms
from visualsearch.storage.synonyms import SynonymStore

log = logging.getLogger(__name__)


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class SynonymService:
    """One per process (the context keeps it): it caches the parsed rules by version."""

    def __init__(self, store: SynonymStore, file: Path | None = None) -> None:
        self._store = store
        self.file = file
        self._rules = NO_SYNONYMS
        self._version: int | None = None
        self._file_seen: tuple[int, int] | None = None
        self._lock = asyncio.Lock()

    async def rules(self) -> SynonymRules:
        """The current rules (a version read; a re-parse only after a change)."""
        version = await self._store.version()
        if version != self._version:
            async with self._lock:
                stored = await self._store.read()
                try:
                    self._rules = SynonymRules.parse(stored.rules)
                except ValidationError as e:  # only a hand edit of the table gets here
                    log.error("stored synonyms do not parse; none applied", extra={"error": str(e)})
                    self._rules = NO_SYNONYMS
                self._version = stored.version
        return self._rules

    async def get(self) -> Synonyms:
        stored = await self._store.read()
        return self._answer(stored.rules, stored.version)

    async def put(self, text: str) -> Synonyms:
        """Validate (a 422 names the bad line), store for every replica, and rewrite the file
        where there is one and it is writable."""
        SynonymRules.parse(text)
        sha = None
        if self.file is not None and self._writable(self.file):
            await asyncio.to_thread(self._write_file, self.file, text)
            sha = _sha256(text)
        version = await self._store.write(text, sha)
        log.info("synonyms updated", extra={"version": version, "file_written": sha is not None})
        return self._answer(text, version)

    async def sync_file(self, *, strict: bool = False) -> bool:
        """Import the synonyms file if its content changed since it was last imported. A bad
        file raises (``strict``, at start) or is logged and skipped (a later edit)."""
        if self.file is None:
            return False
        try:
            stat = self.file.stat()
        except FileNotFoundError:
            if strict:
                raise ValidationError(
                    f"VISUALSEARCH_SYNONYMS_FILE: {self.file} does not exist."
                ) from None
            return False
        seen = (stat.st_mtime_ns, stat.st_size)
        if seen == self._file_seen:
            return False
        text = await asyncio.to_thread(self.file.read_text, encoding="utf-8")
        sha = _sha256(text)
        stored = await self._store.read()
        self._file_seen = seen
        if sha == stored.file_sha256:
            return False
        try:
            SynonymRules.parse(text)
        except ValidationError as e:
            if strict:
                raise ValidationError(f"VISUALSEARCH_SYNONYMS_FILE {self.file}: {e}") from e
            log.error("synonyms file not loaded", extra={"file": str(self.file), "error": str(e)})
            return False
        version = await self._store.write(text, sha)
        log.info("synonyms file loaded", extra={"file": str(self.file), "version": version})
        return True

    async def watch_file(self, stop: asyncio.Event, interval: float) -> None:
        """Import the file whenever it changes, until ``stop``."""
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=interval)
            if stop.is_set():
                return
            try:
                await self.sync_file()
            except Exception:  # a store outage: the next round tries again
                log.warning("synonyms file check failed", exc_info=True)

    def _answer(self, text: str, version: int) -> Synonyms:
        return Synonyms(
            synonyms=text,
            version=version,
            rules=SynonymRules.parse(text).rules if text else 0,
            file=str(self.file) if self.file is not None else None,
        )

    @staticmethod
    def _writable(path: Path) -> bool:
        if path.exists():
            return os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)
        return os.access(path.parent, os.W_OK)

    def _write_file(self, path: Path, text: str) -> None:
        """Replace the file atomically (a reader never sees half of it)."""
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
        stat = path.stat()
        self._file_seen = (stat.st_mtime_ns, stat.st_size)
