"""JSON logs, one object per line, with the request id and no secrets.

- `JsonFormatter` writes `{"time", "level", "logger", "message", "request_id", ...}`
  (extra fields passed with `extra=` too), exceptions included, every string
  run through `scrub()`.
- `RequestIdMiddleware` takes the proxy's `X-Request-ID` when it looks like
  one (else a new UUID), puts it in a context variable every log line of the
  request carries, and returns it in the response's `X-Request-ID`.
- `scrub()` removes what must never reach a log, a page or an error report:
  `Authorization` values, bearer and Pantry personal tokens, AWS access key
  ids, secret keys and session tokens, passwords in URLs and key=value pairs,
  and the `SECRET_KEY` itself. `PantryExceptionReporterFilter` hides the same
  headers from Django's error reports.
- `GunicornJsonLogger` makes gunicorn's access and error logs JSON lines too.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from django.views.debug import SafeExceptionReporterFilter

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)

REDACTED = "[redacted]"

# Keys whose values are secrets wherever they appear (headers, query strings, JSON, extras).
SECRET_KEYS = re.compile(
    r"authorization|cookie|password|passwd|secret|token|credential|api[_-]?key|session[_-]?id|csrf|signature",
    re.I,
)

_PATTERNS: list[tuple[re.Pattern, str]] = [
    # Authorization: Bearer xxx / Basic xxx / Token xxx (header lines, reprs of header dicts).
    (
        re.compile(r"(?i)(authorization['\"]?\s*[:=]\s*['\"]?)(bearer|basic|token|aws4-hmac-sha256)?\s*[^\s'\",}]+"),
        r"\1[redacted]",
    ),
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}"), r"\1 [redacted]"),
    # Pantry personal tokens (identity/models.py): pantry_<public id><secret>.
    (re.compile(r"\bpantry_[A-Za-z0-9_-]{12,}"), "pantry_[redacted]"),
    # AWS access key ids (long-term AKIA…, temporary ASIA…).
    (re.compile(r"\b(AKIA|ASIA|AROA|AIDA)[A-Z0-9]{16}\b"), r"\1[redacted]"),
    # key=value / "key": "value" pairs whose key names a secret (AWS secret keys and session tokens included).
    (
        re.compile(
            r"(?i)(['\"]?[A-Za-z0-9_-]*(?:secret|password|passwd|token|credential|api[_-]?key|sessionid|csrftoken)"
            r"[A-Za-z0-9_-]*['\"]?\s*[:=]\s*['\"]?)([^\s'\",&}]+)"
        ),
        r"\1[redacted]",
    ),
    # Passwords in URLs: scheme://user:password@host.
    (re.compile(r"([a-z][a-z0-9+.-]*://[^:/\s@]*:)([^@\s/]+)(@)", re.I), r"\1[redacted]\3"),
]


# A bare AWS secret access key: 40 base64 characters with both cases (a lowercase hex SHA-1 is not one).
_AWS_SECRET = re.compile(r"(?<![A-Za-z0-9/+=])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])")


def _aws_secret(match: re.Match) -> str:
    value = match.group(0)
    looks_random = any(c.isupper() for c in value) and any(c.islower() for c in value)
    return REDACTED if looks_random else value


def scrub(text: str) -> str:
    """`text` with every secret Pantry knows the shape of replaced by `[redacted]`."""
    if not text:
        return text
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    text = _AWS_SECRET.sub(_aws_secret, text)
    secret_key = _secret_key()
    if secret_key and secret_key in text:
        text = text.replace(secret_key, REDACTED)
    return text


def _secret_key() -> str | None:
    try:
        from django.conf import settings

        return settings.SECRET_KEY if settings.configured and len(settings.SECRET_KEY) >= 16 else None
    except Exception:  # noqa: BLE001 - logging must never fail
        return None


def scrub_value(key: str, value):
    if SECRET_KEYS.search(key):
        return REDACTED
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {k: scrub_value(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub_value(key, v) for v in value]
    if value is None or isinstance(value, bool | int | float):
        return value
    return scrub(str(value))


# LogRecord's own attributes: everything else on a record came from `extra=`.
_RECORD_FIELDS = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "request_id"}
# Objects Django passes in `extra` that must not be dumped (they hold headers and cookies).
_SKIP_EXTRA = {"request", "server_time"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": scrub(record.getMessage()),
        }
        request_id = _record_request_id(record)
        if request_id:
            entry["request_id"] = request_id
        for key, value in vars(record).items():
            if key not in _RECORD_FIELDS and key not in _SKIP_EXTRA and not key.startswith("_"):
                entry[key] = scrub_value(key, value)
        if record.exc_info:
            entry["exception"] = scrub(self.formatException(record.exc_info))
        if record.stack_info:
            entry["stack"] = scrub(self.formatStack(record.stack_info))
        return json.dumps(entry, default=str, ensure_ascii=False)


class PlainFormatter(logging.Formatter):
    """Human-readable lines for development, scrubbed like the JSON ones."""

    def format(self, record: logging.LogRecord) -> str:
        return scrub(super().format(record))


def _record_request_id(record: logging.LogRecord) -> str | None:
    # Django logs a request's error status after the middleware has returned, with the request in
    # `extra`: its id is on the request then, no longer in the context variable.
    given = getattr(record, "request_id", None)
    if given and given != "-":
        return given
    return request_id_var.get() or getattr(getattr(record, "request", None), "request_id", None)


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = _record_request_id(record) or "-"
        return True


_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")


class RequestIdMiddleware:
    """Every request gets an id: the proxy's `X-Request-ID` when well-formed, else a new UUID."""

    def __init__(self, get_response: Callable) -> None:
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.META.get("HTTP_X_REQUEST_ID", "")
        request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id
        token = request_id_var.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
        response.headers["X-Request-ID"] = request_id
        return response


class PantryExceptionReporterFilter(SafeExceptionReporterFilter):
    """Django's error reports (mail_admins, DEBUG pages) hide auth headers and credentials too."""

    hidden_settings = re.compile(
        "API|AUTH|TOKEN|KEY|SECRET|PASS|SIGNATURE|CREDENTIAL|HTTP_COOKIE|SESSION|CSRF|DATABASE_URL|BROKER_URL",
        flags=re.I,
    )


# --- gunicorn ---------------------------------------------------------------------------------

try:  # gunicorn is in requirements.txt; the import stays optional so nothing else depends on it
    from gunicorn.glogging import Logger as _GunicornLogger
except ImportError:  # pragma: no cover
    _GunicornLogger = object  # type: ignore[assignment,misc]


class GunicornJsonLogger(_GunicornLogger):  # type: ignore[misc,valid-type]
    """gunicorn's error log and access log as JSON lines (gunicorn.conf.py: `logger_class`)."""

    def setup(self, cfg) -> None:
        super().setup(cfg)
        for handler in self.error_log.handlers:
            handler.setFormatter(JsonFormatter())
        for handler in self.access_log.handlers:
            handler.setFormatter(logging.Formatter("%(message)s"))

    def access(self, resp, req, environ, request_time) -> None:
        if not (self.cfg.accesslog or self.cfg.logconfig or self.cfg.logconfig_dict or self.cfg.syslog):
            return
        headers = {name.lower(): value for name, value in resp.headers}
        query = environ.get("QUERY_STRING", "")
        entry = {
            "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "level": "INFO",
            "logger": "gunicorn.access",
            "message": "request",
            "request_id": headers.get("x-request-id"),
            "remote_addr": environ.get("REMOTE_ADDR"),
            "forwarded_for": environ.get("HTTP_X_FORWARDED_FOR"),
            "method": environ.get("REQUEST_METHOD"),
            "path": environ.get("PATH_INFO"),
            "query": scrub(query) if query else None,
            "status": int(str(resp.status).split(None, 1)[0]) if resp.status else None,
            "bytes": getattr(resp, "sent", None),
            "duration_ms": round(request_time.total_seconds() * 1000, 1),
            "user_agent": environ.get("HTTP_USER_AGENT"),
        }
        try:
            self.access_log.info(json.dumps(entry, ensure_ascii=False))
        except Exception:  # noqa: BLE001 - an access line must never break a response
            self.error(f"Failed to log the access of {entry['path']}")
