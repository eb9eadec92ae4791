"""Delivering records to trails: routing, log file keys, gzip, digest files, S3 writes.

Runs inside the sandbox process (it reads moto's CloudTrail, Organizations and S3 backends
directly, as the CloudTrail service reads its own configuration). Keys follow the user guide:

* log file   ``[prefix/]AWSLogs/[o-ORGID/]ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/``
  ``ACCOUNT_CloudTrail_REGION_YYYYMMDDTHHmmZ_UNIQUESTRING.json.gz`` -- the date and time are
  the *delivery* time, so a file can hold events from an earlier hour or day;
* digest     ``[prefix/]AWSLogs/[o-ORGID/]ACCOUNT/CloudTrail-Digest/REGION/YYYY/MM/DD/``
  ``ACCOUNT_CloudTrail-Digest_REGION_TRAILNAME_HOMEREGION_YYYYMMDDTHHmmssZ.json.gz``.

Log files are gzipped compact JSON ``{"Records":[...]}`` stored with ``Content-Type:
application/json`` and ``Content-Encoding: gzip``; digest files chain hourly with SHA-256
hashes of the uncompressed log files and an RSA (SHA256withRSA) signature in the
``x-amz-meta-signature`` metadata.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import json
import random
import string
import threading
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from .records import iso
from .selectors import Predicate, compile_trail

UNIQUE_ALPHABET = string.ascii_letters + string.digits
DEFAULT_GZIP_LEVEL = 6
_key_lock = threading.Lock()
_signing_key: Any = None


def unique_string(rng: random.Random) -> str:
    """The 16-character ``UniqueString`` of a log file name (meaningless by design)."""
    return "".join(rng.choices(UNIQUE_ALPHABET, k=16))


def encode_records(records: list[dict[str, Any]]) -> bytes:
    return json.dumps({"Records": records}, separators=(",", ":"), ensure_ascii=False).encode()


def gzip_bytes(raw: bytes, when: dt.datetime, level: int = DEFAULT_GZIP_LEVEL) -> bytes:
    return gzip.compress(raw, compresslevel=level, mtime=int(when.timestamp()))


# --------------------------------------------------------------------------- trails


@dataclass
class Trail:
    """A trail as the delivery side sees it (read from moto's CloudTrail backend)."""

    name: str
    arn: str
    account_id: str
    home_region: str
    bucket: str
    prefix: str
    organization_id: str | None
    multi_region: bool
    logging: bool
    validation: bool
    members: frozenset[str]
    predicate: Predicate
    moto_trail: Any = None

    def covers(self, account_id: str, region: str) -> bool:
        if not self.logging or account_id not in self.members:
            return False
        return self.multi_region or region == self.home_region

    def _root(self, account_id: str) -> str:
        head = f"{self.prefix.strip('/')}/" if self.prefix else ""
        org = f"{self.organization_id}/" if self.organization_id else ""
        return f"{head}AWSLogs/{org}{account_id}"

    def log_prefix(self, account_id: str, region: str, day: dt.date | None = None) -> str:
        base = f"{self._root(account_id)}/CloudTrail/{region}/"
        return base + (f"{day:%Y/%m/%d}/" if day else "")

    def log_key(self, account_id: str, region: str, delivered_at: dt.datetime, unique: str) -> str:
        at = delivered_at.astimezone(dt.UTC)
        return (
            f"{self.log_prefix(account_id, region, at.date())}"
            f"{account_id}_CloudTrail_{region}_{at:%Y%m%dT%H%MZ}_{unique}.json.gz"
        )

    def digest_key(self, account_id: str, region: str, end: dt.datetime) -> str:
        at = end.astimezone(dt.UTC)
        return (
            f"{self._root(account_id)}/CloudTrail-Digest/{region}/{at:%Y/%m/%d}/"
            f"{account_id}_CloudTrail-Digest_{region}_{self.name}_{self.home_region}_{at:%Y%m%dT%H%M%SZ}.json.gz"
        )


def organization_of(account_id: str) -> tuple[str | None, frozenset[str]]:
    """``(organization id, member account ids)`` of the account's organisation in moto."""
    from moto.organizations.models import organizations_backends

    try:
        backend = organizations_backends[account_id]["aws"]
        if backend.org is None:
            master = organizations_backends.master_accounts.get(account_id)
            if not master:
                return None, frozenset()
            backend = organizations_backends[master[0]][master[1]]
        if backend.org is None:
            return None, frozenset()
        return backend.org.id, frozenset(a.id for a in backend.accounts if a.status == "ACTIVE")
    except KeyError:
        return None, frozenset()


def load_trails() -> list[Trail]:
    """Every trail of every account in moto, with its selectors compiled."""
    from moto.cloudtrail.models import cloudtrail_backends

    trails: list[Trail] = []
    for account_id, regions in list(cloudtrail_backends.items()):
        for region, backend in list(regions.items()):
            for moto_trail in list(backend.trails.values()):
                if moto_trail.region_name != region:
                    continue
                org_id, members = (None, frozenset())
                if moto_trail.is_org_trail:
                    org_id, members = organization_of(account_id)
                if not members:
                    members = frozenset({account_id})
                trails.append(
                    Trail(
                        name=moto_trail.trail_name,
                        arn=moto_trail.arn,
                        account_id=account_id,
                        home_region=moto_trail.region_name,
                        bucket=moto_trail.bucket_name,
                        prefix=moto_trail.s3_key_prefix or "",
                        organization_id=org_id if moto_trail.is_org_trail else None,
                        multi_region=bool(moto_trail.is_multi_region),
                        logging=bool(moto_trail.status.is_logging),
                        validation=bool(moto_trail.log_validation),
                        members=members,
                        predicate=compile_trail(moto_trail.event_selectors, moto_trail.advanced_event_selectors),
                        moto_trail=moto_trail,
                    )
                )
    return sorted(trails, key=lambda t: t.arn)


Stream = tuple[str, str, str]  # (trail arn, account, region)


def route(records: Iterable[dict[str, Any]], trails: list[Trail]) -> dict[Stream, list[dict[str, Any]]]:
    """Which trail receives which record, per recipient account and region."""
    streams: dict[Stream, list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        account, region = record["recipientAccountId"], record["awsRegion"]
        for trail in trails:
            if trail.covers(account, region) and trail.predicate(record):
                streams[(trail.arn, account, region)].append(record)
    return streams


# --------------------------------------------------------------------------- S3


class MotoSink:
    """Writes objects straight into moto's S3 backend (the sandbox process is "AWS")."""

    def put(
        self,
        bucket: str,
        key: str,
        body: bytes,
        *,
        last_modified: dt.datetime | None = None,
        metadata: dict[str, str] | None = None,
        content_type: str = "application/json",
        content_encoding: str | None = "gzip",
    ) -> None:
        from moto.s3.models import s3_backends

        partition, owner = s3_backends.bucket_accounts[bucket]
        backend = s3_backends[owner][partition]
        fake_key = backend.put_object(bucket, key, body, encryption="AES256", disable_notification=True)
        meta = {"Content-Type": content_type}
        if content_encoding:
            meta["Content-Encoding"] = content_encoding
        for name, value in (metadata or {}).items():
            meta[f"x-amz-meta-{name}"] = value
        fake_key.set_metadata(meta)
        if last_modified is not None:
            fake_key.last_modified = last_modified.astimezone(dt.UTC).replace(tzinfo=None)

    def exists(self, bucket: str) -> bool:
        from moto.s3.models import s3_backends

        return bucket in s3_backends.bucket_accounts


# --------------------------------------------------------------------------- files


@dataclass
class LogFile:
    bucket: str
    key: str
    records: int
    sha256: str
    oldest: str | None
    newest: str | None
    delivered_at: dt.datetime
    size: int

    def digest_entry(self) -> dict[str, Any]:
        return {
            "s3Bucket": self.bucket,
            "s3Object": self.key,
            "hashValue": self.sha256,
            "hashAlgorithm": "SHA-256",
            "newestEventTime": self.newest,
            "oldestEventTime": self.oldest,
        }


def write_log_file(
    sink: MotoSink,
    trail: Trail,
    account_id: str,
    region: str,
    records: list[dict[str, Any]],
    delivered_at: dt.datetime,
    rng: random.Random,
    *,
    level: int = DEFAULT_GZIP_LEVEL,
) -> LogFile:
    raw = encode_records(records)
    body = gzip_bytes(raw, delivered_at, level)
    key = trail.log_key(account_id, region, delivered_at, unique_string(rng))
    sink.put(trail.bucket, key, body, last_modified=delivered_at)
    times = [r.get("eventTime") for r in records if isinstance(r.get("eventTime"), str)]
    return LogFile(
        bucket=trail.bucket,
        key=key,
        records=len(records),
        sha256=hashlib.sha256(raw).hexdigest(),
        oldest=min(times) if times else None,
        newest=max(times) if times else None,
        delivered_at=delivered_at,
        size=len(body),
    )


# --------------------------------------------------------------------------- digests


def signing_key() -> Any:
    """The sandbox's digest-signing RSA key (one per process, as AWS has one per region)."""
    global _signing_key
    with _key_lock:
        if _signing_key is None:
            from cryptography.hazmat.primitives.asymmetric import rsa

            _signing_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return _signing_key


def public_key_der() -> bytes:
    from cryptography.hazmat.primitives import serialization

    return signing_key().public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1)


def public_key_fingerprint() -> str:
    return hashlib.md5(public_key_der()).hexdigest()  # noqa: S324 -- a fingerprint, as AWS's


def sign(data: bytes) -> str:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    return signing_key().sign(data, padding.PKCS1v15(), hashes.SHA256()).hex()


@dataclass
class DigestChain:
    """Hourly digest files of one (trail, account, region): hashes of what was delivered."""

    trail: Trail
    account_id: str
    region: str
    pending: list[LogFile] = field(default_factory=list)
    previous_key: str | None = None
    previous_hash: str | None = None
    previous_signature: str | None = None
    last_end: dt.datetime | None = None

    def add(self, log_file: LogFile) -> None:
        self.pending.append(log_file)

    def restart(self, last_end: dt.datetime) -> None:
        """Break the chain: the next digest is a starting digest (no previous digest fields)."""
        self.previous_key = self.previous_hash = self.previous_signature = None
        self.pending = [f for f in self.pending if f.delivered_at >= last_end]
        self.last_end = last_end

    def emit(self, sink: MotoSink, end: dt.datetime) -> str:
        """Write the digest for the hour ending at ``end``; returns its key."""
        start = self.last_end or end - dt.timedelta(hours=1)
        included = [f for f in self.pending if f.delivered_at < end]
        self.pending = [f for f in self.pending if f.delivered_at >= end]
        key = self.trail.digest_key(self.account_id, self.region, end)
        newest = max((f.newest for f in included if f.newest), default=None)
        oldest = min((f.oldest for f in included if f.oldest), default=None)
        document = {
            "awsAccountId": self.account_id,
            "digestStartTime": iso(start),
            "digestEndTime": iso(end),
            "digestS3Bucket": self.trail.bucket,
            "digestS3Object": key,
            "digestPublicKeyFingerprint": public_key_fingerprint(),
            "digestSignatureAlgorithm": "SHA256withRSA",
            "newestEventTime": newest,
            "oldestEventTime": oldest,
            "previousDigestS3Bucket": self.trail.bucket if self.previous_key else None,
            "previousDigestS3Object": self.previous_key,
            "previousDigestHashValue": self.previous_hash,
            "previousDigestHashAlgorithm": "SHA-256" if self.previous_key else None,
            "previousDigestSignature": self.previous_signature,
            "logFiles": [f.digest_entry() for f in included],
        }
        raw = json.dumps(document, separators=(",", ":")).encode()
        digest_hash = hashlib.sha256(raw).hexdigest()
        to_sign = f"{iso(end)}\n{self.trail.bucket}/{key}\n{digest_hash}\n{self.previous_signature or 'null'}"
        signature = sign(to_sign.encode())
        sink.put(
            self.trail.bucket,
            key,
            gzip_bytes(raw, end),
            last_modified=end,
            metadata={"signature": signature, "signature-algorithm": "SHA256withRSA"},
        )
        self.previous_key, self.previous_hash, self.previous_signature = key, digest_hash, signature
        self.last_end = end
        return key
