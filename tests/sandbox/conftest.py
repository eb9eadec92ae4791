"""Fixtures for the sandbox tests: one in-process sandbox server per session."""

from __future__ import annotations

import os

import boto3
import pytest
from botocore.config import Config

from sandbox import control
from sandbox.seed import ensure_organisation
from sandbox.server import start

REGION = "eu-west-1"


@pytest.fixture(scope="session")
def sandbox():
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    server = start()
    yield server
    server.stop()


@pytest.fixture
def clean_sandbox(sandbox):
    """The session server with all backends, faults and sandbox state reset."""
    control.reset(sandbox.url)
    yield sandbox
    control.clear_faults(sandbox.url)


def make_client(url: str, service: str = "sagemaker", region: str = REGION, creds: dict | None = None, **config):
    kwargs = {}
    if creds:
        kwargs = {
            "aws_access_key_id": creds["AccessKeyId"],
            "aws_secret_access_key": creds["SecretAccessKey"],
            "aws_session_token": creds["SessionToken"],
        }
    else:
        kwargs = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
    cfg = Config(retries=config.pop("retries", {"max_attempts": 1, "mode": "standard"}))
    return boto3.client(service, endpoint_url=url, region_name=region, config=cfg, **kwargs)


@pytest.fixture
def sm(clean_sandbox):
    return make_client(clean_sandbox.url)


@pytest.fixture
def org(clean_sandbox):
    """OWNER and MEMBER in one organisation with RAM sharing on; OUTSIDER and STRANGER outside it."""
    from .ram_helpers import MEMBER, MGMT, OWNER, create_group  # ram_helpers imports this module

    url = clean_sandbox.url
    organization = ensure_organisation(url, MGMT, {"owners": [OWNER], "consumers": [MEMBER]})
    for name in ("orders_features", "payments_features"):
        create_group(url, name)
    create_group(url, "us_only_features", region="us-east-1")
    return {"url": url, "organization": organization}
