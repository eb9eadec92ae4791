"""Search's indexing lag, on demand.

AWS indexes a resource for ``Search`` some time after it changes. With a lag set
(``POST /_sandbox/search-lag``), feature metadata edited from then on stays searchable in its
previous version for that long; ``POST /_sandbox/search-lag/flush`` makes every pending edit
searchable at once. Describe calls always read the resource itself. Cleared by reset.
"""

from __future__ import annotations

import threading

_lock = threading.Lock()
_lag_seconds = 0.0


def set_lag(seconds: float) -> None:
    global _lag_seconds
    if seconds < 0:
        raise ValueError("seconds must be zero or more")
    with _lock:
        _lag_seconds = float(seconds)


def lag() -> float:
    with _lock:
        return _lag_seconds


def flush() -> None:
    """Make every feature-metadata edit still waiting out the lag searchable now."""
    from moto.sagemaker.models import sagemaker_backends

    for account in list(sagemaker_backends.values()):
        for backend in list(account.values()):
            for group in list(getattr(backend, "feature_groups", {}).values()):
                if hasattr(group, "flush_search_index"):
                    group.flush_search_index()


def reset() -> None:
    global _lag_seconds
    with _lock:
        _lag_seconds = 0.0
