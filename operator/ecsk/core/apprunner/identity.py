"""An App Runner service's identifiers: ServiceId, ServiceArn, ServiceUrl.

All three derive from the custom resource's uid, so they are stable for the object's life
(every reconcile and the API compute the same values without storing anything first), and a
service deleted and created again under the same name gets new ones, as in App Runner.
"""

from __future__ import annotations

import hashlib

URL_SUFFIX = "awsapprunner.com"
_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"


def service_id(uid: str) -> str:
    """32 hex characters, the form of App Runner's ServiceId."""
    return hashlib.sha256(f"apprunner/{uid}".encode()).hexdigest()[:32]


def service_arn(region: str, account: str, name: str, uid: str) -> str:
    return f"arn:aws:apprunner:{region}:{account}:service/{name}/{service_id(uid)}"


def url_host(uid: str, region: str) -> str:
    """`<10 random-looking characters>.<region>.awsapprunner.com`, App Runner's default domain."""
    digest = hashlib.sha256(f"apprunner-url/{uid}".encode()).digest()
    prefix = "".join(_ALPHABET[b % len(_ALPHABET)] for b in digest[:10])
    return f"{prefix}.{region}.{URL_SUFFIX}"


def parse_service_arn(arn: str) -> tuple[str, str] | None:
    """(ServiceName, ServiceId) of an App Runner service ARN, or None when it is not one."""
    head, sep, tail = arn.partition(":service/")
    if not sep or not head.startswith("arn:aws:apprunner:"):
        return None
    name, _, sid = tail.partition("/")
    return (name, sid) if name and sid else None
