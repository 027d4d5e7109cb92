"""ecsk's external metrics API server (`external.metrics.k8s.io/v1beta1`), for the HPA.

Why a server of our own rather than a Prometheus adapter: the values are the lab's `ecsk load`
annotations on ECSServices, so the adapter only has to list ECSServices of the namespace asked
about and reduce them (`ecsk.core.autoscaling.external`). It reads at every request, so a new
load is visible on the HPA's next sync, and it keeps no state: one adapter serves every
namespace and every operator (test sessions run namespaced operators side by side).

The kube-aggregator proxies `/apis/external.metrics.k8s.io/v1beta1/...` here over HTTPS; the
APIService says `insecureSkipTLSVerify` (as metrics-server's does), so a self-signed certificate,
made at start (`cryptography`), is enough for the server side. The caller is authenticated the
way every aggregated API server authenticates it: from the ConfigMap
kube-system/extension-apiserver-authentication that kube-apiserver publishes, a client
certificate signed by the `requestheader-client-ca-file` CA (with its CN in
`requestheader-allowed-names`, the aggregator's front-proxy identity; the user is then the
`X-Remote-User` header), or one signed by the cluster's `client-ca-file` CA (the user is the CN;
the embedded cluster's aggregator presents such a certificate because it has no front-proxy CA).
Anything else gets 401, or fails the TLS handshake. Health paths stay anonymous, like
kube-apiserver's. There is no authorization step (SubjectAccessReview): any authenticated user
may read these values, which are request rates a lab typed in.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import re
import ssl
import tempfile
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.utils import CryptographyDeprecationWarning
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


AUTH_CONFIGMAP = ("kube-system", "extension-apiserver-authentication")
HEALTH_PATHS = frozenset({"/healthz", "/livez", "/readyz"})


class AuthConfigError(RuntimeError):
    """The cluster's client-authentication settings could not be read or used."""


@dataclass(frozen=True, slots=True)
class ClientAuth:
    """Who may call: kube-apiserver's published client-authentication settings, parsed."""

    requestheader_cas: tuple[x509.Certificate, ...] = ()
    allowed_names: frozenset[str] = frozenset()
    username_headers: tuple[str, ...] = ("X-Remote-User",)
    client_cas: tuple[x509.Certificate, ...] = ()

    @classmethod
    def from_configmap_data(cls, data: Mapping[str, str]) -> ClientAuth:
        def certs(key: str) -> tuple[x509.Certificate, ...]:
            pem = data.get(key) or ""
            try:
                with warnings.catch_warnings():  # kwok's CA has serial 0: the cluster's, not ours to fix
                    warnings.simplefilter("ignore", CryptographyDeprecationWarning)
                    return tuple(x509.load_pem_x509_certificates(pem.encode())) if pem.strip() else ()
            except ValueError as exc:
                raise AuthConfigError(f"{'/'.join(AUTH_CONFIGMAP)}: {key} is not PEM: {exc}") from exc

        def names(key: str) -> list[str]:
            raw = data.get(key) or "[]"
            try:
                return [str(n) for n in json.loads(raw)]
            except ValueError as exc:
                raise AuthConfigError(f"{'/'.join(AUTH_CONFIGMAP)}: {key} is not a JSON list") from exc

        auth = cls(
            requestheader_cas=certs("requestheader-client-ca-file"),
            allowed_names=frozenset(names("requestheader-allowed-names")),
            username_headers=tuple(names("requestheader-username-headers")) or ("X-Remote-User",),
            client_cas=certs("client-ca-file"),
        )
        if not auth.requestheader_cas and not auth.client_cas:
            raise AuthConfigError(
                f"{'/'.join(AUTH_CONFIGMAP)} names no client CA: the aggregator's calls could not be"
                " authenticated (kube-apiserver needs --requestheader-client-ca-file or --client-ca-file)"
            )
        return auth

    def ca_bundle(self) -> str:
        """Every CA a caller's certificate may chain to, for the TLS handshake."""
        pem = serialization.Encoding.PEM
        return "".join(c.public_bytes(pem).decode() for c in (*self.requestheader_cas, *self.client_cas))

    def user(self, peer_der: bytes | None, headers: Mapping[str, str]) -> str | None:
        """The authenticated user, or None. The handshake already verified the chain against
        `ca_bundle()`; the issuer says which authenticator applies, as kube-apiserver decides."""
        if not peer_der:
            return None
        cert = x509.load_der_x509_certificate(peer_der)
        cn = [a.value for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
        common_name = str(cn[0]) if cn else ""
        if any(cert.issuer == ca.subject for ca in self.requestheader_cas):
            if self.allowed_names and common_name not in self.allowed_names:
                return None
            lowered = {k.lower(): v for k, v in headers.items()}
            return next((lowered[h.lower()] for h in self.username_headers if lowered.get(h.lower())), None)
        if any(cert.issuer == ca.subject for ca in self.client_cas):
            return common_name or None
        return None


def kube_client_auth() -> ClientAuth:
    """Read kube-apiserver's client-authentication ConfigMap (the extension-apiserver-
    authentication-reader Role grants it), refusing to start without it: an adapter that could
    not authenticate the aggregator would either answer everyone or no one."""
    from ecsk.controller.kube.client import Kube, KubeError

    namespace, name = AUTH_CONFIGMAP
    try:
        cm = Kube().get("v1", "ConfigMap", name, namespace)
    except KubeError as exc:
        raise AuthConfigError(
            f"cannot read ConfigMap {namespace}/{name} ({exc}); the adapter authenticates the"
            " kube-aggregator with it: bind the Role extension-apiserver-authentication-reader"
        ) from exc
    if cm is None:
        raise AuthConfigError(f"ConfigMap {namespace}/{name} does not exist (kube-apiserver publishes it)")
    return ClientAuth.from_configmap_data(cm.get("data") or {})


def kube_lister() -> ServiceLister:
    """List ECSServices and AppRunnerServices with the operator's Kubernetes wrapper
    (in-cluster or kubeconfig); App Runner services publish their concurrent requests."""
    from ecsk.controller.kube.client import KindNotServed, Kube

    kube = Kube()

    def services(namespace: str) -> list[dict[str, Any]]:
        out = kube.list(CR, "ECSService", namespace)
        try:
            runners = kube.list(CR, "AppRunnerService", namespace)
        except KindNotServed:  # the CRD is not installed: nothing to publish
            runners = []
        return [*out, *({**r, "kind": "AppRunnerService"} for r in runners)]

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
        if self.path.split("?", 1)[0] in HEALTH_PATHS:
            self._send(200, b"ok", "text/plain")
            return
        peer = self.connection.getpeercert(binary_form=True)
        if self.server.auth.user(peer, dict(self.headers.items())) is None:
            body = external.status(401, "Unauthorized", "Unauthorized: no valid client certificate")
            self._send(401, json.dumps(body).encode(), "application/json")
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

    def __init__(self, address: tuple[str, int], list_services: ServiceLister, auth: ClientAuth) -> None:
        super().__init__(address, _Handler)
        self.list_services = list_services
        self.auth = auth


def make_server(
    host: str,
    port: int,
    list_services: ServiceLister,
    auth: ClientAuth,
    cert_dir: Path | None = None,
) -> ThreadingHTTPServer:
    """A bound HTTPS server (port 0 picks a free one; see `server_address`), not yet serving.

    Client certificates are optional at the TLS level (health probes present none) and required
    for everything else (`ClientAuth.user`); one chaining to none of the CAs fails the handshake."""
    directory = cert_dir or Path(tempfile.mkdtemp(prefix="ecsk-metrics-adapter-"))
    cert, key = self_signed(directory)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(cert), str(key))
    context.verify_mode = ssl.CERT_OPTIONAL
    context.load_verify_locations(cadata=auth.ca_bundle())
    server = _Server((host, port), list_services, auth)
    # The handshake happens in each request's thread: done in accept(), one stalled client
    # would block every other.
    server.socket = context.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
    return server
