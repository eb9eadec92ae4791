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
    before = gc.get_threshold()
    start = threading.Barrier(8)

    def ingest() -> None:
        start.wait()
        with services._rare_young_gc():
            pass

    threads = [threading.Thread(target=ingest) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert gc.get_threshold() == before
