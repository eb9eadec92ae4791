"""Seeding the demo organisation and the synthetic benchmark."""

from __future__ import annotations

import collections
import datetime as dt

from sandbox import seed

from .conftest import make_client


def test_seed_organisation_is_realistic_and_repeatable(clean_sandbox, tmp_path):
    url = clean_sandbox.url
    path = tmp_path / "manifest.json"
    manifest = seed.seed_organisation(url, manifest_path=str(path))
    assert path.exists()
    fgs = manifest["feature_groups"]
    assert len(fgs) >= 40
    owners = collections.Counter(fg["account_id"] for fg in fgs)
    assert len(owners) >= 3
    assert any(fg["region"] == "us-east-1" for fg in fgs)
    kinds = collections.Counter(a["kind"] for a in manifest["accounts"])
    assert kinds["consumer"] == 3 and kinds["both"] >= 1
    assert manifest["discoverable"] and manifest["lineage"]

    # Pantry's path: assume the reader role with the manifest's external id, then read.
    central = next(a for a in manifest["accounts"] if a["name"] == "central-feature-store")
    creds = make_client(url, "sts").assume_role(
        RoleArn=central["role_arn"], RoleSessionName="pantry", ExternalId=central["external_id"]
    )["Credentials"]
    sm = make_client(url, creds=creds)
    groups = [
        r["FeatureGroup"] for p in sm.get_paginator("search").paginate(Resource="FeatureGroup") for r in p["Results"]
    ]
    assert len(groups) == sum(
        1 for fg in fgs if fg["account_id"] == central["account_id"] and fg["region"] == "eu-west-1"
    )
    g = groups[0]
    # AWS keeps 128 characters of a group's description: the purpose; the team's notes (several
    # sentences) are the manifest's Pantry description, which begins with it.
    notes = {fg["arn"]: fg["pantry_description"] for fg in fgs}
    assert all(len(group["Description"]) <= 128 for group in groups)
    assert notes[g["FeatureGroupArn"]].startswith(g["Description"])
    assert all(len(text.split(". ")) >= 4 for text in notes.values())
    assert {t["Key"] for t in g["Tags"]} >= {
        "team",
        "domain",
        "cost-center",
        "pii",
        "env",
    }
    meta = sm.describe_feature_metadata(
        FeatureGroupName=g["FeatureGroupName"], FeatureName=g["FeatureDefinitions"][-1]["FeatureName"]
    )
    assert meta["Description"] and {p["Key"] for p in meta["Parameters"]} >= {"source", "pii"}
    ctx = manifest["lineage"][f"{central['account_id']}/eu-west-1"]["feature_group_contexts"][g["FeatureGroupArn"]]
    lineage = sm.query_lineage(StartArns=[ctx], Direction="Both")
    assert {v["Type"] for v in lineage["Vertices"]} >= {"FeatureGroup", "ProcessingJob", "DataSet"}

    fraud = next(a for a in manifest["accounts"] if a["name"] == "fraud-research")
    creds = make_client(url, "sts").assume_role(
        RoleArn=fraud["role_arn"], RoleSessionName="pantry", ExternalId=fraud["external_id"]
    )["Credentials"]
    cross = make_client(url, creds=creds).search(
        Resource="FeatureGroup", CrossAccountFilterOption="CrossAccount", MaxResults=100
    )
    assert cross["TotalHits"]["Value"] > 0

    again = seed.seed_organisation(url)
    assert [fg["arn"] for fg in again["feature_groups"]] == [fg["arn"] for fg in fgs]
    # Seeding again reuses the shares (clientToken) instead of making new ones.
    assert [r["share_arn"] for r in again["shares"]] == [r["share_arn"] for r in manifest["shares"]]


def test_seed_shares_are_real_ram_state_with_one_invitation_left_to_accept(clean_sandbox):
    url = clean_sandbox.url
    manifest = seed.seed_organisation(url)
    names = {a["account_id"]: a["name"] for a in manifest["accounts"]}
    org = manifest["organization"]
    fraud = next(a for a, n in names.items() if n == "fraud-research")
    assert org["sharing_with_aws_organization"] and org["management_account_id"] not in names
    assert fraud not in org["member_accounts"]
    assert set(names) - {fraud} <= set(org["member_accounts"])

    rows = manifest["shares"]
    # Inside the organisation access is in effect at once; fraud-research accepted invitations,
    # except the one left pending for its admin.
    assert {r["status"] for r in rows if r["consumer_account"] != fraud} == {"ASSOCIATED"}
    pending = [r for r in rows if r["status"] == "PENDING"]
    assert [(names[r["owner_account"]], names[r["consumer_account"]], r["level"]) for r in pending] == [
        ("central-feature-store", "fraud-research", "ReadWrite")
    ]
    assert {r["status"] for r in rows if r["consumer_account"] == fraud} == {"ACCEPTED", "PENDING"}
    [open_invitation] = [i for i in manifest["invitations"] if i["status"] == "PENDING"]
    assert open_invitation["invitation_arn"] == pending[0]["invitation_arn"]
    assert open_invitation["receiver_account"] == fraud
    sent = dt.datetime.fromisoformat(open_invitation["sent_at"])
    assert dt.datetime.fromisoformat(open_invitation["expires_at"]) - sent == dt.timedelta(hours=12)

    # The manifest matches what RAM says, seen from the consumer's side.
    ram = seed.admin_client(url, "ram", fraud)
    live = ram.get_resource_share_invitations()["resourceShareInvitations"]
    assert {i["resourceShareInvitationArn"]: i["status"] for i in live} == {
        i["invitation_arn"]: i["status"] for i in manifest["invitations"] if i["region"] == "eu-west-1"
    }
    readable = {
        r["arn"]
        for p in ram.get_paginator("list_resources").paginate(
            resourceOwner="OTHER-ACCOUNTS", resourceType="sagemaker:FeatureGroup"
        )
        for r in p["resources"]
    }
    assert readable == {
        r["resource_arn"]
        for r in rows
        if r["consumer_account"] == fraud and r["status"] == "ACCEPTED" and r["level"] != "Discover"
    }
    assert pending[0]["resource_arn"] not in readable
    assert {(a["arn"], a["consumer_account"]) for a in manifest["access"]} == {
        (r["resource_arn"], r["consumer_account"])
        for r in rows
        if r["level"] != "Discover" and r["status"] != "PENDING"
    }
    for row in rows:
        assert row["permission_arn"] == "arn:aws:ram::aws:permission/" + row["permission_name"]


def test_seed_synthetic(clean_sandbox):
    manifest = seed.seed_synthetic(clean_sandbox.url, accounts=3, groups=60, features=20)
    assert len(manifest["feature_groups"]) == 60
    acct = manifest["accounts"][0]
    sm = make_client(
        clean_sandbox.url,
        creds=make_client(clean_sandbox.url, "sts").assume_role(
            RoleArn=acct["role_arn"], RoleSessionName="bench", ExternalId=acct["external_id"]
        )["Credentials"],
    )
    assert sum(len(p["FeatureGroupSummaries"]) for p in sm.get_paginator("list_feature_groups").paginate()) == 20
