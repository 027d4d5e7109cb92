"""A merged Copilot manifest -> the ecsk custom resources Copilot's CloudFormation would make.

Load Balanced Web Service and Backend Service: TaskDefinition + ECSService (on Fargate, in the
environment's ECS cluster), a target group binding for `http`, Cloud Map service discovery and
Service Connect, and for a `count` range a ScalableTarget with one target-tracking ScalingPolicy
per metric. Scheduled Job: TaskDefinition + ScheduledTask. Request-Driven Web Service: an
AppRunnerService. Every resource is checked with the rules its own reconciler runs (ECS's,
Application Auto Scaling's, App Runner's), so what the operator would refuse is refused here,
before anything is applied, and named by the manifest field it came from.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from pydantic import ValidationError

from ecsk.core.apprunner import rules as apprunner_rules
from ecsk.core.autoscaling.models import SCALABLE_DIMENSION, SERVICE_NAMESPACE, ScalableTarget, ScalingPolicy
from ecsk.core.copilot import names, values
from ecsk.core.copilot.fields import BACKEND, JOB, LBWS, RDWS
from ecsk.core.copilot.manifest import ManifestError, Workload, problem
from ecsk.core.copilot.overrides import apply_overrides
from ecsk.core.models.errors import ModelLoadError, ValidationIssue, issues_from_pydantic, model_issues
from ecsk.core.models.load import parse_scheduled_task, parse_service, parse_task_definition
from ecsk.core.validation import validate_scheduled_task, validate_service, validate_task_definition

API_VERSION = "ecs.ecsk.io/v1alpha1"
CONTAINER_PORT_NAME = "target"
"""Copilot names the main container's port mapping `target` (Service Connect refers to it)."""
DEFAULT_SIZE = {LBWS: (256, 512), BACKEND: (256, 512), JOB: (256, 512), RDWS: (1024, 2048)}
"""Copilot's default task size per type (`newDefault...` in internal/pkg/manifest)."""
WINDOWS_MIN = (1024, 2048)
DEFAULT_GRACE_PERIOD = 60
"""Copilot's `http.healthcheck.grace_period` default (seconds)."""
COOLDOWN_IN, COOLDOWN_OUT = 120, 60
"""Copilot's ScaleInCooldown / ScaleOutCooldown when `count` does not say."""
EPHEMERAL_RANGE = (20, 200)
RECREATE, DEFAULT_ROLLING = "recreate", "default"


@dataclass(frozen=True)
class Build:
    """`docker build` for `image.build` (paths relative to the workspace root, as Copilot reads them)."""

    dockerfile: str
    context: str
    target: str | None = None
    cache_from: tuple[str, ...] = ()
    args: tuple[tuple[str, str], ...] = ()
    platform: str = values.DEFAULT_PLATFORM.docker


@dataclass
class Rendering:
    """What a deploy applies (in order), what it must build first, and what it could not map."""

    workload: Workload
    objects: list[dict[str, Any]] = field(default_factory=list)
    build: Build | None = None
    warnings: list[ValidationIssue] = field(default_factory=list)

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        return [o for o in self.objects if o["kind"] == kind]


@dataclass
class _Ctx:
    wl: Workload
    env: names.Environment
    image: str | None
    running_count: int | None
    errors: list[ValidationIssue] = field(default_factory=list)
    warnings: list[ValidationIssue] = field(default_factory=list)

    @property
    def body(self) -> dict[str, Any]:
        return self.wl.body

    @property
    def svc(self) -> str:
        return self.wl.name

    def get(self, path: str, default: Any = None) -> Any:
        node: Any = self.body
        for part in path.split("."):
            if not isinstance(node, Mapping) or node.get(part) is None:
                return default
            node = node[part]
        return node

    def value(self, path: str, parse: Callable[[Any], Any], default: Any = None) -> Any:
        """The parsed field, or `default` with the problem recorded under the field's path."""
        raw = self.get(path)
        if raw is None:
            return default
        try:
            return parse(raw)
        except values.ValueProblem as exc:
            self.errors.append(problem(path, str(exc)))
            return default

    def warn(self, path: str, message: str) -> None:
        self.warnings.append(ValidationIssue(path, message, "copilot.unsupported", "warning"))

    def meta(self, name: str) -> dict[str, Any]:
        return {
            "name": name,
            "namespace": self.env.namespace,
            "labels": names.labels(self.env.app, self.env.env, self.svc),
        }

    def resource(self, kind: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
        return {"apiVersion": API_VERSION, "kind": kind, "metadata": self.meta(name), "spec": spec}


# --- small parsers ----------------------------------------------------------------------------


def _int(what: str, lo: int | None = None, hi: int | None = None) -> Callable[[Any], int]:
    def parse(raw: Any) -> int:
        if isinstance(raw, bool) or not isinstance(raw, int):
            raise values.ValueProblem(f"{what} must be an integer, not {raw!r}")
        if (lo is not None and raw < lo) or (hi is not None and raw > hi):
            raise values.ValueProblem(f"{what} {raw} must be between {lo} and {hi}")
        return raw

    return parse


def _bool(raw: Any) -> bool:
    if not isinstance(raw, bool):
        raise values.ValueProblem(f"must be true or false, not {raw!r}")
    return raw


def _text(raw: Any) -> str:
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, (str, int, float)):
        return str(raw)
    raise values.ValueProblem(f"must be a string, not {type(raw).__name__}")


def _percentage(raw: Any) -> int:
    if isinstance(raw, bool) or not isinstance(raw, (int, float)) or not 0 <= raw <= 100 or raw != int(raw):
        raise values.ValueProblem(f"percentage value {raw} must be an integer from 0 to 100")
    return int(raw)


# --- the container and task definition --------------------------------------------------------


def _image(ctx: _Ctx) -> tuple[str, Build | None]:
    build, location = ctx.get("image.build"), ctx.get("image.location")
    if build is not None and location is not None:
        ctx.errors.append(problem("image", 'must specify one, not both, of "build" and "location"'))
    if build is None and location is None:
        ctx.errors.append(problem("image", 'must specify one of "build" and "location"'))
        return "", None
    if location is not None:
        return (ctx.image or _text(location)), None
    return (ctx.image or f"{ctx.env.repository_uri(ctx.svc)}:latest"), _build(ctx, build)


def _dirname(path: str) -> str:
    """Copilot builds in the Dockerfile's directory when no context is given."""
    return path.rsplit("/", 1)[0] if "/" in path else "."


def _build(ctx: _Ctx, raw: Any) -> Build | None:
    platform = ctx.value("platform", values.platform, values.DEFAULT_PLATFORM)
    if isinstance(raw, str):
        return Build(dockerfile=raw, context=_dirname(raw), platform=platform.docker)
    if not isinstance(raw, Mapping):
        ctx.errors.append(
            problem("image.build", "unable to unmarshal build field into string or compose-style map")
        )
        return None
    given_context = raw.get("context")
    dockerfile = str(raw.get("dockerfile") or f"{given_context or '.'}/Dockerfile")
    context = str(given_context) if given_context is not None else _dirname(dockerfile)
    cache = raw.get("cache_from") or []
    args = raw.get("args") or {}
    return Build(
        dockerfile=str(dockerfile),
        context=str(context),
        target=str(raw["target"]) if raw.get("target") else None,
        cache_from=tuple(str(c) for c in cache) if isinstance(cache, list) else (str(cache),),
        args=tuple((str(k), _text(v)) for k, v in args.items()) if isinstance(args, Mapping) else (),
        platform=platform.docker,
    )


def _environment(ctx: _Ctx) -> list[dict[str, str]]:
    env = ctx.env
    out = {
        "COPILOT_APPLICATION_NAME": env.app,
        "COPILOT_ENVIRONMENT_NAME": env.env,
        "COPILOT_SERVICE_NAME": ctx.svc,
        "COPILOT_SERVICE_DISCOVERY_ENDPOINT": env.discovery_namespace,
    }
    variables = ctx.get("variables", {})
    if not isinstance(variables, Mapping):
        ctx.errors.append(problem("variables", "must be a map of variable names to values"))
        return []
    for key, raw in variables.items():
        if isinstance(raw, Mapping):
            continue  # `from_cfn`: named by the field walk
        try:
            out[str(key)] = _text(raw)
        except values.ValueProblem as exc:
            ctx.errors.append(problem(f"variables.{key}", str(exc)))
    return [{"name": k, "value": v} for k, v in out.items()]


def secret_refs(ctx: _Ctx, ssm_as_arn: bool) -> dict[str, str]:
    """Variable -> valueFrom. SSM names stay names for ECS (ECS accepts them) and become ARNs for
    App Runner (it takes ARNs only); `secretsmanager: name` becomes the secret's ARN, as Copilot
    writes it (`arn:...:secretsmanager:<region>:<account>:secret:<name>`)."""
    secrets = ctx.get("secrets", {})
    if not isinstance(secrets, Mapping):
        ctx.errors.append(problem("secrets", "must be a map of variable names to secret names"))
        return {}
    out: dict[str, str] = {}
    for key, raw in secrets.items():
        if isinstance(raw, Mapping):
            sm = raw.get("secretsmanager")
            if sm is None:
                continue  # `from_cfn`: named by the field walk
            name = str(sm)
            out[str(key)] = (
                name if name.startswith("arn:") else ctx.env.arn("secretsmanager", f"secret:{name}")
            )
        elif isinstance(raw, str):
            plain = raw.startswith("arn:") or not ssm_as_arn
            out[str(key)] = raw if plain else ctx.env.arn("ssm", f"parameter/{raw.lstrip('/')}")
        else:
            ctx.errors.append(
                problem(f"secrets.{key}", "must be an SSM parameter name or {secretsmanager: name}")
            )
    return out


def _health_check(ctx: _Ctx) -> dict[str, Any] | None:
    hc = ctx.get("image.healthcheck")
    if hc is None:
        return None
    if not isinstance(hc, Mapping):
        ctx.errors.append(problem("image.healthcheck", "must be a map"))
        return None
    out: dict[str, Any] = {
        "command": ctx.value("image.healthcheck.command", values.command, []),
        "interval": ctx.value(
            "image.healthcheck.interval", lambda v: values.whole_seconds(v, "interval"), 10
        ),
        "retries": ctx.value("image.healthcheck.retries", _int("retries"), 2),
        "timeout": ctx.value("image.healthcheck.timeout", lambda v: values.whole_seconds(v, "timeout"), 5),
        "startPeriod": ctx.value(
            "image.healthcheck.start_period", lambda v: values.whole_seconds(v, "start_period"), 0
        ),
    }
    return out


def _volumes(ctx: _Ctx) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(task definition volumes, the main container's mountPoints)."""
    volumes = ctx.get("storage.volumes", {})
    if not isinstance(volumes, Mapping):
        ctx.errors.append(problem("storage.volumes", "must be a map of volume names"))
        return [], []
    vols: list[dict[str, Any]] = []
    mounts: list[dict[str, Any]] = []
    for name, cfg in volumes.items():
        base = f"storage.volumes.{name}"
        if not isinstance(cfg, Mapping) or not cfg.get("path"):
            ctx.errors.append(
                problem(base, f'validate "volumes[{name}]": validate "path": "path" must be specified')
            )
            continue
        vol: dict[str, Any] = {"name": str(name)}
        efs = cfg.get("efs")
        if efs is not None and efs is not False:
            _efs(ctx, base, efs, vol)
        vols.append(vol)
        read_only = cfg.get("read_only", True)
        mounts.append(
            {"sourceVolume": str(name), "containerPath": str(cfg["path"]), "readOnly": bool(read_only)}
        )
    return vols, mounts


def _efs(ctx: _Ctx, base: str, efs: Any, vol: dict[str, Any]) -> None:
    managed = efs is True or (isinstance(efs, Mapping) and ("uid" in efs or "gid" in efs))
    if managed:
        if isinstance(efs, Mapping) and efs.get("uid") == 0:
            ctx.errors.append(problem(f"{base}.efs", 'validate "efs": "uid" must not be 0'))
        ctx.warn(
            f"{base}.efs",
            "not supported by ecsk: a Copilot-managed EFS file system (created by the environment) "
            "does not exist here; the volume is task-scoped storage instead "
            "(give `efs.id` to mount a file system)",
        )
        return
    if not isinstance(efs, Mapping) or not efs.get("id"):
        ctx.errors.append(problem(f"{base}.efs", 'validate "efs": "id" must be specified'))
        return
    auth = efs.get("auth") or {}
    ap = auth.get("access_point_id") if isinstance(auth, Mapping) else None
    iam = auth.get("iam", True) if isinstance(auth, Mapping) else True
    root = efs.get("root_dir")
    if ap and (root not in (None, "", "/") or iam is False):
        ctx.errors.append(
            problem(
                f"{base}.efs",
                'validate "efs": "root_dir" must be either empty or "/" and "auth.iam" must be true '
                'when "access_point_id" is used',
            )
        )
    config: dict[str, Any] = {"fileSystemId": str(efs["id"]), "transitEncryption": "ENABLED"}
    if root:
        config["rootDirectory"] = str(root)
    authz: dict[str, Any] = {"iam": "ENABLED" if iam else "DISABLED"}
    if ap:
        authz["accessPointId"] = str(ap)
    config["authorizationConfig"] = authz
    vol["efsVolumeConfiguration"] = config


def _port(ctx: _Ctx) -> int | None:
    return ctx.value("image.port", _int("port", 1, 65535))


def _container(ctx: _Ctx, image: str, mounts: list[dict[str, Any]]) -> dict[str, Any]:
    env = ctx.env
    c: dict[str, Any] = {"name": ctx.svc, "image": image, "essential": True}
    port = _port(ctx)
    if port is not None:
        c["portMappings"] = [{"containerPort": port, "protocol": "tcp", "name": CONTAINER_PORT_NAME}]
    c["environment"] = _environment(ctx)
    secrets = secret_refs(ctx, ssm_as_arn=False)
    if secrets:
        c["secrets"] = [{"name": k, "valueFrom": v} for k, v in secrets.items()]
    c["logConfiguration"] = {
        "logDriver": "awslogs",
        "options": {
            "awslogs-group": names.log_group(env.app, env.env, ctx.svc),
            "awslogs-region": env.region,
            "awslogs-stream-prefix": "copilot",
        },
    }
    hc = _health_check(ctx)
    if hc:
        c["healthCheck"] = hc
    for key, target in (("entrypoint", "entryPoint"), ("command", "command")):
        parsed = ctx.value(key, values.command)
        if parsed:
            c[target] = parsed
    if ctx.value("storage.readonly_fs", _bool, False):
        c["readonlyRootFilesystem"] = True
    if mounts:
        c["mountPoints"] = mounts
    labels = ctx.get("image.labels")
    if isinstance(labels, Mapping) and labels:
        c["dockerLabels"] = {str(k): _text(v) for k, v in labels.items()}
    creds = ctx.get("image.credentials")
    if creds:
        c["repositoryCredentials"] = {"credentialsParameter": str(creds)}
    return c


def _size(ctx: _Ctx, platform: values.Platform) -> tuple[int, int]:
    cpu_default, mem_default = DEFAULT_SIZE[ctx.wl.kind]
    if platform.is_windows:
        cpu_default, mem_default = max(cpu_default, WINDOWS_MIN[0]), max(mem_default, WINDOWS_MIN[1])
    cpu = ctx.value("cpu", _int("cpu"), cpu_default)
    memory = ctx.value("memory", _int("memory"), mem_default)
    return cpu, memory


def task_definition(ctx: _Ctx) -> tuple[dict[str, Any], Build | None]:
    env, svc = ctx.env, ctx.svc
    platform = ctx.value("platform", values.platform, values.DEFAULT_PLATFORM)
    image, build = _image(ctx)
    vols, mounts = _volumes(ctx)
    cpu, memory = _size(ctx, platform)
    spec: dict[str, Any] = {
        "family": names.family(env.app, env.env, svc),
        "networkMode": "awsvpc",
        "requiresCompatibilities": [env.launch_type],
        "cpu": str(cpu),
        "memory": str(memory),
        "executionRoleArn": env.role_arn(svc, "ExecutionRole"),
        "taskRoleArn": env.role_arn(svc, "TaskRole"),
        "runtimePlatform": {
            "operatingSystemFamily": platform.os_family,
            "cpuArchitecture": platform.architecture,
        },
        "containerDefinitions": [_container(ctx, image, mounts)],
        "tags": [{"key": k, "value": v} for k, v in names.tags(env.app, env.env, svc)],
    }
    if vols:
        spec["volumes"] = vols
    ephemeral = ctx.value("storage.ephemeral", _int("ephemeral"))
    if ephemeral is not None:
        lo, hi = EPHEMERAL_RANGE
        if not lo <= ephemeral <= hi:
            ctx.errors.append(
                problem(
                    "storage.ephemeral",
                    f'validate "ephemeral": ephemeral storage must be between {lo} GiB and {hi} GiB',
                )
            )
        spec["ephemeralStorage"] = {"sizeInGiB": ephemeral}
    overrides = ctx.get("taskdef_overrides")
    if overrides is not None:
        ctx.errors.extend(apply_overrides(spec, overrides))
    return spec, build


# --- mapping ECS's and the other services' refusals back to manifest fields --------------------

_TD_FIELDS = {"cpu": "cpu", "memory": "memory", "ephemeralStorage": "storage.ephemeral"}
_CONTAINER_FIELDS = {
    "image": "image",
    "portMappings": "image.port",
    "healthCheck": "image.healthcheck",
    "entryPoint": "entrypoint",
    "command": "command",
    "environment": "variables",
    "secrets": "secrets",
    "mountPoints": "storage.volumes",
}
_MAIN_CONTAINER = "containerDefinitions[0]."


def _td_field(path: str) -> str:
    """The manifest field an ECS task definition path came from (else the path itself)."""
    head = path.split(".", 1)[0].split("[", 1)[0]
    if head in _TD_FIELDS:
        return _TD_FIELDS[head]
    if path.startswith(_MAIN_CONTAINER):
        field_name = path[len(_MAIN_CONTAINER) :].split(".", 1)[0].split("[", 1)[0]
        if field_name in _CONTAINER_FIELDS:
            return _CONTAINER_FIELDS[field_name]
    return f"(task definition) {path}"


def _add_once(ctx: _Ctx, issue: ValidationIssue) -> None:
    """One problem per manifest field: Copilot's own check of a field is said first, and the
    resource rule that trips on the same field afterwards would only repeat it."""
    if all(e.path != issue.path for e in ctx.errors):
        ctx.errors.append(issue)


def _checked_task_definition(ctx: _Ctx, spec: dict[str, Any]) -> None:
    try:
        td = parse_task_definition(spec)
    except ModelLoadError as exc:
        for i in exc.issues:
            _add_once(ctx, problem(_td_field(i.path), i.message, i.rule))
        return
    for issue in validate_task_definition(td, ctx.env.launch_type):
        if issue.is_error:
            _add_once(ctx, problem(_td_field(issue.path), issue.message, issue.rule))


def _checked(ctx: _Ctx, what: str, check: Callable[[], list[ValidationIssue]]) -> None:
    try:
        found = check()
    except ModelLoadError as exc:
        found = exc.issues
    except ValidationError as exc:
        found = issues_from_pydantic(exc)
    ctx.errors.extend(problem(f"({what}) {i.path}".rstrip(), i.message, i.rule) for i in found if i.is_error)


# --- services ----------------------------------------------------------------------------------


def _deployment(ctx: _Ctx) -> dict[str, Any]:
    rolling = ctx.get("deployment.rolling", DEFAULT_ROLLING)
    if rolling not in (DEFAULT_ROLLING, RECREATE):
        ctx.errors.append(
            problem(
                "deployment.rolling",
                f'validate "rolling": invalid rolling deployment strategy "{rolling}", '
                "must be one of default or recreate",
            )
        )
    low, high = (0, 100) if rolling == RECREATE else (100, 200)
    return {
        "minimumHealthyPercent": low,
        "maximumPercent": high,
        "deploymentCircuitBreaker": {"enable": True, "rollback": True},
    }


def _placement(ctx: _Ctx) -> str:
    raw = ctx.get("network.vpc.placement", "public")
    if isinstance(raw, Mapping):
        return "private"  # `placement: {subnets: ...}`: named by the field walk; Copilot's own subnets
    if raw not in ("public", "private"):
        ctx.errors.append(
            problem(
                "network.vpc.placement",
                f'validate "placement": "placement" {raw} must be one of public, private',
            )
        )
    return str(raw)


def _network(ctx: _Ctx) -> dict[str, Any]:
    env = ctx.env
    placement = _placement(ctx)
    groups_raw = ctx.get("network.vpc.security_groups")
    deny_default = False
    groups: list[str] = []
    if isinstance(groups_raw, list):
        groups = [str(g) for g in groups_raw]
    elif isinstance(groups_raw, Mapping):
        deny_default = bool(groups_raw.get("deny_default"))
        groups = [str(g) for g in groups_raw.get("groups") or [] if not isinstance(g, Mapping)]
    sgs = ([] if deny_default else [env.security_group]) + groups
    vpc: dict[str, Any] = {
        "subnets": env.subnets(placement),
        "assignPublicIp": "ENABLED" if placement == "public" else "DISABLED",
    }
    if sgs:
        vpc["securityGroups"] = sgs
    return {"awsvpcConfiguration": vpc}


@dataclass(frozen=True)
class _Scaling:
    minimum: int
    maximum: int
    spot_from: int | None
    metrics: tuple[tuple[str, Any, tuple[int, int]], ...]
    """(count field, target value, (scale-in, scale-out cooldown))."""


def _cooldown(ctx: _Ctx, path: str, default: tuple[int, int]) -> tuple[int, int]:
    cool = ctx.get(path)
    if not isinstance(cool, Mapping):
        return default
    low = ctx.value(f"{path}.in", lambda v: values.whole_seconds(v, "cooldown"), default[0])
    high = ctx.value(f"{path}.out", lambda v: values.whole_seconds(v, "cooldown"), default[1])
    return low, high


_METRICS: tuple[tuple[str, Callable[[Any], Any]], ...] = (
    ("cpu_percentage", _percentage),
    ("memory_percentage", _percentage),
    ("requests", _int("requests", 1)),
    ("response_time", lambda v: values.duration(v)),
)


def _scaling(ctx: _Ctx, count: Mapping[str, Any]) -> _Scaling | None:
    given = [name for name, _ in _METRICS if count.get(name) is not None]
    if "range" not in count:
        if given:
            listed = ", ".join(f'"{g}"' for g in given)
            ctx.errors.append(
                problem(
                    "count",
                    f'validate "count": "range" must be specified if {listed} '
                    f"{'is' if len(given) == 1 else 'are'} specified",
                )
            )
        return None
    band = ctx.value("count.range", values.count_range)
    if not given:
        ctx.errors.append(
            problem(
                "count",
                'must specify at least one of "cpu_percentage", "memory_percentage", "requests" or '
                '"response_time" if "range" is specified',
            )
        )
    if band is None:
        return None
    default = _cooldown(ctx, "count.cooldown", (COOLDOWN_IN, COOLDOWN_OUT))
    metrics = []
    for name, parse in _METRICS:
        raw = count.get(name)
        if raw is None:
            continue
        path = f"count.{name}"
        target = ctx.value(f"{path}.value" if isinstance(raw, Mapping) else path, parse)
        if target is None:
            continue
        metrics.append((name, target, _cooldown(ctx, f"{path}.cooldown", default)))
    return _Scaling(band.minimum, band.maximum, band.spot_from, tuple(metrics))


def _count(ctx: _Ctx, spec: dict[str, Any], platform: values.Platform) -> _Scaling | None:
    raw = ctx.get("count", 1)
    if isinstance(raw, bool) or not isinstance(raw, (int, Mapping)):
        ctx.errors.append(
            problem("count", 'unable to unmarshal "count" field to an integer or autoscaling configuration')
        )
        return None
    spec["launchType"] = ctx.env.launch_type
    if isinstance(raw, int):
        spec["desiredCount"] = raw
        return None
    autoscaling = [
        k for k in ("range", "cpu_percentage", "memory_percentage", "requests", "response_time") if k in raw
    ]
    if "spot" in raw and autoscaling:
        ctx.errors.append(
            problem(
                "count",
                'validate "count": must specify one, not both, of "spot" and '
                '"range/cpu_percentage/memory_percentage/requests/response_time"',
            )
        )
    if "spot" in raw:
        spot = ctx.value("count.spot", _int("spot", 0), 0)
        _use_spot(ctx, spec, platform, [{"capacityProvider": "FARGATE_SPOT", "weight": 1}])
        spec["desiredCount"] = spot
        return None
    scaling = _scaling(ctx, raw)
    if scaling is None:
        spec["desiredCount"] = 1
        return None
    running = ctx.running_count
    spec["desiredCount"] = (
        scaling.minimum if running is None else min(max(running, scaling.minimum), scaling.maximum)
    )
    if scaling.spot_from:
        _use_spot(
            ctx,
            spec,
            platform,
            [
                {"capacityProvider": "FARGATE", "base": scaling.spot_from - 1, "weight": 0},
                {"capacityProvider": "FARGATE_SPOT", "weight": 1},
            ],
        )
    return scaling


def _use_spot(
    ctx: _Ctx, spec: dict[str, Any], platform: values.Platform, strategy: list[dict[str, Any]]
) -> None:
    if ctx.env.launch_type != "FARGATE":
        ctx.errors.append(
            problem(
                "count",
                f"Fargate Spot needs Fargate: environment {ctx.env.env} runs tasks on {ctx.env.launch_type}",
            )
        )
    if platform.is_arm:
        ctx.errors.append(
            problem(
                "count", "validate ARM: 'Fargate Spot' is not supported when deploying on ARM architecture"
            )
        )
    spec.pop("launchType", None)
    spec["capacityProviderStrategy"] = strategy


def _http(ctx: _Ctx, spec: dict[str, Any], port: int | None, internal: bool) -> bool:
    """The ALB target group (`loadBalancers`), for LBWS always unless `http: false`, for a
    Backend Service when `http` is given (Copilot's internal ALB)."""
    http = ctx.body.get("http")
    wants = http is not False and (http is not None or not internal)
    if not wants:
        if ctx.wl.kind == LBWS and ctx.body.get("nlb") is None:
            ctx.errors.append(problem("http", 'must specify at least one of "http" or "nlb"'))
        return False
    if port is None:
        ctx.errors.append(
            problem("image.port", '"image.port" must be specified to route "http" traffic to the service')
        )
        return False
    spec["loadBalancers"] = [
        {"targetGroupArn": ctx.env.target_group_arn(ctx.svc), "containerName": ctx.svc, "containerPort": port}
    ]
    grace = ctx.value(
        "http.healthcheck.grace_period",
        lambda v: values.whole_seconds(v, "grace_period"),
        DEFAULT_GRACE_PERIOD,
    )
    spec["healthCheckGracePeriodSeconds"] = grace
    return True


def _discovery(ctx: _Ctx, spec: dict[str, Any], port: int | None) -> None:
    """Cloud Map (`<svc>.<env>.<app>.local`, Copilot registers every service with a port) and
    Service Connect (`network.connect`)."""
    if port is not None:
        spec["serviceRegistries"] = [{"registryArn": ctx.env.registry_arn(ctx.svc), "port": port}]
    connect = ctx.get("network.connect")
    if connect is None or connect is False:
        return
    alias = connect.get("alias") if isinstance(connect, Mapping) else None
    sc: dict[str, Any] = {"enabled": True, "namespace": ctx.env.discovery_namespace}
    if port is None:
        if alias:
            ctx.errors.append(
                problem(
                    "network.connect.alias", 'cannot set "network.connect.alias" when no ports are exposed'
                )
            )
    else:
        sc["services"] = [
            {
                "portName": CONTAINER_PORT_NAME,
                "discoveryName": ctx.svc,
                "clientAliases": [{"port": port, "dnsName": str(alias or ctx.svc)}],
            }
        ]
    spec["serviceConnectConfiguration"] = sc


def _service_spec(ctx: _Ctx, td: dict[str, Any]) -> tuple[dict[str, Any], _Scaling | None, bool]:
    env = ctx.env
    platform = ctx.value("platform", values.platform, values.DEFAULT_PLATFORM)
    spec: dict[str, Any] = {
        "serviceName": ctx.svc,
        "cluster": env.cluster,
        "taskDefinition": td["family"],
    }
    scaling = _count(ctx, spec, platform)
    if env.launch_type == "FARGATE":
        spec["platformVersion"] = "LATEST"
    spec["networkConfiguration"] = _network(ctx)
    spec["deploymentConfiguration"] = _deployment(ctx)
    port = _port(ctx)
    behind_lb = _http(ctx, spec, port, internal=ctx.wl.kind == BACKEND)
    _discovery(ctx, spec, port)
    if ctx.value("exec", _bool, False):
        spec["enableExecuteCommand"] = True
    spec["propagateTags"] = "SERVICE"
    spec["tags"] = [{"key": k, "value": v} for k, v in names.tags(env.app, env.env, ctx.svc)]
    return spec, scaling, behind_lb


_POLICY_METRICS: dict[str, tuple[str, str, tuple[str, str] | None]] = {
    "cpu_percentage": ("ECSServiceAverageCPUUtilization", "cpu", None),
    "memory_percentage": ("ECSServiceAverageMemoryUtilization", "memory", None),
    "requests": ("ALBSumRequestCountPerTarget", "requests", ("RequestCountPerTarget", "Sum")),
    "response_time": ("ALBAverageResponseTime", "response-time", ("TargetResponseTime", "Average")),
}
"""count field -> (the metric in Copilot's policy name, object name suffix, the ALB metric and
statistic of Copilot's customized metric, or None for ECS's predefined one)."""


def _policy(
    ctx: _Ctx, name: str, target: Any, cooldown: tuple[int, int], internal: bool
) -> tuple[str, dict[str, Any]]:
    """One target tracking policy, as Copilot's autoscaling template writes it."""
    env = ctx.env
    config: dict[str, Any] = {"ScaleInCooldown": cooldown[0], "ScaleOutCooldown": cooldown[1]}
    alb = [
        {"Name": "LoadBalancer", "Value": env.load_balancer_name(internal)},
        {"Name": "TargetGroup", "Value": env.target_group_arn(ctx.svc).split(":", 5)[5]},
    ]
    metric, suffix, alb_metric = _POLICY_METRICS[name]
    if alb_metric is None:
        config["PredefinedMetricSpecification"] = {"PredefinedMetricType": metric}
    else:
        config["CustomizedMetricSpecification"] = {
            "Namespace": "AWS/ApplicationELB",
            "MetricName": alb_metric[0],
            "Statistic": alb_metric[1],
            "Dimensions": alb,
        }
    config["TargetValue"] = target
    spec = {
        "PolicyName": f"{ctx.svc}-{metric}-ScalingPolicy",
        "ServiceNamespace": SERVICE_NAMESPACE,
        "ResourceId": f"service/{env.cluster}/{ctx.svc}",
        "ScalableDimension": SCALABLE_DIMENSION,
        "PolicyType": "TargetTrackingScaling",
        "TargetTrackingScalingPolicyConfiguration": config,
    }
    return f"{ctx.svc}-{suffix}", spec


def _autoscaling(ctx: _Ctx, scaling: _Scaling, behind_lb: bool) -> list[dict[str, Any]]:
    env = ctx.env
    target = {
        "ServiceNamespace": SERVICE_NAMESPACE,
        "ResourceId": f"service/{env.cluster}/{ctx.svc}",
        "ScalableDimension": SCALABLE_DIMENSION,
        "MinCapacity": scaling.minimum,
        "MaxCapacity": scaling.maximum,
    }
    _checked(ctx, "ScalableTarget", lambda: model_issues(ScalableTarget, target))
    out = [ctx.resource("ScalableTarget", ctx.svc, target)]
    for name, value, cooldown in scaling.metrics:
        if name in ("requests", "response_time") and not behind_lb:
            ctx.errors.append(
                problem(f"count.{name}", f'scaling on "{name}" needs the service\'s load balancer ("http")')
            )
            continue
        obj_name, spec = _policy(ctx, name, value, cooldown, internal=ctx.wl.kind == BACKEND)
        _checked(ctx, f"ScalingPolicy {obj_name}", partial(model_issues, ScalingPolicy, spec))
        out.append(ctx.resource("ScalingPolicy", obj_name, spec))
    return out


def _service(ctx: _Ctx, out: Rendering) -> None:
    td, out.build = task_definition(ctx)
    _checked_task_definition(ctx, td)
    spec, scaling, behind_lb = _service_spec(ctx, td)
    try:
        svc_model = parse_service(spec)
        model_td = parse_task_definition(td)
    except ModelLoadError as exc:
        ctx.errors.extend(problem(f"(service) {i.path}", i.message, i.rule) for i in exc.issues)
    else:
        _checked(
            ctx,
            "service",
            lambda: [
                i for i in validate_service(svc_model, model_td) if not i.path.startswith("taskDefinition")
            ],
        )
    out.objects.append(ctx.resource("TaskDefinition", ctx.svc, td))
    out.objects.append(ctx.resource("ECSService", ctx.svc, spec))
    if scaling is not None:
        out.objects.extend(_autoscaling(ctx, scaling, behind_lb))


def _job(ctx: _Ctx, out: Rendering) -> None:
    td, out.build = task_definition(ctx)
    _checked_task_definition(ctx, td)
    expr, enabled = ctx.value("on.schedule", values.schedule, ("", True))
    if ctx.get("on.schedule") is None:
        ctx.errors.append(problem("on.schedule", '"schedule" must be specified'))
    env = ctx.env
    spec: dict[str, Any] = {
        "scheduleExpression": expr,
        "state": "ENABLED" if enabled else "DISABLED",
        "cluster": env.cluster,
        "description": f"Copilot scheduled job {ctx.svc} of {env.app}/{env.env}",
        "ecsParameters": {
            "taskDefinition": td["family"],
            "taskCount": 1,
            "launchType": ctx.env.launch_type,
            "networkConfiguration": _network(ctx),
            "propagateTags": "TASK_DEFINITION",
            "tags": [{"key": k, "value": v} for k, v in names.tags(env.app, env.env, ctx.svc)],
        },
    }
    if env.launch_type == "FARGATE":
        spec["ecsParameters"]["platformVersion"] = "LATEST"
    if expr:
        _checked(ctx, "ScheduledTask", lambda: validate_scheduled_task(parse_scheduled_task(spec)))
    out.objects.append(ctx.resource("TaskDefinition", ctx.svc, td))
    out.objects.append(ctx.resource("ScheduledTask", ctx.svc, spec))


# --- Request-Driven Web Service -> AppRunnerService --------------------------------------------

_RDWS_HC = {
    "Path": ("path", _text),
    "HealthyThreshold": ("healthy_threshold", _int("healthy_threshold")),
    "UnhealthyThreshold": ("unhealthy_threshold", _int("unhealthy_threshold")),
    "Interval": ("interval", lambda v: values.whole_seconds(v, "interval")),
    "Timeout": ("timeout", lambda v: values.whole_seconds(v, "timeout")),
}
_APPRUNNER_FIELDS = {
    "InstanceConfiguration.Cpu": "cpu",
    "InstanceConfiguration.Memory": "memory",
    "InstanceConfiguration": "cpu/memory",
    "ServiceName": "name",
    "AutoScalingConfigurationArn": "count",
    "SourceConfiguration.ImageRepository.ImageConfiguration.Port": "image.port",
    **{f"HealthCheckConfiguration.{k}": f"http.healthcheck.{v[0]}" for k, v in _RDWS_HC.items()},
}


def _rdws_health(ctx: _Ctx) -> dict[str, Any] | None:
    hc = ctx.get("http.healthcheck")
    if hc is None:
        return None
    out: dict[str, Any] = {"Protocol": "HTTP"}
    if isinstance(hc, str):
        out["Path"] = hc
        return out
    for key, (name, parse) in _RDWS_HC.items():
        parsed = ctx.value(f"http.healthcheck.{name}", parse)
        if parsed is not None:
            out[key] = parsed
    return out


def _rdws(ctx: _Ctx, out: Rendering) -> None:
    env = ctx.env
    platform = ctx.value("platform", values.platform, values.DEFAULT_PLATFORM)
    if platform.is_windows:
        ctx.errors.append(problem("platform", "Windows is not supported for App Runner services"))
    elif platform.is_arm:
        ctx.errors.append(
            problem("platform", "App Runner services can only build on amd64 and x86_64 architectures")
        )
    image, out.build = _image(ctx)
    cpu, memory = _size(ctx, values.DEFAULT_PLATFORM)
    variables = {
        e["name"]: e["value"] for e in _environment(ctx) if e["name"] != "COPILOT_SERVICE_DISCOVERY_ENDPOINT"
    }
    config: dict[str, Any] = {"RuntimeEnvironmentVariables": variables}
    port = _port(ctx)
    if port is not None:
        config["Port"] = str(port)
    secrets = secret_refs(ctx, ssm_as_arn=True)
    if secrets:
        config["RuntimeEnvironmentSecrets"] = secrets
    start = ctx.get("command")
    if start is not None:
        config["StartCommand"] = " ".join(values.command(start)) if isinstance(start, list) else _text(start)
    kind = "ECR_PUBLIC" if image.startswith("public.ecr.aws/") else "ECR"
    spec: dict[str, Any] = {
        "ServiceName": names.family(env.app, env.env, ctx.svc),
        "SourceConfiguration": {
            "ImageRepository": {
                "ImageIdentifier": image,
                "ImageRepositoryType": kind,
                "ImageConfiguration": config,
            },
            "AutoDeploymentsEnabled": False,
        },
        "InstanceConfiguration": {"Cpu": str(cpu), "Memory": str(memory)},
    }
    health = _rdws_health(ctx)
    if health:
        spec["HealthCheckConfiguration"] = health
    count = ctx.value("count", _text)
    if count is not None:  # `high-availability` or `high-availability/3`: an existing configuration
        spec["AutoScalingConfigurationArn"] = env.arn("apprunner", f"autoscalingconfiguration/{count}")
    user_tags = ctx.get("tags", {})
    tags = [
        *names.tags(env.app, env.env, ctx.svc),
        *((str(k), _text(v)) for k, v in (user_tags or {}).items()),
    ]
    spec["Tags"] = [{"Key": k, "Value": v} for k, v in tags]
    _, issues = apprunner_rules.check(spec)
    for issue in issues:
        if issue.is_error:
            where = _APPRUNNER_FIELDS.get(issue.path, f"(App Runner service) {issue.path}")
            ctx.errors.append(problem(where, issue.message, issue.rule))
    out.objects.append(ctx.resource("AppRunnerService", ctx.svc, spec))


_BY_KIND = {LBWS: _service, BACKEND: _service, JOB: _job, RDWS: _rdws}


def render(
    workload: Workload,
    env: names.Environment,
    image: str | None = None,
    running_count: int | None = None,
) -> Rendering:
    """The custom resources of `workload` in `env`, or ManifestError naming every problem.

    `image`: the pushed image URI when the manifest builds one (else `image.location`).
    `running_count`: the service's live desiredCount; with a `count` range Copilot keeps it
    (clamped to the range) instead of resetting the service to the minimum on every deploy."""
    ctx = _Ctx(copy.deepcopy(workload), env, image, running_count)
    out = Rendering(workload)
    _BY_KIND[workload.kind](ctx, out)
    if ctx.errors:
        raise ManifestError(ctx.errors)
    out.warnings = [*workload.warnings, *ctx.warnings]
    return out
