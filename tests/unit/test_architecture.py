"""docs/architecture.md stays true: every room is on the page, and the page's order is the enforced one.

The page is what a newcomer reads to find a feature in one hop; a package missing from it, a
package it names that no longer exists, or an order that differs from the import-linter
contracts would send them to the wrong place.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PKG = ROOT / "operator" / "ecsk"
DOC = (ROOT / "docs" / "architecture.md").read_text()
LAYERS = ("core", "controller", "cluster", "api", "labs", "copilot")


def _rooms() -> set[str]:
    """Packages and loose modules directly inside each I/O or core layer."""
    rooms = set()
    for layer in LAYERS:
        for child in (PKG / layer).iterdir():
            if child.is_dir() and (child / "__init__.py").exists():
                rooms.add(f"ecsk.{layer}.{child.name}")
            elif child.suffix == ".py" and child.name != "__init__.py":
                rooms.add(f"ecsk.{layer}.{child.stem}")
    return rooms


def _table_rows() -> set[str]:
    return set(re.findall(r"^\| `(ecsk(?:\.\w+)+)` \|", DOC, flags=re.M))


def test_every_room_is_on_the_page() -> None:
    missing = _rooms() - _table_rows()
    assert not missing, f"add these packages to docs/architecture.md: {sorted(missing)}"


def test_every_room_on_the_page_exists() -> None:
    def exists(dotted: str) -> bool:
        path = ROOT / "operator" / Path(*dotted.split("."))
        return (path / "__init__.py").exists() or path.with_suffix(".py").exists()

    stale = {name for name in _table_rows() if not exists(name)}
    assert not stale, f"docs/architecture.md names packages that do not exist: {sorted(stale)}"


def _contract_order(prefix: str) -> list[set[str]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    for contract in config["tool"]["importlinter"]["contracts"]:
        layers = contract.get("layers", [])
        if layers and all(layer.startswith(prefix + ".") for layer in layers):
            return [
                {part.strip().removeprefix(prefix + ".") for part in re.split(r"[|:]", layer)}
                for layer in reversed(layers)
            ]
    raise AssertionError(f"no import-linter layers contract for {prefix}")


@pytest.mark.parametrize(
    ("heading", "prefix"),
    [
        ("Order inside the core", "ecsk.core"),
        ("Order", "ecsk.controller"),
        ("Order", "ecsk.labs"),
        ("Order", "ecsk.copilot"),
    ],
)
def test_documented_order_is_the_enforced_order(heading: str, prefix: str) -> None:
    section = DOC.split(f"### `{prefix}`", 1)[1]
    sentence = re.search(rf"{heading} \(lowest first\):(.*?)\.\n\n", section, flags=re.S)
    assert sentence, f"docs/architecture.md: no '{heading} (lowest first)' sentence under {prefix}"
    documented = [set(re.findall(r"`(\w+)`", group)) for group in sentence.group(1).split(";")]
    assert documented == _contract_order(prefix)
