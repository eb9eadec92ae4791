"""Paths of group and feature pages for a whole page of rows.

`reverse()` walks the URL resolver on every call (~25 µs), and a page of search results asks for
one or two paths a row. A `CatalogPaths` reverses each pattern once and puts every row's uuid and
name into it. Build one per response: the script prefix can differ between requests.
"""

from __future__ import annotations

import re
import uuid

from django.urls import reverse

_UUID = uuid.UUID(int=0)
_NAME = "n"
# Names that reverse() would put into a path unchanged (no quoting), as every SageMaker feature
# name is: `[a-zA-Z0-9]([-_]*[a-zA-Z0-9]){0,63}` (CreateFeatureGroup, FeatureDefinition).
_PLAIN_NAME = re.compile(r"[A-Za-z0-9_-]+")


class CatalogPaths:
    def __init__(self) -> None:
        self._group = reverse("catalog:group_detail", args=[_UUID]).split(str(_UUID))
        feature = reverse("catalog:feature_detail", args=[_UUID, _NAME])
        group_part, name_part = feature.split(str(_UUID))
        self._feature_prefix = group_part
        self._feature_middle, self._feature_suffix = name_part.rsplit(_NAME, 1)

    def group(self, group_uuid) -> str:
        prefix, suffix = self._group
        return f"{prefix}{group_uuid}{suffix}"

    def feature(self, group_uuid, name: str) -> str:
        if not _PLAIN_NAME.fullmatch(name):
            # Anything reverse() would quote (or refuse) takes reverse() itself.
            return reverse("catalog:feature_detail", args=[group_uuid, name])
        return f"{self._feature_prefix}{group_uuid}{self._feature_middle}{name}{self._feature_suffix}"
