"""`make bench` updates only the generated part of BENCHMARKS.md (benchmarks/run_all.py).

The writer is fed made-up results: no benchmark runs here.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from benchmarks import run_all
from benchmarks.run_all import BEGIN, END, Row

ROOT = Path(__file__).resolve().parents[2]
HAND_BEFORE = "# Benchmarks\n\nA note written by hand before the figures.\n\n"
HAND_AFTER = (
    "\n\n## Local model (run by hand)\n\n| path | tokens/s |\n|---|---|\n| direct | 19.0 |\n\n"
    "## Ray scale-out\n\nTwo actors were slower than one on 2 cores.\n"
)


def _rows(ours: float) -> list[Row]:
    return [
        Row("igris_core", "per call: Igris vs raw httpx", ours, 0.0005, 1.3),
        Row("langchain_igris", "CPU per invoke vs the floor", 0.0009, 0.00016, None),
    ]


def _write(path: Path, ours: float, run: str = "the run") -> None:
    generated = run_all.render(
        _rows(ours),
        {"ray": {"records_per_second": {"1": 589}}},
        run=run,
        machine="2 cores",
        versions="httpx 0.28.1",
    )
    existing = path.read_text(encoding="utf-8") if path.exists() else None
    path.write_text(run_all.update(existing, generated), encoding="utf-8")


def test_a_run_replaces_its_figures_and_keeps_the_hand_written_sections(tmp_path: Path) -> None:
    report = tmp_path / "BENCHMARKS.md"
    report.write_text(f"{HAND_BEFORE}{BEGIN}\nold figures\n{END}{HAND_AFTER}", encoding="utf-8")

    _write(report, ours=0.00061, run="2026-11-30")

    text = report.read_text(encoding="utf-8")
    assert text.startswith(HAND_BEFORE + BEGIN)
    assert text.endswith(END + HAND_AFTER)
    assert "old figures" not in text
    assert "| igris_core | per call: Igris vs raw httpx | 610.0 µs | 500.0 µs | 1.22 |" in text
    assert "- Run: 2026-11-30, machine: 2 cores" in text
    assert '"records_per_second"' in text

    _write(report, ours=0.0007, run="2026-12-01")

    again = report.read_text(encoding="utf-8")
    assert again.startswith(HAND_BEFORE + BEGIN)
    assert again.endswith(END + HAND_AFTER)
    assert again.count(BEGIN) == again.count(END) == 1
    assert "610.0 µs" not in again
    assert "| 700.0 µs | 500.0 µs | 1.40 | <= 1.30 | **no** |" in again
    assert "2026-11-30" not in again


def test_a_missing_report_is_created_with_its_markers(tmp_path: Path) -> None:
    report = tmp_path / "BENCHMARKS.md"
    run_all.write_report(report, _rows(0.0004), {}, machine="2 cores", versions="httpx 0.28.1")

    text = report.read_text(encoding="utf-8")
    assert text.startswith(f"{run_all.TITLE}\n\n{BEGIN}\n")
    assert text.rstrip().endswith(END)
    assert "| 400.0 µs | 500.0 µs | 0.80 | <= 1.30 | yes |" in text


@pytest.mark.parametrize(
    "document",
    [
        "# Benchmarks\n\nNo markers yet: all of this was written by hand.\n",
        f"# Benchmarks\n\n{END}\nmarkers out of order\n{BEGIN}\n",
        f"# Benchmarks\n\n{BEGIN}\nan end marker went missing\n",
    ],
)
def test_without_a_well_formed_generated_part_nothing_is_lost(document: str) -> None:
    updated = run_all.update(document, "new figures")

    assert updated.startswith(document.rstrip())
    assert updated.rstrip().endswith(f"{BEGIN}\n\nnew figures\n\n{END}")


def test_a_row_without_a_peer_figure_misses_its_target() -> None:
    row = Row("x", "no peer", 0.001, 0.0, 1.0)
    assert math.isnan(row.ratio)
    assert row.missed
    assert "| nan | <= 1.00 | **no** |" in run_all.render(
        [row], {}, run="r", machine="m", versions="v"
    )


def test_the_repositorys_report_has_one_generated_part_and_hand_written_sections() -> None:
    text = (ROOT / "BENCHMARKS.md").read_text(encoding="utf-8")
    assert text.count(BEGIN) == text.count(END) == 1
    after = text.split(END, 1)[1]
    for section in ("## Tracing overhead", "## Local model", "## Ray scale-out"):
        assert section in after, f"{section!r} must sit outside the generated part"
