"""App Runner in the core: every rule with App Runner's wording (and the CRD's CEL copy of it),
the translation to Kubernetes objects, identifiers, the operations history, ECR tag following,
the concurrency metric, and the source-deploy CLI's refusals."""

from __future__ import annotations

import base64
import copy
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from ecsk.cli import apprunner_cmd
from ecsk.controller.autoscaling import metrics_adapter
from ecsk.core.apprunner import identity, rules, source
from ecsk.core.apprunner.models import AppRunnerService
from ecsk.core.apprunner.operations import Observed, next_status, operation_id, rolled_out
from ecsk.core.apprunner.translate import Rollout, render, replicas
from ecsk.core.autoscaling import external
from ecsk.core.ecr.images import EcrImage
from ecsk.core.schema.crds import KINDS, crd_for

IMAGE = "public.ecr.aws/aws-containers/hello-app-runner:latest"


def spec(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "ServiceName": "hello-app",
        "SourceConfiguration": {
            "ImageRepository": {"ImageIdentifier": IMAGE, "ImageRepositoryType": "ECR_PUBLIC"},
            "AutoDeploymentsEnabled": False,
        },
    }
    base.update(overrides)
    return base


def problems(doc: dict[str, Any]) -> list[str]:
    _, issues = rules.check(doc)
    return [i.message for i in issues if i.is_error]


# --- Cpu and Memory ---------------------------------------------------------------------------

SUPPORTED = [
    ("0.25 vCPU", "0.5 GB"), ("0.25 vCPU", "1 GB"), ("0.5 vCPU", "1 GB"), ("1 vCPU", "2 GB"),
    ("1 vCPU", "3 GB"), ("1 vCPU", "4 GB"), ("2 vCPU", "4 GB"), ("2 vCPU", "6 GB"),
    ("4 vCPU", "8 GB"), ("4 vCPU", "10 GB"), ("4 vCPU", "12 GB"),
]  # fmt: skip


@pytest.mark.parametrize(("cpu", "memory"), SUPPORTED)
def test_every_supported_configuration_is_accepted_in_both_units(cpu: str, memory: str) -> None:
    assert problems(spec(InstanceConfiguration={"Cpu": cpu, "Memory": memory})) == []
    units = str(rules.CPU_UNITS[cpu])
    mb = str(rules.MEMORY_MB[memory])
    assert problems(spec(InstanceConfiguration={"Cpu": units, "Memory": mb})) == []


def test_every_other_combination_is_refused_naming_both_values() -> None:
    accepted = {(rules.CPU_UNITS[c], rules.MEMORY_MB[m]) for c, m in SUPPORTED}
    refused = 0
    for cpu in ("0.25 vCPU", "0.5 vCPU", "1 vCPU", "2 vCPU", "4 vCPU"):
        for memory in ("0.5 GB", "1 GB", "2 GB", "3 GB", "4 GB", "6 GB", "8 GB", "10 GB", "12 GB"):
            if (rules.CPU_UNITS[cpu], rules.MEMORY_MB[memory]) in accepted:
                continue
            refused += 1
            assert problems(spec(InstanceConfiguration={"Cpu": cpu, "Memory": memory})) == [
                rules.COMBINATION_MESSAGE.format(cpu=cpu, memory=memory)
            ]
    assert refused == 45 - len(SUPPORTED)


def test_defaults_count_in_the_combination() -> None:
    # Memory defaults to 2 GB, which 0.25 vCPU cannot have
    assert problems(spec(InstanceConfiguration={"Cpu": "0.25 vCPU"})) == [
        rules.COMBINATION_MESSAGE.format(cpu="0.25 vCPU", memory="2 GB")
    ]
    assert problems(spec(InstanceConfiguration={"Memory": "4 GB"})) == []  # 1 vCPU default


@pytest.mark.parametrize(
    ("field", "value", "pattern"),
    [("Cpu", "3 vCPU", rules.CPU_PATTERN), ("Cpu", "0x25 vCPU", rules.CPU_PATTERN),
     ("Memory", "5 GB", rules.MEMORY_PATTERN), ("Memory", "2GB", rules.MEMORY_PATTERN)],
)  # fmt: skip
def test_cpu_and_memory_outside_the_pattern(field: str, value: str, pattern: str) -> None:
    assert problems(spec(InstanceConfiguration={field: value})) == [
        f"Value '{value}' at 'instanceConfiguration.{field.lower()}' failed to satisfy constraint: "
        f"Member must satisfy regular expression pattern: {pattern}"
    ]


# --- every other field rule -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "wire"),
    [("Interval", "interval"), ("Timeout", "timeout"), ("HealthyThreshold", "healthyThreshold"),
     ("UnhealthyThreshold", "unhealthyThreshold")],
)  # fmt: skip
def test_health_check_ranges(field: str, wire: str) -> None:
    where = f"at 'healthCheckConfiguration.{wire}' failed to satisfy constraint"
    assert problems(spec(HealthCheckConfiguration={field: 0})) == [
        f"Value '0' {where}: Member must have value greater than or equal to 1"
    ]
    assert problems(spec(HealthCheckConfiguration={field: 21})) == [
        f"Value '21' {where}: Member must have value less than or equal to 20"
    ]
    assert problems(spec(HealthCheckConfiguration={field: 20})) == []


def test_health_check_protocol_and_path() -> None:
    assert problems(spec(HealthCheckConfiguration={"Path": ""})) == [
        "Value '' at 'healthCheckConfiguration.path' failed to satisfy constraint: "
        "Member must have length greater than or equal to 1"
    ]
    assert problems(spec(HealthCheckConfiguration={"Protocol": "GRPC"}))  # not TCP|HTTP


LE = "Member must have value less than or equal to {}"
GE = "Member must have value greater than or equal to {}"


@pytest.mark.parametrize(
    ("cfg", "expected"),
    [({"MaxConcurrency": 201}, "at 'maxConcurrency' failed to satisfy constraint: " + LE.format(200)),
     ({"MaxConcurrency": 0}, "at 'maxConcurrency' failed to satisfy constraint: " + GE.format(1)),
     ({"MinSize": 26, "MaxSize": 30}, "at 'minSize' failed to satisfy constraint: " + LE.format(25)),
     ({"MinSize": 0}, "at 'minSize' failed to satisfy constraint: " + GE.format(1)),
     ({"MaxSize": 0}, "at 'maxSize' failed to satisfy constraint: " + GE.format(1)),
     ({"MinSize": 5, "MaxSize": 3}, "MinSize must be less than or equal to MaxSize (MinSize 5, MaxSize 3)."),
     ({"MinSize": 3}, None), ({"MaxSize": 100}, None)],
)  # fmt: skip
def test_auto_scaling_limits(cfg: dict[str, int], expected: str | None) -> None:
    found = problems(spec(AutoScalingConfiguration=cfg))
    if expected is None:
        assert found == []
    else:
        assert len(found) == 1 and expected in found[0]


@pytest.mark.parametrize(
    ("name", "clause"),
    [("abc", "Member must have length greater than or equal to 4"),
     ("a" * 41, "Member must have length less than or equal to 40"),
     ("-bad-name", "Member must satisfy regular expression pattern: [A-Za-z0-9][A-Za-z0-9-_]{3,39}"),
     ("bad.name", "Member must satisfy regular expression pattern")],
)  # fmt: skip
def test_service_name(name: str, clause: str) -> None:
    found = problems(spec(ServiceName=name))
    assert found and all(f"Value '{name}' at 'serviceName'" in f for f in found)
    assert any(clause in f for f in found)
    assert problems(spec(ServiceName="My_service-1")) == []


def test_source_rules() -> None:
    doc = spec()
    doc["SourceConfiguration"] = {"CodeRepository": {"RepositoryUrl": "https://github.com/x/y"}}
    found = problems(doc)
    assert any("Source code repositories are not supported by ecsk" in f for f in found)
    assert rules.SOURCE_ONE_OF in found
    image = {"ImageIdentifier": IMAGE, "ImageRepositoryType": "ECR_PUBLIC",
             "ImageConfiguration": {"Port": "http", "StartCommand": "a\nb",
                                    "RuntimeEnvironmentVariables": {"AWSAPPRUNNER_X": "1"}}}  # fmt: skip
    found = problems(spec(SourceConfiguration={"ImageRepository": image}))
    assert "Port 'http' is not valid: it must be a port number from 1 to 65535." in found
    assert any("startCommand' failed to satisfy constraint" in f for f in found)
    assert any("keys with a prefix of AWSAPPRUNNER are reserved" in f for f in found)
    bad_type = copy.deepcopy(image)
    bad_type["ImageRepositoryType"] = "DOCKER_HUB"
    assert problems(spec(SourceConfiguration={"ImageRepository": bad_type}))


def test_unknown_fields_are_refused_and_an_autoscaling_arn_is_accepted() -> None:
    assert any("Unknown parameter" in f for f in problems(spec(Typo=1)))
    arn = "arn:aws:apprunner:us-east-1:000000000000:autoscalingconfiguration/high-av/1/abc"
    without_inline = spec(AutoScalingConfigurationArn=arn)
    without_inline.pop("AutoScalingConfiguration", None)
    assert problems(without_inline) == []


def test_message_counts_errors_as_app_runner_does() -> None:
    _, issues = rules.check(spec(HealthCheckConfiguration={"Interval": 0, "Timeout": 0}))
    assert rules.message(issues).startswith("2 validation errors detected: Value '0' at")
    _, issues = rules.check(spec(HealthCheckConfiguration={"Interval": 0}))
    assert rules.message(issues).startswith("1 validation error detected: ")


# --- the CRD carries the same rules -----------------------------------------------------------


def _crd_spec() -> dict[str, Any]:
    kind = next(k for k in KINDS if k.kind == "AppRunnerService")
    crd = crd_for(kind)
    schema: dict[str, Any] = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    return schema


def test_crd_has_a_cel_rule_for_every_field_rule_and_the_combination() -> None:
    schema = _crd_spec()
    for rule in rules.FIELD_RULES:
        node = schema
        for part in rule.path[:-1]:
            node = node["properties"][part]
        texts = [json_text(r) for r in node.get("x-kubernetes-validations", [])]
        assert any(rule.wire in t for t in texts), rule
    inst = schema["properties"]["InstanceConfiguration"]["x-kubernetes-validations"]
    combo = [r for r in inst if "is not a supported instance configuration" in json_text(r)]
    assert len(combo) == 1 and "[256, 512]" in combo[0]["rule"] and "[4096, 12288]" in combo[0]["rule"]
    assert "ServiceName" not in schema.get("required", [])  # filled from metadata.name


def json_text(rule: dict[str, Any]) -> str:
    return str(rule.get("message") or rule.get("messageExpression") or "")


def test_cel_regexes_are_the_python_ones() -> None:
    for rule in rules.FIELD_RULES:
        if rule.pattern is None:
            continue
        *_, field = rule.path
        cel = rules._cel_condition(field, rule)
        assert rule.regex in cel.replace("\\\\", "\\")


# --- translation ------------------------------------------------------------------------------


def model(**overrides: Any) -> AppRunnerService:
    found, issues = rules.check(spec(**overrides))
    assert found is not None and not [i for i in issues if i.is_error]
    return found


def objects(m: AppRunnerService, rollout: Rollout) -> dict[str, dict[str, Any]]:
    return {o["kind"]: o for o in render(m, "ns", rollout)}


def test_translation_of_a_full_spec() -> None:
    image = {
        "ImageIdentifier": IMAGE, "ImageRepositoryType": "ECR_PUBLIC",
        "ImageConfiguration": {
            "Port": "3000", "StartCommand": "node server.js --port 3000",
            "RuntimeEnvironmentVariables": {"B": "2", "A": "1"},
            "RuntimeEnvironmentSecrets": {
                "DB_PASS": "arn:aws:secretsmanager:us-east-1:000000000000:secret:db-AbCdEf",
                "TOKEN": "arn:aws:ssm:us-east-1:000000000000:parameter/app/token",
            },
        },
    }  # fmt: skip
    m = model(
        SourceConfiguration={"ImageRepository": image},
        InstanceConfiguration={"Cpu": "2 vCPU", "Memory": "4 GB"},
        HealthCheckConfiguration={"Protocol": "HTTP", "Path": "/health", "Interval": 7, "Timeout": 3,
                                  "HealthyThreshold": 2, "UnhealthyThreshold": 4},
        AutoScalingConfiguration={"MaxConcurrency": 50, "MinSize": 2, "MaxSize": 6},
    )  # fmt: skip
    objs = objects(m, Rollout(replicas=2, host="abc.us-east-1.awsapprunner.com", scaling=m.scaling))
    pod = objs["Deployment"]["spec"]["template"]["spec"]
    c = pod["containers"][0]
    assert c["ports"] == [{"name": "http", "containerPort": 3000, "protocol": "TCP"}]
    assert c["args"] == ["node", "server.js", "--port", "3000"]
    assert c["resources"]["requests"] == {"cpu": "2000m", "memory": "4096Mi"} == c["resources"]["limits"]
    assert [e["name"] for e in c["env"]] == ["A", "B", "DB_PASS", "TOKEN"]
    refs = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in c["env"] if "valueFrom" in e}
    assert refs["DB_PASS"]["key"] == "value" and refs["TOKEN"]["key"] == "value"
    assert refs["DB_PASS"]["name"] != refs["TOKEN"]["name"]
    assert c["readinessProbe"] == {
        "httpGet": {"path": "/health", "port": 3000},
        "periodSeconds": 7,
        "timeoutSeconds": 3,
        "successThreshold": 2,
        "failureThreshold": 4,
    }
    assert c["livenessProbe"]["successThreshold"] == 1
    assert objs["Deployment"]["spec"]["replicas"] == 2
    assert objs["Service"]["spec"]["type"] == "ClusterIP"
    assert objs["Ingress"]["spec"]["rules"][0]["host"] == "abc.us-east-1.awsapprunner.com"
    hpa = objs["HorizontalPodAutoscaler"]["spec"]
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (2, 6)
    assert hpa["metrics"][0]["external"]["target"] == {"type": "AverageValue", "averageValue": "50"}
    assert hpa["metrics"][0]["external"]["metric"]["name"] == external.APPRUNNER_METRIC


def test_defaults_pause_digest_and_node_ports() -> None:
    m = model()
    objs = objects(
        m, Rollout(replicas=1, paused=True, digest="sha256:" + "a" * 64, token="t1", node_port=True)
    )
    c = objs["Deployment"]["spec"]["template"]["spec"]["containers"][0]
    assert c["ports"][0]["containerPort"] == 8080  # App Runner's default Port
    assert c["readinessProbe"]["tcpSocket"] == {"port": 8080}
    assert (c["readinessProbe"]["periodSeconds"], c["readinessProbe"]["timeoutSeconds"]) == (5, 2)
    assert (c["readinessProbe"]["successThreshold"], c["readinessProbe"]["failureThreshold"]) == (1, 5)
    assert c["resources"]["limits"] == {"cpu": "1000m", "memory": "2048Mi"}  # 1 vCPU / 2 GB
    assert objs["Deployment"]["spec"]["replicas"] == 0
    assert "HorizontalPodAutoscaler" not in objs  # an HPA cannot hold 0 instances
    ann = objs["Deployment"]["spec"]["template"]["metadata"]["annotations"]
    assert ann == {"ecs.ecsk.io/image-digest": "sha256:" + "a" * 64, "ecs.ecsk.io/deployment-token": "t1"}
    assert objs["Service"]["spec"]["type"] == "NodePort"


def test_replicas_keep_the_hpa_count_inside_the_range() -> None:
    m = model(AutoScalingConfiguration={"MinSize": 2, "MaxSize": 5})
    assert [replicas(m.scaling, n) for n in (None, 0, 1, 3, 9)] == [2, 2, 2, 3, 5]
    assert model().scaling == (100, 1, 25)  # App Runner's defaults


# --- identity ---------------------------------------------------------------------------------


def test_identifiers_are_app_runner_shaped_and_stable_per_object() -> None:
    sid = identity.service_id("uid-1")
    assert re.fullmatch(r"[0-9a-f]{32}", sid) and sid == identity.service_id("uid-1")
    assert sid != identity.service_id("uid-2")
    arn = identity.service_arn("eu-west-1", "123456789012", "web", "uid-1")
    assert arn == f"arn:aws:apprunner:eu-west-1:123456789012:service/web/{sid}"
    assert identity.parse_service_arn(arn) == ("web", sid)
    assert identity.parse_service_arn("arn:aws:ecs:x") is None
    assert re.fullmatch(
        r"[a-z0-9]{10}\.eu-west-1\.awsapprunner\.com", identity.url_host("uid-1", "eu-west-1")
    )


# --- operations -------------------------------------------------------------------------------

ARN = "arn:aws:apprunner:us-east-1:000000000000:service/web/" + "0" * 32


def observe(prev: dict[str, Any], **kw: Any) -> dict[str, Any]:
    base = {"generation": 1, "valid": True, "paused": False, "digest": None, "token": None,
            "rolled_out": False, "now": "2026-01-01T00:00:00Z", "arn": ARN}  # fmt: skip
    base.update(kw)
    return {**prev, **next_status(prev, Observed(**base))}


def test_operations_lifecycle() -> None:
    st = observe({})
    assert st["Status"] == "OPERATION_IN_PROGRESS"
    assert [(o["Type"], o["Status"]) for o in st["Operations"]] == [("CREATE_SERVICE", "IN_PROGRESS")]
    assert st["Operations"][0]["Id"] == operation_id(ARN, 0)
    st = observe(st, rolled_out=True, now="2026-01-01T00:01:00Z")
    assert st["Status"] == "RUNNING" and st["Operations"][0]["EndedAt"] == "2026-01-01T00:01:00Z"
    st = observe(st, rolled_out=True)  # a resync: nothing new
    assert len(st["Operations"]) == 1
    st = observe(st, paused=True)
    assert (st["Status"], st["Operations"][0]["Type"]) == ("OPERATION_IN_PROGRESS", "PAUSE_SERVICE")
    st = observe(st, paused=True, rolled_out=True)
    assert st["Status"] == "PAUSED"
    st = observe(st, rolled_out=False)
    assert st["Operations"][0]["Type"] == "RESUME_SERVICE"
    st = observe(st, generation=2)  # an update arriving mid-resume supersedes it
    assert [(o["Type"], o["Status"]) for o in st["Operations"][:2]] == [
        ("UPDATE_SERVICE", "IN_PROGRESS"), ("RESUME_SERVICE", "SUCCEEDED"),
    ]  # fmt: skip
    st = observe(st, generation=2, rolled_out=True)
    st = observe(st, generation=2, digest="sha256:b")
    assert st["Operations"][0]["Type"] == "START_DEPLOYMENT"
    st = observe(st, generation=2, digest="sha256:b", token="again")
    assert st["Operations"][0]["Type"] == "START_DEPLOYMENT" and st["operationCount"] == 6
    assert len({o["Id"] for o in st["Operations"]}) == len(st["Operations"])


def test_invalid_create_fails_and_invalid_update_keeps_running() -> None:
    st = observe({}, valid=False)
    assert st["Status"] == "CREATE_FAILED"
    assert [(o["Type"], o["Status"]) for o in st["Operations"]] == [("CREATE_SERVICE", "FAILED")]
    st = observe(st, generation=2)  # fixed: created now
    assert st["Operations"][0]["Type"] == "CREATE_SERVICE" and st["Status"] == "OPERATION_IN_PROGRESS"
    st = observe(st, generation=2, rolled_out=True)
    st = observe(st, generation=3, valid=False)
    assert st["Status"] == "RUNNING" and st["Operations"][0][("Status")] == "FAILED"
    assert st["Operations"][0]["Type"] == "UPDATE_SERVICE"


def test_rolled_out_needs_every_instance_updated_and_available() -> None:
    dep = {
        "metadata": {"generation": 3},
        "spec": {"replicas": 2},
        "status": {"observedGeneration": 3, "replicas": 2, "updatedReplicas": 2, "availableReplicas": 2},
    }
    assert rolled_out(dep, paused=False)
    assert not rolled_out({**dep, "status": {**dep["status"], "observedGeneration": 2}}, paused=False)
    assert not rolled_out({**dep, "status": {**dep["status"], "replicas": 3}}, paused=False)
    assert not rolled_out(None, paused=False)
    paused = {"metadata": {"generation": 4}, "spec": {"replicas": 0}, "status": {"observedGeneration": 4}}
    assert rolled_out(paused, paused=True)


# --- following an ECR tag ---------------------------------------------------------------------


def test_tag_digest_and_what_is_followed() -> None:
    ecr = "000000000000.dkr.ecr.us-east-1.amazonaws.com/web:stable"
    m = model(SourceConfiguration={"ImageRepository": {"ImageIdentifier": ecr, "ImageRepositoryType": "ECR"},
                                   "AutoDeploymentsEnabled": True})  # fmt: skip
    image = source.followed_image(m, "000000000000", "us-east-1")
    assert image == EcrImage("000000000000.dkr.ecr.us-east-1.amazonaws.com", "web", "stable", None)
    assert source.followed_image(m, "111111111111", "us-east-1") is None  # another account's registry
    repos = [
        {
            "metadata": {"name": "web"},
            "status": {
                "images": [
                    {"imageDigest": "sha256:old", "imageTags": ["v1"]},
                    {"imageDigest": "sha256:new", "imageTags": ["stable", "v2"]},
                ]
            },
        }
    ]
    assert source.tag_digest(image, repos) == "sha256:new"
    assert source.tag_digest(image, []) is None
    off = model(
        SourceConfiguration={"ImageRepository": {"ImageIdentifier": ecr, "ImageRepositoryType": "ECR"}}
    )
    assert source.followed_image(off, "000000000000", "us-east-1") is None


# --- the concurrency metric -------------------------------------------------------------------


def test_app_runner_services_publish_concurrent_requests() -> None:
    body = {
        "kind": "AppRunnerService",
        "metadata": {"name": "web", "annotations": {external.CONCURRENCY_ANNOTATION: "35"}},
        "spec": {"ServiceName": "Web_1"},
    }
    [item] = external.service_items(body)
    assert (item.metric, item.value) == (external.APPRUNNER_METRIC, 35.0)
    assert item.labels == {external.LABEL_APPRUNNER_SERVICE: "Web_1"}
    idle = {"kind": "AppRunnerService", "metadata": {"name": "idle"}, "spec": {}}
    assert external.service_items(idle)[0].value == 0.0
    path = "/apis/external.metrics.k8s.io/v1beta1/namespaces/ns/apprunner-concurrent-requests"
    code, out = metrics_adapter.respond(f"{path}?labelSelector=ecs.ecsk.io%2Fapprunner-service%3DWeb_1",
                                        lambda ns: [body, idle], external_now())  # fmt: skip
    assert code == 200 and [i["value"] for i in out["items"]] == ["35"]


def external_now() -> Any:
    from datetime import UTC, datetime

    return datetime(2026, 1, 1, tzinfo=UTC)


# --- the source-deploy CLI --------------------------------------------------------------------


def test_deploy_refuses_without_docker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from ecsk.cli.main import app

    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    monkeypatch.setenv("PATH", str(tmp_path / "nothing"))
    out = CliRunner().invoke(app, ["apprunner", "deploy", "--source", str(tmp_path)])
    assert out.exit_code == 1
    assert "docker is not installed" in out.output and "Nothing was changed" in out.output
    (tmp_path / "Dockerfile").unlink()
    out = CliRunner().invoke(app, ["apprunner", "deploy", "--source", str(tmp_path)])
    assert out.exit_code == 2 and "no Dockerfile and no apprunner.yaml" in out.output


class FakeEcr:
    class exceptions:
        class RepositoryNotFoundException(Exception):
            pass

    def __init__(self) -> None:
        self.calls: list[str] = []

    def describe_repositories(self, repositoryNames: list[str]) -> dict[str, Any]:
        raise self.exceptions.RepositoryNotFoundException()

    def create_repository(self, repositoryName: str) -> dict[str, Any]:
        self.calls.append(f"create {repositoryName}")
        return {
            "repository": {"repositoryUri": f"000000000000.dkr.ecr.us-east-1.amazonaws.com/{repositoryName}"}
        }

    def get_authorization_token(self) -> dict[str, Any]:
        return {"authorizationData": [{"authorizationToken": base64.b64encode(b"AWS:secret").decode()}]}


class FakeAppRunner:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def list_services(self, **_: Any) -> dict[str, Any]:
        return {"ServiceSummaryList": []}

    def create_service(self, **kw: Any) -> dict[str, Any]:
        self.calls.append(
            f"create {kw['ServiceName']} {kw['SourceConfiguration']['ImageRepository']['ImageIdentifier']}"
        )
        return {"Service": {"ServiceArn": "arn:x"}}


def test_a_failed_build_never_touches_the_service(tmp_path: Path) -> None:
    runs: list[list[str]] = []

    def run(args: list[str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        runs.append(args)
        failed = args[:2] == ["docker", "build"]
        return subprocess.CompletedProcess(
            args, 1 if failed else 0, "", "step 2: no such file" if failed else ""
        )

    ecr, runner = FakeEcr(), FakeAppRunner()
    with pytest.raises(apprunner_cmd.DeployError, match="docker build failed: step 2: no such file"):
        apprunner_cmd.Deployer(ecr, runner, run=run).deploy(tmp_path, "my-web", "8080")
    assert runner.calls == []
    assert [a[:2] for a in runs] == [["docker", "login"], ["docker", "build"]]


def test_a_successful_deploy_creates_the_service_following_latest(tmp_path: Path) -> None:
    logins: list[str | None] = []

    def run(args: list[str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        if args[1] == "login":
            logins.append(stdin)
        return subprocess.CompletedProcess(args, 0, "", "")

    ecr, runner = FakeEcr(), FakeAppRunner()
    arn, done = apprunner_cmd.Deployer(ecr, runner, run=run).deploy(tmp_path, "My_Web", "8080")
    assert (arn, done) == ("arn:x", "created")
    assert ecr.calls == ["create my-web"]
    assert logins == ["secret"]
    assert runner.calls == ["create My_Web 000000000000.dkr.ecr.us-east-1.amazonaws.com/my-web:latest"]


def test_service_name_from_the_directory(tmp_path: Path) -> None:
    assert apprunner_cmd.service_name(tmp_path / "my app!", None) == "my-app"
    assert apprunner_cmd.service_name(tmp_path / "ab", None) == "ab-app"
    assert apprunner_cmd.service_name(tmp_path / "x", "given") == "given"


# --- the App Runner API, dispatched as the endpoint does --------------------------------------


class FakeStore:
    """AppRunnerService objects by name (create sets a uid, as the API server does)."""

    namespace = "test"

    def __init__(self) -> None:
        self.objects: dict[str, dict[str, Any]] = {}

    def list(self, kind: str, selector: str | None = None) -> list[dict[str, Any]]:
        return [o for o in self.objects.values() if o["kind"] == kind]

    def create(self, obj: dict[str, Any]) -> dict[str, Any]:
        meta = {**obj["metadata"], "uid": f"uid-{obj['metadata']['name']}", "generation": 1,
                "creationTimestamp": "2026-01-02T03:04:05Z"}  # fmt: skip
        self.objects[meta["name"]] = body = {**obj, "metadata": meta}
        return body

    def merge_patch(self, kind: str, name: str, patch: dict[str, Any]) -> dict[str, Any] | None:
        body = self.objects.get(name)
        if body is None:
            return None
        ann = {**(body["metadata"].get("annotations") or {}), **patch["metadata"]["annotations"]}
        body["metadata"]["annotations"] = {k: v for k, v in ann.items() if v is not None}
        return body


def call(store: FakeStore, operation: str, **params: Any) -> tuple[int, dict[str, Any]]:
    import json

    from ecsk.api import server
    from ecsk.api.context import Settings

    headers = {"X-Amz-Target": f"AppRunner.{operation}", "Content-Type": "application/x-amz-json-1.0"}
    resp = server.dispatch(store, Settings(), "POST", "/", headers, json.dumps(params).encode())  # type: ignore[arg-type]
    return resp.status, resp.body


def test_api_create_describe_pause_and_refusals() -> None:
    store = FakeStore()
    source = {"ImageRepository": {"ImageIdentifier": IMAGE, "ImageRepositoryType": "ECR_PUBLIC"}}
    code, out = call(store, "CreateService", ServiceName="Web_App", SourceConfiguration=source)
    assert code == 200, out
    svc = out["Service"]
    assert svc["Status"] == "OPERATION_IN_PROGRESS"
    name = next(iter(store.objects))
    assert svc["ServiceArn"] == identity.service_arn("us-east-1", "000000000000", "Web_App", f"uid-{name}")
    assert out["OperationId"] == operation_id(svc["ServiceArn"], 0)
    assert svc["InstanceConfiguration"] == {"Cpu": "1024", "Memory": "2048"}  # App Runner's defaults
    assert svc["SourceConfiguration"]["ImageRepository"]["ImageConfiguration"]["Port"] == "8080"
    assert "Web_App" in {o["spec"]["ServiceName"] for o in store.objects.values()}
    code, out = call(store, "CreateService", ServiceName="Web_App", SourceConfiguration=source)
    assert (code, out["__type"]) == (400, "InvalidRequestException") and "already exists" in out["message"]
    code, out = call(store, "CreateService", ServiceName="other", SourceConfiguration=source,
                     InstanceConfiguration={"Cpu": "2 vCPU", "Memory": "2 GB"})  # fmt: skip
    assert out["__type"] == "InvalidRequestException"
    assert out["message"] == "1 validation error detected: " + rules.COMBINATION_MESSAGE.format(
        cpu="2 vCPU", memory="2 GB"
    )
    arn = svc["ServiceArn"]
    code, out = call(store, "PauseService", ServiceArn=arn)  # still being created
    assert (code, out["__type"]) == (400, "InvalidStateException")
    next(iter(store.objects.values()))["status"] = {"Status": "RUNNING", "operationCount": 1}
    code, out = call(store, "PauseService", ServiceArn=arn)
    assert code == 200 and out["OperationId"] == operation_id(arn, 1)
    assert next(iter(store.objects.values()))["metadata"]["annotations"] == {"ecs.ecsk.io/paused": "true"}
    code, out = call(store, "DescribeService", ServiceArn=arn.replace("Web_App", "nope"))
    assert (code, out["__type"]) == (400, "ResourceNotFoundException")
    code, out = call(store, "ListServices")
    assert [s["ServiceName"] for s in out["ServiceSummaryList"]] == ["Web_App"]
