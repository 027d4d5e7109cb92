"""Lab 11: environment variables from SSM Parameter Store, Secrets Manager and environment files,
instead of values hard-coded in the task definition; and the execution role that reads them.

The participant stores the values through the AWS API (`aws ssm put-parameter`, `aws
secretsmanager create-secret`) against an endpoint serving the lab namespace, and the environment
file with `ecsk envfile put`. The check reads what ECS would: the task definition, whether each
reference can be fetched (the core's own rule, in the agent's words), and how the running pods
get their variables (`secretKeyRef`, `envFrom`)."""

from __future__ import annotations

import json
from typing import Any

from ecsk.core.models import TaskDefinition
from ecsk.core.translate import names
from ecsk.core.translate.secrets import secret_uses, unresolved
from ecsk.labs.engine import (
    Lab,
    Obj,
    Snapshot,
    StoredValues,
    container,
    ec2_service,
    require,
    spec,
    td_container,
    td_doc,
)

NAME = "checkout"
APP = "app"
DESIRED = 2
API_PORT = 4611
SECRET = "checkout/db-password"
PARAMETER = "/checkout/api-key"
ENV_FILE = "arn:aws:s3:::checkout-config/prod.env"
ENV_FILE_VARS = {"CURRENCY": "EUR", "FEATURE_FLAGS": "new-cart,one-click"}
EXECUTION = "arn:aws:iam::123456789012:role/ecsTaskExecutionRole"
SENSITIVE = {"DB_PASSWORD": ("Secrets Manager", SECRET), "API_KEY": ("SSM Parameter Store", PARAMETER)}
HARD_CODED = {"LOG_LEVEL": "info", **ENV_FILE_VARS, "DB_PASSWORD": "hunter2", "API_KEY": "ak-live-7f3e9c1d"}


def _environment(keep: tuple[str, ...]) -> list[dict[str, str]]:
    return [{"name": k, "value": v} for k, v in HARD_CODED.items() if k in keep]


def _td(secret_arn: str | None) -> Obj:
    if secret_arn is None:
        app = container(APP, environment=_environment(tuple(HARD_CODED)))
        return td_doc(NAME, {"family": NAME, "containerDefinitions": [app]})
    secrets = [{"name": "DB_PASSWORD", "valueFrom": secret_arn}, {"name": "API_KEY", "valueFrom": PARAMETER}]
    app = container(
        APP,
        environment=_environment(("LOG_LEVEL",)),
        secrets=secrets,
        environmentFiles=[{"value": ENV_FILE, "type": "s3"}],
    )
    body = {"family": NAME, "executionRoleArn": EXECUTION, "containerDefinitions": [app]}
    return td_doc(NAME, body)


def env_file_configmap() -> Obj:
    """The environment file as `ecsk envfile put` stores it (the ConfigMap the pods' envFrom reads)."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": names.s3_configmap_name(ENV_FILE),
            "labels": {names.LABEL_STORE: "s3", names.MANAGED_BY: "ecsk"},
            "annotations": {"ecs.ecsk.io/s3-object": ENV_FILE},
        },
        "data": dict(ENV_FILE_VARS),
    }


def stored_arn(snap: Snapshot, secret_name: str) -> str | None:
    """The ARN (with AWS's random suffix) the endpoint gave a Secrets Manager secret."""
    found = snap.named(snap.secrets, names.secretsmanager_store_name(secret_name))
    raw = ((found or {}).get("metadata") or {}).get("annotations", {}).get(names.ANN_AWS_METADATA)
    try:
        arn = json.loads(raw).get("arn") if raw else None
    except (ValueError, AttributeError):
        return None
    return str(arn) if arn else None


def _source(variable: str, value_from: str) -> str | None:
    """Where a `valueFrom` reads from, or None when it is the store the lab asks for."""
    service, wanted = SENSITIVE[variable]
    if service == "Secrets Manager":
        ok = ":secretsmanager:" in value_from and names.secretsmanager_name(value_from) == wanted
        how = f"the ARN `aws secretsmanager describe-secret --secret-id {wanted}` prints"
    else:
        ok = ":secretsmanager:" not in value_from and names.ssm_parameter_name(value_from) == wanted
        how = f"the parameter name {wanted} (or its ARN)"
    return None if ok else f"{variable} must come from {service} {wanted}: set its valueFrom to {how}"


def _definition_problems(td: dict[str, Any]) -> list[str]:
    app = td_container(td, APP)
    plain = {e.get("name") for e in app.get("environment") or []}
    out = [
        f"{v} is a plain `environment` value in TaskDefinition {NAME}: whoever can describe the task "
        f"definition reads it; move it to {SENSITIVE[v][0]} ({SENSITIVE[v][1]}) and `secrets`"
        for v in SENSITIVE
        if v in plain
    ]
    out += [
        f"{v} is still hard-coded in `environment`, which overrides environment files: remove it, the "
        f"file {ENV_FILE} provides it"
        for v in ENV_FILE_VARS
        if v in plain
    ]
    refs = {str(s.get("name")): str(s.get("valueFrom") or "") for s in app.get("secrets") or []}
    for variable in SENSITIVE:
        if variable not in refs:
            out.append(f"container {APP} has no `secrets` entry for {variable}")
        elif problem := _source(variable, refs[variable]):
            out.append(problem)
    if not any(f.get("value") == ENV_FILE for f in app.get("environmentFiles") or []):
        out.append(f"container {APP} has no environmentFiles entry {{value: {ENV_FILE}, type: s3}}")
    if not td.get("executionRoleArn"):
        out.append(
            f"TaskDefinition {NAME} has no executionRoleArn: the agent reads secrets and downloads "
            f"environment files with it ({EXECUTION})"
        )
    return out


def _fetch_problems(snap: Snapshot, td: dict[str, Any]) -> list[str]:
    """What the agent would fail to fetch when a task starts, in its own words."""
    try:
        uses = secret_uses(TaskDefinition.model_validate(td))
    except ValueError:
        return []  # the operator refuses it too, and `require` already said why
    out = []
    for use in uses:
        if use.container == APP and use.name in SENSITIVE:
            body = snap.named(snap.secrets, use.secret)
            if why := unresolved(use, body):
                out.append(f"a new task could not fetch {use.name}: {why}")
    uses_file = any(f.get("value") == ENV_FILE for f in td_container(td, APP).get("environmentFiles") or [])
    cm = snap.named(snap.config_maps, names.s3_configmap_name(ENV_FILE))
    if uses_file and cm is None:
        out.append(f"the environment file {ENV_FILE} does not exist: `ecsk envfile put` it")
    elif cm is not None and (missing := sorted(set(ENV_FILE_VARS) - set(cm.get("data") or {}))):
        out.append(f"the environment file {ENV_FILE} does not define {', '.join(missing)}")
    return out


def _wired(pod: Obj) -> bool:
    """Whether the pod's app container reads both secrets by reference and the file by envFrom."""
    containers: list[dict[str, Any]] = (pod.get("spec") or {}).get("containers") or []
    c = next((c for c in containers if c.get("name") == APP), {})
    refs = {
        e.get("name"): ((e.get("valueFrom") or {}).get("secretKeyRef") or {}).get("name")
        for e in c.get("env") or []
    }
    files = {(f.get("configMapRef") or {}).get("name") for f in c.get("envFrom") or []}
    return (
        refs.get("DB_PASSWORD") == names.secretsmanager_store_name(SECRET)
        and refs.get("API_KEY") == names.ssm_secret_name(PARAMETER)
        and names.s3_configmap_name(ENV_FILE) in files
    )


def _task_problems(snap: Snapshot) -> list[str]:
    running = snap.running_tasks(NAME)
    if len(running) != DESIRED:
        return [f"{len(running)} of {DESIRED} {NAME} tasks are running"]
    unwired = [p["metadata"]["name"] for p in running if not _wired(p)]
    if unwired:
        return [
            f"{len(unwired)} of {DESIRED} {NAME} tasks do not read DB_PASSWORD and API_KEY from a "
            f"secretKeyRef and the environment file from envFrom yet: {', '.join(unwired)}"
        ]
    return []


class EnvironmentLab(Lab):
    def starting_objects(self) -> list[Obj]:
        return [_td(None), ec2_service(NAME, DESIRED)]

    def solution_values(self) -> StoredValues:
        return StoredValues(
            parameters=((PARAMETER, "SecureString", HARD_CODED["API_KEY"]),),
            secrets=((SECRET, HARD_CODED["DB_PASSWORD"]),),
        )

    def solution_objects(self, snap: Snapshot) -> list[Obj]:
        arn = stored_arn(snap, SECRET) or f"arn:aws:secretsmanager:us-east-1:000000000000:secret:{SECRET}"
        return [env_file_configmap(), _td(arn)]

    def problems(self, snap: Snapshot) -> list[str]:
        if blocked := require(snap, self.number, ("TaskDefinition", NAME), ("ECSService", NAME)):
            return blocked
        td = spec(snap.get("TaskDefinition", NAME))
        return _definition_problems(td) + _fetch_problems(snap, td) + _task_problems(snap)


LAB = EnvironmentLab(
    number=11,
    slug="environment",
    runs_on=(
        f"embedded cluster + an AWS endpoint on the lab namespace (ecsk api serve --port {API_PORT}); "
        "pods run no process, so their env wiring is what is checked"
    ),
    title="Environment variables from SSM Parameter Store, Secrets Manager and environment files",
    topic="ECS environment variables: hard-coded, SSM Parameter Store, Secrets Manager, environment files",
    goal=(
        f"`{NAME}` has its database password and API key hard-coded in the task definition. Take "
        f"DB_PASSWORD from the Secrets Manager secret {SECRET}, API_KEY from the SecureString "
        f"parameter {PARAMETER}, CURRENCY and FEATURE_FLAGS from the environment file "
        f"s3://checkout-config/prod.env, with the execution role that reads them."
    ),
    steps=(
        f"An AWS endpoint for the lab namespace: ecsk api serve -n {{ns}} --port {API_PORT} &  "
        f"then export AWS_ENDPOINT_URL=$(ecsk api url --port {API_PORT}) AWS_ACCESS_KEY_ID=lab "
        "AWS_SECRET_ACCESS_KEY=lab AWS_DEFAULT_REGION=us-east-1",
        f"aws secretsmanager create-secret --name {SECRET} --secret-string hunter2   (note the ARN)",
        f"aws ssm put-parameter --name {PARAMETER} --type SecureString --value ak-live-7f3e9c1d",
        "printf 'CURRENCY=EUR\\nFEATURE_FLAGS=new-cart,one-click\\n' > prod.env; "
        "ecsk envfile put s3://checkout-config/prod.env prod.env -n {ns}",
        "kubectl -n {ns} edit taskdefinition checkout: keep LOG_LEVEL in environment; "
        "secrets: [{{name: DB_PASSWORD, valueFrom: <secret ARN>}}, {{name: API_KEY, valueFrom: "
        f"{PARAMETER}}}}}]; environmentFiles: [{{{{value: {ENV_FILE}, type: s3}}}}]; "
        f"executionRoleArn: {EXECUTION}",
        "See the wiring: kubectl -n {ns} get pods -o jsonpath='{{.items[0].spec.containers[0].env}}'",
    ),
    hints=(
        "Passwords belong in Secrets Manager, API keys and shared config in SSM Parameter Store, "
        "bulk settings in an environment file on S3; `environment` is for what is not sensitive.",
        "`secrets` entries are {{name, valueFrom}}: a Secrets Manager ARN, or an SSM parameter name/ARN.",
        "ECS refuses `secrets` without an executionRoleArn: the agent fetches them with that role.",
    ),
)
