"""`ecsk envfile put|delete`: the local stand-in for the S3 objects a task definition's
`environmentFiles` name. ecsk has no S3; an environment file is kept as the ConfigMap the task's
pods read it from (`s3.<bucket>.<key>`, `envFrom`), parsed with ECS's file rules when put, so a
bad line is refused here rather than at task start."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import typer

from ecsk.cli.kube_api import pykube_api
from ecsk.core.translate.names import LABEL_STORE, MANAGED_BY, s3_configmap_name
from ecsk.core.translate.secrets import parse_env_file

app = typer.Typer(
    help="Environment files (the S3 objects of `environmentFiles`), kept as ConfigMaps.", no_args_is_help=True
)

S3_ARN = re.compile(r"^arn:aws[a-z-]*:s3:::[a-z0-9.\-]{3,63}/.+\.env$")
ANN_ARN = "ecs.ecsk.io/s3-object"
NAMESPACE_HELP = "Namespace of the tasks that read the file (the AWS endpoint's namespace)."


def _arn(target: str) -> str:
    """`s3://bucket/key.env` (how `aws s3 cp` names it) or the object ARN the task definition uses."""
    arn = f"arn:aws:s3:::{target[len('s3://') :]}" if target.startswith("s3://") else target
    if not S3_ARN.match(arn):
        raise typer.BadParameter(
            "The environment file must be the ARN of an Amazon S3 object with a .env file extension "
            "(or s3://bucket/key.env).",
            param_hint="TARGET",
        )
    return arn


@app.command()
def put(
    target: Annotated[str, typer.Argument(help="s3://bucket/key.env or arn:aws:s3:::bucket/key.env")],
    source: Annotated[
        Path, typer.Argument(help="Local file in KEY=VALUE lines.", exists=True, dir_okay=False)
    ],
    namespace: Annotated[str, typer.Option("--namespace", "-n", help=NAMESPACE_HELP)] = "default",
) -> None:
    """Upload FILE as the environment file TARGET (like `aws s3 cp FILE TARGET`)."""
    import pykube

    arn = _arn(target)
    found, problems = parse_env_file(source.read_text())
    if problems:
        typer.echo(f"{source}: " + "; ".join(problems), err=True)
        raise typer.Exit(2)
    name = s3_configmap_name(arn)
    body = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {LABEL_STORE: "s3", MANAGED_BY: "ecsk"},
            "annotations": {ANN_ARN: arn},
        },
        "data": found,
    }
    obj = pykube.ConfigMap(pykube_api(), body)
    if obj.exists():
        obj.update()
    else:
        obj.create()
    typer.echo(f"upload: {source} to {arn} (ConfigMap {namespace}/{name}, {len(found)} variables)")


@app.command()
def delete(
    target: Annotated[str, typer.Argument(help="s3://bucket/key.env or arn:aws:s3:::bucket/key.env")],
    namespace: Annotated[str, typer.Option("--namespace", "-n", help=NAMESPACE_HELP)] = "default",
) -> None:
    """Remove the environment file TARGET (new tasks that name it then fail to start)."""
    import pykube

    name = s3_configmap_name(_arn(target))
    obj = pykube.ConfigMap(pykube_api(), {"metadata": {"name": name, "namespace": namespace}})
    if obj.exists():
        obj.delete()
    typer.echo(f"delete: {target}")
