"""The Copilot workspace and the commands that need no cluster: app init, svc init (Copilot's
files and manifest format), the Docker steps of a deploy, and their refusals."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ecsk.cli.main import app
from ecsk.cluster import docker
from ecsk.copilot import commands, images
from ecsk.copilot import workspace as wsp
from ecsk.core.copilot import SUPPORTED_TYPES, Build, Environment, ManifestError, load, render
from ecsk.core.copilot import workspace as fmt

runner = CliRunner()


def cli(*args: str) -> Any:
    return runner.invoke(app, ["copilot", *args])


def test_app_init_writes_copilots_workspace_file(tmp_path: Path) -> None:
    result = cli("app", "init", "demo", "--dir", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert (tmp_path / "copilot" / ".workspace").read_text() == "application: demo\n"
    again = cli("app", "init", "demo", "--dir", str(tmp_path))
    assert again.exit_code == 0 and "kept" in again.output
    other = cli("app", "init", "other", "--dir", str(tmp_path))
    assert other.exit_code == 1
    assert "already registered with application demo" in other.output


def test_a_workspace_made_by_copilot_is_found_from_a_subdirectory(tmp_path: Path) -> None:
    (tmp_path / "copilot").mkdir()
    (tmp_path / "copilot" / ".workspace").write_text("application: shop\n")
    (tmp_path / "src" / "deep").mkdir(parents=True)
    ws = wsp.find(tmp_path / "src" / "deep")
    assert ws is not None and ws.app == "shop" and ws.root == tmp_path.resolve()


def test_commands_refuse_without_a_workspace(tmp_path: Path) -> None:
    result = cli("svc", "ls", "--dir", str(tmp_path))
    assert result.exit_code == 1
    assert "couldn't find an application associated with this workspace" in result.output


def test_app_init_refuses_an_invalid_name(tmp_path: Path) -> None:
    result = cli("app", "init", "My_App", "--dir", str(tmp_path))
    assert result.exit_code == 1 and "must start with a letter" in result.output


def test_svc_init_from_a_dockerfile_reads_its_expose_port(tmp_path: Path) -> None:
    assert cli("app", "init", "demo", "--dir", str(tmp_path)).exit_code == 0
    (tmp_path / "web").mkdir()
    (tmp_path / "web" / "Dockerfile").write_text("FROM nginx:1.27\nEXPOSE 8080\n")
    result = cli(
        "svc", "init", "--name", "web", "--svc-type", "Load Balanced Web Service",
        "--dockerfile", "web/Dockerfile", "--dir", str(tmp_path),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    text = (tmp_path / "copilot" / "web" / "manifest.yml").read_text()
    wl = load(text, "demo", "test")
    assert wl.body["image"] == {"build": "web/Dockerfile", "port": 8080}
    assert wl.warnings == [] or [w.path for w in wl.warnings] == ["http.path"]
    r = render(wl, Environment("demo", "test", "demo-test"))
    assert r.build == Build(dockerfile="web/Dockerfile", context="web")
    dup = cli(
        "svc",
        "init",
        "--name",
        "web",
        "--svc-type",
        "Backend Service",
        "--image",
        "x",
        "--dir",
        str(tmp_path),
    )
    assert dup.exit_code == 1 and "already exists" in dup.output


@pytest.mark.parametrize("kind", SUPPORTED_TYPES)
def test_every_manifest_svc_init_writes_deploys(kind: str) -> None:
    text = fmt.manifest_text(kind, "app1", image="public.ecr.aws/nginx/nginx:1.27", schedule="@every 5m")
    wl = load(text, "demo", "test")
    assert wl.kind == kind and wl.name == "app1"
    assert render(wl, Environment("demo", "test", "demo-test")).objects


def test_svc_init_refusals(tmp_path: Path) -> None:
    assert cli("app", "init", "demo", "--dir", str(tmp_path)).exit_code == 0
    bad_type = cli(
        "svc", "init", "--name", "w", "--svc-type", "Worker Service", "--image", "x", "--dir", str(tmp_path)
    )
    assert bad_type.exit_code == 1 and "invalid manifest type: Worker Service" in bad_type.output
    neither = cli("svc", "init", "--name", "w", "--svc-type", "Backend Service", "--dir", str(tmp_path))
    assert neither.exit_code == 1 and 'must specify one of "build" and "location"' in neither.output
    missing = cli(
        "svc", "init", "--name", "w", "--svc-type", "Backend Service", "--dockerfile", "nope/Dockerfile",
        "--dir", str(tmp_path),
    )  # fmt: skip
    assert missing.exit_code == 1 and "no such file" in missing.output


def test_svc_ls_lists_manifests_without_a_cluster_when_no_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws, _ = wsp.init(tmp_path, "demo")
    wsp.write_manifest(ws, "api", fmt.manifest_text("Backend Service", "api", image="nginx"))
    wsp.write_manifest(ws, "broken", "name: broken\ntype: Nope\n")
    monkeypatch.setattr(commands.kube, "environments", lambda api, app, env=None: [])
    rows = commands.svc_ls(object(), ws)
    assert rows == [
        {"name": "api", "type": "Backend Service", "environments": "-"},
        {"name": "broken", "type": "(invalid manifest)", "environments": "-"},
    ]


def test_deploy_reads_the_manifest_whose_name_matches_its_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws, _ = wsp.init(tmp_path, "demo")
    wsp.write_manifest(ws, "api", fmt.manifest_text("Backend Service", "other", image="nginx"))
    monkeypatch.setattr(commands.kube, "get", lambda *a, **k: None)  # not deployed yet
    with pytest.raises(ManifestError) as exc:
        commands.plan(object(), ws, "api", Environment("demo", "test", "demo-test"), {})
    assert 'names "other"' in str(exc.value)


# --- Docker steps ------------------------------------------------------------------------------


class Replay:
    """Docker, replayed: records each command; `fail` makes the command starting with it fail."""

    def __init__(self, fail: str | None = None) -> None:
        self.calls: list[list[str]] = []
        self.fail = fail

    def __call__(self, args: list[str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        self.calls.append(list(args))
        bad = self.fail is not None and " ".join(args).startswith(self.fail)
        return subprocess.CompletedProcess(
            args, 1 if bad else 0, "", "boom: step 2: no such file" if bad else ""
        )


def test_docker_build_maps_copilots_build_section() -> None:
    run = Replay()
    docker.build(
        ["r/app:1"], "ctx", dockerfile="ctx/Dockerfile.prod", target="build-stage",
        cache_from=["image:tag"], args=[("key", "value")], platform="linux/arm64", run=run,
    )  # fmt: skip
    assert run.calls == [
        [
            "docker", "build", "--force-rm", "-t", "r/app:1", "-f", "ctx/Dockerfile.prod",
            "--target", "build-stage", "--cache-from", "image:tag", "--build-arg", "key=value",
            "--platform", "linux/arm64", "ctx",
        ]
    ]  # fmt: skip


def test_a_failed_docker_step_names_the_step() -> None:
    with pytest.raises(docker.DockerError, match="docker push failed: boom: step 2: no such file"):
        docker.push("r/app:1", run=Replay(fail="docker push"))


def test_no_docker_daemon_refuses_the_build_before_anything_is_made() -> None:
    env = Environment("demo", "test", "demo-test")
    run = Replay(fail="docker info")
    with pytest.raises(images.ImageError, match=r"the Docker daemon is not reachable.*Nothing was deployed"):
        images.build_and_push(object(), env, "web", Build("Dockerfile", "."), "/tmp", "v1", run=run)
    assert run.calls == [["docker", "info", "--format", "{{.ServerVersion}}"]]


def test_names_of_an_environment() -> None:
    env = Environment("demo", "test", "demo-test")
    assert env.repository("web") == "demo/web"
    assert env.repository_uri("web") == "000000000000.dkr.ecr.us-east-1.amazonaws.com/demo/web"
    assert "nlb" not in env.target_group_arn("nlb").split("targetgroup/", 1)[1].split("/")[0]
    assert env.role_arn("web", "TaskRole") == "arn:aws:iam::000000000000:role/demo-test-web-TaskRole"
    from ecsk.core.copilot import names

    assert names.namespace("demo", "test", "t-1a2b-") == "t-1a2b-demo-test"
    with pytest.raises(ValueError, match="longer than 63"):
        names.namespace("a" * 40, "b" * 30)
    assert names.selector("demo", "test", "web") == (
        "ecs.ecsk.io/copilot-application=demo,ecs.ecsk.io/copilot-environment=test,ecs.ecsk.io/copilot-service=web"
    )


# --- status, logs and rollout state, read from a fake API door -----------------------------------

ENV = Environment("demo", "test", "demo-test")


def service_obj(generation: int = 2, observed: int = 2, rollout: str = "COMPLETED") -> dict[str, Any]:
    return {
        "kind": "ECSService",
        "metadata": {"name": "web", "generation": generation},
        "status": {
            "observedGeneration": observed,
            "desiredCount": 2,
            "runningCount": 2 if rollout == "COMPLETED" else 1,
            "pendingCount": 0,
            "deployments": [
                {"status": "PRIMARY", "taskDefinition": "demo-test-web:2", "rolloutState": rollout},
                {"status": "ACTIVE", "taskDefinition": "demo-test-web:1", "rolloutState": "COMPLETED"},
            ],
            "events": [{"message": "(service web) has reached a steady state."}],
        },
    }


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        (service_obj(), (True, "COMPLETED: 2/2 tasks running")),
        (service_obj(rollout="IN_PROGRESS"), (False, "IN_PROGRESS: 1/2 tasks running")),
        (service_obj(generation=3), (False, "waiting for the operator")),
        (
            {
                **service_obj(),
                "status": {"conditions": [{"type": "Valid", "status": "False", "message": "bad td"}]},
            },
            (True, "FAILED: bad td"),
        ),
        (
            {
                "kind": "AppRunnerService",
                "metadata": {"generation": 1},
                "status": {"observedGeneration": 1, "Status": "RUNNING"},
            },
            (True, "RUNNING"),
        ),
    ],
)
def test_rollout_state(obj: dict[str, Any], expected: tuple[bool, str]) -> None:
    assert commands.rollout_state(obj) == expected


def pod(name: str, node: str) -> dict[str, Any]:
    options = {"awslogs-group": "/copilot/demo-test-web", "awslogs-stream-prefix": "copilot"}
    conf = json.dumps({"web": {"logDriver": "awslogs", "options": options}})
    return {
        "metadata": {
            "name": name,
            "uid": "0f0e0d0c-0b0a-0908-0706-050403020100",
            "annotations": {"ecs.ecsk.io/log-configuration": conf},
            "creationTimestamp": "2026-12-04T10:00:00Z",
        },
        "spec": {"nodeName": node, "containers": [{"name": "web", "image": "nginx"}]},
        "status": {
            "phase": "Running",
            "conditions": [{"type": "Ready", "status": "True"}],
            "containerStatuses": [{"name": "web", "ready": True, "state": {"running": {}}}],
        },
    }


def fake_door(monkeypatch: pytest.MonkeyPatch, node_annotations: dict[str, str]) -> list[tuple[str, str]]:
    reads: list[tuple[str, str]] = []
    monkeypatch.setattr(commands.kube, "pods", lambda api, ns, sel: [pod("web-abc", "n1")])
    monkeypatch.setattr(
        commands.kube, "node", lambda api, name: {"metadata": {"annotations": node_annotations}}
    )

    def log(api: Any, ns: str, name: str, container: str, tail: int | None = None) -> str:
        reads.append((name, container))
        return "2026-12-04T10:00:01.123456789Z listening on :80\n2026-12-04T10:00:02Z GET / 200\n"

    monkeypatch.setattr(commands.kube, "pod_log", log)
    return reads


def test_logs_of_a_real_node_are_the_containers_output(monkeypatch: pytest.MonkeyPatch) -> None:
    reads = fake_door(monkeypatch, {})
    lines = commands.logs(object(), ENV, "web")
    assert reads == [("web-abc", "web")]
    stream = "/copilot/demo-test-web copilot/web/0f0e0d0c0b0a09080706050403020100"
    assert lines == [
        f"{stream} 2026-12-04T10:00:01Z listening on :80",
        f"{stream} 2026-12-04T10:00:02Z GET / 200",
    ]


def test_logs_on_a_simulated_node_say_there_are_none(monkeypatch: pytest.MonkeyPatch) -> None:
    reads = fake_door(monkeypatch, {"kwok.x-k8s.io/node": "fake"})
    with pytest.raises(commands.CopilotError, match="simulated node n1, where no container runs"):
        commands.logs(object(), ENV, "web")
    assert reads == []


def test_status_of_a_service(monkeypatch: pytest.MonkeyPatch) -> None:
    objs = {
        ("ECSService", "web"): service_obj(),
        ("ScalableTarget", "web"): {"spec": {"MinCapacity": 1, "MaxCapacity": 10}},
    }
    monkeypatch.setattr(
        commands.kube, "get", lambda api, kind, ns, name, version=None: objs.get((kind, name))
    )
    monkeypatch.setattr(commands.kube, "pods", lambda api, ns, sel: [pod("web-abc", "n1")])
    st = commands.status(object(), ENV, "web")
    assert (st["desired"], st["running"], st["autoscaling"]) == (2, 2, "1-10")
    assert [d["status"] for d in st["deployments"]] == ["PRIMARY", "ACTIVE"]
    assert st["tasks"] == [{"id": "0f0e0d0c", "lastStatus": "RUNNING", "health": "UNKNOWN", "node": "n1"}]
    assert st["events"] == ["(service web) has reached a steady state."]
    monkeypatch.setattr(commands.kube, "get", lambda *a, **k: None)
    with pytest.raises(commands.CopilotError, match="web is not deployed in environment test"):
        commands.status(object(), ENV, "web")
