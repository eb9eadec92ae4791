"""STS AssumeRole that honours the target role's trust policy (principal + sts:ExternalId).

moto 5.2.5 lets anyone assume any role ARN, even one that does not exist. The sandbox wraps
``TokenResponse.assume_role``: the role must exist in the target account's IAM, and one
``Allow``/``sts:AssumeRole`` statement of its trust policy must match the caller's account
(``AWS`` principal ``*``, an account id, or any ARN in the caller's account) and every
``StringEquals`` / ``StringLike`` condition on ``sts:ExternalId``. Otherwise the caller gets
AWS's ``AccessDenied`` (HTTP 403, STS XML error document).
"""

from __future__ import annotations

import fnmatch
import json
import re
import uuid
from typing import Any
from urllib.parse import unquote
from xml.sax.saxutils import escape

from moto.iam.models import iam_backends
from moto.sts.responses import TokenResponse

from . import auth

_ROLE_ARN_RE = re.compile(r"^arn:(aws[a-z-]*):iam::(\d{12}):role/(.+)$")
_original_assume_role = TokenResponse.assume_role


def _as_list(value: Any) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _principal_matches(principal: Any, caller_account: str) -> bool:
    if principal == "*":
        return True
    if not isinstance(principal, dict):
        return False
    for p in _as_list(principal.get("AWS")):
        if p == "*" or p == caller_account or f":{caller_account}:" in str(p):
            return True
    return False


def _conditions_match(condition: dict | None, external_id: str | None) -> bool:
    for operator, clauses in (condition or {}).items():
        for key, expected in clauses.items():
            if key.lower() != "sts:externalid":
                continue  # other condition keys are not evaluated by the sandbox
            expected = [str(e) for e in _as_list(expected)]
            if external_id is None:
                return False
            if operator == "StringEquals" and external_id not in expected:
                return False
            if operator == "StringLike" and not any(fnmatch.fnmatchcase(external_id, e) for e in expected):
                return False
            if operator not in ("StringEquals", "StringLike"):
                return False
    return True


def trust_allows(policy_document: str, caller_account: str, external_id: str | None) -> bool:
    try:
        policy = json.loads(policy_document)
    except (TypeError, ValueError):
        policy = json.loads(unquote(policy_document))
    for statement in _as_list(policy.get("Statement")):
        if statement.get("Effect") != "Allow":
            continue
        actions = [a.lower() for a in _as_list(statement.get("Action"))]
        if not any(a in ("sts:assumerole", "sts:*", "*") for a in actions):
            continue
        if not _principal_matches(statement.get("Principal"), caller_account):
            continue
        if _conditions_match(statement.get("Condition"), external_id):
            return True
    return False


def _access_denied(caller_arn: str, role_arn: str) -> tuple[str, dict[str, Any]]:
    message = f"User: {caller_arn} is not authorized to perform: sts:AssumeRole on resource: {role_arn}"
    body = (
        '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
        "<Error><Type>Sender</Type><Code>AccessDenied</Code>"
        f"<Message>{escape(message)}</Message></Error>"
        f"<RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>"
    )
    return body, {"status": 403, "Content-Type": "text/xml"}


def assume_role(self: TokenResponse) -> Any:
    role_arn = self._get_param("RoleArn") or ""
    external_id = self._get_param("ExternalId")
    caller_account = self.current_account
    # Named as every AccessDenied of the sandbox names its caller (moto's own identity would call
    # the administrator's keys arn:aws:sts::ACCOUNT:user/moto).
    caller_arn = auth.request_caller_arn(caller_account)
    match = _ROLE_ARN_RE.match(role_arn)
    if not match:
        return _access_denied(caller_arn, role_arn)
    partition, account, _ = match.groups()
    try:
        role = iam_backends[account][partition].get_role_by_arn(role_arn)
    except Exception:  # noqa: BLE001 -- moto raises IAMNotFoundException
        return _access_denied(caller_arn, role_arn)
    if not trust_allows(role.assume_role_policy_document, caller_account, external_id):
        return _access_denied(caller_arn, role_arn)
    response = _original_assume_role(self)
    auth.note_issued()
    return response


def apply() -> None:
    TokenResponse.assume_role = assume_role  # type: ignore[method-assign]
