"""`make demo` never starts a second operator beside an active one (docs/operator.md)."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from ecsk.cli import demo
from ecsk.controller.runtime import leader
from ecsk.controller.runtime.leader import Holder

HOST = socket.gethostname()


def cluster_wide(pid: int, host: str = HOST) -> Holder:
    return Holder(f"{host}_{pid}_1_abcdef", "ecsk-operator", None, 1.0)


def namespaced(pid: int, ns: str) -> Holder:
    return Holder(f"{HOST}_{pid}_1_abcdef", f"ecsk-operator-ns.{ns}", ns, 1.0)


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    monkeypatch.setattr(demo.operator_process, "running_pid", lambda: 500)
    monkeypatch.setattr(demo.operator_process, "start", lambda kc: calls.append(kc) or (501, True))
    return calls


def holders(monkeypatch: pytest.MonkeyPatch, *found: Holder) -> None:
    monkeypatch.setattr(leader, "active_operators_at", lambda _kc: list(found))


def test_nothing_active_starts_the_demo_operator(monkeypatch: pytest.MonkeyPatch, started: list[str]) -> None:
    holders(monkeypatch)
    assert demo._start_operator("kc") is True
    assert started == ["kc"]


def test_our_own_operator_is_not_someone_else(monkeypatch: pytest.MonkeyPatch, started: list[str]) -> None:
    holders(monkeypatch, cluster_wide(500))  # the pid in the demo's pid file
    assert demo._start_operator("kc") is True
    assert started == ["kc"]  # operator_process.start reports "already running" itself


def test_another_cluster_wide_operator_is_used_not_raced(
    monkeypatch: pytest.MonkeyPatch, started: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    holders(monkeypatch, cluster_wide(777))
    assert demo._start_operator("kc") is True
    assert started == []
    assert "already active" in capsys.readouterr().out
    # Same pid on another host is someone else too.
    holders(monkeypatch, cluster_wide(500, host="other-host"))
    assert demo._start_operator("kc") is True and started == []


def test_active_namespaced_operators_make_the_demo_refuse_naming_them(
    monkeypatch: pytest.MonkeyPatch, started: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    holders(monkeypatch, namespaced(888, "team-a"))
    assert demo._start_operator("kc") is False
    assert started == []
    out = capsys.readouterr().out
    assert "namespace team-a" in out and "kill 888" in out


def test_an_operator_running_older_code_is_replaced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """After a `git pull`, `make demo` must not keep reconciling with the old operator."""
    from ecsk import source_fingerprint
    from ecsk.cluster.embedded import operator_process

    monkeypatch.setenv("ECSK_HOME", str(tmp_path))
    operator_process.pid_file().write_text(str(os.getpid()))  # "running": this very process
    stopped: list[bool] = []
    monkeypatch.setattr(operator_process, "stop", lambda: stopped.append(True) or True)

    class FakePopen:
        pid = 4242

        def __init__(self, *_a: object, **_k: object) -> None: ...

    monkeypatch.setattr(operator_process.subprocess, "Popen", FakePopen)
    operator_process.fingerprint_file().write_text(source_fingerprint())
    assert operator_process.start("kc") == (os.getpid(), False)  # same code: kept
    operator_process.fingerprint_file().write_text("older")
    assert operator_process.start("kc") == (4242, True) and stopped == [True]
    assert operator_process.fingerprint_file().read_text() == source_fingerprint()
