"""The tag facet through its index (fg_tags, migration 0011_search_tags).

`tag=key=value` filters on `tags @> {"key": "value"}`. A GIN index on the
tags column now serves it, so the planner may look a tag up instead of
checking every visible group. The results must not depend on which plan
runs, and since the index is on the column the sync writes, a group whose
tags change (or that is deleted) is found by its new tags at once.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.utils import timezone

from catalog.selectors.search import feature_groups_search, features_search
from tests.factories import FeatureFactory, FeatureGroupFactory, GrantFactory

pytestmark = pytest.mark.django_db

TAG_SETS = [
    {"domain": "risk", "env": "prod"},
    {"domain": "risk", "env": "staging", "pii": "true"},
    {"domain": "fraud", "env": "prod"},
    {"domain": "risk-model"},  # a longer value sharing a prefix: not domain=risk
    {"Domain": "risk"},  # keys are case-sensitive
    {"note": "a=b", "domain": "growth"},  # '=' inside a value
    {"owner": "Zoë O'Neil", "domain": "risk"},
    {},
]


@pytest.fixture
def tagged(org):
    """Groups with varied tags: visible (central, discoverable), hidden (unrelated), and deleted."""
    GrantFactory(owner_account=org.central, consumer_account=org.consumer, region="eu-west-1")
    groups = []
    for i in range(3):
        for j, tags in enumerate(TAG_SETS):
            group = FeatureGroupFactory(
                account=org.central, name=f"customer_ledger_{i}_{j}", tags=tags, popularity=(i * 7 + j) % 5
            )
            FeatureFactory(feature_group=group, name=f"customer_id_{i}_{j}")
            groups.append(group)
    hidden = FeatureGroupFactory(account=org.unrelated, name="customer_hidden", tags={"domain": "risk"})
    FeatureFactory(feature_group=hidden, name="customer_id_hidden")
    deleted = FeatureGroupFactory(
        account=org.central, name="customer_gone", tags={"domain": "risk"}, deleted_at=timezone.now()
    )
    FeatureFactory(feature_group=deleted, name="customer_id_gone")
    return groups


def _expected(groups, wanted: tuple[str, ...]) -> set[str]:
    pairs = [value.partition("=")[::2] for value in wanted]
    return {g.name for g in groups if any(g.tags.get(key) == value for key, value in pairs)}


def _names(results) -> set[str]:
    return {row.name for row in results.results}


def _plan_settings(cursor, index: bool) -> None:
    # SET LOCAL inside the test's transaction: gone when the test ends.
    if index:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")  # leaves the bitmap scan of fg_tags
    else:
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        cursor.execute("SET LOCAL enable_indexscan = on")
        cursor.execute("SET LOCAL enable_seqscan = on")


@pytest.mark.parametrize(
    "wanted",
    [("domain=risk",), ("domain=risk", "domain=fraud"), ("pii=true",), ("note=a=b",), ("owner=Zoë O'Neil",)],
)
@pytest.mark.parametrize("query", ["", "customer"])
def test_tag_filter_gives_the_same_groups_with_and_without_the_index(data_scientist, tagged, wanted, query):
    expected = _expected(tagged, wanted)
    assert expected  # every case selects something
    found = {}
    for index in (True, False):
        with connection.cursor() as cursor:
            _plan_settings(cursor, index)
        found[index] = feature_groups_search(user=data_scientist, query=query, facets={"tag": wanted})
    for results in found.values():
        assert _names(results) == expected
        assert results.count == len(expected)
        assert {v.value: v.count for v in results.facets["tag"] if v.selected} == {
            value: len(_expected(tagged, (value,))) for value in wanted
        }


def test_the_tag_filter_can_use_the_index():
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("""EXPLAIN SELECT id FROM catalog_featuregroup WHERE tags @> '{"domain": "risk"}'::jsonb""")
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "fg_tags" in plan


def test_features_tag_filter_follows_the_group_tags(data_scientist, tagged):
    results = features_search(user=data_scientist, query="customer", facets={"tag": ("domain=risk",)})
    expected = {
        f"customer_id_{g.name.removeprefix('customer_ledger_')}" for g in tagged if g.tags.get("domain") == "risk"
    }
    assert {row.name for row in results.results} == expected


def test_changed_tags_are_searched_by_their_new_values_and_deleted_groups_vanish(data_scientist, tagged):
    group = next(g for g in tagged if g.tags == {"domain": "fraud", "env": "prod"})
    assert group.name in _names(feature_groups_search(user=data_scientist, facets={"tag": ("domain=fraud",)}))

    # What the sync does when AWS reports new tags: the row's tags are replaced.
    group.tags = {"domain": "pricing", "env": "prod"}
    group.save(update_fields=["tags"])

    assert group.name not in _names(feature_groups_search(user=data_scientist, facets={"tag": ("domain=fraud",)}))
    assert _names(feature_groups_search(user=data_scientist, facets={"tag": ("domain=pricing",)})) == {group.name}

    group.deleted_at = timezone.now()
    group.save(update_fields=["deleted_at"])

    assert feature_groups_search(user=data_scientist, facets={"tag": ("domain=pricing",)}).count == 0
    assert group.name not in _names(feature_groups_search(user=data_scientist, facets={"tag": ("env=prod",)}))


@pytest.mark.parametrize("query", ["customer", "customer id 1 2", "customer_id_0_1"])
@pytest.mark.parametrize("facets", [{"tag": ("domain=risk",)}, {"tag": ("env=prod",), "access": ("discoverable",)}])
def test_features_found_by_the_forced_popularity_walk_equal_the_planner_s_choice(
    data_scientist, tagged, facets, query, monkeypatch
):
    """With a tag or access facet, words common in names walk groups by popularity (docs/search.md);
    the exact-name tier then runs as a statement of its own, ahead of the walk."""
    from catalog.selectors import search

    found = {}
    for walk_from in (0, 10**12):  # every query counts as common in names / none does
        monkeypatch.setattr(search, "NAME_WALK_FROM", walk_from)
        search._estimates.clear()
        results = features_search(user=data_scientist, query=query, facets=facets)
        found[walk_from] = [row.name for row in results.results], results.count
    assert found[0] == found[10**12]
    if query == "customer":
        assert found[0][1] > 0


def test_a_group_with_as_many_and_as_long_tags_as_aws_allows_is_stored_and_found(data_scientist, org):
    """50 tags of 128-character keys and 256-character values (AWS's limits), none compressible.

    No index over the tags may be a btree that holds them: an entry must fit in a third of a
    page, and these ~19 kB would make the sync's insert fail.
    """
    import secrets

    GrantFactory(owner_account=org.central, consumer_account=org.consumer, region="eu-west-1")
    tags = {secrets.token_hex(64): secrets.token_hex(128) for _ in range(48)}
    tags["domain"] = "risk-" + secrets.token_hex(125)
    group = FeatureGroupFactory(account=org.central, region="eu-west-1", name="heavily_tagged", tags=tags)
    group.tags = {**tags, "env": "prod"}
    group.save()

    assert len(group.tags) == 50 and all(len(k) <= 128 and len(v) <= 256 for k, v in group.tags.items())
    found = feature_groups_search(user=data_scientist, facets={"tag": (f"domain={tags['domain']}",)})
    assert _names(found) == {"heavily_tagged"}


@pytest.mark.parametrize("features_per_group", [1, 6])
def test_the_tag_facet_of_a_feature_search_counts_each_feature(org, data_scientist, features_per_group):
    """A feature has its group's tags: each matching feature counts once, whether the features
    come from many groups or a few groups with many matches each (counted per group, then
    multiplied by its features)."""
    GrantFactory(owner_account=org.central, consumer_account=org.consumer, region="eu-west-1")
    for i, tags in enumerate([{"domain": "risk", "env": "prod"}, {"domain": "risk"}, {"domain": "fraud"}]):
        group = FeatureGroupFactory(account=org.central, name=f"ledger_{i}", tags=tags)
        for j in range(features_per_group):
            FeatureFactory(feature_group=group, name=f"customer_total_{j}")
    tags = {f.value: f.count for f in features_search(user=data_scientist, query="customer").facets["tag"]}
    assert tags == {
        "domain=risk": 2 * features_per_group,
        "env=prod": features_per_group,
        "domain=fraud": features_per_group,
    }
