"""Collects a benchmark run's figures as Markdown, printed as they come and written at the end."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path


def fmt(value: object, digits: int = 1) -> str:
    """A table cell: numbers rounded, NaN shown as a dash."""
    if isinstance(value, float):
        if math.isnan(value):
            return "-"
        if abs(value) >= 100:
            return f"{value:,.0f}"
        return f"{value:.{digits}f}"
    return str(value)


# Sections of RESULTS.md that other commands write (`make eval`, `python -m bench.quality_variants`,
# `python -m bench.events`, `python -m bench.int8`, `python -m bench.catalogue_views`): a
# benchmark run keeps them.
KEPT_SECTIONS = (
    "Search quality (visualsearch eval)",
    "Search quality: descriptor variants (bench.quality_variants)",
    "Search p50 under a flood of shopper events (bench.events)",
    "Embedding: int8 against fp32 (bench.int8)",
    "Search quality: degraded catalogue views (issue 18)",
    # written by hand from other commands' output (bench.text, bench.operator_render,
    # bench.query_views, bench.colour, visualsearch eval runs): kept alike
    "Text search (issue 16): keyword, semantic and fused, on the demo catalogue",
    "Operator: rendering the charts (issue 19)",
    "Search quality: query views (VISUALSEARCH_QUERY_VIEWS)",
    "Search quality: colour in the vector (VISUALSEARCH_COLOUR_WEIGHT, issue 18)",
    "Search quality: the larger EfficientNets (efficientnet-lite1, efficientnet-lite2; issue 18)",
    "Search quality: auto-applying the suggested crop (VISUALSEARCH_AUTO_CROP_BELOW, issue 17)",
)


def kept_sections(text: str, titles: Sequence[str] = KEPT_SECTIONS) -> list[str]:
    """The lines of the sections named ``titles`` in ``text``, each up to the next ``## ``."""
    kept: list[str] = []
    keeping = False
    for line in text.splitlines():
        if line.startswith("## "):
            keeping = line[3:].strip() in titles
            if keeping and kept:
                kept.append("")
        if keeping:
            kept.append(line)
    return kept


def replace_section(text: str, title: str, lines: list[str]) -> str:
    """``text`` with the ``## title`` section replaced by ``lines`` (appended when absent)."""
    out: list[str] = []
    replaced = skipping = False
    for line in text.splitlines():
        if line.startswith("## "):
            skipping = line[3:].strip() == title
            if skipping and not replaced:
                out += [*lines, ""]
                replaced = True
        if not skipping:
            out.append(line)
    if not replaced:
        out += ["", "", *lines]
    return "\n".join(out).rstrip() + "\n"


class Report:
    def __init__(self, title: str) -> None:
        self.lines: list[str] = [f"# {title}", ""]

    def emit(self, *lines: str) -> None:
        for line in lines:
            print(line, flush=True)
            self.lines.append(line)

    def section(self, title: str) -> None:
        self.emit("", f"## {title}", "")

    def note(self, text: str) -> None:
        self.emit(text, "")

    def table(
        self, headers: Sequence[str], rows: Sequence[Sequence[object]], digits: int = 1
    ) -> None:
        self.emit("| " + " | ".join(headers) + " |", "|" + "---|" * len(headers))
        for row in rows:
            self.emit("| " + " | ".join(fmt(cell, digits) for cell in row) + " |")
        self.emit("")

    def write(self, path: Path) -> None:
        """Write the report; sections that other commands keep in ``path`` stay, at the end."""
        kept = kept_sections(path.read_text()) if path.exists() else []
        body = "\n".join(self.lines).rstrip()
        if kept:
            body += "\n\n\n" + "\n".join(kept).rstrip()
        path.write_text(body + "\n")
