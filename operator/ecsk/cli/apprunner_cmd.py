"""`ecsk apprunner deploy --source DIR`: App Runner's source deploy on the local cluster.

Build the directory's Dockerfile with Docker, push the image to the local ECR (the registry's
front door on 127.0.0.1:4598, logged in with ECR's token from the AWS API endpoint), then create
the App Runner service, or update it, through the endpoint's App Runner API. The service follows
the pushed tag (AutoDeploymentsEnabled), so pushing again redeploys it. Every step before the
service is touched must succeed: a failed build or push leaves the running service as it was.

`ecsk apprunner load NAME --concurrency N` sets a service's simulated concurrent requests (what
the HPA scales on, `ecsk load` for App Runner). Managed runtimes (`apprunner.yaml` without a
Dockerfile) are not supported: the command says so.
"""

from __future__ import annotations

import base64
import datetime as dt
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from ecsk.api.context import DEFAULT_PORT
from ecsk.cluster import docker

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

    def push(self, source: Path, repo: str, tag: str) -> None:
        token = self.ecr.get_authorization_token()["authorizationData"][0]["authorizationToken"]
        user, _, password = base64.b64decode(token).decode().partition(":")
        docker.login(self.registry, user, password, run=self.run)
        local = f"{self.registry}/{repo}"
        docker.build([f"{local}:{tag}", f"{local}:latest"], str(source), run=self.run)
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

    def deploy(self, source: Path, name: str, port: str) -> tuple[str, str]:
        """Build, push, then create or update; returns (ServiceArn, what was done)."""
        repo = name.lower().replace("_", "-")
        uri = self.repository_uri(repo)
        self.push(source, repo, dt.datetime.now(dt.UTC).strftime("%Y%m%d%H%M%S"))
        source_cfg = {
            "ImageRepository": {
                "ImageIdentifier": f"{uri}:latest",
                "ImageRepositoryType": "ECR",
                "ImageConfiguration": {"Port": port},
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


@app.command()
def deploy(
    source: Annotated[Path, typer.Option("--source", help="Directory with a Dockerfile.")],
    name: Annotated[
        str | None, typer.Option("--name", help="ServiceName (default: the directory's name).")
    ] = None,
    port: Annotated[
        str, typer.Option(help="The port the application listens on (App Runner's default).")
    ] = "8080",
    endpoint: Annotated[
        str | None, typer.Option(help="AWS API endpoint (default: $AWS_ENDPOINT_URL, else the local one).")
    ] = None,
    region: Annotated[str, typer.Option(help="Region the endpoint serves.")] = "us-east-1",
    registry: Annotated[
        str, typer.Option(help="The registry's front door (host:port) images are pushed to.")
    ] = REGISTRY,
) -> None:
    """Build DIR's Dockerfile, push it to the local ECR, create or update the App Runner service."""
    if not source.is_dir():
        console.print(f"[red]error:[/red] --source {source}: not a directory")
        raise typer.Exit(2)
    if not (source / "Dockerfile").is_file():
        managed = (source / "apprunner.yaml").is_file()
        why = (
            "apprunner.yaml managed runtimes are not supported by ecsk: add a Dockerfile"
            if managed
            else "no Dockerfile in it"
        )
        console.print(f"[red]error:[/red] --source {source}: {why}")
        raise typer.Exit(2)
    missing = docker_missing()
    if missing:
        console.print(f"[red]error:[/red] cannot deploy from source: {missing}. Nothing was changed.")
        raise typer.Exit(1)
    url = endpoint or os.environ.get("AWS_ENDPOINT_URL") or f"http://127.0.0.1:{DEFAULT_PORT}"
    ecr, runner = _clients(url, region)
    svc = service_name(source, name)
    try:
        arn, done = Deployer(ecr, runner, registry=registry).deploy(source, svc, port)
    except DeployError as exc:
        console.print(f"[red]error:[/red] {exc}. The service was not changed.")
        raise typer.Exit(1) from exc
    console.print(f"service {svc} {done}: {arn}", highlight=False)
    typer.echo(arn)


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
