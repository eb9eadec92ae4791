"""Fixtures that put real AWS-shaped infrastructure under the tests.

- `aws_sandbox`: the sandbox endpoint (moto server + Pantry's extensions) on
  a free loopback port, one per test process, with AWS_ENDPOINT_URL pointing
  at it so Pantry's gateway reaches it through boto3 over HTTP exactly as in
  the demo. State is reset before each test that asks for it.
- `celery_worker_process`: a real `celery worker` subprocess on the real
  broker, reading the test database, on a queue of its own.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def _sandbox_server():
    from sandbox.server import start

    server = start()
    yield server
    server.stop()


@pytest.fixture
def aws_sandbox(_sandbox_server, monkeypatch):
    from portal import aws
    from sandbox import control

    control.reset(_sandbox_server.url)
    monkeypatch.setenv("AWS_ENDPOINT_URL", _sandbox_server.url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "pantry-test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "pantry-test")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    aws.clear_session_cache()
    yield _sandbox_server
    control.clear_faults(_sandbox_server.url)
    aws.clear_session_cache()


@pytest.fixture
def celery_worker_env() -> dict[str, str]:
    """Extra environment for `celery_worker_process` (a test module overrides this fixture)."""
    return {}


@pytest.fixture
def celery_worker_process(aws_sandbox, django_db_blocker, settings, celery_worker_env):
    """A real Celery worker subprocess for this test (needs transactional db)."""
    from django.db import connection

    from portal.celery import app

    queue = f"pantry-test-{uuid.uuid4().hex[:12]}"
    # The configured URL with the test database's name: keeps host, socket
    # directory (embedded PostgreSQL) and credentials exactly as configured.
    parts = urlsplit(settings.DATABASE_URL)
    database_url = urlunsplit(parts._replace(path="/" + connection.settings_dict["NAME"]))
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "CELERY_TASK_DEFAULT_QUEUE": queue,
        "PANTRY_ENV": "development",
        "DEBUG": "false",
        **celery_worker_env,
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "portal",
            "worker",
            "-Q",
            queue,
            "-c",
            "1",
            "-l",
            "info",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-n",
            f"{queue}@%h",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    previous_queue = app.conf.task_default_queue
    app.conf.task_default_queue = queue
    _wait_for_worker(proc, queue)
    try:
        yield proc
    finally:
        app.conf.task_default_queue = previous_queue
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def worker_children(proc: subprocess.Popen) -> list[int]:
    """Process ids of a prefork worker's pool processes (Linux /proc)."""
    path = Path(f"/proc/{proc.pid}/task/{proc.pid}/children")
    return [int(pid) for pid in path.read_text().split()]


def _wait_for_worker(proc: subprocess.Popen, queue: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    lines = []
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            if proc.poll() is not None:
                raise RuntimeError("celery worker exited:\n" + "".join(lines))
            continue
        lines.append(line)
        if "ready." in line:
            # Keep draining output so the pipe never fills and blocks the worker.
            import threading

            threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True).start()
            return
    raise RuntimeError("celery worker did not become ready:\n" + "".join(lines))


def wait_until(predicate, *, timeout: float = 60, interval: float = 0.2, message: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {message}")


# ---------------------------------------------------------------------------
# Building AWS state in the sandbox for a test
# ---------------------------------------------------------------------------


def sandbox_owner_account(sandbox_url: str, *, account_id: str, name: str, regions=("eu-west-1",), **fields):
    """An owner account in the sandbox (role + bucket) and its Pantry registration."""
    from catalog.models import AwsAccount
    from sandbox import seed

    external_id = f"pantry-{name}"
    role_arn = seed.create_reader_role(sandbox_url, account_id, external_id)
    for region in regions:
        seed.ensure_bucket(sandbox_url, account_id, region, seed.offline_bucket(account_id, region))
    return AwsAccount.objects.create(
        account_id=account_id,
        name=name,
        kind=AwsAccount.Kind.OWNER,
        role_arn=role_arn,
        external_id=external_id,
        regions=list(regions),
        **fields,
    )


def sandbox_client(sandbox_url: str, account_id: str, service: str = "sagemaker", region: str = "eu-west-1"):
    """An admin client acting inside `account_id` (how the test plays the account's engineers)."""
    from sandbox import seed

    return seed.admin_client(sandbox_url, service, account_id, region)


def sandbox_feature_group(
    sandbox_url: str,
    account_id: str,
    name: str,
    *,
    features: int = 5,
    region: str = "eu-west-1",
    description: str = "",
    tags: dict | None = None,
    feature_descriptions: dict | None = None,
) -> str:
    sm = sandbox_client(sandbox_url, account_id, region=region)
    definitions = [
        {"FeatureName": "record_id", "FeatureType": "String"},
        {"FeatureName": "event_time", "FeatureType": "Fractional"},
    ] + [
        {"FeatureName": f"f_{i:04d}", "FeatureType": ("String", "Integral", "Fractional")[i % 3]}
        for i in range(max(0, features - 2))
    ]
    params = {
        "FeatureGroupName": name,
        "RecordIdentifierFeatureName": "record_id",
        "EventTimeFeatureName": "event_time",
        "FeatureDefinitions": definitions,
        "OnlineStoreConfig": {"EnableOnlineStore": True},
        "OfflineStoreConfig": {
            "S3StorageConfig": {"S3Uri": f"s3://sagemaker-featurestore-{account_id}-{region}/{name}"}
        },
        "RoleArn": f"arn:aws:iam::{account_id}:role/SageMakerFeatureStoreExecution",
        "Tags": [{"Key": k, "Value": v} for k, v in (tags or {}).items()],
    }
    if description:
        params["Description"] = description
    arn = sm.create_feature_group(**params)["FeatureGroupArn"]
    for feature, text in (feature_descriptions or {}).items():
        sm.update_feature_metadata(FeatureGroupName=name, FeatureName=feature, Description=text)
    return arn


class AwsCallHooks:
    """Runs test code between the AWS calls the code under test makes, as AWS changes under a
    client in real life: `hooks.after("Search", edit, nth=1, Resource="FeatureGroup")` runs
    `edit()` once, right after the first Search call whose parameters include Resource=FeatureGroup.

    It wraps botocore's client call, so it works whatever Pantry's own code looks like.
    """

    def __init__(self) -> None:
        self._hooks: list[dict] = []
        self._lock = threading.Lock()

    def before(self, operation: str, action, *, nth: int = 1, **params) -> None:
        self._hooks.append({"when": "before", "operation": operation, "action": action, "nth": nth, "params": params})

    def after(self, operation: str, action, *, nth: int = 1, **params) -> None:
        self._hooks.append({"when": "after", "operation": operation, "action": action, "nth": nth, "params": params})

    def rewrite(self, operation: str, change, **params) -> None:
        """Pass every matching call's response through `change(response) -> response`."""
        self._hooks.append({"when": "rewrite", "operation": operation, "action": change, "nth": 0, "params": params})

    def _rewrite(self, operation: str, params: dict, response: dict) -> dict:
        for hook in self._hooks:
            if hook["when"] == "rewrite" and hook["operation"] == operation:
                if all(params.get(k) == v for k, v in hook["params"].items()):
                    response = hook["action"](response)
        return response

    def _run(self, when: str, operation: str, params: dict) -> None:
        due = []
        with self._lock:
            for hook in self._hooks:
                if hook["when"] != when or hook["operation"] != operation:
                    continue
                if any(params.get(k) != v for k, v in hook["params"].items()):
                    continue
                hook["seen"] = hook.get("seen", 0) + 1
                if hook["seen"] == hook["nth"]:
                    due.append(hook["action"])
        for action in due:
            action()


@pytest.fixture
def aws_call_hooks(monkeypatch) -> AwsCallHooks:
    import botocore.client

    hooks = AwsCallHooks()
    original = botocore.client.BaseClient._make_api_call

    def make_api_call(self, operation_name, api_params):
        hooks._run("before", operation_name, api_params)
        try:
            return hooks._rewrite(operation_name, api_params, original(self, operation_name, api_params))
        finally:
            hooks._run("after", operation_name, api_params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", make_api_call)
    return hooks
