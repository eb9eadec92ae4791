"""Paths of group and feature pages for a whole page of rows.

`reverse()` walks the URL resolver on every call (~25 µs), and a page of search results or a
group's schema asks for one or two paths a row. A `CatalogPaths` reverses each pattern once and
puts every row's uuid and name into it, quoted as reverse() quotes them. Build one per response:
the script prefix can differ between requests (the patterns are kept per prefix).
"""

from __future__ import annotations

import functools
import uuid
from urllib.parse import quote

from django.conf import settings
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils.http import RFC3986_SUBDELIMS

_UUID = uuid.UUID(int=0)
_NAME = "pantry-feature-name"
# What reverse() leaves unquoted in a path (django.urls.resolvers._reverse_with_prefix).
_PATH_SAFE = RFC3986_SUBDELIMS + "/~:@"


@functools.lru_cache(maxsize=16)
def _patterns(script_prefix: str, urlconf: str | None, root_urlconf: str) -> tuple[tuple[str, ...], str, str, str]:
    """The reversed patterns under one script prefix and URLconf (reverse() reads both per thread)."""
    group = tuple(reverse("catalog:group_detail", args=[_UUID]).split(str(_UUID)))
    feature = reverse("catalog:feature_detail", args=[_UUID, _NAME])
    feature_prefix, name_part = feature.split(str(_UUID))
    feature_middle, feature_suffix = name_part.split(_NAME)
    return group, feature_prefix, feature_middle, feature_suffix


class CatalogPaths:
    def __init__(self) -> None:
        # Reversed once per script prefix a process sees, not per response (~50 µs each time).
        self._group, self._feature_prefix, self._feature_middle, self._feature_suffix = _patterns(
            get_script_prefix(), get_urlconf(), settings.ROOT_URLCONF
        )

    def group(self, group_uuid) -> str:
        prefix, suffix = self._group
        return f"{prefix}{group_uuid}{suffix}"

    def feature(self, group_uuid, name: str) -> str:
        if not name or "/" in name or not name.strip("."):
            # Names reverse() refuses (a slash: the pattern's `str` converter) or rewrites (dot
            # segments): let it decide.
            return reverse("catalog:feature_detail", args=[group_uuid, name])
        return f"{self._feature_prefix}{group_uuid}{self._feature_middle}{quote(name, safe=_PATH_SAFE)}{self._feature_suffix}"
