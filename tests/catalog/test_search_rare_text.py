"""The features' text tier finds the same features whether it looks the words up or walks groups.

Text few features have (as the planner estimates it, below `TEXT_LOOKUP_BELOW`) is looked up in
feature_search_vector first; common text walks the visible groups by popularity (docs/search.md).
Which form runs is a matter of speed; what is found, its order and what stays hidden must not
depend on it.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from catalog.selectors import search
from catalog.selectors.search import features_search
from tests.factories import FeatureFactory, FeatureGroupFactory, GrantFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalogue(org):
    """Features whose descriptions (not names) hold the words, in visible groups of varied
    popularity, a hidden group and a deleted one."""
    GrantFactory(owner_account=org.central, consumer_account=org.consumer, region="eu-west-1")
    for i in range(5):
        group = FeatureGroupFactory(account=org.central, name=f"ledger_{i}", popularity=(i * 3) % 5)
        FeatureFactory(feature_group=group, name=f"churn_flag_{i}", description="Set when the account lapsed.")
        FeatureFactory(
            feature_group=group,
            name=f"lapse_{i}",
            type="Integral",
            description="Days in the refund window before the customer lapsed.",
        )
        FeatureFactory(feature_group=group, name=f"spend_{i}", description="Spend in the refund window.")
    hidden = FeatureGroupFactory(account=org.unrelated, name="hidden", popularity=100)
    FeatureFactory(feature_group=hidden, name="lapse_hidden", description="Days in the refund window.")
    gone = FeatureGroupFactory(account=org.central, name="gone", popularity=100, deleted_at=timezone.now())
    FeatureFactory(feature_group=gone, name="lapse_gone", description="Days in the refund window.")


LOOKUP_SQL = "OFFSET 0) m JOIN"  # the text tier's fenced GIN lookup (catalog.selectors.search)


def _found(user, monkeypatch, *, lookup: bool, query: str, facets=None) -> tuple[list[str], int]:
    search._estimates.clear()  # the estimate is remembered per query
    monkeypatch.setattr(search, "TEXT_LOOKUP_BELOW", float("inf") if lookup else 0)
    with CaptureQueriesContext(connection) as queries:
        results = features_search(user=user, query=query, facets=facets or {})
    looked_up = any(LOOKUP_SQL in q["sql"] for q in queries.captured_queries)
    # Only a query every match needs all words of (no OR, no negation) is looked up: for the
    # others no word bounds the matches, and the planner keeps its own choice.
    assert looked_up == (lookup and " or " not in query and " -" not in query)
    return [row.name for row in results.results], results.count


@pytest.mark.parametrize(
    ("query", "facets"),
    [
        ("refund window", {}),
        ("refund", {"feature_type": ("Integral",)}),
        ("window -lapsed", {}),
        ("lapsed or refund", {}),
        ('"refund window"', {}),
        ("rfund", {}),  # a misspelling: nothing found, in either form
    ],
)
def test_the_text_tier_finds_the_same_features_looked_up_or_walked(
    data_scientist, catalogue, monkeypatch, query, facets
):
    looked_up = _found(data_scientist, monkeypatch, lookup=True, query=query, facets=facets)
    walked = _found(data_scientist, monkeypatch, lookup=False, query=query, facets=facets)

    assert looked_up == walked
    names = looked_up[0]
    assert not any(name.endswith(("_hidden", "_gone")) for name in names)
    if query == "refund window":
        # Both refund-window features of every visible group, the most used group's first.
        assert sorted(names) == sorted([f"lapse_{i}" for i in range(5)] + [f"spend_{i}" for i in range(5)])
        assert {names[0], names[1]} == {"lapse_3", "spend_3"}  # ledger_3 has popularity 4
    if query == "rfund":
        assert names == []


def test_a_lookup_after_the_forced_walk_runs_with_bitmap_scans_back_on(data_scientist, catalogue, monkeypatch):
    """The forced walk (words common in names, with a tag or access facet) turns bitmap scans off
    for its statements; a GIN lookup can only be a bitmap scan, so they are put back before it,
    and after the search they are as they were."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from catalog.models import FeatureGroup

    FeatureGroup.objects.filter(name__startswith="ledger_").update(tags={"team": "ledger"})
    search._estimates.clear()
    monkeypatch.setattr(search, "NAME_WALK_FROM", 0)  # every word common in names: the forced walk
    monkeypatch.setattr(search, "TEXT_LOOKUP_BELOW", float("inf"))  # and the text tier a lookup
    with CaptureQueriesContext(connection) as captured:
        results = features_search(user=data_scientist, query="refund window", facets={"tag": ("team=ledger",)})
    statements = [q["sql"] for q in captured.captured_queries]
    forced = next(i for i, sql in enumerate(statements) if "set_config('enable_bitmapscan', 'off'" in sql)
    lookup = next(i for i, sql in enumerate(statements) if "OFFSET 0) m JOIN" in sql)
    restored = [
        i
        for i, sql in enumerate(statements)
        if "set_config('enable_bitmapscan', %s" in sql or ("set_config('enable_bitmapscan', 'on'" in sql)
    ]
    assert any(forced < i < lookup for i in restored), statements
    assert sorted(row.name for row in results.results) == sorted(
        [f"lapse_{i}" for i in range(5)] + [f"spend_{i}" for i in range(5)]
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('enable_bitmapscan'), current_setting('enable_seqscan')")
        assert cursor.fetchone() == ("on", "on")
