"""`ecsk copilot`: AWS Copilot's workflow on the local cluster, reading Copilot's manifests.

app init / env init / svc init write Copilot's workspace files and make an environment (a
namespace with its ECS cluster); svc deploy builds (when the manifest names a Dockerfile),
pushes to the environment's ECR repository, applies the ECS custom resources and waits for the
rollout; svc status / logs / ls read them back; svc / env / app delete remove exactly what was
made. The verbs live in `ecsk.copilot.commands`; this module parses options and prints.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from ecsk.cli.kube_api import pykube_api
from ecsk.copilot import commands
from ecsk.copilot import workspace as wsp

app = typer.Typer(help="AWS Copilot's workflow: applications, environments, services.", no_args_is_help=True)
app_app = typer.Typer(help="Applications: a workspace and its environments.", no_args_is_help=True)
env_app = typer.Typer(help="Environments: a namespace with its own ECS cluster.", no_args_is_help=True)
svc_app = typer.Typer(
    help="Services and jobs of the workspace (copilot/<name>/manifest.yml).", no_args_is_help=True
)
app.add_typer(app_app, name="app")
app.add_typer(env_app, name="env")
app.add_typer(svc_app, name="svc")
out = Console(soft_wrap=True, highlight=False)
err = Console(stderr=True, soft_wrap=True, highlight=False)

Dir = Annotated[Path, typer.Option("--dir", help="Where the workspace is (default: the working directory).")]
Name = Annotated[str, typer.Option("--name", "-n", help="Name of the service or job.")]
EnvName = Annotated[str, typer.Option("--env", "-e", help="Environment name.")]
AppOpt = Annotated[str | None, typer.Option("--app", "-a", help="Application (default: the workspace's).")]


def _fail(exc: Exception) -> typer.Exit:
    err.print(f"[red]error:[/red] {exc}")
    return typer.Exit(1)


def _print(lines: list[str]) -> None:
    for line in lines:
        out.print(line)


def _workspace(where: Path) -> wsp.Workspace:
    try:
        return wsp.require(where)
    except wsp.WorkspaceError as exc:
        raise _fail(exc) from exc


def _app_name(app_opt: str | None, where: Path) -> str:
    return app_opt or _workspace(where).app


def _run(step: Any) -> Any:
    try:
        return step()
    except (commands.CopilotError, commands.kube.KubeError) as exc:
        raise _fail(exc) from exc


@app_app.command("init")
def app_init(name: Annotated[str, typer.Argument(help="Application name.")], where: Dir = Path(".")) -> None:
    """Create copilot/.workspace for application NAME (Copilot's workspace file)."""
    _print(_run(lambda: commands.app_init(where, name)))
    out.print("next: `ecsk copilot env init --name test`, then `ecsk copilot svc init`")


@app_app.command("delete")
def app_delete(app_opt: AppOpt = None, where: Dir = Path(".")) -> None:
    """Delete every environment of the application (and what was deployed there)."""
    name = _app_name(app_opt, where)
    _print(_run(lambda: commands.app_delete(pykube_api(), name, wsp.find(where))))


@env_app.command("init")
def env_init(
    name: Name,
    app_opt: AppOpt = None,
    namespace: Annotated[
        str | None,
        typer.Option(
            help="Use this namespace (default: <app>-<env>, prefixed by $ECSK_COPILOT_NAMESPACE_PREFIX)."
        ),
    ] = None,
    launch_type: Annotated[
        str,
        typer.Option(
            "--launch-type",
            help="FARGATE (Copilot's) or EC2: on kind, EC2 tasks run real containers on the workers "
            "(Fargate nodes are simulated there).",
        ),
    ] = "FARGATE",
    where: Dir = Path("."),
) -> None:
    """Create an environment: a namespace (unless given) with an ECS cluster <app>-<env>."""
    app_name = _app_name(app_opt, where)
    _print(_run(lambda: commands.env_init(pykube_api(), app_name, name, namespace, launch_type=launch_type)))


@env_app.command("delete")
def env_delete(name: Name, app_opt: AppOpt = None, where: Dir = Path(".")) -> None:
    """Delete an environment: its workloads, cluster, record and (if env init made it) namespace."""
    app_name = _app_name(app_opt, where)
    _print(_run(lambda: commands.env_delete(pykube_api(), app_name, name)))


@env_app.command("ls")
def env_ls(app_opt: AppOpt = None, where: Dir = Path(".")) -> None:
    """The application's environments and their namespaces."""
    app_name = _app_name(app_opt, where)
    for record in _run(lambda: commands.kube.environments(pykube_api(), app_name)):
        out.print(f"{record['data']['environment']}\t{record['metadata']['namespace']}")


@svc_app.command("init")
def svc_init(
    name: Name,
    svc_type: Annotated[
        str,
        typer.Option(
            "--svc-type",
            "-t",
            help="Load Balanced Web Service, Backend Service, Request-Driven Web Service or Scheduled Job.",
        ),
    ],
    dockerfile: Annotated[
        str | None, typer.Option(help="Dockerfile to build (relative to the workspace).")
    ] = None,
    image: Annotated[str | None, typer.Option(help="An existing image instead of a Dockerfile.")] = None,
    port: Annotated[
        int | None, typer.Option(help="Container port (default: the Dockerfile's EXPOSE, else 80).")
    ] = None,
    schedule: Annotated[
        str | None, typer.Option(help="Scheduled Job: @daily, @every 1h, cron, rate(...).")
    ] = None,
    where: Dir = Path("."),
) -> None:
    """Write copilot/NAME/manifest.yml in Copilot's manifest format."""
    ws = _workspace(where)
    _print(
        _run(
            lambda: commands.svc_init(
                ws, name, svc_type, dockerfile=dockerfile, image=image, port=port, schedule=schedule
            )
        )
    )


@svc_app.command("deploy")
def svc_deploy(
    name: Name,
    env: EnvName,
    tag: Annotated[
        str | None, typer.Option(help="Image tag for a built image (default: a timestamp).")
    ] = None,
    wait: Annotated[float, typer.Option(help="Seconds to wait for the rollout (0: do not wait).")] = 300.0,
    where: Dir = Path("."),
) -> None:
    """Build and push (if the manifest names a Dockerfile), apply, and wait for the rollout."""
    ws = _workspace(where)
    done = _run(lambda: commands.svc_deploy(pykube_api(), ws, name, env, tag=tag, wait=wait, say=err.print))
    for line in done.applied:
        out.print(f"applied {line}")
    for line in done.pruned:
        out.print(f"deleted {line} (no longer in the manifest)")
    if done.image:
        out.print(f"image {done.image}")
    if done.state:
        out.print(f"{name} in {env}: {done.state}")
        if done.state.startswith("FAILED"):
            raise typer.Exit(1)


def _show_status(st: dict[str, Any]) -> None:
    out.print(f"{st['kind']} {st['name']} (namespace {st['namespace']}): {st['state']}")
    for key in ("desired", "running", "pending", "autoscaling", "schedule", "enabled", "lastRun", "url"):
        if st.get(key) is not None:
            out.print(f"  {key}: {st[key]}")
    if st.get("deployments"):
        table = Table("deployment", "task definition", "desired", "running", "rollout")
        for d in st["deployments"]:
            table.add_row(
                *(
                    str(d.get(k) or "")
                    for k in ("status", "taskDefinition", "desiredCount", "runningCount", "rolloutState")
                )
            )
        out.print(table)
    if st.get("tasks"):
        table = Table("task", "last status", "health", "node")
        for t in st["tasks"]:
            table.add_row(t["id"], t["lastStatus"], t["health"], t["node"] or "")
        out.print(table)
    for event in st.get("events") or []:
        out.print(f"  event: {event}")


@svc_app.command("status")
def svc_status(name: Name, env: EnvName, app_opt: AppOpt = None, where: Dir = Path(".")) -> None:
    """Desired and running tasks, deployments, task health (or a job's schedule)."""
    app_name = _app_name(app_opt, where)
    api = pykube_api()
    _show_status(_run(lambda: commands.status(api, commands.environment(api, app_name, env), name)))


@svc_app.command("logs")
def svc_logs(
    name: Name,
    env: EnvName,
    tail: Annotated[int | None, typer.Option(help="Last N lines of each task.")] = None,
    app_opt: AppOpt = None,
    where: Dir = Path("."),
) -> None:
    """The tasks' container logs (awslogs group /copilot/<app>-<env>-<svc>)."""
    app_name = _app_name(app_opt, where)
    api = pykube_api()
    _print(_run(lambda: commands.logs(api, commands.environment(api, app_name, env), name, tail)))


@svc_app.command("ls")
def svc_ls(where: Dir = Path(".")) -> None:
    """The workspace's services and jobs, and where each is deployed."""
    ws = _workspace(where)
    table = Table("name", "type", "environments")
    for row in _run(lambda: commands.svc_ls(pykube_api(), ws)):
        table.add_row(row["name"], row["type"], row["environments"])
    out.print(table)


@svc_app.command("delete")
def svc_delete(
    name: Name,
    env: Annotated[
        str | None, typer.Option("--env", "-e", help="Only this environment (default: all).")
    ] = None,
    app_opt: AppOpt = None,
    where: Dir = Path("."),
) -> None:
    """Delete the service from an environment (or all); its manifest stays."""
    app_name = _app_name(app_opt, where)
    _print(_run(lambda: commands.svc_delete(pykube_api(), app_name, name, env)))
