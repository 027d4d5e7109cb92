"""Entry point of the `ecsk` command: each command group lives in its own module and is mounted here."""

from __future__ import annotations

import typer

from ecsk.cli import (
    api_cmd,
    apprunner_cmd,
    attributes_cmd,
    cluster_cmd,
    copilot_cmd,
    envfile_cmd,
    instances_cmd,
    kind_cmd,
    lab_cmd,
    load_cmd,
    metrics_adapter_cmd,
    operator_cmd,
    placement_cmd,
    render_cmd,
    tasks_cmd,
)

app = typer.Typer(
    name="ecsk",
    help="Amazon ECS, emulated on real Kubernetes.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(cluster_cmd.app, name="cluster")
app.add_typer(kind_cmd.app, name="kind")
app.add_typer(attributes_cmd.app, name="attributes")
app.add_typer(api_cmd.app, name="api")
app.add_typer(envfile_cmd.app, name="envfile")
app.add_typer(lab_cmd.app, name="lab")
app.add_typer(apprunner_cmd.app, name="apprunner")
app.add_typer(copilot_cmd.app, name="copilot")
app.command("render")(render_cmd.render)
app.command("import")(render_cmd.import_documents)
app.command("operator")(operator_cmd.operator)
app.command("tasks")(tasks_cmd.tasks)
app.command("placement")(placement_cmd.placement)
app.command("instances")(instances_cmd.instances)
app.command("load")(load_cmd.load)
app.command("metrics-adapter")(metrics_adapter_cmd.metrics_adapter)


if __name__ == "__main__":  # pragma: no cover
    app()
