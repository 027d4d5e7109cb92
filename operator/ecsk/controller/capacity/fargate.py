"""Fargate: one node per pod, created on demand and removed when the pod is gone.

EKS runs a webhook (sets `schedulerName: fargate-scheduler` on pods a profile matches) and its
own scheduler (provisions a micro-VM, registers it as a node, binds the pod). Without a webhook
we cannot rewrite pods at admission, so two doors lead here:

- pods gated with `ecs.ecsk.io/fargate` (the translator's placement hook gates ECS tasks of
  launch type FARGATE or FARGATE/FARGATE_SPOT providers; anyone may add the gate to a plain pod):
  a gated pod may still gain a nodeSelector, so we pin it to its new node and lift the gate;
  the real kube-scheduler then binds it (and still checks resources and the taint);
- pods that ask for `schedulerName: fargate-scheduler` themselves (what EKS's webhook would have
  written): we are that scheduler and bind them with a Binding, as EKS does.

Pods that are not ECS tasks must match a FargateProfile (alphabetically first wins, its name
becomes the pod's `eks.amazonaws.com/fargate-profile` label); a pod Fargate refuses stays
Pending with a Warning event carrying AWS's message. The loop is level-based polling: every pass
recomputes from the live objects, so a restart or a missed event loses nothing.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Mapping
from typing import Any

from kubernetes import client as k8s_client
from kubernetes.client.exceptions import ApiException

from ecsk.controller.capacity.launch import (
    Group,
    alive,
    group_of,
    labels,
    list_custom,
    list_pods,
    owners,
    pending,
    pending_pods,
)
from ecsk.controller.kube import inventory
from ecsk.controller.kube.client import KubeError
from ecsk.controller.runtime.polling import PollingController
from ecsk.core.capacity import fargate as fg
from ecsk.core.capacity import providers as cap
from ecsk.core.capacity.fargate_profiles import FargateProfile, matching_profile, profile_name
from ecsk.core.capacity.scaling import PROVIDER_LABEL
from ecsk.core.capacity.validation import validate_fargate_profile
from ecsk.core.models.service import FARGATE_PROVIDERS

log = logging.getLogger("ecsk.controller.capacity.fargate")

DEFAULT_ZONES = ("us-east-1a", "us-east-1b", "us-east-1c")
ZONE_LABEL = "topology.kubernetes.io/zone"


class FargateController(PollingController):
    """Polls unscheduled pods and Fargate nodes; safe to run next to the main operator."""

    name = "fargate"

    # --- reads -------------------------------------------------------------------------------

    def _pending_pods(self) -> list[dict[str, Any]]:
        return pending_pods(self.kube, self.namespaces)

    def _nodes(self) -> tuple[list[dict[str, Any]], list[str]]:
        """Fargate nodes, and the zones the cluster's other nodes are in (where subnets exist)."""
        # Only Fargate nodes are read every pass (server-side filtered); the zones come from the
        # watch-fed inventory, so a large EC2 fleet costs nothing here.
        fargate = [
            n
            for n in self.kube.list("v1", "Node", label_selector=f"{fg.ORIGIN_LABEL}=fargate")
            if self.namespaces is None or _pod_namespace(n) in self.namespaces
        ]
        others = [
            labels(n) for n in inventory.nodes(self.kube) if labels(n).get(fg.ORIGIN_LABEL) != "fargate"
        ]
        zones = sorted({lab[ZONE_LABEL] for lab in others if lab.get(ZONE_LABEL)})
        return fargate, zones or list(DEFAULT_ZONES)

    def profiles(self) -> list[tuple[str, FargateProfile]]:
        """Every valid FargateProfile, from any namespace (EKS profiles are cluster-wide)."""
        bodies = list_custom(self.kube, "FargateProfile", self.namespaces)  # none without the CRD
        out = []
        for body in bodies:
            spec = body.get("spec") or {}
            if self.report_validity(body, validate_fargate_profile(spec)):  # else ignored, and said so
                profile = FargateProfile.model_validate(spec)
                out.append((profile_name(body, profile), profile))
        return out

    # --- one pass ----------------------------------------------------------------------------

    def reconcile_once(self) -> None:
        fargate_nodes, zones = self._nodes()
        self._collect_garbage(fargate_nodes)
        profiles = self.profiles()  # every pass: a refused profile is reported before a pod needs it
        pods = [p for p in self._pending_pods() if fg.wants_fargate(p)]
        if not pods:
            return
        try:
            self._label_providers(pods)
        except KubeError as exc:
            log.warning("fargate: choosing FARGATE / FARGATE_SPOT: %s", exc)
        by_uid = {labels(n).get(fg.POD_UID_LABEL): n for n in fargate_nodes}
        for pod in pods:
            try:
                node = self._place(pod, profiles, by_uid, zones)
            except KubeError as exc:
                log.warning("fargate %s: %s", _ref(pod), exc)
                continue
            except Exception:  # bad input must never stop the loop
                log.exception("fargate %s: placement failed", _ref(pod))
                continue
            if node is not None:
                by_uid[pod["metadata"]["uid"]] = node

    def _label_providers(self, pods: list[dict[str, Any]]) -> None:
        """ECS tasks: FARGATE or FARGATE_SPOT, by the strategy's base/weight split over the
        owner's live tasks (`ecsk.core.capacity.providers`); the choice is a pod label, so it survives
        restarts and is what the next choice counts."""
        todo = [
            p
            for p in pods
            if fg.is_ecs_task_pod(p) and labels(p).get(PROVIDER_LABEL) not in FARGATE_PROVIDERS
        ]
        if not todo:
            return
        strategy_of = owners(self.kube, self.namespaces)
        counts: dict[Group, Counter[str]] = defaultdict(Counter)
        for other in list_pods(self.kube, self.namespaces):
            chosen = labels(other).get(PROVIDER_LABEL, "")
            if chosen in FARGATE_PROVIDERS and alive(other):
                counts[group_of(other)][chosen] += 1
        for pod in todo:
            group = group_of(pod)
            strategy = strategy_of.get(group, ([], ""))[0]
            items = [
                cap.StrategyItem.from_aws(i)
                for i in strategy
                if i.get("capacityProvider") in FARGATE_PROVIDERS
            ]
            idx = (
                cap.choose_provider(items, [counts[group][it.capacityProvider] for it in items])
                if items
                else None
            )
            if idx is not None:
                provider = items[idx].capacityProvider
            else:
                provider = "FARGATE_SPOT" if fg.capacity_type(pod) == "SPOT" else "FARGATE"
            meta = pod["metadata"]
            patch = {"metadata": {"labels": {PROVIDER_LABEL: provider}}}
            pending.remember(self.kube.merge_patch("v1", "Pod", meta["name"], meta["namespace"], patch))
            meta.setdefault("labels", {})[PROVIDER_LABEL] = provider
            counts[group][provider] += 1

    def _place(
        self,
        pod: dict[str, Any],
        profiles: list[tuple[str, FargateProfile]],
        by_uid: Mapping[str | None, dict[str, Any]],
        zones: list[str],
    ) -> dict[str, Any] | None:
        meta = pod["metadata"]
        profile = matching_profile(profiles, meta["namespace"], meta.get("labels") or {})
        if profile is None and not fg.is_ecs_task_pod(pod):
            self._warn(
                pod,
                "FailedScheduling",
                "Pod not supported on Fargate: no Fargate profile matches the pod's namespace and labels",
            )
            return None
        try:
            sizing = fg.pod_size(pod)
        except fg.FargateRefusal as exc:
            self._warn(pod, "FailedScheduling", str(exc))
            return None
        for text in sizing.warnings:
            self._warn(pod, "FargateSizing", text)
        node = by_uid.get(meta["uid"])
        if node is None:
            node = self._create_node(pod, sizing.size, profile, by_uid, zones)
        if not _ready(node):
            return node  # pin on a later pass: a not-ready node would make the scheduler report failures
        name = node["metadata"]["name"]
        gated = any(g.get("name") == fg.GATE for g in pod["spec"].get("schedulingGates") or ())
        if gated:
            out = self.kube.merge_patch(
                "v1", "Pod", meta["name"], meta["namespace"], fg.pin_patch(pod, name, sizing.size, profile)
            )
            pending.remember(out)  # the gate is lifted: the next pass must not pin it again
        else:
            patch = fg.pin_patch(pod, name, sizing.size, profile)
            self.kube.merge_patch(
                "v1", "Pod", meta["name"], meta["namespace"], {"metadata": patch["metadata"]}
            )
            self._bind(pod, name)
        log.info("fargate %s -> %s (%s)", _ref(pod), name, sizing.size.capacity_provisioned)
        return node

    def _create_node(
        self,
        pod: Mapping[str, Any],
        size: fg.FargateSize,
        profile: str | None,
        by_uid: Mapping[str | None, dict[str, Any]],
        zones: list[str],
    ) -> dict[str, Any]:
        meta = pod["metadata"]
        per_zone = Counter(labels(n).get(ZONE_LABEL, "") for n in by_uid.values())
        taken = {n["metadata"]["name"] for n in self.kube.list("v1", "Node")}
        zone_index = fg.pick_zone(zones, per_zone)
        for _ in range(5):  # another creator may take the name between list and create
            name = fg.free_name(self.region, zone_index, taken)
            body = fg.render_node(
                name=name,
                region=self.region,
                zone=zones[zone_index],
                size=size,
                pod_namespace=meta["namespace"],
                pod_name=meta["name"],
                pod_uid=meta["uid"],
                profile=profile,
                capacity="SPOT"
                if labels(pod).get(PROVIDER_LABEL) == "FARGATE_SPOT"
                else fg.capacity_type(pod),
            )
            created = self.kube.create(body)
            if created is not None:
                return created
            taken.add(name)
        raise KubeError(f"could not find a free Fargate node name for {_ref(pod)}")

    def _bind(self, pod: Mapping[str, Any], node: str) -> None:
        meta = pod["metadata"]
        body = k8s_client.V1Binding(
            metadata=k8s_client.V1ObjectMeta(name=meta["name"], namespace=meta["namespace"], uid=meta["uid"]),
            target=k8s_client.V1ObjectReference(api_version="v1", kind="Node", name=node),
        )
        self.kube.fence(f"bind pod {meta['namespace']}/{meta['name']}")
        try:
            self.kube.core.create_namespaced_binding(meta["namespace"], body, _preload_content=False)
        except ApiException as exc:
            if exc.status != 409:  # 409: already bound (a previous pass won)
                raise KubeError(f"bind {_ref(pod)} to {node}: {exc.reason}", exc.status) from exc

    def _collect_garbage(self, fargate_nodes: list[dict[str, Any]]) -> None:
        """A Fargate node lives exactly as long as its pod (same uid, not merely the same name); a
        node whose pod went to another node (two controllers raced) is a leftover too.

        One pod list per pass rather than a GET per node; it is taken after the node list, and a
        node is only created for a pod that already exists, so no live pod can be missing."""
        if not fargate_nodes:
            return
        live = {
            (p["metadata"]["namespace"], p["metadata"]["name"]): p
            for p in list_pods(self.kube, self.namespaces)
        }
        for node in fargate_nodes:
            ref = (node["metadata"].get("annotations") or {}).get(fg.POD_ANNOTATION, "")
            ns, _, name = ref.partition("/")
            pod = live.get((ns, name))
            same = pod is not None and pod["metadata"].get("uid") == labels(node).get(fg.POD_UID_LABEL)
            if same and pod is not None and not _elsewhere(pod, node):
                continue
            try:
                self.kube.delete("v1", "Node", node["metadata"]["name"])
                log.info("fargate node %s removed (pod %s gone)", node["metadata"]["name"], ref)
            except KubeError as exc:
                log.warning("fargate node %s: %s", node["metadata"]["name"], exc)


start = FargateController.start
"""Run the controller in a daemon thread until `stop` is set."""


def _pod_namespace(node: Mapping[str, Any]) -> str:
    return str(((node.get("metadata") or {}).get("annotations") or {}).get(fg.POD_ANNOTATION, "")).partition(
        "/"
    )[0]


def _elsewhere(pod: Mapping[str, Any], node: Mapping[str, Any]) -> bool:
    spec = pod.get("spec") or {}
    name = node["metadata"]["name"]
    chosen = spec.get("nodeName") or (spec.get("nodeSelector") or {}).get("kubernetes.io/hostname")
    return bool(chosen) and chosen != name


def _ready(node: Mapping[str, Any]) -> bool:
    conditions = (node.get("status") or {}).get("conditions") or ()
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def _ref(pod: Mapping[str, Any]) -> str:
    meta = pod.get("metadata") or {}
    return f"{meta.get('namespace')}/{meta.get('name')}"
