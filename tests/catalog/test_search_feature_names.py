"""The features' name tier through either of its indexes (migration 0012_feature_group_name_words).

A feature's name words are one condition, `to_tsvector('english', name) @@ query`, which two
indexes serve: the GIN index feature_name_vector looks rare words up, and the btree
feature_group_name_words lets the walk of groups by popularity read each visible group's
features' name words without their heap rows (docs/search.md). What is found must not depend
on which one the planner takes. (That the walk stays in the index is a matter of speed: bench/search.py
measures it.)
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.utils import timezone

from catalog.selectors.search import features_search
from tests.factories import FeatureFactory, FeatureGroupFactory, GrantFactory

pytestmark = pytest.mark.django_db

FEATURE_NAMES = [
    ("customer_age_days", "Integral"),
    ("customer_age", "Fractional"),
    ("age_of_customer", "Integral"),
    ("customer_count", "Integral"),
    ("merchant_age", "String"),
    ("payment_amount", "Fractional"),
]


@pytest.fixture
def catalogue(org):
    """Visible groups (a discoverable catalog) of varied popularity, a hidden one and a deleted one."""
    GrantFactory(owner_account=org.central, consumer_account=org.consumer, region="eu-west-1")
    for i in range(6):
        group = FeatureGroupFactory(account=org.central, name=f"ledger_{i}", popularity=(i * 5) % 7)
        for name, feature_type in FEATURE_NAMES[i:] + FEATURE_NAMES[:i]:
            FeatureFactory(feature_group=group, name=f"{name}_{i}", type=feature_type)
    hidden = FeatureGroupFactory(account=org.unrelated, name="hidden", popularity=100)
    FeatureFactory(feature_group=hidden, name="customer_age_hidden")
    gone = FeatureGroupFactory(account=org.central, name="gone", popularity=100, deleted_at=timezone.now())
    FeatureFactory(feature_group=gone, name="customer_age_gone")


def _set_plan(*, walk: bool) -> None:
    # SET LOCAL inside the test's transaction: gone when the test ends. The search's own
    # statements run in a nested atomic block (a savepoint), which keeps these settings.
    with connection.cursor() as cursor:
        if walk:  # groups by popularity, then each group's features read from an index alone
            cursor.execute("SET LOCAL enable_bitmapscan = off")
            cursor.execute("SET LOCAL enable_indexscan = off")
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("SET LOCAL enable_hashjoin = off")
            cursor.execute("SET LOCAL enable_mergejoin = off")
        else:  # the GIN lookup of the name words
            for setting in (
                "enable_bitmapscan",
                "enable_indexscan",
                "enable_seqscan",
                "enable_hashjoin",
                "enable_mergejoin",
            ):
                cursor.execute(f"SET LOCAL {setting} = on")
            cursor.execute("SET LOCAL enable_indexonlyscan = off")


@pytest.mark.parametrize(
    ("query", "facets"),
    [
        ("customer age", {}),
        ("customer", {}),
        ('"customer age"', {}),
        ("customer -days", {}),
        ("customer or payment", {}),
        ("age", {"feature_type": ("Integral",)}),
    ],
)
def test_features_found_by_name_are_the_same_whichever_index_serves_the_words(data_scientist, catalogue, query, facets):
    found = {}
    for walk in (True, False):
        _set_plan(walk=walk)
        results = features_search(user=data_scientist, query=query, facets=facets)
        found[walk] = [row.name for row in results.results], results.count
    assert found[True] == found[False]
    names = found[True][0]
    assert names and not any(name.endswith(("_hidden", "_gone")) for name in names)
    if query == "customer age":
        # Every name with both words, in every visible group; the most used group's first.
        assert sorted(n.rsplit("_", 1)[0] for n in names) == sorted(
            ["customer_age", "customer_age_days", "age_of_customer"] * 6
        )
        assert names[0].endswith("_4")  # ledger_4 is the most used (popularity 6)


@pytest.mark.parametrize(
    ("query", "facets"),
    [
        ("customer -days", {}),  # an exclusion: the name is checked on the row's weighted vector
        ("customer age", {"tag": ("team=ledger",)}),  # a tag facet: the forced walk
        ("customer -days", {"access": ("discoverable",)}),  # both
    ],
)
def test_words_common_in_names_find_what_rare_ones_find(data_scientist, catalogue, monkeypatch, query, facets):
    """The forms taken for words common in names (from NAME_WALK_FROM estimated matches) find the
    same features as the forms for rare ones. With this little data no word is common, so the
    threshold is moved to make each word one or the other."""
    from catalog.models import FeatureGroup
    from catalog.selectors import search

    FeatureGroup.objects.filter(name__startswith="ledger_").update(tags={"team": "ledger"})
    found = {}
    for common in (True, False):
        search._estimates.clear()
        monkeypatch.setattr(search, "NAME_WALK_FROM", 0 if common else 10**12)
        results = features_search(user=data_scientist, query=query, facets=facets)
        found[common] = [row.name for row in results.results], results.count
    assert found[True] == found[False]
    names = found[True][0]
    assert names and not any(name.endswith(("_hidden", "_gone")) for name in names)
    if "-days" in query:
        assert not any("days" in name for name in names)
