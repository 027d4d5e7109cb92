"""The HTTP side of the endpoint: AWS JSON 1.1 over a threaded stdlib HTTP/1.1 server.

Why the stdlib ThreadingHTTPServer: every call is a few blocking Kubernetes API requests, so a
thread per connection (keep-alive, as the SDKs use) is the simple fit; it adds no dependency and
the measured throughput is in docs/api.md. `dispatch` is the whole protocol (target, body, auth,
model, handler, error shape) as a pure function of the request, so unit tests need no socket.
"""

from __future__ import annotations

import json
import logging
import socket
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from ecsk.api import sigv4
from ecsk.api.context import Context, Settings
from ecsk.api.errors import AwsError
from ecsk.api.model import validate_input
from ecsk.api.registry import Service, services
from ecsk.api.store import Store

log = logging.getLogger("ecsk.api")
CONTENT_TYPE = "application/x-amz-json-1.1"


@dataclass
class Response:
    status: int
    body: dict[str, Any]
    error: str | None = None


def _error(exc: AwsError) -> Response:
    return Response(exc.status, exc.body(), exc.code)


def _target(headers: Mapping[str, str]) -> tuple[Service, str]:
    raw = next((v for k, v in headers.items() if k.lower() == "x-amz-target"), "")
    prefix, _, operation = raw.rpartition(".")
    service = services().get(prefix)
    if not raw or service is None or not operation:
        raise AwsError("UnknownOperationException", "")
    return service, operation


def _parse(body: bytes) -> Any:
    if not body.strip():
        return {}
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise AwsError(
            "SerializationException", "Start of structure or map found where not expected."
        ) from None


def dispatch(
    store: Store, settings: Settings, method: str, path: str, headers: Mapping[str, str], body: bytes
) -> Response:
    """One request, start to end; never raises (every failure is an AWS-shaped response)."""
    try:
        if method != "POST":
            raise AwsError("UnknownOperationException", "")
        service, operation = _target(headers)
        auth_header = next((v for k, v in headers.items() if k.lower() == "authorization"), None)
        auth = sigv4.verify(auth_header, settings.access_keys, method, path, headers, body)
        params = _parse(body)
        if operation not in _model_ops(service):
            raise AwsError("UnknownOperationException", "")
        cleaned = validate_input(service.model, operation, params, service.validation_error)
        handler = service.operations.get(operation)
        if handler is None:
            raise AwsError(
                "UnsupportedFeatureException" if service.model == "ecs" else "ValidationException",
                f"ecsk does not implement {operation} yet (see README: supported operations).",
            )
        ctx = Context(store, settings, auth.access_key if auth else None)
        return Response(200, handler(ctx, cleaned))
    except AwsError as exc:
        return _error(exc)
    except Exception:  # a bug must not leak a traceback to the client, nor kill the server
        log.exception("internal error handling %s", dict(headers).get("X-Amz-Target"))
        return _error(AwsError("ServerException", "An internal error occurred in ecsk.", 500))


def _model_ops(service: Service) -> frozenset[str]:
    from ecsk.api.model import operation_names

    return operation_names(service.model)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: SDKs reuse connections
    server: ApiServer

    def setup(self) -> None:
        """No Nagle: a response is headers then body, and with delayed ACKs on the client the body
        would wait ~40 ms per call on a keep-alive connection."""
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)

    def _send(self, resp: Response) -> None:
        payload = json.dumps(resp.body, separators=(",", ":")).encode()
        self.send_response(resp.status)
        self.send_header("Content-Type", CONTENT_TYPE)
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        if resp.error:
            self.send_header("x-amzn-ErrorType", resp.error)
        self.end_headers()
        self.wfile.write(payload)

    def do_GET(self) -> None:
        """Health probe (`/ping`); any other GET is not an AWS JSON call."""
        if self.path.rstrip("/") in ("/ping", "/healthz"):
            self._send(Response(200, {"status": "ok"}))
            return
        self._send(_error(AwsError("UnknownOperationException", "")))

    def do_POST(self) -> None:
        settings = self.server.settings
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0 or length > settings.max_body:
            self.close_connection = True  # the unread body must not be parsed as the next request
            self._send(_error(_bad_length(length, settings.max_body)))
            return
        body = self.rfile.read(length) if length else b""
        headers = {k: v for k, v in self.headers.items()}
        self._send(dispatch(self.server.store, settings, "POST", self.path, headers, body))


def _bad_length(length: int, limit: int) -> AwsError:
    if length < 0:
        return AwsError("SerializationException", "Invalid Content-Length.")
    return AwsError(
        "RequestEntityTooLargeException",
        f"Request body of {length} bytes exceeds the limit of {limit} bytes.",
    )


class ApiServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], store: Store, settings: Settings) -> None:
        self.store = store
        self.settings = settings
        super().__init__(address, _Handler)


def serve(host: str, port: int, store: Store, settings: Settings) -> ApiServer:
    """Bind (raises OSError if the port is taken) and return the server; call serve_forever()."""
    return ApiServer((host, port), store, settings)
