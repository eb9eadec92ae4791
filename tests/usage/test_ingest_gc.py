"""While a process ingests, the cyclic GC's youngest generation runs less often; afterwards, as before."""

from __future__ import annotations

import gc
import threading

from usage import services


def test_overlapping_ingestions_put_the_thresholds_back_once_the_last_ends():
    before = gc.get_threshold()
    first, second = services._rare_young_gc(), services._rare_young_gc()
    first.__enter__()
    assert gc.get_threshold()[0] == max(before[0], services.INGEST_GC_YOUNG_THRESHOLD)
    second.__enter__()
    first.__exit__(None, None, None)
    assert gc.get_threshold()[0] == max(before[0], services.INGEST_GC_YOUNG_THRESHOLD)  # one still runs
    second.__exit__(None, None, None)
    assert gc.get_threshold() == before


def test_an_ingestion_that_fails_puts_them_back_too():
    before = gc.get_threshold()
    try:
        with services._rare_young_gc():
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert gc.get_threshold() == before


def test_threads_ingesting_at_once_leave_the_thresholds_as_they_found_them():
    """Eight threads enter one after another, all are inside at once, and they leave in the order
    they came: the first to leave is the one that raised the thresholds."""
    before = gc.get_threshold()
    count = 8
    entered = [threading.Event() for _ in range(count)]
    left = [threading.Event() for _ in range(count)]
    all_inside = threading.Barrier(count)

    def ingest(number: int) -> None:
        if number:
            entered[number - 1].wait(5)
        with services._rare_young_gc():
            entered[number].set()
            all_inside.wait(5)
            if number:
                left[number - 1].wait(5)
        left[number].set()

    threads = [threading.Thread(target=ingest, args=(number,)) for number in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert all(event.is_set() for event in left)
    assert gc.get_threshold() == before
