"""The word pairs of each group's feature names (FeatureNamePairs, migration 0013_feature_name_pairs).

A multi-word feature search walks only the visible groups whose record holds every pair of its
words (docs/search.md). The record is kept by triggers on catalog_feature, so it must follow every
way features are written, and a search through it must find exactly what the plain name tier
finds: a group missing from the record would silently lose its matches.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.models import Feature, FeatureGroup, FeatureNamePairs
from catalog.selectors import search
from catalog.selectors.search import features_search, name_pairs_query
from tests.aws_fixtures import sandbox_client, sandbox_feature_group, sandbox_owner_account
from tests.factories import FeatureFactory, FeatureGroupFactory, GrantFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

CENTRAL = "111111111111"


def _pairs(group) -> set[str] | None:
    row = FeatureNamePairs.objects.filter(feature_group=group).first()
    if row is None:
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT tsvector_to_array(%s::tsvector)", [row.pairs])
        return set(cursor.fetchone()[0])


def _form(monkeypatch, form: str | None) -> None:
    """Make the search take the pairs' walk, their lookup, or no pairs at all (the old name tier),
    whatever the planner expects: with this little data every pair is rare."""
    search._estimates.clear()
    if form is None:
        monkeypatch.setattr(search, "PAIRS_WALK_BELOW", 0)
    else:
        monkeypatch.setattr(search, "PAIRS_WALK_BELOW", float("inf"))
        monkeypatch.setattr(search, "PAIRS_LOOKUP_BELOW", float("inf") if form == "lookup" else -1)


def test_the_record_follows_every_write_of_feature_names(org):
    group = FeatureGroupFactory(account=org.central, name="payments")
    assert _pairs(group) is None  # no features, no row

    FeatureFactory(feature_group=group, name="amount")  # one word: no pair (an empty row)
    assert _pairs(group) == set()
    FeatureFactory(feature_group=group, name="payment_amount_7d")
    assert _pairs(group) == {"amount payment", "7d amount", "7d payment"}

    Feature.objects.bulk_create([Feature(feature_group=group, name="Customer_Days_Since", type="String")])
    assert {"custom day", "custom sinc", "day sinc"} <= _pairs(group)

    Feature.objects.filter(feature_group=group, name="payment_amount_7d").update(name="refund_count")
    assert "amount payment" not in _pairs(group) and "count refund" in _pairs(group)

    Feature.objects.filter(feature_group=group, name="amount").update(description="Only metadata changed")
    assert "count refund" in _pairs(group)

    Feature.objects.filter(feature_group=group).exclude(name="amount").delete()
    assert _pairs(group) == set()  # the single-word name is left: nothing to pair

    group.delete()  # the row goes with the group (and its features' deletion)
    assert not FeatureNamePairs.objects.exists()


def test_the_pairs_query_holds_every_pair_of_the_words_and_only_for_queries_that_need_them_all():
    assert name_pairs_query("'payment' & 'amount'", ["'payment'", "'amount'"]) == "('amount payment') | '?'"
    assert name_pairs_query("'day' <-> 'sinc' & 'custom'", ["'day'", "'sinc'", "'custom'"]) == (
        "('custom day' & 'custom sinc' & 'day sinc') | '?'"
    )
    assert name_pairs_query("'it''s' & 'a\\\\b'", ["'it''s'", "'a\\\\b'"]) == "('a\\\\b it''s') | '?'"
    assert name_pairs_query("'payment' | 'amount'", ["'payment'", "'amount'"]) is None
    assert name_pairs_query("'payment' & !'amount'", ["'payment'", "'amount'"]) is None
    assert name_pairs_query("'payment' & 'payment'", ["'payment'", "'payment'"]) is None


def test_a_group_with_too_many_pairs_to_store_is_always_walked(org, data_scientist, monkeypatch):
    GrantFactory(owner_account=org.central, consumer_account=org.consumer, region="eu-west-1")
    group = FeatureGroupFactory(account=org.central, name="wide", region="eu-west-1")
    # 451 names of 10 distinct words: 20,295 distinct pairs, past the triggers' 20,000 cap.
    Feature.objects.bulk_create(
        Feature(feature_group=group, name="_".join(f"q{i:03d}{j}" for j in range(10)), type="String")
        for i in range(451)
    )
    FeatureFactory(feature_group=group, name="payment_amount")
    assert _pairs(group) == {"?"}  # what they store instead, which every pairs query accepts
    _form(monkeypatch, "walk")

    assert [f.name for f in features_search(user=data_scientist, query="payment amount").results] == ["payment_amount"]


@pytest.fixture
def catalogue(org):
    """Visible groups where the words sit in one name, in two different names, or not at all; a
    hidden and a deleted group with the pair; more matches than the candidate bound."""
    from django.utils import timezone

    GrantFactory(owner_account=org.central, consumer_account=org.consumer, region="eu-west-1")
    for i in range(130):
        group = FeatureGroupFactory(account=org.central, name=f"ledger_{i}", region="eu-west-1", popularity=i % 11)
        names = {
            0: ["payment_amount_sum", "payment_amount_max", "customer_count", "refund_amount", "Payment_Amount"],
            1: ["payment_count", "refund_amount", "customer_days_since"],  # both words, never in one name
            2: ["customer_age", "order_amount_payment_7d", "merchant_payment_amount"],
            3: ["days_since_customer_order", "session_count"],
        }[i % 4]
        Feature.objects.bulk_create(
            [
                Feature(feature_group=group, name=f"{name}_{i}" if name != "Payment_Amount" else name, type="Integral")
                for name in names
            ]
        )
    hidden = FeatureGroupFactory(account=org.unrelated, name="hidden", popularity=100)
    FeatureFactory(feature_group=hidden, name="payment_amount_hidden")
    gone = FeatureGroupFactory(account=org.central, name="gone", popularity=100, deleted_at=timezone.now())
    FeatureFactory(feature_group=gone, name="payment_amount_gone")


@pytest.mark.parametrize(
    ("query", "facets"),
    [
        ("payment amount", {}),
        ("amount payment", {"feature_type": ("Integral",)}),
        ("customer days since", {}),
        ('"days since"', {}),
        ("payment refund", {}),  # in one group each, never in one feature's name or text: nothing
        ("customer age", {"region": ("eu-west-1",)}),
    ],
)
def test_the_pairs_forms_find_what_the_name_tier_finds(data_scientist, catalogue, monkeypatch, query, facets):
    monkeypatch.setattr(search, "FEATURE_CANDIDATES", 40)  # more matches than the bound
    found = {}
    for form in (None, "walk", "lookup"):
        _form(monkeypatch, form)
        with CaptureQueriesContext(connection) as captured:
            results = features_search(user=data_scientist, query=query, facets=facets)
        statements = " ".join(q["sql"] for q in captured.captured_queries)
        assert ("p.pairs @@" in statements) == (form is not None)  # the candidate statement, not the estimate
        assert ("IS TRUE" in statements) == (form == "walk")
        found[form] = (
            [(f.feature_group.name, f.name) for f in results.results],
            results.count,
            results.capped,
            {k: [(v.value, v.count) for v in values] for k, values in results.facets.items()},
        )
        page_2 = features_search(user=data_scientist, query=query, facets=facets, page=2)
        found[form] += ([f.name for f in page_2.results],)
    assert found["walk"] == found[None]
    assert found["lookup"] == found[None]
    names = [name for _, name in found[None][0]]
    assert bool(names) == (query != "payment refund")
    assert not any(name.endswith(("_hidden", "_gone")) for name in names)


def test_a_feature_a_sync_adds_is_found_and_one_it_removes_is_not(aws_sandbox, monkeypatch):
    from catalog.services import sync as sync_services

    central = sandbox_owner_account(aws_sandbox.url, account_id=CENTRAL, name="central-feature-store")
    user = UserFactory(username="owen")
    MembershipFactory(user=user, account=central)

    def run_sync():
        (run,) = sync_services.sync_request(account=central, region="eu-west-1")
        return sync_services.sync_run_execute(run_uuid=str(run.uuid))

    def found(query):
        _form(monkeypatch, "walk")
        walked = [f.name for f in features_search(user=user, query=query).results]
        _form(monkeypatch, "lookup")
        assert [f.name for f in features_search(user=user, query=query).results] == walked
        return walked

    sandbox_feature_group(aws_sandbox.url, CENTRAL, "payments", features=3)
    run_sync()
    assert found("payment amount") == []

    sm = sandbox_client(aws_sandbox.url, CENTRAL)
    sm.update_feature_group(
        FeatureGroupName="payments",
        FeatureAdditions=[{"FeatureName": "payment_amount_total", "FeatureType": "Fractional"}],
    )
    run_sync()
    assert found("payment amount") == ["payment_amount_total"]
    assert found("amount total payment") == ["payment_amount_total"]

    # Recreated in AWS without it: the sync marks the group deleted, then rewrites its features.
    sm.delete_feature_group(FeatureGroupName="payments")
    run_sync()
    sandbox_feature_group(aws_sandbox.url, CENTRAL, "payments", features=4)
    run_sync()
    group = FeatureGroup.objects.get(name="payments")
    assert group.deleted_at is None and not group.features.filter(name="payment_amount_total").exists()
    assert found("payment amount") == []
    assert "amount payment" not in (_pairs(group) or set())


def _two_writers(group) -> None:
    """Two transactions each adding a name to `group`, the second while the first is uncommitted;
    the second must wait for the first to commit."""
    import threading
    import time

    from django.db import connections, transaction

    second_done = threading.Event()

    def second_writer():
        try:
            with transaction.atomic():
                FeatureFactory(feature_group=group, name="customer_count")
        finally:
            connections.close_all()
            second_done.set()

    with transaction.atomic():
        FeatureFactory(feature_group=group, name="payment_amount")
        thread = threading.Thread(target=second_writer)
        thread.start()
        time.sleep(0.5)  # the second writer's trigger runs while this one is uncommitted
        assert not second_done.is_set()  # it waits for this writer to commit
    thread.join(timeout=30)
    assert second_done.is_set()


@pytest.mark.django_db(transaction=True)
def test_two_transactions_adding_names_to_one_group_keep_both_pairs(org):
    """Each writer recomputes the group from its own snapshot; without one writer at a time, the
    one committing second overwrote the first one's pairs with a set that missed them."""
    group = FeatureGroupFactory(account=org.central, name="payments")
    _two_writers(group)
    assert {"amount payment", "count custom"} <= _pairs(group)


@pytest.mark.django_db(transaction=True)
def test_two_transactions_adding_names_to_a_group_with_pairs_keep_both(org):
    """As above for a group whose record exists: the second writer waits on the record's row."""
    group = FeatureGroupFactory(account=org.central, name="payments")
    FeatureFactory(feature_group=group, name="refund_rate")
    _two_writers(group)
    assert {"rate refund", "amount payment", "count custom"} <= _pairs(group)


def test_one_statement_may_write_features_of_more_groups_than_postgresql_has_lock_slots(org):
    """A COPY of a catalogue or the cascade of an account's groups writes thousands of groups'
    features in one statement. Locking each group in PostgreSQL's shared lock table failed past
    max_locks_per_transaction × connections ("out of shared memory")."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_setting('max_locks_per_transaction')::int"
            " * (current_setting('max_connections')::int + current_setting('max_worker_processes')::int + 30)"
        )
        (slots,) = cursor.fetchone()
    count = 2 * slots  # the lock table takes a little more than its size (~1.3× here)
    template = FeatureFactory(feature_group=FeatureGroupFactory(account=org.central), name="template")
    _copies(FeatureGroup, template.feature_group_id, count, {"name": "'bulk_' || i", "arn": "'arn:bulk_' || i"})
    group_ids = list(FeatureGroup.objects.filter(name__startswith="bulk_").values_list("id", flat=True))
    # One statement: a feature named payment_amount in each of the new groups.
    _copies(Feature, template.pk, group_ids, {"feature_group_id": "i", "name": "'payment_amount'"})
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM catalog_featurenamepairs WHERE pairs = %s::tsvector", ["'amount payment'"])
        assert cursor.fetchone()[0] == count


def _copies(model, template_pk: int, ids, overrides: dict[str, str]) -> None:
    """One INSERT … SELECT of copies of a row, one per `i` (1..ids, or each of the ids given), with
    `overrides` as SQL expressions of `i`; a fresh uuid each (factories would take seconds)."""
    columns = [f.column for f in model._meta.concrete_fields if f.column != "id" and not f.generated]
    quote = connection.ops.quote_name
    values = [overrides.get(c, "gen_random_uuid()" if c == "uuid" else f"t.{quote(c)}") for c in columns]
    series = "generate_series(1, %s)" if isinstance(ids, int) else "unnest(%s::bigint[])"
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {model._meta.db_table} ({', '.join(quote(c) for c in columns)})"
            f" SELECT {', '.join(values)} FROM {model._meta.db_table} t, {series} AS i WHERE t.id = %s",
            [ids, template_pk],
        )


@pytest.mark.django_db(transaction=True)
def test_names_added_to_a_group_another_transaction_is_still_creating_get_their_pairs(org):
    """Foreign keys are checked at commit, so features can go into a group whose creator has not
    committed yet. The group's record must still be written: its row was once made only for the
    groups the writer's snapshot showed, and a multi-word search then hid the features."""
    import threading

    from django.db import connections, transaction

    created, release, box = threading.Event(), threading.Event(), {}

    def creator():
        try:
            with transaction.atomic():
                box["id"] = FeatureGroupFactory(account=org.central, name="payments").pk
                created.set()
                release.wait(10)
        finally:
            connections.close_all()

    thread = threading.Thread(target=creator)
    thread.start()
    assert created.wait(10)
    with transaction.atomic():
        Feature.objects.bulk_create([Feature(feature_group_id=box["id"], name="payment_amount", type="String")])
        release.set()
        thread.join(20)  # the group commits before the features do
    assert _pairs(FeatureGroup.objects.get(pk=box["id"])) == {"amount payment"}
