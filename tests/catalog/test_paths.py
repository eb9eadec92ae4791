"""Page paths built for a page of rows at once are the paths reverse() gives."""

from __future__ import annotations

import uuid

import pytest
from django.urls import clear_script_prefix, reverse, set_script_prefix

from catalog.paths import CatalogPaths

GROUP = uuid.UUID("4f7d0c1e-7d1a-4c55-9a39-0d6f2b1e8a11")


@pytest.mark.parametrize(
    "name",
    ["customer_age", "a", "n", "n-7_x", "features", "x y", "naïve", "50%", "a?b#c", "pantry-feature-name", "..", "."],
)
def test_feature_path_is_what_reverse_gives(name):
    assert CatalogPaths().feature(GROUP, name) == reverse("catalog:feature_detail", args=[GROUP, name])


def test_group_path_is_what_reverse_gives():
    assert CatalogPaths().group(GROUP) == reverse("catalog:group_detail", args=[GROUP])


def test_paths_follow_the_script_prefix_of_the_request():
    # Behind a proxy that mounts Pantry under a prefix, links keep the prefix.
    set_script_prefix("/pantry/")
    try:
        paths = CatalogPaths()
        assert paths.group(GROUP) == f"/pantry/groups/{GROUP}/"
        assert paths.feature(GROUP, "customer_age") == f"/pantry/groups/{GROUP}/features/customer_age/"
    finally:
        clear_script_prefix()


def test_a_name_no_page_can_have_is_refused_as_reverse_refuses_it():
    from django.urls import NoReverseMatch

    with pytest.raises(NoReverseMatch):
        CatalogPaths().feature(GROUP, "a/b")
