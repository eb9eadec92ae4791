"""bench/_common.write_report_section: figures are rewritten, people's analysis under them is kept."""

from __future__ import annotations

from bench import _common


def test_a_rewritten_section_keeps_its_analysis_and_leaves_other_sections_alone(tmp_path, monkeypatch):
    report = tmp_path / "benchmarks.md"
    monkeypatch.setattr(_common, "REPORT", report)
    report.write_text(
        "# Benchmarks\n\n## Search\n\n| old | 1 |\n\n"
        f"{_common.ANALYSIS_MARKER}\n\nThe old figures mean this.\n\n"
        "## Load\n\nload figures, no analysis\n"
    )

    _common.write_report_section("Search", "| new | 2 |")
    _common.write_report_section("Load", "new load figures")
    _common.write_report_section("Sync", "sync figures")

    text = report.read_text()
    assert "| old | 1 |" not in text and "| new | 2 |" in text
    assert text.index("| new | 2 |") < text.index(_common.ANALYSIS_MARKER) < text.index("The old figures mean this.")
    assert text.index("The old figures mean this.") < text.index("## Load")
    assert "load figures, no analysis" not in text and "new load figures" in text
    assert text.count(_common.ANALYSIS_MARKER) == 1
    assert text.rstrip().endswith("## Sync\n\nsync figures")
