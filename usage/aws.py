"""Usage's S3 gateway: listing and streaming CloudTrail log files (the only boto3 user in usage).

Stands on `portal.aws` (sessions, error translation, call counting). Returns frozen
dataclasses and byte chunks; every botocore error leaves as an `portal.aws.AwsError`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

from portal.aws import AccountRole, AccountSession, CallCounter, Gateway, account_session, translate_error

# S3 returns at most 1,000 keys a page.
# https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html
LIST_PAGE_SIZE = 1000
CHUNK_BYTES = 1 << 20


@dataclass(frozen=True)
class S3Object:
    key: str
    size: int
    etag: str
    last_modified: dt.datetime | None


class TrailBucketGateway(Gateway):
    service = "s3"

    def child_prefixes(self, *, bucket: str, prefix: str) -> list[str]:
        """The "folders" directly under `prefix` (ListObjectsV2 with a "/" delimiter)."""
        out: list[str] = []
        for page in self._pages("ListObjectsV2", Bucket=bucket, Prefix=prefix, Delimiter="/"):
            out.extend(p["Prefix"] for p in page.get("CommonPrefixes", []))
        return out

    def objects(self, *, bucket: str, prefix: str, start_after: str = "") -> Iterator[S3Object]:
        """Objects under `prefix` in key order, after `start_after` (S3 lists keys in UTF-8 order)."""
        params = {"Bucket": bucket, "Prefix": prefix}
        if start_after:
            params["StartAfter"] = start_after
        for page in self._pages("ListObjectsV2", page_size=LIST_PAGE_SIZE, **params):
            for item in page.get("Contents", []):
                yield S3Object(
                    key=item["Key"],
                    size=int(item.get("Size", 0)),
                    etag=str(item.get("ETag", "")).strip('"'),
                    last_modified=item.get("LastModified"),
                )

    def object_chunks(self, *, bucket: str, key: str, chunk_bytes: int = CHUNK_BYTES) -> Iterator[bytes]:
        """The object's bytes as stored (still gzipped), a chunk at a time: memory stays bounded."""
        response = self._call("GetObject", Bucket=bucket, Key=key)
        body = response["Body"]
        try:
            while True:
                try:
                    chunk = body.read(chunk_bytes)
                except Exception as exc:  # noqa: BLE001 - translated, never swallowed
                    raise translate_error(exc, "GetObject") from exc
                if not chunk:
                    return
                yield chunk
        finally:
            body.close()


def trail_session(
    *, role_arn: str, external_id: str, region: str, counter: CallCounter | None = None
) -> AccountSession:
    """A session in the bucket's account through the trail source's reader role."""
    account_id = role_arn.split(":")[4] if role_arn.count(":") >= 5 else ""
    return account_session(AccountRole(account_id, role_arn, external_id), region, counter=counter)


def trail_bucket_gateway(*, role_arn: str, external_id: str, region: str) -> TrailBucketGateway:
    return TrailBucketGateway(trail_session(role_arn=role_arn, external_id=external_id, region=region))
