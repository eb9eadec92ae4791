"""Reading CloudTrail log files: gunzip in a stream, decode records, keep what Pantry counts.

No database and no AWS here: `read_log_file(chunks, context)` takes the object's bytes as they
come from S3 and returns the rows to stage (one per kept event and feature group), the file's
counts and notes, or raises `FileProblem` (the file is quarantined with that reason).

Speed: records are decoded by msgspec into Structs that name only the fields Pantry reads
(the rest is skipped in C); files whose JSON is larger than `max_buffer_bytes` are parsed
record by record with ijson instead, so a worker's memory is bounded whatever the file size.
"""

from __future__ import annotations

import datetime as dt
import re
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import ijson
import msgspec

from usage.operations import (
    DATA_OPERATIONS,
    KEPT_OPERATIONS_BY_SOURCE,
    RAM_SOURCE,
    SAGEMAKER_SOURCE,
    outcome_for,
)

FEATURE_GROUP_TYPE = "AWS::SageMaker::FeatureGroup"
# Uncompressed JSON held in memory before switching to the streaming parser.
DEFAULT_MAX_BUFFER_BYTES = 64 * 1024 * 1024
_DENIED_CALLER = re.compile(r"^User: (arn:aws[\w-]*:[\w-]+::\d{12}:\S+) is not authorized")
_ASSUMED_ROLE = re.compile(r"^arn:(aws[\w-]*):sts::(\d{12}):assumed-role/([^/]+)/(.*)$")
_SSO_ROLE_PREFIX = "AWSReservedSSO_"

# Columns of the staging rows, in order (see usage.services).
STAGE_COLUMNS = (
    "event_id",
    "shared_event_id",
    "event_time",
    "event_name",
    "event_source",
    "read_only",
    "outcome",
    "error_code",
    "error_message",
    "principal_arn",
    "principal_type",
    "principal_account_id",
    "source_ip",
    "owner_account_id",
    "consumer_account_id",
    "feature_group_arn",
    "region",
    "file_id",
)


class FileProblem(Exception):
    """The file cannot be read as a CloudTrail log file; the message says why."""


class NeedsStreaming(Exception):
    """The file's JSON outgrows the in-memory buffer and no row sink was given."""


# --------------------------------------------------------------------------- record schema

# gc=False: these Structs hold only strings, flags and lists of each other, never a cycle, so the
# cyclic garbage collector need not track them; tracked, the ~5 made per record set off its
# youngest-generation pass every ~2 files (half the GC time of a worker's pipeline, measured).


class _Issuer(msgspec.Struct, gc=False):
    arn: str = ""
    userName: str = ""  # noqa: N815 - CloudTrail's field names


class _SessionContext(msgspec.Struct, gc=False):
    sessionIssuer: _Issuer | None = None  # noqa: N815


class _Identity(msgspec.Struct, gc=False):
    type: str = ""
    principalId: str = ""  # noqa: N815
    arn: str = ""
    accountId: str = ""  # noqa: N815
    invokedBy: str = ""  # noqa: N815
    sessionContext: _SessionContext | None = None  # noqa: N815


class _Resource(msgspec.Struct, gc=False):
    ARN: str = ""  # noqa: N815
    type: str = ""


_NO_PARAMS = msgspec.Raw(b"null")


class _Record(msgspec.Struct, gc=False):
    eventID: str | None = None  # noqa: N815
    eventTime: str | None = None  # noqa: N815
    eventSource: str | None = None  # noqa: N815
    eventName: str | None = None  # noqa: N815
    awsRegion: str | None = None  # noqa: N815
    userIdentity: _Identity | None = None  # noqa: N815
    sourceIPAddress: str | None = None  # noqa: N815
    errorCode: str | None = None  # noqa: N815
    errorMessage: str | None = None  # noqa: N815
    readOnly: bool | None = None  # noqa: N815
    recipientAccountId: str | None = None  # noqa: N815
    sharedEventID: str | None = None  # noqa: N815
    resources: list[_Resource] | None = None
    # Decoded only for kept management events that carry no `resources`.
    requestParameters: msgspec.Raw = _NO_PARAMS  # noqa: N815


class _LogFile(msgspec.Struct, gc=False):
    Records: list[_Record]  # noqa: N815


_decoder = msgspec.json.Decoder(_LogFile)
_params_decoder = msgspec.json.Decoder(dict)


# --------------------------------------------------------------------------- context and result


@dataclass(frozen=True)
class IngestContext:
    """What deciding "keep and count this copy?" needs, loaded once per batch."""

    # Accounts whose own copies of their calls some enabled trail source delivers: a
    # cross-account call is counted on the caller's copy when the caller is covered, else on
    # the owner's copy (see docs/usage.md, "Counting each call once").
    covered_accounts: frozenset[str] = frozenset()
    # Pantry's own roles and session name: its sync and sharing calls are not usage.
    own_role_names: frozenset[str] = frozenset()
    own_session_names: frozenset[str] = frozenset()
    max_buffer_bytes: int = DEFAULT_MAX_BUFFER_BYTES


@dataclass
class FileResult:
    rows: list[tuple] = field(default_factory=list)
    events_total: int = 0
    events_kept: int = 0  # events (not rows: a BatchGetRecord on three groups is one event)
    skipped_incomplete: int = 0
    skipped_own: int = 0
    skipped_other_copy: int = 0
    streamed: bool = False

    @property
    def note(self) -> str:
        if self.skipped_incomplete:
            return (
                f"{self.skipped_incomplete} record(s) skipped: missing or malformed eventID, eventTime, "
                "eventName, eventSource, awsRegion or userIdentity"
            )
        return ""


# --------------------------------------------------------------------------- decompression


def _gunzip(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """Decompressed bytes of a gzip stream (several members allowed), chunk by chunk."""
    decompressor = zlib.decompressobj(31)
    seen_any = False
    try:
        for chunk in chunks:
            if not chunk:
                continue
            seen_any = True
            data = decompressor.decompress(chunk)
            while decompressor.eof and decompressor.unused_data:
                rest = decompressor.unused_data
                if data:
                    yield data
                decompressor = zlib.decompressobj(31)
                data = decompressor.decompress(rest)
            if data:
                yield data
        tail = decompressor.flush()
        if tail:
            yield tail
    except zlib.error as exc:
        text = str(exc)
        if "incorrect header check" in text or "unknown compression method" in text:
            raise FileProblem("not a gzip file") from exc
        raise FileProblem(f"corrupt gzip data ({text})") from exc
    if not seen_any:
        raise FileProblem("empty object (0 bytes)")
    if not decompressor.eof:
        raise FileProblem("truncated gzip file (unexpected end of stream)")


class _ChunkReader:
    """A read(n) file over an iterator of byte chunks, for ijson."""

    def __init__(self, head: list[bytes], rest: Iterator[bytes]) -> None:
        self._head = head
        self._rest = rest
        self._buffer = b""

    def read(self, size: int = -1) -> bytes:
        while size < 0 or len(self._buffer) < size:
            if self._head:
                self._buffer += self._head.pop(0)
                continue
            nxt = next(self._rest, None)
            if nxt is None:
                break
            self._buffer += nxt
        if size < 0:
            out, self._buffer = self._buffer, b""
        else:
            out, self._buffer = self._buffer[:size], self._buffer[size:]
        return out


# --------------------------------------------------------------------------- reading a file


def read_log_file(
    chunks: Iterable[bytes],
    context: IngestContext,
    *,
    file_id: int = 0,
    sink: Callable[[list[tuple]], None] | None = None,
) -> FileResult:
    """Rows to stage for one log file (see STAGE_COLUMNS), or `FileProblem`.

    A file whose JSON is larger than `context.max_buffer_bytes` is parsed record by record and
    its rows handed to `sink` in batches as they come (`NeedsStreaming` without a sink).
    """
    plain = _gunzip(chunks)
    head: list[bytes] = []
    size = 0
    for data in plain:
        head.append(data)
        size += len(data)
        if size > context.max_buffer_bytes:
            if sink is None:
                raise NeedsStreaming
            return _read_streaming(head, plain, context, file_id, sink)
    body = b"".join(head)
    del head
    if not body.strip():
        raise FileProblem("no JSON in the file")
    try:
        document = _decoder.decode(body)
    except msgspec.ValidationError as exc:
        raise FileProblem(f"not a CloudTrail log file: {_short(exc)}") from exc
    except msgspec.DecodeError as exc:
        raise FileProblem(f"invalid JSON: {_short(exc)}") from exc
    except RecursionError as exc:
        raise FileProblem("invalid JSON: nested deeper than any CloudTrail record") from exc
    result = FileResult()
    sanitize = b"\\u0000" in body
    _keep(document.Records, context, result, file_id, sanitize)
    return result


def _read_streaming(
    head: list[bytes],
    rest: Iterator[bytes],
    context: IngestContext,
    file_id: int,
    sink: Callable[[list[tuple]], None],
) -> FileResult:
    result = FileResult(streamed=True)
    reader = _ChunkReader(head, rest)
    batch: list[_Record] = []
    try:
        for item in ijson.items(reader, "Records.item", use_float=True):
            params = item.pop("requestParameters", None) if isinstance(item, dict) else None
            try:
                record = msgspec.convert(item, _Record, strict=False)
                if params is not None:
                    record = msgspec.structs.replace(record, requestParameters=msgspec.Raw(msgspec.json.encode(params)))
                batch.append(record)
            except (msgspec.ValidationError, TypeError):
                result.events_total += 1
                result.skipped_incomplete += 1
                continue
            if len(batch) >= 5000:
                _keep(batch, context, result, file_id, True)
                batch = []
                sink(result.rows)
                result.rows = []
    except ijson.JSONError as exc:
        raise FileProblem(f"invalid JSON: {_short(exc)}") from exc
    except RecursionError as exc:
        raise FileProblem("invalid JSON: nested deeper than any CloudTrail record") from exc
    _keep(batch, context, result, file_id, True)
    sink(result.rows)
    result.rows = []
    if result.events_total == 0:
        raise FileProblem('no "Records" list in the file')
    return result


def _short(exc: Exception) -> str:
    text = str(exc)
    return text if len(text) <= 300 else text[:297] + "…"


def _clean(value: str) -> str:
    return value.replace("\x00", "") if "\x00" in value else value


def _keep(records: list[_Record], ctx: IngestContext, result: FileResult, file_id: int, sanitize: bool) -> None:
    kept_ops = KEPT_OPERATIONS_BY_SOURCE
    covered = ctx.covered_accounts
    rows = result.rows
    result.events_total += len(records)
    for rec in records:
        ops = kept_ops.get(rec.eventSource)  # type: ignore[arg-type]
        if ops is None or rec.eventName not in ops:
            if rec.eventSource is None or rec.eventName is None:
                result.skipped_incomplete += 1
            continue
        event_id, event_time, ident, region = rec.eventID, rec.eventTime, rec.userIdentity, rec.awsRegion
        if (
            not event_id
            or len(event_id) != 36
            or not event_time
            or len(event_time) < 20
            or event_time[10] != "T"
            or ident is None
            or not region
        ):
            result.skipped_incomplete += 1
            continue
        if sanitize:
            rec = _sanitized(rec)
            ident = rec.userIdentity
        recipient = rec.recipientAccountId or ""
        caller = ident.accountId or recipient
        principal, role_name, session = _principal(ident, rec.errorMessage)
        if role_name in ctx.own_role_names or (session and session in ctx.own_session_names):
            result.skipped_own += 1
            continue
        name = rec.eventName
        source = "sagemaker" if rec.eventSource == SAGEMAKER_SOURCE else "ram"
        arns = _group_arns(rec, name, recipient, region)
        shared = rec.sharedEventID or ""
        outcome = outcome_for(rec.errorCode)
        read_only = bool(rec.readOnly)
        kept = False
        for arn in arns or ("",):
            owner = arn.split(":", 5)[4] if arn else recipient
            if shared and owner != caller:
                # One call, two copies (caller's and owner's): count exactly one of them.
                counted_side = caller if caller in covered else owner
                if recipient != counted_side:
                    continue
            rows.append(
                (
                    event_id,
                    shared or None,
                    event_time,
                    name,
                    source,
                    read_only,
                    outcome,
                    rec.errorCode or "",
                    rec.errorMessage or "",
                    principal,
                    ident.type,
                    ident.accountId,
                    rec.sourceIPAddress or "",
                    owner,
                    caller,
                    arn,
                    region,
                    file_id,
                )
            )
            kept = True
        if kept:
            result.events_kept += 1
        else:
            result.skipped_other_copy += 1


def _sanitized(rec: _Record) -> _Record:
    """PostgreSQL text cannot hold NUL: drop NUL characters from every string Pantry stores."""
    ident = rec.userIdentity
    if ident is not None:
        ident = msgspec.structs.replace(
            ident,
            type=_clean(ident.type),
            principalId=_clean(ident.principalId),
            arn=_clean(ident.arn),
            accountId=_clean(ident.accountId),
            invokedBy=_clean(ident.invokedBy),
        )
    return msgspec.structs.replace(
        rec,
        userIdentity=ident,
        errorCode=_clean(rec.errorCode or ""),
        errorMessage=_clean(rec.errorMessage or ""),
        sourceIPAddress=_clean(rec.sourceIPAddress or ""),
        awsRegion=_clean(rec.awsRegion or ""),
        recipientAccountId=_clean(rec.recipientAccountId or ""),
        resources=[msgspec.structs.replace(r, ARN=_clean(r.ARN)) for r in rec.resources or []],
        requestParameters=msgspec.Raw(bytes(rec.requestParameters).replace(b"\\u0000", b"")),
    )


def _principal(ident: _Identity, error_message: str | None) -> tuple[str, str, str]:
    """(principal as dashboards show it, IAM role name or "", session name or "").

    Roles are counted by role ARN (session names are per process or per run), except IAM
    Identity Center roles, whose session name is the person. The owner's copy of a
    cross-account call names the caller only by principalId, or by ARN in a denial message.
    """
    kind = ident.type
    if kind == "AssumedRole":
        session = ident.arn.rsplit("/", 1)[-1] if ident.arn else ident.principalId.partition(":")[2]
        issuer = ident.sessionContext.sessionIssuer if ident.sessionContext else None
        role_arn = issuer.arn if issuer and issuer.arn else ""
        role_name = role_arn.rsplit("/", 1)[-1] if role_arn else _role_of_assumed(ident.arn)
        if role_arn and not role_name.startswith(_SSO_ROLE_PREFIX):
            return role_arn, role_name, session
        return ident.arn or role_arn, role_name, session
    if kind == "AWSAccount":
        session = ident.principalId.partition(":")[2]
        match = _DENIED_CALLER.match(error_message or "")
        if match:
            arn = match.group(1)
            assumed = _ASSUMED_ROLE.match(arn)
            if assumed and not assumed.group(3).startswith(_SSO_ROLE_PREFIX):
                return (
                    f"arn:{assumed.group(1)}:iam::{assumed.group(2)}:role/{assumed.group(3)}",
                    assumed.group(3),
                    session,
                )
            return arn, assumed.group(3) if assumed else "", session
        return ident.principalId or ident.accountId, "", session
    if kind == "AWSService":
        return ident.invokedBy, "", ""
    return ident.arn or ident.principalId, "", ""


def _role_of_assumed(arn: str) -> str:
    match = _ASSUMED_ROLE.match(arn or "")
    return match.group(3) if match else ""


def _group_arns(rec: _Record, name: str, recipient: str, region: str) -> list[str]:
    """The feature groups an event is about: `resources`, else `featureGroupName` (an ARN, or a
    name in the recipient account and the event's region); RAM events: shared group ARNs."""
    arns = [r.ARN for r in rec.resources or () if r.type == FEATURE_GROUP_TYPE and r.ARN]
    if arns:
        return list(dict.fromkeys(arns))
    if len(rec.requestParameters) <= 4:  # absent or null
        return []
    try:
        params = _params_decoder.decode(rec.requestParameters)
    except msgspec.DecodeError:
        return []
    if rec.eventSource == RAM_SOURCE:
        values = params.get("resourceArns") or []
        return [a for a in values if isinstance(a, str) and ":feature-group/" in a]
    if name in DATA_OPERATIONS and isinstance(params.get("identifiers"), list):
        names = [i.get("featureGroupName") for i in params["identifiers"] if isinstance(i, dict)]
    else:
        names = [params.get("featureGroupName")]
    out = []
    for value in names:
        if not isinstance(value, str) or not value:
            continue
        out.append(value if value.startswith("arn:") else feature_group_arn(region, recipient, value))
    return list(dict.fromkeys(out))


def feature_group_arn(region: str, account_id: str, name: str) -> str:
    # SageMaker writes resource names in ARNs in lower case.
    return f"arn:aws:sagemaker:{region}:{account_id}:feature-group/{name.lower()}"


# --------------------------------------------------------------------------- keys

LOG_KEY = re.compile(
    r"(?P<account>\d{12})/CloudTrail/(?P<region>[a-z]{2}(?:-[a-z]+)+-\d)/(?P<y>\d{4})/(?P<m>\d{2})/(?P<d>\d{2})/"
    r"(?P=account)_CloudTrail_(?P=region)_(?P<stamp>\d{8}T\d{4}Z)_[A-Za-z0-9]+\.json\.gz$"
)


def parse_log_key(key: str) -> tuple[str, str, dt.datetime] | None:
    """(account, region, delivery time) of a CloudTrail log file key; None for anything else
    (digest files, CloudTrail Insights, stray objects)."""
    match = LOG_KEY.search(key)
    if not match:
        return None
    try:
        stamp = dt.datetime.strptime(match.group("stamp"), "%Y%m%dT%H%MZ").replace(tzinfo=dt.UTC)
    except ValueError:
        return None
    return match.group("account"), match.group("region"), stamp


def lookback_start_after(prefix: str, account: str, region: str, since: dt.datetime) -> str:
    """A StartAfter key that lists every log file of `prefix` delivered at or after `since`."""
    return f"{prefix}{since:%Y/%m/%d}/{account}_CloudTrail_{region}_{since:%Y%m%dT%H%M}"
