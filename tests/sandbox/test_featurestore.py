"""Feature Store control plane of the sandbox, exercised through boto3 over HTTP."""

from __future__ import annotations

import datetime as dt

import botocore.session
import pytest
from botocore.exceptions import ClientError

from sandbox import control

from .conftest import make_client

MODEL = botocore.session.get_session().get_service_model("sagemaker")


def output_keys(operation: str) -> set[str]:
    return set(MODEL.operation_model(operation).output_shape.members)


def shape_keys(shape: str) -> set[str]:
    return set(MODEL.shape_for(shape).members)


def defs(n: int) -> list[dict]:
    out = [
        {"FeatureName": "record_id", "FeatureType": "String"},
        {"FeatureName": "event_time", "FeatureType": "Fractional"},
    ]
    out += [
        {"FeatureName": f"f_{i:04d}", "FeatureType": ["String", "Integral", "Fractional"][i % 3]} for i in range(n - 2)
    ]
    return out


def create(sm, name: str, n: int = 5, **extra) -> str:
    params = {
        "FeatureGroupName": name,
        "RecordIdentifierFeatureName": "record_id",
        "EventTimeFeatureName": "event_time",
        "FeatureDefinitions": defs(n),
        "OfflineStoreConfig": {"S3StorageConfig": {"S3Uri": "s3://bucket/prefix"}},
        "RoleArn": "arn:aws:iam::123456789012:role/fs",
        "Description": f"Feature group {name}. Second sentence.",
        "Tags": [{"Key": "team", "Value": "payments"}],
    }
    params.update(extra)
    return sm.create_feature_group(**params)["FeatureGroupArn"]


def test_describe_has_all_fields_and_matches_model(sm):
    arn = create(
        sm, "customers", OnlineStoreConfig={"EnableOnlineStore": True, "TtlDuration": {"Unit": "Days", "Value": 7}}
    )
    d = sm.describe_feature_group(FeatureGroupName="customers")
    d.pop("ResponseMetadata")
    assert set(d) <= output_keys("DescribeFeatureGroup")
    assert d["FeatureGroupArn"] == arn
    assert d["Description"].startswith("Feature group customers")
    assert d["OnlineStoreConfig"]["TtlDuration"]["Value"] == 7
    assert d["OfflineStoreConfig"]["DataCatalogConfig"]["Database"] == "sagemaker_featurestore"
    assert d["OfflineStoreConfig"]["S3StorageConfig"]["ResolvedOutputS3Uri"].startswith(
        "s3://bucket/prefix/123456789012/sagemaker/eu-west-1/"
    )
    assert d["FeatureGroupStatus"] == "Created"
    assert isinstance(d["CreationTime"], dt.datetime) and isinstance(d["LastModifiedTime"], dt.datetime)
    assert d["NextToken"] == ""  # required by the API model; empty on the last page
    assert sm.describe_feature_group(FeatureGroupName=arn)["FeatureGroupName"] == "customers"


def test_describe_pages_2500_features(sm):
    create(sm, "wide", n=2500)
    names, token, pages = [], None, 0
    while True:
        kw = {"NextToken": token} if token else {}
        page = sm.describe_feature_group(FeatureGroupName="wide", **kw)
        names += [f["FeatureName"] for f in page["FeatureDefinitions"]]
        pages += 1
        token = page.get("NextToken")
        if not token:
            break
    assert pages == 3 and len(names) == 2500 and len(set(names)) == 2500


def test_unknown_names_raise_resource_not_found(sm):
    create(sm, "known")
    for call in (
        lambda: sm.describe_feature_group(FeatureGroupName="missing"),
        lambda: sm.describe_feature_metadata(FeatureGroupName="missing", FeatureName="x"),
        lambda: sm.describe_feature_metadata(FeatureGroupName="known", FeatureName="nope"),
        lambda: sm.delete_feature_group(FeatureGroupName="missing"),
    ):
        with pytest.raises(ClientError) as exc:
            call()
        assert exc.value.response["Error"]["Code"] == "ResourceNotFound"
    with pytest.raises(ClientError, match="can't find a FeatureGroup with name missing"):
        sm.describe_feature_group(FeatureGroupName="missing")


def test_duplicate_create_is_resource_in_use(sm):
    create(sm, "dup")
    with pytest.raises(ClientError) as exc:
        create(sm, "dup")
    assert exc.value.response["Error"]["Code"] == "ResourceInUse"


def test_list_feature_groups_paging_and_filters(sm):
    for i in range(250):
        create(sm, f"group_{i:03d}", n=3)
    seen, token = [], None
    while True:
        kw = {"NextToken": token} if token else {}
        page = sm.list_feature_groups(MaxResults=100, SortBy="Name", SortOrder="Ascending", **kw)
        for s in page["FeatureGroupSummaries"]:
            assert set(s) <= shape_keys("FeatureGroupSummary")
        seen += [s["FeatureGroupName"] for s in page["FeatureGroupSummaries"]]
        token = page.get("NextToken")
        if not token:
            break
    assert seen == [f"group_{i:03d}" for i in range(250)]
    paginator = sm.get_paginator("list_feature_groups")
    assert sum(len(p["FeatureGroupSummaries"]) for p in paginator.paginate(NameContains="group_1")) == 100
    assert len(sm.list_feature_groups()["FeatureGroupSummaries"]) == 10  # AWS default page size
    with pytest.raises(ClientError) as exc:
        sm.list_feature_groups(MaxResults=500)
    assert exc.value.response["Error"]["Code"] == "ValidationException"


def test_search_both_resources_paging(sm):
    for i in range(250):
        create(sm, f"sg_{i:03d}", n=4)
    found, token = [], None
    while True:
        kw = {"NextToken": token} if token else {}
        page = sm.search(Resource="FeatureGroup", MaxResults=100, SortBy="Name", SortOrder="Ascending", **kw)
        for r in page["Results"]:
            assert set(r["FeatureGroup"]) <= shape_keys("FeatureGroup")
        found += [r["FeatureGroup"]["FeatureGroupName"] for r in page["Results"]]
        token = page.get("NextToken")
        if not token:
            break
    assert found == [f"sg_{i:03d}" for i in range(250)]
    paginator = sm.get_paginator("search")
    metadata = [
        r["FeatureMetadata"]
        for p in paginator.paginate(Resource="FeatureMetadata", PaginationConfig={"PageSize": 100})
        for r in p["Results"]
    ]
    assert len(metadata) == 1000
    assert len({(m["FeatureGroupName"], m["FeatureName"]) for m in metadata}) == 1000
    assert set(metadata[0]) <= shape_keys("FeatureMetadata")
    with pytest.raises(ClientError) as exc:
        sm.search(Resource="FeatureGroup", MaxResults=500)
    assert exc.value.response["Error"]["Code"] == "ValidationException"


def test_search_filters_operators_and_subexpressions(sm):
    a = create(sm, "alpha_payments", Tags=[{"Key": "team", "Value": "payments"}, {"Key": "pii", "Value": "true"}])
    create(sm, "beta_growth", Tags=[{"Key": "team", "Value": "growth"}])
    create(sm, "gamma_growth", Tags=[{"Key": "team", "Value": "growth"}], Description="Churn signals.")

    def names(expr, resource="FeatureGroup"):
        res = sm.search(Resource=resource, SearchExpression=expr, MaxResults=100)["Results"]
        return sorted(r[resource]["FeatureGroupName"] for r in res)

    assert names({"Filters": [{"Name": "Tags.team", "Operator": "Equals", "Value": "growth"}]}) == [
        "beta_growth",
        "gamma_growth",
    ]
    assert names({"Filters": [{"Name": "Tags.pii", "Operator": "Exists"}]}) == ["alpha_payments"]
    assert names({"Filters": [{"Name": "Tags.pii", "Operator": "NotExists"}]}) == ["beta_growth", "gamma_growth"]
    assert names({"Filters": [{"Name": "FeatureGroupName", "Operator": "Contains", "Value": "GROWTH"}]}) == [
        "beta_growth",
        "gamma_growth",
    ]
    assert names(
        {"Filters": [{"Name": "FeatureGroupName", "Operator": "In", "Value": "alpha_payments,beta_growth"}]}
    ) == ["alpha_payments", "beta_growth"]
    assert names({"Filters": [{"Name": "FeatureGroupArn", "Operator": "NotEquals", "Value": a}]}) == [
        "beta_growth",
        "gamma_growth",
    ]
    assert names({"Filters": [{"Name": "Description", "Operator": "Contains", "Value": "churn"}]}) == ["gamma_growth"]
    expr = {
        "Operator": "Or",
        "SubExpressions": [
            {"Filters": [{"Name": "FeatureGroupName", "Operator": "Equals", "Value": "alpha_payments"}]},
            {"Filters": [{"Name": "Description", "Operator": "Contains", "Value": "churn"}]},
        ],
    }
    assert names(expr) == ["alpha_payments", "gamma_growth"]
    nested = {
        "NestedFilters": [
            {
                "NestedPropertyName": "FeatureDefinitions",
                "Filters": [{"Name": "FeatureDefinitions.FeatureName", "Operator": "Equals", "Value": "f_0001"}],
            }
        ]
    }
    assert len(names(nested)) == 3
    # timestamps, in the documented form YYYY-mm-dd'T'HH:MM:SS (UTC, whole seconds)
    gamma_mod = sm.describe_feature_group(FeatureGroupName="gamma_growth")["LastModifiedTime"]
    second = gamma_mod.astimezone(dt.UTC).replace(microsecond=0)
    since = {"Name": "LastModifiedTime", "Operator": "GreaterThanOrEqualTo"}
    assert "gamma_growth" in names({"Filters": [{**since, "Value": second.strftime("%Y-%m-%dT%H:%M:%S")}]})
    after = second + dt.timedelta(seconds=1)
    assert names({"Filters": [{**since, "Value": after.strftime("%Y-%m-%dT%H:%M:%S")}]}) == []
    # feature metadata search
    fm = sm.search(
        Resource="FeatureMetadata",
        SearchExpression={
            "Filters": [
                {"Name": "FeatureType", "Operator": "Equals", "Value": "Integral"},
                {"Name": "FeatureGroupName", "Operator": "Equals", "Value": "beta_growth"},
            ]
        },
    )["Results"]
    assert [r["FeatureMetadata"]["FeatureName"] for r in fm] == ["f_0001"]
    with pytest.raises(ClientError) as exc:
        names({"Filters": [{"Name": "NoSuchProperty", "Operator": "Equals", "Value": "x"}]})
    assert exc.value.response["Error"]["Code"] == "ValidationException"


def test_feature_metadata_update_and_search_by_parameter(sm):
    create(sm, "meta")
    before = sm.describe_feature_group(FeatureGroupName="meta")["LastModifiedTime"]
    sm.update_feature_metadata(
        FeatureGroupName="meta",
        FeatureName="f_0000",
        Description="Customer age in years.",
        ParameterAdditions=[{"Key": "unit", "Value": "years"}, {"Key": "pii", "Value": "true"}],
    )
    sm.update_feature_metadata(FeatureGroupName="meta", FeatureName="f_0000", ParameterRemovals=["pii"])
    m = sm.describe_feature_metadata(FeatureGroupName="meta", FeatureName="f_0000")
    m.pop("ResponseMetadata")
    assert set(m) <= output_keys("DescribeFeatureMetadata")
    assert m["Description"] == "Customer age in years." and m["Parameters"] == [{"Key": "unit", "Value": "years"}]
    assert m["LastModifiedTime"] > m["CreationTime"]
    assert sm.describe_feature_group(FeatureGroupName="meta")["LastModifiedTime"] == before
    res = sm.search(
        Resource="FeatureMetadata",
        SearchExpression={"Filters": [{"Name": "Parameters.unit", "Operator": "Equals", "Value": "years"}]},
    )
    assert [r["FeatureMetadata"]["FeatureName"] for r in res["Results"]] == ["f_0000"]


def test_update_feature_group_and_tags_bump_last_modified(sm):
    arn = create(sm, "upd", OnlineStoreConfig={"EnableOnlineStore": True})
    t0 = sm.describe_feature_group(FeatureGroupName="upd")["LastModifiedTime"]
    sm.update_feature_group(
        FeatureGroupName="upd",
        FeatureAdditions=[{"FeatureName": "new_feature", "FeatureType": "Integral"}],
        OnlineStoreConfig={"TtlDuration": {"Unit": "Hours", "Value": 12}},
    )
    d = sm.describe_feature_group(FeatureGroupName="upd")
    assert d["LastModifiedTime"] > t0 and d["FeatureDefinitions"][-1]["FeatureName"] == "new_feature"
    assert d["OnlineStoreConfig"]["TtlDuration"] == {"Unit": "Hours", "Value": 12}
    assert sm.describe_feature_metadata(FeatureGroupName="upd", FeatureName="new_feature")["FeatureType"] == "Integral"
    t1 = d["LastModifiedTime"]
    sm.add_tags(ResourceArn=arn, Tags=[{"Key": "env", "Value": "prod"}, {"Key": "team", "Value": "fraud"}])
    assert sorted((t["Key"], t["Value"]) for t in sm.list_tags(ResourceArn=arn)["Tags"]) == [
        ("env", "prod"),
        ("team", "fraud"),
    ]
    t2 = sm.describe_feature_group(FeatureGroupName="upd")["LastModifiedTime"]
    assert t2 > t1
    sm.delete_tags(ResourceArn=arn, TagKeys=["env"])
    assert sm.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "team", "Value": "fraud"}]
    assert sm.describe_feature_group(FeatureGroupName="upd")["LastModifiedTime"] > t2


def test_delete_feature_group(sm):
    create(sm, "doomed")
    sm.delete_feature_group(FeatureGroupName="doomed")
    assert sm.list_feature_groups()["FeatureGroupSummaries"] == []
    assert sm.list_contexts(ContextType="FeatureGroup")["ContextSummaries"] == []


def test_collection_types_need_online_store(sm):
    vec = [
        {
            "FeatureName": "emb",
            "FeatureType": "Fractional",
            "CollectionType": "Vector",
            "CollectionConfig": {"VectorConfig": {"Dimension": 8}},
        }
    ]
    with pytest.raises(ClientError) as exc:
        create(sm, "vec_offline", FeatureDefinitions=defs(3) + vec)
    assert exc.value.response["Error"]["Code"] == "ValidationException"
    create(
        sm,
        "vec_online",
        FeatureDefinitions=defs(3) + vec,
        OnlineStoreConfig={"EnableOnlineStore": True, "StorageType": "InMemory"},
    )
    fd = sm.describe_feature_group(FeatureGroupName="vec_online")["FeatureDefinitions"][-1]
    assert fd["CollectionType"] == "Vector" and fd["CollectionConfig"]["VectorConfig"]["Dimension"] == 8


def test_other_search_resources_still_work(sm):
    sm.create_experiment(ExperimentName="exp-one")
    res = sm.search(Resource="Experiment")["Results"]
    assert [r["Experiment"]["ExperimentName"] for r in res] == ["exp-one"]
    assert sm.search(Resource="TrainingJob")["Results"] == []


def _assume(url, account_id, external_id, role="PantryCatalogReader"):
    sts = make_client(url, "sts")
    return sts.assume_role(
        RoleArn=f"arn:aws:iam::{account_id}:role/{role}", RoleSessionName="pantry-sync", ExternalId=external_id
    )["Credentials"]


def _reader_role(url, account_id, external_id):
    from sandbox.seed import create_reader_role

    return create_reader_role(url, account_id, external_id)


def test_cross_account_search(clean_sandbox):
    url = clean_sandbox.url
    owner, consumer, stranger = "111111111111", "444444444444", "555555555555"
    for acct in (owner, consumer, stranger):
        _reader_role(url, acct, f"ext-{acct}")
    owner_sm = make_client(url, creds=_assume(url, owner, f"ext-{owner}"))
    consumer_sm = make_client(url, creds=_assume(url, consumer, f"ext-{consumer}"))
    stranger_sm = make_client(url, creds=_assume(url, stranger, f"ext-{stranger}"))
    arn = create(owner_sm, "shared_catalog_group")
    assert ":111111111111:" in arn
    create(consumer_sm, "consumer_own_group")
    control.set_discoverable(url, owner, "eu-west-1", [consumer])

    def names(client, option=None):
        kw = {"CrossAccountFilterOption": option} if option else {}
        return sorted(
            r["FeatureGroup"]["FeatureGroupName"] for r in client.search(Resource="FeatureGroup", **kw)["Results"]
        )

    assert names(consumer_sm) == ["consumer_own_group"]
    assert names(consumer_sm, "SameAccount") == ["consumer_own_group"]
    # "CrossAccount": only resources made discoverable from other accounts.
    assert names(consumer_sm, "CrossAccount") == ["shared_catalog_group"]
    assert names(stranger_sm, "CrossAccount") == []
    # discoverability is not access
    with pytest.raises(ClientError) as exc:
        consumer_sm.describe_feature_group(FeatureGroupName=arn)
    assert exc.value.response["Error"]["Code"] == "AccessDeniedException"
    control.set_feature_group_access(url, arn, consumer, "ReadOnly")
    assert consumer_sm.describe_feature_group(FeatureGroupName=arn)["FeatureGroupArn"] == arn
    with pytest.raises(ClientError):
        consumer_sm.update_feature_metadata(FeatureGroupName=arn, FeatureName="f_0000", Description="x")


def _user_client(url, account_id, user_name, service="sagemaker", path="/"):
    """A client signing with a new access key of IAM user ``user_name`` in ``account_id``."""
    from sandbox.seed import admin_client

    iam = admin_client(url, "iam", account_id)
    iam.create_user(UserName=user_name, Path=path)
    key = iam.create_access_key(UserName=user_name)["AccessKey"]
    return make_client(
        url,
        service,
        creds={"AccessKeyId": key["AccessKeyId"], "SecretAccessKey": key["SecretAccessKey"], "SessionToken": None},
    )


def test_cross_account_access_denied_names_the_real_caller(clean_sandbox):
    """AWS's message names the principal that called: the role session, the IAM user, not a made-up one."""
    from sandbox.seed import admin_client

    url = clean_sandbox.url
    owner, consumer = "111111111111", "444444444444"
    _reader_role(url, consumer, f"ext-{consumer}")
    arn = create(admin_client(url, "sagemaker", owner, "eu-west-1"), "guarded_group")
    session = make_client(url, creds=_assume(url, consumer, f"ext-{consumer}"))
    user = _user_client(url, consumer, "dana", path="/analysts/")
    admin = admin_client(url, "sagemaker", consumer, "eu-west-1")

    def denied(client, call, **kwargs) -> str:
        with pytest.raises(ClientError) as exc:
            getattr(client, call)(**kwargs)
        assert exc.value.response["Error"]["Code"] == "AccessDeniedException"
        return exc.value.response["Error"]["Message"]

    because = "because no resource-based policy allows the sagemaker:{0} action"
    assert denied(session, "describe_feature_group", FeatureGroupName=arn) == (
        f"User: arn:aws:sts::{consumer}:assumed-role/PantryCatalogReader/pantry-sync is not authorized to perform: "
        f"sagemaker:DescribeFeatureGroup on resource: {arn} " + because.format("DescribeFeatureGroup")
    )
    assert denied(user, "add_tags", ResourceArn=arn, Tags=[{"Key": "k", "Value": "v"}]) == (
        f"User: arn:aws:iam::{consumer}:user/analysts/dana is not authorized to perform: "
        f"sagemaker:AddTags on resource: {arn} " + because.format("AddTags")
    )
    # The administrator's keys (``testing``) act as moto's default identity in the account they name.
    assert denied(admin, "describe_feature_metadata", FeatureGroupName=arn, FeatureName="f_0000").startswith(
        f"User: arn:aws:iam::{consumer}:user/moto is not authorized to perform: sagemaker:DescribeFeatureMetadata "
    )


def test_assume_role_enforces_external_id(clean_sandbox):
    url = clean_sandbox.url
    _reader_role(url, "222222222222", "pantry-payments-ml")
    creds = _assume(url, "222222222222", "pantry-payments-ml")
    ident = make_client(url, "sts", creds=creds).get_caller_identity()
    assert ident["Account"] == "222222222222"
    sts = make_client(url, "sts")
    role = "arn:aws:iam::222222222222:role/PantryCatalogReader"
    for kwargs in ({"ExternalId": "wrong-id"}, {}):
        with pytest.raises(ClientError) as exc:
            sts.assume_role(RoleArn=role, RoleSessionName="pantry", **kwargs)
        err = exc.value.response
        assert err["Error"]["Code"] == "AccessDenied"
        assert err["ResponseMetadata"]["HTTPStatusCode"] == 403
        assert "is not authorized to perform: sts:AssumeRole on resource: " + role in err["Error"]["Message"]
    with pytest.raises(ClientError) as exc:
        sts.assume_role(
            RoleArn="arn:aws:iam::222222222222:role/Nope", RoleSessionName="pantry", ExternalId="pantry-payments-ml"
        )
    assert exc.value.response["Error"]["Code"] == "AccessDenied"


def test_assume_role_access_denied_names_the_caller_as_every_access_denied_does(clean_sandbox):
    """The role session, the IAM user, or moto's default user of the account for the administrator's keys."""
    from sandbox.seed import admin_client

    url = clean_sandbox.url
    caller, target = "444444444444", "222222222222"
    _reader_role(url, caller, f"ext-{caller}")
    _reader_role(url, target, f"ext-{target}")
    role = f"arn:aws:iam::{target}:role/PantryCatalogReader"
    session = make_client(url, "sts", creds=_assume(url, caller, f"ext-{caller}"))
    user = _user_client(url, caller, "dana", service="sts", path="/analysts/")
    admin = admin_client(url, "sts", caller, "eu-west-1")

    def denied(client) -> str:
        with pytest.raises(ClientError) as exc:
            client.assume_role(RoleArn=role, RoleSessionName="pantry", ExternalId="wrong-id")
        assert exc.value.response["Error"]["Code"] == "AccessDenied"
        return exc.value.response["Error"]["Message"]

    action = f"is not authorized to perform: sts:AssumeRole on resource: {role}"
    assert denied(session) == f"User: arn:aws:sts::{caller}:assumed-role/PantryCatalogReader/pantry-sync {action}"
    assert denied(user) == f"User: arn:aws:iam::{caller}:user/analysts/dana {action}"
    assert denied(admin) == f"User: arn:aws:iam::{caller}:user/moto {action}"


def test_fault_injection_throttling(clean_sandbox):
    url = clean_sandbox.url
    retrying = make_client(url, retries={"max_attempts": 3, "mode": "standard"})
    control.inject_fault(url, service="sagemaker", operation="Search", error_code="ThrottlingException", count=2)
    res = retrying.search(Resource="FeatureGroup")  # two throttles, third attempt succeeds
    assert res["ResponseMetadata"]["RetryAttempts"] == 2
    control.inject_fault(url, service="sagemaker", operation="Search", error_code="ThrottlingException", count=-1)
    with pytest.raises(ClientError) as exc:
        retrying.search(Resource="FeatureGroup")
    assert exc.value.response["Error"]["Code"] == "ThrottlingException"
    assert exc.value.response["Error"]["Message"] == "Rate exceeded"
    assert exc.value.response["ResponseMetadata"]["RetryAttempts"] >= 2
    # other operations and other accounts are unaffected
    retrying.list_feature_groups()
    control.clear_faults(url)
    retrying.search(Resource="FeatureGroup")
    # account-scoped faults and query-protocol services
    control.inject_fault(
        url,
        service="sts",
        operation="GetCallerIdentity",
        error_code="AccessDenied",
        status=403,
        account_id="123456789012",
    )
    with pytest.raises(ClientError) as exc:
        make_client(url, "sts").get_caller_identity()
    assert exc.value.response["Error"]["Code"] == "AccessDenied"
    control.inject_fault(url, operation="Search", account_id="999999999999", error_code="ThrottlingException", count=-1)
    retrying.search(Resource="FeatureGroup")
    assert len(control.list_faults(url)) == 2


def _search_all(sm, resource="FeatureGroup", between_pages=None, **params):
    """Every Search page; `between_pages(n)` runs after page n (as AWS changes while a client pages)."""
    found, token, n = [], None, 0
    while True:
        page = sm.search(Resource=resource, MaxResults=100, **params, **({"NextToken": token} if token else {}))
        found += [r[resource] for r in page["Results"]]
        token = page.get("NextToken")
        if not token:
            return found
        n += 1
        if between_pages:
            between_pages(n)


def test_search_sorts_by_last_modified_time_descending_by_default(sm):
    for name in ("first", "second", "third"):
        create(sm, name)
    sm.update_feature_group(
        FeatureGroupName="first", FeatureAdditions=[{"FeatureName": "added", "FeatureType": "String"}]
    )

    listed = [g["FeatureGroupName"] for g in _search_all(sm)]

    assert listed == ["first", "third", "second"]
    ascending = [g["FeatureGroupName"] for g in _search_all(sm, SortBy="CreationTime", SortOrder="Ascending")]
    assert ascending == ["first", "second", "third"]


def test_a_group_edited_while_a_client_pages_in_the_default_order_drops_out_of_the_listing(sm):
    # Search's NextToken continues after the last result's sort key in the listing as it is
    # now: the edit moves the group from page 2 to the front, past the cursor.
    for i in range(150):
        create(sm, f"g_{i:03d}", n=3)
    moved = "g_010"  # among the oldest, so on page 2 in LastModifiedTime-descending order

    def edit(_page):
        sm.add_tags(
            ResourceArn=sm.describe_feature_group(FeatureGroupName=moved)["FeatureGroupArn"],
            Tags=[{"Key": "edited", "Value": "yes"}],
        )

    default = {g["FeatureGroupName"] for g in _search_all(sm, between_pages=edit)}
    assert len(default) == 149 and moved not in default

    stable = _search_all(sm, SortBy="CreationTime", SortOrder="Ascending", between_pages=edit)
    assert len({g["FeatureGroupName"] for g in stable}) == 150


def test_a_group_created_while_a_client_pages_in_creation_order_comes_last(sm):
    for i in range(120):
        create(sm, f"g_{i:03d}", n=3)

    stable = _search_all(
        sm, SortBy="CreationTime", SortOrder="Ascending", between_pages=lambda _: create(sm, "latecomer", n=3)
    )

    assert [g["FeatureGroupName"] for g in stable][-1] == "latecomer"
    assert len(stable) == 121


@pytest.mark.parametrize(
    "value",
    [
        "2026-11-01T12:00:00.000000",
        "2026-11-01T12:00:00+00:00",
        "2026-11-01T12:00:00Z",
        "2026-11-01 12:00:00",
        "2026-11-01",
        "1793534400",
        "2026-02-30T12:00:00",
    ],
)
def test_search_rejects_timestamp_filter_values_not_in_the_documented_form(sm, value):
    for resource in ("FeatureGroup", "FeatureMetadata"):
        with pytest.raises(ClientError) as exc:
            sm.search(
                Resource=resource,
                SearchExpression={
                    "Filters": [{"Name": "LastModifiedTime", "Operator": "GreaterThanOrEqualTo", "Value": value}]
                },
            )
        error = exc.value.response["Error"]
        assert error["Code"] == "ValidationException"
        assert error["Message"] == (
            f"Invalid value '{value}' for the timestamp property LastModifiedTime. "
            "Timestamp values must be in the format yyyy-MM-dd'T'HH:mm:ss."
        )


def test_a_metadata_edit_under_search_lag_is_searchable_only_later(sm, clean_sandbox):
    create(sm, "lagging")
    control.set_search_lag(clean_sandbox.url, 300)
    sm.update_feature_metadata(FeatureGroupName="lagging", FeatureName="f_0000", Description="New words")
    control.set_search_lag(clean_sandbox.url, 0)

    def searched():
        (hit,) = [
            m
            for m in _search_all(sm, "FeatureMetadata")
            if (m["FeatureGroupName"], m["FeatureName"]) == ("lagging", "f_0000")
        ]
        return hit

    stale = searched()
    assert "Description" not in stale  # the version Search indexed before the edit
    described = sm.describe_feature_metadata(FeatureGroupName="lagging", FeatureName="f_0000")
    assert described["Description"] == "New words"  # Describe reads the resource itself
    assert stale["LastModifiedTime"] < described["LastModifiedTime"]
    control.flush_search_index(clean_sandbox.url)
    fresh = searched()
    assert fresh["Description"] == "New words"
    assert fresh["LastModifiedTime"] == described["LastModifiedTime"]


def test_groups_found_cross_account_carry_no_searchable_or_returned_tags(clean_sandbox):
    # "Tags are searchable for your own feature groups but are not searchable for feature
    # groups made discoverable to you."
    url = clean_sandbox.url
    owner, consumer = "111111111111", "444444444444"
    for acct in (owner, consumer):
        _reader_role(url, acct, f"ext-{acct}")
    owner_sm = make_client(url, creds=_assume(url, owner, f"ext-{owner}"))
    consumer_sm = make_client(url, creds=_assume(url, consumer, f"ext-{consumer}"))
    create(owner_sm, "shared_group", Tags=[{"Key": "team", "Value": "fraud"}])
    control.set_discoverable(url, owner, "eu-west-1", [consumer])
    by_tag = {"Filters": [{"Name": "Tags.team", "Operator": "Equals", "Value": "fraud"}]}

    (found,) = consumer_sm.search(Resource="FeatureGroup", CrossAccountFilterOption="CrossAccount")["Results"]
    assert found["FeatureGroup"]["FeatureGroupName"] == "shared_group"
    assert "Tags" not in found["FeatureGroup"]
    tagged = consumer_sm.search(
        Resource="FeatureGroup", CrossAccountFilterOption="CrossAccount", SearchExpression=by_tag
    )
    assert tagged["Results"] == []
    # The owner still finds its own group by tag.
    assert len(owner_sm.search(Resource="FeatureGroup", SearchExpression=by_tag)["Results"]) == 1


@pytest.mark.parametrize("call", ["list_feature_groups", "list_contexts", "list_associations"])
def test_a_sort_order_outside_the_enum_is_a_validation_error(sm, call):
    """AWS refuses SortOrder=Asc; the sandbox used to sort ascending instead (seen with the AWS CLI)."""
    with pytest.raises(ClientError) as exc:
        getattr(sm, call)(SortOrder="Asc")
    error = exc.value.response["Error"]
    assert error["Code"] == "ValidationException"
    assert "Value 'Asc' at 'sortOrder'" in error["Message"]
    assert getattr(sm, call)(SortOrder="Descending")["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_a_list_token_is_good_only_for_the_filters_that_made_it(sm):
    for i in range(3):
        create(sm, f"token_{i}", n=3)
    start = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    first = sm.list_feature_groups(MaxResults=1, CreationTimeAfter=start, OfflineStoreStatusEquals="Active")
    token = first["NextToken"]
    assert sm.list_feature_groups(
        MaxResults=1, CreationTimeAfter=start, OfflineStoreStatusEquals="Active", NextToken=token
    )["FeatureGroupSummaries"]
    for other in (
        {"CreationTimeAfter": start + dt.timedelta(days=1), "OfflineStoreStatusEquals": "Active"},
        {"CreationTimeAfter": start},
        {"CreationTimeAfter": start, "OfflineStoreStatusEquals": "Active", "CreationTimeBefore": start},
    ):
        with pytest.raises(ClientError) as exc:
            sm.list_feature_groups(MaxResults=1, NextToken=token, **other)
        assert exc.value.response["Error"]["Code"] == "ValidationException", other
