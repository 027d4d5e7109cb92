"""ecsk's external metrics API server (`external.metrics.k8s.io/v1beta1`), for the HPA.

Why a server of our own rather than a Prometheus adapter: the values are the lab's `ecsk load`
annotations on ECSServices, so the adapter only has to list ECSServices of the namespace asked
about and reduce them (`ecsk.core.autoscaling.external`). It reads at every request, so a new
load is visible on the HPA's next sync, and it keeps no state: one adapter serves every
namespace and every operator (test sessions run namespaced operators side by side).

The kube-aggregator proxies `/apis/external.metrics.k8s.io/v1beta1/...` here over HTTPS; the
APIService says `insecureSkipTLSVerify` (as metrics-server's does), so a self-signed certificate,
made at start (`cryptography`), is enough. No authentication or authorization: the
adapter answers whoever reaches its port (on the local cluster it listens on 127.0.0.1; in a
cluster, a NetworkPolicy or the Service's reach limits it). Values are request rates the lab
typed in, not secrets; delegated authn (TokenReview/SubjectAccessReview) would add RBAC for no
gain here.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import re
import ssl
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ecsk.core.autoscaling import external

log = logging.getLogger("ecsk.metrics-adapter")

CR = "ecs.ecsk.io/v1alpha1"
_METRIC_PATH = re.compile(
    rf"^/apis/{re.escape(external.GROUP_VERSION)}/namespaces/(?P<ns>[^/]+)/(?P<metric>[^/]+)/?$"
)
ServiceLister = Callable[[str], list[dict[str, Any]]]
"""ECSServices of a namespace (the only read the adapter needs; swapped in tests)."""


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A key and self-signed certificate for 127.0.0.1/localhost in `directory` (reused if there).

    Made with `cryptography`: Python's standard library can serve TLS but cannot make a
    certificate, and shelling out to `openssl` would tie the adapter to an image that ships it."""
    cert, key = directory / "tls.crt", directory / "tls.key"
    if cert.is_file() and key.is_file():
        return cert, key
    directory.mkdir(parents=True, exist_ok=True)
    private = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ecsk-metrics-adapter")])
    now = datetime.now(UTC)
    sans = [
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        x509.DNSName("localhost"),
        x509.DNSName("ecsk-metrics-adapter.ecsk-system.svc"),
    ]
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=3650))
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .sign(private, hashes.SHA256())
    )
    key.write_bytes(
        private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    key.chmod(0o600)
    cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return cert, key


def kube_lister() -> ServiceLister:
    """List ECSServices with the operator's Kubernetes wrapper (in-cluster or kubeconfig)."""
    from ecsk.controller.kube.client import Kube

    kube = Kube()

    def services(namespace: str) -> list[dict[str, Any]]:
        return kube.list(CR, "ECSService", namespace)

    return services


def respond(path: str, list_services: ServiceLister, now: datetime) -> tuple[int, dict[str, Any]]:
    """(HTTP status, JSON body) for one GET: discovery, a metric, or a Status error."""
    url = urlsplit(path)
    route = url.path.rstrip("/") or "/"
    if route == f"/apis/{external.GROUP}":
        return 200, external.api_group()
    if route == f"/apis/{external.GROUP_VERSION}":
        return 200, external.resource_list()
    m = _METRIC_PATH.match(url.path)
    if m is None:
        return 404, external.status(404, "NotFound", f"the server could not find {url.path}")
    selector = (parse_qs(url.query).get("labelSelector") or [""])[0]
    try:
        body = external.value_list(list_services(m["ns"]), m["metric"], selector, now)
    except external.SelectorError as exc:
        return 400, external.status(400, "BadRequest", str(exc))
    return 200, body


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        if self.path.split("?", 1)[0] in ("/healthz", "/livez", "/readyz"):
            self._send(200, b"ok", "text/plain")
            return
        try:
            code, body = respond(self.path, self.server.list_services, datetime.now(UTC))
        except Exception as exc:  # a failed list must answer, not hang the aggregator's proxy
            log.warning("GET %s failed: %s", self.path, exc)
            code, body = 503, external.status(503, "ServiceUnavailable", f"listing ECSServices failed: {exc}")
        self._send(code, json.dumps(body).encode(), "application/json")

    def _send(self, code: int, data: bytes, content_type: str) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], list_services: ServiceLister) -> None:
        super().__init__(address, _Handler)
        self.list_services = list_services


def make_server(
    host: str,
    port: int,
    list_services: ServiceLister,
    cert_dir: Path | None = None,
) -> ThreadingHTTPServer:
    """A bound HTTPS server (port 0 picks a free one; see `server_address`), not yet serving."""
    directory = cert_dir or Path(tempfile.mkdtemp(prefix="ecsk-metrics-adapter-"))
    cert, key = self_signed(directory)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(cert), str(key))
    server = _Server((host, port), list_services)
    # The handshake happens in each request's thread: done in accept(), one stalled client
    # would block every other.
    server.socket = context.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
    return server
