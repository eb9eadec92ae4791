"""Seed the sandbox with a realistic organisation, through boto3 calls against the endpoint.

The seed acts as a sandbox administrator: it selects the target account with moto's
``x-moto-account-id`` request header (the only sandbox-specific thing it does), because the
PantryCatalogReader roles it creates are read-only and STS now enforces trust policies.
Deterministic (``random.Random(SEED)``) and idempotent: existing resources are skipped.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import random
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from . import DEFAULT_REGION, PLATFORM_ACCOUNT_ID, vocab

SEED = 20240611
ROLE_NAME = "PantryCatalogReader"
SECONDARY_REGION = "us-east-1"
_CLIENT_LOCK = threading.Lock()
_CONFIG = Config(retries={"max_attempts": 3, "mode": "standard"}, max_pool_connections=32)
INVITATION_LIFETIME = dt.timedelta(hours=12)
# CreateFeatureGroup's Description: at most 128 characters (botocore's model; the API reference,
# https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreateFeatureGroup.html).
AWS_DESCRIPTION_MAX = 128


def external_id_for(account_name: str) -> str:
    return f"pantry-{account_name}"


@functools.lru_cache(maxsize=256)
def admin_client(endpoint_url: str, service: str, account_id: str, region: str = DEFAULT_REGION):
    """A boto3 client acting as the sandbox admin inside ``account_id``.

    Cached: building a client loads botocore's service model (slow for
    SageMaker), and clients are safe to share between threads.
    """
    with _CLIENT_LOCK:  # client creation itself is not thread-safe
        client = boto3.client(
            service,
            endpoint_url=endpoint_url,
            region_name=region,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=_CONFIG,
        )

    def _add_header(request: Any, **_: Any) -> None:
        request.headers["x-moto-account-id"] = account_id

    client.meta.events.register("before-sign", _add_header)
    return client


def _ignore(codes: tuple[str, ...], fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except ClientError as exc:
        if exc.response["Error"]["Code"] in codes:
            return None
        raise


def trust_policy(external_id: str, trusted_account: str = PLATFORM_ACCOUNT_ID) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{trusted_account}:root"},
                    "Action": "sts:AssumeRole",
                    "Condition": {"StringEquals": {"sts:ExternalId": external_id}},
                }
            ],
        }
    )


# The policies of an account's Pantry role are the repository's (deploy/aws/policies/,
# docs/aws-setup.md), filled in the way CloudFormation does: the sandbox does not evaluate them,
# but the demo's roles carry exactly what account owners are told to create.
POLICY_DIR = Path(__file__).resolve().parent.parent / "deploy" / "aws" / "policies"
ROLE_POLICIES = ("pantry-read", "pantry-metadata-write", "pantry-share")


def role_policy(name: str, account_id: str) -> str:
    text = (POLICY_DIR / f"{name}.json").read_text()
    return text.replace("${AWS::Partition}", "aws").replace("${AWS::AccountId}", account_id)


def create_reader_role(endpoint_url: str, account_id: str, external_id: str) -> str:
    iam = admin_client(endpoint_url, "iam", account_id)
    _ignore(
        ("EntityAlreadyExists",),
        iam.create_role,
        RoleName=ROLE_NAME,
        AssumeRolePolicyDocument=trust_policy(external_id),
        Description="Read-only role Pantry assumes to catalogue this account's feature store.",
        Tags=[{"Key": "managed-by", "Value": "pantry"}],
    )
    for name in ROLE_POLICIES:
        iam.put_role_policy(RoleName=ROLE_NAME, PolicyName=name, PolicyDocument=role_policy(name, account_id))
    return f"arn:aws:iam::{account_id}:role/{ROLE_NAME}"


def ensure_bucket(endpoint_url: str, account_id: str, region: str, name: str) -> None:
    s3 = admin_client(endpoint_url, "s3", account_id, region)
    kwargs: dict[str, Any] = {"Bucket": name}
    if region != "us-east-1":
        kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
    _ignore(("BucketAlreadyOwnedByYou", "BucketAlreadyExists"), s3.create_bucket, **kwargs)


def offline_bucket(account_id: str, region: str) -> str:
    return f"sagemaker-featurestore-{account_id}-{region}"


# --------------------------------------------------------------------------- feature groups


def _build_group(rng: random.Random, domain_key: str, domain: dict, group: tuple, owner_id: str, index: int) -> dict:
    name, purpose, pii, region = group
    entity, entity_desc = domain["entity"]
    pool = [
        {"FeatureName": f[0], "FeatureType": f[1], "_desc": f[2], "_unit": f[3], "_source": f[4], "_pii": f[5]}
        for f in domain["features"]
    ]
    for stem, ftype, desc, unit in domain["windowed"]:
        for w in vocab.WINDOWS:
            pool.append(
                {
                    "FeatureName": f"{stem}_{w}",
                    "FeatureType": ftype,
                    "_desc": desc.format(w=vocab.WINDOW_WORDS[w]),
                    "_unit": unit,
                    "_source": domain["source"].split(".")[0],
                    "_pii": "false",
                    "_window": w,
                }
            )
    wanted = min(len(pool), rng.randint(3, 58))
    chosen = rng.sample(pool, wanted)
    realtime = "realtime" in name or "online" in purpose.lower() or rng.random() < 0.3
    online = realtime or rng.random() < 0.4
    offline = not realtime or rng.random() < 0.7
    if not online and not offline:
        offline = True
    features = [
        {
            "FeatureName": entity,
            "FeatureType": "String",
            "_desc": entity_desc,
            "_unit": "",
            "_source": domain["source"],
            "_pii": "false",
        },
        {
            "FeatureName": "event_time",
            "FeatureType": "Fractional",
            "_desc": "Event time of the record as Unix epoch seconds (UTC).",
            "_unit": "epoch_seconds",
            "_source": "pipeline",
            "_pii": "false",
        },
    ] + chosen
    if online and domain.get("collections"):
        for cname, ctype, ckind, cdesc, dim in domain["collections"]:
            if rng.random() < 0.6:
                feat = {
                    "FeatureName": cname,
                    "FeatureType": ctype,
                    "CollectionType": ckind,
                    "_desc": cdesc,
                    "_unit": "",
                    "_source": "stream",
                    "_pii": "false",
                }
                if dim:
                    feat["CollectionConfig"] = {"VectorConfig": {"Dimension": dim}}
                features.append(feat)
    pipeline = f"{domain_key.replace('_', '-')}-features"
    consumers = ", ".join(rng.sample(vocab.CONSUMER_USES, 2))
    keyed = f"Keyed by {entity}; {len(features)} features."
    # The owning team's notes (sources, refresh, caveats, consumers) are several sentences: more than
    # AWS keeps for a feature group (CreateFeatureGroup's Description is at most 128 characters), so
    # AWS holds the purpose and the whole text is the group's Pantry description (portal/demo.py).
    notes = " ".join(
        [
            purpose,
            keyed,
            domain["sources_sentence"],
            rng.choice(vocab.REFRESH_SENTENCES).format(pipeline=pipeline),
            domain["caveat"],
            rng.choice(vocab.USAGE_SENTENCES).format(consumers=consumers),
        ]
    )
    description = f"{purpose} {keyed}"
    if len(description) > AWS_DESCRIPTION_MAX:
        description = purpose
    params: dict[str, Any] = {
        "FeatureGroupName": name,
        "RecordIdentifierFeatureName": entity,
        "EventTimeFeatureName": "event_time",
        "FeatureDefinitions": [{k: v for k, v in f.items() if not k.startswith("_")} for f in features],
        "Description": description,
        "RoleArn": f"arn:aws:iam::{owner_id}:role/SageMakerFeatureStoreExecution",
        "Tags": [
            {"Key": "team", "Value": domain["team"]},
            {"Key": "domain", "Value": domain_key.replace("_", "-")},
            {"Key": "cost-center", "Value": domain["cost_center"]},
            {"Key": "pii", "Value": pii},
            {"Key": "env", "Value": "prod" if index % 5 else "staging"},
        ],
    }
    if online:
        store = {"EnableOnlineStore": True, "StorageType": "InMemory" if realtime else "Standard"}
        if not realtime:
            store["TtlDuration"] = {"Unit": "Days", "Value": rng.choice([7, 30, 90])}
        params["OnlineStoreConfig"] = store
    if offline:
        params["OfflineStoreConfig"] = {
            "S3StorageConfig": {"S3Uri": f"s3://{offline_bucket(owner_id, region)}/{domain_key}"},
            "TableFormat": rng.choice(["Glue", "Iceberg"]),
        }
    metadata = [
        (
            f["FeatureName"],
            f["_desc"],
            [{"Key": "source", "Value": f["_source"]}, {"Key": "pii", "Value": f["_pii"]}]
            + ([{"Key": "unit", "Value": f["_unit"]}] if f["_unit"] else [])
            + ([{"Key": "aggregation_window", "Value": f["_window"]}] if f.get("_window") else []),
        )
        for f in features
    ]
    return {"params": params, "metadata": metadata, "region": region, "domain": domain_key, "notes": notes}


def _create_group(endpoint_url: str, account_id: str, spec: dict) -> str:
    sm = admin_client(endpoint_url, "sagemaker", account_id, spec["region"])
    name = spec["params"]["FeatureGroupName"]
    try:
        arn = sm.create_feature_group(**spec["params"])["FeatureGroupArn"]
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ResourceInUse":
            raise
        return sm.describe_feature_group(FeatureGroupName=name)["FeatureGroupArn"]
    for feature, description, parameters in spec["metadata"]:
        sm.update_feature_metadata(
            FeatureGroupName=name, FeatureName=feature, Description=description, ParameterAdditions=parameters
        )
    return arn


# --------------------------------------------------------------------------- lineage


class _Lineage:
    def __init__(self, endpoint_url: str, account_id: str, region: str) -> None:
        self.sm = admin_client(endpoint_url, "sagemaker", account_id, region)
        self.account_id, self.region = account_id, region
        self.record: dict[str, list] = {"artifacts": [], "contexts": [], "actions": [], "associations": []}

    def artifact(self, uri: str, artifact_type: str, name: str, properties: dict | None = None) -> str:
        found = self.sm.list_artifacts(SourceUri=uri, ArtifactType=artifact_type, MaxResults=1)["ArtifactSummaries"]
        arn = (
            found[0]["ArtifactArn"]
            if found
            else self.sm.create_artifact(
                ArtifactName=name, Source={"SourceUri": uri}, ArtifactType=artifact_type, Properties=properties or {}
            )["ArtifactArn"]
        )
        self.record["artifacts"].append({"arn": arn, "type": artifact_type, "uri": uri})
        return arn

    def _named(self, kind: str, name: str, **kwargs: Any) -> str:
        try:
            arn = getattr(self.sm, f"describe_{kind}")(**{f"{kind.capitalize()}Name": name})[f"{kind.capitalize()}Arn"]
        except ClientError:
            arn = getattr(self.sm, f"create_{kind}")(**{f"{kind.capitalize()}Name": name}, **kwargs)[
                f"{kind.capitalize()}Arn"
            ]
        self.record[f"{kind}s"].append({"arn": arn, "name": name, "type": kwargs.get(f"{kind.capitalize()}Type")})
        return arn

    def context(self, name: str, context_type: str, uri: str, description: str) -> str:
        return self._named(
            "context", name, ContextType=context_type, Source={"SourceUri": uri}, Description=description
        )

    def action(self, name: str, action_type: str, uri: str, description: str) -> str:
        return self._named(
            "action",
            name,
            ActionType=action_type,
            Source={"SourceUri": uri},
            Description=description,
            Status="Completed",
        )

    def associate(self, src: str, dst: str, association_type: str) -> None:
        _ignore(
            ("ValidationException",),
            self.sm.add_association,
            SourceArn=src,
            DestinationArn=dst,
            AssociationType=association_type,
        )
        self.record["associations"].append({"source": src, "destination": dst, "type": association_type})

    def feature_group_context(self, fg_arn: str) -> str:
        ctx = self.sm.list_contexts(SourceUri=fg_arn, ContextType="FeatureGroup", MaxResults=1)["ContextSummaries"]
        return ctx[0]["ContextArn"]


def _seed_lineage(endpoint_url: str, account_id: str, region: str, groups: list[dict]) -> dict:
    lin = _Lineage(endpoint_url, account_id, region)
    prefix = f"arn:aws:sagemaker:{region}:{account_id}"
    fg_contexts: dict[str, str] = {}
    by_domain: dict[str, list[str]] = {}
    for g in groups:
        domain = g["domain"]
        d = vocab.DOMAINS[domain]
        src_table = d["source"].split(".")[1]
        pipeline_name = f"{domain.replace('_', '-')}-features"
        pipe_ctx = lin.context(
            f"{pipeline_name}-pipeline",
            "SageMakerPipeline",
            f"{prefix}:pipeline/{pipeline_name}",
            f"Feature pipeline that computes the {domain.replace('_', ' ')} feature groups.",
        )
        raw = lin.artifact(
            f"s3://raw-{account_id}-{region}/{d['source'].replace('.', '/')}/",
            "DataSet",
            f"raw-{src_table.replace('_', '-')}",
            {"format": "parquet", "owner": d["team"]},
        )
        glue = lin.artifact(
            f"arn:aws:glue:{region}:{account_id}:table/{d['source'].split('.')[0]}/{src_table}",
            "DataSet",
            f"glue-{src_table.replace('_', '-')}",
            {"catalog": "AwsDataCatalog"},
        )
        job_name = f"{g['name'].replace('_', '-')}-ingest"[:60]
        job = lin.action(
            job_name, "ProcessingJob", f"{prefix}:processing-job/{job_name}", f"Ingestion job writing {g['name']}."
        )
        fg_ctx = lin.feature_group_context(g["arn"])
        fg_contexts[g["arn"]] = fg_ctx
        lin.associate(raw, job, "ContributedTo")
        lin.associate(glue, job, "ContributedTo")
        lin.associate(job, pipe_ctx, "AssociatedWith")
        lin.associate(job, fg_ctx, "Produced")
        by_domain.setdefault(domain, []).append(fg_ctx)
    for training, model, endpoint, domains in vocab.DOWNSTREAM:
        inputs = [c for dom in domains for c in by_domain.get(dom, [])]
        if not inputs:
            continue
        train = lin.action(training, "TrainingJob", f"{prefix}:training-job/{training}", f"Trains the {model} model.")
        model_art = lin.artifact(
            f"s3://models-{account_id}-{region}/{model}/output/model.tar.gz", "Model", model, {"framework": "xgboost"}
        )
        ep = lin.context(endpoint, "Endpoint", f"{prefix}:endpoint/{endpoint}", f"Real-time endpoint serving {model}.")
        for ctx in inputs[:4]:
            lin.associate(ctx, train, "ContributedTo")
        lin.associate(train, model_art, "Produced")
        lin.associate(model_art, ep, "ContributedTo")
    out = lin.record
    out["feature_group_contexts"] = fg_contexts
    return out


# --------------------------------------------------------------------------- organisation and RAM


def ensure_organisation(endpoint_url: str, management_account: str, units: dict[str, list[str]]) -> dict:
    """An AWS Organization (all features) whose OUs hold these existing accounts, with RAM sharing on.

    Accounts join the way existing accounts join in AWS: an invitation handshake from the
    management account, accepted by the account. Idempotent.
    """
    mgmt = admin_client(endpoint_url, "organizations", management_account, "us-east-1")
    try:
        org = mgmt.describe_organization()["Organization"]
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "AWSOrganizationsNotInUseException":
            raise
        org = mgmt.create_organization(FeatureSet="ALL")["Organization"]
    root = mgmt.list_roots()["Roots"][0]["Id"]
    existing = {
        ou["Name"]: ou for ou in mgmt.list_organizational_units_for_parent(ParentId=root)["OrganizationalUnits"]
    }
    members = {a["Id"] for a in mgmt.list_accounts()["Accounts"]}
    out_units = []
    for name, accounts in units.items():
        ou = existing.get(name) or mgmt.create_organizational_unit(ParentId=root, Name=name)["OrganizationalUnit"]
        for account in accounts:
            if account not in members:
                handshake = mgmt.invite_account_to_organization(
                    Target={"Id": account, "Type": "ACCOUNT"}, Notes="Join the Pantry demo organisation."
                )["Handshake"]
                admin_client(endpoint_url, "organizations", account, "us-east-1").accept_handshake(
                    HandshakeId=handshake["Id"]
                )
            parent = mgmt.list_parents(ChildId=account)["Parents"][0]["Id"]
            if parent != ou["Id"]:
                mgmt.move_account(AccountId=account, SourceParentId=parent, DestinationParentId=ou["Id"])
        out_units.append({"id": ou["Id"], "arn": ou["Arn"], "name": name, "accounts": sorted(accounts)})
    # Organisation-wide: members get shares without invitations from now on.
    admin_client(endpoint_url, "ram", management_account).enable_sharing_with_aws_organization()
    return {
        "id": org["Id"],
        "arn": org["Arn"],
        "management_account_id": management_account,
        "feature_set": org["FeatureSet"],
        "sharing_with_aws_organization": True,
        "member_accounts": sorted({a["Id"] for a in mgmt.list_accounts()["Accounts"]}),
        "organizational_units": out_units,
    }


LEVEL_SLUGS = {"ReadOnly": "read-only", "ReadWrite": "read-write", "Admin": "admin", "Discover": "discover"}


@functools.lru_cache(maxsize=16)
def managed_permissions(endpoint_url: str, account_id: str, region: str) -> dict[str, dict]:
    """Level -> RAM managed permission, resolved with ListPermissions as a client must.

    AWS's documentation spells the names with different case (SageMaker / Sagemaker), so match
    on the resource type and the name's ending, case-insensitively.
    """
    ram = admin_client(endpoint_url, "ram", account_id, region)
    found: dict[str, dict] = {}
    for resource_type, endings in (
        ("sagemaker:FeatureGroup", {"ReadOnly": "readonly", "ReadWrite": "readwrite", "Admin": "admin"}),
        ("sagemaker:SagemakerCatalog", {"Discover": "resourcesearch"}),
    ):
        kwargs: dict[str, Any] = {"resourceType": resource_type}
        while True:  # botocore has no paginator for ListPermissions
            page = ram.list_permissions(**kwargs)
            for permission in page["permissions"]:
                for level, ending in endings.items():
                    if permission["name"].lower().endswith(ending):
                        found[level] = {"arn": permission["arn"], "name": permission["name"]}
            if not page.get("nextToken"):
                break
            kwargs["nextToken"] = page["nextToken"]
    return found


def share_with_account(
    endpoint_url: str,
    *,
    owner: str,
    region: str,
    consumer: str,
    consumer_name: str,
    level: str,
    resource_arns: list[str],
    accept: bool,
) -> list[dict]:
    """One RAM share per owner, Region, consumer and level (Pantry's convention). Idempotent.

    Returns one manifest row per shared resource. ``accept`` answers the consumer's invitation
    (if RAM sent one) on the consumer's behalf.
    """
    permission = managed_permissions(endpoint_url, owner, region)[level]
    ram = admin_client(endpoint_url, "ram", owner, region)
    share = ram.create_resource_share(
        name=f"{consumer_name}-{LEVEL_SLUGS[level]}",
        resourceArns=resource_arns,
        principals=[consumer],
        permissionArns=[permission["arn"]],
        tags=[{"key": "created-by", "value": "sandbox-seed"}],
        clientToken=f"seed-{owner}-{region}-{consumer}-{LEVEL_SLUGS[level]}",
    )["resourceShare"]
    consumer_ram = admin_client(endpoint_url, "ram", consumer, region)
    invitations = consumer_ram.get_resource_share_invitations(resourceShareArns=[share["resourceShareArn"]])[
        "resourceShareInvitations"
    ]
    invitation = invitations[-1] if invitations else None
    if invitation is not None and accept and invitation["status"] == "PENDING":
        invitation = consumer_ram.accept_resource_share_invitation(
            resourceShareInvitationArn=invitation["resourceShareInvitationArn"],
            clientToken="seed-accept-" + invitation["resourceShareInvitationArn"].rsplit("/", 1)[1],
        )["resourceShareInvitation"]
    association = ram.get_resource_share_associations(
        associationType="PRINCIPAL", resourceShareArns=[share["resourceShareArn"]], principal=consumer
    )["resourceShareAssociations"][0]
    return [
        {
            "share_arn": share["resourceShareArn"],
            "share_name": share["name"],
            "owner_account": owner,
            "region": region,
            "consumer_account": consumer,
            "resource_arn": arn,
            "resource_type": "sagemaker:SagemakerCatalog" if ":sagemaker-catalog/" in arn else "sagemaker:FeatureGroup",
            "permission_arn": permission["arn"],
            "permission_name": permission["name"],
            "level": level,
            "status": invitation["status"] if invitation is not None else association["status"],
            "association_status": association["status"],
            "external": association["external"],
            "invitation_arn": invitation["resourceShareInvitationArn"] if invitation is not None else None,
        }
        for arn in resource_arns
    ]


def _seed_shares(endpoint_url: str, ids: dict[str, str], feature_groups: list[dict]) -> tuple[list[dict], list[dict]]:
    names = {acct: name for name, acct in ids.items()}
    arn_by_name = {(fg["account_id"], fg["region"], fg["name"]): fg["arn"] for fg in feature_groups}
    planned: dict[tuple[str, str, str, str, bool], list[str]] = {}
    for owner_name, region, consumer_names in vocab.DISCOVERABLE:
        owner = ids[owner_name]
        catalog = f"arn:aws:sagemaker:{region}:{owner}:sagemaker-catalog/DefaultFeatureGroupCatalog"
        for consumer_name in consumer_names:
            planned.setdefault((owner, region, ids[consumer_name], "Discover", True), []).append(catalog)
    for rows, accept in ((vocab.ACCESS, True), (vocab.PENDING, False)):
        for owner_name, region, group, consumer_name, level in rows:
            owner = ids[owner_name]
            key = (owner, region, ids[consumer_name], level, accept)
            planned.setdefault(key, []).append(arn_by_name[(owner, region, group)])
    shares: list[dict] = []
    for (owner, region, consumer, level, accept), arns in planned.items():
        shares += share_with_account(
            endpoint_url,
            owner=owner,
            region=region,
            consumer=consumer,
            consumer_name=names[consumer],
            level=level,
            resource_arns=arns,
            accept=accept,
        )
    invitations = []
    for consumer in sorted({row["consumer_account"] for row in shares if row["invitation_arn"]}):
        for region in sorted({row["region"] for row in shares}):
            ram = admin_client(endpoint_url, "ram", consumer, region)
            for page in ram.get_paginator("get_resource_share_invitations").paginate():
                for invitation in page["resourceShareInvitations"]:
                    sent = invitation["invitationTimestamp"]
                    invitations.append(
                        {
                            "invitation_arn": invitation["resourceShareInvitationArn"],
                            "share_arn": invitation["resourceShareArn"],
                            "share_name": invitation["resourceShareName"],
                            "sender_account": invitation["senderAccountId"],
                            "receiver_account": invitation["receiverAccountId"],
                            "region": region,
                            "status": invitation["status"],
                            "sent_at": sent.astimezone(dt.UTC).isoformat(),
                            # RAM invitations for SageMaker resource types expire after 12 hours.
                            "expires_at": (sent + INVITATION_LIFETIME).astimezone(dt.UTC).isoformat(),
                        }
                    )
    return shares, invitations


def _grants_in_effect(shares: list[dict]) -> tuple[list[dict], list[dict]]:
    """The older manifest views: catalogs discoverable and per-group access now in effect."""
    live = [row for row in shares if row["status"] in ("ASSOCIATED", "ACCEPTED")]
    catalogs: dict[tuple[str, str], list[str]] = {}
    access = []
    for row in live:
        if row["level"] == "Discover":
            catalogs.setdefault((row["owner_account"], row["region"]), []).append(row["consumer_account"])
        else:
            access.append(
                {
                    "arn": row["resource_arn"],
                    "consumer_account": row["consumer_account"],
                    "permission": row["level"],
                    "share_arn": row["share_arn"],
                }
            )
    discoverable = [
        {"owner_account": owner, "region": region, "consumer_accounts": consumers}
        for (owner, region), consumers in catalogs.items()
    ]
    return discoverable, access


# --------------------------------------------------------------------------- entry points


def seed_organisation(endpoint_url: str, manifest_path: str | None = None, workers: int = 8) -> dict:
    """Build the demo organisation. Returns (and optionally writes) the manifest."""
    rng = random.Random(SEED)
    ids = {name: acct for acct, name, _ in vocab.ACCOUNTS}
    specs: list[tuple[str, dict]] = []
    index = 0
    for domain_key, domain in vocab.DOMAINS.items():
        owner = ids[domain["owner"]]
        for group in domain["groups"]:
            specs.append((owner, _build_group(rng, domain_key, domain, group, owner, index)))
            index += 1
    regions_by_account: dict[str, set[str]] = {acct: {DEFAULT_REGION} for acct in ids.values()}
    for owner, spec in specs:
        regions_by_account[owner].add(spec["region"])

    accounts = []
    for acct, name, kind in vocab.ACCOUNTS:
        external_id = external_id_for(name)
        role_arn = create_reader_role(endpoint_url, acct, external_id)
        for region in sorted(regions_by_account[acct]):
            if kind != "consumer":
                ensure_bucket(endpoint_url, acct, region, offline_bucket(acct, region))
        accounts.append(
            {
                "account_id": acct,
                "name": name,
                "kind": kind,
                "role_arn": role_arn,
                "external_id": external_id,
                "regions": sorted(regions_by_account[acct]),
            }
        )

    with ThreadPoolExecutor(max_workers=workers) as pool:
        arns = list(pool.map(lambda item: _create_group(endpoint_url, item[0], item[1]), specs))
    feature_groups = []
    groups_by_scope: dict[tuple[str, str], list[dict]] = {}
    for (owner, spec), arn in zip(specs, arns, strict=True):
        entry = {"account_id": owner, "region": spec["region"], "name": spec["params"]["FeatureGroupName"], "arn": arn}
        feature_groups.append({**entry, "domain": spec["domain"], "pantry_description": spec["notes"]})
        groups_by_scope.setdefault((owner, spec["region"]), []).append({**entry, "domain": spec["domain"]})

    lineage = {}
    for (owner, region), groups in sorted(groups_by_scope.items()):
        lineage[f"{owner}/{region}"] = _seed_lineage(endpoint_url, owner, region, groups)

    organization = ensure_organisation(
        endpoint_url,
        vocab.MANAGEMENT_ACCOUNT[0],
        {ou: [ids[name] for name in names] for ou, names in vocab.ORGANISATIONAL_UNITS.items()},
    )
    shares, invitations = _seed_shares(endpoint_url, ids, feature_groups)
    discoverable, access = _grants_in_effect(shares)
    manifest = {
        "region": DEFAULT_REGION,
        "endpoint_url": endpoint_url,
        "platform_account_id": PLATFORM_ACCOUNT_ID,
        "accounts": accounts,
        "feature_groups": feature_groups,
        "organization": organization,
        "shares": shares,
        "invitations": invitations,
        "discoverable": discoverable,
        "access": access,
        "lineage": lineage,
    }
    if manifest_path:
        with open(manifest_path, "w", encoding="utf-8") as fh:
            json.dump(manifest, fh, indent=2, sort_keys=True)
    return manifest


def seed_synthetic(
    endpoint_url: str,
    accounts: int = 5,
    groups: int = 500,
    features: int = 40,
    region: str = DEFAULT_REGION,
    workers: int = 16,
) -> dict:
    """Benchmark data: ``groups`` feature groups spread over ``accounts`` synthetic accounts.

    Accounts are ``9000000000NN`` with roles ``PantryCatalogReader`` / external id
    ``pantry-bench-NN``. No per-feature metadata calls (features carry no descriptions).
    """
    rng = random.Random(SEED + groups)
    types = ["String", "Integral", "Fractional"]
    account_ids = [f"9000000000{i:02d}" for i in range(accounts)]
    acct_entries = []
    for i, acct in enumerate(account_ids):
        external_id = f"pantry-bench-{i:02d}"
        acct_entries.append(
            {
                "account_id": acct,
                "name": f"bench-{i:02d}",
                "kind": "owner",
                "role_arn": create_reader_role(endpoint_url, acct, external_id),
                "external_id": external_id,
                "regions": [region],
            }
        )
        ensure_bucket(endpoint_url, acct, region, offline_bucket(acct, region))

    def create(i: int) -> dict:
        acct = account_ids[i % accounts]
        name = f"bench_group_{i:05d}"
        defs = [
            {"FeatureName": "record_id", "FeatureType": "String"},
            {"FeatureName": "event_time", "FeatureType": "Fractional"},
        ]
        defs += [
            {"FeatureName": f"feature_{j:04d}", "FeatureType": types[(i + j) % 3]} for j in range(max(0, features - 2))
        ]
        sm = admin_client(endpoint_url, "sagemaker", acct, region)
        try:
            arn = sm.create_feature_group(
                FeatureGroupName=name,
                RecordIdentifierFeatureName="record_id",
                EventTimeFeatureName="event_time",
                FeatureDefinitions=defs,
                Description=f"Synthetic benchmark feature group {i} with {len(defs)} features.",
                OfflineStoreConfig={"S3StorageConfig": {"S3Uri": f"s3://{offline_bucket(acct, region)}/bench"}},
                RoleArn=f"arn:aws:iam::{acct}:role/SageMakerFeatureStoreExecution",
                Tags=[{"Key": "team", "Value": f"team-{i % 7}"}, {"Key": "env", "Value": rng.choice(["prod", "dev"])}],
            )["FeatureGroupArn"]
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ResourceInUse":
                raise
            arn = f"arn:aws:sagemaker:{region}:{acct}:feature-group/{name}"
        return {"account_id": acct, "region": region, "name": name, "arn": arn}

    with ThreadPoolExecutor(max_workers=workers) as pool:
        fgs = list(pool.map(create, range(groups)))
    return {
        "region": region,
        "endpoint_url": endpoint_url,
        "platform_account_id": PLATFORM_ACCOUNT_ID,
        "accounts": acct_entries,
        "feature_groups": fgs,
        "organization": None,
        "shares": [],
        "invitations": [],
        "discoverable": [],
        "access": [],
        "lineage": {},
    }
