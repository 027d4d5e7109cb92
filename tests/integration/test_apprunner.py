"""App Runner services on the embedded cluster: an AppRunnerService becomes a Deployment,
Service, Ingress and HPA with App Runner's status; scaling on simulated concurrency, pause and
resume, automatic deployment of a new ECR digest, and refusals at admission.

The concurrency test needs the cluster's metrics adapter to publish App Runner services (this
branch's adapter: `ecsk cluster up` runs it); an older adapter is detected and the test says so.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pykube
import pytest
import yaml
from botocore.config import Config
from botocore.exceptions import ClientError
from kubectl import kubectl
from kubetest import wait_for

from ecsk.cluster import paths, registry

pytestmark = pytest.mark.integration

CR = "ecs.ecsk.io/v1alpha1"
ROOT = Path(__file__).resolve().parents[2]
ACCOUNT, REGION = "000000000000", "us-east-1"
ECR_IMAGE = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/web:latest"
DIGEST_A = "sha256:" + "a" * 64
DIGEST_B = "sha256:" + "b" * 64


def runner(name: str, **spec: Any) -> dict[str, Any]:
    image = {
        "ImageIdentifier": "public.ecr.aws/aws-containers/hello-app-runner:latest",
        "ImageRepositoryType": "ECR_PUBLIC",
        "ImageConfiguration": {"Port": "8000", "RuntimeEnvironmentVariables": {"GREETING": "hi"}},
    }
    body = {
        "ServiceName": name,
        "SourceConfiguration": {"ImageRepository": image, "AutoDeploymentsEnabled": False},
        "InstanceConfiguration": {"Cpu": "0.25 vCPU", "Memory": "0.5 GB"},
        "HealthCheckConfiguration": {"Protocol": "HTTP", "Path": "/health", "Interval": 10},
        "AutoScalingConfiguration": {"MaxConcurrency": 10, "MinSize": 1, "MaxSize": 4},
        **spec,
    }
    return {"apiVersion": CR, "kind": "AppRunnerService", "metadata": {"name": name}, "spec": body}


def apply(kubeconfig: str, ns: str, *docs: dict[str, Any], check: bool = True) -> Any:
    return kubectl(kubeconfig, "-n", ns, "apply", "-f", "-", stdin=yaml.safe_dump_all(docs), check=check)


def get(api: pykube.HTTPClient, ns: str, kind: str, name: str) -> dict[str, Any] | None:
    cls = pykube.object_factory(api, CR, kind)
    try:
        return dict(cls.objects(api, namespace=ns).get(name=name).obj)
    except pykube.exceptions.ObjectDoesNotExist:
        return None


def status(api: pykube.HTTPClient, ns: str, name: str) -> dict[str, Any]:
    return dict((get(api, ns, "AppRunnerService", name) or {}).get("status") or {})


def deployment(api: pykube.HTTPClient, ns: str, name: str) -> dict[str, Any] | None:
    try:
        return dict(pykube.Deployment.objects(api, namespace=ns).get(name=name).obj)
    except pykube.exceptions.ObjectDoesNotExist:
        return None


def replicas(api: pykube.HTTPClient, ns: str, name: str) -> int | None:
    dep = deployment(api, ns, name)
    return None if dep is None else int(dep["spec"].get("replicas") or 0)


def hpa(kubeconfig: str, ns: str, name: str) -> dict[str, Any] | None:
    proc = kubectl(kubeconfig, "-n", ns, "get", "hpa", name, "-o", "json", check=False)
    return json.loads(proc.stdout) if proc.returncode == 0 else None


def annotate(kubeconfig: str, ns: str, name: str, *pairs: str) -> None:
    kubectl(kubeconfig, "-n", ns, "annotate", "--overwrite", "apprunnerservice", name, *pairs)


def running(api: pykube.HTTPClient, ns: str, name: str, state: str = "RUNNING") -> dict[str, Any] | None:
    st = status(api, ns, name)
    return st if st.get("Status") == state else None


def test_service_runs_with_app_runner_identity_and_kubernetes_objects(
    api: pykube.HTTPClient, kubeconfig: str, operator_ns: str
) -> None:
    ns = operator_ns
    apply(kubeconfig, ns, runner("hello-web"))
    st = wait_for(lambda: running(api, ns, "hello-web"), 90, what="hello-web RUNNING")
    assert re.fullmatch(r"[a-z0-9]{10}\.us-east-1\.awsapprunner\.com", st["ServiceUrl"])
    assert re.fullmatch(r"[0-9a-f]{32}", st["ServiceId"])
    assert st["ServiceArn"] == f"arn:aws:apprunner:{REGION}:{ACCOUNT}:service/hello-web/{st['ServiceId']}"
    assert [(o["Type"], o["Status"]) for o in st["Operations"]] == [("CREATE_SERVICE", "SUCCEEDED")]
    assert st["Operations"][0]["EndedAt"]
    dep = deployment(api, ns, "hello-web")
    assert dep is not None and dep["spec"]["replicas"] == 1
    c = dep["spec"]["template"]["spec"]["containers"][0]
    assert c["resources"]["limits"] == {"cpu": "250m", "memory": "512Mi"}
    assert c["readinessProbe"]["httpGet"]["path"] == "/health"
    assert c["readinessProbe"]["httpGet"]["port"] == 8000
    assert c["readinessProbe"]["periodSeconds"] == 10
    assert {"name": "GREETING", "value": "hi"} in c["env"]
    ing = json.loads(kubectl(kubeconfig, "-n", ns, "get", "ingress", "hello-web", "-o", "json").stdout)
    assert ing["spec"]["rules"][0]["host"] == st["ServiceUrl"]
    assert ing["metadata"]["ownerReferences"][0]["kind"] == "AppRunnerService"
    svc = json.loads(kubectl(kubeconfig, "-n", ns, "get", "service", "hello-web", "-o", "json").stdout)
    assert svc["spec"]["ports"][0]["targetPort"] == 8000
    scaler = hpa(kubeconfig, ns, "hello-web")
    assert scaler is not None
    assert (scaler["spec"]["minReplicas"], scaler["spec"]["maxReplicas"]) == (1, 4)
    metric = scaler["spec"]["metrics"][0]["external"]
    assert metric["metric"]["name"] == "apprunner-concurrent-requests"
    assert metric["target"] == {"type": "AverageValue", "averageValue": "10"}
    cond = {c["type"]: c for c in st["conditions"]}
    assert cond["Ready"]["status"] == "True"
    assert (
        cond["Ready"]["observedGeneration"]
        == get(api, ns, "AppRunnerService", "hello-web")["metadata"]["generation"]
    )


@pytest.mark.parametrize(
    ("change", "wording"),
    [
        ({"InstanceConfiguration": {"Cpu": "3 vCPU"}},
         "Value '3 vCPU' at 'instanceConfiguration.cpu' failed to satisfy constraint: "
         "Member must satisfy regular expression pattern: 256|512|1024|2048|4096|(0.25|0.5|1|2|4) vCPU"),
        ({"InstanceConfiguration": {"Cpu": "1 vCPU", "Memory": "12 GB"}},
         "Cpu '1 vCPU' and Memory '12 GB' is not a supported instance configuration"),
        ({"HealthCheckConfiguration": {"Interval": 21}},
         "at 'healthCheckConfiguration.interval' failed to satisfy constraint: "
         "Member must have value less than or equal to 20"),
        ({"AutoScalingConfiguration": {"MinSize": 5, "MaxSize": 3}},
         "MinSize must be less than or equal to MaxSize"),
        ({"ServiceName": "ab"}, "Value 'ab' at 'serviceName' failed to satisfy constraint: "
         "Member must have length greater than or equal to 4"),
    ],
)  # fmt: skip
def test_bad_specs_are_refused_at_admission_in_app_runner_words(
    kubeconfig: str, operator_ns: str, change: dict[str, Any], wording: str
) -> None:
    proc = apply(kubeconfig, operator_ns, runner("refused-svc", **change), check=False)
    assert proc.returncode != 0
    assert wording in proc.stderr


def test_concurrency_scales_between_min_and_max_size(
    api: pykube.HTTPClient, kubeconfig: str, operator_ns: str
) -> None:
    ns = operator_ns
    apply(kubeconfig, ns, runner("busy-web"))
    wait_for(lambda: running(api, ns, "busy-web"), 90, what="busy-web RUNNING")
    annotate(kubeconfig, ns, "busy-web", "ecs.ecsk.io/concurrent-requests=35")
    raw = (
        f"/apis/external.metrics.k8s.io/v1beta1/namespaces/{ns}/apprunner-concurrent-requests"
        "?labelSelector=ecs.ecsk.io%2Fapprunner-service%3Dbusy-web"
    )
    proc = kubectl(kubeconfig, "get", "--raw", raw, check=False)
    if proc.returncode != 0 or not json.loads(proc.stdout).get("items"):
        pytest.fail(
            "the cluster's metrics adapter does not publish App Runner concurrency (it predates "
            f"this branch: restart it with `ecsk cluster up`): {proc.stdout or proc.stderr}"
        )
    assert json.loads(proc.stdout)["items"][0]["value"] == "35"
    # ceil(35 concurrent / MaxConcurrency 10) = 4 instances
    wait_for(lambda: replicas(api, ns, "busy-web") == 4, 120, what="4 instances for 35 concurrent requests")
    annotate(kubeconfig, ns, "busy-web", "ecs.ecsk.io/concurrent-requests=1000")
    time.sleep(15)
    assert replicas(api, ns, "busy-web") == 4, "MaxSize caps the instances"
    assert running(api, ns, "busy-web"), "scaling is not an operation"


def test_pause_and_resume(api: pykube.HTTPClient, kubeconfig: str, operator_ns: str) -> None:
    ns = operator_ns
    apply(kubeconfig, ns, runner("pause-web"))
    wait_for(lambda: running(api, ns, "pause-web"), 90, what="pause-web RUNNING")
    annotate(kubeconfig, ns, "pause-web", "ecs.ecsk.io/paused=true")
    st = wait_for(lambda: running(api, ns, "pause-web", "PAUSED"), 90, what="PAUSED")
    assert st["Operations"][0]["Type"] == "PAUSE_SERVICE"
    assert st["Operations"][0]["Status"] == "SUCCEEDED"
    assert replicas(api, ns, "pause-web") == 0
    assert wait_for(lambda: hpa(kubeconfig, ns, "pause-web") is None, 30, what="HPA removed")
    kubectl(kubeconfig, "-n", ns, "annotate", "apprunnerservice", "pause-web", "ecs.ecsk.io/paused-")
    st = wait_for(lambda: running(api, ns, "pause-web"), 90, what="RUNNING after resume")
    assert [o["Type"] for o in st["Operations"]] == ["RESUME_SERVICE", "PAUSE_SERVICE", "CREATE_SERVICE"]
    assert replicas(api, ns, "pause-web") == 1
    assert hpa(kubeconfig, ns, "pause-web") is not None


def _repository_images(kubeconfig: str, ns: str, digest: str) -> None:
    images = [{"imageDigest": digest, "imageTags": ["latest"]}]
    kubectl(kubeconfig, "-n", ns, "patch", "repository", "web", "--subresource=status", "--type=merge",
            "-p", json.dumps({"status": {"images": images}}))  # fmt: skip


def _template_digest(api: pykube.HTTPClient, ns: str, name: str) -> str | None:
    dep = deployment(api, ns, name) or {}
    meta = ((dep.get("spec") or {}).get("template") or {}).get("metadata") or {}
    return (meta.get("annotations") or {}).get("ecs.ecsk.io/image-digest")


def test_new_image_digest_rolls_out_a_deployment(
    api: pykube.HTTPClient, kubeconfig: str, operator_ns: str
) -> None:
    ns = operator_ns
    repo = {
        "apiVersion": CR,
        "kind": "Repository",
        "metadata": {"name": "web"},
        "spec": {"repositoryName": "web"},
    }
    apply(kubeconfig, ns, repo)
    _repository_images(kubeconfig, ns, DIGEST_A)
    doc = runner("auto-web")
    doc["spec"]["SourceConfiguration"] = {
        "ImageRepository": {"ImageIdentifier": ECR_IMAGE, "ImageRepositoryType": "ECR"},
        "AutoDeploymentsEnabled": True,
    }
    apply(kubeconfig, ns, doc)
    wait_for(lambda: running(api, ns, "auto-web"), 90, what="auto-web RUNNING")
    assert _template_digest(api, ns, "auto-web") == DIGEST_A
    _repository_images(kubeconfig, ns, DIGEST_B)  # a push moved `latest`
    wait_for(lambda: _template_digest(api, ns, "auto-web") == DIGEST_B, 60, what="rollout of the new digest")

    def deployed() -> dict[str, Any] | None:
        st = running(api, ns, "auto-web")
        ops = (st or {}).get("Operations") or [{}]
        return st if (ops[0].get("Type"), ops[0].get("Status")) == ("START_DEPLOYMENT", "SUCCEEDED") else None

    st = wait_for(deployed, 90, what="RUNNING with the START_DEPLOYMENT operation SUCCEEDED")
    assert st["imageDigest"] == DIGEST_B


# --- the App Runner API with boto3 ------------------------------------------------------------


@pytest.fixture(scope="module")
def apprunner(operator_ns: str, kubeconfig: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """`ecsk api serve` for the module's namespace, in the operator's region and account (so the
    ARNs the operator records and the ones the API returns agree), and a boto3 client on it."""
    from test_api_live import _free_port, _up

    port, door = _free_port(), _free_port()
    log = tmp_path_factory.mktemp("api") / "api.log"
    args = [sys.executable, "-m", "ecsk.cli.main", "api", "serve", "--port", str(port), "-n", operator_ns]
    args += ["--region", REGION, "--account", ACCOUNT]
    # ECR on the cluster's registry, through a front door of this namespace's own (source deploys)
    # (the cluster's registry as `ecsk cluster up` started it: its port and $ECSK_HOME storage)
    args += ["--registry-url", registry.url(), "--registry-port", str(door)]
    args += ["--registry-storage", str(registry.storage_dir(paths.home()))]
    env = dict(os.environ, KUBECONFIG=kubeconfig, PYTHONPATH=str(ROOT / "operator"))
    with open(log, "ab") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        wait_for(lambda: _up(port), timeout=30, what="endpoint listening")
        wait_for(lambda: _up(door), timeout=30, what="registry front door listening")
        client = boto3.client(
            "apprunner",
            endpoint_url=f"http://127.0.0.1:{port}",
            region_name=REGION,
            aws_access_key_id="local",
            aws_secret_access_key="local",
            config=Config(retries={"max_attempts": 2}),
        )
        ENDPOINTS[id(client)] = (f"http://127.0.0.1:{port}", f"127.0.0.1:{door}")
        yield client
    finally:
        proc.terminate()
        proc.wait(10)


ENDPOINTS: dict[int, tuple[str, str]] = {}
"""boto3 client -> (endpoint URL, registry front door) of the module's endpoint."""


def _state(client: Any, arn: str, want: str) -> dict[str, Any] | None:
    svc: dict[str, Any] = client.describe_service(ServiceArn=arn)["Service"]
    return svc if svc["Status"] == want else None


def _ops(client: Any, arn: str) -> list[tuple[str, str, str]]:
    ops = client.list_operations(ServiceArn=arn)["OperationSummaryList"]
    return [(o["Type"], o["Status"], o["Id"]) for o in ops]


def test_api_lifecycle_with_boto3(apprunner: Any) -> None:
    image = {
        "ImageIdentifier": "public.ecr.aws/aws-containers/hello-app-runner:latest",
        "ImageRepositoryType": "ECR_PUBLIC",
        "ImageConfiguration": {"Port": "8000"},
    }
    made = apprunner.create_service(
        ServiceName="api-web",
        SourceConfiguration={"ImageRepository": image, "AutoDeploymentsEnabled": False},
        InstanceConfiguration={"Cpu": "0.25 vCPU", "Memory": "0.5 GB"},
    )
    svc, created_op = made["Service"], made["OperationId"]
    arn = svc["ServiceArn"]
    assert svc["Status"] == "OPERATION_IN_PROGRESS"
    assert re.fullmatch(rf"arn:aws:apprunner:{REGION}:{ACCOUNT}:service/api-web/[0-9a-f]{{32}}", arn)
    assert svc["InstanceConfiguration"]["Cpu"] == "256" and svc["InstanceConfiguration"]["Memory"] == "512"
    assert svc["HealthCheckConfiguration"]["Protocol"] == "TCP"
    running_svc = wait_for(lambda: _state(apprunner, arn, "RUNNING"), 90, what="RUNNING via the API")
    assert running_svc["ServiceUrl"].endswith(f".{REGION}.awsapprunner.com")
    assert _ops(apprunner, arn) == [("CREATE_SERVICE", "SUCCEEDED", created_op)]
    listed = apprunner.list_services()["ServiceSummaryList"]
    assert [s["ServiceArn"] for s in listed if s["ServiceName"] == "api-web"] == [arn]

    paused_op = apprunner.pause_service(ServiceArn=arn)["OperationId"]
    wait_for(lambda: _state(apprunner, arn, "PAUSED"), 90, what="PAUSED via the API")
    assert _ops(apprunner, arn)[0] == ("PAUSE_SERVICE", "SUCCEEDED", paused_op)
    with pytest.raises(ClientError) as err:
        apprunner.pause_service(ServiceArn=arn)
    assert err.value.response["Error"]["Code"] == "InvalidStateException"
    apprunner.resume_service(ServiceArn=arn)
    wait_for(lambda: _state(apprunner, arn, "RUNNING"), 90, what="RUNNING after ResumeService")

    update_op = apprunner.update_service(
        ServiceArn=arn, HealthCheckConfiguration={"Protocol": "HTTP", "Path": "/ready"}
    )["OperationId"]
    done = ("UPDATE_SERVICE", "SUCCEEDED", update_op)
    wait_for(lambda: _ops(apprunner, arn)[0] == done, 90, what="UpdateService's operation")
    assert _state(apprunner, arn, "RUNNING")
    assert (
        apprunner.describe_service(ServiceArn=arn)["Service"]["HealthCheckConfiguration"]["Path"] == "/ready"
    )

    deploy_op = apprunner.start_deployment(ServiceArn=arn)["OperationId"]
    wait_for(
        lambda: _ops(apprunner, arn)[0] == ("START_DEPLOYMENT", "SUCCEEDED", deploy_op), 90, what="deployment"
    )
    assert [t for t, _, _ in _ops(apprunner, arn)] == [
        "START_DEPLOYMENT", "UPDATE_SERVICE", "RESUME_SERVICE", "PAUSE_SERVICE", "CREATE_SERVICE",
    ]  # fmt: skip

    apprunner.delete_service(ServiceArn=arn)
    with pytest.raises(ClientError) as err:
        wait_for(lambda: not apprunner.describe_service(ServiceArn=arn), 30, what="deleted")
    assert err.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_api_refuses_in_app_runner_words(apprunner: Any) -> None:
    image = {"ImageIdentifier": "public.ecr.aws/x/y:1", "ImageRepositoryType": "ECR_PUBLIC"}
    with pytest.raises(ClientError) as err:
        apprunner.create_service(
            ServiceName="bad-size",
            SourceConfiguration={"ImageRepository": image},
            InstanceConfiguration={"Cpu": "4 vCPU", "Memory": "2 GB"},
        )
    assert err.value.response["Error"]["Code"] == "InvalidRequestException"
    assert "Cpu '4 vCPU' and Memory '2 GB' is not a supported instance configuration" in str(err.value)
    with pytest.raises(ClientError) as err:
        apprunner.create_service(
            ServiceName="bad-check",
            SourceConfiguration={"ImageRepository": image},
            HealthCheckConfiguration={"Timeout": 30},
        )
    # the endpoint's service-model check (shared by every AWS service) names the member path
    assert "Value '30' at 'HealthCheckConfiguration.Timeout' failed to satisfy constraint" in str(err.value)
    assert "Member must have value less than or equal to 20" in str(err.value)
    missing = f"arn:aws:apprunner:{REGION}:{ACCOUNT}:service/nope/{'0' * 32}"
    with pytest.raises(ClientError) as err:
        apprunner.describe_service(ServiceArn=missing)
    assert err.value.response["Error"]["Code"] == "ResourceNotFoundException"


# --- source deploys: `ecsk apprunner deploy --source DIR` with the real Docker ----------------


def _docker() -> bool:
    proc = (
        subprocess.run(["docker", "info"], capture_output=True, check=False)
        if shutil.which("docker")
        else None
    )
    return proc is not None and proc.returncode == 0


def _require_docker() -> None:
    if not _docker():
        pytest.skip("Docker is not available here (`ecsk kind host-prep` starts it)")


def _deploy(
    apprunner: Any, source: Path, name: str, port: str | None = "8000"
) -> subprocess.CompletedProcess[str]:
    url, door = ENDPOINTS[id(apprunner)]
    args = [
        sys.executable,
        "-m",
        "ecsk.cli.main",
        "apprunner",
        "deploy",
        "--source",
        str(source),
        "--name",
        name,
    ]
    args += ["--endpoint", url, "--registry", door, "--region", REGION, *(["--port", port] if port else [])]
    env = dict(os.environ, PYTHONPATH=str(ROOT / "operator"))
    return subprocess.run(args, capture_output=True, text=True, env=env, timeout=300, check=False)


def _app(
    directory: Path, text: str, dockerfile: str = 'FROM scratch\nCOPY page.txt /page.txt\nCMD ["/serve"]\n'
) -> Path:
    """A source directory whose image builds with no base image to pull (none is reachable)."""
    directory.mkdir(exist_ok=True)
    (directory / "Dockerfile").write_text(dockerfile)
    (directory / "page.txt").write_text(text)
    return directory


def test_source_deploy_creates_then_redeploys_and_a_failed_build_changes_nothing(
    apprunner: Any, api: pykube.HTTPClient, operator_ns: str, tmp_path: Path
) -> None:
    _require_docker()
    ns, name = operator_ns, f"src-{operator_ns[-8:]}"
    with _pushed(apprunner, name):
        _deploy_twice_then_break(apprunner, api, ns, name, tmp_path)


def _boto(apprunner: Any, service: str) -> Any:
    """Another client of the module's endpoint (ECR, SSM)."""
    return boto3.client(service, endpoint_url=ENDPOINTS[id(apprunner)][0], region_name=REGION,
                        aws_access_key_id="local", aws_secret_access_key="local")  # fmt: skip


@contextlib.contextmanager
def _pushed(apprunner: Any, name: str) -> Iterator[None]:
    """The shared registry and the local Docker keep nothing of a source-deploy test."""
    try:
        yield
    finally:
        with contextlib.suppress(ClientError):
            _boto(apprunner, "ecr").delete_repository(repositoryName=name, force=True)
        fmt = "{{.Repository}}:{{.Tag}}"
        listed = subprocess.run(
            ["docker", "images", "--format", fmt, f"{ENDPOINTS[id(apprunner)][1]}/{name}"],
            capture_output=True,
            text=True,
            check=False,
        )
        if listed.stdout.split():
            subprocess.run(["docker", "rmi", *listed.stdout.split()], capture_output=True, check=False)


def _deploy_twice_then_break(
    apprunner: Any, api: pykube.HTTPClient, ns: str, name: str, tmp_path: Path
) -> None:
    source = _app(tmp_path / "web", "version 1")
    first = _deploy(apprunner, source, name)
    assert first.returncode == 0, first.stderr
    arn = first.stdout.strip().splitlines()[-1]
    assert "created" in first.stderr
    st = wait_for(lambda: running(api, ns, name), 120, what="the deployed service RUNNING")
    digest = st["imageDigest"]
    assert digest and digest.startswith("sha256:")

    _app(source, "version 2")
    second = _deploy(apprunner, source, name)
    assert second.returncode == 0, second.stderr
    wait_for(lambda: _ops(apprunner, arn)[0][:2] == ("START_DEPLOYMENT", "SUCCEEDED"), 120, what="redeploy")
    new_digest = status(api, ns, name)["imageDigest"]
    assert new_digest != digest
    assert _template_digest(api, ns, name) == new_digest

    _app(source, "version 3", "FROM scratch\nRUN /bin/false\n")  # cannot run anything: the build fails
    before = _ops(apprunner, arn)
    broken = _deploy(apprunner, source, name)
    assert broken.returncode != 0
    assert "docker build failed" in broken.stderr and "The service was not changed" in broken.stderr
    time.sleep(8)
    assert _ops(apprunner, arn) == before
    assert _template_digest(api, ns, name) == new_digest


# --- managed runtimes: a directory with an apprunner.yaml and no Dockerfile -------------------

APP_PY = """\
import http.server, os

BUILT = open("built.txt").read().strip()


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = f"{os.environ.get('GREETING')} | {BUILT} | PORT={os.environ['PORT']}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


http.server.HTTPServer(("", int(os.environ["MY_APP_PORT"])), Handler).serve_forever()
"""

APPRUNNER_YAML = """\
version: 1.0
runtime: python3
build:
  commands:
    pre-build:
      - python -m pip --version
    build:
      - pip install --no-index -r requirements.txt
    post-build:
      - echo "$BUILD_LABEL" > built.txt
  env:
    - name: BUILD_LABEL
      value: "built from apprunner.yaml"
run:
  runtime-version: 3.11
  command: python app.py
  network:
    port: 8000
    env: MY_APP_PORT
  env:
    - name: GREETING
      value: hello from run.env
  secrets:
    - name: API_TOKEN
      value-from: "{token_arn}"
"""


def _managed_app(directory: Path, token_arn: str) -> Path:
    """The Flask sample's shape (pip install -r requirements.txt, python app.py) with a stdlib
    server and no requirement to download: the build stays hermetic."""
    directory.mkdir()
    (directory / "app.py").write_text(APP_PY)
    (directory / "requirements.txt").write_text("# the standard library is enough\n")
    (directory / "apprunner.yaml").write_text(APPRUNNER_YAML.format(token_arn=token_arn))
    return directory


def test_managed_runtime_source_deploy_builds_runs_and_serves(
    apprunner: Any, api: pykube.HTTPClient, operator_ns: str, tmp_path: Path
) -> None:
    _require_docker()
    ns, name = operator_ns, f"py-{operator_ns[-8:]}"
    ssm = _boto(apprunner, "ssm")
    token = ssm.put_parameter(Name=f"/{name}/token", Value="s3cret", Type="SecureString", Overwrite=True)
    assert token["Version"] >= 1
    arn = f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/{name}/token"
    source = _managed_app(tmp_path / "pyapp", arn)
    before = sorted(p.name for p in source.iterdir())
    with _pushed(apprunner, name):
        done = _deploy(apprunner, source, name, port=None)
        assert done.returncode == 0, done.stderr
        assert "runtime python3" in done.stderr and "created" in done.stderr
        assert sorted(p.name for p in source.iterdir()) == before  # nothing written to the source
        st = wait_for(lambda: running(api, ns, name), 120, what="the managed-runtime service RUNNING")
        assert st["imageDigest"].startswith("sha256:")
        _assert_deployment(api, ns, name)
        svc = apprunner.describe_service(ServiceArn=st["ServiceArn"])["Service"]
        image = svc["SourceConfiguration"]["ImageRepository"]
        assert image["ImageIdentifier"].endswith(f"/{name}:latest")
        assert image["ImageConfiguration"]["Port"] == "8000"
        assert image["ImageConfiguration"]["RuntimeEnvironmentSecrets"] == {"API_TOKEN": arn}
        repo = _boto(apprunner, "ecr").describe_images(repositoryName=name)["imageDetails"]
        assert any("latest" in (d.get("imageTags") or []) for d in repo)
        _serve(f"{ENDPOINTS[id(apprunner)][1]}/{name}:latest")


def _assert_deployment(api: pykube.HTTPClient, ns: str, name: str) -> None:
    """The yaml's port and run env are the container's; the secret reads the stored parameter."""
    dep = deployment(api, ns, name)
    assert dep is not None
    c = dep["spec"]["template"]["spec"]["containers"][0]
    assert c["ports"][0]["containerPort"] == 8000
    env = {e["name"]: e for e in c["env"]}
    assert env["GREETING"]["value"] == "hello from run.env"
    assert env["API_TOKEN"]["valueFrom"]["secretKeyRef"]["key"]
    assert "args" not in c and "command" not in c  # the start command is the image's CMD


def _serve(image: str) -> None:
    """Run the pushed image with Docker and GET it: the build ran (built.txt from the build env),
    the start command serves on network.port, told by PORT and network.env."""
    body = _serve_on(image, 8000, "hi | built from apprunner.yaml | PORT=8000")
    assert body == "hi | built from apprunner.yaml | PORT=8000"
    cmd = subprocess.run(["docker", "inspect", "-f", "{{json .Config.Cmd}}", image],
                         capture_output=True, text=True, check=True)  # fmt: skip
    assert json.loads(cmd.stdout) == ["/bin/sh", "-c", "python app.py"]


def _serve_on(image: str, port: int, starts: str) -> str:
    """`docker run` the image with its port published and GET it until the body starts so."""
    from test_api_live import _free_port

    host_port = _free_port()
    started = subprocess.run(
        ["docker", "run", "-d", "--rm", "-p", f"127.0.0.1:{host_port}:{port}", "-e", "GREETING=hi", image],
        capture_output=True,
        text=True,
        check=False,
    )
    assert started.returncode == 0, started.stderr
    container = started.stdout.strip()
    try:
        body = wait_for(lambda: _get(f"http://127.0.0.1:{host_port}/"), 60, what="the app answering")
        assert body.startswith(starts), body
        return body
    finally:
        subprocess.run(["docker", "rm", "-f", container], capture_output=True, check=False)


def _get(url: str) -> str | None:
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=3) as resp:
            return str(resp.read().decode())
    except OSError:
        return None


def test_a_bad_apprunner_yaml_builds_and_changes_nothing(apprunner: Any, tmp_path: Path) -> None:
    source = tmp_path / "bad"
    source.mkdir()
    (source / "apprunner.yaml").write_text(
        "version: 1.0\nruntime: python2\nbuild:\n  commands:\n    build: [ls]\n"
    )
    name = f"bad-{uuid_hex()}"
    done = _deploy(apprunner, source, name, port=None)
    assert done.returncode == 1
    assert "runtime: 'python2' is not an App Runner managed runtime; allowed values: python3," in done.stderr
    assert "run: required" in done.stderr and "nothing was built or changed" in done.stderr
    names = [s["ServiceName"] for s in apprunner.list_services()["ServiceSummaryList"]]
    assert name not in names
    with pytest.raises(ClientError):
        _boto(apprunner, "ecr").describe_repositories(repositoryNames=[name])


def uuid_hex() -> str:
    import uuid

    return uuid.uuid4().hex[:8]


NODE_APP = """\
const http = require("http");
const built = require("fs").readFileSync("built.txt", "utf8").trim();
http.createServer((req, res) => res.end(`${built} | node ${process.versions.node} | ${process.env.GREETING}`))
  .listen(Number(process.env.PORT));
"""

NODE_YAML = """\
version: 1.0
runtime: nodejs18
build:
  commands:
    build:
      - npm --version
      - node -e "require('fs').writeFileSync('built.txt', process.env.STAGE)"
  env:
    - name: STAGE
      value: built in the build image
run:
  pre-run:
    - node --version > /node-version.txt
  command: node server.js
  network:
    port: 3000
"""


def test_nodejs_revised_build_image_serves(tmp_path: Path) -> None:
    """nodejs18 (the revised build) on the Debian nodejs base, built and run with Docker: the
    build stage's /app reaches the run image, pre-run ran there, the start command serves."""
    _require_docker()
    from ecsk.cli import apprunner_cmd
    from ecsk.cluster.kind import images

    source = tmp_path / "nodeapp"
    source.mkdir()
    (source / "server.js").write_text(NODE_APP)
    (source / "apprunner.yaml").write_text(NODE_YAML)
    config = apprunner_cmd.read_config(source)
    tag = f"ecsk-test/nodeapp:{uuid_hex()}"
    base = images.runtime_base("nodejs", print)
    with apprunner_cmd.managed_context(source, config, base) as (ctx, dockerfile):
        built = subprocess.run(["docker", "build", "-q", "-t", tag, "-f", str(dockerfile), str(ctx)],
                               capture_output=True, text=True, check=False)  # fmt: skip
        stage = next(
            ln for ln in dockerfile.read_text().splitlines() if ln.startswith("LABEL ecs.ecsk.io/apprunner-b")
        )
    assert built.returncode == 0, built.stderr
    stages = subprocess.run(["docker", "images", "-q", "--filter", f"label={stage.removeprefix('LABEL ')}"],
                            capture_output=True, text=True, check=True)  # fmt: skip
    assert stages.stdout.strip() == ""  # the build stage went with the temporary context
    try:
        pre_run = subprocess.run(["docker", "run", "--rm", tag, "cat", "/node-version.txt"],
                                 capture_output=True, text=True, check=True)  # fmt: skip
        assert pre_run.stdout.startswith("v18.")
        _serve_on(tag, 3000, "built in the build image | node 18.")
    finally:
        subprocess.run(["docker", "rmi", "-f", tag], capture_output=True, check=False)


# --- the other managed runtimes: each base built from Debian, a tiny stdlib app served --------

GO_APP = """\
package main

import (
	"fmt"
	"net/http"
	"os"
	"runtime"
)

func main() {
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "go %s | %s", runtime.Version(), os.Getenv("GREETING"))
	})
	http.ListenAndServe(":"+os.Getenv("PORT"), nil)
}
"""

RUBY_APP = """\
require "socket"

server = TCPServer.new("0.0.0.0", Integer(ENV.fetch("PORT")))
loop do
  client = server.accept
  while (line = client.gets) && line != "\\r\\n"; end
  body = "ruby #{RUBY_VERSION} | #{ENV['GREETING']}"
  head = "HTTP/1.1 200 OK\\r\\nContent-Length: #{body.bytesize}\\r\\nConnection: close\\r\\n\\r\\n"
  client.write head + body
  client.close
end
"""

PHP_APP = """<?php
echo "php " . PHP_VERSION . " | " . getenv("GREETING");
"""

JAVA_APP = """\
import com.sun.net.httpserver.HttpServer;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;

public class Hello {
    public static void main(String[] args) throws Exception {
        int port = Integer.parseInt(System.getenv("PORT"));
        HttpServer server = HttpServer.create(new InetSocketAddress(port), 0);
        server.createContext("/", exchange -> {
            byte[] body = ("java " + System.getProperty("java.version") + " | " + System.getenv("GREETING"))
                .getBytes(StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(200, body.length);
            exchange.getResponseBody().write(body);
            exchange.close();
        });
        server.start();
    }
}
"""

RUNTIME_APPS: dict[str, tuple[dict[str, str], str, str, str]] = {
    # runtime: (files, build commands, run command, what the answer starts with)
    "go1": (
        {"main.go": GO_APP, "go.mod": "module hello\n\ngo 1.19\n"},
        "      - go env GOPATH GOCACHE CGO_ENABLED > goenv.txt\n      - go build -trimpath -o app",
        "./app",
        "go go1.19",
    ),
    "ruby31": (
        {"server.rb": RUBY_APP, "Gemfile": "# the standard library is enough\n"},
        "      - ruby -c server.rb\n      - bundle install",
        "bundle exec ruby server.rb",
        "ruby 3.1.",
    ),
    "php81": (
        {"index.php": PHP_APP},
        "      - php -l index.php",
        "php -S 0.0.0.0:$PORT index.php",
        "php 8.2.",
    ),
    "corretto11": (
        {"Hello.java": JAVA_APP},
        "      - javac --release 11 -d classes Hello.java",
        "java -cp classes Hello",
        "java 17.",
    ),
    "corretto8": (
        {"Hello.java": JAVA_APP},
        "      - javac --release 8 -d classes Hello.java",
        "java -cp classes Hello",
        "java 17.",
    ),
}


def _runtime_source(tmp_path: Path, runtime: str) -> Path:
    """A source directory of RUNTIME_APPS: the app's files and its apprunner.yaml."""
    files, build, command, _ = RUNTIME_APPS[runtime]
    source = tmp_path / runtime
    source.mkdir()
    for name, text in files.items():
        (source / name).write_text(text)
    (source / "apprunner.yaml").write_text(
        f"version: 1.0\nruntime: {runtime}\nbuild:\n  commands:\n    build:\n{build}\n"
        f"run:\n  command: {command}\n"
    )
    return source


@pytest.mark.parametrize("runtime", sorted(RUNTIME_APPS))
def test_managed_runtime_base_builds_and_serves_a_tiny_app(runtime: str, tmp_path: Path) -> None:
    """Each runtime on its base built from Debian packages (cached after the first build): the
    generated Dockerfile builds the app with the runtime's own tools, and `docker run` serves it
    on the port App Runner gives (PORT, default 8080)."""
    _require_docker()
    from ecsk.cli import apprunner_cmd
    from ecsk.cluster.kind import images

    source = _runtime_source(tmp_path, runtime)
    starts = RUNTIME_APPS[runtime][3]
    config = apprunner_cmd.read_config(source)
    base = images.runtime_base(config.runtime.language, print)
    tag = f"ecsk-test/{runtime}:{uuid_hex()}"
    with apprunner_cmd.managed_context(source, config, base) as (ctx, dockerfile):
        built = subprocess.run(["nice", "docker", "build", "-q", "-t", tag, "-f", str(dockerfile), str(ctx)],
                               capture_output=True, text=True, check=False)  # fmt: skip
    assert built.returncode == 0, built.stderr
    try:
        assert _serve_on(tag, 8080, starts).endswith(" | hi")
        if runtime == "go1":  # the build ran with the base's Go environment, the binary in /app
            goenv = subprocess.run(["docker", "run", "--rm", tag, "sh", "-c", "cat goenv.txt; ls -l app"],
                                   capture_output=True, text=True, check=True)  # fmt: skip
            assert goenv.stdout.splitlines()[:3] == ["/go", "/go/cache", "0"], goenv.stdout
    finally:
        subprocess.run(["docker", "rmi", "-f", tag], capture_output=True, check=False)


def test_go1_source_deploy_runs_on_the_cluster_and_serves(
    apprunner: Any, api: pykube.HTTPClient, operator_ns: str, tmp_path: Path
) -> None:
    """`ecsk apprunner deploy --source` of a go1 directory end to end: built on the Go base,
    pushed to the local ECR, the service RUNNING with App Runner's default port, the pushed
    image serving."""
    _require_docker()
    ns, name = operator_ns, f"go-{operator_ns[-8:]}"
    source = _runtime_source(tmp_path, "go1")
    with _pushed(apprunner, name):
        done = _deploy(apprunner, source, name, port=None)
        assert done.returncode == 0, done.stderr
        assert "runtime go1" in done.stderr and "created" in done.stderr
        st = wait_for(lambda: running(api, ns, name), 120, what="the go1 service RUNNING")
        svc = apprunner.describe_service(ServiceArn=st["ServiceArn"])["Service"]
        assert svc["SourceConfiguration"]["ImageRepository"]["ImageConfiguration"]["Port"] == "8080"
        assert _serve_on(f"{ENDPOINTS[id(apprunner)][1]}/{name}:latest", 8080, "go go1.19.").endswith(" | hi")
