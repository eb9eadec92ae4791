"""Seeding the demo organisation and the synthetic benchmark."""

from __future__ import annotations

import collections

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
    assert len(g["Description"].split(". ")) >= 3 and {t["Key"] for t in g["Tags"]} >= {
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
