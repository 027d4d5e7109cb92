"""The registry's front door: what ECR refuses at `docker push` / `docker pull`, before the
request reaches Distribution.

Distribution stores whatever it is sent; ECR does not. This gate listens where clients push
(127.0.0.1:4598 by default), passes the distribution API through to the registry behind it, and
refuses, with ECR's error codes and texts in the OCI error format Docker prints
(`name unknown: ...`, `tag invalid: ...`):

- a request without a valid login (`aws ecr get-login-password | docker login`): 401 with a
  Basic challenge, so Docker says `no basic auth credentials`; an expired one: `denied`;
- any request for a repository no `Repository` resource names (ECR's `RepositoryNotFound`);
- a request the repository's policy does not allow the login's principal (`denied: User: ... is
  not authorized to perform: ecr:BatchGetImage on resource: ...`);
- a manifest pushed under a tag that already names another image in an IMMUTABLE repository.

A second instance may serve a cluster's nodes (`serve(..., pull_principal=...)`, `ecsk api serve
--registry-pull-port`, used on kind): containerd has no login, so every request there is the
task execution role's, as ECS's agent pulls with that role, and only GET and HEAD pass.

Cross-repository blob mounts (`?mount=...&from=...`) are turned into plain uploads, so a push
can never borrow a layer from a repository its principal may not pull.

It runs in the API endpoint's process because it decides from the same resources. Bodies are
streamed both ways (blob uploads are large; Docker sends them chunked), so memory stays flat.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import logging
import re
import socket
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from ecsk.api.context import Context, Settings
from ecsk.api.ecr import auth, common
from ecsk.api.ecr.repositories import record
from ecsk.api.errors import AwsError
from ecsk.api.store import Store
from ecsk.core.ecr import policy
from ecsk.core.ecr.names import registry_host, repository_arn, valid_digest

log = logging.getLogger("ecsk.api.ecr.gate")

_ROUTE = re.compile(r"^/v2/(?P<name>.+?)/(?P<what>manifests|blobs|tags)(?:/(?P<ref>[^/?]*))?")
CHUNK = 1 << 16
MAX_MANIFEST = 4 << 20
"""Distribution's own manifest size limit (4 MiB)."""
HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-connection"}
)


class Refusal(Exception):
    def __init__(self, status: int, code: str, message: str, challenge: bool = False) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.challenge = status, code, message, challenge

    def body(self) -> bytes:
        return json.dumps({"errors": [{"code": self.code, "message": self.message, "detail": None}]}).encode()


PULL_METHODS = frozenset({"GET", "HEAD"})


def check(
    ctx: Context,
    method: str,
    path: str,
    manifest: bytes | None,
    authorization: str | None = None,
    pull_principal: str | None = None,
) -> None:
    """Raise Refusal when ECR would refuse this distribution API request.

    `pull_principal`: the gate serves the cluster's nodes, which pull as ECS's agent does with the
    task execution role's credentials: every request is that principal's, and only pulls pass."""
    if pull_principal is not None:
        if method not in PULL_METHODS:
            raise Refusal(
                405,
                "UNSUPPORTED",
                "This registry address serves image pulls only; push through the other port.",
            )
        who = auth.Login(pull_principal)
    else:
        who = auth.login(ctx.settings, authorization)
    if who.principal is None:
        raise Refusal(401, "UNAUTHORIZED", "Not Authorized", challenge=True)
    if who.expired:
        raise Refusal(403, "DENIED", "Your authorization token has expired. Reauthenticate and try again.")
    route = _ROUTE.match(urllib.parse.urlsplit(path).path)
    if route is None:
        return  # `/v2/`, `/v2/_catalog`: nothing repository-specific
    name, what, ref = route["name"], route["what"], route["ref"] or ""
    try:
        body = common.find(ctx, name)
    except AwsError as exc:
        raise Refusal(503, "UNAVAILABLE", exc.message) from None
    if body is None:
        raise Refusal(404, "NAME_UNKNOWN", str(common.not_found(ctx, name).message))
    _check_policy(ctx, body, who.principal, action(method, what, path))
    if what == "manifests" and method == "PUT" and ref and not valid_digest(ref):
        _check_tag(ctx, body, name, ref, manifest or b"")


def refresh(ctx: Context, method: str, path: str, status: int) -> None:
    """After a manifest push or delete went through, write the repository's images into its
    status at once: the operator reads them there to let a task pull the image (or stop it with
    CannotPullContainerError), and a task started right after `docker push` must find its tag."""
    route = _ROUTE.match(urllib.parse.urlsplit(path).path)
    if route is None or route["what"] != "manifests" or method not in ("PUT", "DELETE"):
        return
    if not 200 <= status < 300:
        return
    try:
        body = common.find(ctx, route["name"])
        if body is not None:
            record(ctx, body, common.registry(ctx).images(route["name"]))
    except (AwsError, OSError) as exc:  # the push succeeded; the scheduled pass refreshes later
        log.warning("repository %s: status not refreshed after %s: %s", route["name"], method, exc)


def action(method: str, what: str, path: str) -> str:
    """The ECR API action a distribution API request amounts to (what policies name)."""
    if what == "tags":
        return "ecr:ListImages"
    if what == "manifests":
        return {"PUT": "ecr:PutImage", "DELETE": "ecr:BatchDeleteImage"}.get(method, "ecr:BatchGetImage")
    if "/blobs/uploads" in path:
        return {"POST": "ecr:InitiateLayerUpload", "PUT": "ecr:CompleteLayerUpload"}.get(
            method, "ecr:UploadLayerPart"
        )
    if method == "HEAD":
        return "ecr:BatchCheckLayerAvailability"
    return "ecr:BatchDeleteImage" if method == "DELETE" else "ecr:GetDownloadUrlForLayer"


def _check_policy(ctx: Context, body: dict[str, Any], principal: str, act: str) -> None:
    text = (body.get("spec") or {}).get("repositoryPolicyText")
    if not text:
        return  # no repository policy: the account's own principals may (see ecsk.core.ecr.policy)
    try:
        statements = policy.parse(str(text))
    except policy.RepositoryPolicyError:
        statements = []  # a policy ECR would refuse (applied with kubectl) grants nothing
    decision = policy.decide(statements, principal, act, ctx.settings.account)
    if not decision.allowed:
        arn = repository_arn(ctx.settings.account, ctx.settings.region, common.repo_name(body))
        raise Refusal(403, "DENIED", policy.denial(principal, act, arn, decision))


def without_mount(path: str) -> str:
    """`POST .../blobs/uploads/?mount=...&from=...` as a plain upload start."""
    parts = urllib.parse.urlsplit(path)
    if "/blobs/uploads" not in parts.path or not parts.query:
        return path
    query = [(k, v) for k, v in urllib.parse.parse_qsl(parts.query) if k not in ("mount", "from")]
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))


def _check_tag(ctx: Context, body: dict[str, Any], name: str, tag: str, manifest: bytes) -> None:
    if (body.get("spec") or {}).get("imageTagMutability") != "IMMUTABLE":
        return
    digest = "sha256:" + hashlib.sha256(manifest).hexdigest()
    holder = next((i for i in common.registry(ctx).images(name) if tag in i.tags), None)
    if holder is not None and holder.digest != digest:
        raise Refusal(
            400,
            "TAG_INVALID",
            f"The image tag '{tag}' already exists in the '{name}' repository and cannot be overwritten "
            "because the repository is immutable.",
        )


class _Gate(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: GateServer

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _body_chunks(self) -> Iterator[bytes]:
        """The request body as it arrives (chunked transfer decoded, or Content-Length bytes)."""
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline().strip():  # trailers, then the empty line
                        pass
                    return
                yield self.rfile.read(size)
                self.rfile.readline()
        else:
            left = int(self.headers.get("Content-Length") or 0)
            while left > 0:
                data = self.rfile.read(min(CHUNK, left))
                if not data:
                    return
                left -= len(data)
                yield data

    def _refuse(self, refusal: Refusal) -> None:
        payload = refusal.body()
        self.send_response(refusal.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Docker-Distribution-Api-Version", "registry/2.0")
        if refusal.challenge:
            host = registry_host(self.server.ctx.settings.account, self.server.ctx.settings.region)
            self.send_header("WWW-Authenticate", f'Basic realm="https://{host}/",service="ecr.amazonaws.com"')
        self.end_headers()
        self.wfile.write(payload)
        self.close_connection = True  # an unread request body must not be parsed as a request

    def _handle(self) -> None:
        manifest: bytes | None = None
        chunks = self._body_chunks()
        if self.command == "PUT" and "/manifests/" in self.path:
            manifest = b"".join(chunks)
            if len(manifest) > MAX_MANIFEST:
                self._refuse(Refusal(400, "MANIFEST_INVALID", "manifest too big"))
                return
            chunks = iter([manifest])
        try:
            check(
                self.server.ctx,
                self.command,
                self.path,
                manifest,
                self.headers.get("Authorization"),
                self.server.pull_principal,
            )
        except Refusal as refusal:
            self._refuse(refusal)
            return
        self._forward(chunks, manifest is not None)

    def _forward(self, chunks: Iterator[bytes], buffered: bool) -> None:
        backend = urllib.parse.urlsplit(self.server.backend)
        conn = http.client.HTTPConnection(backend.hostname or "127.0.0.1", backend.port or 80, timeout=300)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        has_body = self.command in ("PUT", "POST", "PATCH")
        chunked = has_body and not buffered and "Content-Length" not in headers
        if buffered:
            body: Any = next(chunks, b"")
            headers["Content-Length"] = str(len(body))
        else:
            body = chunks if has_body else None
        try:
            path = without_mount(self.path) if self.command == "POST" else self.path
            conn.request(self.command, path, body=body, headers=headers, encode_chunked=chunked)
            resp = conn.getresponse()
        except OSError as exc:
            log.warning("registry unreachable through the gate: %s", exc)
            self._refuse(Refusal(503, "UNAVAILABLE", "ecsk's image registry is unavailable; retry later."))
            return
        self._relay(resp)
        conn.close()
        refresh(self.server.ctx, self.command, self.path, resp.status)

    def _relay(self, resp: http.client.HTTPResponse) -> None:
        length = resp.getheader("Content-Length")
        self.send_response(resp.status, resp.reason)
        for key, value in resp.getheaders():
            if key.lower() not in HOP_BY_HOP:
                self.send_header(key, value)
        if length is None and self.command != "HEAD" and resp.status not in (204, 304):
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            while data := resp.read(CHUNK):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.write(b"0\r\n\r\n")
            return
        self.end_headers()
        if self.command != "HEAD":
            while data := resp.read(CHUNK):
                self.wfile.write(data)

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = _handle


class GateServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(
        self, address: tuple[str, int], store: Store, settings: Settings, pull_principal: str | None = None
    ) -> None:
        self.ctx = Context(store, settings)
        self.backend = str(settings.registry_url)
        self.pull_principal = pull_principal
        super().__init__(address, _Gate)


def serve(
    host: str, port: int, store: Store, settings: Settings, pull_principal: str | None = None
) -> GateServer:
    """Bind (OSError if the port is taken); call serve_forever() in a thread. With
    `pull_principal`, the nodes' pull-only door (see `check`)."""
    if not settings.registry_url:
        raise ValueError("the registry gate needs the registry's URL")
    return GateServer((host, port), store, settings, pull_principal)


def execution_role(account: str) -> str:
    """The principal the nodes pull as: the role the ECS console creates for task execution
    (`ecsTaskExecutionRole`), which is what pulls a task's ECR image on ECS."""
    return f"arn:aws:iam::{account}:role/ecsTaskExecutionRole"
