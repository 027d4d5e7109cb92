"""The image registry as a background process of `cluster up`: its configuration, its ports, and
how `cluster up` points the API endpoint at it (no registry binary is run here; the integration
suite tests/integration/test_ecr_live.py runs the real one)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ecsk.cli import cluster_cmd
from ecsk.cluster import registry


def test_config_keeps_everything_on_loopback_and_deletes_on(tmp_path: Path) -> None:
    cfg = registry.config(tmp_path / "data", 4597, "s3cret")
    assert cfg["http"]["addr"] == "127.0.0.1:4597"
    assert cfg["http"]["secret"] == "s3cret"
    assert cfg["storage"]["filesystem"]["rootdirectory"] == str(tmp_path / "data")
    assert cfg["storage"]["delete"] == {"enabled": True}  # BatchDeleteImage and lifecycle expiry


def test_documented_ports_and_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ECSK_REGISTRY_PORT", raising=False)
    monkeypatch.delenv("ECSK_REGISTRY_BACKEND_PORT", raising=False)
    assert (registry.port(), registry.backend_port()) == (4598, 4597)
    assert registry.url() == "http://127.0.0.1:4597"
    monkeypatch.setenv("ECSK_REGISTRY_PORT", "5598")
    monkeypatch.setenv("ECSK_REGISTRY_BACKEND_PORT", "5597")
    assert (registry.port(), registry.url()) == (5598, "http://127.0.0.1:5597")


def test_build_is_the_pinned_go_module() -> None:
    assert registry.BUILD.binaries == {
        "registry": "github.com/distribution/distribution/v3/cmd/registry@v3.1.2"
    }
    assert registry.BUILD.toolchain is None  # `go install module@version`: its own go.mod


def test_not_running_without_a_pid_file_and_stop_twice_is_fine(tmp_path: Path) -> None:
    assert registry.running_pid(tmp_path) is None
    assert registry.stop(tmp_path) is False
    registry.state_dir(tmp_path).mkdir(parents=True)
    registry.pid_file(tmp_path).write_text("999999999")
    assert registry.running_pid(tmp_path) is None


def test_cluster_up_points_the_endpoint_at_the_registry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ECSK_HOME", str(tmp_path))
    monkeypatch.delenv("ECSK_REGISTRY_PORT", raising=False)
    monkeypatch.delenv("ECSK_REGISTRY_BACKEND_PORT", raising=False)
    monkeypatch.setattr(registry, "start", lambda home, say=None: (42, True))
    args = cluster_cmd._start_registry()
    assert args == [
        "--registry-url", "http://127.0.0.1:4597",
        "--registry-storage", str(tmp_path / "registry" / "data"),
        "--registry-port", "4598",
    ]  # fmt: skip
    started: dict[str, Any] = {}

    def fake_start(home: Path, kubeconfig: str, extra: list[str] | None = None) -> tuple[int, bool]:
        started["extra"] = extra
        return 7, True

    from ecsk.api import process

    monkeypatch.setattr(process, "start", fake_start)
    cluster_cmd._start_api("kc", args)
    assert started["extra"] == args


def test_a_registry_that_cannot_start_only_warns(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ECSK_HOME", str(tmp_path))

    def broken(home: Path, say: Any = None) -> tuple[int, bool]:
        raise RuntimeError("port 4597 on 127.0.0.1 is taken by another program")

    monkeypatch.setattr(registry, "start", broken)
    assert cluster_cmd._start_registry() == []  # the endpoint then runs without ECR image calls
