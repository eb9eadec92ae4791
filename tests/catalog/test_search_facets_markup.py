"""The facet checkboxes the search page writes in Python: escaped, numbered, checked as chosen."""

from __future__ import annotations

from django.template import Context, Template

from catalog.selectors.search import FacetValue


def _render(facets) -> str:
    return Template("{% load search_facets %}{% facet_fieldsets facets %}").render(Context({"facets": facets}))


def test_owner_text_in_a_facet_is_escaped_and_the_chosen_value_is_checked():
    html = _render(
        [
            (
                "tag",
                "Tags",
                [
                    FacetValue(value='team="<x>"', label="team=<script>alert(1)</script>", count=3, selected=True),
                    FacetValue(value="tier=gold", label="tier=gold", count=12, selected=False),
                ],
            )
        ]
    )

    assert "<script>" not in html
    assert "team=&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert 'value="team=&quot;&lt;x&gt;&quot;" id="facet-tag-1" checked>' in html
    assert 'value="tier=gold" id="facet-tag-2">' in html
    assert '<label class="form-check-label d-flex justify-content-between gap-2" for="facet-tag-2">' in html
    assert 'aria-label="12 results">12</span>' in html
    assert '<legend class="h6">Tags</legend>' in html


def test_no_facets_write_nothing():
    assert _render([]) == ""
