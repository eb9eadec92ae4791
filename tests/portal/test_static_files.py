"""Static files collectstatic can post-process: no reference to a file we do not ship."""

from __future__ import annotations

import re
from pathlib import Path

STATIC = Path(__file__).resolve().parents[2] / "static"
SOURCE_MAP = re.compile(rb"sourceMappingURL=([^\s*]+)")


def test_no_static_file_points_at_a_source_map_that_is_not_shipped():
    missing = []
    for path in sorted(STATIC.rglob("*")):
        if path.suffix not in {".js", ".css"}:
            continue
        for target in SOURCE_MAP.findall(path.read_bytes()):
            if target.startswith(b"data:"):
                continue
            if not (path.parent / target.decode()).exists():
                missing.append(f"{path.relative_to(STATIC)} -> {target.decode()}")
    assert missing == []
