"""Fast synthetic CloudTrail files for the ingestion benchmark.

``python -m sandbox cloudtrail-synth --events 2000000 --days 30 --fs-share 0.3 --endpoint URL``

Writes exactly ``--events`` records in 5-minute log files per account and region over
``--days`` days (ending now), as an organisation trail delivers them
(``AWSLogs/o-ORG/ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/…json.gz``). ``--fs-share`` of the
records are Feature Store events (GetRecord, BatchGetRecord, PutRecord, DeleteRecord,
DescribeFeatureGroup, DescribeFeatureMetadata, UpdateFeatureMetadata, Search over
FeatureGroup / FeatureMetadata), some of them cross-account pairs (one record in the
caller's file, one in the owner's, sharing a ``sharedEventID``) and ~1% denied; the rest is
noise an ingester must skip (S3 and Lambda data events, KMS, STS, EC2, CloudWatch Logs,
DynamoDB, SSM, Secrets Manager, ECR, Glue, Athena, ELB and non-Feature Store SageMaker calls).
The report (``--json``) gives the exact counts by construction: records, Feature Store
records and calls, cross-account pairs, denied records, per operation, files and bytes.

Speed: records are rendered from pre-serialised templates (no ``json.dumps`` per record), gzip
level 1 by default, generation runs in ``--processes`` worker processes, and files are written
either inside the sandbox (``--mode sandbox``, the default against a sandbox: a control call,
no HTTP per file) or through the S3 API with boto3 in ``--threads`` threads (``--mode s3``,
which also works against real S3). Same seed, same arguments: same keys and bytes in both.
"""

from __future__ import annotations

import argparse
import bisect
import datetime as dt
import functools
import gzip
import itertools
import json
import math
import os
import random
import re
import sys
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any

from . import records as R

SLOT_MINUTES = 5
FS_OPERATIONS = {
    "GetRecord": 52,
    "BatchGetRecord": 14,
    "PutRecord": 12,
    "DeleteRecord": 1,
    "DescribeFeatureGroup": 7,
    "DescribeFeatureMetadata": 4,
    "UpdateFeatureMetadata": 1,
    "Search": 8,
    "GetRecord!denied": 1,
}
CROSS_ACCOUNT_OPS = {"GetRecord", "BatchGetRecord", "PutRecord", "DescribeFeatureGroup", "GetRecord!denied"}
HOUR_WEIGHTS = [3, 2, 2, 2, 2, 3, 5, 8, 11, 13, 14, 14, 13, 14, 14, 14, 13, 11, 9, 7, 6, 5, 4, 3]
DEFAULT_ORG = "o-pantrybench1"
DEFAULT_BUCKET = "pantry-cloudtrail-bench"
SYNTH_ACCOUNT = "202020202020"  # the bucket's account (log archive) in sandbox mode


# --------------------------------------------------------------------------- templates


class Template:
    """A record's JSON with holes, filled with ``str.format_map`` (C speed, no JSON encoding)."""

    # Identity holes take raw JSON (an object); every other hole is text inside a JSON string.
    _HOLE = re.compile(r'"@@(IDENT|OWNERIDENT)@@"|@@([A-Z]+)@@')

    def __init__(self, record: dict[str, Any]) -> None:
        text = json.dumps(record, separators=(",", ":")).replace("{", "{{").replace("}", "}}")
        self.names = {m.group(1) or m.group(2) for m in self._HOLE.finditer(text)}
        self.text = self._HOLE.sub(lambda m: "{" + (m.group(1) or m.group(2)) + "}", text)

    def render(self, values: dict[str, Any]) -> str:
        return self.text.format_map(values)


_T0 = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
_CALLER = R.Principal("AssumedRole", "@@CALLER@@", "synth", session="synth")
_GROUP = R.FeatureGroupRef(arn="@@FGARN@@", name="@@FGNAME@@", account_id="@@OWNER@@", region="@@REGION@@")
_OTHER = R.FeatureGroupRef(arn="@@FGARNB@@", name="@@FGNAMEB@@", account_id="@@OWNER@@", region="@@REGION@@")


def _holes(record: dict[str, Any], *, owner_copy: bool = False) -> dict[str, Any]:
    record = dict(record)
    record["eventTime"] = "@@TIME@@"
    record["eventID"] = "@@EID@@"
    record["requestID"] = "@@RID@@"
    record["userIdentity"] = "@@OWNERIDENT@@" if owner_copy else "@@IDENT@@"
    record["sourceIPAddress"] = "@@IP@@"
    record["userAgent"] = "@@UA@@"
    record["eventVersion"] = "@@VER@@"
    if "sharedEventID" in record:
        record["sharedEventID"] = "@@SHARED@@"
    return record


@functools.cache
def fs_templates(operation: str, cross: bool) -> tuple[Template, ...]:
    """Templates of a Feature Store call: (caller copy,) or (caller copy, owner copy)."""
    group = _GROUP if cross else R.FeatureGroupRef("@@FGARN@@", "@@FGNAME@@", "@@CALLER@@", "@@REGION@@")
    other = _OTHER if cross else R.FeatureGroupRef("@@FGARNB@@", "@@FGNAMEB@@", "@@CALLER@@", "@@REGION@@")
    name = operation.split("!")[0]
    error = ("AccessForbidden", "@@DENIED@@") if operation.endswith("!denied") else None
    if name in R.DATA_OPERATIONS:
        groups = [group, other] if name == "BatchGetRecord" else [group]
        call = R.feature_store_data_call(_T0, _CALLER, name, groups, error=error)
    elif name == "DescribeFeatureGroup":
        call = R.describe_feature_group(_T0, _CALLER, group)
    elif name == "DescribeFeatureMetadata":
        call = R.describe_feature_metadata(_T0, _CALLER, group, "@@FEATURE@@")
    elif name == "UpdateFeatureMetadata":
        call = R.update_feature_metadata(_T0, _CALLER, group, "@@FEATURE@@", description="@@TEXT@@")
    elif name == "Search":
        call = R.search(_T0, _CALLER, "@@REGION@@", "@@RESOURCE@@")
    else:
        raise ValueError(name)
    records = call.records(random.Random(0))
    return tuple(Template(_holes(r, owner_copy=i > 0)) for i, r in enumerate(records))


def _noise(source: str, name: str, request: dict, *, resources=None, category="Management", read_only=None, extra=None):
    call = R.Call(
        when=_T0,
        principal=_CALLER,
        event_source=source,
        event_name=name,
        region="@@REGION@@",
        request=request,
        resources=resources or [],
        category=category,
        host=f"{source.split('.')[0]}.@@REGION@@.amazonaws.com",
        read_only=read_only,
        additional=extra,
    )
    return Template(_holes(call.records(random.Random(0))[0]))


@functools.lru_cache(maxsize=1)
def noise_templates() -> list[tuple[int, str, Template]]:
    """(weight, name, template) of the other services' events an org trail is full of."""
    s3_obj = [
        {"type": "AWS::S3::Object", "ARN": "arn:aws:s3:::@@BUCKET@@/@@OBJ@@"},
        {"accountId": "@@CALLER@@", "type": "AWS::S3::Bucket", "ARN": "arn:aws:s3:::@@BUCKET@@"},
    ]
    s3_req = {"bucketName": "@@BUCKET@@", "Host": "@@BUCKET@@.s3.@@REGION@@.amazonaws.com", "key": "@@OBJ@@"}
    lambda_res = [{"accountId": "@@CALLER@@", "type": "AWS::Lambda::Function", "ARN": "@@FN@@"}]
    ddb_res = [{"accountId": "@@CALLER@@", "type": "AWS::DynamoDB::Table", "ARN": "@@TABLE@@"}]
    kms_res = [{"accountId": "@@CALLER@@", "type": "AWS::KMS::Key", "ARN": "@@KEY@@"}]
    return [
        (
            18,
            "s3:GetObject",
            _noise(
                "s3.amazonaws.com",
                "GetObject",
                s3_req,
                resources=s3_obj,
                category="Data",
                extra={"bytesTransferredIn": 0, "bytesTransferredOut": 48213, "x-amz-id-2": "@@RID@@"},
            ),
        ),
        (
            10,
            "s3:PutObject",
            _noise(
                "s3.amazonaws.com",
                "PutObject",
                s3_req,
                resources=s3_obj,
                category="Data",
                read_only=False,
                extra={"bytesTransferredIn": 9120, "bytesTransferredOut": 0},
            ),
        ),
        (
            3,
            "s3:ListObjects",
            _noise(
                "s3.amazonaws.com",
                "ListObjects",
                {"bucketName": "@@BUCKET@@", "prefix": "data/", "Host": "@@BUCKET@@.s3.@@REGION@@.amazonaws.com"},
                resources=s3_obj[1:],
                category="Data",
                read_only=True,
            ),
        ),
        (
            9,
            "kms:Decrypt",
            _noise(
                "kms.amazonaws.com",
                "Decrypt",
                {"encryptionAlgorithm": "SYMMETRIC_DEFAULT", "keyId": "@@KEY@@"},
                resources=kms_res,
            ),
        ),
        (
            6,
            "kms:GenerateDataKey",
            _noise(
                "kms.amazonaws.com",
                "GenerateDataKey",
                {"keySpec": "AES_256", "keyId": "@@KEY@@"},
                resources=kms_res,
                read_only=True,
            ),
        ),
        (
            8,
            "sts:AssumeRole",
            _noise(
                "sts.amazonaws.com",
                "AssumeRole",
                {"roleArn": "@@ROLE@@", "roleSessionName": "@@SESSION@@", "durationSeconds": 3600},
                resources=[{"accountId": "@@CALLER@@", "type": "AWS::IAM::Role", "ARN": "@@ROLE@@"}],
                read_only=True,
            ),
        ),
        (3, "sts:GetCallerIdentity", _noise("sts.amazonaws.com", "GetCallerIdentity", None)),
        (
            5,
            "ec2:DescribeInstances",
            _noise(
                "ec2.amazonaws.com",
                "DescribeInstances",
                {
                    "instancesSet": {},
                    "filterSet": {"items": [{"name": "tag:team", "valueSet": {"items": [{"value": "@@TEAM@@"}]}}]},
                },
            ),
        ),
        (
            3,
            "ec2:DescribeSecurityGroups",
            _noise("ec2.amazonaws.com", "DescribeSecurityGroups", {"securityGroupSet": {}, "filterSet": {}}),
        ),
        (
            5,
            "logs:CreateLogStream",
            _noise(
                "logs.amazonaws.com",
                "CreateLogStream",
                {"logGroupName": "/aws/lambda/@@FNNAME@@", "logStreamName": "@@TIMEDAY@@/[$LATEST]@@RID@@"},
                read_only=False,
            ),
        ),
        (
            5,
            "lambda:Invoke",
            _noise(
                "lambda.amazonaws.com",
                "Invoke",
                {"functionName": "@@FN@@", "invocationType": "RequestResponse"},
                resources=lambda_res,
                category="Data",
                read_only=False,
            ),
        ),
        (
            5,
            "dynamodb:GetItem",
            _noise(
                "dynamodb.amazonaws.com",
                "GetItem",
                {"tableName": "@@TABLENAME@@", "key": {"pk": "HIDDEN_DUE_TO_SECURITY_REASONS"}},
                resources=ddb_res,
                category="Data",
            ),
        ),
        (
            2,
            "dynamodb:Query",
            _noise(
                "dynamodb.amazonaws.com",
                "Query",
                {"tableName": "@@TABLENAME@@", "limit": 100},
                resources=ddb_res,
                category="Data",
            ),
        ),
        (
            3,
            "ssm:GetParameter",
            _noise("ssm.amazonaws.com", "GetParameter", {"name": "/@@TEAM@@/config/endpoint", "withDecryption": True}),
        ),
        (
            2,
            "secretsmanager:GetSecretValue",
            _noise("secretsmanager.amazonaws.com", "GetSecretValue", {"secretId": "@@TEAM@@/db-password"}),
        ),
        (
            2,
            "ecr:GetAuthorizationToken",
            _noise("ecr.amazonaws.com", "GetAuthorizationToken", {"registryIds": ["@@CALLER@@"]}),
        ),
        (
            3,
            "glue:GetTable",
            _noise(
                "glue.amazonaws.com", "GetTable", {"databaseName": "sagemaker_featurestore", "name": "@@TABLENAME@@"}
            ),
        ),
        (
            2,
            "athena:StartQueryExecution",
            _noise(
                "athena.amazonaws.com",
                "StartQueryExecution",
                {"queryString": "SELECT * FROM sagemaker_featurestore.@@TABLENAME@@ LIMIT 10", "workGroup": "primary"},
                read_only=False,
            ),
        ),
        (
            2,
            "elasticloadbalancing:DescribeTargetHealth",
            _noise("elasticloadbalancing.amazonaws.com", "DescribeTargetHealth", {"targetGroupArn": "@@TG@@"}),
        ),
        (
            2,
            "sagemaker:DescribeTrainingJob",
            _noise("sagemaker.amazonaws.com", "DescribeTrainingJob", {"trainingJobName": "@@JOB@@"}),
        ),
        (1, "sagemaker:ListEndpoints", _noise("sagemaker.amazonaws.com", "ListEndpoints", {"maxResults": 100})),
    ]


# --------------------------------------------------------------------------- plan


@dataclass
class Params:
    events: int = 2_000_000
    days: float = 30
    fs_share: float = 0.3
    cross_account: float = 0.25
    accounts: list[str] = field(default_factory=lambda: [f"9000000000{i:02d}" for i in range(4)])
    regions: list[str] = field(default_factory=lambda: ["eu-west-1"])
    groups: dict[str, list[str]] = field(default_factory=dict)  # account -> [group name]
    end: str = ""
    seed: int = 1
    organization_id: str = DEFAULT_ORG
    bucket: str = DEFAULT_BUCKET
    prefix: str = ""
    gzip_level: int = 1

    def end_time(self) -> dt.datetime:
        if self.end:
            end = dt.datetime.fromisoformat(self.end.replace("Z", "+00:00"))
        else:
            end = dt.datetime.now(dt.UTC)
        end = end.astimezone(dt.UTC).replace(second=0, microsecond=0)
        return end - dt.timedelta(minutes=end.minute % SLOT_MINUTES)


def _largest_remainder(total: int, weights: list[float]) -> list[int]:
    weight_sum = sum(weights)
    if total <= 0 or weight_sum <= 0:
        return [0] * len(weights)
    raw = [total * w / weight_sum for w in weights]
    out = [int(math.floor(x)) for x in raw]
    short = total - sum(out)
    order = sorted(range(len(raw)), key=lambda i: (-(raw[i] - out[i]), i))
    for i in order[:short]:
        out[i] += 1
    return out


def allocation(params: Params) -> tuple[list[dt.datetime], list[tuple[str, str]], list[list[int]], list[list[int]]]:
    """Slots, streams and the exact (records, Feature Store records) of every file."""
    end = params.end_time()
    count = int(params.days * 24 * 60 / SLOT_MINUTES)
    slots = [end - dt.timedelta(minutes=SLOT_MINUTES * (count - i)) for i in range(count)]
    streams = [(a, r) for a in params.accounts for r in params.regions]
    cells: list[float] = []
    for slot in slots:
        base = HOUR_WEIGHTS[slot.hour] * (0.45 if slot.weekday() >= 5 else 1.0)
        for a_index, _account in enumerate(params.accounts):
            for r_index, _region in enumerate(params.regions):
                cells.append(base / math.sqrt(a_index + 1) * (1.0 if r_index == 0 else 0.3))
    totals = _largest_remainder(params.events, cells)
    fs_totals = _largest_remainder(round(params.events * params.fs_share), [float(t) for t in totals])
    width = len(streams)
    rec = [totals[i * width : (i + 1) * width] for i in range(count)]
    fs = [fs_totals[i * width : (i + 1) * width] for i in range(count)]
    return slots, streams, rec, fs


# --------------------------------------------------------------------------- generation


@functools.cache
def _principals(account: str) -> list[R.Principal]:
    seed = int(account[-6:]) if account[-6:].isdigit() else 7
    return [
        R.Principal(
            "AssumedRole", account, f"scoring-service-{seed % 97:02d}", session=f"i-0{seed:016x}", session_hours=1
        ),
        R.Principal("AssumedRole", account, "batch-training", session="SageMaker", session_hours=1),
        R.Principal(
            "AssumedRole",
            account,
            f"AWSReservedSSO_DataScientist_{seed:016x}",
            session=f"analyst{seed % 10}@pantry.example",
            path="/aws-reserved/sso.amazonaws.com/eu-west-1/",
            session_hours=8,
        ),
        R.Principal("IAMUser", account, "svc-export"),
        R.Principal("FederatedUser", account, f"broker-user-{seed % 10}", issuer="federation-broker", session_hours=12),
    ]


@functools.lru_cache(maxsize=8192)
def _identity_json(principal: R.Principal, hour: dt.datetime) -> str:
    return json.dumps(principal.identity(hour + dt.timedelta(minutes=59)), separators=(",", ":"))


@functools.lru_cache(maxsize=1024)
def _owner_identity_json(principal: R.Principal) -> str:
    return json.dumps(principal.as_seen_by_other_account(), separators=(",", ":"))


VERSIONS = ("1.08", "1.09", "1.10", "1.11")
UAS = [
    "Boto3/1.34.90 md/Botocore#1.34.90 ua/2.0 os/linux#5.10.219 md/arch#x86_64 lang/python#3.11.9 md/pyimpl#CPython cfg/retry-mode#adaptive Botocore/1.34.90",
    "aws-sdk-java/2.25.40 Linux/5.10.219 OpenJDK_64-Bit_Server_VM/17.0.11+9-LTS Java/17.0.11 vendor/Amazon.com_Inc. io/sync http/Apache cfg/retry-mode/legacy",
    "aws-cli/2.15.40 Python/3.11.8 Linux/5.10.219 exe/x86_64.amzn.2 prompt/off command/s3.cp",
]


def _groups(params: Params, account: str) -> list[str]:
    return params.groups.get(account) or _default_groups(tuple(params.accounts), account)


@functools.cache
def _default_groups(accounts: tuple[str, ...], account: str) -> list[str]:
    """The names ``seed --groups 200 --accounts N`` gives each synthetic account."""
    return [f"bench_group_{i:05d}" for i in range(accounts.index(account), 200, len(accounts))]


def generate_slot(params: Params, slot_index: int, slot: dt.datetime, streams, rec_row, fs_row) -> tuple[list, Counter]:
    """The files of one five-minute slot: ``[(account, region, records_json_list)]`` and counts."""
    rng = random.Random(f"{params.seed}:{slot_index}")
    counts: Counter = Counter()
    out: dict[tuple[str, str], list[str]] = {s: [] for s in streams}
    fs_left = dict(zip(streams, fs_row, strict=True))
    noise_left = {s: r - f for s, r, f in zip(streams, rec_row, fs_row, strict=True)}
    fs_ops, fs_cum = list(FS_OPERATIONS), list(itertools.accumulate(FS_OPERATIONS.values()))
    noise = noise_templates()
    noise_cum = list(itertools.accumulate(w for w, _, _ in noise))
    hour = slot.replace(minute=0)
    day = slot.strftime("%Y/%m/%d")
    day_dash = slot.strftime("%Y-%m-%d")

    prefix = slot.strftime("%Y-%m-%dT%H:")
    identities: dict[str, list[tuple[R.Principal, str, str]]] = {}
    for account, _ in streams:
        if account not in identities:
            identities[account] = [(p, _identity_json(p, hour), _owner_identity_json(p)) for p in _principals(account)]

    rand = rng.random

    def common(account: str, region: str) -> dict[str, Any]:
        people = identities[account]
        principal, ident, owner_ident = people[int(rand() * len(people))]
        offset = int(rand() * SLOT_MINUTES * 60)
        return {
            "TIME": f"{prefix}{slot.minute + offset // 60:02d}:{offset % 60:02d}Z",
            "EID": R.new_uuid(rng),
            "RID": R.new_uuid(rng),
            "IDENT": ident,
            "OWNERIDENT": owner_ident,
            "IP": f"198.51.100.{1 + int(rand() * 254)}",
            "UA": UAS[int(rand() * len(UAS))],
            "VER": VERSIONS[int(rand() * 4)],
            "CALLER": account,
            "REGION": region,
            "_principal": principal,
        }

    for stream in streams:
        account, region = stream
        while fs_left[stream] > 0:
            op = fs_ops[bisect.bisect(fs_cum, rand() * fs_cum[-1])]
            partners = []
            if op in CROSS_ACCOUNT_OPS and rng.random() < params.cross_account:
                partners = [s for s in streams if s[1] == region and s[0] != account and fs_left[s] > 0]
            values = common(account, region)
            owner = rng.choice(partners)[0] if partners else account
            names = _groups(params, owner)
            name, other = rng.choice(names), rng.choice(names)
            values.update(
                OWNER=owner,
                FGNAME=name,
                FGARN=f"arn:aws:sagemaker:{region}:{owner}:feature-group/{name}",
                FGNAMEB=other,
                FGARNB=f"arn:aws:sagemaker:{region}:{owner}:feature-group/{other}",
                FEATURE=f"feature_{rng.randrange(40):04d}",
                TEXT="Reviewed for the quarterly model refresh.",
                RESOURCE=rng.choice(("FeatureGroup", "FeatureMetadata")),
                SHARED=R.new_uuid(rng),
                DENIED="",
            )
            if op.endswith("!denied"):
                principal = values["_principal"]
                values["DENIED"] = (
                    f"User: {principal.arn} is not authorized to perform: sagemaker:GetRecord on resource: "
                    f"{values['FGARN']} because no resource-based policy allows the sagemaker:GetRecord action"
                )
            if op == "BatchGetRecord" and name == other:
                op = "GetRecord"
            templates = fs_templates(op, bool(partners))
            out[stream].append(templates[0].render(values))
            fs_left[stream] -= 1
            counts[f"fs:{op.split('!')[0]}"] += 1
            counts["fs_records"] += 1
            counts["fs_calls"] += 1
            if op.endswith("!denied"):
                counts["denied_records"] += 1
            if partners:
                values["EID"] = R.new_uuid(rng)
                out[(owner, region)].append(templates[1].render(values))
                fs_left[(owner, region)] -= 1
                counts["fs_records"] += 1
                counts["cross_account_pairs"] += 1
                counts[f"fs:{op.split('!')[0]}"] += 1
                if op.endswith("!denied"):
                    counts["denied_records"] += 1
        for _ in range(noise_left[stream]):
            weight_index = bisect.bisect(noise_cum, rand() * noise_cum[-1])
            _, kind, template = noise[weight_index]
            values = common(account, region)
            n = int(rand() * 100000)
            names = template.names
            values["BUCKET"] = f"datalake-{account}-{region}"
            values["OBJ"] = f"data/dt={day_dash}/part-{n:05d}.parquet"
            values["ROLE"] = f"arn:aws:iam::{account}:role/service-role-{n % 40:02d}"
            values["SESSION"] = f"session-{n}"
            values["TEAM"] = f"team-{n % 7}"
            values["TIMEDAY"] = day
            values["FNNAME"] = f"handler-{n % 30:02d}"
            values["FN"] = f"arn:aws:lambda:{region}:{account}:function:handler-{n % 30:02d}"
            values["TABLENAME"] = f"table_{n % 25:02d}"
            values["TABLE"] = f"arn:aws:dynamodb:{region}:{account}:table/table_{n % 25:02d}"
            values["JOB"] = f"training-job-{n}"
            if "KEY" in names:
                values["KEY"] = f"arn:aws:kms:{region}:{account}:key/{R.new_uuid(rng)}"
            if "TG" in names:
                values["TG"] = f"arn:aws:elasticloadbalancing:{region}:{account}:targetgroup/tg-{n % 9}/{n:016x}"
            out[stream].append(template.render(values))
            counts[f"noise:{kind}"] += 1
            counts["noise_records"] += 1
    files = [(s[0], s[1], recs) for s, recs in out.items() if recs]
    counts["records"] = sum(len(r) for _, _, r in files)
    return files, counts


def _key(params: Params, account: str, region: str, stamp: dt.datetime, rng: random.Random) -> str:
    head = f"{params.prefix.strip('/')}/" if params.prefix else ""
    unique = "".join(rng.choices("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", k=16))
    return (
        f"{head}AWSLogs/{params.organization_id}/{account}/CloudTrail/{region}/{stamp:%Y/%m/%d}/"
        f"{account}_CloudTrail_{region}_{stamp:%Y%m%dT%H%MZ}_{unique}.json.gz"
    )


def build_chunk(params_dict: dict[str, Any], first: int, last: int) -> tuple[list[tuple[str, bytes]], Counter]:
    """Files (key, gzipped bytes) for slots ``first..last-1`` (runs in a worker process)."""
    params = Params(**params_dict)
    slots, streams, rec, fs = allocation_cached(json.dumps(params_dict, sort_keys=True))
    files: list[tuple[str, bytes]] = []
    total: Counter = Counter()
    for index in range(first, last):
        slot_files, counts = generate_slot(params, index, slots[index], streams, rec[index], fs[index])
        total.update(counts)
        key_rng = random.Random(f"{params.seed}:keys:{index}")
        for account, region, records in slot_files:
            stamp = slots[index] + dt.timedelta(minutes=SLOT_MINUTES, seconds=30 + key_rng.randrange(120))
            raw = ('{"Records":[' + ",".join(records) + "]}").encode()
            body = gzip.compress(raw, compresslevel=params.gzip_level, mtime=int(stamp.timestamp()))
            files.append((_key(params, account, region, stamp, key_rng), body))
            total["uncompressed_bytes"] += len(raw)
            total["bytes"] += len(body)
            total["files"] += 1
    return files, total


@functools.lru_cache(maxsize=2)
def allocation_cached(params_json: str):
    return allocation(Params(**json.loads(params_json)))


def run_generation(params: Params, put, *, processes: int = 2, chunk_slots: int = 48) -> dict[str, Any]:
    """Generate every file and hand each to ``put(key, body)``; returns the exact report."""
    started = time.monotonic()
    slots, streams, _, _ = allocation(params)
    chunks = [(i, min(i + chunk_slots, len(slots))) for i in range(0, len(slots), chunk_slots)]
    params_dict = asdict(params)
    total: Counter = Counter()
    first_key = last_key = None
    if processes > 1:
        import multiprocessing

        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=processes, mp_context=context) as pool:
            futures = [pool.submit(build_chunk, params_dict, a, b) for a, b in chunks]
            for future in futures:
                files, counts = future.result()
                for key, body in files:
                    put(key, body)
                    first_key = first_key or key
                    last_key = key
                total.update(counts)
    else:
        for a, b in chunks:
            files, counts = build_chunk(params_dict, a, b)
            for key, body in files:
                put(key, body)
                first_key = first_key or key
                last_key = key
            total.update(counts)
    seconds = time.monotonic() - started
    by_operation = {k[3:]: v for k, v in sorted(total.items()) if k.startswith("fs:")}
    noise = {k[6:]: v for k, v in sorted(total.items()) if k.startswith("noise:")}
    return {
        "records": total["records"],
        "feature_store_records": total["fs_records"],
        "feature_store_calls": total["fs_calls"],
        "cross_account_pairs": total["cross_account_pairs"],
        "denied_records": total["denied_records"],
        "noise_records": total["noise_records"],
        "feature_store_by_operation": by_operation,
        "noise_by_kind": noise,
        "files": total["files"],
        "bytes": total["bytes"],
        "uncompressed_bytes": total["uncompressed_bytes"],
        "seconds": round(seconds, 2),
        "records_per_second": round(total["records"] / seconds) if seconds else None,
        "bucket": params.bucket,
        "log_prefix": (f"{params.prefix.strip('/')}/" if params.prefix else "") + f"AWSLogs/{params.organization_id}/",
        "accounts": params.accounts,
        "regions": params.regions,
        "first_slot": slots[0].isoformat() if slots else None,
        "end": params.end_time().isoformat(),
        "first_key": first_key,
        "last_key": last_key,
        "gzip_level": params.gzip_level,
        "processes": processes,
    }


# --------------------------------------------------------------------------- writers


def write_in_sandbox(params: Params, *, processes: int = 2) -> dict[str, Any]:
    """Inside the sandbox process: files go straight into moto's S3 (no HTTP per file)."""
    from moto.s3.models import s3_backends

    from .delivery import MotoSink

    if params.bucket not in s3_backends.bucket_accounts:
        backend = s3_backends[SYNTH_ACCOUNT]["aws"]
        backend.create_bucket(params.bucket, params.regions[0])
    sink = MotoSink()
    report = run_generation(params, lambda key, body: sink.put(params.bucket, key, body), processes=processes)
    report["mode"] = "sandbox"
    return report


def write_through_s3(params: Params, endpoint_url: str | None, *, processes: int, threads: int) -> dict[str, Any]:
    """Through the S3 API with boto3 (PUTs in ``threads`` threads); works against real S3 too."""
    import boto3
    from botocore.config import Config
    from botocore.exceptions import ClientError

    client = boto3.client(
        "s3",
        endpoint_url=endpoint_url,
        region_name=params.regions[0],
        config=Config(max_pool_connections=threads * 2, retries={"max_attempts": 5, "mode": "adaptive"}),
    )
    try:
        client.head_bucket(Bucket=params.bucket)
    except ClientError:
        kwargs: dict[str, Any] = {"Bucket": params.bucket}
        if params.regions[0] != "us-east-1":
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": params.regions[0]}
        client.create_bucket(**kwargs)
    pool = ThreadPoolExecutor(max_workers=threads)
    pending = []

    def put(key: str, body: bytes) -> None:
        pending.append(
            pool.submit(
                client.put_object,
                Bucket=params.bucket,
                Key=key,
                Body=body,
                ContentType="application/json",
                ContentEncoding="gzip",
            )
        )
        if len(pending) > threads * 8:
            for future in pending[: threads * 4]:
                future.result()
            del pending[: threads * 4]

    report = run_generation(params, put, processes=processes)
    started = time.monotonic()
    for future in pending:
        future.result()
    pool.shutdown()
    report["seconds"] = round(report["seconds"] + time.monotonic() - started, 2)
    report["records_per_second"] = round(report["records"] / report["seconds"]) if report["seconds"] else None
    report["mode"] = "s3"
    return report


# --------------------------------------------------------------------------- command line


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--events", type=int, default=2_000_000, help="records to write, exactly")
    parser.add_argument("--days", type=float, default=30, help="spread over this many days, ending now")
    parser.add_argument("--fs-share", type=float, default=0.3, help="share of Feature Store records (0-1)")
    parser.add_argument(
        "--cross-account", type=float, default=0.25, help="share of Feature Store calls made cross-account"
    )
    parser.add_argument("--endpoint", default=os.environ.get("AWS_ENDPOINT_URL", "http://127.0.0.1:4566"))
    parser.add_argument(
        "--mode",
        choices=("sandbox", "s3"),
        default="sandbox",
        help="sandbox: written inside the sandbox (fast); s3: S3 PUTs via boto3",
    )
    parser.add_argument("--bucket", default=DEFAULT_BUCKET)
    parser.add_argument("--prefix", default="", help="trail S3 key prefix")
    parser.add_argument("--organization-id", default=DEFAULT_ORG)
    parser.add_argument("--accounts", type=int, default=4, help="synthetic accounts 900000000000… (as seed --groups)")
    parser.add_argument("--regions", default="eu-west-1", help="comma-separated")
    parser.add_argument("--manifest", help="a seed manifest: take accounts and feature groups from it")
    parser.add_argument("--end", default="", help="last slot's end (ISO 8601, default now)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--gzip-level", type=int, default=1)
    parser.add_argument("--processes", type=int, default=max(1, min(4, os.cpu_count() or 1)))
    parser.add_argument("--threads", type=int, default=8, help="S3 PUT threads (--mode s3)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")


def params_from_args(args: argparse.Namespace) -> Params:
    if not 0 <= args.fs_share <= 1 or not 0 <= args.cross_account <= 1:
        raise SystemExit("--fs-share and --cross-account are shares between 0 and 1")
    if args.events < 0 or args.days <= 0:
        raise SystemExit("--events must be >= 0 and --days > 0")
    params = Params(
        events=args.events,
        days=args.days,
        fs_share=args.fs_share,
        cross_account=args.cross_account,
        regions=[r.strip() for r in args.regions.split(",") if r.strip()],
        end=args.end,
        seed=args.seed,
        organization_id=args.organization_id,
        bucket=args.bucket,
        prefix=args.prefix,
        gzip_level=args.gzip_level,
    )
    if args.manifest:
        with open(args.manifest, encoding="utf-8") as fh:
            manifest = json.load(fh)
        groups: dict[str, list[str]] = {}
        for group in manifest.get("feature_groups", []):
            groups.setdefault(group["account_id"], []).append(group["name"])
        params.accounts = sorted(groups) or params.accounts
        params.groups = groups
    else:
        params.accounts = [f"9000000000{i:02d}" for i in range(args.accounts)]
    return params


def run(args: argparse.Namespace) -> int:
    params = params_from_args(args)
    if args.mode == "sandbox":
        from .. import control

        report = control.cloudtrail_synth(args.endpoint, asdict(params), processes=args.processes)
    else:
        report = write_through_s3(params, args.endpoint, processes=args.processes, threads=args.threads)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(
            f"{report['records']:,} records ({report['feature_store_records']:,} Feature Store, "
            f"{report['cross_account_pairs']:,} cross-account pairs, {report['denied_records']:,} denied) in "
            f"{report['files']:,} files, {report['bytes'] / 1e6:.1f} MB gzipped "
            f"({report['uncompressed_bytes'] / 1e6:.1f} MB JSON) in {report['seconds']} s = "
            f"{report['records_per_second']:,} records/s [{report['mode']}] -> s3://{report['bucket']}/{report['log_prefix']}",
            file=sys.stderr,
        )
    return 0
