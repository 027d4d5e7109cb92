"""GetAuthorizationToken: the `AWS:<password>` pair `aws ecr get-login-password | docker login`
uses. The password names the caller's access key and the expiry (12 hours, as ECR's tokens), so
a registry that checks credentials can tell principals apart; ecsk's registry accepts any login
(see README: ECR limits)."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

from ecsk.api.context import Context
from ecsk.core.ecr.names import registry_host

VALIDITY = 12 * 3600


def password(access_key: str | None, expires: float) -> str:
    payload = json.dumps(
        {"accessKeyId": access_key or "anonymous", "expiration": int(expires)}, sort_keys=True
    )
    return "ecsk." + base64.urlsafe_b64encode(payload.encode()).decode()


def get_authorization_token(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    expires = time.time() + VALIDITY
    token = base64.b64encode(f"AWS:{password(ctx.access_key, expires)}".encode()).decode()
    host = registry_host(ctx.settings.account, ctx.settings.region)
    return {
        "authorizationData": [
            {"authorizationToken": token, "expiresAt": expires, "proxyEndpoint": f"https://{host}"}
        ]
    }
