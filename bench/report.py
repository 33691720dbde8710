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
        path.write_text("\n".join(self.lines).rstrip() + "\n")
