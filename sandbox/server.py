"""The sandbox HTTP endpoint: moto's threaded server + Pantry extensions + a control plane.

``start()`` returns a running :class:`SandboxServer`. Point boto3 at ``server.url`` (or set
``AWS_ENDPOINT_URL``). The control plane lives under ``/_sandbox/`` on the same port:

* ``GET  /_sandbox/health``                -> ``{"status": "ok"}``
* ``POST /_sandbox/reset``                 -> reset all moto backends, faults and sandbox state
* ``GET|POST|DELETE /_sandbox/faults``     -> list / add (JSON body, see :mod:`sandbox.faults`) / clear
* ``GET|POST /_sandbox/discoverable``      -> ``{"owner_account", "region", "consumer_accounts"}``
* ``POST /_sandbox/feature-group-access``  -> ``{"arn", "consumer_account", "permission"|null}``
* ``POST /_sandbox/sessions/expire``       -> ``{"access_key_id"}`` or ``{"role_arn"}`` (neither: every
  session): those STS sessions fail with the service's expired-token error from now on
* ``POST /_sandbox/search-lag``            -> ``{"seconds"}``: feature metadata edited from now on
  stays searchable in its previous version for that long (Search's indexing lag); 0 turns it off
* ``POST /_sandbox/search-lag/flush``      -> make every pending edit searchable now
* ``GET|POST|DELETE /_sandbox/clock``      -> read / move (``{"advance_seconds"}``, ``{"offset_seconds"}``
  or ``{"now": ISO 8601}``) / reset the sandbox clock that RAM invitation expiry and STS session
  expiry read
* ``/_sandbox/cloudtrail…``                  -> see :mod:`sandbox.cloudtrail.control`

Control errors are JSON ``{"error": "..."}`` with a plain message (no Python reprs).

``discoverable`` and ``feature-group-access`` make real RAM shares on the owner's behalf and
accept the consumer's invitation (see :mod:`sandbox.state`). SageMaker Feature Store runtime
requests (``/FeatureGroup/...``, ``/BatchGetRecord``) go to :mod:`sandbox.featurestore_runtime`;
everything else to moto.

SageMaker (control plane and Feature Store runtime), RAM and STS requests are also handed to
the CloudTrail recorder when a trail exists, so real calls made to the sandbox appear in the
trails' log files.
"""

from __future__ import annotations

import io
import json
import logging
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.exceptions import InternalServerError
from werkzeug.serving import make_server

from . import (
    auth,
    clock,
    extensions,
    faults,
    featurestore_runtime,
    organizations_ext,
    s3_access,
    s3_fast,
    search_index,
    state,
    validation,
)
from ._common import key_account, read_body
from .cloudtrail import control as cloudtrail_control
from .cloudtrail import recorder as cloudtrail_recorder
from .cloudtrail.service import SERVICE as CLOUDTRAIL
from .ram import RamError

CONTROL_PREFIX = "/_sandbox/"


def reset_all() -> None:
    from moto.moto_api._internal.models import moto_api_backend

    moto_api_backend.reset()
    faults.clear()
    state.reset()
    organizations_ext.reset()
    clock.reset()
    CLOUDTRAIL.reset()
    auth.reset()
    search_index.reset()


def _json(start_response: Callable, status: int, payload: Any) -> list[bytes]:
    body = json.dumps(payload, default=str).encode()
    phrase = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed"}
    start_response(
        f"{status} {phrase.get(status, 'OK')}",
        [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
    )
    return [body]


class SandboxApp:
    """WSGI wrapper: control endpoints, then fault injection, then moto."""

    def __init__(self, inner: Callable) -> None:
        self.inner = inner
        self.trails_exist = cloudtrail_recorder.TrailPresence()

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Any:
        path = environ.get("PATH_INFO", "")
        if path.startswith(CONTROL_PREFIX):
            return self.control(environ, start_response, path[len(CONTROL_PREFIX) :].strip("/"))
        if self.trails_exist() and faults.request_identity(environ)["service"] in cloudtrail_recorder.RECORDED_SERVICES:
            return self.recorded(environ, start_response)
        return self.aws(environ, start_response)

    def recorded(self, environ: dict[str, Any], start_response: Callable) -> Any:
        """Serve the request, then hand it and its response to the CloudTrail recorder."""
        request_body = read_body(environ)
        capture = cloudtrail_recorder.Capture(start_response)
        body = b"".join(self.aws(environ, capture))
        try:
            records = cloudtrail_recorder.records_for_request(
                environ, request_body, capture.status, capture.headers, body
            )
            CLOUDTRAIL.submit(records)
        except Exception:  # noqa: BLE001 -- auditing must never break the call it audits
            logging.getLogger(__name__).exception("CloudTrail recorder failed")
        return [body]

    def aws(self, environ: dict[str, Any], start_response: Callable) -> Any:
        rejected = auth.check(environ)
        if rejected is not None:
            return self.reject_credentials(environ, start_response, rejected)
        with auth.serving(environ):
            return self.serve(environ, start_response)

    def serve(self, environ: dict[str, Any], start_response: Callable) -> Any:
        if faults.active():
            hit = self.match_fault(environ)
            if hit is not None:
                status, headers, body = hit
                start_response(status, headers)
                return [body]
        if featurestore_runtime.matches(environ):
            return featurestore_runtime.handle(environ, start_response)
        invalid = validation.check(environ, start_response)
        if invalid is not None:
            return invalid
        # Before moto and the fast path alike: a presigned URL must be within its lifetime, and
        # another account's bucket needs its owner's grant.
        denied = s3_access.presigned_url_check(environ, start_response)
        if denied is None:
            denied = s3_access.check(environ, start_response)
        if denied is not None:
            return denied
        answered = s3_fast.handle(environ, start_response)
        if answered is not None:
            return answered
        return self.inner(environ, start_response)

    def _protocol(self, environ: dict[str, Any], service: str | None) -> str:
        """The service's protocol from botocore's model, else guessed from the request's shape."""
        if featurestore_runtime.matches(environ):
            return "rest-json"  # signed as "sagemaker", but its own REST-JSON API
        known = auth.protocol_of(service) if service else None
        if known:
            return known
        if environ.get("HTTP_X_AMZ_TARGET"):
            return "json"
        if "x-www-form-urlencoded" in environ.get("CONTENT_TYPE", "") or "Action=" in environ.get("QUERY_STRING", ""):
            return "query"
        return "rest-xml"

    def reject_credentials(self, environ: dict[str, Any], start_response: Callable, rejected: str) -> list[bytes]:
        protocol = self._protocol(environ, faults.request_identity(environ)["service"])
        invalid, expired = auth.ERRORS.get(protocol, auth.ERRORS["rest-xml"])
        status, code, message = expired if rejected == "expired" else invalid
        status_line, headers, body = faults.error_response(
            {"error_code": code, "message": message, "status": status}, protocol
        )
        start_response(status_line, headers)
        return [body]

    # ------------------------------------------------------------------ faults
    def match_fault(self, environ: dict[str, Any]):
        ident = faults.request_identity(environ)
        target = environ.get("HTTP_X_AMZ_TARGET")
        content_type = environ.get("CONTENT_TYPE", "")
        operation = None
        protocol = self._protocol(environ, ident["service"])
        rest_operation = faults.rest_json_operation(
            ident["service"], environ.get("REQUEST_METHOD", "GET"), featurestore_runtime.raw_path(environ)
        )
        if target:
            operation = target.split(".")[-1]
        elif rest_operation is not None:  # RAM, Feature Store runtime
            operation = rest_operation
        elif "x-www-form-urlencoded" in content_type or environ.get("QUERY_STRING", "").find("Action=") >= 0:
            params = parse_qs(environ.get("QUERY_STRING", ""))
            if "x-www-form-urlencoded" in content_type:
                params.update(parse_qs(read_body(environ).decode("utf-8", "replace")))
            operation = (params.get("Action") or [None])[0]
        account = environ.get("HTTP_X_MOTO_ACCOUNT_ID") or (
            key_account(environ, ident["access_key"]) if ident["access_key"] else None
        )
        fault = faults.take(ident["service"], operation, account, ident["region"])
        if fault is None:
            return None
        if fault["delay_seconds"]:
            time.sleep(fault["delay_seconds"])
        if not fault["error_code"]:
            return None  # latency only: the request goes on to moto
        return faults.error_response(fault, protocol)

    # ------------------------------------------------------------------ control plane
    def control(self, environ: dict[str, Any], start_response: Callable, route: str) -> Any:
        method = environ.get("REQUEST_METHOD", "GET")
        try:
            raw = read_body(environ)
            payload = json.loads(raw) if raw.strip() else {}
        except ValueError:
            return _json(start_response, 400, {"error": "body must be JSON"})
        if not isinstance(payload, dict):
            return _json(start_response, 400, {"error": "body must be a JSON object"})
        try:
            if route == "health":
                return _json(start_response, 200, {"status": "ok"})
            if route == "reset" and method == "POST":
                reset_all()
                return _json(start_response, 200, {"status": "ok"})
            if route == "faults":
                if method == "POST":
                    return _json(start_response, 200, faults.add(payload))
                if method == "DELETE":
                    faults.clear()
                    return _json(start_response, 200, {"status": "ok"})
                return _json(start_response, 200, {"faults": faults.listing()})
            if route == "discoverable":
                if method == "POST":
                    state.set_discoverable(
                        payload["owner_account"], payload["region"], payload.get("consumer_accounts", [])
                    )
                return _json(start_response, 200, state.snapshot())
            if route == "feature-group-access" and method == "POST":
                state.set_feature_group_access(payload["arn"], payload["consumer_account"], payload.get("permission"))
                return _json(start_response, 200, state.snapshot())
            handled = cloudtrail_control.handle(method, route, payload)
            if handled is not None:
                return _json(start_response, *handled)
            if route == "clock":
                if method == "POST":
                    self.move_clock(payload)
                elif method == "DELETE":
                    clock.reset()
                return _json(start_response, 200, clock.snapshot())
            if route == "sessions/expire" and method == "POST":
                if payload.get("access_key_id"):
                    keys = [str(payload["access_key_id"])]
                else:
                    keys = auth.sessions_of_role(payload.get("role_arn"))
                auth.expire(keys)
                return _json(start_response, 200, {"expired": len(keys)})
            if route == "search-lag" and method == "POST":
                seconds = payload["seconds"]
                if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
                    raise ValueError("seconds must be a number")
                search_index.set_lag(seconds)
                return _json(start_response, 200, {"seconds": search_index.lag()})
            if route == "search-lag/flush" and method == "POST":
                search_index.flush()
                return _json(start_response, 200, {"status": "ok"})
        except KeyError as exc:
            return _json(start_response, 400, {"error": f"bad request: the field {exc.args[0]} is required"})
        except RamError as exc:
            return _json(start_response, 400, {"error": f"{exc.error_type}: {exc.message}"})
        except (ValueError, OverflowError) as exc:
            # The control plane's own checks raise ValueError with a plain message.
            return _json(start_response, 400, {"error": f"bad request: {exc}"})
        except (TypeError, AttributeError):
            # Python's own messages quote values as reprs; say what is wrong instead.
            return _json(start_response, 400, {"error": "bad request: a field has the wrong type"})
        return _json(start_response, 404, {"error": f"unknown control route {method} /_sandbox/{route}"})

    @staticmethod
    def move_clock(payload: dict[str, Any]) -> None:
        given = [k for k in ("advance_seconds", "offset_seconds", "now") if payload.get(k) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of advance_seconds, offset_seconds or now")
        key, value = given[0], payload[given[0]]
        if key == "now":
            try:
                clock.set_now(clock.parse(value))
            except (ValueError, TypeError, OverflowError):
                raise ValueError("now must be an ISO 8601 time such as 2031-05-01T09:30:00Z") from None
            return
        # Within a century either way: enough for any expiry, and no datetime overflow.
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not abs(value) < 3.2e9:
            raise ValueError(f"{key} must be a number of seconds")
        (clock.advance if key == "advance_seconds" else clock.set_offset)(value)


class Dispatcher(DomainDispatcherApplication):
    """moto's host-to-service dispatcher, remembering each host's service.

    moto looks the service up again for every request, listing its own package directory (one
    ``stat`` per module, twice a request) under one lock that every request thread shares. The
    answer depends only on the host name and moto's installed modules, so it is kept.
    """

    def __init__(self, create_app: Callable) -> None:
        super().__init__(create_app)
        self._backends: dict[str | None, Any] = {}

    def get_backend_for_host(self, host: str | None) -> Any:
        try:
            return self._backends[host]
        except KeyError:
            backend = self._backends[host] = super().get_backend_for_host(host)
            return backend


class KeepAliveRequestHandler(MotoRequestHandler):
    """moto's request handler with HTTP/1.1 persistent connections, as AWS endpoints keep them.

    werkzeug's development server closes every connection after one response (and lingers
    10 ms per request to drain the socket), so each SDK call paid a new TCP connection and a
    new server thread. Here a request body with a ``Content-Length`` is read in full before the
    application runs (moto reads whole bodies anyway), so nothing of it is left on the socket
    and the connection serves the client's next request. A chunked request body, a response
    that fails midway or a client asking to close ends the connection, as before.
    """

    # Small responses leave in one segment, at once: without this, Nagle's algorithm holds the
    # body back until the client acknowledges the headers, and its delayed ACK waits 40 ms.
    disable_nagle_algorithm = True
    # A connection idle this long between requests is closed, as AWS endpoints close idle
    # connections (the SDKs open a new one): a client that never closes its pool cannot hold
    # a server thread for ever. Only the wait for the next request is bounded, never a
    # request being read or a response being sent (a 512 MB object takes what it takes).
    idle_timeout: float = 60.0

    def handle_one_request(self) -> None:
        self.connection.settimeout(self.idle_timeout)
        try:
            waiting = self.rfile.peek(1)  # the next request's first byte, or the client's close
        except (TimeoutError, OSError):
            waiting = b""
        finally:
            try:
                self.connection.settimeout(None)
            except OSError:  # the socket is already gone
                pass
        if not waiting:
            self.close_connection = True
            return
        super().handle_one_request()

    def make_environ(self) -> dict[str, Any]:
        environ = super().make_environ()
        if environ.get("wsgi.input_terminated"):  # chunked: the app reads it; close afterwards
            self.close_connection = True
            return environ
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = -1
        if length < 0:
            self.close_connection = True
            return environ
        body = self.rfile.read(length) if length else b""
        if len(body) < length:  # the client went away mid-body
            self.close_connection = True
        environ["wsgi.input"] = io.BytesIO(body)
        return environ

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        if logging.getLogger("werkzeug").isEnabledFor(logging.INFO):
            super().log_request(code, size)

    def run_wsgi(self) -> None:
        if self.headers.get("Expect", "").lower().strip(" \t") == "100-continue":
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        self.environ = environ = self.make_environ()
        head_only = environ["REQUEST_METHOD"] == "HEAD"
        pending: dict[str, Any] = {}
        sent: dict[str, Any] = {}

        def write(data: bytes) -> None:
            if not sent:
                status, headers = pending["status"], pending["headers"]
                code, _, message = status.partition(" ")
                self.send_response(int(code), message)
                names = set()
                for name, value in headers:
                    self.send_header(name, value)
                    names.add(name.lower())
                chunked = not ("content-length" in names or head_only or int(code) < 200 or int(code) in (204, 304))
                if chunked:
                    self.send_header("Transfer-Encoding", "chunked")
                if self.close_connection:
                    self.send_header("Connection", "close")
                sent["chunked"] = chunked
                self._headers_buffer.append(b"\r\n")  # end_headers(), sent with the first data
                if data and not head_only and not chunked:
                    self._headers_buffer.append(data)
                    data = b""
                self.flush_headers()
            if data and not head_only:
                if sent["chunked"]:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                else:
                    self.wfile.write(data)

        def start_response(status: str, headers: list, exc_info: Any = None) -> Callable:
            if exc_info and sent:
                raise exc_info[1].with_traceback(exc_info[2])
            pending["status"], pending["headers"] = status, headers
            return write

        try:
            result = self.server.app(environ, start_response)
            try:
                for data in result:
                    write(data)
                if not sent:
                    write(b"")
                if sent["chunked"]:
                    self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()
            finally:
                if hasattr(result, "close"):
                    result.close()
        except (ConnectionError, TimeoutError):
            self.close_connection = True
        except Exception:
            self.close_connection = True
            logging.getLogger("werkzeug").exception("Error on request %s %s", self.command, self.path)
            if not sent:
                pending.clear()
                try:
                    for data in InternalServerError()(environ, start_response):
                        write(data)
                    if not sent:
                        write(b"")
                    self.wfile.flush()
                except Exception:  # noqa: BLE001 -- the client is gone
                    pass


class SandboxServer(ThreadedMotoServer):
    """``ThreadedMotoServer`` whose WSGI app is wrapped by :class:`SandboxApp`."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, verbose: bool = False) -> None:
        super().__init__(ip_address=host, port=port, verbose=verbose)

    def _server_entry(self) -> None:
        app = SandboxApp(Dispatcher(create_backend_app))
        self._server = make_server(self._ip_address, self._port, app, True, request_handler=KeepAliveRequestHandler)
        self._server_ready_event.set()
        self._server.serve_forever()

    @property
    def url(self) -> str:
        host, port = self.get_host_and_port()
        return f"http://{host}:{port}"

    def reset(self) -> None:
        reset_all()


def start(host: str = "127.0.0.1", port: int = 0, verbose: bool = False) -> SandboxServer:
    """Apply all extensions and start the sandbox in a daemon thread. ``port=0`` = free port."""
    extensions.apply()
    if not verbose:
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = SandboxServer(host=host, port=port, verbose=verbose)
    server.start()
    return server
