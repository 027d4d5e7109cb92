"""`ecsk cluster up | down` are idempotent and recover from a crash.

Runs a second, private local cluster (its own ECSK_HOME, sharing only the cached binaries), so
the cluster the other tests use is never touched. Only meaningful for the embedded kwok cluster:
it is skipped when the binaries are not built here (e.g. a kind-only machine).
"""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest
from kubetest import ecsk_in

pytestmark = pytest.mark.integration


def _ecsk(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return ecsk_in(home, "cluster", *args)


def _pid(home: Path, component: str) -> int:
    return int((home / "kwok/clusters/ecsk/pids" / f"{component}.pid").read_text())


def test_up_twice_down_twice_and_up_after_a_crash(private_home: Path) -> None:
    first = _ecsk(private_home, "up")
    assert first.returncode == 0, first.stderr
    apiserver = _pid(private_home, "kube-apiserver")
    _assert_loopback_only(private_home)

    again = _ecsk(private_home, "up")
    assert again.returncode == 0, again.stderr
    assert "already running" in again.stderr
    assert _pid(private_home, "kube-apiserver") == apiserver, (
        "a second `up` must not restart a healthy cluster"
    )

    # Crash: the apiserver and the scheduler die without a clean stop.
    os.kill(apiserver, signal.SIGKILL)
    os.kill(_pid(private_home, "kube-scheduler"), signal.SIGKILL)
    broken = _ecsk(private_home, "status")
    assert broken.returncode != 0
    assert "DOWN" in broken.stderr

    recovered = _ecsk(private_home, "up")
    assert recovered.returncode == 0, recovered.stderr
    assert "restarting" in recovered.stderr
    healthy = _ecsk(private_home, "status")
    assert healthy.returncode == 0, healthy.stderr
    assert "running" in healthy.stderr
    assert healthy.stdout.count("Ready") >= 9

    assert _ecsk(private_home, "down").returncode == 0
    second_down = _ecsk(private_home, "down")
    assert second_down.returncode == 0
    assert "no local cluster" in second_down.stderr
    assert _ecsk(private_home, "status").returncode == 3


def _assert_loopback_only(home: Path) -> None:
    """Every listening socket of every component is bound to 127.0.0.1, nothing wider."""
    pids = {int(p.read_text()) for p in (home / "kwok/clusters/ecsk/pids").glob("*.pid")}
    listening = subprocess.run(["ss", "-ltnpH"], capture_output=True, text=True, check=True).stdout
    ours = [line.split() for line in listening.splitlines() if any(f"pid={pid}," in line for pid in pids)]
    assert len(ours) >= len(pids), f"expected a listener per component, got {ours}"
    for fields in ours:
        assert fields[3].startswith("127.0.0.1:"), f"not loopback: {fields}"


def test_a_bad_fleet_file_is_refused_before_anything_starts(private_home: Path, tmp_path: Path) -> None:
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text("nodeGroups:\n- name: ng\n  instanceTypes: [m99.huge]\n")
    result = _ecsk(private_home, "up", "--fleet", str(fleet))
    assert result.returncode == 1
    assert "unknown instance type" in result.stderr
    assert not (private_home / "kwok/clusters/ecsk/kwok.yaml").exists(), "nothing may be half-started"
