"""Which manifest fields ecsk maps, which it cannot, and why: one tree per workload type.

Every field of a manifest is either mapped to an ECS resource (`MAPPED`; the translator reads
it), or named here with the reason it has no counterpart (`Unsupported`), or not a Copilot field
at all. `unsupported_fields` walks a (merged) manifest against its type's tree and returns one
warning per field that is not mapped, so nothing is dropped without being named. The trees
follow Copilot's manifest reference (https://aws.github.io/copilot-cli/docs/manifest/).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from ecsk.core.models.errors import ValidationIssue

LBWS = "Load Balanced Web Service"
BACKEND = "Backend Service"
RDWS = "Request-Driven Web Service"
JOB = "Scheduled Job"
WORKER = "Worker Service"
STATIC_SITE = "Static Site"
COPILOT_TYPES = (LBWS, BACKEND, RDWS, WORKER, STATIC_SITE, JOB)
"""Every type Copilot knows (internal/pkg/manifest/manifestinfo)."""
SUPPORTED_TYPES = (LBWS, BACKEND, RDWS, JOB)
UNSUPPORTED_TYPES = {
    WORKER: "its queue (SQS, subscribed to SNS topics) and backlog-per-task scaling have no ecsk counterpart",
    STATIC_SITE: "it is an S3 bucket behind CloudFront, not a container service",
}


class _Mapped:
    def __repr__(self) -> str:
        return "MAPPED"


MAPPED: Any = _Mapped()
"""The translator reads this field (and checks its value)."""


@dataclass(frozen=True)
class Unsupported:
    """A Copilot field with no ecsk counterpart; `reason` says what Copilot would have built."""

    reason: str


@dataclass(frozen=True)
class AnyKeys:
    """A map whose keys are the user's (variables, tags, volumes): each value has shape `value`."""

    value: Any = MAPPED


@dataclass(frozen=True)
class Either:
    """A union field: `mapping` applies to its map form, `scalar` to its string/number form."""

    mapping: Any
    scalar: Any


Tree = Mapping[str, Any]

_ALIAS = Unsupported("a Route 53 alias and an ACM certificate on the load balancer (no DNS or TLS here)")
_FROM_CFN = "CloudFormation stack exports do not exist here"


def _sidecars() -> Unsupported:
    return Unsupported("sidecar containers are not translated yet: add them to the task definition by hand")


_HEALTHCHECK = {
    "command": MAPPED,
    "interval": MAPPED,
    "retries": MAPPED,
    "timeout": MAPPED,
    "start_period": MAPPED,
}
_BUILD = {
    "dockerfile": MAPPED,
    "context": MAPPED,
    "target": MAPPED,
    "cache_from": MAPPED,
    "args": AnyKeys(),
}
_IMAGE = {
    "build": _BUILD,
    "location": MAPPED,
    "credentials": MAPPED,
    "labels": AnyKeys(),
    "depends_on": Unsupported("containers can only depend on sidecars, which are not translated"),
    "healthcheck": _HEALTHCHECK,
    "port": MAPPED,
}
_TARGET_GROUP = (
    "a target group attribute in ELB, outside the ECS resources (ecsk checks the target port with TCP)"
)
_HTTP_HEALTHCHECK = {
    "path": Unsupported(_TARGET_GROUP),
    "port": Unsupported(_TARGET_GROUP),
    "success_codes": Unsupported(_TARGET_GROUP),
    "healthy_threshold": Unsupported(_TARGET_GROUP),
    "unhealthy_threshold": Unsupported(_TARGET_GROUP),
    "interval": Unsupported(_TARGET_GROUP),
    "timeout": Unsupported(_TARGET_GROUP),
    "grace_period": MAPPED,
}
_HTTP = {
    "path": Unsupported(
        "an ALB listener rule: ecsk binds the service's target group without a listener, all paths reach it"
    ),
    "healthcheck": Either(_HTTP_HEALTHCHECK, Unsupported(_TARGET_GROUP)),
    "deregistration_delay": Unsupported(
        "a target group attribute; the operator's --deregistration-delay sets it for every service"
    ),
    "target_container": _sidecars(),
    "stickiness": Unsupported("a target group attribute (sticky sessions) in ELB"),
    "allowed_source_ips": Unsupported("an ALB listener rule condition in ELB"),
    "alias": _ALIAS,
    "hosted_zone": _ALIAS,
    "redirect_to_https": _ALIAS,
    "version": Unsupported("the target group's protocol version lives in ELB"),
    "additional_rules": Unsupported("more ALB listener rules and target groups are not translated"),
}
_COUNT_SCALING = {"value": MAPPED, "cooldown": {"in": MAPPED, "out": MAPPED}}
_COUNT = {
    "range": {"min": MAPPED, "max": MAPPED, "spot_from": MAPPED},
    "cooldown": {"in": MAPPED, "out": MAPPED},
    "cpu_percentage": _COUNT_SCALING,
    "memory_percentage": _COUNT_SCALING,
    "requests": _COUNT_SCALING,
    "response_time": _COUNT_SCALING,
    "spot": MAPPED,
}
_EFS = {
    "id": MAPPED,
    "root_dir": MAPPED,
    "auth": {"iam": MAPPED, "access_point_id": MAPPED},
    "uid": MAPPED,
    "gid": MAPPED,
}
_STORAGE = {
    "ephemeral": MAPPED,
    "readonly_fs": MAPPED,
    "volumes": AnyKeys({"path": MAPPED, "read_only": MAPPED, "efs": _EFS}),
}
_NETWORK = {
    "connect": {"alias": MAPPED},
    "vpc": {
        "placement": {
            "subnets": Unsupported("subnet choice: ecsk's environments have no VPC subnets to pick")
        },
        "security_groups": {
            "groups": MAPPED,
            "deny_default": MAPPED,
            "from_cfn": Unsupported(_FROM_CFN),
        },
    },
}
_LOGGING = Unsupported(
    "a FireLens (Fluent Bit) sidecar: ecsk keeps Copilot's default awslogs configuration "
    "(group /copilot/<app>-<env>-<svc>), read with `ecsk copilot svc logs`"
)
_COMMON = {
    "name": MAPPED,
    "type": MAPPED,
    "image": _IMAGE,
    "cpu": MAPPED,
    "memory": MAPPED,
    "platform": {"osfamily": MAPPED, "architecture": MAPPED},
    "entrypoint": MAPPED,
    "command": MAPPED,
    "network": _NETWORK,
    "variables": AnyKeys({"from_cfn": Unsupported(_FROM_CFN)}),
    "env_file": Unsupported("environment files are uploaded to S3 by Copilot; put the values in `variables`"),
    "secrets": AnyKeys({"secretsmanager": MAPPED, "from_cfn": Unsupported(_FROM_CFN)}),
    "storage": _STORAGE,
    "logging": _LOGGING,
    "observability": Unsupported("AWS X-Ray tracing (an ADOT sidecar) is not emulated"),
    "publish": Unsupported("SNS topics are not emulated"),
    "sidecars": _sidecars(),
    "taskdef_overrides": MAPPED,
    "environments": MAPPED,
}
_SERVICE = {
    **_COMMON,
    "count": _COUNT,
    "exec": MAPPED,
    "deployment": {
        "rolling": MAPPED,
        "rollback_alarms": Unsupported("CloudWatch alarms are not emulated (ECS deployment alarms)"),
    },
}

TREES: dict[str, Tree] = {
    LBWS: {
        **_SERVICE,
        "http": _HTTP,
        "nlb": Unsupported("a Network Load Balancer listener: use `http` (ALB target group) instead"),
    },
    BACKEND: {**_SERVICE, "http": _HTTP},
    JOB: {
        **{k: v for k, v in _COMMON.items()},
        "image": {k: v for k, v in _IMAGE.items() if k != "port"},
        "on": {"schedule": MAPPED},
        "retries": Unsupported(
            "Copilot retries through a Step Functions state machine, which is not emulated"
        ),
        "timeout": Unsupported(
            "Copilot's timeout is a Step Functions state machine's, which is not emulated"
        ),
    },
    RDWS: {
        "name": MAPPED,
        "type": MAPPED,
        "image": {"build": _BUILD, "location": MAPPED, "port": MAPPED},
        "cpu": MAPPED,
        "memory": MAPPED,
        "platform": {"osfamily": MAPPED, "architecture": MAPPED},
        "http": {
            "healthcheck": {
                "path": MAPPED,
                "healthy_threshold": MAPPED,
                "unhealthy_threshold": MAPPED,
                "interval": MAPPED,
                "timeout": MAPPED,
            },
            "alias": Unsupported("a custom domain of the App Runner service (no DNS here)"),
            "private": Unsupported("App Runner VPC ingress endpoints are not emulated"),
        },
        "network": {
            "vpc": {
                "placement": Unsupported(
                    "an App Runner VPC connector for egress: ecsk's instances already reach the cluster"
                )
            }
        },
        "command": MAPPED,
        "variables": AnyKeys(),
        "secrets": AnyKeys({"secretsmanager": MAPPED, "from_cfn": Unsupported(_FROM_CFN)}),
        "tags": AnyKeys(),
        "count": MAPPED,
        "observability": Unsupported("AWS X-Ray tracing is not emulated"),
        "publish": Unsupported("SNS topics are not emulated"),
        "environments": MAPPED,
    },
}


def _issue(path: str, message: str, rule: str) -> ValidationIssue:
    return ValidationIssue(path, message, rule, "warning")


def _walk(node: Any, value: Any, path: str, kind: str) -> Iterator[ValidationIssue]:
    if node is MAPPED or value is None:
        return
    if isinstance(node, Either):
        yield from _walk(node.mapping if isinstance(value, Mapping) else node.scalar, value, path, kind)
        return
    if isinstance(node, Unsupported):
        yield _issue(path, f"not supported by ecsk, ignored: {node.reason}", "copilot.unsupported")
        return
    if not isinstance(value, Mapping):
        return  # the scalar form of a union field (`build: ./Dockerfile`, `count: 3`): mapped
    if isinstance(node, AnyKeys):
        for key, item in value.items():
            yield from _walk(node.value, item, f"{path}.{key}", kind)
        return
    for key, item in value.items():
        where = f"{path}.{key}" if path else str(key)
        if key not in node:
            yield _issue(
                where,
                f"not a field of a {kind} manifest: ignored (Copilot ignores it too)",
                "copilot.unknown",
            )
            continue
        yield from _walk(node[key], item, where, kind)


def unsupported_fields(manifest: Mapping[str, Any], kind: str) -> list[ValidationIssue]:
    """One warning per field of `manifest` that ecsk does not map (its reason), or that is not a
    field of `kind` at all. `environments` is walked by the caller after merging."""
    body = {k: v for k, v in manifest.items() if k != "environments"}
    return list(_walk(TREES[kind], body, "", kind))
