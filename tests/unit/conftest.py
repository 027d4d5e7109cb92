"""Unit-test isolation: module-level caches of the operator start empty for every test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ecsk.controller.capacity import launch
from ecsk.controller.kube import inventory


@pytest.fixture(autouse=True)
def _fresh_node_inventory() -> Iterator[None]:
    inventory.reset()
    launch.pending.reset()
    yield
    inventory.reset()
    launch.pending.reset()
