"""Capacity providers: split a service's tasks over providers and scale each emulated ASG.

How the split is realised: the translator's launch-type hook gates every task of a service (or
RunTask) whose strategy names ASG providers (`ecs.ecsk.io/capacity-provider`). One Deployment
per service stays as it is; for each gated pod this controller picks the provider the split
wants next (`ecsk.core.capacity.providers.choose_provider`), adds a nodeSelector on the provider label and
lifts the gate. Scale-in keeps the split too: every task carries a
`controller.kubernetes.io/pod-deletion-cost` so the ReplicaSet removes tasks in the reverse of
the order the split added them.

Each provider's group is scaled by ECS managed scaling (`ecsk.core.capacity.scaling`): tasks
waiting for room raise the desired size; launched instances join after `joinDelaySeconds`;
instances empty for `scaleInAfterSeconds` are cordoned, then removed, down to `minSize`.
Level-based polling, like the Fargate controller. Launches in flight are recorded in the
provider's status (`pendingLaunches`), so a restarted operator resumes them rather than
launching twice or forgetting them; each instance carries its registration time, the clock of
`instanceWarmupPeriod` (no scale-in while an instance warms up).
"""

from __future__ import annotations

import logging
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ecsk.controller.capacity import launch
from ecsk.controller.capacity.launch import alive, group_of, labels
from ecsk.controller.kube import inventory
from ecsk.controller.kube.client import Kube, KubeError
from ecsk.controller.runtime.polling import PollingController
from ecsk.core.capacity import asg
from ecsk.core.capacity import providers as cap
from ecsk.core.capacity import scaling as sc
from ecsk.core.capacity.fleet import INSTANCE_TYPES
from ecsk.core.capacity.models import CapacityProvider, ECSCluster
from ecsk.core.capacity.validation import NOT_ASSOCIATED, validate_capacity_provider, validate_cluster
from ecsk.core.translate.names import label_value

log = logging.getLogger("ecsk.controller.capacity.providers")

DELETION_COST = "controller.kubernetes.io/pod-deletion-cost"
ZONE_LABEL = "topology.kubernetes.io/zone"
INSTANCE_TYPE_LABEL = "node.kubernetes.io/instance-type"
DEFAULT_ZONES = ("us-east-1a", "us-east-1b", "us-east-1c")
NOT_FOUND = "The specified capacity provider '{}' was not found."


@dataclass
class Provider:
    name: str
    body: dict[str, Any]
    spec: CapacityProvider


class CapacityController(PollingController):
    name = "capacity"

    def __init__(
        self,
        kube: Kube,
        region: str = "us-east-1",
        interval: float = 1.0,
        namespaces: list[str] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(kube, region=region, interval=interval, namespaces=namespaces)
        self._launching: dict[str, list[asg.PendingLaunch]] = {}
        """Launches in flight per provider, mirrored into its status (`pendingLaunches`)."""
        self._empty_since: dict[str, float] = {}
        self.clock = clock
        """Wall clock: launch and warm-up times are persisted, so they must outlive the process."""

    # --- reads -------------------------------------------------------------------------------

    def _list_cr(self, kind: str) -> list[dict[str, Any]]:
        return launch.list_custom(self.kube, kind, self.namespaces)

    def providers(self) -> dict[str, Provider]:
        out: dict[str, Provider] = {}
        for body in sorted(
            self._list_cr("CapacityProvider"), key=lambda b: b["metadata"].get("namespace", "")
        ):
            if not self.report_validity(body, validate_capacity_provider(body.get("spec") or {})):
                continue
            spec = CapacityProvider.model_validate(body.get("spec") or {})
            name = spec.name or body["metadata"]["name"]
            out.setdefault(name, Provider(name, body, spec))
        return out

    def _all_pods(self) -> list[dict[str, Any]]:
        return launch.list_pods(self.kube, self.namespaces)

    # --- one pass ----------------------------------------------------------------------------

    def clusters(self) -> dict[str, dict[str, Any]]:
        """The valid ECSClusters by cluster name; each one's Valid condition is kept current (a
        refused default strategy is reported on the cluster, and not applied to anything)."""
        out: dict[str, dict[str, Any]] = {}
        for body in self._list_cr("ECSCluster"):
            spec = body.get("spec") or {}
            if self.report_validity(body, validate_cluster(spec)):
                out[ECSCluster.model_validate(spec).clusterName or body["metadata"]["name"]] = body
        return out

    def reconcile_once(self) -> None:
        clusters = self.clusters()
        providers = self.providers()
        # Without providers only gated tasks matter (to report them): pending pods suffice, and
        # with none of those this pass costs two small lists, whatever the cluster's size.
        pods = self._all_pods() if providers else launch.pending_pods(self.kube, self.namespaces)
        if not providers and not any(_gated(p) for p in pods):
            return
        owners = launch.owners(self.kube, self.namespaces)
        self._assign(pods, providers, owners, clusters)
        self._set_deletion_costs(pods, owners)
        nodes = self.kube.list("v1", "Node", label_selector=sc.PROVIDER_LABEL)  # only group instances
        for provider in providers.values():
            try:
                self._scale(provider, nodes, pods)
            except KubeError as exc:
                log.warning("capacity provider %s: %s", provider.name, exc)
            except Exception:
                log.exception("capacity provider %s: scaling failed", provider.name)

    # --- the split ---------------------------------------------------------------------------

    def _assign(
        self,
        pods: list[dict[str, Any]],
        providers: Mapping[str, Provider],
        owners: Mapping[tuple[str, str], tuple[list[dict[str, Any]], str]],
        clusters: Mapping[str, dict[str, Any]],
    ) -> None:
        counts: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
        for pod in pods:
            chosen = (pod["metadata"].get("labels") or {}).get(sc.PROVIDER_LABEL)
            if chosen and alive(pod):
                counts[group_of(pod)][chosen] += 1
        for pod in pods:
            gates = (pod.get("spec") or {}).get("schedulingGates") or ()
            if not any(g.get("name") == cap.CAPACITY_GATE for g in gates) or not alive(pod):
                continue
            group = group_of(pod)
            strategy, cluster = owners.get(group, ([], "default"))
            if not strategy:
                continue  # owner not seen yet (or gone): try again next pass
            items = [cap.StrategyItem.from_aws(i) for i in strategy]
            have = [counts[group][it.capacityProvider] for it in items]
            idx = cap.choose_provider(items, have)
            if idx is None:
                self._warn(pod, "FailedPlacement", "no capacity provider in the strategy has a weight > 0")
                continue
            name = items[idx].capacityProvider
            if name not in providers:
                self._warn(pod, "FailedPlacement", f"ClientException: {NOT_FOUND.format(name)}")
                continue
            cluster_body = clusters.get(cluster)
            if cluster_body is not None and name not in (
                (cluster_body.get("spec") or {}).get("capacityProviders") or []
            ):
                self._warn(pod, "FailedPlacement", f"InvalidParameterException: {NOT_ASSOCIATED}")
                continue
            value = label_value(name)
            patch = {
                "metadata": {"labels": {sc.PROVIDER_LABEL: value}},
                "spec": {
                    "nodeSelector": {sc.PROVIDER_LABEL: value},
                    "schedulingGates": [g for g in gates if g.get("name") != cap.CAPACITY_GATE] or None,
                },
            }
            try:
                launch.pending.remember(
                    self.kube.merge_patch("v1", "Pod", pod["metadata"]["name"], group[0], patch)
                )
            except KubeError as exc:
                log.warning("capacity: assign %s/%s: %s", group[0], pod["metadata"]["name"], exc)
                continue
            pod["metadata"].setdefault("labels", {})[sc.PROVIDER_LABEL] = value
            counts[group][name] += 1

    def _set_deletion_costs(
        self,
        pods: list[dict[str, Any]],
        owners: Mapping[tuple[str, str], tuple[list[dict[str, Any]], str]],
    ) -> None:
        groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
        for pod in pods:
            if alive(pod) and (pod["metadata"].get("labels") or {}).get(sc.PROVIDER_LABEL):
                groups[group_of(pod)].append(pod)
        for group, members in groups.items():
            strategy = owners.get(group, ([], ""))[0]
            if not strategy or not group[1].startswith("svc:"):
                continue
            items = [cap.StrategyItem.from_aws(i) for i in strategy]
            index = {label_value(it.capacityProvider): i for i, it in enumerate(items)}
            per: list[list[dict[str, Any]]] = [[] for _ in items]
            for pod in members:
                i = index.get(pod["metadata"]["labels"][sc.PROVIDER_LABEL])
                if i is not None:
                    per[i].append(pod)
            for lst in per:
                lst.sort(key=lambda p: (p["metadata"].get("creationTimestamp") or "", p["metadata"]["name"]))
            costs = cap.deletion_costs(items, [len(lst) for lst in per])
            for lst, cs in zip(per, costs, strict=True):
                for pod, cost in zip(lst, cs, strict=True):
                    if (pod["metadata"].get("annotations") or {}).get(DELETION_COST) == str(cost):
                        continue
                    patch = {"metadata": {"annotations": {DELETION_COST: str(cost)}}}
                    try:
                        self.kube.merge_patch("v1", "Pod", pod["metadata"]["name"], group[0], patch)
                    except KubeError as exc:
                        log.debug("capacity: deletion cost on %s: %s", pod["metadata"]["name"], exc)

    # --- the group ---------------------------------------------------------------------------

    def _scale(self, provider: Provider, nodes: list[dict[str, Any]], pods: list[dict[str, Any]]) -> None:
        spec = provider.spec
        group = spec.autoScalingGroup
        value = label_value(provider.name)
        now = self.clock()
        self._pending(provider, {n["metadata"]["name"] for n in nodes})
        nodes.extend(self._join_due(provider, now))  # instances registering now count already
        mine = [n for n in nodes if labels(n).get(sc.PROVIDER_LABEL) == value]
        names = {n["metadata"]["name"] for n in mine}
        on_node: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for pod in pods:
            host = str((pod.get("spec") or {}).get("nodeName") or "")
            if host in names and alive(pod):
                on_node[host].append(pod)
        waiting = [
            p
            for p in pods
            if ((p.get("spec") or {}).get("nodeSelector") or {}).get(sc.PROVIDER_LABEL) == value
            and _unschedulable(p)
        ]
        estimate = sc.estimate_instances(
            [sc.pod_request(p.get("spec") or {}) for p in waiting],
            [INSTANCE_TYPES[t] for t in group.instanceTypes],
        )
        if estimate.incompatible:
            smallest = min(group.instanceTypes, key=lambda t: INSTANCE_TYPES[t].allocatable_millicpu)
            self._warn(
                provider.body,
                "TaskNotCompatible",
                f"{estimate.incompatible} task(s) need more CPU or memory than the smallest instance "
                f"type of the group ({smallest}) offers: managed scaling leaves them out of the "
                "scale-out calculation.",
            )
        busy = sum(1 for n in mine if on_node.get(n["metadata"]["name"]))
        needed = busy + estimate.instances
        launching = self._launching[provider.name]
        current = len(mine) + len(launching)
        warming = [n for n in mine if asg.warming_up(n, now, spec.warmup_seconds)]
        # Every waiting task too big for the smallest type: ECS stops scaling the group and the
        # metric stays at the target.
        hold = bool(waiting) and estimate.incompatible == len(waiting)
        if not spec.managed_scaling:
            desired = max(
                group.minSize,
                min(
                    group.maxSize,
                    group.desiredCapacity if group.desiredCapacity is not None else group.minSize,
                ),
            )
        elif hold:
            desired = max(group.minSize, min(max(group.minSize, group.maxSize), current))
        else:
            low, high = spec.step_sizes
            desired = sc.desired_capacity(
                current=current,
                needed=needed,
                target=spec.target_capacity,
                min_size=group.minSize,
                max_size=group.maxSize,
                min_step=low,
                max_step=high,
            )
            if desired < current and warming:
                # Target tracking does not scale in while an instance warms up; only maxSize
                # (enforced by the group itself) can still shrink it.
                desired = min(current, max(group.minSize, group.maxSize))
        if desired >= current:
            for node in mine:  # a cordoned instance is wanted again: cheaper than a launch
                if (node.get("spec") or {}).get("unschedulable"):
                    self.kube.merge_patch(
                        "v1", "Node", node["metadata"]["name"], None, {"spec": {"unschedulable": None}}
                    )
                    self._empty_since.pop(node["metadata"]["name"], None)
        if desired > current:
            self._launch(provider, desired - current, nodes, now)
        elif desired < current:
            self._scale_in(provider, current - desired, mine, on_node, now)
        for name in names:
            if on_node.get(name):
                self._empty_since.pop(name, None)
        status = {
            "desiredCapacity": desired,
            "instances": len(mine),
            "launching": len(self._launching[provider.name]),
            "pendingLaunches": asg.launches_to_status(self._launching[provider.name]),
            "warmingInstances": len(warming),
            "runningInstances": busy,
            "capacityProviderReservation": (
                float(spec.target_capacity) if hold else round(sc.reservation(needed, current), 2)
            ),
            "status": "ACTIVE",
        }
        out = self.kube.patch_status(provider.body, status)
        if out is not None:
            provider.body = out

    def _pending(self, provider: Provider, registered: set[str]) -> None:
        """Launches in flight: from memory, or after a restart from the provider's status.

        A launch whose instance already registered (the operator stopped between creating the
        node and recording it) is done, not launched again."""
        if provider.name not in self._launching:
            self._launching[provider.name] = asg.launches_from_status(provider.body.get("status"))
        self._launching[provider.name] = [
            job for job in self._launching[provider.name] if job.name not in registered
        ]

    def _zones(self, provider: Provider, nodes: list[dict[str, Any]]) -> list[str]:
        if provider.spec.autoScalingGroup.zones:
            return list(provider.spec.autoScalingGroup.zones)
        # The cluster's zones (where its subnets are), from the whole watch-fed inventory: `nodes`
        # holds only provider instances.
        found = sorted({labels(n).get(ZONE_LABEL, "") for n in inventory.nodes(self.kube)} - {""})
        return found or list(DEFAULT_ZONES)

    def _launch(self, provider: Provider, count: int, nodes: list[dict[str, Any]], now: float) -> None:
        """ASG AZ balancing, then the group's allocation strategy for the instance type."""
        group = provider.spec.autoScalingGroup
        zones = self._zones(provider, nodes)
        value = label_value(provider.name)
        members = [
            asg.Instance(labels(n).get(ZONE_LABEL, ""), labels(n).get(INSTANCE_TYPE_LABEL, ""))
            for n in nodes
            if labels(n).get(sc.PROVIDER_LABEL) == value
        ]
        members += [asg.Instance(job.zone, job.instance_type) for job in self._launching[provider.name]]
        plan = asg.plan_launches(
            count,
            zones=zones,
            members=members,
            types=group.instanceTypes,
            capacity_type=group.capacityType or "ON_DEMAND",
            on_demand_strategy=group.onDemandAllocationStrategy,
            spot_strategy=group.spotAllocationStrategy,
        )
        taken = {n["metadata"]["name"] for n in nodes}
        for launches in self._launching.values():
            taken.update(job.name for job in launches)
        for instance in plan:
            name = sc.instance_name(self.region, zones.index(instance.zone), taken)
            taken.add(name)
            self._launching[provider.name].append(
                asg.PendingLaunch(
                    name, instance.zone, instance.instance_type, now, now + group.joinDelaySeconds
                )
            )
            log.info(
                "capacity provider %s: launching %s (%s) in %s",
                provider.name,
                name,
                instance.instance_type,
                instance.zone,
            )
        self._join_due(provider, now)

    def _join_due(self, provider: Provider, now: float) -> list[dict[str, Any]]:
        """Register the launches whose boot time is over; returns the new instances' nodes."""
        group = provider.spec.autoScalingGroup
        joined = []
        due, keep = asg.split_due(self._launching.get(provider.name, []), now)
        for job in due:
            body = sc.render_instance(
                provider=label_value(provider.name),
                name=job.name,
                region=self.region,
                zone=job.zone,
                instance_type=INSTANCE_TYPES[job.instance_type],
                capacity_type=group.capacityType or "ON_DEMAND",
                in_service_at=asg.to_rfc3339(now),
            )
            try:
                created = self.kube.create(body)
            except KubeError as exc:
                log.warning("capacity provider %s: register %s: %s", provider.name, job.name, exc)
                keep.append(job)
                continue
            if created is not None:
                joined.append(created)
        self._launching[provider.name] = keep
        return joined

    def _scale_in(
        self,
        provider: Provider,
        excess: int,
        mine: list[dict[str, Any]],
        on_node: Mapping[str, list[dict[str, Any]]],
        now: float,
    ) -> None:
        """Cancel launches first, then remove empty instances (cordon, then delete on a later
        pass if still empty); busy ones only without managed termination protection."""
        launching = self._launching[provider.name]
        while excess and launching:
            launching.pop()
            excess -= 1
        delay = provider.spec.autoScalingGroup.scaleInAfterSeconds
        empty = [n for n in mine if not on_node.get(n["metadata"]["name"])]
        for node in empty:
            self._empty_since.setdefault(node["metadata"]["name"], now)
        empty.sort(key=lambda n: n["metadata"]["name"], reverse=True)
        victims = [n for n in empty if now - self._empty_since[n["metadata"]["name"]] >= delay][:excess]
        if len(victims) < excess and not provider.spec.termination_protection:
            busy = sorted(
                (n for n in mine if on_node.get(n["metadata"]["name"])),
                key=lambda n: (len(on_node[n["metadata"]["name"]]), n["metadata"]["name"]),
            )
            victims.extend(busy[: excess - len(victims)])
        for node in victims:
            name = node["metadata"]["name"]
            if not (node.get("spec") or {}).get("unschedulable"):
                self.kube.merge_patch("v1", "Node", name, None, {"spec": {"unschedulable": True}})
                continue
            self.kube.delete("v1", "Node", name)
            self._empty_since.pop(name, None)
            log.info("capacity provider %s: terminated %s", provider.name, name)


start = CapacityController.start
"""Run the controller in a daemon thread until `stop` is set."""


def _unschedulable(pod: Mapping[str, Any]) -> bool:
    if (pod.get("spec") or {}).get("nodeName") or not alive(pod):
        return False
    return any(
        c.get("type") == "PodScheduled" and c.get("status") == "False" and c.get("reason") == "Unschedulable"
        for c in (pod.get("status") or {}).get("conditions") or ()
    )


def _gated(pod: Mapping[str, Any]) -> bool:
    gates = (pod.get("spec") or {}).get("schedulingGates") or ()
    return any(g.get("name") == cap.CAPACITY_GATE for g in gates)
