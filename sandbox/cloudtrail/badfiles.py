"""Log files an ingester must survive: each is written at a real CloudTrail key.

``KINDS`` maps each kind to what is wrong with it. :func:`build` returns the object's bytes
plus what a careful ingester should conclude (``valid_records``: how many records in it are
good enough to keep; ``None`` when the whole file is unreadable).
"""

from __future__ import annotations

import datetime as dt
import io
import json
import random
import zlib
from typing import Any

from . import records as R
from .delivery import encode_records, gzip_bytes

KINDS = {
    "corrupt-gzip": "gzip header, then bytes that are not a deflate stream (CRC and data errors)",
    "truncated-gzip": "a good log file cut off half-way (unexpected end of stream)",
    "not-gzip": "plain JSON stored under a .json.gz key",
    "empty": "a zero-byte object",
    "invalid-json": "gzip of JSON with a syntax error after the first records",
    "no-records": 'gzip of a JSON object without "Records"',
    "records-not-list": '"Records" is an object, not a list',
    "missing-fields": "records without eventID, eventTime, eventName, eventSource or userIdentity among good ones",
    "unknown-feature-group": "good records about a feature group no account has",
    "nul-bytes": "good JSON whose strings carry NUL characters (PostgreSQL text cannot hold them)",
    "deep-nesting": "requestParameters nested 100,000 levels deep (beyond any parser's recursion limit)",
    "huge": "a valid file far larger than a worker's memory (size_mb uncompressed, default 512)",
}
REQUIRED_FIELDS = ("eventVersion", "eventTime", "eventSource", "eventName", "eventID", "userIdentity", "awsRegion")


def _sample_calls(account: str, region: str, when: dt.datetime, rng: random.Random, count: int) -> list[dict[str, Any]]:
    group = R.FeatureGroupRef(
        arn=f"arn:aws:sagemaker:{region}:{account}:feature-group/badfile_probe_features",
        name="badfile_probe_features",
        account_id=account,
        region=region,
    )
    reader = R.Principal("AssumedRole", account, "badfile-probe-reader", session="probe", source_ip="198.51.100.7")
    out: list[dict[str, Any]] = []
    for i in range(count):
        call = R.feature_store_data_call(when - dt.timedelta(seconds=i), reader, "GetRecord", [group])
        out.extend(call.records(rng))
    return out


def build(
    kind: str,
    *,
    account: str,
    region: str,
    when: dt.datetime,
    rng: random.Random,
    size_mb: int = 512,
    group_arn: str | None = None,
) -> tuple[bytes, dict[str, Any]]:
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {sorted(KINDS)}")
    good = _sample_calls(account, region, when, rng, 4)
    info: dict[str, Any] = {"kind": kind, "problem": KINDS[kind], "records": len(good), "valid_records": None}
    if kind == "corrupt-gzip":
        return b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03" + rng.randbytes(2048), info
    if kind == "truncated-gzip":
        body = gzip_bytes(encode_records(good * 20), when)
        return body[: len(body) // 2], info
    if kind == "not-gzip":
        return encode_records(good), info
    if kind == "empty":
        info["records"] = 0
        return b"", info
    if kind == "invalid-json":
        raw = encode_records(good)[:-3] + b',{"eventVersion":"1.08",,}]}'
        return gzip_bytes(raw, when), info
    if kind == "no-records":
        info["records"] = 0
        return gzip_bytes(json.dumps({"LogFileValidation": "none", "Events": good}).encode(), when), info
    if kind == "records-not-list":
        return gzip_bytes(json.dumps({"Records": good[0]}).encode(), when), info
    if kind == "missing-fields":
        broken = []
        for field in ("eventID", "eventTime", "eventName", "eventSource", "userIdentity"):
            record = dict(rng.choice(good))
            record["eventID"] = R.new_uuid(rng)
            record.pop(field)
            broken.append(record)
        records = good + broken
        rng.shuffle(records)
        info.update(
            records=len(records),
            valid_records=len(good),
            missing=[f for f in REQUIRED_FIELDS if f != "eventVersion"][:5],
        )
        return gzip_bytes(encode_records(records), when), info
    if kind == "unknown-feature-group":
        arn = (
            group_arn or f"arn:aws:sagemaker:{region}:{account}:feature-group/no_such_group_{rng.randrange(10**6):06d}"
        )
        group = R.FeatureGroupRef.from_arn(arn)
        reader = R.Principal("AssumedRole", account, "badfile-probe-reader", session="probe", source_ip="198.51.100.7")
        records = [
            r
            for i in range(3)
            for r in R.feature_store_data_call(when - dt.timedelta(seconds=i), reader, "GetRecord", [group]).records(
                rng
            )
        ]
        info.update(records=len(records), valid_records=len(records), feature_group_arn=arn)
        return gzip_bytes(encode_records(records), when), info
    if kind == "nul-bytes":
        for record in good:
            record["userAgent"] = "Boto3/1.34\u0000injected"
            record["requestParameters"] = {"featureGroupName": "badfile_probe\u0000features"}
        info["valid_records"] = len(good)
        return gzip_bytes(encode_records(good), when), info
    if kind == "deep-nesting":
        depth = 100_000
        nested = '{"a":' * depth + "1" + "}" * depth
        record = json.dumps(good[0])[:-1] + ',"additionalEventData":' + nested + "}"
        raw = b'{"Records":[' + record.encode() + b"]}"
        info.update(records=1, depth=depth)
        return gzip_bytes(raw, when), info
    return _huge(good[0], when, size_mb, rng, info)


def _huge(
    template: dict[str, Any], when: dt.datetime, size_mb: int, rng: random.Random, info: dict
) -> tuple[bytes, dict]:
    """Stream-compress ``size_mb`` MB of distinct, valid records without holding them."""
    marker_id, marker_time = "00000000-0000-4000-8000-000000000000", "2000-01-01T00:00:00Z"
    record = dict(template, eventID=marker_id, eventTime=marker_time)
    text = json.dumps(record, separators=(",", ":"))
    head, rest = text.split(marker_time, 1)
    middle, tail = rest.split(marker_id, 1)
    target = size_mb * 1024 * 1024
    out = io.BytesIO()
    compressor = zlib.compressobj(1, zlib.DEFLATED, 31)  # gzip container, fastest level
    out.write(compressor.compress(b'{"Records":['))
    written, count = 12, 0
    base = when.replace(microsecond=0)
    chunk: list[str] = []
    while written < target:
        stamp = R.iso(base - dt.timedelta(seconds=count % 3600))
        piece = ("," if count else "") + head + stamp + middle + R.new_uuid(rng) + tail
        chunk.append(piece)
        written += len(piece)
        count += 1
        if len(chunk) >= 2000:
            out.write(compressor.compress("".join(chunk).encode()))
            chunk.clear()
    out.write(compressor.compress(("".join(chunk) + "]}").encode()))
    out.write(compressor.flush())
    info.update(records=count, valid_records=count, uncompressed_bytes=written + 2)
    return out.getvalue(), info
