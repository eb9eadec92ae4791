"""The sandbox's clock: real UTC time plus an adjustable offset.

Everything in the sandbox whose behaviour depends on time passing (RAM invitation expiry, RAM
timestamps) reads :func:`now`, so a test can move time forward with ``POST /_sandbox/clock``
instead of sleeping for 12 hours. The clock keeps ticking after it is moved: setting an absolute
time stores the difference to the real clock.
"""

from __future__ import annotations

import datetime as dt
import threading

_lock = threading.Lock()
_offset = dt.timedelta(0)


def _real_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def now() -> dt.datetime:
    """The sandbox's current time (timezone-aware UTC)."""
    with _lock:
        return _real_now() + _offset


def offset() -> dt.timedelta:
    with _lock:
        return _offset


def advance(seconds: float) -> dt.datetime:
    """Move the clock forward (or back, with a negative number) by ``seconds``."""
    global _offset
    with _lock:
        _offset += dt.timedelta(seconds=float(seconds))
        return _real_now() + _offset


def set_offset(seconds: float) -> dt.datetime:
    """Make the sandbox clock run ``seconds`` ahead of (or behind) the real clock."""
    global _offset
    with _lock:
        _offset = dt.timedelta(seconds=float(seconds))
        return _real_now() + _offset


def set_now(when: dt.datetime) -> dt.datetime:
    """Make the sandbox clock read ``when`` now (naive values are taken as UTC)."""
    global _offset
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    with _lock:
        _offset = when - _real_now()
        return _real_now() + _offset


def reset() -> None:
    global _offset
    with _lock:
        _offset = dt.timedelta(0)


def snapshot() -> dict:
    current = now()
    return {
        "now": current.isoformat().replace("+00:00", "Z"),
        "offset_seconds": round(offset().total_seconds(), 3),
    }


def parse(value: str) -> dt.datetime:
    """ISO 8601 (``Z`` or offset allowed) to an aware UTC datetime; ``ValueError`` if invalid."""
    parsed = dt.datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC)
