"""The log file reader on its own: which copy counts, who the principal is, what is kept.

Records come from the sandbox's CloudTrail record builder (the documented format), gzipped as
CloudTrail delivers them; no database or S3.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import random

from sandbox.cloudtrail import records as R
from usage.ingest import IngestContext, parse_log_key, read_log_file

OWNER, CALLER = "111111111111", "555555555555"
WHEN = dt.datetime(2026, 11, 20, 10, 0, tzinfo=dt.UTC)
ORDERS = R.FeatureGroupRef.from_arn(f"arn:aws:sagemaker:eu-west-1:{OWNER}:feature-group/orders")
PAYMENTS = R.FeatureGroupRef.from_arn(f"arn:aws:sagemaker:eu-west-1:{OWNER}:feature-group/payments")
COLUMNS = ("event_id", "shared_event_id", "event_time", "event_name", "event_source", "read_only", "outcome",
           "error_code", "error_message", "principal_arn", "principal_type", "principal_account_id", "source_ip",
           "owner_account_id", "consumer_account_id", "feature_group_arn", "region", "file_id")  # fmt: skip


def rows_of(records: list[dict], *, covered=(OWNER, CALLER), **context) -> list[dict]:
    body = gzip.compress(json.dumps({"Records": records}).encode())
    ctx = IngestContext(covered_accounts=frozenset(covered), **context)
    result = read_log_file([body[:100], body[100:]], ctx)
    return [dict(zip(COLUMNS, row, strict=True)) for row in result.rows]


def copies(call: R.Call) -> dict[str, dict]:
    return {r["recipientAccountId"]: r for r in call.records(random.Random(1))}


def test_a_cross_account_call_counts_on_the_callers_copy_when_the_caller_is_covered():
    reader = R.Principal("AssumedRole", CALLER, "scoring-service", session="i-0abc")
    both = copies(R.feature_store_data_call(WHEN, reader, "GetRecord", [ORDERS]))
    assert set(both) == {OWNER, CALLER}
    counted = rows_of([both[OWNER], both[CALLER]])
    assert len(counted) == 1
    assert counted[0]["event_id"] == both[CALLER]["eventID"]
    assert counted[0]["principal_arn"] == f"arn:aws:iam::{CALLER}:role/scoring-service"
    assert (counted[0]["owner_account_id"], counted[0]["consumer_account_id"]) == (OWNER, CALLER)


def test_without_the_callers_trail_the_owners_copy_counts_and_a_denial_names_the_caller():
    reader = R.Principal("AssumedRole", CALLER, "new-pipeline", session="run-7")
    error = R.access_denied(reader, "sagemaker:PutRecord", ORDERS.arn)
    both = copies(R.feature_store_data_call(WHEN, reader, "PutRecord", [ORDERS], error=error))
    counted = rows_of([both[OWNER], both[CALLER]], covered=(OWNER,))
    assert len(counted) == 1
    row = counted[0]
    assert row["event_id"] == both[OWNER]["eventID"] and row["principal_type"] == "AWSAccount"
    assert row["outcome"] == "denied"
    assert row["principal_arn"] == f"arn:aws:iam::{CALLER}:role/new-pipeline"


def test_batch_get_record_counts_once_per_group_it_read():
    reader = R.Principal("AssumedRole", OWNER, "trainer", session="s")
    call = R.feature_store_data_call(WHEN, reader, "BatchGetRecord", [ORDERS, PAYMENTS])
    rows = rows_of(call.records(random.Random(2)))
    assert sorted(r["feature_group_arn"].rsplit("/", 1)[-1] for r in rows) == ["orders", "payments"]
    assert {r["read_only"] for r in rows} == {True}


def test_identity_center_people_are_counted_by_person_and_iam_users_by_user():
    person = R.Principal(
        "AssumedRole",
        OWNER,
        "AWSReservedSSO_DataScientist_0123456789abcdef",
        session="gita@example.com",
        path="/aws-reserved/sso.amazonaws.com/eu-west-1/",
    )
    user = R.Principal("IAMUser", OWNER, "svc-export")
    rows = rows_of(
        R.describe_feature_group(WHEN, person, ORDERS).records(random.Random(3))
        + R.describe_feature_group(WHEN, user, ORDERS).records(random.Random(4))
    )
    principals = {r["principal_arn"] for r in rows}
    assert (
        f"arn:aws:sts::{OWNER}:assumed-role/AWSReservedSSO_DataScientist_0123456789abcdef/gita@example.com"
        in principals
    )
    assert f"arn:aws:iam::{OWNER}:user/svc-export" in principals


def test_a_name_in_request_parameters_resolves_in_the_recipient_account_and_region():
    reader = R.Principal("AssumedRole", OWNER, "debugger", session="s")
    record = R.describe_feature_group(WHEN, reader, ORDERS).records(random.Random(5))[0]
    record.pop("resources", None)
    record["requestParameters"] = {"featureGroupName": "Orders"}
    (row,) = rows_of([record])
    assert row["feature_group_arn"] == ORDERS.arn


def test_other_services_and_pantrys_own_calls_are_not_kept():
    own = R.Principal("AssumedRole", OWNER, "PantryCatalogReader", session="pantry-catalog")
    someone = R.Principal("AssumedRole", OWNER, "analyst", session="s")
    records = (
        R.describe_feature_group(WHEN, own, ORDERS).records(random.Random(6))
        + R.assume_role(WHEN, someone, f"arn:aws:iam::{OWNER}:role/x", "s", "eu-west-1", rng=random.Random(9)).records(
            random.Random(7)
        )
        + R.search(WHEN, someone, "eu-west-1", "FeatureGroup").records(random.Random(8))
    )
    rows = rows_of(
        records, own_role_names=frozenset({"PantryCatalogReader"}), own_session_names=frozenset({"pantry-catalog"})
    )
    assert [r["event_name"] for r in rows] == ["Search"]
    assert rows[0]["feature_group_arn"] == ""


def test_only_log_file_keys_are_taken_digests_and_strays_are_not():
    log = "AWSLogs/o-abc1234567/111111111111/CloudTrail/eu-west-1/2026/11/20/111111111111_CloudTrail_eu-west-1_20261120T1005Z_AbCdEfGhIjKlMnOp.json.gz"
    digest = "AWSLogs/o-abc1234567/111111111111/CloudTrail-Digest/eu-west-1/2026/11/20/111111111111_CloudTrail-Digest_eu-west-1_organization-trail_eu-west-1_20261120T100500Z.json.gz"
    assert parse_log_key(log) == ("111111111111", "eu-west-1", dt.datetime(2026, 11, 20, 10, 5, tzinfo=dt.UTC))
    assert parse_log_key(digest) is None
    assert parse_log_key("AWSLogs/o-abc1234567/111111111111/CloudTrail/eu-west-1/notes.txt") is None
