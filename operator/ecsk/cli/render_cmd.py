"""`ecsk render` and `ecsk import`: offline use of the translation core.

`render` shows exactly what the operator would apply for the given ECS documents (same pure core),
so a user can review or `kubectl apply` it without the operator; `import` turns AWS JSON into our
custom resources so existing ECS definitions can be applied to the cluster unchanged.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from ecsk.core.models import API_VERSION, ECSService, LoadedDocument, TaskDefinition, ecspresso
from ecsk.core.placement import offline_hook
from ecsk.core.translate import RenderOptions, names
from ecsk.core.translate.bundle import BundleItem, render_documents, task_definition_ref

err = Console(stderr=True, highlight=False, soft_wrap=True)  # never hard-wrap errors: they get grepped

FilesOpt = Annotated[
    list[str],
    typer.Option(
        "--filename", "-f", help="Input file (AWS JSON, register/create input, or ecsk YAML); - = stdin."
    ),
]


def _read(files: list[str], fill: dict[str, str | None] | None = None) -> list[LoadedDocument]:
    """Every document of every file. An ecspresso config brings its service and task definition
    files; ecspresso templates are evaluated with the environment; `fill` completes a bare
    service definition (`--service-name`, `--task-definition`, `--cluster`)."""
    docs: list[LoadedDocument] = []
    for f in files:
        if ecspresso.is_jsonnet(f):
            docs.append(ecspresso.jsonnet_refusal(f))
            continue
        text = sys.stdin.read() if f == "-" else Path(f).read_text()
        if ecspresso.is_config_text(text):
            loaded = ecspresso.load_project(text, f, lambda p: Path(p).read_text(), os.environ)
        else:
            loaded = ecspresso.load_definition(text, f, os.environ, fill)
            for doc in loaded:
                doc.source = f"{f}: {doc.source}" if doc.source and doc.source != f else f
        docs.extend(loaded)
    return docs


def _fill(
    service_name: str | None, task_definition: str | None, cluster: str | None
) -> dict[str, str | None] | None:
    """What completes a bare service definition; None (plain input) unless a name flag is given."""
    if service_name is None and task_definition is None:
        return None
    return {"serviceName": service_name, "taskDefinition": task_definition, "cluster": cluster}


ServiceNameOpt = Annotated[
    str | None,
    typer.Option("--service-name", help="serviceName of a bare service definition (ecspresso style)."),
]
TaskDefinitionOpt = Annotated[
    str | None,
    typer.Option(
        "--task-definition", help="taskDefinition (family[:revision]) for a bare service definition."
    ),
]


def _rewrite_map(pairs: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in pairs:
        src, sep, dst = pair.partition("=")
        if not sep or not src:
            raise typer.BadParameter(f"--image-rewrite expects FROM=TO, got {pair!r}")
        out[src] = dst
    return out


_COLOUR = {"error": "red", "warning": "yellow"}


def _report(severity: str, where: str, path: str, message: str, rule: str = "") -> None:
    colour = _COLOUR.get(severity, "dim")
    text = escape(f"{where}: {path or '-'}: {message}")
    tail = f" [dim]({escape(rule)})[/dim]" if rule else ""
    err.print(f"[{colour}]{severity}[/{colour}] {text}{tail}")


def _print_issues(items: list[BundleItem]) -> bool:
    """Errors first, then warnings, on stderr; True when anything blocks (exit 1). A warning
    never hides an error: both are printed, and only errors decide the exit code."""
    bad = False
    for it in items:
        where = f"{it.source} {it.kind} {it.name}"
        for issue in sorted(it.issues, key=lambda i: not i.is_error):
            bad = bad or issue.is_error
            _report(issue.severity, where, issue.path, issue.message, issue.rule)
        for d in it.result.diagnostics if it.result else ():
            bad = bad or d.severity == "error"
            if d.severity != "info":
                _report(d.severity, f"{it.kind} {it.name}", d.path, d.message, d.code)
    return bad


def _dedupe(items: list[BundleItem]) -> list[dict[str, Any]]:
    """Objects of all renders, each once: a task definition and its service share side objects."""
    seen: set[tuple[str, str, str, str]] = set()
    out: list[dict[str, Any]] = []
    for it in items:
        for obj in it.result.objects if it.result else ():
            meta = obj["metadata"]
            key = (obj["apiVersion"], obj["kind"], meta.get("namespace", ""), meta["name"])
            if key not in seen:
                seen.add(key)
                out.append(obj)
    return out


def _explain(items: list[BundleItem]) -> None:
    out = Console()
    for it in items:
        if it.result is None:
            continue
        table = Table(title=f"{it.kind} {it.name}", show_lines=False, expand=True)
        table.add_column("ECS field", style="cyan", overflow="fold")
        table.add_column("Kubernetes", style="green", overflow="fold")
        table.add_column("note", overflow="fold")
        for e in it.result.explanations:
            # Text, not markup: paths like `containers[app]` would read as rich tags
            table.add_row(
                Text(e.ecs_path), Text("\n".join(e.k8s_paths) if e.k8s_paths else "—"), Text(e.note)
            )
        out.print(table)


def render(
    files: FilesOpt,
    output: Annotated[str, typer.Option("--output", "-o", help="yaml or json.")] = "yaml",
    explain: Annotated[
        bool,
        typer.Option("--explain", help="Print where each ECS field went (a table; JSON rows with -o json)."),
    ] = False,
    namespace: Annotated[str, typer.Option("--namespace", "-n")] = "default",
    cluster: Annotated[str, typer.Option("--cluster", help="ECS cluster name (label value).")] = "default",
    image_rewrite: Annotated[
        list[str] | None, typer.Option("--image-rewrite", help="FROM=TO image prefix rewrite (repeatable).")
    ] = None,
    pod_level_resources: Annotated[
        bool, typer.Option(help="Task cpu/memory as pod-level resources (off: per-container fallback).")
    ] = True,
    load_balancers: Annotated[
        str, typer.Option("--load-balancers", help="auto | create (Ingress/NLB) | bind (TargetGroupBinding).")
    ] = "auto",
    service_name: ServiceNameOpt = None,
    task_definition: TaskDefinitionOpt = None,
) -> None:
    """Render ECS task definitions and services as the Kubernetes objects ecsk applies."""
    if output not in ("yaml", "json"):
        raise typer.BadParameter("--output must be yaml or json")
    if load_balancers not in ("auto", "create", "bind"):
        raise typer.BadParameter("--load-balancers must be auto, create or bind")
    opts = RenderOptions(
        namespace=namespace,
        cluster=cluster,
        image_rewrite=_rewrite_map(image_rewrite or []),
        pod_level_resources=pod_level_resources,
        load_balancers=load_balancers,  # type: ignore[arg-type]
        explain=explain,
        placement_hook=offline_hook(),
    )
    docs = _read(files, _fill(service_name, task_definition, cluster))
    for doc in docs:
        if doc.model is not None and doc.kind not in ("TaskDefinition", "ECSService"):
            note = f"{doc.source}: {doc.kind} is run by the operator, not rendered"
            err.print(f"[yellow]skipped[/yellow] {escape(note)}")
    items = render_documents(docs, opts)
    if _print_issues(items):
        raise typer.Exit(1)
    if explain and output == "json":
        rows = [
            {
                "kind": it.kind,
                "name": it.name,
                "ecsPath": e.ecs_path,
                "kubernetes": list(e.k8s_paths or []),
                "note": e.note,
            }
            for it in items
            if it.result
            for e in it.result.explanations
        ]
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        return
    if explain:
        _explain(items)
        return
    objects = _dedupe(items)
    if output == "json":
        sys.stdout.write(json.dumps({"apiVersion": "v1", "kind": "List", "items": objects}, indent=2) + "\n")
    else:
        sys.stdout.write(yaml.safe_dump_all(objects, sort_keys=False))


def import_documents(
    files: FilesOpt,
    service_name: ServiceNameOpt = None,
    task_definition: TaskDefinitionOpt = None,
    cluster: Annotated[
        str | None, typer.Option("--cluster", help="cluster for a bare service definition.")
    ] = None,
) -> None:
    """Convert AWS JSON (describe output or API input) into ecsk custom resources (YAML).

    The documents go through the same checks and offline placement as `render` (the operator will
    run them again), so what the cluster would refuse is refused here, with ECS's wording, and
    warnings and deferred placement show up on stderr before anything is applied."""
    docs = _read(files, _fill(service_name, task_definition, cluster))
    bad = _print_issues(render_documents(docs, RenderOptions(explain=False, placement_hook=offline_hook())))
    out = [to_custom_resource(doc.model) for doc in docs if doc.model is not None]
    if bad:
        raise typer.Exit(1)
    out.sort(key=lambda cr: cr["kind"] != "TaskDefinition")  # referenced ones first, order kept otherwise
    sys.stdout.write(yaml.safe_dump_all(out, sort_keys=False))


def to_custom_resource(model: Any) -> dict[str, Any]:
    """The AWS shape minus read-only describe fields as `spec`. A service's task definition ARN
    is reduced to the family: revisions are numbered again by the cluster, so `family:7` from AWS
    would point at nothing; the original reference is kept in an annotation."""
    if isinstance(model, TaskDefinition):
        return {
            "apiVersion": API_VERSION,
            "kind": "TaskDefinition",
            "metadata": {"name": names.dns_label(model.family, max_len=253)},
            "spec": model.identity(),
        }
    if isinstance(model, ECSService):
        spec = model.identity()
        if "cluster" not in spec and model.clusterArn:
            spec = {"cluster": model.clusterArn.rsplit("/", 1)[-1], **spec}
        meta: dict[str, Any] = {"name": names.dns_label(model.serviceName, max_len=253)}
        ref = model.taskDefinition
        if ref and (ref.startswith("arn:") or ":" in ref):
            spec["taskDefinition"] = task_definition_ref(ref)[0]
            meta["annotations"] = {f"{names.ANN}imported-task-definition": ref}
        return {"apiVersion": API_VERSION, "kind": "ECSService", "metadata": meta, "spec": spec}
    kind = type(model).__name__
    return {
        "apiVersion": API_VERSION,
        "kind": "Task" if kind == "RunTask" else kind,
        "metadata": {},
        "spec": model.model_dump(mode="json", exclude_none=True),
    }
