"""ecspresso projects as input: its config file, the service and task definition files it names,
and the template functions those files use.

ecspresso (github.com/kayac/ecspresso) keeps a service as `ecspresso.yml`
(`region`, `cluster`, `service`, `service_definition`, `task_definition`, `plugins`, ...) plus two
JSON/YAML files read as Go text/templates. The service definition is CreateService input without
`serviceName`, `cluster` and `taskDefinition`: ecspresso fills them from the config and from the
task definition it registers. ecsk does the same, offline:

- `{{ must_env `NAME` }}`, `{{ env `NAME` `default` }}` and `| json_escape` are evaluated with
  values from the environment, as ecspresso does (go-config's functions);
- plugin functions (`tfstate`, `ssm`, `secretsmanager_arn`, `cfn_output`, ...) need AWS or a
  Terraform state, so a file using one is refused naming the function and its plugin;
- `.jsonnet` files are out of scope: refused with the command that turns them into JSON.

File reading stays with the caller (`read`), so this module is pure.
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from ecsk.core.models.errors import ValidationIssue
from ecsk.core.models.load import LoadedDocument, load_document, load_text
from ecsk.core.models.taskdef import TaskDefinition

ENV_FUNCTIONS = frozenset({"env", "must_env", "json_escape"})
PLUGIN_FUNCTIONS = {
    "tfstate": "tfstate",
    "tfstatef": "tfstate",
    "ssm": "ssm",
    "secretsmanager_arn": "secretsmanager",
    "cfn_output": "cloudformation",
    "cfn_export": "cloudformation",
}
"""ecspresso's plugin template functions (without a plugin `func_prefix`)."""

_ACTION = re.compile(r"(\s*)\{\{(-?)(.*?)(-?)\}\}(\s*)", re.S)
_ARG = re.compile(r'`([^`]*)`|"((?:[^"\\]|\\.)*)"')
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_CONFIG_KEYS = frozenset({"service_definition", "task_definition"})


class TemplateError(ValueError):
    """A template action ecsk cannot evaluate offline; the message names it and why."""


def is_template(text: str) -> bool:
    """True when some `{{ ... }}` action calls an ecspresso function. Docker's own templates
    (`"tag": "{{.Name}}"` in log options) start with a dot and are left alone."""
    for m in _ACTION.finditer(text):
        word = _WORD.match(m.group(3).strip())
        if word and (word.group() in ENV_FUNCTIONS or word.group() in PLUGIN_FUNCTIONS):
            return True
    return False


def render_template(text: str, env: Mapping[str, str], source: str = "") -> str:
    """Evaluate ecspresso's env template functions (go text/template subset: `{{- -}}` trims)."""

    def action(m: re.Match[str]) -> str:
        lead, trim_left, body, trim_right, tail = m.groups()
        line = text.count("\n", 0, m.start() + len(lead)) + 1
        value = _evaluate(body.strip(), env, f"{source}:{line}" if source else f"line {line}")
        return ("" if trim_left else lead) + value + ("" if trim_right else tail)

    return _ACTION.sub(action, text)


def _evaluate(body: str, env: Mapping[str, str], where: str) -> str:
    stages = [s.strip() for s in body.split("|")]
    value = _call(stages[0], env, where)
    for stage in stages[1:]:
        if stage != "json_escape":
            raise TemplateError(f"{where}: {{{{ {body} }}}}: only `| json_escape` can follow a value")
        value = json.dumps(value)[1:-1]
    return value


def _call(expr: str, env: Mapping[str, str], where: str) -> str:
    word = _WORD.match(expr)
    name = word.group() if word else expr
    args = [
        m.group(1) if m.group(1) is not None else json.loads(f'"{m.group(2)}"') for m in _ARG.finditer(expr)
    ]
    if name in PLUGIN_FUNCTIONS:
        raise TemplateError(
            f"{where}: {{{{ {expr} }}}} needs ecspresso's {PLUGIN_FUNCTIONS[name]} plugin (AWS or a "
            "Terraform state), which ecsk cannot evaluate offline: run `ecspresso render "
            "taskdef` / `ecspresso render servicedef` and give ecsk its output"
        )
    if name == "must_env" and len(args) == 1:
        if args[0] not in env:
            raise TemplateError(
                f"{where}: must_env `{args[0]}`: environment variable {args[0]} is not defined"
            )
        return env[args[0]]
    if name == "env" and len(args) in (1, 2):
        return env.get(args[0], args[1] if len(args) == 2 else "")
    raise TemplateError(
        f"{where}: {{{{ {expr} }}}} is not an ecspresso template function ecsk evaluates "
        "(env `NAME` [`default`], must_env `NAME`, | json_escape)"
    )


@dataclass(frozen=True, slots=True)
class EcspressoConfig:
    """The keys of ecspresso.yml that say what to deploy (timeouts, CodeDeploy, ... are ignored)."""

    service: str | None
    cluster: str
    service_definition: str | None
    task_definition: str | None
    region: str | None = None


def is_ecspresso_config(doc: Any) -> bool:
    """An ecspresso config names its definition files; no ECS document has these keys."""
    return isinstance(doc, Mapping) and bool(_CONFIG_KEYS & doc.keys()) and "containerDefinitions" not in doc


def is_config_text(text: str) -> bool:
    """Whether a file is an ecspresso config (YAML or JSON; its templates sit in strings)."""
    try:
        docs = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError:
        return False
    return len(docs) == 1 and is_ecspresso_config(docs[0])


def parse_config(doc: Mapping[str, Any]) -> EcspressoConfig:
    for key in ("region", "cluster", "service", "service_definition", "task_definition"):
        if doc.get(key) is not None and not isinstance(doc[key], str):
            raise TemplateError(f"ecspresso config: {key} must be a string")
    return EcspressoConfig(
        service=doc.get("service"),
        cluster=doc.get("cluster") or "default",
        service_definition=doc.get("service_definition"),
        task_definition=doc.get("task_definition"),
        region=doc.get("region"),
    )


Reader = Callable[[str], str]
"""Reads a file named in the config, relative to the config's directory."""


def load_project(
    config_text: str, config_path: str, read: Reader, env: Mapping[str, str]
) -> list[LoadedDocument]:
    """The task definition and the service an ecspresso config names, as ecspresso deploys
    them: the service gets the config's `service` and `cluster` and the task definition's family.
    Failures come back as documents with issues, never as exceptions."""
    try:
        config = parse_config(yaml.safe_load(render_template(config_text, env, config_path)) or {})
        base = posixpath.dirname(config_path)
        docs: list[LoadedDocument] = []
        family = None
        if config.task_definition:
            docs += _definition(posixpath.join(base, config.task_definition), read, env, None)
            family = next((d.model.family for d in docs if isinstance(d.model, TaskDefinition)), None)
        if config.service_definition:
            fill = {"serviceName": config.service, "cluster": config.cluster, "taskDefinition": family}
            docs += _definition(posixpath.join(base, config.service_definition), read, env, fill)
        return docs
    except (TemplateError, yaml.YAMLError, OSError) as exc:
        return [_refused(config_path, str(exc))]


def _definition(
    path: str, read: Reader, env: Mapping[str, str], fill: Mapping[str, Any] | None
) -> list[LoadedDocument]:
    if is_jsonnet(path):
        return [jsonnet_refusal(path)]
    try:
        text = render_template(read(path), env, path)
        if fill is None:
            docs = load_text(text)
        else:
            docs = load_document(fill_service(yaml.safe_load(text), fill), path)
    except (TemplateError, yaml.YAMLError, OSError) as exc:
        return [_refused(path, str(exc))]
    for doc in docs:
        doc.source = f"{path}: {doc.source}" if doc.source and doc.source != path else path
    return docs


def load_definition(
    text: str, source: str, env: Mapping[str, str], fill: Mapping[str, Any] | None = None
) -> list[LoadedDocument]:
    """One file given on its own: an ecspresso config (its project is loaded through `read`
    by the caller, see `load_project`), a template using ecspresso's functions, or plain
    input. `fill` (serviceName / cluster / taskDefinition from flags) completes a bare service
    definition, as ecspresso's config would."""
    try:
        if is_template(text):
            text = render_template(text, env, source)
        if fill:
            docs = [d for d in yaml.safe_load_all(text) if d is not None]
            if len(docs) == 1 and _bare_service(docs[0]):
                return load_document(fill_service(docs[0], fill), source)
        return load_text(text)
    except (TemplateError, yaml.YAMLError) as exc:
        return [_refused(source, str(exc))]


def _bare_service(data: Any) -> bool:
    """A CreateService-like object: not a task definition, resource, wrapper or config."""
    return (
        isinstance(data, Mapping)
        and not {"containerDefinitions", "apiVersion", "services", "service", "tasks"} & data.keys()
        and not isinstance(data.get("taskDefinition"), Mapping)
        and not is_ecspresso_config(data)
    )


def fill_service(data: Any, fill: Mapping[str, Any]) -> Any:
    """What ecspresso adds to a service definition; values the file has win."""
    if not isinstance(data, Mapping):
        return data
    return {**{k: v for k, v in fill.items() if v is not None}, **data}


def is_jsonnet(path: str) -> bool:
    return path.endswith((".jsonnet", ".libsonnet"))


def jsonnet_refusal(path: str) -> LoadedDocument:
    """Jsonnet is a language of its own (imports, functions): out of scope, said plainly."""
    return _refused(
        path,
        "Jsonnet files are not supported: convert it to JSON first (`jsonnet "
        f"{posixpath.basename(path)}`, or `ecspresso render taskdef|servicedef`) and give ecsk the JSON",
    )


def _refused(source: str, why: str) -> LoadedDocument:
    return LoadedDocument("Unknown", None, {}, [ValidationIssue("", why, "load.ecspresso")], source)
