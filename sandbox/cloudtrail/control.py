"""Control-plane routes for CloudTrail (``/_sandbox/cloudtrail…``).

==========================================  ==================================================
``GET  cloudtrail``                          trails, log prefixes, live loop, counters
``POST cloudtrail/history``                  ``{"manifest", "days"=60, "now"?, "seed"?,
                                             "digest_hours"=48}`` -- seed the history
``POST cloudtrail/live``                     ``{"enabled", "interval_seconds"?, "manifest"?}``
``POST cloudtrail/tick``                     ``{"now"?}`` -- one live round, then deliver
``POST cloudtrail/flush``                    deliver recorded calls and held-back files now
``POST cloudtrail/events``                   ``{"calls": [spec…], "delivered_at"?}`` -- exact
                                             calls through the trails (both copies of a
                                             cross-account call), see ``call_from_spec``
``POST cloudtrail/files``                    ``{"records", "trail"?, "account"?, "region"?,
                                             "delivered_at"?}`` -- one file, verbatim
``POST cloudtrail/bad-files``                ``{"kind", "trail"?, "account"?, "region"?,
                                             "delivered_at"?, "size_mb"?}`` -- see ``KINDS``
``POST cloudtrail/synth``                   ``{"params", "processes"}`` -- the benchmark's writer
==========================================  ==================================================
"""

from __future__ import annotations

from typing import Any

from .service import SERVICE, parse_time


def handle(method: str, route: str, payload: dict[str, Any]) -> tuple[int, Any] | None:
    """``(status, body)`` for a CloudTrail control route, or ``None`` when the route is not ours."""
    action = route[len("cloudtrail") :].strip("/") if route.startswith("cloudtrail") else None
    if action is None:
        return None
    if action == "" and method == "GET":
        return 200, SERVICE.status()
    if method != "POST":
        return None
    if action == "history":
        days = int(payload.get("days", 60))
        if not 1 <= days <= 400:
            raise ValueError("days must be between 1 and 400")
        if not isinstance(payload["manifest"], dict):
            raise ValueError("manifest must be the seed's manifest object")
        summary = SERVICE.seed_history(
            payload["manifest"],
            days=days,
            now=parse_time(payload.get("now")),
            seed=int(payload.get("seed", 20240611)),
            digest_hours=int(payload.get("digest_hours", 48)),
        )
        return 200, summary
    if action == "live":
        SERVICE.set_live(
            enabled=bool(payload.get("enabled", True)),
            interval=payload.get("interval_seconds"),
            manifest=payload.get("manifest"),
        )
        return 200, SERVICE.status()["live"]
    if action == "tick":
        return 200, SERVICE.tick(parse_time(payload.get("now")))
    if action == "flush":
        files = SERVICE.flush(parse_time(payload.get("now")))
        return 200, {"files": [{"bucket": f.bucket, "key": f.key, "records": f.records} for f in files]}
    if action == "events":
        calls = payload["calls"]
        if not isinstance(calls, list) or not all(isinstance(c, dict) for c in calls):
            raise ValueError("calls must be a list of call objects")
        return 200, SERVICE.deliver_calls(calls, delivered_at=parse_time(payload.get("delivered_at")))
    if action == "files":
        records = payload["records"]
        if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
            raise ValueError("records must be a list of JSON objects")
        return 200, SERVICE.write_records(
            records,
            trail=payload.get("trail"),
            account=payload.get("account"),
            region=payload.get("region"),
            delivered_at=parse_time(payload.get("delivered_at")),
        )
    if action == "bad-files":
        if not 1 <= int(payload.get("size_mb", 512)) <= 4096:
            raise ValueError("size_mb must be between 1 and 4096")
        return 200, SERVICE.write_bad_file(
            str(payload["kind"]),
            trail=payload.get("trail"),
            account=payload.get("account"),
            region=payload.get("region"),
            delivered_at=parse_time(payload.get("delivered_at")),
            size_mb=int(payload.get("size_mb", 512)),
            group_arn=payload.get("feature_group_arn"),
        )
    if action == "synth":
        from .synth import Params, write_in_sandbox

        return 200, write_in_sandbox(Params(**payload["params"]), processes=int(payload.get("processes", 2)))
    return None
