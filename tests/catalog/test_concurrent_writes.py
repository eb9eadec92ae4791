"""Two syncs writing features at the same time never deadlock on shared words.

The typo-correction dictionary is filled by a trigger on every feature and
group insert; two transactions inserting the same words in opposite orders
used to wait on each other's uncommitted entries until PostgreSQL killed one.
"""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections, transaction

from catalog.models import Feature
from tests.factories import FeatureGroupFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_concurrent_transactions_inserting_the_same_new_words_in_opposite_orders_both_commit(org):
    first_group = FeatureGroupFactory(account=org.central, name="first_group")
    second_group = FeatureGroupFactory(account=org.team, name="second_group")
    halfway = threading.Barrier(2, timeout=20)
    errors: list[BaseException] = []

    def writer(group, names):
        try:
            with transaction.atomic():
                Feature.objects.create(feature_group=group, name=names[0], type="String")
                halfway.wait()  # both hold their first word, uncommitted
                Feature.objects.create(feature_group=group, name=names[1], type="String")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=writer, args=(first_group, ["zephyrine_count", "quokkaline_days"])),
        threading.Thread(target=writer, args=(second_group, ["quokkaline_ratio", "zephyrine_sum"])),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert (
        Feature.objects.filter(
            name__in=["zephyrine_count", "quokkaline_days", "quokkaline_ratio", "zephyrine_sum"]
        ).count()
        == 4
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT DISTINCT word FROM catalog_search_word WHERE word IN ('zephyrine', 'quokkaline')")
        assert sorted(row[0] for row in cursor.fetchall()) == ["quokkaline", "zephyrine"]
