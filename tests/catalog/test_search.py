"""Search: relevance on a fixed corpus, facets, visibility, bad input, the page."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from django.utils import timezone

from catalog.models import Feature, FeatureGroup
from catalog.selectors.search import (
    MAX_QUERY_LENGTH,
    SearchParams,
    feature_groups_search,
    features_search,
    search_params_parse,
    search_run,
)
from sharing.models import Grant
from tests.csp import assert_csp_clean
from tests.factories import FeatureFactory, FeatureGroupFactory, GrantFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def corpus(org):
    """A small fixed catalogue: central (discoverable to consumer), team, unrelated."""
    groups = {}

    def group(key, account, name, description="", tags=None, features=(), region="eu-west-1", **extra):
        g = FeatureGroupFactory(
            account=account, region=region, name=name, description=description, tags=tags or {}, **extra
        )
        for position, (fname, ftype, fdesc) in enumerate(features):
            FeatureFactory(feature_group=g, name=fname, type=ftype, description=fdesc, position=position)
        words = " ".join(f"{n} {d}" for n, _, d in features)
        FeatureGroup.objects.filter(pk=g.pk).update(feature_words=words, feature_count=len(features))
        g.refresh_from_db()
        groups[key] = g
        return g

    group(
        "customer_age",
        org.central,
        "customer_age",
        "Age of each customer in years.",
        tags={"domain": "marketing", "pii": "true"},
        features=[("customer_id", "String", "Customer key"), ("age_years", "Integral", "Age in years")],
        online_store_enabled=True,
        offline_store_enabled=False,
    )
    group(
        "orders",
        org.central,
        "orders_daily",
        "Daily order totals; one row per customer per day.",
        tags={"domain": "sales"},
        features=[
            ("order_count_7d", "Integral", "Orders in the last 7 days"),
            ("days_since_last_order", "Integral", "Days since the last order"),
        ],
        online_store_enabled=False,
        offline_store_enabled=True,
    )
    group(
        "payments",
        org.central,
        "payments_risk",
        "Payment risk scores for fraud models.",
        tags={"domain": "fraud"},
        features=[("chargeback_ratio", "Fractional", "Chargebacks per payment")],
        region="us-east-1",
    )
    group(
        "team_secret",
        org.team,
        "merchant_secret_customer",
        "Merchant features nobody shared.",
        features=[("merchant_id", "String", "customer merchant")],
    )
    group(
        "unrelated",
        org.unrelated,
        "sandbox_customer_age",
        "Lab copy of customer age.",
        features=[("customer_age", "Integral", "customer age")],
    )
    group(
        "deleted",
        org.central,
        "customer_age_old",
        "Retired customer age table.",
        deleted_at=timezone.now(),
        features=[("customer_age", "Integral", "customer age")],
    )
    # Consumer can discover central's catalog in both regions, and read `orders`.
    for region in ("eu-west-1", "us-east-1"):
        GrantFactory(owner_account=org.central, consumer_account=org.consumer, region=region)
    GrantFactory(
        owner_account=org.central,
        consumer_account=org.consumer,
        resource_type=Grant.ResourceType.FEATURE_GROUP,
        feature_group=groups["orders"],
        permission=Grant.Permission.READ_ONLY,
    )
    return groups


def names(results) -> list[str]:
    return [row.name for row in results.results]


def test_exact_name_match_ranks_above_description_mention(data_scientist, corpus):
    results = feature_groups_search(user=data_scientist, query="customer age")
    assert names(results)[0] == "customer_age"
    assert "orders_daily" not in names(results)


def test_exact_name_beats_a_group_whose_features_repeat_the_word(data_scientist, corpus, org):
    noisy = FeatureGroupFactory(account=org.central, name="ledger", description="")
    FeatureGroup.objects.filter(pk=noisy.pk).update(feature_words=" ".join(["customer"] * 60))
    results = feature_groups_search(user=data_scientist, query="customer")
    assert names(results).index("customer_age") < names(results).index("ledger")


def test_a_typo_in_a_name_still_finds_it(data_scientist, corpus):
    results = feature_groups_search(user=data_scientist, query="custmer_age")
    assert names(results)[0] == "customer_age"
    assert results.fuzzy


def test_a_typo_finds_features_too(data_scientist, corpus):
    results = features_search(user=data_scientist, query="custmer_id")
    assert "customer_id" in names(results)


def test_name_with_underscores_matches_words_with_spaces(data_scientist, corpus):
    assert "customer_age" in names(feature_groups_search(user=data_scientist, query="customer age"))


def test_quoted_phrase_matches_only_adjacent_words(data_scientist, corpus):
    assert names(features_search(user=data_scientist, query='"days since"')) == ["days_since_last_order"]
    assert names(features_search(user=data_scientist, query='"since days"')) == []


def test_minus_excludes_a_word(data_scientist, corpus):
    found = names(feature_groups_search(user=data_scientist, query="customer -age"))
    assert "orders_daily" in found
    assert "customer_age" not in found


def test_features_search_finds_feature_by_its_description(data_scientist, corpus):
    results = features_search(user=data_scientist, query="chargebacks")
    assert names(results) == ["chargeback_ratio"]
    assert results.results[0].feature_group.name == "payments_risk"


def test_empty_query_lists_everything_visible(data_scientist, corpus):
    results = feature_groups_search(user=data_scientist, query="")
    assert sorted(names(results)) == ["customer_age", "orders_daily", "payments_risk"]
    assert results.count == 3


def test_outsider_sees_none_of_the_others_groups_nor_their_counts(outsider, corpus):
    results = feature_groups_search(user=outsider, query="customer")
    assert names(results) == ["sandbox_customer_age"]
    accounts = {facet.value for facet in results.facets["account"]}
    assert accounts == {"777777777777"}
    assert sum(f.count for f in results.facets["region"]) == 1
    features = features_search(user=outsider, query="")
    assert {f.feature_group.name for f in features.results} == {"sandbox_customer_age"}


def test_deleted_groups_never_appear(governance, corpus):
    assert "customer_age_old" not in names(feature_groups_search(user=governance, query="customer age"))
    features = features_search(user=governance, query="customer age")
    assert features.results  # the live groups' features are found; the deleted group's are not
    assert all(f.feature_group.deleted_at is None for f in features.results)


def test_governance_sees_every_account(governance, corpus):
    found = names(feature_groups_search(user=governance, query="customer"))
    assert {"customer_age", "merchant_secret_customer", "sandbox_customer_age"} <= set(found)


@pytest.mark.parametrize("kind", ["groups", "features"])
@pytest.mark.parametrize("query", ["", "customer", "order"])
def test_every_facet_count_equals_the_results_it_leads_to(data_scientist, corpus, kind, query):
    base = search_run(user=data_scientist, params=SearchParams(query=query, kind=kind))
    checked = 0
    for name, values in base.facets.items():
        for facet in values:
            narrowed = search_run(
                user=data_scientist, params=SearchParams(query=query, kind=kind, facets={name: (facet.value,)})
            )
            assert narrowed.count == facet.count, (name, facet.value)
            checked += 1
    assert checked >= 5


def test_access_facet_separates_mine_readable_and_discoverable(data_scientist, owner, corpus):
    facets = {f.value: f.count for f in feature_groups_search(user=data_scientist, query="").facets["access"]}
    assert facets == {"read_only": 1, "discoverable": 2}
    owner_facets = {f.value: f.count for f in feature_groups_search(user=owner, query="").facets["access"]}
    assert owner_facets == {"mine": 3}  # the deleted group is not counted


def test_facets_combine_with_and_across_and_or_within(data_scientist, corpus):
    both_regions = feature_groups_search(user=data_scientist, query="", facets={"region": ("eu-west-1", "us-east-1")})
    assert both_regions.count == 3
    narrowed = feature_groups_search(
        user=data_scientist, query="", facets={"region": ("eu-west-1",), "tag": ("domain=sales",)}
    )
    assert names(narrowed) == ["orders_daily"]


def test_feature_type_facet_filters_features(data_scientist, corpus):
    results = features_search(user=data_scientist, query="", facets={"feature_type": ("Fractional",)})
    assert names(results) == ["chargeback_ratio"]


def test_sorts_by_name_and_recently_changed(data_scientist, corpus):
    assert names(feature_groups_search(user=data_scientist, query="", sort="name")) == [
        "customer_age",
        "orders_daily",
        "payments_risk",
    ]
    FeatureGroup.objects.filter(pk=corpus["payments"].pk).update(aws_modified_at=timezone.now())
    assert names(feature_groups_search(user=data_scientist, query="", sort="recent"))[0] == "payments_risk"


def test_popularity_lifts_among_equal_matches(data_scientist, corpus):
    FeatureGroup.objects.filter(pk=corpus["payments"].pk).update(popularity=500)
    assert names(feature_groups_search(user=data_scientist, query="", sort="popular"))[0] == "payments_risk"


def test_paging_past_the_end_shows_the_last_page(data_scientist, corpus, org):
    for i in range(45):
        FeatureGroupFactory(account=org.central, name=f"bulk_{i:02d}")
    results = feature_groups_search(user=data_scientist, query="", sort="name", page=9999)
    assert results.page == results.num_pages == 3
    assert len(results.results) == 48 - 40


def test_feature_rename_of_group_refreshes_feature_vectors(data_scientist, corpus):
    FeatureGroup.objects.filter(pk=corpus["payments"].pk).update(name="card_disputes")
    assert names(features_search(user=data_scientist, query="disputes")) == ["chargeback_ratio"]


def test_search_vector_is_generated_by_the_database(corpus):
    group = FeatureGroup.objects.get(pk=corpus["orders"].pk)
    assert "order" in str(group.search_vector)
    feature = Feature.objects.get(name="days_since_last_order")
    assert "'day'" in str(feature.search_vector)


@pytest.mark.parametrize(
    "data",
    [
        {"q": "!!! ??? ... &&& ||| ((("},
        {"q": "the and of"},
        {"q": "x" * 10_000},
        {"q": "customer " * 2000},
        {"q": "'\"\\"},
        {"q": "customer", "account": "not-an-account"},
        {"q": "customer", "region": "mars-1"},
        {"q": "customer", "feature_type": "Complex", "store": "cloud", "access": "everything"},
        {"q": "customer", "tag": "no-equals-sign"},
        {"q": "customer", "status": "Exploded"},
        {"q": "customer", "page": "9999"},
        {"q": "customer", "page": "-3"},
        {"q": "customer", "page": "abc"},
        {"q": "customer", "kind": "planets", "sort": "random"},
        {"q": "customer", "kind": "features", "page": "9999"},
    ],
)
def test_bad_input_gives_a_normal_page(client, data_scientist, corpus, data):
    client.force_login(data_scientist)
    response = client.get(reverse("catalog:catalog_list"), data)
    assert response.status_code == 200


def test_query_of_stop_words_lists_everything_and_says_so(data_scientist, corpus):
    results = search_run(user=data_scientist, params=search_params_parse(data={"q": "the and of"}))
    assert results.ignored_query
    assert results.count == 3


def test_over_long_query_is_capped():
    assert len(search_params_parse(data={"q": "word " * 5000}).query) == MAX_QUERY_LENGTH


def test_unknown_facet_values_are_dropped():
    params = search_params_parse(data={"account": "x", "region": "mars", "store": "cloud", "tag": "nope"})
    assert params.facets == {}


def test_search_page_renders_results_facets_and_links(client, data_scientist, corpus):
    client.force_login(data_scientist)
    response = client.get(reverse("catalog:catalog_list"), {"q": "customer age"})
    body = response.content.decode()
    assert response.status_code == 200
    assert corpus["customer_age"].get_absolute_url() in body
    assert 'aria-live="polite"' in body
    assert 'name="region"' in body
    assert "central-feature-store" in body
    assert "merchant_secret_customer" not in body


def test_search_page_features_tab_links_to_feature_and_group(client, data_scientist, corpus):
    client.force_login(data_scientist)
    response = client.get(reverse("catalog:catalog_list"), {"q": "chargebacks", "kind": "features"})
    feature = Feature.objects.get(name="chargeback_ratio")
    body = response.content.decode()
    assert feature.get_absolute_url() in body
    assert corpus["payments"].get_absolute_url() in body


def test_htmx_request_gets_only_the_results_fragment(client, data_scientist, corpus):
    client.force_login(data_scientist)
    response = client.get(reverse("catalog:catalog_list"), {"q": "customer"}, headers={"HX-Request": "true"})
    body = response.content.decode()
    assert "<html" not in body
    assert 'id="results-heading"' in body
    assert 'id="search-q"' not in body


def test_page_has_no_inline_scripts_or_styles(client, data_scientist, corpus):
    client.force_login(data_scientist)
    response = client.get(reverse("catalog:catalog_list"), {"q": "customer"})
    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="results-summary"' in body
    assert_csp_clean(body)


def test_outsider_search_page_shows_nothing_of_others(client, outsider, corpus):
    client.force_login(outsider)
    body = client.get(reverse("catalog:catalog_list"), {"q": "customer"}).content.decode()
    assert f'<a href="{corpus["unrelated"].get_absolute_url()}">sandbox_customer_age</a>' in body
    for key in ("customer_age", "orders", "team_secret"):
        # Neither a link to it nor its name as text ("customer_age" alone is part of the visible name).
        assert corpus[key].get_absolute_url() not in body
        assert f">{corpus[key].name}<" not in body
    assert "central-feature-store" not in body


def test_anonymous_user_is_sent_to_login(client, corpus):
    response = client.get(reverse("catalog:catalog_list"), {"q": "customer"})
    assert response.status_code == 302


@pytest.mark.parametrize("kind", ["groups", "features"])
def test_search_page_runs_a_fixed_number_of_queries(
    client, data_scientist, corpus, org, kind, django_assert_max_num_queries
):
    for i in range(30):
        group = FeatureGroupFactory(account=org.central, name=f"customer_bulk_{i}", tags={"k": str(i)})
        FeatureFactory(feature_group=group, name=f"customer_feature_{i}")
    client.force_login(data_scientist)
    url = reverse("catalog:catalog_list")
    # session, user, governance check, the user's memberships and grants,
    # tsquery check, savepoint, two SET LOCALs, the search statement, release, the
    # page's rows, the navigation's unread notification count: 13, however many results.
    with django_assert_max_num_queries(13):
        first = client.get(url, {"q": "customer", "kind": kind, "region": "eu-west-1"})
    assert first.status_code == 200
    # A full page of results was rendered within the budget, not an empty one.
    assert first.content.decode().count('<li class="card mb-2">') == 20
    with django_assert_max_num_queries(13):
        second = client.get(url, {"kind": kind, "page": "2"})
    assert second.status_code == 200
    assert "· page 2 of" in second.content.decode()
    assert second.content.decode().count('<li class="card mb-2">') > 0


def test_someone_in_no_account_yet_gets_an_empty_search_not_an_error(client, corpus):
    newcomer = UserFactory(username="newcomer")
    client.force_login(newcomer)
    response = client.get(reverse("catalog:catalog_list"), {"q": "customer", "kind": "features", "sort": "popular"})
    assert response.status_code == 200
    summary = re.search(r'id="results-summary">(.*?)</p>', response.content.decode(), re.S).group(1)
    assert " ".join(summary.split()).startswith("0 features for “customer”")
    api = client.get("/api/v1/search/", {"q": "customer", "access": "mine"})
    assert api.status_code == 200
    assert api.json()["count"] == 0
    assert api.json()["facets"]["access"] == [{"value": "mine", "label": "Mine", "count": 0, "selected": True}]
