"""bench/RESULTS.md keeps the sections other commands write (search quality, descriptor variants,
events): `make eval-results` and `python -m bench.events` replace theirs in place and
`python -m bench` (which rewrites the file) carries them over."""

from __future__ import annotations

from pathlib import Path

import pytest
from bench.quality import TITLE
from bench.report import KEPT_SECTIONS, Report, replace_section

OLD = f"# results\n\n## Embedding\n\nold\n\n## {TITLE}\n\nold quality\n\n## Targets\n\nt\n"


def test_the_quality_section_is_replaced_in_place_or_appended() -> None:
    lines = [f"## {TITLE}", "", "new quality"]
    text = replace_section(OLD, TITLE, lines)
    assert "old quality" not in text and "new quality" in text
    assert text.index("## Embedding") < text.index("new quality") < text.index("## Targets")
    appended = replace_section("# results\n\n## Embedding\n\nx\n", TITLE, lines)
    assert appended.rstrip().endswith("new quality")
    assert replace_section(text, TITLE, lines) == text


def test_a_benchmark_run_keeps_the_quality_section(tmp_path: Path) -> None:
    path = tmp_path / "RESULTS.md"
    path.write_text(OLD)
    report = Report("results")
    report.section("Embedding")
    report.note("fresh")
    report.write(path)
    written = path.read_text()
    assert "fresh" in written and "old\n" not in written and "## Targets" not in written
    assert f"## {TITLE}\n\nold quality" in written
    report.write(path)
    assert path.read_text() == written


@pytest.mark.parametrize("title", KEPT_SECTIONS)
def test_a_benchmark_run_keeps_the_sections_other_commands_write(
    tmp_path: Path, title: str
) -> None:
    path = tmp_path / "RESULTS.md"
    path.write_text(f"# results\n\n## Embedding\n\nold\n\n## {title}\n\nthe variants\n")
    report = Report("results")
    report.section("Embedding")
    report.note("fresh")
    report.write(path)
    assert f"## {title}\n\nthe variants" in path.read_text()


def test_every_kept_section_is_in_the_results_file() -> None:
    """A heading renamed in bench/RESULTS.md would silently stop being kept."""
    results = Path(__file__).resolve().parents[2] / "bench" / "RESULTS.md"
    headings = {line[3:].strip() for line in results.read_text().splitlines() if line[:3] == "## "}
    assert [title for title in KEPT_SECTIONS if title not in headings] == []
