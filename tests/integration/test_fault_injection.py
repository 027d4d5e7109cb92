"""Faults during a rolling deployment, small and fast (bench/fault_bench.py is the full run):
the operator killed -9 at a random moment of the rollout and restarted; the operator paused
(SIGSTOP) past its lease and its watches while a standby waits, then resumed.

After each: every service on the new revision at its desired count, no orphaned or duplicated
pods, nothing left IN_PROGRESS, the minimum-healthy bound never broken (sampled every second),
and no Event storm. The checks are the bench's (`Observer`), so both measure the same thing.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from kubetest import OperatorProcess, wait_for

from conftest import OPERATORS

pytestmark = pytest.mark.integration

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from benchlib import Cluster  # noqa: E402
from fault_bench import PAUSE_SECONDS, Observer, apply, documents, wait_converged  # noqa: E402

SERVICES, TASKS = 3, 2


@pytest.fixture(scope="module")
def fleet(kubeconfig: str, operator_ns: str) -> Observer:
    c = Cluster(kubeconfig)
    apply(c, operator_ns, documents(SERVICES, TASKS, 1))
    obs = Observer(c, operator_ns, SERVICES, TASKS)
    _, problems = wait_converged(obs, 1, 120)
    assert problems == [], problems
    return obs


def _roll_through(obs: Observer, revision: int, fault: object) -> list[str]:
    """Start the rollout to `revision`, run `fault()`, and return every violation seen."""
    events_before = obs.events()
    obs.breaches.clear()
    obs.start_sampling()
    try:
        apply(obs.c, obs.ns, documents(SERVICES, TASKS, revision))
        fault()  # type: ignore[operator]
        _, violations = wait_converged(obs, revision, 150)
    finally:
        obs.stop_sampling()
    orphans, duplicates = obs.orphans_and_duplicates()
    violations += [f"orphaned {o}" for o in orphans] + [f"duplicated {d}" for d in duplicates]
    violations += [f"stuck IN_PROGRESS {s}" for s in obs.stuck_in_progress()]
    violations += [f"min-healthy broken: {b}" for b in obs.breaches]
    events = obs.events() - events_before
    if events > SERVICES * (TASKS * 6 + 10):
        violations.append(f"event storm: {events} events")
    return violations


def test_kill_9_at_a_random_moment_of_the_rollout(fleet: Observer, operator_ns: str) -> None:
    op = OPERATORS[operator_ns]
    moment = random.Random(16).uniform(0.5, 4.0)

    def kill() -> None:
        time.sleep(moment)
        op.kill()
        time.sleep(1)
        op.start()

    assert _roll_through(fleet, 2, kill) == []


def test_pause_past_the_lease_deposes_the_leader_and_the_standby_converges(
    fleet: Observer, kubeconfig: str, operator_ns: str, tmp_path: Path
) -> None:
    op = OPERATORS[operator_ns]
    assert op.proc is not None
    paused = op.proc
    standby = OperatorProcess(kubeconfig, operator_ns, tmp_path / "standby.log")
    exit_code: list[int | None] = []

    def pause() -> None:
        time.sleep(1.0)
        os.kill(paused.pid, signal.SIGSTOP)
        standby.start(beside_others=True)  # the Deployment's second replica
        time.sleep(PAUSE_SECONDS)
        os.kill(paused.pid, signal.SIGCONT)
        try:
            exit_code.append(paused.wait(20))
        except subprocess.TimeoutExpired:
            exit_code.append(None)

    try:
        violations = _roll_through(fleet, 3, pause)
        assert exit_code == [1], "the woken leader must find itself deposed and exit"
        assert violations == []
        log = (tmp_path / "standby.log").read_text(errors="replace")
        assert "Traceback" not in log
        wait_for(lambda: standby.proc is not None and standby.proc.poll() is None, 5, what="standby leads")
    finally:
        standby.stop()
