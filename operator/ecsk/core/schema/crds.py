"""CustomResourceDefinitions for the ECS kinds, generated from the pydantic models.

The models are the single source of truth: the CRD schemas are derived from
`model_json_schema()` and made structural (refs inlined, no nullable unions, no
`additionalProperties: false`), so `kubectl apply` rejects what the models reject, early and with
a field path. CEL rules add the cross-field checks admission can afford (list sizes are bounded,
so their cost stays inside the apiserver's budget); everything else is left to the operator,
which runs `ecsk.core.validation` with ECS's wording.

`python -m ecsk.core.schema.crds DIR` writes `DIR/<plural>.<group>.yaml`; without DIR it prints them.
"""

from __future__ import annotations

import copy
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_args

import yaml
from pydantic import BaseModel

from ecsk.core.apprunner.models import AppRunnerService
from ecsk.core.apprunner.rules import cel_rules as apprunner_rules
from ecsk.core.apprunner.scaling import AutoScalingConfigurationSpec
from ecsk.core.apprunner.scaling import cel_rules as apprunner_scaling_rules
from ecsk.core.autoscaling.models import ScalableTarget, ScalingPolicy, ScheduledAction
from ecsk.core.capacity.fargate_profiles import FargateProfile
from ecsk.core.capacity.models import CapacityProvider, ECSCluster
from ecsk.core.ecr.models import Repository
from ecsk.core.models import ECSService, RunTask, ScheduledTask, TaskDefinition
from ecsk.core.models.load import API_GROUP
from ecsk.core.schema.aws_model import SHAPE_OF_KIND, describe
from ecsk.core.validation.fargate import FARGATE_CPU_MEMORY, FARGATE_PID_MODE, INVALID_CPU
from ecsk.core.validation.placement import FARGATE_MIX, LAUNCH_TYPE_AND_STRATEGY

VERSION = "v1alpha1"
CATEGORY = "ecs"

Json = dict[str, Any]
SchemaPath = tuple[str, ...]
"""Where a CEL rule attaches inside `spec`: property names, and "*" for list items."""

_DROP_KEYS = frozenset({"title", "description", "default", "examples"})

# --- CEL rules -------------------------------------------------------------------------------

_FARGATE = "has(self.requiresCompatibilities) && 'FARGATE' in self.requiresCompatibilities"
_FARGATE_PAIRS = ", ".join(f"'{cpu}:{mem}'" for cpu, mem in sorted(FARGATE_CPU_MEMORY))
_NUMERIC = "string(self.{0}).matches('^[0-9]+$')"


def _rule(expr: str, message: str, field_path: str | None = None, reason: str | None = None) -> Json:
    rule: Json = {"rule": " ".join(expr.split()), "message": message}
    if field_path:
        rule["fieldPath"] = field_path
    if reason:
        rule["reason"] = reason
    return rule


def _capacity_rules() -> list[Json]:
    """Shared by ECSService, Task and ScheduledTask.ecsParameters (same field names)."""
    return [
        _rule(
            "!has(self.launchType) || !has(self.capacityProviderStrategy) || "
            "size(self.capacityProviderStrategy) == 0",
            LAUNCH_TYPE_AND_STRATEGY,
            ".capacityProviderStrategy",
        ),
        _rule(
            "!has(self.capacityProviderStrategy) || "
            "self.capacityProviderStrategy.filter(i, has(i.base) && i.base > 0).size() <= 1",
            "Only one capacity provider in a capacity provider strategy can have a base defined.",
            ".capacityProviderStrategy",
        ),
        _rule(
            "!has(self.capacityProviderStrategy) || "
            "!self.capacityProviderStrategy.exists(i, i.capacityProvider in ['FARGATE', 'FARGATE_SPOT']) || "
            "self.capacityProviderStrategy.all(i, i.capacityProvider in ['FARGATE', 'FARGATE_SPOT'])",
            FARGATE_MIX,
            ".capacityProviderStrategy",
        ),
    ]


def _fargate_placement_rules() -> list[Json]:
    fargate = "has(self.launchType) && self.launchType == 'FARGATE'"
    return [
        _rule(
            f"!({fargate}) || ((!has(self.placementStrategy) || size(self.placementStrategy) == 0) && "
            "(!has(self.placementConstraints) || size(self.placementConstraints) == 0))",
            "Tasks using the Fargate launch type do not support placementStrategy or placementConstraints.",
        ),
    ]


TASK_DEFINITION_RULES: dict[SchemaPath, list[Json]] = {
    (): [
        _rule(
            "self.containerDefinitions.exists(c, !has(c.essential) || c.essential)",
            "At least one essential container is required for task definition.",
            ".containerDefinitions",
        ),
        _rule(
            "self.containerDefinitions.all(c, !has(c.name) || "
            "self.containerDefinitions.filter(o, has(o.name) && o.name == c.name).size() == 1)",
            "Container names must be unique within a task definition.",
            ".containerDefinitions",
        ),
        _rule(
            "self.containerDefinitions.all(c, !has(c.dependsOn) || c.dependsOn.all(d, "
            "self.containerDefinitions.exists(t, has(t.name) && t.name == d.containerName)))",
            "A container in dependsOn is not defined in the task definition.",
            ".containerDefinitions",
        ),
        _rule(
            "self.containerDefinitions.all(c, !has(c.dependsOn) || c.dependsOn.all(d, "
            "!(d.condition in ['COMPLETE', 'SUCCESS']) || self.containerDefinitions.exists(t, "
            "has(t.name) && t.name == d.containerName && has(t.essential) && !t.essential)))",
            "A dependency container with SUCCESS or COMPLETE condition cannot be an essential container",
            ".containerDefinitions",
        ),
        _rule(
            "self.containerDefinitions.all(c, !has(c.dependsOn) || c.dependsOn.all(d, "
            "d.condition != 'HEALTHY' || self.containerDefinitions.exists(t, "
            "has(t.name) && t.name == d.containerName && has(t.healthCheck))))",
            "A dependency container with HEALTHY condition must have a healthCheck.",
            ".containerDefinitions",
        ),
        _rule(
            f"!({_FARGATE}) || !has(self.networkMode) || self.networkMode == 'awsvpc'",
            "Fargate only supports network mode 'awsvpc'.",
            ".networkMode",
        ),
        _rule(
            f"!({_FARGATE}) || (has(self.cpu) && has(self.memory))",
            "Fargate requires that 'cpu' and 'memory' be defined at the task level.",
        ),
        _rule(
            f"!({_FARGATE} && has(self.cpu) && has(self.memory) && "
            f"{_NUMERIC.format('cpu')} && {_NUMERIC.format('memory')}) || "
            f"(string(self.cpu) + ':' + string(self.memory)) in [{_FARGATE_PAIRS}]",
            INVALID_CPU,
            ".cpu",
        ),
        _rule(
            f"!((has(self.networkMode) && self.networkMode in ['awsvpc', 'host']) || "
            f"(!has(self.networkMode) && {_FARGATE})) || "
            "self.containerDefinitions.all(c, !has(c.portMappings) || c.portMappings.all(p, "
            "!has(p.hostPort) || !has(p.containerPort) || p.hostPort == p.containerPort))",
            "When networkMode=awsvpc or host, "
            "the host ports and container ports in port mappings must match.",
            ".containerDefinitions",
        ),
        _rule(
            f"!({_FARGATE}) || !has(self.ipcMode)",
            "Tasks using the Fargate launch type do not support ipcMode.",
            ".ipcMode",
        ),
        _rule(
            f"!({_FARGATE}) || !has(self.pidMode) || self.pidMode == 'task'",
            FARGATE_PID_MODE,
            ".pidMode",
        ),
    ],
    ("containerDefinitions", "*"): [
        _rule(
            "!has(self.memory) || !has(self.memoryReservation) || self.memory >= self.memoryReservation",
            "'memory' must be greater than or equal to 'memoryReservation'.",
            ".memoryReservation",
        ),
        _rule(
            "has(self.name) && size(self.name) > 0", "Container.name should not be null or empty.", ".name"
        ),
        _rule(
            "has(self.image) && size(self.image) > 0",
            "Container.image should not be null or empty.",
            ".image",
        ),
    ],
    ("containerDefinitions", "*", "healthCheck"): [
        # only emptiness: ECS registers any other first element and passes it to Docker as
        # given (the operator warns, see ecsk.core.validation.containers.check_health)
        _rule(
            "size(self.command) > 0", "The health check command must start with CMD or CMD-SHELL.", ".command"
        ),
    ],
    ("volumes", "*", "efsVolumeConfiguration"): [
        _rule(
            "!has(self.authorizationConfig) || !has(self.authorizationConfig.accessPointId) || "
            "!has(self.rootDirectory) || self.rootDirectory in ['', '/']",
            "When an access point is specified, rootDirectory must either be omitted or set to '/'.",
            ".rootDirectory",
        ),
        _rule(
            "!has(self.authorizationConfig) || !(has(self.authorizationConfig.accessPointId) || "
            "(has(self.authorizationConfig.iam) && self.authorizationConfig.iam == 'ENABLED')) || "
            "(has(self.transitEncryption) && self.transitEncryption == 'ENABLED')",
            "Transit encryption must be ENABLED when an EFS access point or IAM authorization is used.",
            ".transitEncryption",
        ),
    ],
}

SERVICE_RULES: dict[SchemaPath, list[Json]] = {
    (): [
        *_capacity_rules(),
        *_fargate_placement_rules(),
        _rule(
            "!(has(self.schedulingStrategy) && self.schedulingStrategy == 'DAEMON' && "
            "((has(self.launchType) && self.launchType == 'FARGATE') || "
            "(has(self.capacityProviderStrategy) && "
            "self.capacityProviderStrategy.exists(i, i.capacityProvider in ['FARGATE', 'FARGATE_SPOT']))))",
            "The DAEMON scheduling strategy is not supported with the Fargate launch type "
            "or Fargate capacity providers.",
            ".schedulingStrategy",
        ),
    ],
    ("deploymentConfiguration",): [
        _rule(
            "!has(self.maximumPercent) || !has(self.minimumHealthyPercent) || "
            "self.maximumPercent >= self.minimumHealthyPercent",
            "maximumPercent must be greater than or equal to minimumHealthyPercent.",
            ".maximumPercent",
        ),
    ],
}

RUN_TASK_RULES: dict[SchemaPath, list[Json]] = {(): [*_capacity_rules(), *_fargate_placement_rules()]}

SCHEDULED_TASK_RULES: dict[SchemaPath, list[Json]] = {
    (): [
        _rule(
            r"self.scheduleExpression.matches('^(rate|cron|at)\\(.+\\)$')",
            "scheduleExpression must be rate(...), cron(...) or at(...).",
            ".scheduleExpression",
        ),
    ],
    ("ecsParameters",): [*_capacity_rules(), *_fargate_placement_rules()],
}

# --- Schema conversion -----------------------------------------------------------------------


def structural_schema(model: type[BaseModel]) -> Json:
    """The model's JSON schema in the structural subset Kubernetes requires."""
    raw = model.model_json_schema(mode="validation")
    defs: dict[str, Json] = raw.pop("$defs", {})
    return _convert(raw, defs)


def _convert(node: Json, defs: dict[str, Json]) -> Json:
    if "$ref" in node:
        target = defs[node["$ref"].rsplit("/", 1)[-1]]
        merged = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
        return _convert(merged, defs)
    if "anyOf" in node:
        branches = [b for b in node["anyOf"] if b.get("type") != "null"]
        if len(branches) != 1:
            raise ValueError(f"cannot make a structural schema from anyOf {node['anyOf']!r}")
        rest = {k: v for k, v in node.items() if k != "anyOf"}
        return _convert({**branches[0], **rest}, defs)
    out: Json = {}
    for key, value in node.items():
        if key in _DROP_KEYS:
            continue
        if key == "properties":
            out["properties"] = {name: _convert(sub, defs) for name, sub in value.items()}
        elif key == "items":
            out["items"] = _convert(value, defs)
        elif key == "additionalProperties":
            if isinstance(value, dict) and value:
                out["additionalProperties"] = _convert(value, defs)
            elif value is True or value == {}:
                out["x-kubernetes-preserve-unknown-fields"] = True
            # additionalProperties: false (extra="forbid") is not allowed next to properties;
            # the apiserver prunes and `kubectl apply` warns on unknown fields instead.
        elif key == "const":
            out["enum"] = [value]
        else:
            out[key] = copy.deepcopy(value)
    if out.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
    elif out.get("type") == "object" and "properties" not in out and "additionalProperties" not in out:
        out["x-kubernetes-preserve-unknown-fields"] = True
    return out


def _node(schema: Json, path: SchemaPath) -> Json:
    node = schema
    for part in path:
        node = node["items"] if part == "*" else node["properties"][part]
    return node


def _spec_schema(
    model: type[BaseModel], rules: dict[SchemaPath, list[Json]], optional: tuple[str, ...]
) -> Json:
    spec = structural_schema(model)
    required = [name for name in spec.get("required", []) if name not in optional]
    if required:
        spec["required"] = required
    else:
        spec.pop("required", None)
    for path, path_rules in rules.items():
        _node(spec, path).setdefault("x-kubernetes-validations", []).extend(copy.deepcopy(path_rules))
    return spec


# --- CRD objects -----------------------------------------------------------------------------


@dataclass(frozen=True)
class KindSpec:
    kind: str
    plural: str
    short_names: tuple[str, ...]
    model: type[BaseModel]
    rules: dict[SchemaPath, list[Json]]
    columns: tuple[Json, ...]
    optional: tuple[str, ...] = ()
    """Spec fields the models require but the operator fills from metadata.name."""
    scale: Json | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _col(name: str, path: str, kind: str = "string", priority: int = 0) -> Json:
    col: Json = {"name": name, "type": kind, "jsonPath": path}
    if priority:
        col["priority"] = priority
    return col


_AGE = _col("Age", ".metadata.creationTimestamp", "date")

AUTOSCALING_KINDS: tuple[KindSpec, ...] = (
    KindSpec(
        kind="ScalableTarget",
        plural="scalabletargets",
        short_names=("ast",),
        model=ScalableTarget,
        rules={},
        columns=(
            _col("Resource", ".spec.ResourceId"),
            _col("Min", ".spec.MinCapacity", "integer"),
            _col("Max", ".spec.MaxCapacity", "integer"),
            _col("Desired", ".status.desiredCount", "integer"),
            _AGE,
        ),
    ),
    KindSpec(
        kind="ScalingPolicy",
        plural="scalingpolicies",
        short_names=("asp",),
        model=ScalingPolicy,
        rules={},
        optional=("PolicyName",),
        columns=(
            _col("Resource", ".spec.ResourceId"),
            _col("Type", ".spec.PolicyType"),
            _col("Target", ".spec.TargetTrackingScalingPolicyConfiguration.TargetValue", "number"),
            _col("State", ".status.state"),
            _AGE,
        ),
    ),
    KindSpec(
        kind="ScheduledAction",
        plural="scheduledactions",
        short_names=("asa",),
        model=ScheduledAction,
        rules={},
        optional=("ScheduledActionName",),
        columns=(
            _col("Resource", ".spec.ResourceId"),
            _col("Schedule", ".spec.Schedule"),
            _col("Min", ".spec.ScalableTargetAction.MinCapacity", "integer"),
            _col("Max", ".spec.ScalableTargetAction.MaxCapacity", "integer"),
            _col("Next Run", ".status.nextRun", "date"),
            _AGE,
        ),
    ),
)
"""Application Auto Scaling kinds (PascalCase specs, as the AWS API names them)."""

KINDS: tuple[KindSpec, ...] = (
    KindSpec(
        kind="TaskDefinition",
        plural="taskdefinitions",
        short_names=("td", "taskdef"),
        model=TaskDefinition,
        rules=TASK_DEFINITION_RULES,
        optional=("family",),
        columns=(
            _col("Family", ".spec.family"),
            _col("Revision", ".status.revision", "integer"),
            _col("Status", ".status.status"),
            _col("CPU", ".spec.cpu"),
            _col("Memory", ".spec.memory"),
            _AGE,
        ),
    ),
    KindSpec(
        kind="ECSService",
        plural="ecsservices",
        short_names=("esvc", "ecssvc"),
        model=ECSService,
        rules=SERVICE_RULES,
        optional=("serviceName",),
        columns=(
            _col("Desired", ".spec.desiredCount", "integer"),
            _col("Running", ".status.runningCount", "integer"),
            _col("Pending", ".status.pendingCount", "integer"),
            _col("Task Definition", ".spec.taskDefinition"),
            _col("Launch Type", ".spec.launchType"),
            _AGE,
        ),
        scale={
            "specReplicasPath": ".spec.desiredCount",
            "statusReplicasPath": ".status.runningCount",
            "labelSelectorPath": ".status.selector",
        },
    ),
    KindSpec(
        kind="Task",
        plural="tasks",
        short_names=("ecstask",),
        model=RunTask,
        rules=RUN_TASK_RULES,
        columns=(
            _col("Task Definition", ".spec.taskDefinition"),
            _col("Count", ".spec.count", "integer"),
            _col("Launch Type", ".spec.launchType"),
            _col("Last Status", ".status.lastStatus"),
            _AGE,
        ),
    ),
    KindSpec(
        kind="ScheduledTask",
        plural="scheduledtasks",
        short_names=("st",),
        model=ScheduledTask,
        rules=SCHEDULED_TASK_RULES,
        columns=(
            _col("Schedule", ".spec.scheduleExpression"),
            _col("State", ".spec.state"),
            _col("Task Definition", ".spec.ecsParameters.taskDefinition"),
            _col("Last Run", ".status.lastRunTime", "date"),
            _AGE,
        ),
    ),
    KindSpec(
        kind="FargateProfile",
        plural="fargateprofiles",
        short_names=("fp",),
        model=FargateProfile,
        rules={},
        columns=(
            _col("Profile", ".spec.fargateProfileName"),
            _col("Namespace Selector", ".spec.selectors[0].namespace"),
            _AGE,
        ),
    ),
    KindSpec(
        kind="CapacityProvider",
        plural="capacityproviders",
        short_names=("cp",),
        model=CapacityProvider,
        rules={},
        columns=(
            _col("Min", ".spec.autoScalingGroup.minSize", "integer"),
            _col("Max", ".spec.autoScalingGroup.maxSize", "integer"),
            _col("Desired", ".status.desiredCapacity", "integer"),
            _col("Instances", ".status.instances", "integer"),
            _col("Reservation", ".status.capacityProviderReservation", "number"),
            _AGE,
        ),
    ),
    KindSpec(
        kind="ECSCluster",
        plural="ecsclusters",
        short_names=("ecscluster",),
        model=ECSCluster,
        rules={},
        columns=(_col("Cluster", ".spec.clusterName"), _AGE),
    ),
    *AUTOSCALING_KINDS,
    KindSpec(
        kind="Repository",
        plural="repositories",
        short_names=("ecrrepo", "repo"),
        model=Repository,
        rules={},
        columns=(
            _col("URI", ".status.repositoryUri"),
            _col("Images", ".status.imageCount", "integer"),
            _col("Tag Mutability", ".spec.imageTagMutability"),
            _AGE,
        ),
    ),
    KindSpec(
        kind="AppRunnerService",
        plural="apprunnerservices",
        short_names=("ars", "apprunner"),
        model=AppRunnerService,
        rules=apprunner_rules(),
        optional=("ServiceName",),
        columns=(
            _col("Service", ".spec.ServiceName"),
            _col("Status", ".status.Status"),
            _col("URL", ".status.ServiceUrl"),
            _col("Instances", ".status.instances", "integer"),
            _col("Image", ".spec.SourceConfiguration.ImageRepository.ImageIdentifier", priority=1),
            _AGE,
        ),
    ),
    KindSpec(
        kind="AppRunnerAutoScalingConfiguration",
        plural="apprunnerautoscalingconfigurations",
        short_names=("arasc", "apprunnerscaling"),
        model=AutoScalingConfigurationSpec,
        rules=apprunner_scaling_rules(),
        optional=("AutoScalingConfigurationName",),
        columns=(
            _col("Name", ".status.AutoScalingConfigurationName"),
            _col("Revision", ".status.AutoScalingConfigurationRevision", "integer"),
            _col("MaxConcurrency", ".status.MaxConcurrency", "integer"),
            _col("MinSize", ".status.MinSize", "integer"),
            _col("MaxSize", ".status.MaxSize", "integer"),
            _col("Latest", ".status.Latest", "boolean"),
            _col("Status", ".status.Status"),
            _col("ARN", ".status.AutoScalingConfigurationArn", priority=1),
            _AGE,
        ),
    ),
)


def _described(kind: KindSpec, spec: Json) -> Json:
    """Field descriptions from the AWS service model, so `kubectl explain` reads as the AWS
    API reference does (generation time only: the committed CRDs carry them). ecsk's own
    extension objects (an emulated alarm or Auto Scaling group) say so, from their docstring."""
    if kind.kind in SHAPE_OF_KIND:
        service, shape = SHAPE_OF_KIND[kind.kind]
        spec["description"] = (
            f"The {shape.removesuffix('Request')} input of the AWS {service} API, unchanged."
        )
        describe(spec, service, shape)
    for name, info in kind.model.model_fields.items():
        prop = spec["properties"].get(name)
        doc = next((m.__doc__ for m in _submodels(info.annotation) if m.__doc__), None)
        if prop is not None and "description" not in prop and doc:
            spec["properties"][name]["description"] = " ".join(doc.split("\n\n")[0].split())
    return spec


def _submodels(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in get_args(annotation) for m in _submodels(arg)]


def crd_for(kind: KindSpec) -> Json:
    """One apiextensions.k8s.io/v1 CustomResourceDefinition as a plain dict."""
    subresources: Json = {"status": {}}
    if kind.scale:
        subresources["scale"] = dict(kind.scale)
    schema: Json = {
        "type": "object",
        "required": ["spec"],
        "properties": {
            "apiVersion": {"type": "string"},
            "kind": {"type": "string"},
            "metadata": {"type": "object"},
            "spec": _described(kind, _spec_schema(kind.model, kind.rules, kind.optional)),
            "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
        },
    }
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {
            "name": f"{kind.plural}.{API_GROUP}",
            "labels": {"app.kubernetes.io/managed-by": "ecsk", "app.kubernetes.io/part-of": "ecsk"},
        },
        "spec": {
            "group": API_GROUP,
            "scope": "Namespaced",
            "names": {
                "kind": kind.kind,
                "listKind": f"{kind.kind}List",
                "plural": kind.plural,
                "singular": kind.kind.lower(),
                "shortNames": list(kind.short_names),
                "categories": [CATEGORY],
            },
            "versions": [
                {
                    "name": VERSION,
                    "served": True,
                    "storage": True,
                    "schema": {"openAPIV3Schema": schema},
                    "subresources": subresources,
                    "additionalPrinterColumns": list(kind.columns),
                }
            ],
        },
    }


def all_crds() -> list[Json]:
    return [crd_for(kind) for kind in KINDS]


def render_yaml(crd: Json) -> str:
    """Stable text (insertion order, wide lines) so the drift test compares byte for byte."""
    header = "# Generated by `python -m ecsk.core.schema.crds crds/` from the pydantic models. Do not edit.\n"
    return header + yaml.safe_dump(crd, sort_keys=False, width=1_000_000, allow_unicode=True)


def crd_files() -> Iterator[tuple[str, str]]:
    """(file name, YAML text) for every CRD."""
    for crd in all_crds():
        yield f"{crd['metadata']['name']}.yaml", render_yaml(crd)


def kustomization_text() -> str:
    """crds/kustomization.yaml, so `kubectl apply -k crds/` and manifests/ (via ../crds) work."""
    names = [name for name, _ in crd_files()]
    lines = [
        "# Generated by `python -m ecsk.core.schema.crds crds/`. Do not edit.",
        "apiVersion: kustomize.config.k8s.io/v1beta1",
        "kind: Kustomization",
        "resources:",
    ]
    return "\n".join([*lines, *(f"- {n}" for n in names)]) + "\n"


def write_crds(directory: str | Path) -> list[Path]:
    out_dir = Path(directory)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in [*crd_files(), ("kustomization.yaml", kustomization_text())]:
        path = out_dir / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args:
        for path in write_crds(args[0]):
            print(path)
    else:
        sys.stdout.write("---\n".join(text for _, text in crd_files()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
