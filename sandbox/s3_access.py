"""S3's cross-account rule, which moto does not enforce: another account needs the bucket owner's grant.

A request to a bucket from a principal of another account succeeds on AWS only when the
caller's own account allows it (its IAM identity policies: not modelled here, moto's IAM
enforcement is off) AND the bucket owner grants it, in the bucket policy (ACL grants are left
to moto). Without such a grant S3 answers ``403 AccessDenied``.
https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-control-auth-workflow-bucket-operation.html
https://docs.aws.amazon.com/AmazonS3/latest/userguide/example-walkthroughs-managing-access-example2.html

moto serves any bucket to any account (it finds other accounts' buckets through
``s3_backends.bucket_accounts``), so :func:`check` runs in front of both moto and
:mod:`sandbox.s3_fast`. It applies to a *signed* request — SigV4 or SigV4A (header or presigned
URL), SigV2 (``Authorization: AWS KEY:sig`` or ``AWSAccessKeyId=``), or a POST upload with the
credential in its form — whose bucket belongs to another account than the caller's. A request
signed by no key we can read (a malformed credential, an unknown scheme) is refused for any
existing bucket. The request maps to the IAM actions it needs (see :func:`requested_actions`):
``ListBucket`` for a listing or ``HeadBucket``, ``GetObject`` for ``HeadObject``, the version
forms (``GetObjectVersionTagging``, …) with a ``versionId``, ``PutObjectAcl`` / ``PutObjectTagging``
as well for a write carrying an ACL or tags, ``DeleteObjectVersion`` for a batch key with a
``VersionId``, ``GetObject`` on a copy source; a request it cannot map is refused. Every action
must pass the bucket policy:

* a ``Deny`` applies when its Principal names any identity of the caller, or its
  ``NotPrincipal`` leaves out any one of them (the account, the role, the role session, the
  user: AWS checks each), and its Action and Resource cover the request;
* else an ``Allow`` whose Principal names the caller (``"*"``, ``{"AWS": "*"}``, the account id,
  ``arn:aws:iam::ACCOUNT:root``, the role or user ARN, the session's ``assumed-role`` ARN), whose
  Action covers the action (``s3:*``, ``s3:Get*``, …) and whose Resource covers the bucket or
  object ARN (wildcards ``*`` and ``?``) grants; an Allow with ``NotPrincipal`` grants nothing;
* else the request is refused, ``403 AccessDenied``. ``Get/Put/DeleteBucketPolicy`` answer
  ``405 MethodNotAllowed`` when granted, as S3 keeps them to the owner's account.

Fail closed on what is not evaluated: a Condition or a policy variable (``${aws:username}``)
makes a Deny apply and an Allow grant nothing.

:func:`presigned_url_check` refuses a SigV4 presigned URL past its ``X-Amz-Expires``, or sent
without a header it signed, as S3 does (moto serves it forever, and checks no signature).

Same-account requests (a cheap early exit), anonymous requests (moto's anonymous handling and
ACLs stay as they are), ``CreateBucket`` (S3 answers ``BucketAlreadyExists``, which moto does)
and requests without a bucket (``ListBuckets``) pass unchanged.
"""

from __future__ import annotations

import datetime as dt
import email.policy
import functools
import json
import os
import re
from collections.abc import Callable
from email.parser import BytesParser
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit
from xml.etree import ElementTree

from ._common import (
    CredentialScope,
    credential_scope,
    credential_scope_of,
    key_account,
    query_params,
    read_body,
    s3_error_document,
)

# A SigV2 presigned URL's parameters: https://docs.aws.amazon.com/AmazonS3/latest/userguide/RESTAuthentication.html
_V2_QUERY = ("AWSAccessKeyId", "Signature", "Expires")

# Bucket subresources (query parameters) and the IAM action of each method on them.
# https://docs.aws.amazon.com/AmazonS3/latest/userguide/using-with-s3-policy-actions.html
_BUCKET_SUBRESOURCES: dict[str, dict[str, str]] = {
    "GET": {
        "location": "GetBucketLocation",
        "policy": "GetBucketPolicy",
        "policyStatus": "GetBucketPolicyStatus",
        "acl": "GetBucketAcl",
        "versioning": "GetBucketVersioning",
        "versions": "ListBucketVersions",
        "uploads": "ListBucketMultipartUploads",
        "tagging": "GetBucketTagging",
        "logging": "GetBucketLogging",
        "notification": "GetBucketNotification",
        "lifecycle": "GetLifecycleConfiguration",
        "cors": "GetBucketCORS",
        "encryption": "GetEncryptionConfiguration",
        "object-lock": "GetBucketObjectLockConfiguration",
        "website": "GetBucketWebsite",
        "publicAccessBlock": "GetBucketPublicAccessBlock",
        "ownershipControls": "GetBucketOwnershipControls",
        "replication": "GetReplicationConfiguration",
        "requestPayment": "GetBucketRequestPayment",
        "accelerate": "GetAccelerateConfiguration",
        "inventory": "GetInventoryConfiguration",  # also ListBucketInventoryConfigurations
    },
    "PUT": {
        "policy": "PutBucketPolicy",
        "acl": "PutBucketAcl",
        "versioning": "PutBucketVersioning",
        "tagging": "PutBucketTagging",
        "logging": "PutBucketLogging",
        "notification": "PutBucketNotification",
        "lifecycle": "PutLifecycleConfiguration",
        "cors": "PutBucketCORS",
        "encryption": "PutEncryptionConfiguration",
        "object-lock": "PutBucketObjectLockConfiguration",
        "website": "PutBucketWebsite",
        "publicAccessBlock": "PutBucketPublicAccessBlock",
        "ownershipControls": "PutBucketOwnershipControls",
        "replication": "PutReplicationConfiguration",
        "requestPayment": "PutBucketRequestPayment",
        "accelerate": "PutAccelerateConfiguration",
        "inventory": "PutInventoryConfiguration",
    },
    "DELETE": {
        # S3 checks the Put… permission for most configuration deletions.
        "policy": "DeleteBucketPolicy",
        "tagging": "PutBucketTagging",
        "cors": "PutBucketCORS",
        "lifecycle": "PutLifecycleConfiguration",
        "encryption": "PutEncryptionConfiguration",
        "website": "DeleteBucketWebsite",
        "publicAccessBlock": "PutBucketPublicAccessBlock",
        "ownershipControls": "PutBucketOwnershipControls",
        "replication": "PutReplicationConfiguration",
    },
}
# The parameters a bucket subresource's operation takes besides the subresource itself.
# https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectVersions.html
# https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListMultipartUploads.html
# https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListBucketInventoryConfigurations.html
_LISTING = frozenset({"prefix", "delimiter", "key-marker", "encoding-type"})
_SUBRESOURCE_OPTIONS: dict[str, frozenset[str]] = {
    "versions": _LISTING | {"version-id-marker", "max-keys"},
    "uploads": _LISTING | {"upload-id-marker", "max-uploads"},
    "inventory": frozenset({"id", "continuation-token"}),
}
# Only an identity of the bucket owner's account may use these, whatever the policy grants: S3
# answers 403 AccessDenied without the permission and 405 MethodNotAllowed with it.
# https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketPolicy.html (and Put/DeleteBucketPolicy)
_OWNER_ACCOUNT_ONLY = frozenset({"GetBucketPolicy", "PutBucketPolicy", "DeleteBucketPolicy"})
# Query parameters of a plain listing (ListObjects / ListObjectsV2): s3:ListBucket.
_LIST_PARAMS = frozenset(
    {
        "list-type",
        "prefix",
        "delimiter",
        "marker",
        "max-keys",
        "encoding-type",
        "start-after",
        "continuation-token",
        "fetch-owner",
        "x-id",
    }
)
_OBJECT_SUBRESOURCES: dict[str, dict[str, str]] = {
    "GET": {
        "acl": "GetObjectAcl",
        "tagging": "GetObjectTagging",
        "uploadId": "ListMultipartUploadParts",
        "attributes": "GetObjectAttributes",
        "legal-hold": "GetObjectLegalHold",
        "retention": "GetObjectRetention",
    },
    "PUT": {
        "acl": "PutObjectAcl",
        "tagging": "PutObjectTagging",
        "uploadId": "PutObject",  # UploadPart / UploadPartCopy
        "legal-hold": "PutObjectLegalHold",
        "retention": "PutObjectRetention",
    },
    "POST": {
        "uploads": "PutObject",  # CreateMultipartUpload
        "uploadId": "PutObject",  # CompleteMultipartUpload
        "restore": "RestoreObject",
        "select": "GetObject",
    },
    "DELETE": {
        "uploadId": "AbortMultipartUpload",
        "tagging": "DeleteObjectTagging",
    },
}
# Parameters that only shape a response or carry a request's options, never name an operation.
_OBJECT_OPTIONS = frozenset(
    {
        "versionId",
        "partNumber",
        "x-id",
        "response-content-type",
        "response-content-language",
        "response-expires",
        "response-cache-control",
        "response-content-disposition",
        "response-content-encoding",
        "max-parts",
        "part-number-marker",
    }
)
# With a versionId, S3 checks the version form of an object action.
# https://docs.aws.amazon.com/AmazonS3/latest/userguide/using-with-s3-policy-actions.html
_VERSIONED = {
    "GetObject": "GetObjectVersion",
    "DeleteObject": "DeleteObjectVersion",
    "GetObjectAcl": "GetObjectVersionAcl",
    "PutObjectAcl": "PutObjectVersionAcl",
    "GetObjectTagging": "GetObjectVersionTagging",
    "PutObjectTagging": "PutObjectVersionTagging",
    "DeleteObjectTagging": "DeleteObjectVersionTagging",
    "GetObjectAttributes": "GetObjectVersionAttributes",
}


def _write_header_actions(headers: dict[str, str]) -> list[str]:
    """What PutObject, CopyObject and CreateMultipartUpload also need for the headers they carry.

    An ACL (``x-amz-acl``, ``x-amz-grant-*``) needs PutObjectAcl, tags (``x-amz-tagging``)
    PutObjectTagging, Object Lock settings PutObjectRetention / PutObjectLegalHold.
    https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html
    """
    actions = []
    if "x-amz-acl" in headers or any(name.startswith("x-amz-grant-") for name in headers):
        actions.append("PutObjectAcl")
    if "x-amz-tagging" in headers:
        actions.append("PutObjectTagging")
    if "x-amz-object-lock-mode" in headers or "x-amz-object-lock-retain-until-date" in headers:
        actions.append("PutObjectRetention")
    if "x-amz-object-lock-legal-hold" in headers:
        actions.append("PutObjectLegalHold")
    return actions


def _pattern_matches(pattern: str, value: str, *, ignore_case: bool) -> bool:
    """IAM's wildcard match: ``*`` any run of characters, ``?`` one character."""
    return _compiled(pattern, ignore_case).fullmatch(value) is not None


@functools.lru_cache(maxsize=1024)
def _compiled(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(regex, re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


class Caller:
    """Who signed the request: its account and each identity a bucket policy may name it by.

    ``identities`` holds one set of names per identity the caller is: the account (its id and
    ``arn:PARTITION:iam::ID:root``), then, as applicable, the IAM role and the role session's
    ``assumed-role`` ARN, or the IAM user.
    """

    def __init__(self, account: str, identities: tuple[frozenset[str], ...]) -> None:
        self.account = account
        self.identities = identities

    def named_by(self, principal: Any) -> bool:
        """Whether a ``Principal`` names any identity of the caller."""
        values = _aws_principals(principal)
        return "*" in values or any(identity & values for identity in self.identities)

    def wholly_named_by(self, principal: Any) -> bool:
        """Whether a ``NotPrincipal`` exempts the caller: only when it names *every* identity.

        AWS checks a role session as the account, then the role, then the session, so a Deny
        with ``NotPrincipal`` naming only ``arn:aws:iam::ID:root`` still denies the account's
        role sessions.
        https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notprincipal.html
        """
        values = _aws_principals(principal)
        return "*" in values or all(identity & values for identity in self.identities)


def _aws_principals(principal: Any) -> frozenset[str]:
    """The names in a Principal element that can name an IAM caller (``"*"`` for anyone)."""
    if principal == "*":
        return frozenset({"*"})
    if not isinstance(principal, dict):
        return frozenset()
    # Service, Federated and CanonicalUser principals never name an IAM caller.
    return frozenset(v for v in _as_list(principal.get("AWS", [])) if isinstance(v, str))


def _covers(patterns: Any, value: str, *, ignore_case: bool, unresolved: bool) -> bool:
    """Whether a pattern of an Action/Resource element matches `value`.

    A pattern with a policy variable (``${aws:username}``) is not resolved here; it counts as
    `unresolved`, which the caller picks so that the statement fails closed.
    """
    for pattern in _as_list(patterns):
        if not isinstance(pattern, str):
            continue
        if "${" in pattern:
            if unresolved:
                return True
        elif _pattern_matches(pattern, value, ignore_case=ignore_case):
            return True
    return False


def _element_matches(statement: dict[str, Any], name: str, value: str, *, ignore_case: bool, deny: bool) -> bool | None:
    """Whether the statement's `name` (or ``Not`` `name`) element covers `value`; None without either.

    Fail closed on policy variables: a Deny is taken to cover the request, an Allow not to.
    """
    if name in statement:
        return _covers(statement[name], value, ignore_case=ignore_case, unresolved=deny)
    if f"Not{name}" in statement:
        return not _covers(statement[f"Not{name}"], value, ignore_case=ignore_case, unresolved=not deny)
    return None


def _statement_matches(statement: dict[str, Any], caller: Caller, action: str, resource: str, *, deny: bool) -> bool:
    if "Principal" in statement:
        if not caller.named_by(statement["Principal"]):
            return False
    elif "NotPrincipal" in statement:
        # NotPrincipal is only supported with Deny; an Allow with it never grants (fail closed).
        if not deny or caller.wholly_named_by(statement["NotPrincipal"]):
            return False
    else:
        return False
    if not _element_matches(statement, "Action", f"s3:{action}", ignore_case=True, deny=deny):
        return False
    return bool(_element_matches(statement, "Resource", resource, ignore_case=False, deny=deny))


def policy_allows(policy: bytes | str | None, caller: Caller, action: str, resource: str) -> bool:
    """Whether the bucket policy grants `caller` the S3 `action` on `resource` (an explicit Deny wins)."""
    if not policy:
        return False
    try:
        document = json.loads(policy)
    except ValueError:
        return False
    statements = document.get("Statement", []) if isinstance(document, dict) else []
    allowed = False
    for statement in _as_list(statements):
        if not isinstance(statement, dict):
            continue
        effect = statement.get("Effect")
        if effect not in ("Allow", "Deny"):
            continue
        deny = effect == "Deny"
        if not _statement_matches(statement, caller, action, resource, deny=deny):
            continue
        # Conditions are not evaluated (fail closed): a conditional Deny applies, a conditional Allow
        # grants nothing.
        if deny:
            return False
        if not statement.get("Condition"):
            allowed = True
    return allowed


# --------------------------------------------------------------------------- requests


# Whose key signed a request: (access key, Region). The key is None when the request is signed
# but its key cannot be read; the Region None for SigV2, SigV4A and SigV2 POST forms. A plain
# tuple: check() builds one for every signed request.
Signer = tuple[str | None, str | None]


def _scope_signer(scope: CredentialScope | None) -> Signer | None:
    """The signer of an S3 credential scope; None for another service's; (None, None) if unreadable.

    check() runs for every service's requests: only an "s3" scope is S3's.
    """
    if scope is None or scope.service is None:
        return (None, None)
    return (scope.access_key, scope.region) if scope.service == "s3" else None


def _signer(environ: dict[str, Any]) -> Signer | None:
    """Who signed the request (Authorization header or presigned URL; SigV2, SigV4, SigV4A), else None."""
    authorization = environ.get("HTTP_AUTHORIZATION")
    if authorization:
        if authorization.startswith("AWS "):  # SigV2: "AWS AKID:signature"
            access_key, colon, _ = authorization[4:].strip().rpartition(":")
            return (access_key if colon and access_key else None, None)
        return _scope_signer(credential_scope(environ))
    query = environ.get("QUERY_STRING", "")
    if "X-Amz-" in query or "AWSAccessKeyId" in query or "Signature" in query:
        params = query_params(environ)
        if "X-Amz-Credential" in params:
            return _scope_signer(credential_scope(environ))
        if "AWSAccessKeyId" in params:
            return (params["AWSAccessKeyId"] or None, None)
        if {"X-Amz-Signature", "X-Amz-Algorithm", "Signature"} & set(params):
            return (None, None)
    return None


def _is_form_post(environ: dict[str, Any]) -> bool:
    return environ.get("REQUEST_METHOD") == "POST" and environ.get("CONTENT_TYPE", "").startswith("multipart/form-data")


def _form_fields(environ: dict[str, Any]) -> tuple[dict[str, str], str]:
    """A POST upload's form fields (names lower-cased, as S3 reads them) and the file's name."""
    head = f"Content-Type: {environ.get('CONTENT_TYPE', '')}\r\n\r\n".encode("latin-1")
    message = BytesParser(policy=email.policy.HTTP).parsebytes(head + read_body(environ))
    fields: dict[str, str] = {}
    filename = ""
    if not message.is_multipart():
        return fields, filename
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        if name.lower() == "file":
            filename = part.get_filename() or ""
            break  # S3 ignores the fields after the file
        payload = part.get_payload(decode=True)
        fields[name.lower()] = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
    return fields, filename


def _form_signer(fields: dict[str, str]) -> Signer | None:
    """Who signed a browser-based POST upload (credential in the form), else None (anonymous).

    https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-HTTPPOSTConstructPolicy.html
    """
    if "x-amz-credential" in fields:
        return _scope_signer(credential_scope_of(fields["x-amz-credential"], presigned=False)) or (None, None)
    if "awsaccesskeyid" in fields:
        return (fields["awsaccesskeyid"] or None, None)
    if {"x-amz-signature", "signature", "policy"} & set(fields):
        return (None, None)
    return None


def _form_post_actions(bucket: str, fields: dict[str, str], filename: str) -> list[tuple[str, str, str]] | None:
    """A POST upload writes the form's ``key`` (``${filename}`` is the file's name)."""
    key = fields.get("key", "").replace("${filename}", filename)
    if not key:
        return None
    actions = ["PutObject"]
    if "acl" in fields:
        actions.append("PutObjectAcl")
    if "tagging" in fields:
        actions.append("PutObjectTagging")
    return [(action, bucket, key) for action in actions]


class _HostOnly:
    """Just enough of a request for moto's ``subdomain_based_buckets``."""

    def __init__(self, host: str, url: str) -> None:
        self.headers = {"host": host}
        self.url = url


def _bucket_and_key(environ: dict[str, Any]) -> tuple[str, str] | None:
    """The bucket and key moto will serve, read from the URL the way moto reads it."""
    from moto.s3.responses import S3Response
    from moto.s3.utils import bucket_name_from_url

    host = environ.get("HTTP_HOST", "")
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI") or environ.get("PATH_INFO", "")
    path = unquote(urlsplit(raw).path if "://" in raw else raw.partition("?")[0])
    url = f"http://{host}{path}"
    if ".s3-accesspoint." in host:
        return None  # access points: left to moto
    if S3Response.subdomain_based_buckets(_HostOnly(host, url)):
        bucket = bucket_name_from_url(url)
        key = path[1:] if path.startswith("/") else path
    else:
        bucket, _, key = path.lstrip("/").partition("/")
    return (bucket, key) if bucket else None


def requested_actions(
    method: str, params: dict[str, str], bucket: str, key: str, headers: dict[str, str], body: Callable[[], bytes]
) -> list[tuple[str, str, str]] | None:
    """The (action, bucket, resource key or "") checks a request needs; None when unmapped.

    ``[]`` means the bucket owner's grant is not needed (``CreateBucket``).
    """
    names = set(params)
    if key:
        table = _OBJECT_SUBRESOURCES.get(method, {})
        named = [n for n in names if n in table]
        unknown = names - set(table) - _OBJECT_OPTIONS
        if unknown or len(named) > 1:
            return None
        if named:
            actions = [table[named[0]]]
            if actions == ["GetObjectAttributes"]:  # needs the read permission as well
                actions.insert(0, "GetObject")
        else:
            action = {"GET": "GetObject", "HEAD": "GetObject", "PUT": "PutObject", "DELETE": "DeleteObject"}.get(
                method, ""
            )
            if not action:
                return None
            actions = [action]
        if "versionId" in params and params["versionId"] != "null":
            actions = [_VERSIONED.get(a, a) for a in actions]
        if (method == "PUT" and not named) or (method == "POST" and named == ["uploads"]):
            actions += _write_header_actions(headers)
        checks = [(a, bucket, key) for a in actions]
        source = headers.get("x-amz-copy-source")
        if method == "PUT" and source:  # CopyObject / UploadPartCopy read the source object
            # "BUCKET/KEY?versionId=ID", the key URL-encoded: split off the query first, so that an
            # encoded "?" (%3F) stays part of the key.
            # https://docs.aws.amazon.com/AmazonS3/latest/API/API_CopyObject.html#API_CopyObject_RequestSyntax
            encoded_path, _, source_query = source.partition("?")
            source_bucket, _, source_key = unquote(encoded_path).lstrip("/").partition("/")
            if not source_bucket or not source_key:
                return None
            read = "GetObjectVersion" if "versionId" in dict(parse_qsl(source_query)) else "GetObject"
            checks.append((read, source_bucket, source_key))
        return checks
    if method == "PUT" and not names:
        return []  # CreateBucket: an existing name answers BucketAlreadyExists, whoever owns it
    if method == "HEAD" and not names:
        return [("ListBucket", bucket, "")]
    if method == "DELETE" and not names:
        return [("DeleteBucket", bucket, "")]
    if method == "POST" and names == {"delete"}:
        # DeleteObjects needs s3:DeleteObject on every key, s3:DeleteObjectVersion on a key with a
        # VersionId. S3 answers 200 with a per-key AccessDenied; here the whole request is refused
        # unless every key is granted.
        try:
            root = ElementTree.fromstring(body())
        except ElementTree.ParseError:
            return None
        checks = []
        for element in root.iter():
            if element.tag.rsplit("}", 1)[-1] != "Object":
                continue
            fields = {child.tag.rsplit("}", 1)[-1]: child.text or "" for child in element}
            action = "DeleteObjectVersion" if fields.get("VersionId") else "DeleteObject"
            checks.append((action, bucket, fields.get("Key", "")))
        return checks or None
    table = _BUCKET_SUBRESOURCES.get(method, {})
    named = [n for n in names if n in table]
    if len(named) == 1 and names - {named[0], "x-id"} <= _SUBRESOURCE_OPTIONS.get(named[0], frozenset()):
        return [(table[named[0]], bucket, "")]
    if method == "GET" and names <= _LIST_PARAMS:
        return [("ListBucket", bucket, "")]
    return None


def _caller_account(environ: dict[str, Any], access_key: str | None) -> str | None:
    """The caller's account as moto decides it: ``MOTO_ACCOUNT_ID``, ``x-moto-account-id``, the key."""
    forced = os.environ.get("MOTO_ACCOUNT_ID") or environ.get("HTTP_X_MOTO_ACCOUNT_ID")
    if forced:
        return forced
    return key_account(environ, access_key) if access_key else None


def _caller(account: str, access_key: str | None, partition: str) -> Caller:
    """The caller and the names of each of its identities."""
    from moto.iam.models import iam_backends

    identities = [frozenset({account, f"arn:{partition}:iam::{account}:root"})]
    iam = iam_backends[account][partition]
    stored = iam.access_keys.get(access_key)
    if stored is not None and getattr(stored, "role_arn", None):
        # Assumed-role credentials: the role, then this role session.
        identities.append(frozenset({stored.role_arn}))
        from .auth import assumed_role

        assumed = assumed_role(access_key)
        if assumed is not None:
            identities.append(frozenset({assumed.arn}))
    elif stored is not None and getattr(stored, "user_name", None):
        user = iam.users.get(stored.user_name)
        if user is not None:
            identities.append(frozenset({user.arn}))
    return Caller(account, tuple(identities))


def _error(
    environ: dict[str, Any],
    start_response: Callable,
    status: str,
    code: str,
    message: str,
    details: tuple[tuple[str, str], ...] = (),
) -> list[bytes]:
    """S3's error document (a HEAD response carries no body, as S3's does not)."""
    body, headers = s3_error_document(code, message, details)
    start_response(status, headers)
    return [] if environ.get("REQUEST_METHOD") == "HEAD" else [body]


def _access_denied(environ: dict[str, Any], start_response: Callable) -> list[bytes]:
    return _error(environ, start_response, "403 Forbidden", "AccessDenied", "Access Denied")


def _method_not_allowed(environ: dict[str, Any], start_response: Callable) -> list[bytes]:
    method = environ.get("REQUEST_METHOD", "GET")
    return _error(
        environ,
        start_response,
        "405 Method Not Allowed",
        "MethodNotAllowed",
        "The specified method is not allowed against this resource.",
        (("Method", method),),
    )


# A SigV4 presigned URL is valid for X-Amz-Expires seconds from X-Amz-Date, at most seven days.
# https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html
PRESIGNED_MAX_EXPIRES_SECONDS = 604800
_AMZ_DATE = "%Y%m%dT%H%M%SZ"
# A whole number in ASCII digits, perhaps negative: what S3 reads as a lifetime. str.isdigit()
# would pass "²" and a stripped "--5", which int() then refuses.
_EXPIRES_NUMBER = re.compile(r"-?[0-9]+")


def presigned_url_check(environ: dict[str, Any], start_response: Callable) -> list[bytes] | None:
    """S3's refusal of a SigV4 presigned URL that has expired or states a bad lifetime, else None.

    moto serves a presigned URL however old it is; S3 answers ``403 AccessDenied`` "Request has
    expired" after ``X-Amz-Date`` + ``X-Amz-Expires`` (on the sandbox clock, as sessions expire),
    and ``400 AuthorizationQueryParametersError`` for a lifetime that is not a whole number of
    seconds up to 604800 or is negative (a lifetime of 0 has expired when it arrives).
    """
    query = environ.get("QUERY_STRING", "")
    if "X-Amz-Credential" not in query or environ.get("HTTP_AUTHORIZATION"):
        return None
    params = query_params(environ)
    scope = credential_scope(environ)
    if scope is None or scope.service != "s3" or params.get("X-Amz-Algorithm") != "AWS4-HMAC-SHA256":
        return None
    from . import clock

    def bad_parameters(message: str) -> list[bytes]:
        return _error(environ, start_response, "400 Bad Request", "AuthorizationQueryParametersError", message)

    expires = params.get("X-Amz-Expires", "")
    if not _EXPIRES_NUMBER.fullmatch(expires):
        return bad_parameters("X-Amz-Expires should be a number")
    lifetime = int(expires)
    if lifetime < 0:
        return bad_parameters("X-Amz-Expires must be non-negative")
    if lifetime > PRESIGNED_MAX_EXPIRES_SECONDS:
        return bad_parameters(
            "X-Amz-Expires must be less than a week (in seconds) that is, the given X-Amz-Expires must be less "
            f"than {PRESIGNED_MAX_EXPIRES_SECONDS} seconds"
        )
    try:
        signed_at = dt.datetime.strptime(params.get("X-Amz-Date", ""), _AMZ_DATE).replace(tzinfo=dt.UTC)
    except ValueError:
        return bad_parameters("X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"")
    # The signature covers the headers X-Amz-SignedHeaders names; a request without one of them
    # cannot match it, and S3 refuses it (moto checks no signature). A client that stopped sending
    # a header it signed (x-amz-checksum-mode, say) fails here as it would on S3.
    unsent = [name for name in params.get("X-Amz-SignedHeaders", "").split(";") if not _has_header(environ, name)]
    if unsent:
        return _error(
            environ,
            start_response,
            "403 Forbidden",
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided. "
            "Check your key and signing method.",
        )
    valid_until = signed_at + dt.timedelta(seconds=lifetime)
    now = clock.now()
    if now <= valid_until:
        return None
    return _error(
        environ,
        start_response,
        "403 Forbidden",
        "AccessDenied",
        "Request has expired",
        (
            ("X-Amz-Expires", expires),
            ("Expires", f"{valid_until:%Y-%m-%dT%H:%M:%SZ}"),
            ("ServerTime", f"{now:%Y-%m-%dT%H:%M:%SZ}"),
        ),
    )


def _has_header(environ: dict[str, Any], name: str) -> bool:
    """Whether the request carries header `name` (WSGI keeps Content-Type and Content-Length
    outside the HTTP_ variables)."""
    key = name.strip().upper().replace("-", "_")
    return (key in ("CONTENT_TYPE", "CONTENT_LENGTH") and key in environ) or f"HTTP_{key}" in environ


def check(environ: dict[str, Any], start_response: Callable) -> list[bytes] | None:
    """S3's refusal when another account's bucket does not grant this request, else None."""
    signer = _signer(environ)
    form_post = signer is None and _is_form_post(environ)
    if signer is None and not form_post:
        return None  # anonymous: moto's ACL handling
    located = _bucket_and_key(environ)
    if located is None:
        return None
    from moto.s3.models import s3_backends

    bucket_name, key = located
    owner = s3_backends.bucket_accounts.get(bucket_name)
    if owner is None:
        return None  # no such bucket: moto's NoSuchBucket
    form: tuple[dict[str, str], str] | None = None
    if form_post:
        form = _form_fields(environ)
        signer = _form_signer(form[0])
        if signer is None:
            return None  # an anonymous POST upload
    assert signer is not None
    account = _caller_account(environ, signer[0])
    # Most requests are the owner's own (the fast path's reads among them): nothing more to do,
    # unless they copy from another bucket.
    if account == owner[1] and "HTTP_X_AMZ_COPY_SOURCE" not in environ:
        return None
    if account is None:
        # Signed, but by no key we can read: the bucket cannot be shown to be the caller's.
        return _access_denied(environ, start_response)
    method = environ.get("REQUEST_METHOD", "GET")
    params = dict(query_params(environ))
    presigned = [n for n in params if n.lower().startswith("x-amz-")]  # X-Amz-Signature, x-amz-security-token, …
    if "AWSAccessKeyId" in params:
        presigned += [n for n in _V2_QUERY if n in params]
    for name in presigned:
        del params[name]
    if form is not None and not key and not params:
        checks = _form_post_actions(bucket_name, *form)
    else:
        headers = {n[5:].replace("_", "-").lower(): v for n, v in environ.items() if n.startswith("HTTP_")}
        checks = requested_actions(method, params, bucket_name, key, headers, lambda: read_body(environ))
    if checks is None:
        return None if account == owner[1] else _access_denied(environ, start_response)
    from moto.utilities.utils import get_partition

    caller = _caller(account, signer[0], get_partition(signer[1]) if signer[1] else owner[0])
    for action, bucket, object_key in checks:
        target_owner = s3_backends.bucket_accounts.get(bucket)
        if target_owner is None or target_owner[1] == caller.account:
            continue  # the caller's own bucket, or a missing copy source (moto's NoSuchBucket)
        partition, owner_account = target_owner
        target = s3_backends[owner_account][partition].buckets.get(bucket)
        resource = f"arn:{partition}:s3:::{bucket}" + (f"/{object_key}" if object_key else "")
        allowed = target is not None and policy_allows(target.policy, caller, action, resource)
        if action in _OWNER_ACCOUNT_ONLY and allowed:
            return _method_not_allowed(environ, start_response)
        if not allowed:
            return _access_denied(environ, start_response)
    return None
