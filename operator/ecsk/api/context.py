"""What every operation handler gets: the store, the endpoint's settings, who is calling."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from ecsk.api.errors import AwsError
from ecsk.api.store import Store

DEFAULT_PORT = 4599
"""The endpoint's fixed port on 127.0.0.1 (LocalStack uses 4566; 4599 is ecsk's)."""
DEFAULT_REGION = "us-east-1"
DEFAULT_ACCOUNT = "000000000000"
DEFAULT_NAMESPACE = "default"
MAX_BODY_BYTES = 1024 * 1024
"""Largest request body accepted (a task definition is at most 64 KiB in ECS)."""


@dataclass(frozen=True)
class Settings:
    """One endpoint process: where its resources live and what its ARNs say."""

    region: str = DEFAULT_REGION
    account: str = DEFAULT_ACCOUNT
    namespace: str = DEFAULT_NAMESPACE
    access_keys: Mapping[str, str] | None = None
    """Strict mode: ACCESS_KEY_ID -> secret; None accepts any credentials."""
    max_body: int = MAX_BODY_BYTES
    register_timeout: float = 20.0
    """How long RegisterTaskDefinition / RunTask wait for the operator to record the result."""
    registry_url: str | None = None
    """The image registry behind ECR (`ecsk.cluster.registry`); None: image calls are refused."""
    registry_storage: str | None = None
    """That registry's filesystem root, read for what its HTTP API does not list."""


@dataclass
class Context:
    store: Store
    settings: Settings
    access_key: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def arn(self, service: str, resource: str) -> str:
        return f"arn:aws:{service}:{self.settings.region}:{self.settings.account}:{resource}"


Handler = Callable[[Context, dict[str, Any]], dict[str, Any]]


# --- pagination -------------------------------------------------------------------------------

T = TypeVar("T")


def page(
    items: Sequence[T],
    params: Mapping[str, Any],
    key: Callable[[T], str],
    limit: int = 100,
    default: int | None = None,
    error: str = "InvalidParameterException",
    reverse: bool = False,
) -> tuple[list[T], str | None]:
    """One page of `items` (sorted by `key`) after the token, and the token for the next page.

    The token names the last key returned, not an offset, so items created or deleted between
    calls neither repeat nor vanish from the rest of the listing."""
    size = params.get("maxResults")
    if size is None:
        size = default if default is not None else limit
    elif not 1 <= int(size) <= limit:
        raise AwsError(error, f"maxResults must be between 1 and {limit}.")
    ordered = sorted(items, key=key, reverse=reverse)
    token = params.get("nextToken")
    if token:
        after = decode_token(str(token), error)
        ordered = [i for i in ordered if (key(i) < after if reverse else key(i) > after)]
    chunk = ordered[: int(size)]
    more = len(ordered) > len(chunk)
    return chunk, (encode_token(key(chunk[-1])) if more and chunk else None)


def encode_token(after: str) -> str:
    return base64.urlsafe_b64encode(json.dumps({"after": after}).encode()).decode()


def decode_token(token: str, error: str = "InvalidParameterException") -> str:
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()))
        after = data["after"]
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise AwsError(error, "Invalid nextToken.") from None
    if not isinstance(after, str):
        raise AwsError(error, "Invalid nextToken.")
    return after


# --- timestamps -------------------------------------------------------------------------------


def epoch(value: str | None) -> float | None:
    """ISO-8601 text (how the resources store times) -> epoch seconds, what AWS JSON 1.1 sends
    and every SDK parses as a timestamp."""
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None
