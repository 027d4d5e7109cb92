"""One active operator per scope: leader election on coordination.k8s.io/v1 Leases.

Layout (all in `ecsk-system`, see docs/operator.md "One active operator"):

- `ecsk-operator` — the cluster-wide operator (`ecsk operator`);
- `ecsk-operator-ns.<namespace>` — the operator of one namespace (`ecsk operator -n NS`; with
  several `-n`, one Lease each, taken in sorted order so two multi-namespace operators cannot
  each hold half of what the other needs).

Same scope: whoever holds the Lease acts, the others stand by and take over once it has not been
renewed for `lease_duration` seconds *as they observed it* (client-go's rule: the local clock
measures how long a record stayed unchanged, so clock skew between machines does not matter), or
at once when it was released (deleted on clean shutdown) or its holder is a dead process on this
host. Updates carry the resourceVersion read, so two candidates never both win a takeover.

Overlapping scopes (a cluster-wide operator reconciles every namespace): Dekker's protocol. A
candidate first takes its own Lease(s), then reads the other side's: the namespaced operator the
cluster Lease, the cluster-wide operator every namespace Lease. The API server's reads are
linearizable, so of two candidates racing, at least one sees the other. The namespaced side
always yields (releases its Leases and stands by; it peeks at the cluster Lease first, so it does
not churn its own while a cluster-wide operator is active), the cluster-wide side keeps its Lease
and waits: no livelock, and an operator already acting is never displaced by a newcomer.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from ecsk.controller.kube.client import KubeError
from ecsk.controller.kube.leases import LEASE_NAMESPACE, KubeLeases, LeaseConflict
from ecsk.core.translate.names import MANAGED_BY

log = logging.getLogger("ecsk.leader")

CLUSTER_LEASE = "ecsk-operator"
SCOPE_LABEL = "ecs.ecsk.io/operator-scope"
"""`cluster` or `namespace`: the cluster-wide operator lists the namespace Leases by it."""
NAMESPACE_LABEL = "ecs.ecsk.io/operator-namespace"
"""The namespace a namespace-scope Lease guards (for messages and `ecsk cluster status`)."""


@dataclass(frozen=True)
class Timing:
    """client-go's defaults (15 s / 10 s / 2 s) scaled down: a kill -9'd leader is replaced within
    `lease_duration + 2 * retry_period` (14 s), a cleanly stopped one within `retry_period`.

    A leader writes nothing once its last successful renewal was sent `renew_deadline` (6 s) ago
    (the `confident()` fence) and exits at the latest about 9 s after it (deadline, one 2 s request
    timeout, tick granularity); standbys need `lease_duration` (10 s) of silence, so a deposed
    leader has stopped acting before anyone takes over."""

    lease_duration: int = 10
    renew_deadline: float = 6.0
    retry_period: float = 2.0

    def __post_init__(self) -> None:
        if not 0 < self.retry_period < self.renew_deadline < self.lease_duration:
            raise ValueError(
                "leader election timing needs 0 < retry period < renew deadline < lease duration "
                f"(got {self.retry_period}, {self.renew_deadline}, {self.lease_duration})"
            )

    @property
    def takeover_bound(self) -> float:
        """Worst case from a leader's death to a standby acting (what the tests assert)."""
        return self.lease_duration + 2 * self.retry_period


class LeaseApi(Protocol):
    """The Lease calls election needs (`ecsk.controller.kube.leases.KubeLeases`, or a fake)."""

    def get(self, name: str) -> dict[str, Any] | None: ...

    def list(self, label_selector: str) -> list[dict[str, Any]]: ...

    def create(self, body: Mapping[str, Any]) -> dict[str, Any]: ...

    def replace(self, body: Mapping[str, Any]) -> dict[str, Any]: ...

    def delete(self, name: str, uid: str, resource_version: str) -> None: ...


class LeaseLost(RuntimeError):
    """Our Lease was taken over or deleted by someone else: stop acting now."""


def lease_name(namespace: str | None) -> str:
    return CLUSTER_LEASE if namespace is None else f"{CLUSTER_LEASE}-ns.{namespace}"


def new_identity() -> str:
    """`host_pid_pidns_nonce`: people read host and pid in messages; the pid namespace tells
    whether "pid N is dead" can be checked from here; the nonce tells a restarted process (same
    pid 1 in a container) from its previous incarnation."""
    return f"{socket.gethostname()}_{os.getpid()}_{_pid_namespace()}_{uuid.uuid4().hex[:6]}"


def _pid_namespace() -> str:
    try:
        return str(os.stat("/proc/self/ns/pid").st_ino)
    except OSError:
        return "0"


def _parts(identity: str) -> tuple[str | None, int | None, str | None]:
    """(host, pid, pid namespace) of an identity `new_identity()` made; Nones for any other."""
    parts = identity.rsplit("_", 3)
    if len(parts) != 4 or not parts[1].isdigit():
        return None, None, None
    return parts[0], int(parts[1]), parts[2]


def dead_here(identity: str, own_identity: str, pid_alive: Callable[[int], bool]) -> bool:
    """A holder in our pid namespace on our host whose process is gone (or is an earlier
    incarnation of us: same pid, other nonce) cannot renew: no need to wait out its Lease."""
    host, pid, pidns = _parts(identity)
    own_host, own_pid, own_pidns = _parts(own_identity)
    if pid is None or host != own_host or pidns != own_pidns:
        return False
    return pid == own_pid or not pid_alive(pid)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass(frozen=True)
class Holder:
    """Who holds a Lease, as people need it in a message."""

    identity: str
    lease: str
    namespace: str | None
    """The namespace the holder watches; None for the cluster-wide operator."""
    renewed_ago: float | None = None

    @property
    def host(self) -> str | None:
        return _parts(self.identity)[0]

    @property
    def pid(self) -> int | None:
        return _parts(self.identity)[1]

    def describe(self) -> str:
        who = (
            "the cluster-wide operator"
            if self.namespace is None
            else f"the operator of namespace {self.namespace}"
        )
        where = f"pid {self.pid} on host {self.host}" if self.pid is not None else f"identity {self.identity}"
        return f"{who} ({where}; Lease {LEASE_NAMESPACE}/{self.lease})"


def holder_of(lease: Mapping[str, Any], renewed_ago: float | None = None) -> Holder:
    meta = lease.get("metadata") or {}
    labels = meta.get("labels") or {}
    namespace = labels.get(NAMESPACE_LABEL) if labels.get(SCOPE_LABEL) == "namespace" else None
    identity = str((lease.get("spec") or {}).get("holderIdentity") or "")
    return Holder(identity, str(meta.get("name", "")), namespace, renewed_ago)


def micro_time(t: datetime) -> str:
    """Kubernetes MicroTime: RFC 3339 with exactly six fractional digits."""
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Elector:
    """The election of one operator process for its scope (see the module docstring).

    `step()` is one standby round, `tick()` one renewal round of the leader; `acquire()` and
    `keep_leading()` loop them on real time. Clock, wall clock and pid check are injectable so
    the state machine is tested with a fake clock and a fake Lease API."""

    def __init__(
        self,
        api: LeaseApi,
        namespaces: Sequence[str] | None,
        identity: str | None = None,
        timing: Timing | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], datetime] = _utcnow,
        pid_alive: Callable[[int], bool] = _pid_alive,
    ) -> None:
        self.api = api
        self.namespaces = sorted(set(namespaces or ()))
        self.identity = identity or new_identity()
        self.timing = timing or Timing()
        self.clock, self.wall, self.pid_alive = clock, wall, pid_alive
        self.names = [lease_name(ns) for ns in self.namespaces] or [CLUSTER_LEASE]
        self.held: dict[str, dict[str, Any]] = {}
        self.leading = False
        self.last_renew = 0.0
        self._observed: dict[str, tuple[str, float]] = {}

    @property
    def scope(self) -> str:
        return "cluster-wide" if not self.namespaces else f"namespace {', '.join(self.namespaces)}"

    # --- standing by -----------------------------------------------------------------------

    def step(self) -> str | None:
        """One round: take or renew our Leases, then check the overlapping scope.
        None when we lead now; otherwise why we stand by (a sentence naming the holder)."""
        started = self.clock()
        if self.namespaces and (blockers := self._overlapping_active()):
            return self._yield(blockers[0])  # no need to touch our Leases while it is active
        for name in self.names:
            other = self._take(name)
            if other is not None:
                return f"standing by: {other.describe()} holds the Lease for this scope"
        self.last_renew = started
        blockers = self._overlapping_active()  # again: it may have started since we looked
        if blockers and self.namespaces:
            return self._yield(blockers[0])
        if blockers:
            return "standing by (holding the cluster Lease) until namespaced operators stop: " + "; ".join(
                b.describe() for b in blockers
            )
        self.leading = True
        return None

    def _yield(self, cluster_wide: Holder) -> str:
        """A namespaced candidate gives its Leases back to an active cluster-wide operator (or
        the cluster-wide one, waiting for namespaced operators to stop, would wait for us)."""
        self.release()
        return (
            f"standing by: {cluster_wide.describe()} is active and reconciles "
            f"{', '.join(self.namespaces)} too; this operator acts once it stops"
        )

    def _take(self, name: str) -> Holder | None:
        """Create, renew or take over one Lease; the live holder when someone else has it."""
        lease = self.api.get(name)
        try:
            if lease is None:
                self.held[name] = self.api.create(self._new_lease(name))
                return None
            live = self._live_holder(lease)
            if live is not None:
                self.held.pop(name, None)
                return live
            self.held[name] = self.api.replace(self._stamped(lease))
        except LeaseConflict:
            self.held.pop(name, None)  # another candidate wrote first: look again next round
            current = self.api.get(name)
            return holder_of(current) if current is not None else holder_of({"metadata": {"name": name}})
        return None

    def _overlapping_active(self) -> list[Holder]:
        if self.namespaces:
            lease = self.api.get(CLUSTER_LEASE)
            live = self._live_holder(lease) if lease is not None else None
            return [live] if live is not None else []
        leases = self.api.list(f"{MANAGED_BY}=ecsk,{SCOPE_LABEL}=namespace")
        return [h for lease in leases if (h := self._live_holder(lease)) is not None]

    def _live_holder(self, lease: Mapping[str, Any]) -> Holder | None:
        """The holder if the Lease is held by someone else who has not let it lapse."""
        spec = lease.get("spec") or {}
        holder = str(spec.get("holderIdentity") or "")
        if not holder or holder == self.identity or dead_here(holder, self.identity, self.pid_alive):
            return None
        meta = lease.get("metadata") or {}
        key = (str(meta.get("name", "")), str(meta.get("resourceVersion", "")))
        seen = self._observed.get(key[0])
        if seen is None or seen[0] != key[1]:
            seen = self._observed[key[0]] = (key[1], self.clock())
        silent = self.clock() - seen[1]
        if silent >= float(spec.get("leaseDurationSeconds") or self.timing.lease_duration):
            return None
        return holder_of(lease, silent)

    # --- leading ---------------------------------------------------------------------------

    def tick(self) -> str | None:
        """One renewal round of the leader: None while we still lead, else why we lost."""
        started = self.clock()
        try:
            self.renew()
        except LeaseLost as exc:
            return str(exc)
        except Exception as exc:  # API errors, and bugs: never a silently dead renewer
            late = self.clock() - self.last_renew
            if late >= self.timing.renew_deadline:
                deadline = self.timing.renew_deadline
                return f"could not renew the Lease for {late:.1f}s (deadline {deadline}s): {exc}"
            log.warning("Lease renewal failed (%.1fs since the last one): %s", late, exc)
            return None
        self.last_renew = started
        return None

    def confident(self) -> bool:
        """Whether we may act now: leading, and the last renewal was sent less than the renew
        deadline ago (the fence `Kube.may_write` asks before every write)."""
        return self.leading and self.clock() - self.last_renew < self.timing.renew_deadline

    def renew(self) -> None:
        for name, lease in list(self.held.items()):
            try:
                self.held[name] = self.api.replace(self._stamped(lease))
            except LeaseConflict as exc:
                current = self.api.get(name)
                holder = str(((current or {}).get("spec") or {}).get("holderIdentity") or "")
                if current is None or holder != self.identity:
                    self.held.pop(name, None)
                    self.leading = False
                    taker = holder_of(current).describe() if current and holder else "nobody (deleted)"
                    raise LeaseLost(f"Lease {LEASE_NAMESPACE}/{name} is now held by {taker}") from exc
                self.held[name] = current  # our previous renewal landed but its answer was lost

    def release(self) -> None:
        """Delete the Leases we hold (only the versions we wrote), so a standby takes over at once."""
        for name, lease in list(self.held.items()):
            meta = lease.get("metadata") or {}
            with contextlib.suppress(KubeError):
                self.api.delete(name, str(meta.get("uid", "")), str(meta.get("resourceVersion", "")))
        self.held.clear()
        self.leading = False

    # --- loops on real time ----------------------------------------------------------------

    def acquire(self, stop: threading.Event) -> bool:
        """Stand by until we lead (True) or `stop` is set (False); logs each new reason once."""
        said = None
        while not stop.is_set():
            try:
                why = self.step()
            except KubeError as exc:
                why = f"standing by: cannot use the Lease API: {exc}"
            if why is None:
                leases = ", ".join(f"{LEASE_NAMESPACE}/{n}" for n in self.names)
                log.info("leading (%s) as %s: Lease %s", self.scope, self.identity, leases)
                return True
            if why != said:
                log.warning("%s", why)
                said = why
            stop.wait(self.timing.retry_period)
        return False

    def keep_leading(self, stop: threading.Event, on_lost: Callable[[str], None]) -> None:
        """Renew every retry period until `stop`; `on_lost(reason)` once renewal is impossible."""
        while not stop.wait(self.timing.retry_period):
            why = self.tick()
            if why is not None:
                on_lost(why)
                return

    def _new_lease(self, name: str) -> dict[str, Any]:
        namespace = name.removeprefix(f"{CLUSTER_LEASE}-ns.") if name != CLUSTER_LEASE else None
        labels = {MANAGED_BY: "ecsk", SCOPE_LABEL: "cluster" if namespace is None else "namespace"}
        if namespace is not None:
            labels[NAMESPACE_LABEL] = namespace
        now = micro_time(self.wall())
        return {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {"name": name, "namespace": LEASE_NAMESPACE, "labels": labels},
            "spec": {
                "holderIdentity": self.identity,
                "leaseDurationSeconds": self.timing.lease_duration,
                "acquireTime": now,
                "renewTime": now,
                "leaseTransitions": 0,
            },
        }

    def _stamped(self, lease: Mapping[str, Any]) -> dict[str, Any]:
        """The Lease renewed by us (taken over if someone else held it), same resourceVersion."""
        spec = dict(lease.get("spec") or {})
        now = micro_time(self.wall())
        if spec.get("holderIdentity") != self.identity:
            previous = spec.get("holderIdentity")
            if previous:
                log.info("taking over Lease %s from %s", (lease.get("metadata") or {}).get("name"), previous)
            spec["leaseTransitions"] = int(spec.get("leaseTransitions") or 0) + 1
            spec["acquireTime"] = now
            spec["holderIdentity"] = self.identity
        spec["renewTime"] = now
        spec["leaseDurationSeconds"] = self.timing.lease_duration
        return {**lease, "spec": spec}


# --- for tools that start an operator --------------------------------------------------------


def active_operators(
    api: LeaseApi,
    now: datetime | None = None,
    pid_alive: Callable[[int], bool] = _pid_alive,
) -> list[Holder]:
    """Operators whose Lease was renewed within its duration (wall clock: tools read once and
    have no history to observe), minus holders on this host whose process is gone."""
    now = now or _utcnow()
    host, _, pidns = _parts(new_identity())
    out = []
    for lease in api.list(f"{MANAGED_BY}=ecsk"):
        spec = lease.get("spec") or {}
        holder = holder_of(lease)
        renewed = spec.get("renewTime")
        if not holder.identity or not renewed:
            continue
        ago = (now - datetime.fromisoformat(str(renewed).replace("Z", "+00:00"))).total_seconds()
        if ago > float(spec.get("leaseDurationSeconds") or Timing().lease_duration):
            continue
        h_host, h_pid, h_pidns = _parts(holder.identity)
        if h_pid is not None and (h_host, h_pidns) == (host, pidns) and not pid_alive(h_pid):
            continue
        out.append(Holder(holder.identity, holder.lease, holder.namespace, max(0.0, ago)))
    return out


def active_operators_at(kubeconfig: str) -> list[Holder]:
    """`active_operators` of the cluster a kubeconfig file points at (for tools)."""
    return active_operators(KubeLeases.from_kubeconfig(kubeconfig))


def is_this_process(holder: Holder, pid: int | None) -> bool:
    """Whether `holder` is process `pid` on this host (e.g. the operator `make demo` started)."""
    return pid is not None and holder.pid == pid and holder.host == socket.gethostname()


def overlapping(holders: Sequence[Holder], namespaces: Sequence[str] | None) -> list[Holder]:
    """The holders whose scope overlaps `namespaces` (None: cluster-wide overlaps everyone)."""
    if not namespaces:
        return list(holders)
    return [h for h in holders if h.namespace is None or h.namespace in namespaces]


def refusal(holders: Sequence[Holder], what: str) -> str:
    """The message tools print instead of starting an operator that would stand by or race."""
    lines = [f"{what}: an ecsk operator is already active for an overlapping scope:"]
    for h in holders:
        lines.append(f"  - {h.describe()}, renewed {h.renewed_ago or 0:.0f}s ago")
    pids = " ".join(str(h.pid) for h in holders if h.pid is not None)
    lines.append(
        (f"Stop it first (`kill {pids}`" if pids else "Stop it first")
        + "; the one `make demo` leaves running also stops with `ecsk cluster down`; the in-cluster"
        + " one with `kubectl -n ecsk-system scale deployment/ecsk-operator --replicas 0`)."
        + " A clean stop releases its Lease at once."
    )
    return "\n".join(lines)
