"""How the sandbox reads a request (its credential scope) and writes S3 errors, in one place each."""

from __future__ import annotations

import pytest

from sandbox._common import CredentialScope, credential_scope, credential_scope_of

KEY = "ASIAEXAMPLEKEY000001"


def header(scope: str, algorithm: str = "AWS4-HMAC-SHA256") -> dict:
    return {"HTTP_AUTHORIZATION": f"{algorithm} Credential={scope}, SignedHeaders=host;x-amz-date, Signature=ab"}


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        (header(f"{KEY}/20261127/eu-west-1/sagemaker/aws4_request"), (KEY, "eu-west-1", "sagemaker", False)),
        # SigV4A names no Region.
        (header(f"{KEY}/20261127/s3/aws4_request", "AWS4-ECDSA-P256-SHA256"), (KEY, None, "s3", False)),
        # The key is still the caller's claim when what follows is no scope.
        (header(f"{KEY}/yesterday/s3"), (KEY, None, None, False)),
        (
            {
                "QUERY_STRING": f"X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential={KEY}%2F20261127%2Fus-east-1%2Fs3%2Faws4_request"
            },
            (KEY, "us-east-1", "s3", True),
        ),
        # An Authorization header decides alone, as AWS judges the request by it.
        (
            {**header(f"{KEY}/20261127/eu-west-1/ram/aws4_request"), "QUERY_STRING": "X-Amz-Credential=OTHER%2Fx"},
            (KEY, "eu-west-1", "ram", False),
        ),
        ({"HTTP_AUTHORIZATION": "AWS AKIAEXAMPLE:c2lnbmF0dXJl"}, None),  # SigV2 has no scope
        ({"QUERY_STRING": "prefix=AWSLogs%2F&list-type=2"}, None),
        ({}, None),
    ],
)
def test_credential_scope(environ, expected):
    scope = credential_scope(environ)
    assert (tuple(scope) if scope else None) == expected
    assert credential_scope(environ) is scope  # read once per request


def test_form_field_scope():
    assert credential_scope_of(f"{KEY}/20261127/eu-west-1/s3/aws4_request", presigned=False) == CredentialScope(
        KEY, "eu-west-1", "s3", False
    )
    assert credential_scope_of("") is None
    assert credential_scope_of("/20261127/eu-west-1/s3/aws4_request") is None


def test_s3_error_document_is_well_formed_whatever_the_values():
    from xml.etree import ElementTree

    from sandbox._common import s3_error_document

    body, headers = s3_error_document("AccessDenied", "a <b> & c", (("Method", "G<E>T"),))
    document = ElementTree.fromstring(body)
    assert (document.findtext("Code"), document.findtext("Message"), document.findtext("Method")) == (
        "AccessDenied",
        "a <b> & c",
        "G<E>T",
    )
    names = dict(headers)
    assert names["x-amz-request-id"] == document.findtext("RequestId")
    assert names["x-amz-id-2"] == document.findtext("HostId")
    assert names["Content-Length"] == str(len(body))
