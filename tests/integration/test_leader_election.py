"""One active operator per scope, on a live cluster: a second operator of the same namespace
stands by and writes nothing, takes over when the leader dies (kill -9, or frozen past its
Lease) within the documented bound, a clean stop hands over at once, and a namespaced operator
never acts beside an active cluster-wide one. The cluster-wide holder is simulated by a Lease
with a fake identity (a real cluster-wide operator would reconcile everyone's namespaces on a
shared cluster), deleted again within seconds."""

from __future__ import annotations

import os
import signal
import socket
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pykube
import pytest
import yaml
from kubectl import kubectl
from kubernetes import config as k8s_config
from kubetest import ROOT, OperatorProcess, wait_for
from test_operator_revisions import apply, get, td

from ecsk.controller.kube.client import KubeError
from ecsk.controller.kube.leases import LEASE_NAMESPACE, KubeLeases
from ecsk.controller.runtime.leader import (
    CLUSTER_LEASE,
    Elector,
    Timing,
    active_operators,
    holder_of,
    lease_name,
    micro_time,
)

pytestmark = pytest.mark.integration

TIMING = Timing()  # what `ecsk operator` runs with by default


@pytest.fixture(scope="module")
def leases(kubeconfig: str) -> KubeLeases:
    kubectl(kubeconfig, "apply", "--server-side", "--force-conflicts", "-k", str(ROOT / "crds"))
    return KubeLeases.from_kubeconfig(kubeconfig)


@dataclass
class Election:
    """A test namespace and the operators a test starts in it (all stopped afterwards)."""

    api: pykube.HTTPClient
    kubeconfig: str
    namespace: str
    leases: KubeLeases
    tmp: Path
    ops: list[OperatorProcess] = field(default_factory=list)

    def start(self, *extra: str) -> OperatorProcess:
        log = self.tmp / f"operator-{len(self.ops)}.log"
        op = OperatorProcess(self.kubeconfig, self.namespace, log, OperatorProcess.TEST_SETTINGS + extra)
        op.start(beside_others=True)
        self.ops.append(op)
        return op

    def standby(self, *extra: str) -> OperatorProcess:
        op = self.start(*extra)
        wait_for(lambda: "standing by" in log_of(op), 60, what="another operator to stand by")
        return op

    def leader_and_standby(self) -> tuple[OperatorProcess, OperatorProcess]:
        a = self.start()
        wait_for(lambda: self.leads(a), 60, what="the first operator to lead")
        return a, self.standby()

    def holder_pid(self) -> int | None:
        lease = self.leases.get(lease_name(self.namespace))
        return holder_of(lease).pid if lease is not None else None

    def leads(self, op: OperatorProcess) -> bool:
        assert op.proc is not None
        return self.holder_pid() == op.proc.pid and "leading" in log_of(op)

    def apply(self, family: str, value: str) -> None:
        apply(self.kubeconfig, self.namespace, td(family, value))

    def revision(self, family: str) -> int:
        obj = get(self.api, "TaskDefinition", self.namespace, family)
        return int((obj.get("status") or {}).get("revision") or 0)


@pytest.fixture
def election(
    api: pykube.HTTPClient, kubeconfig: str, namespace: str, leases: KubeLeases, tmp_path: Path
) -> Iterator[Election]:
    env = Election(api, kubeconfig, namespace, leases, tmp_path)
    yield env
    for op in env.ops:
        if op.proc is not None and op.proc.poll() is None:
            os.kill(op.proc.pid, signal.SIGCONT)  # a frozen one must be able to die
        op.stop()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def http_get(url: str) -> bytes:
    try:
        with urllib.request.urlopen(url, timeout=5) as res:
            return bytes(res.read())
    except OSError:
        return b""  # between the standby's server and kopf's: not answered yet


def log_of(op: OperatorProcess) -> str:
    assert op.log_path is not None
    return op.log_path.read_text() if op.log_path.exists() else ""


def test_standby_writes_nothing_then_takes_over_a_frozen_leader_which_exits(election: Election) -> None:
    e = election
    a, b = e.leader_and_standby()
    assert a.proc is not None and b.proc is not None
    assert f"pid {a.proc.pid} on host" in log_of(b)
    # Freeze the leader: alive (so no "dead pid" shortcut), silent. Nobody may act until its
    # Lease has been silent for lease_duration: the standby does not, the leader cannot.
    os.kill(a.proc.pid, signal.SIGSTOP)
    frozen = time.monotonic()
    e.apply("frozen", "v1")
    time.sleep(4)
    assert e.revision("frozen") == 0, "someone reconciled while the leader was frozen"
    assert e.holder_pid() == a.proc.pid
    wait_for(lambda: e.leads(b), TIMING.takeover_bound + 10, what="the standby to take over")
    took = time.monotonic() - frozen
    print(f"takeover after the leader froze: {took:.1f}s (bound {TIMING.takeover_bound}s)")
    assert TIMING.lease_duration - 2 * TIMING.retry_period - 1 <= took <= TIMING.takeover_bound + 3
    wait_for(lambda: e.revision("frozen") == 1, 60, what="the new leader to reconcile")
    # The old leader wakes up deposed: it must notice and exit non-zero, not act.
    os.kill(a.proc.pid, signal.SIGCONT)
    assert a.proc.wait(TIMING.retry_period + 15) == 1
    assert "lost leadership" in log_of(a)
    assert e.holder_pid() == b.proc.pid


def test_kill_9_then_clean_stop_hand_over_and_the_last_stop_releases_the_lease(election: Election) -> None:
    e = election
    a, b = e.leader_and_standby()
    e.apply("web", "v1")
    wait_for(lambda: e.revision("web") == 1, 60, what="revision 1")

    a.kill()  # SIGKILL: no release; the Lease still names a
    killed = time.monotonic()
    e.apply("web", "v2")  # a change made after the kill
    wait_for(lambda: e.leads(b), TIMING.takeover_bound + 5, what="takeover after kill -9")
    took = time.monotonic() - killed
    print(f"takeover after kill -9: {took:.1f}s (bound {TIMING.takeover_bound}s)")
    assert took <= TIMING.takeover_bound
    wait_for(lambda: e.revision("web") == 2, 60, what="the change made after the kill")

    probe = f"http://127.0.0.1:{free_port()}/healthz"
    c = e.standby("--liveness", probe)
    assert b"standby" in http_get(probe)  # a standby pod passes its liveness probe
    stopped = time.monotonic()
    b.stop()  # SIGTERM: kopf shuts down, the Lease is released
    assert b.proc is not None and b.proc.returncode == 0
    handover = 2 * TIMING.retry_period + 5
    wait_for(lambda: e.leads(c), handover, what="handover after a clean stop")
    print(f"takeover after SIGTERM (clean stop): {time.monotonic() - stopped:.1f}s")
    wait_for(lambda: (r := http_get(probe)) and b"standby" not in r, 20, what="kopf's liveness endpoint")
    c.stop()
    assert e.leases.get(lease_name(e.namespace)) is None  # released: nothing left behind


def test_namespaced_operator_never_acts_beside_an_active_cluster_wide_one(election: Election) -> None:
    e = election
    fake = "elsewhere_4343_1_c0ffee"
    now = micro_time(datetime.now(UTC))
    e.leases.create(
        {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {
                "name": CLUSTER_LEASE,
                "namespace": LEASE_NAMESPACE,
                "labels": {"app.kubernetes.io/managed-by": "ecsk", "ecs.ecsk.io/operator-scope": "cluster"},
            },
            # 30 s: longer than this test keeps it, so the standby never waits it out.
            "spec": {
                "holderIdentity": fake,
                "leaseDurationSeconds": 30,
                "acquireTime": now,
                "renewTime": now,
            },
        }
    )
    try:
        # Tools that start an operator refuse, naming the holder and how to stop it.
        with pytest.raises(AssertionError) as refused:
            OperatorProcess(e.kubeconfig, e.namespace).start()
        assert "the cluster-wide operator (pid 4343 on host elsewhere" in str(refused.value)
        assert "kill 4343" in str(refused.value)
        # An operator started anyway stands by, says why, and gives its own Lease back.
        op = e.start()
        e.apply("waiting", "v1")
        wait_for(lambda: "standing by" in log_of(op), 20, what="the namespaced operator to stand by")
        assert "the cluster-wide operator (pid 4343 on host elsewhere" in log_of(op)
        assert f"reconciles {e.namespace} too" in log_of(op)
        assert e.leases.get(lease_name(e.namespace)) is None
        assert e.revision("waiting") == 0
    finally:
        kubectl(e.kubeconfig, "-n", LEASE_NAMESPACE, "delete", "lease", CLUSTER_LEASE, "--ignore-not-found")
    # The cluster-wide holder is gone: the namespaced operator leads and catches up.
    wait_for(lambda: e.leads(op), 2 * TIMING.retry_period + 5, what="the operator to lead")
    wait_for(lambda: e.revision("waiting") == 1, 60, what="the waiting object to reconcile")


def test_the_manifests_lease_role_is_exactly_enough_for_election(
    kubeconfig: str, namespace: str, leases: KubeLeases
) -> None:
    """Every election call, run as a ServiceAccount bound only to the Role of manifests/rbac.yaml."""
    role = next(
        d
        for d in yaml.safe_load_all((ROOT / "manifests" / "rbac.yaml").read_text())
        if d and d["kind"] == "Role" and d["metadata"]["name"] == "ecsk-operator-leases"
    )
    kubectl(kubeconfig, "-n", namespace, "create", "serviceaccount", "elector")
    bound = f"ecsk-test-{namespace}"
    rbac = [
        {**role, "metadata": {"name": bound, "namespace": LEASE_NAMESPACE}},
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": {"name": bound, "namespace": LEASE_NAMESPACE},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": bound},
            "subjects": [{"kind": "ServiceAccount", "name": "elector", "namespace": namespace}],
        },
    ]
    client = k8s_config.new_client_from_config(config_file=kubeconfig)
    client.set_default_header("Impersonate-User", f"system:serviceaccount:{namespace}:elector")
    as_sa = KubeLeases(client)
    elector = Elector(as_sa, [namespace])
    try:
        with pytest.raises(KubeError, match="403"):  # unbound: the check can fail
            elector.step()
        kubectl(kubeconfig, "apply", "-f", "-", stdin=yaml.safe_dump_all(rbac))
        wait_for(lambda: _leads(elector), 20, what="election to work with the Role's verbs")
        assert elector.tick() is None  # update
        assert any(h.namespace == namespace for h in active_operators(as_sa))  # list
        elector.release()  # delete with preconditions
        assert leases.get(lease_name(namespace)) is None
    finally:
        kubectl(kubeconfig, "delete", "-f", "-", "--ignore-not-found", stdin=yaml.safe_dump_all(rbac))
        ours = ["-n", LEASE_NAMESPACE, "delete", "lease", lease_name(namespace), "--ignore-not-found"]
        kubectl(kubeconfig, *ours)  # if the test failed before releasing it


def _leads(elector: Elector) -> bool:
    try:
        return elector.step() is None
    except KubeError:
        return False  # RBAC caches take a moment to see the new binding
