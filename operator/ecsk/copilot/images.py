"""Building a workload's image and pushing it to the environment's ECR repository.

Copilot builds `image.build` with Docker and pushes to the ECR repository `<app>/<svc>`. Here
the repository is a Repository resource in the environment's namespace, made by the ECR API's
own handlers (in process, as `aws ecr create-repository` against an endpoint serving that
namespace would), so the operator's pull check for the environment's tasks finds it. Docker
pushes through ECR's front door (`ecsk.api.ecr.gate`: login, repository existence, tag
immutability, repository policy) started for the push on a free 127.0.0.1 port and scoped to
the environment's namespace; it forwards to the local registry (Distribution) that `ecsk cluster
up` runs. The shared front door on 127.0.0.1:4598 answers for the endpoint's own namespace only.
Every step must succeed before anything is applied: a failed build or push leaves the running
service as it was.
"""

from __future__ import annotations

import base64
import datetime as dt
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ecsk.cluster import docker
from ecsk.copilot import kube
from ecsk.core.copilot import Build, Environment, names

HOST = "127.0.0.1"


class ImageError(Exception):
    """The image could not be built or pushed; nothing was deployed."""


def api_context(api: Any, env: Environment) -> Any:
    """The AWS endpoint's handlers for the environment's namespace, in process."""
    from kubernetes import config as k8s_config

    from ecsk.api.context import Context, Settings
    from ecsk.api.store import Store
    from ecsk.cluster import paths, registry

    path = getattr(api.config, "filepath", None)
    client = k8s_config.new_client_from_config(config_file=str(path)) if path else None
    settings = Settings(
        namespace=env.namespace,
        account=env.account,
        region=env.region,
        registry_url=registry.url(),
        registry_storage=str(registry.storage_dir(paths.home())),
    )
    return Context(store=Store(env.namespace, client), settings=settings)


def ensure_repository(api: Any, ctx: Any, env: Environment, svc: str) -> str:
    """The repository `<app>/<svc>` (created if missing, labelled as the workload's)."""
    from ecsk.api.ecr import repositories
    from ecsk.api.errors import AwsError

    name = env.repository(svc)
    tags = [{"Key": k, "Value": v} for k, v in names.tags(env.app, env.env, svc)]
    try:
        made = repositories.create_repository(ctx, {"repositoryName": name, "tags": tags})
        uri = str(made["repository"]["repositoryUri"])
    except AwsError as exc:
        if exc.code != "RepositoryAlreadyExistsException":
            raise ImageError(f"ECR refused to create repository {name}: {exc.code}: {exc.message}") from exc
        found = repositories.describe_repositories(ctx, {"repositoryNames": [name]})["repositories"][0]
        uri = str(found["repositoryUri"])
    for obj in kube.listed(api, "Repository", env.namespace, ""):
        if (obj.get("spec") or {}).get("repositoryName") == name:
            labelled = {
                "apiVersion": kube.API_VERSION,
                "kind": "Repository",
                "metadata": {
                    "name": obj["metadata"]["name"],
                    "namespace": env.namespace,
                    "labels": names.labels(env.app, env.env, svc),
                },
            }
            kube.apply(api, labelled)
    return uri


def delete_repository(ctx: Any, env: Environment, svc: str) -> bool:
    """Delete the workload's repository and its images from the registry (ECR's force delete)."""
    from ecsk.api.ecr import repositories
    from ecsk.api.errors import AwsError

    try:
        repositories.delete_repository(ctx, {"repositoryName": env.repository(svc), "force": True})
    except AwsError as exc:
        if exc.code == "RepositoryNotFoundException":
            return False
        raise ImageError(f"ECR refused to delete repository {env.repository(svc)}: {exc.message}") from exc
    return True


@contextmanager
def front_door(ctx: Any) -> Iterator[str]:
    """ECR's front door for the environment's namespace on a free port, for one push."""
    from ecsk.api.ecr import gate

    server = gate.serve(HOST, 0, ctx.store, ctx.settings)
    thread = threading.Thread(target=server.serve_forever, name="copilot-ecr-gate", daemon=True)
    thread.start()
    try:
        yield f"{HOST}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


def default_tag() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y%m%d%H%M%S")


def build_and_push(
    api: Any,
    env: Environment,
    svc: str,
    build: Build,
    root: str,
    tag: str,
    run: docker.Run = docker.run_command,
) -> str:
    """Build `build` (paths relative to the workspace `root`), push `<app>/<svc>:<tag>`; the
    image URI the task definition names."""
    why = docker.missing("the manifest names a Dockerfile: `image.build` is built with Docker", run)
    if why:
        raise ImageError(f"cannot build {svc}'s image: {why}. Nothing was deployed")
    ctx = api_context(api, env)
    uri = ensure_repository(api, ctx, env, svc)
    from ecsk.api.ecr import auth

    token = auth.get_authorization_token(ctx, {})["authorizationData"][0]["authorizationToken"]
    user, _, password = base64.b64decode(token).decode().partition(":")
    platform = None if build.platform == "linux/amd64" else build.platform
    try:
        with front_door(ctx) as door:
            local = f"{door}/{env.repository(svc)}:{tag}"
            docker.login(door, user, password, run=run)
            docker.build(
                [local],
                str(Path(root) / build.context),
                dockerfile=str(Path(root) / build.dockerfile),
                target=build.target,
                cache_from=build.cache_from,
                args=build.args,
                platform=platform,
                run=run,
            )
            docker.push(local, run=run)
    except (docker.DockerError, OSError) as exc:
        raise ImageError(f"{exc}. Nothing was deployed") from exc
    return f"{uri}:{tag}"
