"""A session for gateway unit tests: one boto3 client, stubbed by botocore's Stubber.

The Stubber validates every request and response against AWS's API model and
answers in `before-call`, so the call counter is registered ahead of it.
"""

from __future__ import annotations

from typing import Any

import boto3
from botocore.stub import Stubber

from portal import aws

_session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name="eu-west-1")


class FirstCallCounter(aws.CallCounter):
    """Counts calls ahead of the Stubber, whose before-call handler answers (and so ends the event) first."""

    def attach(self, client: Any) -> Any:
        client.meta.events.register_first("before-call.*.*", self._on_call)
        return client


class StubSession:
    """Hands a gateway the same stubbed client for every `client()` call."""

    def __init__(self, service: str = "sagemaker") -> None:
        self.counter = FirstCallCounter()
        self._client = self.counter.attach(_session.client(service, config=aws.client_config(service)))
        self.stubber = Stubber(self._client)

    def client(self, service: str) -> Any:
        return self._client
