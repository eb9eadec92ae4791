"""The sandbox HTTP endpoint: moto's threaded server + Pantry extensions + a control plane.

``start()`` returns a running :class:`SandboxServer`. Point boto3 at ``server.url`` (or set
``AWS_ENDPOINT_URL``). The control plane lives under ``/_sandbox/`` on the same port:

* ``GET  /_sandbox/health``                -> ``{"status": "ok"}``
* ``POST /_sandbox/reset``                 -> reset all moto backends, faults and sandbox state
* ``GET|POST|DELETE /_sandbox/faults``     -> list / add (JSON body, see :mod:`sandbox.faults`) / clear
* ``GET|POST /_sandbox/discoverable``      -> ``{"owner_account", "region", "consumer_accounts"}``
* ``POST /_sandbox/feature-group-access``  -> ``{"arn", "consumer_account", "permission"|null}``
* ``GET|POST|DELETE /_sandbox/clock``      -> read / move (``{"advance_seconds"}``, ``{"offset_seconds"}``
  or ``{"now": ISO 8601}``) / reset the sandbox clock that RAM invitation expiry reads
* ``/_sandbox/cloudtrail…``                  -> see :mod:`sandbox.cloudtrail.control`

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
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import make_server

from . import clock, extensions, faults, featurestore_runtime, organizations_ext, state
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
        request_body = self._read_body(environ)
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
        if faults.active():
            hit = self.match_fault(environ)
            if hit is not None:
                status, headers, body = hit
                start_response(status, headers)
                return [body]
        if featurestore_runtime.matches(environ):
            return featurestore_runtime.handle(environ, start_response)
        return self.inner(environ, start_response)

    # ------------------------------------------------------------------ faults
    @staticmethod
    def _read_body(environ: dict[str, Any]) -> bytes:
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        return body

    def match_fault(self, environ: dict[str, Any]):
        from moto.iam.models import get_account_id_from

        ident = faults.request_identity(environ)
        target = environ.get("HTTP_X_AMZ_TARGET")
        content_type = environ.get("CONTENT_TYPE", "")
        operation = None
        rest_operation = faults.rest_json_operation(
            ident["service"], environ.get("REQUEST_METHOD", "GET"), featurestore_runtime.raw_path(environ)
        )
        if target:
            protocol, operation = "json", target.split(".")[-1]
        elif rest_operation is not None:  # RAM, Feature Store runtime: JSON error documents too
            protocol, operation = "json", rest_operation
        elif "x-www-form-urlencoded" in content_type or environ.get("QUERY_STRING", "").find("Action=") >= 0:
            protocol = "query"
            params = parse_qs(environ.get("QUERY_STRING", ""))
            if "x-www-form-urlencoded" in content_type:
                params.update(parse_qs(self._read_body(environ).decode("utf-8", "replace")))
            operation = (params.get("Action") or [None])[0]
        else:
            protocol = "rest-xml"
        account = environ.get("HTTP_X_MOTO_ACCOUNT_ID") or (
            get_account_id_from(ident["access_key"]) if ident["access_key"] else None
        )
        fault = faults.take(ident["service"], operation, account, ident["region"])
        if fault is None:
            return None
        return faults.error_response(fault, protocol)

    # ------------------------------------------------------------------ control plane
    def control(self, environ: dict[str, Any], start_response: Callable, route: str) -> Any:
        method = environ.get("REQUEST_METHOD", "GET")
        try:
            raw = self._read_body(environ)
            payload = json.loads(raw) if raw.strip() else {}
        except ValueError:
            return _json(start_response, 400, {"error": "body must be JSON"})
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
        except KeyError as exc:
            return _json(start_response, 400, {"error": f"bad request: the field {exc.args[0]} is required"})
        except RamError as exc:
            return _json(start_response, 400, {"error": f"{exc.error_type}: {exc.message}"})
        except (ValueError, TypeError, OverflowError) as exc:
            return _json(start_response, 400, {"error": f"bad request: {exc}"})
        return _json(start_response, 404, {"error": f"unknown control route {method} {route}"})

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


class SandboxServer(ThreadedMotoServer):
    """``ThreadedMotoServer`` whose WSGI app is wrapped by :class:`SandboxApp`."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, verbose: bool = False) -> None:
        super().__init__(ip_address=host, port=port, verbose=verbose)

    def _server_entry(self) -> None:
        app = SandboxApp(DomainDispatcherApplication(create_backend_app))
        self._server = make_server(self._ip_address, self._port, app, True, request_handler=MotoRequestHandler)
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
