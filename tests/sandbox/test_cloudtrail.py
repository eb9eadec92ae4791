"""CloudTrail in the sandbox: trails, log files in S3, the seeded history, live files, bad files.

Everything is read back the way an ingester reads it: boto3 over HTTP against the sandbox.
The module seeds the demo organisation and its 60-day history once (``history``), then
checks the files against the CloudTrail user guide and against the manifest's grants.
"""

from __future__ import annotations

import base64
import collections
import datetime as dt
import gzip
import hashlib
import json
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

from sandbox import PLATFORM_ACCOUNT_ID, control, seed
from sandbox.cloudtrail import history as history_module
from sandbox.cloudtrail import model as model_module
from sandbox.cloudtrail import synth, trails
from sandbox.cloudtrail.service import DEFAULT_INTERVAL

pytestmark = pytest.mark.xdist_group("cloudtrail")

NOW = dt.datetime(2025, 3, 14, 12, 0, tzinfo=dt.UTC)
ROOT = Path(__file__).resolve().parents[2]
LOG_KEY = re.compile(
    r"^(?:(?P<prefix>[\w-]+)/)?AWSLogs/(?:(?P<org>o-[a-z0-9]{10,32})/)?(?P<account>\d{12})/CloudTrail/"
    r"(?P<region>[a-z]{2}-[a-z]+-\d)/(?P<y>\d{4})/(?P<m>\d{2})/(?P<d>\d{2})/"
    r"(?P<account2>\d{12})_CloudTrail_(?P<region2>[a-z]{2}-[a-z]+-\d)_(?P<stamp>\d{8}T\d{4}Z)_[A-Za-z0-9]{16}\.json\.gz$"
)
DIGEST_KEY = re.compile(
    r"^(?:[\w-]+/)?AWSLogs/(?:o-[a-z0-9]{10,32}/)?(?P<account>\d{12})/CloudTrail-Digest/(?P<region>[a-z]{2}-[a-z]+-\d)/"
    r"\d{4}/\d{2}/\d{2}/(?P=account)_CloudTrail-Digest_(?P=region)_(?P<trail>[\w.-]+)_(?P<home>[a-z]{2}-[a-z]+-\d)_"
    r"\d{8}T\d{6}Z\.json\.gz$"
)
REQUIRED = (
    "eventVersion",
    "userIdentity",
    "eventTime",
    "eventSource",
    "eventName",
    "awsRegion",
    "sourceIPAddress",
    "userAgent",
    "requestParameters",
    "responseElements",
    "requestID",
    "eventID",
    "readOnly",
    "eventType",
    "managementEvent",
    "recipientAccountId",
    "eventCategory",
)
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
READS = {"GetRecord", "BatchGetRecord"}
DENIED = {"AccessDenied", "AccessDeniedException", "AccessForbidden"}
WRITES = {"PutRecord", "DeleteRecord"}
LEVEL = {"ReadOnly": 1, "ReadWrite": 2, "Admin": 3}


def s3_client(url: str, account: str = trails.LOG_ARCHIVE_ACCOUNT[0]):
    return seed.admin_client(url, "s3", account, "eu-west-1")


def list_keys(s3, bucket: str, prefix: str = "") -> list[str]:
    return [
        obj["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        for obj in page.get("Contents", [])
    ]


def download(s3, bucket: str, keys: list[str]) -> dict[str, bytes]:
    with ThreadPoolExecutor(max_workers=8) as pool:
        bodies = pool.map(lambda k: s3.get_object(Bucket=bucket, Key=k)["Body"].read(), keys)
        return dict(zip(keys, bodies, strict=True))


def records_of(body: bytes) -> list[dict]:
    document = json.loads(gzip.decompress(body))
    assert set(document) == {"Records"} and isinstance(document["Records"], list)
    return document["Records"]


class Org:
    """The seeded organisation, its trails and every log file of the history, parsed."""

    def __init__(self, url: str, manifest: dict) -> None:
        self.url = url
        self.manifest = manifest
        self.section = manifest["cloudtrail"]
        self.org_trail = next(t for t in self.section["trails"] if t["organization"])
        self.account_trail = next(t for t in self.section["trails"] if not t["organization"])
        self.s3 = s3_client(url)
        self.keys = list_keys(self.s3, self.org_trail["bucket"])
        self.account_s3 = s3_client(url, self.account_trail["account_id"])
        self.account_keys = list_keys(self.account_s3, self.account_trail["bucket"])
        self.log_keys = [k for k in self.keys if "/CloudTrail/" in k]
        self.bodies = download(self.s3, self.org_trail["bucket"], self.log_keys)
        self.bodies.update(download(self.account_s3, self.account_trail["bucket"], self.account_keys))
        self.files = {key: records_of(body) for key, body in self.bodies.items()}
        self.by_id: dict[str, dict] = {}
        self.file_of: dict[str, list[str]] = collections.defaultdict(list)
        for key, recs in self.files.items():
            for record in recs:
                self.by_id.setdefault(record["eventID"], record)
                self.file_of[record["eventID"]].append(key)
        self.grants = {(a["consumer_account"], a["arn"]): a["permission"] for a in manifest["access"]}
        self.groups = {g["arn"]: g for g in manifest["feature_groups"]}

    def s3_for(self, bucket: str):
        """A client of the account that owns `bucket`: S3 refuses other accounts without a bucket policy."""
        return self.account_s3 if bucket == self.account_trail["bucket"] else self.s3


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    """``python -m sandbox serve --seed`` in its own process, as ``make demo`` runs it.

    Its own process also lets the test download thousands of files while the server answers
    on the other core.
    """
    manifest_path = tmp_path_factory.mktemp("cloudtrail") / "manifest.json"
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sandbox",
            "serve",
            "--port",
            str(port),
            "--seed",
            "--manifest",
            str(manifest_path),
            "--cloudtrail-live",
            "0",
            "--cloudtrail-now",
            NOW.isoformat(),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = _wait_for_url(proc, timeout=900)
        manifest = json.loads(manifest_path.read_text())
        yield Org(url, manifest)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _wait_for_url(proc: subprocess.Popen, timeout: float) -> str:
    """The URL ``serve`` prints once seeding is done (stderr is drained so it never blocks)."""
    import threading

    errors: list[str] = []
    threading.Thread(target=lambda: errors.extend(proc.stderr), daemon=True).start()
    result: list[str] = []
    reader = threading.Thread(target=lambda: result.append(proc.stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    if not result or not result[0].startswith("http"):
        proc.kill()
        raise RuntimeError("the sandbox did not finish seeding:\n" + "".join(errors[-40:]))
    return result[0].strip()


# --------------------------------------------------------------------------- files in S3


def test_log_files_sit_where_cloudtrail_puts_them(history):
    org_id = history.section["organization_id"]
    organizations = seed.admin_client(
        history.url, "organizations", history.section["management_account_id"], "us-east-1"
    )
    assert organizations.describe_organization()["Organization"]["Id"] == org_id
    members = {a["Id"] for a in organizations.list_accounts()["Accounts"]}
    assert members == set(history.section["member_accounts"]) and trails.LOG_ARCHIVE_ACCOUNT[0] in members
    outsiders = {a["account_id"] for a in history.manifest["accounts"]} - members
    assert outsiders == {history.account_trail["account_id"]}  # fraud-research, the research partner

    assert len(history.log_keys) > 1000
    for key in history.log_keys:
        match = LOG_KEY.match(key)
        assert match, key
        assert match["org"] == org_id and match["prefix"] is None and match["account"] in members
        assert match["account"] == match["account2"] and match["region"] == match["region2"]
        assert match["stamp"].startswith(match["y"] + match["m"] + match["d"])  # dated by delivery
        recipients = {r["recipientAccountId"] for r in history.files[key]}
        regions = {r["awsRegion"] for r in history.files[key]}
        assert recipients == {match["account"]} and regions == {match["region"]}
    digests = [k for k in history.keys if "/CloudTrail-Digest/" in k]
    assert digests and all(DIGEST_KEY.match(k) and "_organization-trail_eu-west-1_" in k for k in digests)
    assert set(history.keys) == set(history.log_keys) | set(digests)

    # The outsider's account trail: its own bucket and key prefix, no digests (validation off).
    outsider = history.account_trail["account_id"]
    assert history.account_keys and all(
        k.startswith(f"audit/AWSLogs/{outsider}/CloudTrail/eu-west-1/") for k in history.account_keys
    )
    assert all(LOG_KEY.match(k)["org"] is None and LOG_KEY.match(k)["prefix"] == "audit" for k in history.account_keys)
    assert all(r["recipientAccountId"] == outsider for k in history.account_keys for r in history.files[k])

    head = history.s3.head_object(Bucket=history.org_trail["bucket"], Key=history.log_keys[0])
    assert head["ContentType"] == "application/json" and head["ContentEncoding"] == "gzip"
    assert head["ServerSideEncryption"] == "AES256"


def test_records_carry_the_documented_fields(history):
    identity_types = collections.Counter()
    for key, records in history.files.items():
        assert records, key
        for r in records:
            missing = [f for f in REQUIRED if f not in r]
            assert not missing, (key, missing)
            assert r["eventVersion"] in ("1.08", "1.09", "1.10", "1.11")
            assert dt.datetime.strptime(r["eventTime"], "%Y-%m-%dT%H:%M:%SZ")
            assert UUID.match(r["eventID"]) and r["eventType"] == "AwsApiCall"
            assert isinstance(r["readOnly"], bool) and isinstance(r["managementEvent"], bool)
            assert r["eventCategory"] in ("Management", "Data")
            assert r["managementEvent"] == (r["eventCategory"] == "Management")
            ident = r["userIdentity"]
            identity_types[ident["type"]] += 1
            if ident["type"] == "AssumedRole":
                issuer = ident["sessionContext"]["sessionIssuer"]
                assert issuer["type"] == "Role" and issuer["arn"].endswith("/" + issuer["userName"])
                assert (
                    ident["arn"]
                    == f"arn:aws:sts::{ident['accountId']}:assumed-role/{issuer['userName']}/{ident['principalId'].split(':', 1)[1]}"
                )
                assert ident["accessKeyId"].startswith("ASIA")
            if ident["type"] == "IAMUser":
                assert ident["accessKeyId"].startswith("AKIA") and ident["arn"].endswith(":user/" + ident["userName"])
            if ident["type"] == "FederatedUser":
                assert ident["sessionContext"]["sessionIssuer"]["type"] == "IAMUser"
            if ident["type"] == "AWSAccount":
                assert set(ident) == {"type", "principalId", "accountId"}
                assert ident["accountId"] != r["recipientAccountId"]
            if ident["type"] == "AWSService":
                assert ident["invokedBy"].endswith(".amazonaws.com")
            if "errorCode" in r:
                assert r["errorMessage"] and r["responseElements"] is None
            if r["eventCategory"] == "Data":
                assert r["eventSource"] == "sagemaker.amazonaws.com" and r["eventName"] in READS | WRITES
                assert r["readOnly"] == (r["eventName"] in READS)
                types = {res["type"] for res in r["resources"]}
                assert types == {"AWS::SageMaker::FeatureGroup"}
                assert r["tlsDetails"]["clientProvidedHostHeader"].startswith("featurestore-runtime.sagemaker.")
                for res in r["resources"]:
                    assert res["ARN"].split(":")[4] == res["accountId"]
    assert {"AssumedRole", "IAMUser", "FederatedUser", "AWSService", "AWSAccount"} <= set(identity_types)


# --------------------------------------------------------------------------- the story


def test_history_follows_the_grants(history):
    reads_by_grant = collections.defaultdict(list)
    writes_by_grant = collections.defaultdict(list)
    denied_callers = set()
    for r in history.by_id.values():
        if r["eventSource"] != "sagemaker.amazonaws.com" or r["userIdentity"]["type"] == "AWSAccount":
            continue  # the caller's own copy names the caller; count each call once
        caller = r["userIdentity"]["accountId"]
        if r["eventName"] in READS | WRITES:
            targets = [res["ARN"] for res in r["resources"]]
            needed = 1 if r["eventName"] in READS else 2
        elif r["eventName"] in ("DescribeFeatureGroup", "DescribeFeatureMetadata"):
            targets, needed = [r["requestParameters"]["featureGroupName"]], 1
        else:
            continue
        for target in targets:
            if not target.startswith("arn:") or target.split(":")[4] == caller:
                continue  # the owner's own account
            permission = history.grants.get((caller, target))
            if "errorCode" in r:
                if r["errorCode"] in DENIED:
                    assert permission is None or LEVEL[permission] < needed, r
                    assert r["userIdentity"]["arn"] in r["errorMessage"] and target in r["errorMessage"]
                    denied_callers.add((caller, r["userIdentity"]["arn"]))
                continue
            assert permission is not None and LEVEL[permission] >= needed, r
            if r["eventName"] in READS:
                reads_by_grant[(caller, target)].append(r["eventTime"])
            elif r["eventName"] in WRITES:
                writes_by_grant[(caller, target)].append(r["eventTime"])

    story = history.section["story"]
    dormant = (story["dormant_grant"]["consumer_account"], story["dormant_grant"]["arn"])
    read_only_rw = (
        story["read_write_grant_used_only_for_reads"]["consumer_account"],
        story["read_write_grant_used_only_for_reads"]["arn"],
    )
    for grant in history.grants:
        assert reads_by_grant[grant], f"grant {grant} is never used"
    cutoff = (NOW - dt.timedelta(days=38)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert max(reads_by_grant[dormant]) < cutoff
    assert all(max(times) > cutoff for grant, times in reads_by_grant.items() if grant != dormant)
    assert history.grants[read_only_rw] == "ReadWrite" and not writes_by_grant[read_only_rw]
    writers = [g for g, p in history.grants.items() if LEVEL[p] >= 2 and g != read_only_rw]
    assert writers and all(writes_by_grant[g] for g in writers)
    consumers_with_denials = {caller for caller, _ in denied_callers}
    assert len(consumers_with_denials) >= 3
    assert {d["caller"] for d in story["denied"]} <= {arn for _, arn in denied_callers}


def test_cross_account_calls_reach_both_accounts_once_each(history):
    pairs = collections.defaultdict(list)
    for r in history.by_id.values():
        if "sharedEventID" in r:
            pairs[r["sharedEventID"]].append(r)
    assert len(pairs) > 1000
    data_pairs = 0
    for copies in pairs.values():
        if len(copies) == 1:
            # AssumeRole from Pantry's platform account: no trail covers it, only the role's copy.
            assert copies[0]["eventName"] == "AssumeRole", copies
            assert copies[0]["userIdentity"]["accountId"] == history.manifest["platform_account_id"]
            continue
        assert len(copies) == 2, copies
        own, other = sorted(copies, key=lambda r: r["userIdentity"]["type"] == "AWSAccount")
        assert own["eventID"] != other["eventID"]
        assert own["recipientAccountId"] == own["userIdentity"]["accountId"]
        assert other["userIdentity"] == {
            "type": "AWSAccount",
            "principalId": own["userIdentity"]["principalId"],
            "accountId": own["userIdentity"]["accountId"],
        }
        assert other["recipientAccountId"] != own["recipientAccountId"]
        for field in ("eventTime", "eventName", "eventSource", "requestID", "requestParameters", "errorCode"):
            assert own.get(field) == other.get(field)
        if own["eventCategory"] == "Data":
            data_pairs += 1
            assert other["recipientAccountId"] in {res["accountId"] for res in own["resources"]}
            assert (
                own["requestParameters"]["featureGroupName"].startswith("arn:aws:sagemaker:")
                if own["eventName"] != "BatchGetRecord"
                else True
            )
    assert data_pairs > 500
    shared_once = [
        r for r in history.by_id.values() if "sharedEventID" not in r and r["userIdentity"]["type"] == "AWSAccount"
    ]
    assert not shared_once


def test_files_repeat_events_arrive_late_and_out_of_order(history):
    repeated = [eid for eid, keys in history.file_of.items() if len(set(keys)) > 1]
    assert repeated
    for eid in repeated[:20]:
        copies = [r for key in history.file_of[eid] for r in history.files[key] if r["eventID"] == eid]
        assert all(c == copies[0] for c in copies)  # the same event, delivered twice

    late, crossing_days, unordered = 0, 0, 0
    for key, records in history.files.items():
        stamp = dt.datetime.strptime(LOG_KEY.match(key)["stamp"], "%Y%m%dT%H%MZ").replace(tzinfo=dt.UTC)
        times = [r["eventTime"] for r in records]
        oldest = dt.datetime.strptime(min(times), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
        assert max(times) <= stamp.strftime("%Y-%m-%dT%H:%M:59Z")  # nothing from after the delivery
        if stamp - oldest > dt.timedelta(minutes=15):
            late += 1
            crossing_days += oldest.date() != stamp.date()
        unordered += times != sorted(times)
    assert late > 100 and crossing_days > 0 and unordered > 100


def test_pantry_calls_come_from_its_own_roles(history):
    roles = {a["role_arn"] for a in history.manifest["accounts"]}
    pantry = [
        r
        for r in history.by_id.values()
        if r["userIdentity"].get("sessionContext", {}).get("sessionIssuer", {}).get("arn") in roles
    ]
    assert pantry
    assert {r["eventName"] for r in pantry} <= {"Search", "ListContexts", "QueryLineage", "GetResourceShareInvitations"}
    assert all(r["userIdentity"]["arn"].endswith("/pantry-catalog") for r in pantry)
    assert not any(r["eventCategory"] == "Data" for r in pantry)
    assume = [
        r
        for r in history.by_id.values()
        if r["eventName"] == "AssumeRole" and r["requestParameters"]["roleArn"] in roles
    ]
    assert assume and all(r["userIdentity"]["type"] == "AWSAccount" for r in assume)
    assert all(r["userIdentity"]["accountId"] == history.manifest["platform_account_id"] for r in assume)
    assert all(r["requestParameters"]["externalId"] for r in assume)


def test_history_is_deterministic(history):
    """Rebuilding the history from the manifest and "now" gives the very events in S3."""
    manifest = {k: v for k, v in history.manifest.items() if k != "cloudtrail"}
    built = history_module.HistoryBuilder(model_module.OrgModel(manifest), NOW, days=60).build()
    planned, _ = history_module.delivery_plan(built.calls, NOW, random.Random("20240611:delivery"))
    planned_ids = {record["eventID"] for _, record in planned}
    assert set(history.by_id) <= planned_ids
    # Not delivered: copies for accounts outside the organisation (Pantry's platform account)
    # and data events the trail does not select.
    assert len(history.by_id) > 0.9 * len(planned_ids)


# --------------------------------------------------------------------------- trails


def test_trails_are_configured_as_the_operator_would(history):
    management = history.section["management_account_id"]
    ct = seed.admin_client(history.url, "cloudtrail", management, "eu-west-1")
    trail = ct.describe_trails(trailNameList=["organization-trail"])["trailList"][0]
    assert trail["IsOrganizationTrail"] and trail["IsMultiRegionTrail"] and trail["LogFileValidationEnabled"]
    assert trail["HasCustomEventSelectors"] and trail["S3BucketName"] == history.org_trail["bucket"]
    selectors = ct.get_event_selectors(TrailName="organization-trail")["AdvancedEventSelectors"]
    data = next(
        s
        for s in selectors
        if any(f["Field"] == "eventCategory" and f["Equals"] == ["Data"] for f in s["FieldSelectors"])
    )
    fields = {f["Field"]: f for f in data["FieldSelectors"]}
    assert fields["resources.type"]["Equals"] == ["AWS::SageMaker::FeatureGroup"]
    prefixes = fields["resources.ARN"]["StartsWith"]
    assert prefixes == history.org_trail["data_events"]["resources_arn_starts_with"]
    assert ct.get_trail_status(Name="organization-trail")["IsLogging"]

    # Data events exist only for the selected accounts and regions; management events for all.
    left_out = [tuple(x) for x in history.org_trail["data_events"]["not_selected"]]
    assert left_out
    data_scopes = {
        (res["accountId"], res["ARN"].split(":")[3])
        for r in history.by_id.values()
        if r["eventCategory"] == "Data"
        for res in r["resources"]
    }
    assert data_scopes and not data_scopes & set(left_out)
    assert any(
        r["awsRegion"] == left_out[0][1] and r["recipientAccountId"] == left_out[0][0] for r in history.by_id.values()
    )

    own = seed.admin_client(history.url, "cloudtrail", history.account_trail["account_id"], "eu-west-1")
    own_trail = own.get_trail(Name=history.account_trail["name"])["Trail"]
    assert own_trail["S3KeyPrefix"] == "audit" and not own_trail["IsOrganizationTrail"]
    assert not own_trail["IsMultiRegionTrail"] and own_trail["HasCustomEventSelectors"]
    account_records = [r for k in history.account_keys for r in history.files[k]]
    categories = collections.Counter(r["eventCategory"] for r in account_records)
    assert categories["Management"] and categories["Data"]
    # The partner's own copies of its reads: full identity, the owner's copy is in the org trail.
    own_reads = [r for r in account_records if r["eventName"] in READS and "sharedEventID" in r]
    assert own_reads and all(r["userIdentity"]["type"] != "AWSAccount" for r in own_reads)


def test_digest_files_validate_with_the_public_key(history):
    management = history.section["management_account_id"]
    ct = seed.admin_client(history.url, "cloudtrail", management, "eu-west-1")
    key_info = ct.list_public_keys()["PublicKeyList"][0]
    public_key = serialization.load_der_public_key(key_info["Value"])
    digests = sorted(k for k in history.keys if "/CloudTrail-Digest/" in k)
    latest = [k for k in digests if "/444444444444/CloudTrail-Digest/eu-west-1/" in k][-2:]
    previous_signature = None
    for index, key in enumerate(latest):
        obj = history.s3.get_object(Bucket=history.org_trail["bucket"], Key=key)
        raw = gzip.decompress(obj["Body"].read())
        digest = json.loads(raw)
        assert digest["digestS3Object"] == key and digest["digestPublicKeyFingerprint"] == key_info["Fingerprint"]
        signature = obj["Metadata"]["signature"]
        assert obj["Metadata"]["signature-algorithm"] == "SHA256withRSA"
        text = f"{digest['digestEndTime']}\n{history.org_trail['bucket']}/{key}\n{hashlib.sha256(raw).hexdigest()}\n{digest['previousDigestSignature'] or 'null'}"
        public_key.verify(bytes.fromhex(signature), text.encode(), padding.PKCS1v15(), hashes.SHA256())
        if index:
            assert digest["previousDigestSignature"] == previous_signature
        previous_signature = signature
        for entry in digest["logFiles"]:
            body = history.bodies[entry["s3Object"]]
            assert hashlib.sha256(gzip.decompress(body)).hexdigest() == entry["hashValue"]
    assert base64.b64encode(key_info["Value"])


# --------------------------------------------------------------------------- live files


def day_keys(history, day: dt.date) -> set[str]:
    """Log file keys of one day, across the organisation's accounts and regions."""
    org = history.section["organization_id"]
    keys: set[str] = set()
    for account in sorted({a["account_id"] for a in history.manifest["accounts"]}):
        for region in ("eu-west-1", "us-east-1"):
            prefix = f"AWSLogs/{org}/{account}/CloudTrail/{region}/{day:%Y/%m/%d}/"
            keys.update(list_keys(history.s3, history.org_trail["bucket"], prefix))
    return keys


def test_live_generator_writes_new_files_for_granted_reads(history):
    later = NOW + dt.timedelta(minutes=3)
    before = day_keys(history, later.date())
    result = control.cloudtrail_tick(history.url, now=later.isoformat())
    assert result["calls"] > 0
    new = sorted(day_keys(history, later.date()) - before)
    assert new
    dormant = history.section["story"]["dormant_grant"]
    for key in new:
        assert LOG_KEY.match(key)["stamp"] in (later.strftime("%Y%m%dT%H%MZ"), NOW.strftime("%Y%m%dT%H%MZ"))
        for r in records_of(history.s3.get_object(Bucket=history.org_trail["bucket"], Key=key)["Body"].read()):
            assert NOW.strftime("%Y-%m-%dT%H:%M:%SZ") <= r["eventTime"] <= later.strftime("%Y-%m-%dT%H:%M:%SZ")
            if r["eventName"] in READS and "errorCode" not in r and r["userIdentity"]["type"] != "AWSAccount":
                caller = r["userIdentity"]["accountId"]
                for res in r["resources"]:
                    assert res["accountId"] == caller or (caller, res["ARN"]) in history.grants
                    assert (caller, res["ARN"]) != (dormant["consumer_account"], dormant["arn"])


def test_live_generator_follows_shares_made_and_revoked(history):
    """A grant revoked during the demo is no longer read (its pipeline is denied); a new one is."""
    members = set(history.section["member_accounts"])
    story = history.section["story"]
    special = {story["dormant_grant"]["arn"], story["read_write_grant_used_only_for_reads"]["arn"]}
    access = next(
        a
        for a in sorted(history.manifest["access"], key=lambda a: a["arn"])
        if a["consumer_account"] in members and a["arn"] not in special
    )
    revoked_arn, revoked_consumer = access["arn"], access["consumer_account"]
    owner, region = revoked_arn.split(":")[4], revoked_arn.split(":")[3]
    new_consumer = revoked_consumer
    new_arn = next(
        g["arn"]
        for g in history.manifest["feature_groups"]
        if g["region"] == "eu-west-1"
        and g["account_id"] != new_consumer
        and (new_consumer, g["arn"]) not in history.grants
    )
    # The owner takes the group out of its RAM share; a new share gives another group.
    ram = seed.admin_client(history.url, "ram", owner, region)
    ram.disassociate_resource_share(resourceShareArn=access["share_arn"], resourceArns=[revoked_arn])
    control.set_feature_group_access(history.url, new_arn, new_consumer, "ReadOnly")
    try:
        records = []
        for minute in range(20):
            tick = control.cloudtrail_tick(history.url, now=(NOW + dt.timedelta(hours=2, minutes=minute)).isoformat())
            for f in tick["files"]:
                records += records_of(
                    history.s3_for(f["bucket"]).get_object(Bucket=f["bucket"], Key=f["key"])["Body"].read()
                )
        callers = [r for r in records if r["eventName"] in READS and r["userIdentity"]["type"] != "AWSAccount"]

        def reads_of(consumer, arn, ok):
            return [
                r
                for r in callers
                if r["userIdentity"]["accountId"] == consumer
                and arn in {res["ARN"] for res in r["resources"]}
                and ("errorCode" not in r) == ok
            ]

        assert not reads_of(revoked_consumer, revoked_arn, ok=True)
        assert reads_of(revoked_consumer, revoked_arn, ok=False)
        assert reads_of(new_consumer, new_arn, ok=True)
    finally:
        control.set_feature_group_access(history.url, new_arn, new_consumer, None)
        ram.associate_resource_share(resourceShareArn=access["share_arn"], resourceArns=[revoked_arn])


def test_live_loop_delivers_reads_within_seconds(history):
    today = dt.datetime.now(dt.UTC).date()
    before = day_keys(history, today)
    control.cloudtrail_live(history.url, enabled=True, interval_seconds=1)
    try:
        # A round plays 3-8 calls, reads and writes, in one file per account: the first file
        # found may hold only a write, so look until a read has arrived.
        deadline = dt.datetime.now() + dt.timedelta(seconds=60)
        seen: set[str] = set(before)
        reads: list[dict] = []
        while dt.datetime.now() < deadline and not reads:
            for key in sorted(day_keys(history, today) - seen):
                seen.add(key)
                body = history.s3.get_object(Bucket=history.org_trail["bucket"], Key=key)["Body"].read()
                reads += [r for r in records_of(body) if r["eventName"] in READS]
        assert seen - before, "the live loop wrote nothing within a minute"
        assert reads, "the live loop wrote no read within a minute"
        assert all(r["eventTime"][:10] == today.isoformat() for r in reads)
    finally:
        # Back to the default delivery interval: at 1 s the module's later tests would race it.
        control.cloudtrail_live(history.url, enabled=False, interval_seconds=DEFAULT_INTERVAL)


def _trail_log_keys(history) -> set[tuple[str, str]]:
    """Every CloudTrail log file (no digests) in the organisation's and the outsider's trail buckets."""
    keys = set()
    for s3, trail in ((history.s3, history.org_trail), (history.account_s3, history.account_trail)):
        keys |= {(trail["bucket"], k) for k in list_keys(s3, trail["bucket"]) if "/CloudTrail/" in k}
    return keys


def _delivered_since(history, before: set[tuple[str, str]]) -> list[dict]:
    """The records of every log file written since `before` was listed, after a flush.

    Not only the files the flush returns: the sandbox's background loop delivers what it holds
    every interval (20 s; 1 s while a live test ran), so it may write this test's calls first.
    """
    control.cloudtrail_flush(history.url)
    records = []
    for bucket, key in sorted(_trail_log_keys(history) - before):
        records += records_of(history.s3_for(bucket).get_object(Bucket=bucket, Key=key)["Body"].read())
    return records


def test_real_calls_to_the_sandbox_are_recorded(history):
    import boto3

    central = history.manifest["accounts"][0]
    before = _trail_log_keys(history)
    sts = boto3.client(
        "sts",
        endpoint_url=history.url,
        region_name="eu-west-1",
        aws_access_key_id="pantry",
        aws_secret_access_key="pantry",
    )
    creds = sts.assume_role(
        RoleArn=central["role_arn"], RoleSessionName="pantry-catalog", ExternalId=central["external_id"]
    )["Credentials"]
    sm = boto3.client(
        "sagemaker",
        endpoint_url=history.url,
        region_name="eu-west-1",
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    )
    sm.search(Resource="FeatureGroup", MaxResults=3)
    foreign = next(
        g
        for g in history.manifest["feature_groups"]
        if g["account_id"] != central["account_id"] and g["region"] == "eu-west-1"
    )
    with pytest.raises(ClientError):
        sm.describe_feature_group(FeatureGroupName=foreign["arn"])
    records = _delivered_since(history, before)
    search = [r for r in records if r["eventName"] == "Search" and r["recipientAccountId"] == central["account_id"]]
    assert search and search[0]["userIdentity"]["accessKeyId"] == creds["AccessKeyId"]
    assert search[0]["userIdentity"]["sessionContext"]["sessionIssuer"]["arn"] == central["role_arn"]
    assert search[0]["requestParameters"] == {"resource": "FeatureGroup", "maxResults": 3}
    assumed = [r for r in records if r["eventName"] == "AssumeRole"]
    assert assumed and assumed[0]["userIdentity"]["type"] == "AWSAccount"
    assert assumed[0]["responseElements"]["credentials"]["accessKeyId"] == creds["AccessKeyId"]
    denied = [r for r in records if r["eventName"] == "DescribeFeatureGroup"]
    assert {r["recipientAccountId"] for r in denied} == {central["account_id"], foreign["account_id"]}
    assert len({r["sharedEventID"] for r in denied}) == 1 and all(r["errorCode"] in DENIED for r in denied)


def test_real_feature_store_reads_become_data_events_in_both_accounts(history):
    import boto3

    members = set(history.section["member_accounts"])
    access = next(
        a for a in sorted(history.manifest["access"], key=lambda a: a["arn"]) if a["consumer_account"] in members
    )
    consumer = next(a for a in history.manifest["accounts"] if a["account_id"] == access["consumer_account"])
    before = _trail_log_keys(history)
    sts = boto3.client(
        "sts", endpoint_url=history.url, region_name="eu-west-1", aws_access_key_id="p", aws_secret_access_key="p"
    )
    creds = sts.assume_role(
        RoleArn=consumer["role_arn"], RoleSessionName="notebook", ExternalId=consumer["external_id"]
    )["Credentials"]
    runtime = boto3.client(
        "sagemaker-featurestore-runtime",
        endpoint_url=history.url,
        region_name="eu-west-1",
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    )
    try:
        runtime.get_record(FeatureGroupName=access["arn"], RecordIdentifierValueAsString="customer-42")
        failed = None
    except ClientError as exc:
        failed = exc.response["Error"]["Code"]
    records = [r for r in _delivered_since(history, before) if r["eventName"] == "GetRecord"]
    owner = access["arn"].split(":")[4]
    assert {r["recipientAccountId"] for r in records} == {consumer["account_id"], owner}
    assert len({r["sharedEventID"] for r in records}) == 1
    own = next(r for r in records if r["recipientAccountId"] == consumer["account_id"])
    assert (
        own["userIdentity"]["arn"].endswith("/notebook") and own["userIdentity"]["accessKeyId"] == creds["AccessKeyId"]
    )
    assert own["eventCategory"] == "Data" and own["requestParameters"] == {"featureGroupName": access["arn"]}
    assert own["resources"] == [{"accountId": owner, "type": "AWS::SageMaker::FeatureGroup", "ARN": access["arn"]}]
    assert own.get("errorCode") == failed


def test_exact_calls_go_through_the_selectors(history):
    owner_group = next(g for g in history.manifest["feature_groups"] if g["region"] == "us-east-1")
    caller = {"kind": "AssumedRole", "account_id": "444444444444", "name": "probe-reader", "session": "probe"}
    at = (NOW + dt.timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M:%SZ")
    granted = next(iter(history.grants))
    result = control.cloudtrail_events(
        history.url,
        [
            {"operation": "GetRecord", "caller": caller, "feature_groups": [granted[1]], "at": at},
            {
                "operation": "GetRecord",
                "caller": caller,
                "feature_groups": [owner_group["arn"]],
                "at": at,
                "error": "denied",
            },
            {"operation": "DescribeFeatureGroup", "caller": caller, "feature_groups": [owner_group["arn"]], "at": at},
        ],
        delivered_at=at,
    )
    delivered = {
        (r["eventName"], r["recipientAccountId"], r["awsRegion"])
        for f in result["files"]
        for r in records_of(history.s3_for(f["bucket"]).get_object(Bucket=f["bucket"], Key=f["key"])["Body"].read())
    }
    granted_owner = granted[1].split(":")[4]
    assert ("GetRecord", "444444444444", "eu-west-1") in delivered and (
        "GetRecord",
        granted_owner,
        "eu-west-1",
    ) in delivered
    # us-east-1 data events of this owner are not selected; its management events are.
    assert not any(name == "GetRecord" and region == "us-east-1" for name, _, region in delivered)
    assert ("DescribeFeatureGroup", owner_group["account_id"], "us-east-1") in delivered


# --------------------------------------------------------------------------- bad files


def test_bad_files_are_written_where_an_ingester_looks(history):
    at = (NOW + dt.timedelta(hours=1)).isoformat()
    seen = {}
    for kind in (
        "corrupt-gzip",
        "truncated-gzip",
        "not-gzip",
        "empty",
        "invalid-json",
        "no-records",
        "records-not-list",
        "missing-fields",
        "unknown-feature-group",
        "nul-bytes",
        "deep-nesting",
    ):
        info = control.cloudtrail_bad_file(history.url, kind, delivered_at=at)
        assert LOG_KEY.match(info["key"]) and info["bucket"] == history.org_trail["bucket"]
        seen[kind] = (
            info,
            history.s3_for(info["bucket"]).get_object(Bucket=info["bucket"], Key=info["key"])["Body"].read(),
        )

    with pytest.raises((OSError, zlib.error, EOFError)):
        gzip.decompress(seen["corrupt-gzip"][1])
    with pytest.raises(EOFError):
        gzip.decompress(seen["truncated-gzip"][1])
    with pytest.raises(gzip.BadGzipFile):
        gzip.decompress(seen["not-gzip"][1])
    assert seen["empty"][1] == b""
    with pytest.raises(json.JSONDecodeError):
        json.loads(gzip.decompress(seen["invalid-json"][1]))
    assert "Records" not in json.loads(gzip.decompress(seen["no-records"][1]))
    assert isinstance(json.loads(gzip.decompress(seen["records-not-list"][1]))["Records"], dict)
    info, body = seen["missing-fields"]
    complete = [
        r
        for r in records_of(body)
        if all(f in r for f in ("eventID", "eventTime", "eventName", "eventSource", "userIdentity"))
    ]
    assert len(complete) == info["valid_records"] < info["records"]
    info, body = seen["unknown-feature-group"]
    assert all(r["resources"][0]["ARN"] == info["feature_group_arn"] not in history.groups for r in records_of(body))
    assert all("\x00" in r["userAgent"] for r in records_of(seen["nul-bytes"][1]))
    with pytest.raises(RecursionError):
        json.loads(gzip.decompress(seen["deep-nesting"][1]))


def test_huge_file_streams_to_the_promised_size(history):
    info = control.cloudtrail_bad_file(history.url, "huge", size_mb=24)
    obj = history.s3_for(info["bucket"]).get_object(Bucket=info["bucket"], Key=info["key"])
    decompressor, size, events, tail = zlib.decompressobj(31), 0, 0, b""
    for chunk in obj["Body"].iter_chunks(1 << 20):
        data = decompressor.decompress(chunk)
        size += len(data)
        events += (tail + data).count(b'"eventID":') - tail.count(b'"eventID":')
        tail = data[-16:]
    assert size == info["uncompressed_bytes"] >= 24 * 1024 * 1024
    assert events == info["records"] == info["valid_records"]
    assert info["size"] < size / 5  # gzip keeps it small in the bucket


# --------------------------------------------------------------------------- synthetic writer


def _read_all(s3, bucket: str) -> list[dict]:
    keys = list_keys(s3, bucket)
    assert all(LOG_KEY.match(k) for k in keys)
    return [r for body in download(s3, bucket, keys).values() for r in records_of(body)]


def test_synthetic_writer_counts_are_exact(history):
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "sandbox",
            "cloudtrail-synth",
            "--events",
            "5000",
            "--days",
            "0.5",
            "--fs-share",
            "0.3",
            "--endpoint",
            history.url,
            "--bucket",
            "synth-sandbox-mode",
            "--end",
            "2025-03-01T00:00:00Z",
            "--processes",
            "1",
            "--json",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    report = json.loads(out.stdout)
    records = _read_all(s3_client(history.url, synth.SYNTH_ACCOUNT), "synth-sandbox-mode")
    fs = [r for r in records if r["eventSource"] == "sagemaker.amazonaws.com" and r["eventName"] in synth.FS_OPERATIONS]
    assert len(records) == report["records"] == 5000
    assert len(fs) == report["feature_store_records"] == 1500
    assert len({r["eventID"] for r in records}) == 5000
    pairs = collections.Counter(r["sharedEventID"] for r in fs if "sharedEventID" in r)
    assert set(pairs.values()) == {2} and len(pairs) == report["cross_account_pairs"] > 0
    assert report["feature_store_calls"] == 1500 - report["cross_account_pairs"]
    assert sum(1 for r in fs if r.get("errorCode") == "AccessForbidden") == report["denied_records"]
    by_op = collections.Counter(r["eventName"] for r in fs)
    assert dict(by_op) == report["feature_store_by_operation"]
    assert report["files"] == len(list_keys(s3_client(history.url, synth.SYNTH_ACCOUNT), "synth-sandbox-mode"))
    assert all(r["eventTime"] < "2025-03-01T00:00:00Z" for r in records)


def test_synthetic_writer_is_the_same_through_the_s3_api(history):
    params = synth.Params(events=600, days=0.1, end="2025-03-01T00:00:00Z", bucket="synth-s3-mode", seed=3)
    import os

    env = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        through_s3 = synth.write_through_s3(params, history.url, processes=1, threads=4)
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    params.bucket = "synth-sandbox-mode-2"
    in_sandbox = control.cloudtrail_synth(history.url, synth.asdict(params), processes=1)
    for key in ("records", "feature_store_records", "cross_account_pairs", "files", "bytes"):
        assert through_s3[key] == in_sandbox[key]
    # Each bucket is read by its own account: the "testing" key's (moto's default account) wrote
    # the first through S3, the log archive holds the second.
    writer = s3_client(history.url, PLATFORM_ACCOUNT_ID)
    s3 = s3_client(history.url)
    a = list_keys(writer, "synth-s3-mode")
    b = list_keys(s3, "synth-sandbox-mode-2")
    assert a == b and len(a) == through_s3["files"]
    assert (
        writer.get_object(Bucket="synth-s3-mode", Key=a[0])["Body"].read()
        == s3.get_object(Bucket="synth-sandbox-mode-2", Key=b[0])["Body"].read()
    )


AWS_CLI = shutil.which("aws", path=str(Path(sys.executable).parent)) or shutil.which("aws")


@pytest.mark.skipif(not AWS_CLI, reason="the AWS CLI (awscli) is not installed in this environment")
def test_aws_cli_lists_the_log_files(history):
    prefix = LOG_KEY.match(history.log_keys[0])
    day = f"AWSLogs/{prefix['org']}/{prefix['account']}/CloudTrail/{prefix['region']}/{prefix['y']}/{prefix['m']}/{prefix['d']}/"
    # As Pantry reads it: through the reader role in the bucket's (log archive) account, since the
    # bucket policy grants no other account.
    reader = seed.admin_client(history.url, "sts", PLATFORM_ACCOUNT_ID, "eu-west-1").assume_role(
        RoleArn=history.org_trail["role_arn"], RoleSessionName="cli", ExternalId=history.org_trail["external_id"]
    )["Credentials"]
    out = subprocess.run(
        [
            AWS_CLI,
            "s3",
            "ls",
            "--recursive",
            "--endpoint-url",
            history.url,
            f"s3://{history.org_trail['bucket']}/{day}",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
        env={
            **os.environ,
            "AWS_ACCESS_KEY_ID": reader["AccessKeyId"],
            "AWS_SECRET_ACCESS_KEY": reader["SecretAccessKey"],
            "AWS_SESSION_TOKEN": reader["SessionToken"],
            "AWS_DEFAULT_REGION": "eu-west-1",
        },
    )
    listed = {line.split()[-1] for line in out.stdout.splitlines() if line.strip()}
    assert listed == {k for k in history.log_keys if k.startswith(day)}


# --------------------------------------------------------------------------- trail rules (reset the sandbox: last)


def test_trail_rules_are_enforced(clean_sandbox):
    url = clean_sandbox.url
    account = "313131313131"
    seed.ensure_bucket(url, account, "eu-west-1", "no-policy-trail-bucket")
    ct = seed.admin_client(url, "cloudtrail", account, "eu-west-1")

    def code(**kwargs):
        with pytest.raises(ClientError) as err:
            ct.create_trail(**kwargs)
        return err.value.response["Error"]["Code"]

    assert code(Name="no-policy", S3BucketName="no-policy-trail-bucket") == "InsufficientS3BucketPolicyException"
    assert (
        code(Name="no-org", S3BucketName="no-policy-trail-bucket", IsOrganizationTrail=True)
        == "OrganizationsNotInUseException"
    )

    seed.admin_client(url, "organizations", "323232323232", "us-east-1").create_organization(FeatureSet="ALL")
    trails.join_organisation(url, "323232323232", account)
    assert (
        code(Name="member-org", S3BucketName="no-policy-trail-bucket", IsOrganizationTrail=True)
        == "NotOrganizationMasterAccountException"
    )

    arn = f"arn:aws:cloudtrail:eu-west-1:{account}:trail/good"
    seed.admin_client(url, "s3", account, "eu-west-1").put_bucket_policy(
        Bucket="no-policy-trail-bucket",
        Policy=trails.account_bucket_policy("no-policy-trail-bucket", account, "audit", arn),
    )
    assert code(Name="wrong-prefix", S3BucketName="no-policy-trail-bucket") == "InsufficientS3BucketPolicyException"
    ct.create_trail(Name="good", S3BucketName="no-policy-trail-bucket", S3KeyPrefix="audit")
    assert (
        code(Name="good", S3BucketName="no-policy-trail-bucket", S3KeyPrefix="audit") == "TrailAlreadyExistsException"
    )
    with pytest.raises(ClientError) as err:
        ct.put_event_selectors(
            TrailName="good",
            AdvancedEventSelectors=[{"Name": "x", "FieldSelectors": [{"Field": "eventCategory", "Equals": ["Data"]}]}],
        )
    assert err.value.response["Error"]["Code"] == "InvalidEventSelectorsException"
    assert not ct.get_trail(Name="good")["Trail"]["HasCustomEventSelectors"]


def test_cloudtrail_api_answers_parse_with_the_botocore_model(clean_sandbox):
    """Every member the sandbox returns is in the operation's output shape, required ones present."""
    import botocore.session

    model = botocore.session.get_session().get_service_model("cloudtrail")
    url, account = clean_sandbox.url, "414141414141"
    bucket = "model-check-trail-bucket"
    seed.ensure_bucket(url, account, "eu-west-1", bucket)
    arn = f"arn:aws:cloudtrail:eu-west-1:{account}:trail/model-check"
    seed.admin_client(url, "s3", account, "eu-west-1").put_bucket_policy(
        Bucket=bucket, Policy=trails.account_bucket_policy(bucket, account, "audit", arn)
    )
    ct = seed.admin_client(url, "cloudtrail", account, "eu-west-1")
    ct.create_trail(Name="model-check", S3BucketName=bucket, S3KeyPrefix="audit")
    ct.put_event_selectors(
        TrailName="model-check",
        AdvancedEventSelectors=trails.advanced_selectors(["arn:aws:sagemaker:eu-west-1:414141414141:feature-group/"]),
    )
    ct.start_logging(Name="model-check")
    calls = {
        "DescribeTrails": ct.describe_trails(),
        "GetTrail": ct.get_trail(Name="model-check"),
        "GetTrailStatus": ct.get_trail_status(Name="model-check"),
        "GetEventSelectors": ct.get_event_selectors(TrailName="model-check"),
        "ListPublicKeys": ct.list_public_keys(),
    }
    for operation, answer in calls.items():
        answer.pop("ResponseMetadata")
        shape = model.operation_model(operation).output_shape
        assert set(answer) <= set(shape.members), operation
        assert set(shape.required_members) <= set(answer), operation
    trail = calls["GetTrail"]["Trail"]
    assert set(trail) <= set(model.shape_for("Trail").members) and trail["HasCustomEventSelectors"]
    key = calls["ListPublicKeys"]["PublicKeyList"][0]
    assert set(key) == set(model.shape_for("PublicKey").members)
    assert key["ValidityStartTime"] < dt.datetime.now(dt.UTC) < key["ValidityEndTime"]


def test_control_routes_answer_bad_input_with_400(clean_sandbox):
    import urllib.error

    url = clean_sandbox.url
    cases = [
        (lambda: control.cloudtrail_bad_file(url, "no-such-kind"), "no trail exists"),
        (lambda: control.cloudtrail_history(url, {"accounts": []}, days=0), "days must be between"),
        (lambda: control.cloudtrail_history(url, {"accounts": []}), "no trail exists"),
        (lambda: control._call(url, "POST", "cloudtrail/files", {"records": {"eventID": "x"}}), "list of JSON objects"),
        (
            lambda: control._call(url, "POST", "cloudtrail/events", {"calls": [{"operation": "GetRecord"}]}),
            "needs a caller",
        ),
        (lambda: control.cloudtrail_tick(url, now="yesterday"), "isoformat"),
        (lambda: control.cloudtrail_live(url, enabled=True), "needs the organisation"),
    ]
    for call, words in cases:
        with pytest.raises(urllib.error.HTTPError) as err:
            call()
        assert err.value.code == 400
        assert words in err.value.read().decode()
