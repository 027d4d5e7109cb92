"""ecspresso projects and AWS describe output of any number of items as `ecsk render` input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from ecsk.cli.main import app
from ecsk.core.models import ECSService, RunTask, TaskDefinition, load_text
from ecsk.core.models.ecspresso import (
    TemplateError,
    is_template,
    load_definition,
    load_project,
    render_template,
)

ROOT = Path(__file__).resolve().parents[1] / "fixtures"
REALWORLD = ROOT / "realworld"
runner = CliRunner()


# --- template functions ----------------------------------------------------------------------


def test_env_must_env_and_json_escape_as_ecspresso_evaluates_them() -> None:
    text = '{"image": "nginx:{{ must_env `TAG` }}", "a": "{{ env `UNSET` `dflt` }}", '
    text += '"j": "{{ env "J" | json_escape }}"}'
    out = render_template(text, {"TAG": "1.27", "J": 'say "hi"'})
    assert json.loads(out) == {"image": "nginx:1.27", "a": "dflt", "j": 'say "hi"'}


def test_trim_markers_remove_the_whitespace_around_an_action() -> None:
    assert render_template("a  {{- env `X` -}}  b", {"X": "x"}) == "axb"


def test_unset_must_env_is_refused_naming_the_variable_and_line() -> None:
    with pytest.raises(
        TemplateError, match=r"f.json:2: must_env `TAG`: environment variable TAG is not defined"
    ):
        render_template('{\n"image": "{{ must_env `TAG` }}"}', {}, "f.json")


@pytest.mark.parametrize(
    ("action", "words"),
    [
        ("{{ tfstate `aws_subnet.a.id` }}", "tfstate plugin"),
        ("{{ ssm `/app/db` }}", "ssm plugin"),
        ("{{ secretsmanager_arn `db` }}", "secretsmanager plugin"),
        ("{{ env `A` | upper }}", "only `| json_escape`"),
        ("{{ must_env }}", "is not an ecspresso template function ecsk evaluates"),
    ],
)
def test_what_cannot_be_evaluated_offline_is_refused_by_name(action: str, words: str) -> None:
    with pytest.raises(TemplateError, match=words):
        render_template(f'{{"a": "{action}"}}', {"A": "a"})


def test_docker_templates_in_log_options_are_not_ecspresso_templates() -> None:
    """`{{.Name}}` is Docker's own log tag template: plain input keeps it byte for byte."""
    log = {"logDriver": "fluentd", "options": {"tag": "{{.Name}}"}}
    container = {"name": "a", "image": "i", "memory": 64, "logConfiguration": log}
    text = json.dumps({"family": "f", "containerDefinitions": [container]})
    assert not is_template(text)
    [doc] = load_definition(text, "td.json", {})
    assert isinstance(doc.model, TaskDefinition)
    got = doc.model.containerDefinitions[0].logConfiguration
    assert got is not None and got.options == {"tag": "{{.Name}}"}


# --- ecspresso.yml projects -----------------------------------------------------------------

SERVICE_DEF = {"desiredCount": 2, "launchType": "EC2", "schedulingStrategy": "REPLICA"}
TASK_DEF = {
    "family": "web",
    "containerDefinitions": [{"name": "app", "image": "nginx:{{ must_env `TAG` }}", "memory": 128}],
}


def _project(config: str, files: dict[str, str], env: dict[str, str]) -> list:  # type: ignore[type-arg]
    return load_project(config, "proj/ecspresso.yml", lambda p: files[p], env)


def test_project_fills_service_name_cluster_and_task_definition_family() -> None:
    config = "region: ap-northeast-1\ncluster: '{{ must_env `CLUSTER` }}'\nservice: web\n"
    config += "service_definition: sv.json\ntask_definition: td.json\ntimeout: 10m\n"
    files = {"proj/sv.json": json.dumps(SERVICE_DEF), "proj/td.json": json.dumps(TASK_DEF)}
    td, sv = _project(config, files, {"CLUSTER": "prod", "TAG": "1.27"})
    assert isinstance(td.model, TaskDefinition) and td.model.containerDefinitions[0].image == "nginx:1.27"
    assert isinstance(sv.model, ECSService)
    assert (sv.model.serviceName, sv.model.cluster, sv.model.taskDefinition) == ("web", "prod", "web")
    assert sv.source == "proj/sv.json"


def test_project_values_in_the_service_file_win_over_the_config() -> None:
    files = {
        "proj/sv.json": json.dumps({**SERVICE_DEF, "taskDefinition": "web:3"}),
        "proj/td.json": json.dumps(TASK_DEF),
    }
    config = "cluster: c\nservice: web\nservice_definition: sv.json\ntask_definition: td.json\n"
    _, sv = _project(config, files, {"TAG": "1"})
    assert sv.model.taskDefinition == "web:3"


def test_project_refusals_are_documents_with_one_clear_issue() -> None:
    config = "service: web\nservice_definition: sv.jsonnet\ntask_definition: td.json\n"
    td, sv = _project(config, {"proj/td.json": json.dumps(TASK_DEF)}, {})
    assert td.model is None and "must_env `TAG`" in td.issues[0].message
    assert sv.model is None and "Jsonnet files are not supported" in sv.issues[0].message


def test_cli_renders_an_ecspresso_project(monkeypatch: pytest.MonkeyPatch) -> None:
    """The real project in the corpus (MtkN1/cloud-bot-deploy-template), through `ecsk render`."""
    for key, value in {
        "AWS_REGION": "us-east-1",
        "ECS_CLUSTER": "bots",
        "BOT_NAME": "echo",
        "IMAGE": "ghcr.io/a/b:1",
        "SUBNETS": "subnet-1",
    }.items():
        monkeypatch.setenv(key, value)
    config = REALWORLD / "MtkN1/cloud-bot-deploy-template/ecspresso.yml"
    result = runner.invoke(app, ["render", "-f", str(config), "-n", "bots"])
    assert result.exit_code == 0, result.stderr
    kinds = [o["kind"] for o in yaml.safe_load_all(result.stdout)]
    assert "Deployment" in kinds and "PodTemplate" in kinds


def test_cli_bare_service_definition_with_flags() -> None:
    sv = REALWORLD / "kayac/ecspresso/tests/sv.json"
    td = REALWORLD / "kayac/ecspresso/tests/td-plain.json"
    args = ["import", "-f", str(td), "-f", str(sv), "--service-name", "web", "--task-definition"]
    family = json.loads(td.read_text())["family"]
    result = runner.invoke(app, [*args, family, "--cluster", "prod"])
    # td-plain.json names an App Mesh proxy container it lacks: ECS refuses it, and so do we
    assert result.exit_code == 1 and "Container 'envoy' is not defined" in result.stderr
    service = [
        d for d in load_definition(sv.read_text(), "sv.json", {}, {"serviceName": "web", "cluster": "prod"})
    ]
    assert isinstance(service[0].model, ECSService) and service[0].model.serviceName == "web"
    without = runner.invoke(app, ["render", "-f", str(sv)])
    assert without.exit_code == 1 and "serviceName" in without.stderr


def test_cli_refuses_jsonnet_with_one_message() -> None:
    result = runner.invoke(app, ["render", "-f", "ecs-task-def.jsonnet"])
    assert result.exit_code == 1
    assert "Jsonnet files are not supported" in result.stderr and "Traceback" not in result.output


# --- describe output of any number of items -------------------------------------------------


def _describe_tasks(n: int) -> dict:  # type: ignore[type-arg]
    tasks = []
    for i in range(n):
        tasks.append(
            {
                "taskArn": f"arn:aws:ecs:us-east-1:123456789012:task/prod/{i:032x}",
                "clusterArn": "arn:aws:ecs:us-east-1:123456789012:cluster/prod",
                "taskDefinitionArn": "arn:aws:ecs:us-east-1:123456789012:task-definition/web:7",
                "lastStatus": "RUNNING",
                "desiredStatus": "RUNNING",
                "launchType": "FARGATE",
                "capacityProviderName": "FARGATE_SPOT",
                "group": "service:web",
                "startedBy": "ecs-svc/1234567890123456789",
                "platformVersion": "1.4.0",
                "overrides": {"containerOverrides": [{"name": "app"}], "inferenceAcceleratorOverrides": []},
                "attachments": [
                    {
                        "type": "ElasticNetworkInterface",
                        "status": "ATTACHED",
                        "details": [
                            {"name": "subnetId", "value": f"subnet-0{i}"},
                            {"name": "privateIPv4Address", "value": f"10.0.0.{i + 10}"},
                        ],
                    }
                ],
                "containers": [{"name": "app", "lastStatus": "RUNNING"}],
                "tags": [],
            }
        )
    return {"tasks": tasks, "failures": []}


@pytest.mark.parametrize("n", [0, 1, 3])
def test_describe_tasks_of_any_size_become_run_task_inputs(n: int) -> None:
    docs = load_text(json.dumps(_describe_tasks(n)))
    assert len(docs) == n
    for i, doc in enumerate(docs):
        assert isinstance(doc.model, RunTask), doc.issues
        assert doc.model.taskDefinition.endswith("task-definition/web:7")
        assert doc.model.launchType is None  # the capacity provider wins, as it did in AWS
        assert [s.capacityProvider for s in doc.model.capacityProviderStrategy or []] == ["FARGATE_SPOT"]
        net = doc.model.networkConfiguration
        assert net is not None and net.awsvpcConfiguration is not None
        assert net.awsvpcConfiguration.subnets == [f"subnet-0{i}"]
        assert doc.source.endswith(f".tasks[{i}]")


@pytest.mark.parametrize("n", [1, 2, 5])
def test_describe_services_and_task_definitions_of_any_size(n: int) -> None:
    one = json.loads((ROOT / "services/val-fargate-service-describe.json").read_text())["services"][0]
    services = {"services": [{**one, "serviceName": f"web{i}"} for i in range(n)], "failures": []}
    docs = load_text(json.dumps(services))
    assert [d.model.serviceName for d in docs if isinstance(d.model, ECSService)] == [
        f"web{i}" for i in range(n)
    ]
    td = json.loads((ROOT / "taskdefs/val-fargate-webapp-describe.json").read_text())
    many = [td for _ in range(n)]  # several describe-task-definition outputs in one JSON array
    assert [d.kind for d in load_text(json.dumps(many))] == ["TaskDefinition"] * n


def test_multi_document_yaml_is_plain_input_even_with_flags() -> None:
    """Regression: a `---` separated file was parsed as one YAML document and refused."""
    hello = ROOT / "corpus/25-crd-yaml/hello.yaml"
    docs = load_definition(hello.read_text(), "hello.yaml", {}, {"serviceName": "x"})
    assert len(docs) == 2 and all(d.model is not None for d in docs)
