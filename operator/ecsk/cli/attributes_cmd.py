"""`ecsk attributes put|delete|list`: ECS PutAttributes / DeleteAttributes / ListAttributes on the
cluster's container instances (Nodes), taking the same arguments as `aws ecs put-attributes`.

The decisions (validation, which labels and annotation change) are in
`ecsk.core.placement.attributes`; this module reads Nodes and sends the merge patches. A
`memberOf` constraint on plain equality needs no re-render: the scheduler reads the new label as
soon as it lands. Regex constraints are re-resolved by the operator when node labels change.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from ecsk.core.placement.attributes import (
    TARGET_TYPE,
    Attribute,
    AttributeRequestError,
    by_target_node,
    delete_patch,
    find_node,
    list_attributes,
    parse_attributes,
    put_patch,
    validate,
)

app = typer.Typer(
    help="Custom attributes of container instances (ECS PutAttributes / DeleteAttributes / ListAttributes).",
    no_args_is_help=True,
)

CLUSTER_HELP = "ECS cluster (accepted for compatibility: attributes live on the Node, in every cluster)."
ATTRIBUTES_HELP = (
    "Shorthand name=stack,value=prod,targetId=<node name | instance id | container-instance ARN> "
    "(repeatable), or JSON: one Attribute object or a list of them."
)
MORE_HELP = "More attributes, as the aws CLI takes them: `--attributes A B C`."
RETRIES = 5


def _fail(exc: AttributeRequestError) -> NoReturn:
    typer.echo(f"An error occurred ({exc.code}): {exc.message}", err=True)
    raise typer.Exit(254)  # the aws CLI's exit status for a service error


def _change(
    api: Any,
    attributes: Sequence[Attribute],
    patch_for: Callable[[Mapping[str, Any], list[Attribute]], dict[str, Any] | None],
) -> None:
    """Apply `patch_for` per target node. The patch carries the node's resourceVersion, so a
    concurrent writer makes the API server answer 409; the node is then re-read and the patch
    rebuilt, rather than one caller's attributes silently overwriting the other's."""
    import pykube

    by_node = by_target_node([n.obj for n in pykube.Node.objects(api)], attributes)
    for name, items in by_node.items():
        for attempt in range(RETRIES):
            obj = pykube.Node.objects(api).get(name=name)
            patch = patch_for(obj.obj, items)
            if patch is None:
                break
            try:
                obj.patch(patch)
                break
            except pykube.exceptions.HTTPError as exc:
                if exc.code != 409 or attempt == RETRIES - 1:
                    raise


def _echo(attributes: Sequence[Attribute], nodes_by_target: Mapping[str, str]) -> None:
    out = [
        Attribute(
            a.name, a.value, a.targetType or TARGET_TYPE, nodes_by_target.get(a.targetId or "", a.targetId)
        ).to_aws()
        for a in attributes
    ]
    typer.echo(json.dumps({"attributes": out}, indent=4))


def _targets(api: Any, attributes: Sequence[Attribute]) -> dict[str, str]:
    import pykube

    nodes = [n.obj for n in pykube.Node.objects(api)]
    return {
        a.targetId or "": str(found["metadata"]["name"])
        for a in attributes
        if (found := find_node(nodes, a.targetId or "")) is not None
    }


@app.command("put")
def put(
    attributes: Annotated[list[str], typer.Option("--attributes", help=ATTRIBUTES_HELP)],
    more: Annotated[list[str] | None, typer.Argument(help=MORE_HELP, show_default=False)] = None,
    cluster: str = typer.Option("default", "--cluster", help=CLUSTER_HELP),
) -> None:
    """Create or update attributes on container instances (aws ecs put-attributes)."""
    _request([*attributes, *(more or ())], put=True)


@app.command("delete")
def delete(
    attributes: Annotated[list[str], typer.Option("--attributes", help=ATTRIBUTES_HELP)],
    more: Annotated[list[str] | None, typer.Argument(help=MORE_HELP, show_default=False)] = None,
    cluster: str = typer.Option("default", "--cluster", help=CLUSTER_HELP),
) -> None:
    """Delete attributes from container instances (aws ecs delete-attributes); the label and the
    annotation entry go together."""
    _request([*attributes, *(more or ())], put=False)


def _request(raw: list[str], put: bool) -> None:
    """Parse, validate and apply one put/delete call; AWS's error shape and exit code on failure."""
    from ecsk.cli.kube_api import pykube_api

    try:
        items = parse_attributes(raw)
        validate(items, put=put)
        api = pykube_api()
        if put:
            _change(api, items, put_patch)
        else:
            _change(api, items, lambda node, group: delete_patch(node, [a.name for a in group]))
    except AttributeRequestError as exc:
        _fail(exc)
        return
    _echo(items, _targets(api, items))


@app.command("list")
def list_(
    target_type: str = typer.Option(TARGET_TYPE, "--target-type", help="Only container-instance exists."),
    cluster: str = typer.Option("default", "--cluster", help=CLUSTER_HELP),
    attribute_name: str | None = typer.Option(None, "--attribute-name", help="Only this attribute."),
    attribute_value: str | None = typer.Option(
        None, "--attribute-value", help="Only this value (needs --attribute-name, as in ECS)."
    ),
    output: str = typer.Option("json", "--output", "-o", help="json (aws ecs list-attributes) | table"),
) -> None:
    """List custom attributes of container instances (aws ecs list-attributes)."""
    import pykube

    from ecsk.cli.kube_api import pykube_api

    if target_type != TARGET_TYPE:
        _fail(AttributeRequestError("InvalidParameterException", f"targetType must be {TARGET_TYPE}."))
    if attribute_value is not None and attribute_name is None:
        _fail(
            AttributeRequestError(
                "InvalidParameterException",
                "attributeValue can only be specified together with attributeName.",
            )
        )
    nodes = [n.obj for n in pykube.Node.objects(pykube_api())]
    rows = list_attributes(nodes, attribute_name, attribute_value)
    if output == "json":
        typer.echo(json.dumps({"attributes": rows}, indent=4))
        return
    table = Table(box=None, header_style="bold")
    for col in ("TARGET", "NAME", "VALUE"):
        table.add_column(col)
    for row in rows:
        table.add_row(row["targetId"], row["name"], row.get("value", ""))
    Console().print(table)
