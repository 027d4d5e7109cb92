"""`ecsk render` / `ecsk import` end to end through typer."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from typer.testing import CliRunner

from ecsk.cli.main import app

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "corpus"
runner = CliRunner()


def run(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), input=stdin)
    return result.exit_code, result.stdout, result.stderr


def test_render_task_definition_and_service_from_separate_files() -> None:
    d = CORPUS / "01-web-alb-fargate"
    code, out, _ = run("render", "-f", str(d / "taskdef.json"), "-f", str(d / "service.json"), "-n", "shop")
    assert code == 0
    objs = list(yaml.safe_load_all(out))
    kinds = [o["kind"] for o in objs]
    assert "PodTemplate" in kinds and "Deployment" in kinds and "TargetGroupBinding" in kinds
    assert kinds.count("ServiceAccount") == 1  # shared by both renders, printed once
    assert {o["metadata"]["namespace"] for o in objs if "namespace" in o["metadata"]} == {"shop"}


def test_render_json_output_and_image_rewrite_from_stdin() -> None:
    text = (CORPUS / "12-fargate-sample" / "taskdef.json").read_text()
    code, out, _ = run(
        "render",
        "-f",
        "-",
        "-o",
        "json",
        "--image-rewrite",
        "public.ecr.aws/docker/library=localhost:5001",
        stdin=text,
    )
    assert code == 0
    doc = json.loads(out)
    assert doc["kind"] == "List"
    [tmpl] = doc["items"]
    assert tmpl["template"]["spec"]["containers"][0]["image"] == "localhost:5001/httpd:latest"


def test_render_crd_yaml() -> None:
    code, out, _ = run("render", "-f", str(CORPUS / "25-crd-yaml" / "hello.yaml"))
    assert code == 0
    assert any(o["kind"] == "Deployment" for o in yaml.safe_load_all(out))


def test_render_explain_prints_a_table() -> None:
    code, out, _ = run("render", "--explain", "-f", str(CORPUS / "07-batch-multi-container" / "taskdef.json"))
    assert code == 0
    assert "dependsOn" in out and "SUCCESS" in out and "ECS field" in out


def test_invalid_input_exits_non_zero_with_paths() -> None:
    bad = json.dumps({"family": "x", "containerDefinitions": [{"name": "a", "image": "i", "bogus": 1}]})
    code, out, err = run("render", "-f", "-", stdin=bad)
    assert code == 1
    assert out == ""
    assert "containerDefinitions[0].bogus" in err


def test_validation_issues_exit_non_zero() -> None:
    bad = json.dumps({"family": "x", "containerDefinitions": [{"name": "a", "image": "i"}]})
    code, _, err = run("render", "-f", "-", stdin=bad)
    assert code == 1 and "error" in err


def test_service_without_its_task_definition_is_an_error() -> None:
    code, _, err = run("render", "-f", str(CORPUS / "01-web-alb-fargate" / "service.json"))
    assert code == 1
    assert "TaskDefinition not found" in err


def test_service_without_its_task_definition_still_gets_its_own_rules_checked() -> None:
    """Realworld corpus (Iron-Men-2023/Flask-API): a service named `flask-api:5` whose task
    definition is not given was only told "not found"; ECS refuses the name as well."""
    svc = json.dumps({"serviceName": "flask-api:5", "taskDefinition": "flask-api:5 api", "desiredCount": -1})
    code, _, err = run("render", "-f", "-", stdin=svc)
    assert code == 1
    assert "TaskDefinition not found" in err
    assert "serviceName" in err and "Up to 255 letters" in err
    assert "desiredCount must be greater than or equal to 0." in err


def test_errors_are_not_hard_wrapped_on_narrow_terminals(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """CI checks out under long paths; a wrapped message breaks every grep on stderr."""
    from ecsk.cli import render_cmd

    monkeypatch.setattr(render_cmd.err, "_width", 40)
    code, _, err = run("render", "-f", str(CORPUS / "01-web-alb-fargate" / "service.json"))
    assert code == 1
    line = next(x for x in err.splitlines() if "TaskDefinition not found" in x)
    assert "is not among the given documents" in line


def test_import_produces_custom_resources() -> None:
    d = CORPUS / "01-web-alb-fargate"
    code, out, _ = run("import", "-f", str(d / "service.json"), "-f", str(d / "taskdef.json"))
    assert code == 0
    td, svc = list(yaml.safe_load_all(out))
    assert td["apiVersion"] == "ecs.ecsk.io/v1alpha1" and td["kind"] == "TaskDefinition"
    assert td["metadata"]["name"] == "web-frontend"
    assert (
        "revision" not in td["spec"] and "taskDefinitionArn" not in td["spec"] and "status" not in td["spec"]
    )
    assert td["spec"]["tags"] == [
        {"key": "team", "value": "storefront"},
        {"key": "cost-center", "value": "CC 1042"},
    ]
    assert svc["kind"] == "ECSService" and svc["metadata"]["name"] == "web-frontend"
    assert svc["spec"]["taskDefinition"] == "web-frontend"
    assert svc["spec"]["cluster"] == "prod"
    assert "events" not in svc["spec"] and "deployments" not in svc["spec"]
    assert svc["metadata"]["annotations"]["ecs.ecsk.io/imported-task-definition"].endswith("web-frontend:7")


def test_imported_resources_render_the_same_workload() -> None:
    d = CORPUS / "01-web-alb-fargate"
    _, crs, _ = run("import", "-f", str(d / "taskdef.json"), "-f", str(d / "service.json"))
    code, out, _ = run("render", "-f", "-", stdin=crs)
    assert code == 0
    deploy = next(o for o in yaml.safe_load_all(out) if o["kind"] == "Deployment")
    assert deploy["spec"]["replicas"] == 4


def test_explain_as_json_rows() -> None:
    code, out, _ = run(
        "render", "--explain", "-o", "json", "-f", str(CORPUS / "12-fargate-sample" / "taskdef.json")
    )
    assert code == 0
    rows = json.loads(out)
    by_path = {r["ecsPath"]: r for r in rows}
    assert by_path["containerDefinitions[0].image"]["kubernetes"] == ["spec.containers[fargate-app].image"]
    assert by_path["networkMode"]["kubernetes"] == []


def test_standalone_task_documents_are_skipped_with_a_note() -> None:
    task = json.dumps({"cluster": "default", "taskDefinition": "x", "count": 1})
    code, out, err = run("render", "-f", "-", stdin=task)
    assert code == 0 and out == ""
    assert "skipped" in err


FIDELITY = Path(__file__).resolve().parents[1] / "fixtures" / "fidelity"


def test_render_warns_on_stderr_and_exits_0() -> None:
    """ECS registers AWS's ADOT sample (`healthCheck.command: ["/healthcheck"]`, describe output
    with `"ipcMode": ""` and nulls): so does ecsk, with a warning that says what happens."""
    code, out, err = run("render", "-f", str(FIDELITY / "adot-sidecar-describe.json"))
    assert code == 0, err
    assert err.startswith("warning ") and "passes it to Docker as given" in err
    [tmpl] = [o for o in yaml.safe_load_all(out) if o["kind"] == "PodTemplate"]
    spec = tmpl["template"]["spec"]
    [collector] = [
        c for c in spec.get("initContainers", []) + spec["containers"] if c["name"] == "aws-otel-collector"
    ]
    assert collector["readinessProbe"]["exec"]["command"] == ["/healthcheck"]


def test_render_error_and_warning_both_printed_and_exit_1() -> None:
    doc = {
        "family": "x",
        "containerDefinitions": [
            {
                "name": "a",
                "image": "i",
                "memory": 64,
                "memoryReservation": 128,
                "healthCheck": {"command": ["/healthcheck"]},
            }
        ],
    }
    code, out, err = run("render", "-f", "-", stdin=json.dumps(doc))
    assert code == 1 and out == ""
    lines = err.splitlines()
    assert lines[0].startswith("error ") and "memoryReservation" in lines[0]
    assert any(line.startswith("warning ") and "healthCheck.command" in line for line in lines)


def test_import_names_a_foreign_file() -> None:
    template = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Resources": {"T": {"Type": "AWS::ECS::TaskDefinition"}},
    }
    code, out, err = run("import", "-f", "-", stdin=json.dumps(template))
    assert code == 1 and out == ""
    assert "This is a CloudFormation template (its ECS resources: T), not an ECS document" in err
    assert len(err.strip().splitlines()) == 1
