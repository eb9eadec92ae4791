"""Above the candidate bound, a common word still finds the best matches.

More than GROUP_CANDIDATES groups (and FEATURE_CANDIDATES features) mention
`customer`. The search used to rank "the first 500 in table order"; these
catalogues put the best matches *last* in the table, so that old behaviour
misses them. Now candidates come tier by tier (exact name, name prefix, name
words, any text), each by popularity (docs/search.md).
"""

from __future__ import annotations

import pytest
from django.utils import timezone

from catalog.models import Feature, FeatureGroup
from catalog.selectors.search import FEATURE_CANDIDATES, GROUP_CANDIDATES, feature_groups_search, features_search
from tests.factories import FeatureGroupFactory, GrantFactory

pytestmark = pytest.mark.django_db


def _groups(account, names_and_fields: list[tuple[str, dict]]) -> list[FeatureGroup]:
    now = timezone.now()
    return FeatureGroup.objects.bulk_create(
        FeatureGroup(
            account=account,
            region="eu-west-1",
            name=name,
            arn=f"arn:aws:sagemaker:eu-west-1:{account.account_id}:feature-group/{name}",
            record_identifier_feature="id",
            event_time_feature="event_time",
            status="Created",
            aws_created_at=now,
            aws_modified_at=now,
            **fields,
        )
        for name, fields in names_and_fields
    )


@pytest.fixture
def crowded(org):
    """600 groups that only mention `customer` in a description, then (later ids) the good ones."""
    GrantFactory(owner_account=org.central, consumer_account=org.consumer, region="eu-west-1")
    _groups(
        org.central,
        [(f"ledger_{i:04d}", {"description": "Rows per customer.", "popularity": i % 7}) for i in range(600)],
    )
    best = _groups(
        org.central,
        [
            ("orders_by_customer", {"popularity": 1}),  # name has the word (not first)
            ("customer_segments", {"popularity": 2}),  # name starts with it
            ("customer_lifetime", {"popularity": 50}),  # name starts with it, popular
            ("Customer", {"popularity": 0}),  # the name is the query
            ("popular_ledger", {"description": "One row per customer.", "popularity": 900}),
        ],
    )
    # Someone else's group with the very same name must stay invisible.
    _groups(org.team, [("customer", {"popularity": 1000})])
    return {g.name: g for g in best}


def names(results) -> list[str]:
    return [row.name for row in results.results]


def test_a_common_word_ranks_the_exact_name_then_name_matches_then_the_most_popular(data_scientist, crowded):
    results = feature_groups_search(user=data_scientist, query="customer")
    assert results.capped and results.count == GROUP_CANDIDATES
    # Exact name, then names starting with the word (most used first), then
    # the name that has it elsewhere, then description matches by popularity.
    assert names(results)[:6] == [
        "Customer",
        "customer_lifetime",
        "customer_segments",
        "orders_by_customer",
        "popular_ledger",
        "ledger_0006",
    ]
    assert crowded["Customer"].account.account_id == "111111111111"  # the visible one, not payments-ml's


def test_the_other_accounts_group_of_the_same_name_is_not_counted_anywhere(data_scientist, crowded):
    results = feature_groups_search(user=data_scientist, query="customer")
    assert {f.value for f in results.facets["account"]} == {"111111111111"}
    assert sum(f.count for f in results.facets["account"]) == GROUP_CANDIDATES


def test_a_name_prefix_finds_the_group_as_you_type(data_scientist, crowded):
    assert names(feature_groups_search(user=data_scientist, query="customer_lifeti"))[0] == "customer_lifetime"


def test_every_later_page_continues_the_same_candidates(data_scientist, crowded):
    first = names(feature_groups_search(user=data_scientist, query="customer", page=1))
    second = names(feature_groups_search(user=data_scientist, query="customer", page=2))
    assert not set(first) & set(second)
    assert all(name.startswith("ledger_") for name in second)


@pytest.mark.parametrize(
    ("query", "facets"),
    [
        ("customer", {}),
        ("customer", {"access": ("discoverable",)}),
        ('"per customer"', {}),
        ("customer -rows", {}),
        ("rows", {"tag": ("k=v",)}),
    ],
)
@pytest.mark.parametrize("page", [1, 25, 26])
def test_the_text_tier_finds_the_same_candidates_walked_or_looked_up(
    data_scientist, crowded, monkeypatch, query, facets, page
):
    """Common text walks groups by popularity, rare text uses the GIN index (docs/search.md): same results."""
    from catalog.selectors import search

    FeatureGroup.objects.filter(name__in=["ledger_0003", "ledger_0450", "popular_ledger"]).update(tags={"k": "v"})
    found = {}
    for walk_from in (0.0, 2.0):  # every text counts as common / none does
        monkeypatch.setattr(search, "TEXT_WALK_FROM", walk_from)
        search._estimates.clear()
        results = feature_groups_search(user=data_scientist, query=query, facets=facets, page=page)
        found[walk_from] = (names(results), results.count, results.capped, results.facets)
    assert found[0.0] == found[2.0]
    assert found[0.0][1] > 0


def test_a_facet_narrows_within_the_whole_catalogue_not_within_the_first_candidates(data_scientist, crowded, org):
    FeatureGroup.objects.filter(pk=crowded["orders_by_customer"].pk).update(region="us-east-1")
    GrantFactory(owner_account=org.central, consumer_account=org.consumer, region="us-east-1")
    results = feature_groups_search(user=data_scientist, query="customer", facets={"region": ("us-east-1",)})
    assert names(results) == ["orders_by_customer"]
    assert results.count == 1 and not results.capped


@pytest.fixture
def crowded_features(org):
    GrantFactory(owner_account=org.central, consumer_account=org.consumer, region="eu-west-1")
    quiet, loud = _groups(org.central, [("quiet_group", {"popularity": 0}), ("loud_group", {"popularity": 80})])
    Feature.objects.bulk_create(
        Feature(feature_group=quiet, name=f"col_{i:04d}", type="String", description="per customer", position=i)
        for i in range(FEATURE_CANDIDATES + 100)
    )
    Feature.objects.bulk_create(
        [
            Feature(feature_group=quiet, name="customer", type="String", position=9000),
            Feature(feature_group=quiet, name="customer_region", type="String", position=9001),
            Feature(feature_group=loud, name="spend", type="Fractional", description="per customer", position=0),
        ]
    )
    return {"quiet": quiet, "loud": loud}


def test_features_exact_name_then_name_words_then_the_most_used_groups_features(data_scientist, crowded_features):
    results = features_search(user=data_scientist, query="customer")
    assert results.capped
    assert names(results)[:3] == ["customer", "customer_region", "spend"]


def test_search_still_says_which_query_it_ran_for_a_typo(data_scientist, crowded):
    results = feature_groups_search(user=data_scientist, query="custmer_lifetime")
    assert results.fuzzy
    assert names(results)[0] == "customer_lifetime"


@pytest.fixture
def every_level(org):
    """One group per access level for the data scientist (consumer) and the members of central."""
    from sharing.models import Grant

    groups = {
        name: FeatureGroupFactory(account=account, name=name, region=region)
        for name, account, region in [
            ("read", org.central, "eu-west-1"),
            ("discoverable", org.central, "eu-west-1"),
            ("other_region", org.central, "us-east-1"),
            ("read_write", org.team, "eu-west-1"),
            ("admin", org.team, "eu-west-1"),
            ("private", org.unrelated, "eu-west-1"),
        ]
    }
    GrantFactory(owner_account=org.central, consumer_account=org.consumer, region="eu-west-1")
    for name, owner, permission in [
        ("read", org.central, Grant.Permission.READ_ONLY),
        ("read_write", org.team, Grant.Permission.READ_WRITE),
        ("admin", org.team, Grant.Permission.ADMIN),
    ]:
        GrantFactory(
            owner_account=owner,
            consumer_account=org.consumer,
            resource_type=Grant.ResourceType.FEATURE_GROUP,
            feature_group=groups[name],
            permission=permission,
        )
    return groups


@pytest.mark.parametrize("persona", ["data_scientist", "owner", "consumer_admin", "governance", "operator", "outsider"])
def test_search_computes_each_access_level_exactly_as_the_sql_gate(request, persona, every_level):
    from catalog.selectors.access import access_level_of, annotate_access_level
    from sharing.visibility import visibility_scope

    user = request.getfixturevalue(persona)
    scope = visibility_scope(user)
    in_sql = dict(
        annotate_access_level(FeatureGroup.objects.all(), user, scope=scope).values_list("id", "access_level")
    )
    in_python = {
        g.id: access_level_of(scope, group_id=g.id, account_id=g.account_id, region=g.region)
        for g in FeatureGroup.objects.all()
    }
    assert in_python == in_sql


def test_the_level_catalogue_covers_every_level_a_consumer_can_have(data_scientist, every_level):
    from catalog.selectors import access
    from sharing.visibility import visibility_scope

    scope = visibility_scope(data_scientist)
    levels = {
        name: access.access_level_of(scope, group_id=g.id, account_id=g.account_id, region=g.region)
        for name, g in every_level.items()
    }
    assert levels == {
        "read": access.READ_ONLY,
        "discoverable": access.DISCOVERABLE,
        "other_region": access.NONE,
        "read_write": access.READ_WRITE,
        "admin": access.ADMIN,
        "private": access.NONE,
    }


def test_an_exclusion_applies_to_the_whole_text_even_when_the_name_matches(data_scientist, crowded):
    FeatureGroup.objects.filter(pk=crowded["customer_lifetime"].pk).update(description="Days since signup.")
    found = names(feature_groups_search(user=data_scientist, query="customer -days"))
    assert "customer_lifetime" not in found
    # Names with the word first (by popularity), then the most used descriptions.
    assert found[:4] == ["customer_segments", "orders_by_customer", "Customer", "popular_ledger"]


def test_a_quoted_phrase_in_a_name_ranks_that_name_first(data_scientist, crowded):
    assert names(feature_groups_search(user=data_scientist, query='"customer lifetime"'))[0] == "customer_lifetime"


@pytest.mark.parametrize("persona", ["data_scientist", "owner", "consumer_admin", "governance", "operator", "outsider"])
def test_the_access_facet_filter_selects_exactly_the_groups_of_those_levels(request, persona, every_level):
    from catalog.selectors import access
    from sharing.visibility import visibility_scope

    user = request.getfixturevalue(persona)
    scope = visibility_scope(user)
    levels = dict(
        access.annotate_access_level(FeatureGroup.objects.all(), user, scope=scope).values_list("id", "access_level")
    )
    every = [a.level for a in access.ACCESS_LEVELS]
    for chosen in [[level] for level in every] + [[access.READ_ONLY, access.READ_WRITE, access.ADMIN], every]:
        filtered = set(FeatureGroup.objects.filter(access.access_level_q(scope, chosen)).values_list("id", flat=True))
        assert filtered == {pk for pk, level in levels.items() if level in chosen}, chosen


@pytest.mark.parametrize("kind", ["groups", "features"])
def test_an_access_level_the_user_has_nowhere_gives_an_empty_search(data_scientist, every_level, kind):
    from catalog.selectors.search import SearchParams, search_run

    # The data scientist has admin access to one group: drop it, and ask for admin.
    from sharing.models import Grant

    Grant.objects.filter(permission=Grant.Permission.ADMIN).delete()
    results = search_run(user=data_scientist, params=SearchParams(kind=kind, facets={"access": ("admin",)}))
    assert results.count == 0 and results.results == []
    assert [(f.value, f.count) for f in results.facets["access"]] == [("admin", 0)]
