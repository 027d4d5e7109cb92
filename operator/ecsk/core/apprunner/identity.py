"""App Runner identifiers: a service's ServiceId, ServiceArn, ServiceUrl; auto scaling
configuration ARNs (made and parsed).

Each derives from its custom resource's uid, so they are stable for the object's life
(every reconcile and the API compute the same values without storing anything first), and a
service deleted and created again under the same name gets new ones, as in App Runner.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

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


# --- auto scaling configurations ---------------------------------------------------------------

CONFIG_NAME_PATTERN = "[A-Za-z0-9][A-Za-z0-9\\-_]{3,31}"
"""AutoScalingConfigurationName (App Runner's model, as its error text shows it)."""
CONFIG_ARN_PATTERN = (
    "arn:aws[a-z-]*:apprunner:[a-z0-9-]*:[0-9]{12}:autoscalingconfiguration/"
    "[A-Za-z0-9][A-Za-z0-9_-]{3,31}(/[0-9]+(/[A-Za-z0-9]+)?)?"
)
"""An auto scaling configuration ARN, whole (`.../name/revision/id`) or partial (`.../name`,
`.../name/revision`): the forms CreateService, Describe and Delete accept. Python and RE2 (CEL)
read it the same way."""
INVALID_ARN_PREFIX = "The auto scaling configuration ARN you specified isn't valid. ARN: '"


def invalid_arn(arn: str) -> str:
    """App Runner's InvalidRequestException text for an ARN that names no configuration."""
    return f"{INVALID_ARN_PREFIX}{arn}'"


@dataclass(frozen=True)
class ConfigRef:
    """What an auto scaling configuration ARN names: a revision, or (no revision) the latest
    active revision of the name; an id, when given, must be the revision's."""

    region: str
    account: str
    name: str
    revision: int | None = None
    config_id: str | None = None


def config_id(uid: str) -> str:
    """32 hex characters, the form of the id App Runner ends a configuration's ARN with."""
    return hashlib.sha256(f"apprunner-autoscaling/{uid}".encode()).hexdigest()[:32]


def config_arn(region: str, account: str, name: str, revision: int, cid: str) -> str:
    return f"arn:aws:apprunner:{region}:{account}:autoscalingconfiguration/{name}/{revision}/{cid}"


def parse_config_arn(arn: str) -> ConfigRef | None:
    """The configuration an ARN names, or None when it is not an auto scaling configuration ARN."""
    if not re.fullmatch(CONFIG_ARN_PATTERN, arn):
        return None
    head, _, tail = arn.partition(":autoscalingconfiguration/")
    _, _, _, region, account = head.split(":")
    name, _, rest = tail.partition("/")
    revision, _, cid = rest.partition("/")
    return ConfigRef(region, account, name, int(revision) if revision else None, cid or None)
