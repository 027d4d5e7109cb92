"""`ecsk lab list | start N | check N | hint N | solve N | reset N`: the workshop labs.

The labs live in `ecsk.labs` (one module per lab on a small engine); this module only parses
arguments, makes the client and prints. `check` exits 1 while something is missing, so a
workshop script can loop on it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from ecsk.cli.kube_api import pykube_api
from ecsk.labs import catalog, runner
from ecsk.labs.engine import LabError, namespace_for

app = typer.Typer(help="Workshop labs: start, check, hint, solve, reset (docs/labs/).", no_args_is_help=True)
NUMBER = typer.Argument(..., help="Lab number, as `ecsk lab list` shows it.")


def _run(verb: Callable[[Any, Any], runner.Outcome], number: int) -> None:
    try:
        lab = catalog.find(number)
    except catalog.UnknownLab as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc
    try:
        outcome = verb(pykube_api(), lab)
    except LabError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from exc
    typer.echo("\n".join(outcome.lines))
    if not outcome.ok:
        raise typer.Exit(1)


@app.command("list")
def list_() -> None:
    """Every lab: number, title, seed topic, namespace, and the pending ones with their issue."""
    table = Table(box=None, header_style="bold")
    for col in ("LAB", "TITLE", "SEED TOPIC", "STATUS"):
        table.add_column(col)
    for lab in catalog.LABS:
        table.add_row(
            f"{lab.number:02d}",
            lab.title,
            lab.topic,
            f"ready: ecsk lab start {lab.number}  ({namespace_for(lab.number)})",
        )
    for pending in catalog.PENDING:
        table.add_row(f"{pending.number:02d}", pending.title, pending.topic, f"pending: {pending.waits_for}")
    console = Console()
    if not console.is_terminal:
        console = Console(width=250)
    console.print(table)


@app.command("start")
def start(
    number: int = NUMBER,
    real: bool = typer.Option(
        False,
        "--real",
        help="The real-container variant (on kind: the test app in real containers, and a check "
        "that sends real traffic or files); the lab namespace remembers it for the other verbs.",
    ),
) -> None:
    """Create the lab's namespace and starting state (resumes a started lab); print goal and steps."""
    _run(lambda api, lab: runner.start(api, lab, real=real), number)


@app.command("check")
def check(number: int = NUMBER) -> None:
    """Inspect the live cluster: pass (exit 0) or say what is still missing (exit 1)."""
    _run(runner.check, number)


@app.command("hint")
def hint(number: int = NUMBER) -> None:
    """The next hint (the lab remembers which ones you have seen)."""
    _run(runner.hint, number)


@app.command("solve")
def solve(number: int = NUMBER) -> None:
    """Apply the reference answer."""
    _run(runner.solve, number)


@app.command("reset")
def reset(number: int = NUMBER) -> None:
    """Remove everything the lab made (its namespace; node labels it set are restored)."""
    _run(runner.reset, number)
