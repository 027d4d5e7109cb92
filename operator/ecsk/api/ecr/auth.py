"""GetAuthorizationToken and what the registry's front door makes of it.

The token is `AWS:<password>` (what `aws ecr get-login-password | docker login` uses), valid 12
hours as ECR's. The password carries the caller's access key ID and the expiry, signed with a
key kept beside the registry's data, so the front door knows the principal of every push and
pull (the IAM user `arn:aws:iam::<account>:user/<access key ID>`) and a password cannot be made
up for another principal.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from ecsk.api.context import Context, Settings
from ecsk.core.ecr.names import registry_host
from ecsk.core.ecr.policy import principal_arn

VALIDITY = 12 * 3600
PREFIX = "ecsk."


@lru_cache(maxsize=8)
def _key(storage: str | None) -> bytes:
    """The signing key: a file beside the registry's data (tokens outlive an endpoint restart),
    or one per process without a registry."""
    if not storage:
        return secrets.token_bytes(32)
    path = Path(storage).parent / "token-key"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(secrets.token_bytes(32))
        path.chmod(0o600)
    return path.read_bytes()


def _sign(settings: Settings, payload: bytes) -> str:
    return hmac.new(_key(settings.registry_storage), payload, hashlib.sha256).hexdigest()


def password(settings: Settings, access_key: str | None, expires: float) -> str:
    payload = json.dumps(
        {"accessKeyId": access_key or "anonymous", "expiration": int(expires)}, sort_keys=True
    )
    body = base64.urlsafe_b64encode(payload.encode()).decode()
    return f"{PREFIX}{body}.{_sign(settings, payload.encode())}"


@dataclass(frozen=True)
class Login:
    principal: str | None
    """The IAM ARN the login stands for; None when the credentials are not a valid token."""
    expired: bool = False


def login(settings: Settings, authorization: str | None, now: float | None = None) -> Login:
    """What a registry request's `Authorization: Basic ...` header proves."""
    scheme, _, value = (authorization or "").partition(" ")
    if scheme.lower() != "basic":
        return Login(None)
    try:
        user, _, pw = base64.b64decode(value.strip()).decode().partition(":")
        body, _, signature = pw.removeprefix(PREFIX).rpartition(".")
        payload = base64.urlsafe_b64decode(body.encode())
        data = json.loads(payload)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return Login(None)
    if user != "AWS" or not pw.startswith(PREFIX) or not isinstance(data, dict):
        return Login(None)
    if not hmac.compare_digest(signature, _sign(settings, payload)):
        return Login(None)
    principal = principal_arn(settings.account, str(data.get("accessKeyId")))
    expired = float(data.get("expiration") or 0) < (time.time() if now is None else now)
    return Login(principal, expired)


def get_authorization_token(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    expires = time.time() + VALIDITY
    token = base64.b64encode(f"AWS:{password(ctx.settings, ctx.access_key, expires)}".encode()).decode()
    host = registry_host(ctx.settings.account, ctx.settings.region)
    return {
        "authorizationData": [
            {"authorizationToken": token, "expiresAt": expires, "proxyEndpoint": f"https://{host}"}
        ]
    }
