"""The README and docs point only at files a contributor who clones the repository will find."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK_RE = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")
MARKDOWN_NAME_RE = re.compile(r"(?<![\w/.-])([\w./-]+\.md)\b")


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_lead_to_files_in_the_repository(document):
    text = document.read_text()
    missing = [
        target
        for target in LINK_RE.findall(text)
        if "://" not in target and not target.startswith("mailto:") and not (document.parent / target).exists()
    ]
    assert missing == []


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_markdown_file_named_is_in_the_repository(document):
    names = set(MARKDOWN_NAME_RE.findall(document.read_text()))
    missing = sorted(
        name for name in names if not any((base / name).exists() for base in (document.parent, ROOT, ROOT / "docs"))
    )
    assert missing == []


def test_readme_points_contributors_at_the_design_and_the_conventions():
    readme = (ROOT / "README.md").read_text()
    assert "(docs/architecture.md)" in readme
    assert "(docs/conventions.md)" in readme
