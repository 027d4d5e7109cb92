"""Leader election state machine (ecsk.controller.runtime.leader) on a fake clock and a fake Lease
API that enforces what the API server enforces: create fails on an existing Lease, update and
delete fail unless the resourceVersion (and uid) still match."""

from __future__ import annotations

import copy
import itertools
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ecsk.controller.kube.client import KubeError
from ecsk.controller.kube.leases import LeaseConflict
from ecsk.controller.runtime import leader
from ecsk.controller.runtime.leader import CLUSTER_LEASE, Elector, Timing

T0 = datetime(2026, 12, 4, 12, 0, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def wall(self) -> datetime:
        return T0 + timedelta(seconds=self.now - 1000.0)


class FakeLeases:
    """Leases of one namespace with resourceVersion/uid semantics; hooks run before a call."""

    def __init__(self) -> None:
        self.leases: dict[str, dict[str, Any]] = {}
        self._rv = itertools.count(1)
        self.hooks: dict[tuple[str, str], Callable[[], None]] = {}
        self.fail: int = 0
        self.writes = 0

    def _hook(self, verb: str, name: str) -> None:
        hook = self.hooks.pop((verb, name), None)
        if hook:
            hook()
        if self.fail:
            self.fail -= 1
            raise KubeError(f"{verb} {name}: 503 Service Unavailable", 503)

    def _stamp(self, body: Mapping[str, Any]) -> dict[str, Any]:
        out = copy.deepcopy(dict(body))
        out["metadata"]["resourceVersion"] = str(next(self._rv))
        self.leases[out["metadata"]["name"]] = out
        self.writes += 1
        return copy.deepcopy(out)

    def get(self, name: str) -> dict[str, Any] | None:
        self._hook("get", name)
        lease = self.leases.get(name)
        return copy.deepcopy(lease) if lease else None

    def list(self, label_selector: str) -> list[dict[str, Any]]:
        self._hook("list", "")
        wanted = dict(part.split("=") for part in label_selector.split(","))
        return [
            copy.deepcopy(lease)
            for lease in self.leases.values()
            if wanted.items() <= (lease["metadata"].get("labels") or {}).items()
        ]

    def create(self, body: Mapping[str, Any]) -> dict[str, Any]:
        name = body["metadata"]["name"]
        self._hook("create", name)
        if name in self.leases:
            raise LeaseConflict(f"create {name}: 409 AlreadyExists", 409)
        body = copy.deepcopy(dict(body))
        body["metadata"]["uid"] = f"uid-{name}-{len(self.leases)}-{self.writes}"
        return self._stamp(body)

    def replace(self, body: Mapping[str, Any]) -> dict[str, Any]:
        name = body["metadata"]["name"]
        self._hook("replace", name)
        live = self.leases.get(name)
        if live is None:
            raise LeaseConflict(f"update {name}: 404", 404)
        if live["metadata"]["resourceVersion"] != body["metadata"].get("resourceVersion"):
            raise LeaseConflict(f"update {name}: 409 Conflict", 409)
        return self._stamp(body)

    def delete(self, name: str, uid: str, resource_version: str) -> None:
        self._hook("delete", name)
        live = self.leases.get(name)
        if live is None:
            return
        if live["metadata"]["uid"] != uid or live["metadata"]["resourceVersion"] != resource_version:
            raise LeaseConflict(f"delete {name}: 409 precondition failed", 409)
        del self.leases[name]

    def holder(self, name: str) -> str | None:
        lease = self.leases.get(name)
        return lease["spec"]["holderIdentity"] if lease else None


TIMING = Timing(lease_duration=10, renew_deadline=6.0, retry_period=2.0)


def elector(
    api: FakeLeases,
    clock: Clock,
    namespaces: list[str] | None,
    who: str,
    alive: Callable[[int], bool] = lambda _pid: True,
) -> Elector:
    # Identities as new_identity() makes them: host_pid_pidns_nonce.
    return Elector(
        api, namespaces, identity=who, timing=TIMING, clock=clock, wall=clock.wall, pid_alive=alive
    )


A = "host-a_101_4026531836_aaaaaa"
B = "host-b_202_4026531836_bbbbbb"


def test_first_candidate_creates_the_lease_and_leads_the_second_stands_by_naming_it() -> None:
    api, clock = FakeLeases(), Clock()
    a, b = elector(api, clock, ["web"], A), elector(api, clock, ["web"], B)
    assert a.step() is None and a.leading
    lease = api.leases["ecsk-operator-ns.web"]
    assert lease["spec"]["holderIdentity"] == A
    assert lease["spec"]["leaseDurationSeconds"] == 10
    assert lease["spec"]["renewTime"] == "2026-12-04T12:00:00.000000Z"  # MicroTime: six digits
    assert lease["metadata"]["labels"] == {
        "app.kubernetes.io/managed-by": "ecsk",
        "ecs.ecsk.io/operator-scope": "namespace",
        "ecs.ecsk.io/operator-namespace": "web",
    }
    why = b.step()
    assert why is not None and not b.leading
    assert "pid 101 on host host-a" in why and "namespace web" in why
    assert api.holder("ecsk-operator-ns.web") == A


def test_standby_takes_over_only_after_a_full_lease_duration_of_silence() -> None:
    api, clock = FakeLeases(), Clock()
    a, b = elector(api, clock, ["web"], A), elector(api, clock, ["web"], B)
    a.step()
    for _ in range(10):  # the leader renews every 2 s: the standby never takes over
        clock.now += 2
        assert a.tick() is None
        assert b.step() is not None
    # The leader dies (no more renewals). b saw its last renewal just now: it waits 10 s from here.
    clock.now += 2
    assert b.step() is not None
    clock.now += 7.9
    assert b.step() is not None
    clock.now += 0.1
    assert b.step() is None and b.leading
    lease = api.leases["ecsk-operator-ns.web"]
    assert lease["spec"]["holderIdentity"] == B
    assert lease["spec"]["leaseTransitions"] == 1
    assert lease["spec"]["acquireTime"] == lease["spec"]["renewTime"]


def test_deposed_leader_learns_it_lost_on_its_next_renewal() -> None:
    api, clock = FakeLeases(), Clock()
    a, b = elector(api, clock, ["web"], A), elector(api, clock, ["web"], B)
    a.step()
    b.step()
    clock.now += 11  # a was frozen (e.g. SIGSTOP) past the lease duration
    assert b.step() is None
    why = a.tick()
    assert why is not None and "now held by" in why and "pid 202 on host host-b" in why
    assert not a.leading and a.held == {}


def test_renewal_errors_are_retried_until_the_renew_deadline() -> None:
    api, clock = FakeLeases(), Clock()
    a = elector(api, clock, None, A)
    a.step()
    api.fail = 100
    clock.now += 2
    assert a.tick() is None  # 2 s without renewal: keep going
    clock.now += 2
    assert a.tick() is None
    clock.now += 2
    why = a.tick()
    assert why is not None and "deadline 6.0s" in why and "503" in why
    # ... which is before any standby may take over (lease duration 10 s after the last renewal).
    assert TIMING.renew_deadline + TIMING.retry_period < TIMING.lease_duration


def test_a_renewal_whose_answer_was_lost_is_not_mistaken_for_a_takeover() -> None:
    api, clock = FakeLeases(), Clock()
    a = elector(api, clock, ["web"], A)
    a.step()
    # Our update lands, but we never see the new resourceVersion (timeout on the response).
    api.replace(a._stamped(api.leases["ecsk-operator-ns.web"]))
    clock.now += 2
    assert a.tick() is None and a.leading
    clock.now += 2
    assert a.tick() is None
    assert api.holder("ecsk-operator-ns.web") == A


def test_clean_release_lets_the_standby_take_over_at_its_next_check() -> None:
    api, clock = FakeLeases(), Clock()
    a, b = elector(api, clock, ["web"], A), elector(api, clock, ["web"], B)
    a.step()
    assert b.step() is not None
    a.release()
    assert "ecsk-operator-ns.web" not in api.leases
    clock.now += 2
    assert b.step() is None and b.leading


def test_release_never_deletes_a_lease_someone_else_took_over() -> None:
    api, clock = FakeLeases(), Clock()
    a, b = elector(api, clock, ["web"], A), elector(api, clock, ["web"], B)
    a.step()
    b.step()
    clock.now += 11
    b.step()
    a.release()  # a still believes it holds its old version: the preconditions refuse
    assert api.holder("ecsk-operator-ns.web") == B


def test_dead_holder_on_this_host_is_replaced_at_once_a_live_one_or_a_remote_one_is_not() -> None:
    api, clock = FakeLeases(), Clock()
    old = "host-a_101_4026531836_oldold"
    elector(api, clock, ["web"], old).step()
    same_host = "host-a_102_4026531836_newnew"
    assert elector(api, clock, ["web"], same_host, alive=lambda pid: True).step() is not None
    assert elector(api, clock, ["web"], same_host, alive=lambda pid: pid != 101).step() is None
    # Another host (or another pid namespace) cannot check the pid: wait out the lease.
    api2 = FakeLeases()
    elector(api2, clock, ["web"], old).step()
    other_ns = "host-a_102_999_newnew"
    assert elector(api2, clock, ["web"], other_ns, alive=lambda pid: False).step() is not None
    # An earlier incarnation of this very pid (restarted container: pid 1 again) is dead.
    api3 = FakeLeases()
    elector(api3, clock, ["web"], "pod-x_1_4026531836_first1").step()
    assert elector(api3, clock, ["web"], "pod-x_1_4026531836_second", alive=lambda p: True).step() is None


def test_namespaced_candidate_yields_to_an_active_cluster_wide_operator() -> None:
    api, clock = FakeLeases(), Clock()
    cluster = elector(api, clock, None, A)
    assert cluster.step() is None
    ns = elector(api, clock, ["web"], B)
    why = ns.step()
    assert why is not None and "the cluster-wide operator (pid 101 on host host-a" in why
    assert "reconciles web too" in why
    # It gave its own Lease back, so the cluster-wide side never waits for a mere standby, and
    # while the cluster-wide one stays active it does not even touch it (no Lease churn).
    assert "ecsk-operator-ns.web" not in api.leases and ns.held == {}
    writes = api.writes
    for _ in range(3):
        clock.now += 2
        cluster.tick()
        assert ns.step() is not None
    assert api.writes == writes + 3  # the cluster-wide renewals only
    cluster.release()
    assert ns.step() is None and ns.leading


def test_cluster_wide_candidate_waits_for_active_namespaced_operators_holding_its_lease() -> None:
    api, clock = FakeLeases(), Clock()
    ns_a, ns_b = elector(api, clock, ["a"], A), elector(api, clock, ["b"], "host-c_303_1_cccccc")
    ns_a.step(), ns_b.step()
    cluster = elector(api, clock, None, B)
    why = cluster.step()
    assert why is not None and "namespace a" in why and "namespace b" in why
    assert api.holder(CLUSTER_LEASE) == B  # held: new namespaced operators now stand by
    newcomer = elector(api, clock, ["c"], "host-d_404_1_dddddd")
    assert newcomer.step() is not None
    ns_a.release()
    clock.now += 2
    ns_b.tick()
    assert cluster.step() is not None  # b still active
    ns_b.release()
    clock.now += 2
    assert cluster.step() is None and cluster.leading


@pytest.mark.parametrize("first", ["namespaced", "cluster"])
def test_overlapping_candidates_racing_never_both_lead(first: str) -> None:
    """Each takes its own Lease, then reads the other's: whichever interleaving, one sees the other."""
    api, clock = FakeLeases(), Clock()
    ns, cluster = elector(api, clock, ["web"], A), elector(api, clock, None, B)
    results: list[str | None] = []
    if first == "namespaced":
        # The namespaced one found no cluster-wide operator, took its Lease, and is about to read
        # the cluster Lease again (its second get) when the cluster-wide one runs a whole round.
        def second_get() -> None:
            api.hooks[("get", CLUSTER_LEASE)] = lambda: results.append(cluster.step())

        api.hooks[("get", CLUSTER_LEASE)] = second_get
        results.append(ns.step())
        assert api.holder(CLUSTER_LEASE) == B  # the interleaving happened as described
    else:
        # The cluster-wide one has taken its Lease and is about to list namespace Leases.
        api.hooks[("list", "")] = lambda: results.append(ns.step())
        results.append(cluster.step())
    assert len(results) == 2 and results.count(None) <= 1
    assert not (ns.leading and cluster.leading)
    # Neither stalls: the namespaced side yields, the cluster side leads on its next round.
    clock.now += 2
    if not cluster.leading:
        assert cluster.step() is None
    assert cluster.leading and not ns.leading
    assert ns.step() is not None


def test_multi_namespace_operator_takes_its_leases_in_sorted_order() -> None:
    api, clock = FakeLeases(), Clock()
    ab = elector(api, clock, ["b", "a"], A)
    assert ab.names == ["ecsk-operator-ns.a", "ecsk-operator-ns.b"]
    only_b = elector(api, clock, ["b"], B)
    assert only_b.step() is None
    assert ab.step() is not None
    assert api.holder("ecsk-operator-ns.a") == A  # keeps what it has while waiting for b
    only_b.release()
    assert ab.step() is None and set(ab.held) == {"ecsk-operator-ns.a", "ecsk-operator-ns.b"}


def test_timing_must_let_a_deposed_leader_stop_before_a_standby_acts() -> None:
    assert Timing().takeover_bound == 14
    with pytest.raises(ValueError, match="renew deadline < lease duration"):
        Timing(lease_duration=5, renew_deadline=6.0, retry_period=2.0)
    with pytest.raises(ValueError):
        Timing(lease_duration=10, renew_deadline=2.0, retry_period=2.0)


def test_tools_see_fresh_holders_only_and_refuse_with_the_pid() -> None:
    api, clock = FakeLeases(), Clock()
    elector(api, clock, ["web"], "host-b_202_1_bbbbbb").step()
    elector(api, clock, None, "host-a_101_1_aaaaaa").step()  # holds its Lease, waiting for web
    clock.now += 3
    holders = leader.active_operators(api, now=clock.wall())
    assert {(h.namespace, h.pid) for h in holders} == {(None, 101), ("web", 202)}
    assert all(h.renewed_ago == 3 for h in holders)
    assert leader.active_operators(api, now=clock.wall() + timedelta(seconds=11)) == []
    cluster_only = [h for h in holders if h.namespace is None]
    assert leader.overlapping(holders, ["other"]) == cluster_only
    assert len(leader.overlapping(holders, ["web"])) == 2
    assert len(leader.overlapping(holders, None)) == 2
    message = leader.refusal(cluster_only, "bench")
    assert "the cluster-wide operator (pid 101 on host host-a" in message
    assert "kill 101" in message and "ecsk cluster down" in message


def test_tools_ignore_a_lease_whose_holder_died_on_this_host() -> None:
    api, clock = FakeLeases(), Clock()
    mine = leader.new_identity()
    host, _pid, pidns, _nonce = mine.rsplit("_", 3)
    elector(api, clock, None, f"{host}_999999_{pidns}_deaded").step()
    assert leader.active_operators(api, now=clock.wall(), pid_alive=lambda pid: False) == []
    assert len(leader.active_operators(api, now=clock.wall(), pid_alive=lambda pid: True)) == 1


def test_confidence_lapses_at_the_renew_deadline_and_returns_with_a_renewal() -> None:
    api, clock = FakeLeases(), Clock()
    a = elector(api, clock, ["web"], A)
    assert not a.confident()  # standing by: never write
    a.step()
    assert a.confident()
    clock.now += 5.9
    assert a.confident()
    clock.now += 0.1  # e.g. the process was frozen: writes stop before a standby may act
    assert not a.confident()
    assert a.tick() is None and a.confident()


class _Unreachable:
    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the API was called ({name}) although the fence is closed")


def test_kube_refuses_every_write_while_the_fence_is_closed() -> None:
    from ecsk.controller.kube.client import Kube

    kube = Kube.__new__(Kube)  # no API server: nothing may be reached anyway
    kube.dyn = kube.core = _Unreachable()
    kube.may_write = lambda: False
    obj = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "web"}}
    for write in (
        lambda: kube.create(obj),
        lambda: kube.delete("v1", "Pod", "p", "web"),
        lambda: kube.merge_patch("v1", "Pod", "p", "web", {"metadata": {"labels": {"a": "b"}}}),
    ):
        with pytest.raises(KubeError, match="not sure it still leads"):
            write()
    kube.event(obj, "Started", "started")  # events are best effort: silently not posted


def test_an_unexpected_renewal_error_counts_like_an_api_error_never_kills_the_renewer() -> None:
    api, clock = FakeLeases(), Clock()
    a = elector(api, clock, None, A)
    a.step()

    def boom() -> None:
        raise RuntimeError("bug")

    api.hooks[("replace", CLUSTER_LEASE)] = boom
    clock.now += 2
    assert a.tick() is None
    api.hooks[("replace", CLUSTER_LEASE)] = boom
    clock.now += 4
    why = a.tick()
    assert why is not None and "bug" in why


def test_an_unreachable_api_server_is_a_kube_error_the_election_retries() -> None:
    from kubernetes import client as k8s_client

    from ecsk.controller.kube.leases import KubeLeases

    config = k8s_client.Configuration()
    config.host = "http://127.0.0.1:9"  # discard port: connection refused at once
    config.retries = 0
    leases = KubeLeases(k8s_client.ApiClient(config))
    with pytest.raises(KubeError, match="unreachable"):
        leases.get(CLUSTER_LEASE)
    why = Elector(leases, ["web"], identity=A).acquire(_stopped_after_one_round())
    assert why is False


def _stopped_after_one_round() -> Any:
    import threading

    class Once(threading.Event):
        def wait(self, timeout: float | None = None) -> bool:
            self.set()
            return True

    return Once()


def test_a_standby_answers_the_liveness_probe_and_frees_the_port_for_kopf() -> None:
    import socket
    import urllib.error
    import urllib.request

    from ecsk.controller.operator import standby_probe

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/healthz"
    with standby_probe(url):
        with urllib.request.urlopen(url, timeout=5) as res:
            assert res.status == 200 and b"standby" in res.read()
        with pytest.raises(urllib.error.HTTPError, match="404"):
            urllib.request.urlopen(f"http://127.0.0.1:{port}/other", timeout=5)
    with socket.socket() as s:  # released: kopf's own liveness server can bind it now
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))
    with standby_probe(None):  # no --liveness: nothing served
        pass
