"""ECS_IMAGE_PULL_BEHAVIOR (the ECS agent setting) -> imagePullPolicy of every task container."""

from __future__ import annotations

import pytest
from helpers_translate import container, render, td
from typer.testing import CliRunner

from ecsk.cli.main import app


@pytest.mark.parametrize(
    ("behavior", "policy"),
    [("always", "Always"), ("once", "IfNotPresent"), ("prefer-cached", "IfNotPresent")],
)
def test_agent_pull_behavior_sets_the_pull_policy(behavior: str, policy: str) -> None:
    result = render(
        td([{"name": "app", "image": "ecsk-testapp:latest", "memory": 64}]), image_pull_behavior=behavior
    )
    assert container(result, "app")["imagePullPolicy"] == policy


def test_default_behavior_leaves_kubernetes_default() -> None:
    # ECS `default` (pull, fall back to the cache on failure) has no Kubernetes equivalent
    result = render(td([{"name": "app", "image": "nginx:latest", "memory": 64}]))
    assert "imagePullPolicy" not in container(result, "app")


def test_operator_refuses_an_unknown_behavior() -> None:
    out = CliRunner().invoke(app, ["operator", "--image-pull-behavior", "sometimes"])
    assert out.exit_code == 2
    text = " ".join(out.output.replace("│", " ").split())  # rich wraps the message in a box
    assert "ECS_IMAGE_PULL_BEHAVIOR must be one of default, always, once, prefer-cached" in text
