"""What the App Runner operations share: a service's identifiers as the operator computes them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ecsk.api.context import Context
from ecsk.core.apprunner import identity


def service_name(body: Mapping[str, Any]) -> str:
    return str((body.get("spec") or {}).get("ServiceName") or body["metadata"]["name"])


def service_ids(ctx: Context, body: Mapping[str, Any]) -> tuple[str, str]:
    """(ServiceArn, ServiceId), derived from the object's uid as the operator derives them."""
    uid = body["metadata"].get("uid") or ""
    arn = identity.service_arn(ctx.settings.region, ctx.settings.account, service_name(body), uid)
    return arn, identity.service_id(uid)
