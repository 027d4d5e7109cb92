"""Recognise ECS documents in whatever form users paste them and return typed models.

Accepted forms, per document:
- describe output wrappers: `{"taskDefinition": {...}, "tags": [...]}`, `{"services": [...]}` and
  `{"tasks": [...]}` (each task as the RunTask input that starts it again);
- plain RegisterTaskDefinition / CreateService / RunTask input;
- our custom resources (`apiVersion: ecs.ecsk.io/v1alpha1`, kind TaskDefinition, ECSService, Task,
  ScheduledTask) whose `spec` is the AWS shape; `metadata.name` fills `family` / `serviceName` when
  the spec leaves them out, so a plain `kubectl apply` manifest need not repeat its name;
- a Kubernetes `List` or a JSON array of any of the above.

Shape detection for plain input: `containerDefinitions` => task definition (services never carry
it); `serviceName` or `desiredCount` => service (RunTask has neither); `scheduleExpression` =>
scheduled task; otherwise `taskDefinition` => RunTask.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from ecsk.core.models.errors import ModelLoadError, ValidationIssue, issues_from_pydantic
from ecsk.core.models.service import ECSService
from ecsk.core.models.task import RunTask, ScheduledTask
from ecsk.core.models.taskdef import TaskDefinition

API_GROUP = "ecs.ecsk.io"
API_VERSION = f"{API_GROUP}/v1alpha1"

Kind = Literal["TaskDefinition", "ECSService", "Task", "ScheduledTask", "Unknown"]
AnyModel = TaskDefinition | ECSService | RunTask | ScheduledTask
M = TypeVar("M", bound=BaseModel)

MODEL_FOR_KIND: dict[str, type[BaseModel]] = {
    "TaskDefinition": TaskDefinition,
    "ECSService": ECSService,
    "Task": RunTask,
    "ScheduledTask": ScheduledTask,
}
_NAME_FIELD = {"TaskDefinition": "family", "ECSService": "serviceName"}

# EventBridge put-targets spells EcsParameters in PascalCase; our spec uses camelCase.
_ECS_PARAMETER_ALIASES = {"TaskDefinitionArn": "taskDefinition", "taskDefinitionArn": "taskDefinition"}


@dataclass(slots=True)
class LoadedDocument:
    """One recognised document. `model` is None when `issues` say why it could not be built."""

    kind: Kind
    model: AnyModel | None
    metadata: dict[str, Any] = field(default_factory=dict)
    issues: list[ValidationIssue] = field(default_factory=list)
    source: str = ""

    @property
    def ok(self) -> bool:
        return self.model is not None


def _build(model: type[M], data: Any, prefix: str = "") -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ModelLoadError(issues_from_pydantic(exc, prefix)) from None


def parse_task_definition(data: Mapping[str, Any]) -> TaskDefinition:
    """Build a TaskDefinition or raise ModelLoadError listing every shape problem."""
    return _build(TaskDefinition, data)


def parse_service(data: Mapping[str, Any]) -> ECSService:
    return _build(ECSService, data)


def parse_run_task(data: Mapping[str, Any]) -> RunTask:
    return _build(RunTask, data)


def parse_scheduled_task(data: Mapping[str, Any]) -> ScheduledTask:
    return _build(ScheduledTask, _camel_ecs_parameters(data))


def _camel(value: Any) -> Any:
    """EventBridge's PascalCase keys, recursively, to the ECS camelCase our models use."""
    if isinstance(value, Mapping):
        return {_ECS_PARAMETER_ALIASES.get(k, k[:1].lower() + k[1:]): _camel(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_camel(v) for v in value]
    return value


def _camel_ecs_parameters(data: Mapping[str, Any]) -> Mapping[str, Any]:
    """Accept the EventBridge rule target and the EventBridge Scheduler schedule spellings.

    Scheduler: `{ScheduleExpression, ScheduleExpressionTimezone, State, FlexibleTimeWindow,
    Target: {Arn (the cluster), RoleArn, EcsParameters: {TaskDefinitionArn, ...}}}`; its Name and
    GroupName are Kubernetes metadata here and are dropped.
    """
    if "ScheduleExpression" in data or "Target" in data:
        data = dict(data)
        target = data.pop("Target", None) or {}
        for dropped in ("Name", "GroupName", "ActionAfterCompletion", "KmsKeyArn"):
            data.pop(dropped, None)
        data = {k[:1].lower() + k[1:]: v for k, v in data.items()}
        if isinstance(target, Mapping):
            if "Arn" in target:
                data["cluster"] = target["Arn"]
            if "RoleArn" in target:
                data["roleArn"] = target["RoleArn"]
            if "EcsParameters" in target:
                data["ecsParameters"] = target["EcsParameters"]
        data = {k: _camel(v) if k == "flexibleTimeWindow" else v for k, v in data.items()}
    params = data.get("ecsParameters") or data.get("EcsParameters")
    if not isinstance(params, Mapping):
        return data
    fixed = _camel(params)
    if fixed == params and "EcsParameters" not in data:
        return data
    result = {k: v for k, v in data.items() if k != "EcsParameters"}
    result["ecsParameters"] = fixed
    return result


def _make(kind: Kind, data: Any, metadata: dict[str, Any], source: str) -> LoadedDocument:
    try:
        if kind == "ScheduledTask" and isinstance(data, Mapping):
            data = _camel_ecs_parameters(data)
        model = MODEL_FOR_KIND[kind].model_validate(data)
    except ValidationError as exc:
        return LoadedDocument(kind, None, metadata, issues_from_pydantic(exc), source)
    return LoadedDocument(kind, model, metadata, [], source)  # type: ignore[arg-type]


def _unrecognised(source: str, why: str) -> LoadedDocument:
    issue = ValidationIssue("", why, "load.unrecognised")
    return LoadedDocument("Unknown", None, {}, [issue], source)


_COPILOT_TYPES = frozenset(
    {
        "Load Balanced Web Service",
        "Backend Service",
        "Worker Service",
        "Request-Driven Web Service",
        "Scheduled Job",
        "Static Site",
    }
)
_WANTED = (
    "ecsk reads ECS task definitions, services, RunTask input and schedules "
    "(AWS JSON such as `aws ecs describe-task-definition` output, or ecs.ecsk.io/v1alpha1 resources)"
)


def foreign_format(doc: Mapping[str, Any]) -> str | None:
    """What a document that is not ECS looks like, for one clear message instead of field errors.

    None when it looks like nothing known (the generic message applies)."""
    api_version, kind = doc.get("apiVersion"), doc.get("kind")
    if isinstance(api_version, str) and isinstance(kind, str):
        return f"This is a Kubernetes {kind} ({api_version}), not an ECS document"
    resources = doc.get("Resources")
    if "AWSTemplateFormatVersion" in doc or (
        isinstance(resources, Mapping)
        and any(
            isinstance(r, Mapping) and str(r.get("Type", "")).startswith("AWS::") for r in resources.values()
        )
    ):
        ecs = sorted(
            name
            for name, r in (resources or {}).items()
            if isinstance(r, Mapping) and r.get("Type") in ("AWS::ECS::TaskDefinition", "AWS::ECS::Service")
        )
        found = f" (its ECS resources: {', '.join(ecs)})" if ecs else ""
        return (
            f"This is a CloudFormation template{found}, not an ECS document: CloudFormation spells the "
            "properties in PascalCase and resolves !Ref/!Sub at deploy time; export the registered "
            "resources with `aws ecs describe-task-definition` / `describe-services` instead"
        )
    if doc.get("type") in _COPILOT_TYPES and "name" in doc:
        return (
            f"This is an AWS Copilot manifest ({doc['type']}), not an ECS document: Copilot generates "
            "the task definition at deploy time; deploy it with `ecsk copilot svc deploy` "
            "(docs/copilot.md), or export the task definition with `aws ecs describe-task-definition`"
        )
    services = doc.get("services")
    if isinstance(services, Mapping) and all(isinstance(v, Mapping) for v in services.values()):
        return (
            "This is a docker-compose file, not an ECS document: its services are not ECS task "
            "definitions (ecsk does not convert compose files)"
        )
    return None


_RUN_TASK_KEYS = (
    "group",
    "overrides",
    "platformVersion",
    "enableExecuteCommand",
    "startedBy",
    "tags",
    "launchType",
)


def run_task_of(task: Any) -> Any:
    """The RunTask input that starts the task again, from one `describe-tasks` item: its task
    definition, cluster, overrides, group and tags; its capacity provider (which wins over the
    launch type describe also reports); the subnet of its ENI as the awsvpc configuration.
    Read-only state (status, containers, timestamps, ARNs) is left behind."""
    if not isinstance(task, Mapping):
        return task
    out: dict[str, Any] = {k: task[k] for k in _RUN_TASK_KEYS if task.get(k) not in (None, "", [], {})}
    if task.get("taskDefinitionArn"):
        out["taskDefinition"] = task["taskDefinitionArn"]
    if task.get("clusterArn"):
        out["cluster"] = task["clusterArn"]
    if task.get("capacityProviderName"):
        out.pop("launchType", None)
        out["capacityProviderStrategy"] = [{"capacityProvider": task["capacityProviderName"]}]
    subnets = [
        d.get("value")
        for a in task.get("attachments") or ()
        if isinstance(a, Mapping) and a.get("type") == "ElasticNetworkInterface"
        for d in a.get("details") or ()
        if isinstance(d, Mapping) and d.get("name") == "subnetId"
    ]
    if subnets:
        out["networkConfiguration"] = {"awsvpcConfiguration": {"subnets": subnets}}
    return out


def _plain_kind(doc: Mapping[str, Any]) -> Kind | None:
    if "containerDefinitions" in doc:
        return "TaskDefinition"
    if "serviceName" in doc or "desiredCount" in doc:
        return "ECSService"
    if "scheduleExpression" in doc or "ScheduleExpression" in doc:
        return "ScheduledTask"
    if "taskDefinition" in doc:
        return "Task"
    return None


def _custom_resource(doc: Mapping[str, Any], source: str) -> LoadedDocument:
    kind = doc.get("kind")
    metadata = dict(doc.get("metadata") or {})
    if kind not in MODEL_FOR_KIND:
        return _unrecognised(source, f"kind {kind!r} is not one of {', '.join(MODEL_FOR_KIND)}")
    spec = doc.get("spec")
    if not isinstance(spec, Mapping):
        issue = ValidationIssue("spec", "spec must be an object", "load.spec")
        return LoadedDocument(kind, None, metadata, [issue], source)
    name_field = _NAME_FIELD.get(kind)
    if name_field and name_field not in spec and metadata.get("name"):
        spec = {**spec, name_field: metadata["name"]}
    return _make(kind, spec, metadata, source)


def load_document(doc: Any, source: str = "") -> list[LoadedDocument]:
    """Everything one parsed JSON/YAML document holds (describe-services may hold several)."""
    if isinstance(doc, list):
        return [item for i, sub in enumerate(doc) for item in load_document(sub, f"{source}[{i}]")]
    if not isinstance(doc, Mapping):
        return [_unrecognised(source, "document is not a JSON/YAML object")]
    api_version = doc.get("apiVersion")
    if doc.get("kind") == "List" and isinstance(doc.get("items"), list):
        return load_document(doc["items"], f"{source}.items")
    if isinstance(api_version, str) and api_version.split("/")[0] == API_GROUP:
        return [_custom_resource(doc, source)]
    if isinstance(doc.get("taskDefinition"), Mapping):
        inner = dict(doc["taskDefinition"])
        if doc.get("tags") and "tags" not in inner:
            inner["tags"] = doc["tags"]  # describe-task-definition --include TAGS puts them outside
        return [_make("TaskDefinition", inner, {}, source)]
    if isinstance(doc.get("services"), list) and "serviceName" not in doc:
        return [
            _make("ECSService", svc, {}, f"{source}.services[{i}]") for i, svc in enumerate(doc["services"])
        ]
    if isinstance(doc.get("tasks"), list) and "taskDefinition" not in doc:  # describe-tasks
        return [
            _make("Task", run_task_of(task), {}, f"{source}.tasks[{i}]")
            for i, task in enumerate(doc["tasks"])
        ]
    if isinstance(doc.get("service"), Mapping):  # create-service / update-service output
        return [_make("ECSService", doc["service"], {}, source)]
    foreign = foreign_format(doc) if "apiVersion" in doc or _plain_kind(doc) is None else None
    if foreign:
        return [_unrecognised(source, f"{foreign}. {_WANTED}.")]
    kind = _plain_kind(doc)
    if kind is None:
        return [
            _unrecognised(
                source, f"not a task definition, service, task or scheduled task document: {_WANTED}."
            )
        ]
    return [_make(kind, doc, {}, source)]


def load_documents(docs: Iterable[Any]) -> list[LoadedDocument]:
    """All documents in order; failures are returned (with issues), never raised."""
    out: list[LoadedDocument] = []
    for i, doc in enumerate(docs):
        out.extend(load_document(doc, f"document {i}"))
    return out


def load_text(text: str) -> list[LoadedDocument]:
    """JSON (one value) or YAML (possibly several `---` documents)."""
    stripped = text.lstrip()
    json_error: json.JSONDecodeError | None = None
    if stripped[:1] in "[{":
        try:
            return load_document(json.loads(text), "document 0")
        except json.JSONDecodeError as exc:
            json_error = exc
    try:
        docs = load_documents([doc for doc in yaml.safe_load_all(text) if doc is not None])
    except yaml.YAMLError as exc:
        return [_unparsable(json_error, exc)]
    if json_error is not None and any(d.kind == "Unknown" for d in docs):
        return [_unparsable(json_error, None)]  # broken JSON that YAML reads as something else
    return docs


def _unparsable(json_error: json.JSONDecodeError | None, yaml_error: yaml.YAMLError | None) -> LoadedDocument:
    """One clear message for text that is neither JSON nor YAML (often a template whose
    placeholders, such as `{{region}}` or `$$$CPU$$$`, are not filled in yet)."""
    if json_error is not None:
        why = f"not valid JSON: {json_error.msg} at line {json_error.lineno} column {json_error.colno}"
    else:
        mark = getattr(yaml_error, "problem_mark", None)
        where = f" at line {mark.line + 1} column {mark.column + 1}" if mark is not None else ""
        why = f"not valid YAML: {getattr(yaml_error, 'problem', None) or yaml_error}{where}"
    hint = " (an unfilled template placeholder? render the template first)"
    return _unrecognised("", f"{why}{hint}. {_WANTED}.")
