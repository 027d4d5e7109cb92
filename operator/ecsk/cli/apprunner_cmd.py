"""`ecsk apprunner deploy --source DIR`: App Runner's source deploy on the local cluster.

Build the directory's Dockerfile with Docker, push the image to the local ECR (the registry's
front door on 127.0.0.1:4598, logged in with ECR's token from the AWS API endpoint), then create
the App Runner service, or update it, through the endpoint's App Runner API. The service follows
the pushed tag (AutoDeploymentsEnabled), so pushing again redeploys it. Every step before the
service is touched must succeed: a failed build or push leaves the running service as it was.

A directory without a Dockerfile is built from its `apprunner.yaml` (App Runner's managed
runtimes, `ecsk.core.apprunner.runtimes`): the file is checked first (a bad one stops everything),
the runtime's base image is built from Debian's packages if missing (`ecsk.cluster.kind.images`),
and the generated Dockerfile builds a copy of the directory in a temporary build context (the
source directory is never written to). The file's port, env and secrets become the service's
ImageConfiguration; its start command is the image's CMD.

`ecsk apprunner load NAME --concurrency N` sets a service's simulated concurrent requests (what
the HPA scales on, `ecsk load` for App Runner).
"""

from __future__ import annotations

import base64
import datetime as dt
import os
import re
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from ecsk.api.context import DEFAULT_PORT
from ecsk.cluster import docker
from ecsk.core.apprunner import runtimes
from ecsk.core.apprunner.models import DEFAULT_PORT as APP_PORT

app = typer.Typer(help="AWS App Runner services: deploy from source, simulate load.", no_args_is_help=True)
console = Console(stderr=True, soft_wrap=True)

REGISTRY = "127.0.0.1:4598"
DeployError = docker.DockerError
"""A step failed; the message says which and why (the service was not touched)."""


def service_name(source: Path, name: str | None) -> str:
    """The App Runner ServiceName: --name, else the directory's name made to fit
    [A-Za-z0-9][A-Za-z0-9-_]{3,39} (App Runner's pattern)."""
    if name:
        return name
    base = re.sub(r"[^A-Za-z0-9_-]+", "-", source.resolve().name).strip("-_") or "app"
    return (base if len(base) >= 4 else f"{base}-app")[:40]


def docker_missing(run: docker.Run = docker.run_command) -> str | None:
    """Why Docker cannot build here, or None."""
    return docker.missing("App Runner source deploys build the image with Docker", run)


@dataclass
class Deployer:
    """The steps of one deploy, with the clients injectable (tests run them without Docker)."""

    ecr: Any
    apprunner: Any
    run: docker.Run = docker.run_command
    registry: str = REGISTRY

    def repository_uri(self, repo: str) -> str:
        try:
            found = self.ecr.describe_repositories(repositoryNames=[repo])["repositories"][0]
        except self.ecr.exceptions.RepositoryNotFoundException:
            found = self.ecr.create_repository(repositoryName=repo)["repository"]
        return str(found["repositoryUri"])

    def push(self, source: Path, repo: str, tag: str, dockerfile: Path | None = None) -> None:
        token = self.ecr.get_authorization_token()["authorizationData"][0]["authorizationToken"]
        user, _, password = base64.b64decode(token).decode().partition(":")
        docker.login(self.registry, user, password, run=self.run)
        local = f"{self.registry}/{repo}"
        tags = [f"{local}:{tag}", f"{local}:latest"]
        docker.build(tags, str(source), dockerfile=str(dockerfile) if dockerfile else None, run=self.run)
        docker.push(f"{local}:{tag}", run=self.run)
        docker.push(f"{local}:latest", run=self.run)

    def find_service(self, name: str) -> str | None:
        token = None
        while True:
            page = self.apprunner.list_services(**({"NextToken": token} if token else {}))
            for s in page["ServiceSummaryList"]:
                if s["ServiceName"] == name:
                    return str(s["ServiceArn"])
            token = page.get("NextToken")
            if not token:
                return None

    def deploy(
        self,
        source: Path,
        name: str,
        port: str,
        *,
        dockerfile: Path | None = None,
        image_config: Mapping[str, Any] | None = None,
    ) -> tuple[str, str]:
        """Build, push, then create or update; returns (ServiceArn, what was done).
        `image_config` (a managed runtime's env and secrets) joins ImageConfiguration's Port."""
        repo = name.lower().replace("_", "-")
        uri = self.repository_uri(repo)
        self.push(source, repo, dt.datetime.now(dt.UTC).strftime("%Y%m%d%H%M%S"), dockerfile)
        source_cfg = {
            "ImageRepository": {
                "ImageIdentifier": f"{uri}:latest",
                "ImageRepositoryType": "ECR",
                "ImageConfiguration": {**(image_config or {}), "Port": port},
            },
            "AutoDeploymentsEnabled": True,
        }
        arn = self.find_service(name)
        if arn is None:
            made = self.apprunner.create_service(ServiceName=name, SourceConfiguration=source_cfg)
            return str(made["Service"]["ServiceArn"]), "created"
        current = self.apprunner.describe_service(ServiceArn=arn)["Service"]["SourceConfiguration"]
        if current == source_cfg:
            return arn, "deploying the pushed image (automatic deployment)"
        self.apprunner.update_service(ServiceArn=arn, SourceConfiguration=source_cfg)
        return arn, "updated"


def _clients(endpoint: str, region: str) -> tuple[Any, Any]:
    import boto3

    keys = {
        "aws_access_key_id": os.environ.get("AWS_ACCESS_KEY_ID") or "local",
        "aws_secret_access_key": os.environ.get("AWS_SECRET_ACCESS_KEY") or "local",
    }
    return (
        boto3.client("ecr", endpoint_url=endpoint, region_name=region, **keys),
        boto3.client("apprunner", endpoint_url=endpoint, region_name=region, **keys),
    )


def read_config(source: Path) -> runtimes.Config:
    """The directory's apprunner.yaml, checked (ConfigError names every bad field)."""
    try:
        text = (source / runtimes.CONFIG_FILE).read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise runtimes.ConfigError([f"{runtimes.CONFIG_FILE}: cannot be read: {exc}"]) from None
    return runtimes.parse(text)


@contextmanager
def managed_context(
    source: Path, config: runtimes.Config, base: str, run: docker.Run = docker.run_command
) -> Iterator[tuple[Path, Path]]:
    """(build context, Dockerfile) in a temporary directory: a copy of the source (without
    .git) and the generated Dockerfile beside it, removed afterwards with the build's leftover
    build stage; the source is untouched."""
    with tempfile.TemporaryDirectory(prefix="ecsk-apprunner-") as tmp:
        context = Path(tmp) / "context"
        shutil.copytree(source, context, symlinks=True, ignore=shutil.ignore_patterns(".git"))
        dockerfile = Path(tmp) / "Dockerfile"
        build_id = Path(tmp).name
        dockerfile.write_text(runtimes.dockerfile(config, base, build_id))
        try:
            yield context, dockerfile
        finally:
            if config.runtime.revised:
                docker.prune_label(f"{runtimes.BUILD_STAGE_LABEL}={build_id}", run=run)


def _fail(message: str, code: int = 1) -> typer.Exit:
    console.print(f"[red]error:[/red] {message}", highlight=False)
    return typer.Exit(code)


def _check_source(source: Path, port: str | None) -> runtimes.Config | None:
    """None for a Dockerfile build; the checked apprunner.yaml without one (exits on a bad one)."""
    if not source.is_dir():
        raise _fail(f"--source {source}: not a directory", 2)
    if (source / "Dockerfile").is_file():
        return None
    if not (source / runtimes.CONFIG_FILE).is_file():
        raise _fail(f"--source {source}: no Dockerfile and no {runtimes.CONFIG_FILE} in it", 2)
    try:
        config = read_config(source)
    except runtimes.ConfigError as exc:
        for line in exc.problems:
            console.print(f"[red]error:[/red] {line}", highlight=False)
        raise _fail("nothing was built or changed") from None
    if port is not None and port != str(config.port):
        raise _fail(f"--port {port} differs from run.network.port {config.port} in {runtimes.CONFIG_FILE}", 2)
    for note in config.notes:
        console.print(f"note: {note}", highlight=False)
    return config


@app.command()
def deploy(
    source: Annotated[
        Path,
        typer.Option("--source", help="Directory with a Dockerfile, or an apprunner.yaml (managed runtime)."),
    ],
    name: Annotated[
        str | None, typer.Option("--name", help="ServiceName (default: the directory's name).")
    ] = None,
    port: Annotated[
        str | None,
        typer.Option(
            help="The port the application listens on (default 8080; apprunner.yaml: run.network.port)."
        ),
    ] = None,
    endpoint: Annotated[
        str | None, typer.Option(help="AWS API endpoint (default: $AWS_ENDPOINT_URL, else the local one).")
    ] = None,
    region: Annotated[str, typer.Option(help="Region the endpoint serves.")] = "us-east-1",
    registry: Annotated[
        str, typer.Option(help="The registry's front door (host:port) images are pushed to.")
    ] = REGISTRY,
) -> None:
    """Build DIR (its Dockerfile, else its apprunner.yaml), push it to the local ECR, create or
    update the App Runner service."""
    config = _check_source(source, port)
    missing = docker_missing()
    if missing:
        raise _fail(f"cannot deploy from source: {missing}. Nothing was changed.")
    url = endpoint or os.environ.get("AWS_ENDPOINT_URL") or f"http://127.0.0.1:{DEFAULT_PORT}"
    ecr, runner = _clients(url, region)
    svc = service_name(source, name)
    deployer = Deployer(ecr, runner, registry=registry)
    try:
        if config is None:
            arn, done = deployer.deploy(source, svc, port or APP_PORT)
        else:
            arn, done = _deploy_managed(deployer, source, svc, config)
    except DeployError as exc:
        raise _fail(f"{exc}. The service was not changed.") from exc
    console.print(f"service {svc} {done}: {arn}", highlight=False)
    typer.echo(arn)


def _deploy_managed(deployer: Deployer, source: Path, svc: str, config: runtimes.Config) -> tuple[str, str]:
    from ecsk.cluster.kind import images, steps

    try:
        base = images.runtime_base(config.runtime.language, lambda line: console.print(line, highlight=False))
    except steps.StepError as exc:
        raise DeployError(f"building the {config.runtime.name} base image failed: {exc}") from exc
    console.print(f"building {svc} with runtime {config.runtime.name} on {base}", highlight=False)
    with managed_context(source, config, base, deployer.run) as (context, dockerfile):
        return deployer.deploy(
            context, svc, str(config.port), dockerfile=dockerfile, image_config=config.image_configuration()
        )


@app.command()
def load(
    name: Annotated[str, typer.Argument(help="AppRunnerService (object name or ServiceName).")],
    concurrency: Annotated[float, typer.Option(help="Concurrent requests in total (-1 clears).")],
    namespace: Annotated[str, typer.Option("--namespace", "-n")] = "default",
) -> None:
    """Set a service's simulated concurrent requests (the HPA adds an instance per MaxConcurrency)."""
    import pykube

    from ecsk.cli.kube_api import pykube_api
    from ecsk.core.autoscaling.external import CONCURRENCY_ANNOTATION

    api = pykube_api()
    cls = pykube.object_factory(api, "ecs.ecsk.io/v1alpha1", "AppRunnerService")
    found = [
        o
        for o in cls.objects(api, namespace=namespace)
        if name in (o.name, (o.obj.get("spec") or {}).get("ServiceName"))
    ]
    if not found:
        console.print(f"[red]error:[/red] ResourceNotFoundException: service {name} not found in {namespace}")
        raise typer.Exit(1)
    value = None if concurrency < 0 else f"{concurrency:g}"
    found[0].patch({"metadata": {"annotations": {CONCURRENCY_ANNOTATION: value}}})
    console.print(f"service {name}: concurrent-requests={value or 'cleared'}", highlight=False)
