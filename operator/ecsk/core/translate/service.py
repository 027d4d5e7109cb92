"""ECS service -> Deployment / DaemonSet, rollout arithmetic and operator annotations.

ECS bounds a rolling deployment by task counts it computes itself: at most
floor(desired * maximumPercent / 100) tasks exist, at least ceil(desired * minimumHealthyPercent
/ 100) stay healthy. Kubernetes rounds percentages the other way for surge (up), so both numbers
are rendered as absolute values recomputed from desiredCount; the operator re-renders when
desiredCount changes.
"""

from __future__ import annotations

import json
from typing import Any

from ecsk.core.models import ECSService, TaskDefinition
from ecsk.core.services import rollout
from ecsk.core.translate import loadbalancing, names
from ecsk.core.translate import template as render
from ecsk.core.translate.types import Context, PlacementInputs

UNABLE_TO_DEPLOY = (
    "(service {name}) was unable to stop or start tasks during a deployment because of the service "
    "deployment configuration. Update the minimumHealthyPercent or maximumPercent value and try again."
)


def rolling_bounds(desired: int, min_percent: int, max_percent: int) -> tuple[int, int]:
    """(maxSurge, maxUnavailable) as ECS counts them: desired - ceil(desired*min/100) and
    floor(desired*max/100) - desired, via the operator's own `ecs_bounds` so both agree. Both may
    be 0 (see `rolling_update`)."""
    least_healthy, most_total = rollout.ecs_bounds(desired, min_percent, max_percent)
    return max(most_total - desired, 0), max(desired - least_healthy, 0)


def circuit_breaker_threshold(desired: int) -> int:
    """ECS: failed tasks before a deployment fails = 0.5 x desired, clamped to [3, 200] (the
    operator's rollout module counts against the same number)."""
    return rollout.failure_threshold(desired)


def rolling_update(svc: ECSService, desired: int, ctx: Context) -> tuple[dict[str, Any], bool]:
    """(strategy, blocked). When ECS could neither stop nor start a task (both bounds 0, illegal in
    Kubernetes) the ECS message is reported and the documented fallback maxSurge=1,
    maxUnavailable=0 is rendered with annotation ecs.ecsk.io/deployment-blocked, so the operator
    holds rollouts the way ECS would while the Deployment stays valid."""
    low, high = svc.deployment_percents()
    surge, unavailable = rolling_bounds(desired, low, high)
    blocked = False
    if surge == 0 and unavailable == 0:
        if desired > 0:
            blocked = True
            ctx.warn(
                "deploymentConfiguration", UNABLE_TO_DEPLOY.format(name=svc.serviceName), "DeploymentBlocked"
            )
        surge = 1
    ctx.note(
        "svc:deploymentConfiguration.maximumPercent",
        "spec.strategy.rollingUpdate.maxSurge",
        f"floor({desired}*{high}/100) - {desired} = {surge if not blocked else 0} (absolute)"
        + ("; fallback 1 (see diagnostics)" if blocked else ""),
    )
    ctx.note(
        "svc:deploymentConfiguration.minimumHealthyPercent",
        "spec.strategy.rollingUpdate.maxUnavailable",
        f"{desired} - ceil({desired}*{low}/100) = {unavailable} (absolute)",
    )
    return {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxSurge": surge, "maxUnavailable": unavailable},
    }, blocked


def _service_annotations(svc: ECSService, desired: int, blocked: bool, ctx: Context) -> dict[str, str]:
    a = names.ANN
    ann: dict[str, str] = {}
    dc = svc.deploymentConfiguration
    if dc is not None and dc.deploymentCircuitBreaker is not None:
        cb = dc.deploymentCircuitBreaker
        ann[f"{a}circuit-breaker"] = ("enable" if cb.enable else "disable") + (
            ",rollback" if cb.rollback else ""
        )
        ann[f"{a}circuit-breaker-threshold"] = str(circuit_breaker_threshold(desired))
        ctx.note(
            "svc:deploymentConfiguration.deploymentCircuitBreaker",
            (
                f"metadata.annotations['{a}circuit-breaker']",
                f"metadata.annotations['{a}circuit-breaker-threshold']",
            ),
            f"the operator fails the rollout after {circuit_breaker_threshold(desired)} failed tasks "
            "(0.5 x desired in [3, 200]); progressDeadlineSeconds is time-based, so it is not used",
        )
    if dc is not None and dc.alarms is not None:
        ann[f"{a}deployment-alarms"] = _json(dc.alarms.to_aws())
    if dc is not None:
        rest = dc.model_dump(
            mode="json",
            exclude_none=True,
            include={
                "strategy",
                "bakeTimeInMinutes",
                "lifecycleHooks",
                "linearConfiguration",
                "canaryConfiguration",
            },
        )
        if rest:
            ann[f"{a}deployment-configuration"] = _json(rest)
        if dc.strategy not in (None, "ROLLING"):
            ctx.warn(
                "deploymentConfiguration.strategy",
                f"{dc.strategy} deployments are rendered as a rolling "
                "update; the operator drives the ECS-native strategy",
                "DeploymentStrategy",
            )
    if svc.healthCheckGracePeriodSeconds is not None:
        ann[f"{a}health-check-grace-period"] = str(svc.healthCheckGracePeriodSeconds)
        ctx.note(
            "svc:healthCheckGracePeriodSeconds",
            f"metadata.annotations['{a}health-check-grace-period']",
            "the operator ignores failing health checks that long after start; minReadySeconds would "
            "delay availability instead, so it is not used",
        )
    if blocked:
        ann[f"{a}deployment-blocked"] = "true"
    if svc.deploymentController is not None:
        ann[f"{a}deployment-controller"] = svc.deploymentController.type
    if svc.launchType:
        ann[f"{a}launch-type"] = svc.launchType
    if svc.capacityProviderStrategy:
        ann[f"{a}capacity-provider-strategy"] = _json([c.to_aws() for c in svc.capacityProviderStrategy])
    if svc.placementConstraints:
        ann[f"{a}placement-constraints"] = _json([c.to_aws() for c in svc.placementConstraints])
    if svc.placementStrategy:
        ann[f"{a}placement-strategy"] = _json([c.to_aws() for c in svc.placementStrategy])
    if svc.availabilityZoneRebalancing:
        ann[f"{a}az-rebalancing"] = svc.availabilityZoneRebalancing
    vpc = svc.networkConfiguration.awsvpcConfiguration if svc.networkConfiguration else None
    if vpc is not None:
        ann[f"{a}subnets"] = ",".join(vpc.subnets)
        if vpc.securityGroups:
            ann[f"{a}security-groups"] = ",".join(vpc.securityGroups)
    if svc.propagateTags:
        ann[f"{a}propagate-tags"] = svc.propagateTags
    if svc.effective_scheduling_strategy == "REPLICA":
        ann[f"{a}desired-count"] = str(desired)
    return dict(sorted(ann.items()))


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def selector_labels(svc: ECSService, ctx: Context) -> dict[str, str]:
    """Immutable selector: cluster + service only, so revisions never change it."""
    return {
        names.LABEL_CLUSTER: names.label_value(ctx.options.cluster),
        names.LABEL_SERVICE: names.label_value(svc.serviceName),
    }


def _ebs_settings(svc: ECSService) -> dict[str, dict[str, Any]]:
    return {v.name: v.managedEBSVolume.to_aws() for v in svc.volumeConfigurations or () if v.managedEBSVolume}


def build_service(svc: ECSService, td: TaskDefinition, ctx: Context) -> list[dict[str, Any]]:
    base = names.object_name(svc.serviceName)
    sel = selector_labels(svc, ctx)
    extra = dict(sel)
    vpc = svc.networkConfiguration.awsvpcConfiguration if svc.networkConfiguration else None
    for sg in (vpc.securityGroups if vpc else None) or ():
        extra[f"sg.{names.GROUP}/{names.label_name(sg)}"] = "true"
    propagated = {"SERVICE": svc.tags, "TASK_DEFINITION": td.tags}.get(svc.propagateTags or "NONE")
    tags_ann = f"spec.template.metadata.annotations['{names.ANN}tags']"
    if svc.propagateTags == "SERVICE":
        # service tags are the same for every revision, so they may be pod labels
        extra.update(render.tag_labels(svc.tags))
        ctx.note(
            "svc:propagateTags",
            ("spec.template.metadata.labels['tags.ecs.ecsk.io/*']", tags_ann),
            "service tags -> pod labels and annotation",
        )
    elif svc.propagateTags == "TASK_DEFINITION":
        ctx.note(
            "svc:propagateTags",
            tags_ann,
            "task definition tags -> pod annotation only: they may differ "
            "between revisions, and pod labels must not",
        )
    group = f"service:{svc.serviceName}"
    template = render.pod_template(td, ctx, group, extra, ebs=_ebs_settings(svc))
    loadbalancing.register_targets(template["spec"], svc, td, ctx)
    if propagated:
        tags = {t.key: t.value or "" for t in propagated if t.key}
        template["metadata"]["annotations"][f"{names.ANN}tags"] = _json(tags)
    daemon = svc.effective_scheduling_strategy == "DAEMON"
    desired = svc.desiredCount if svc.desiredCount is not None else (0 if daemon else 1)
    inputs = PlacementInputs(
        task_group=group,
        launch_type=svc.launchType,
        capacity_provider_strategy=[c.to_aws() for c in svc.capacityProviderStrategy or ()] or None,
        placement_constraints=[
            p.to_aws() for p in [*(td.placementConstraints or ()), *(svc.placementConstraints or ())]
        ]
        or None,
        placement_strategy=[p.to_aws() for p in svc.placementStrategy or ()] or None,
        requires_compatibilities=list(td.requiresCompatibilities or ()) or None,
        scheduling_strategy=svc.effective_scheduling_strategy,
    )
    render.run_placement_hook(template["spec"], inputs, ctx, len(td.placementConstraints or ()), service=True)
    meta_labels = {
        names.MANAGED_BY: "ecsk",
        **sel,
        names.LABEL_FAMILY: names.label_value(td.family),
        **render.tag_labels(svc.tags),
    }
    if svc.tags:
        ctx.note(
            "svc:tags", "metadata.labels['tags.ecs.ecsk.io/*']", "sanitised labels on every rendered object"
        )
    meta: dict[str, Any] = {"name": base, "namespace": ctx.options.namespace, "labels": meta_labels}
    strategy: dict[str, Any]
    if daemon:
        low, _ = svc.deployment_percents()
        strategy = {
            "type": "RollingUpdate",
            "rollingUpdate": (
                {"maxUnavailable": f"{100 - low}%", "maxSurge": 0}
                if low < 100
                else {"maxUnavailable": 0, "maxSurge": 1}
            ),
        }
        meta["annotations"] = _service_annotations(svc, desired, False, ctx)
        workload: dict[str, Any] = {
            "apiVersion": "apps/v1",
            "kind": "DaemonSet",
            "metadata": meta,
            "spec": {"selector": {"matchLabels": sel}, "updateStrategy": strategy, "template": template},
        }
        ctx.note("svc:schedulingStrategy", "DaemonSet", "DAEMON: one task per node")
        if svc.desiredCount is not None:
            ctx.note("svc:desiredCount", None, "DAEMON: the node count decides")
        if svc.deploymentConfiguration and svc.deploymentConfiguration.minimumHealthyPercent is not None:
            ctx.note(
                "svc:deploymentConfiguration.minimumHealthyPercent",
                "spec.updateStrategy.rollingUpdate.maxUnavailable",
                "(100 - min)% of nodes at a time",
            )
        if svc.deploymentConfiguration and svc.deploymentConfiguration.maximumPercent is not None:
            ctx.note(
                "svc:deploymentConfiguration.maximumPercent", None, "DAEMON: no surge beyond one per node"
            )
    else:
        strategy, blocked = rolling_update(svc, desired, ctx)
        meta["annotations"] = _service_annotations(svc, desired, blocked, ctx)
        workload = {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": meta,
            "spec": {
                "replicas": desired,
                "selector": {"matchLabels": sel},
                "strategy": strategy,
                "template": template,
            },
        }
        ctx.note("svc:schedulingStrategy", "Deployment", "REPLICA -> Deployment")
        ctx.note("svc:desiredCount", "spec.replicas", f"{desired} replicas")
    ctx.note(
        "svc:serviceName",
        ("metadata.name", f"metadata.labels['{names.LABEL_SERVICE}']"),
        f"objects named {base!r}; selector label {names.LABEL_SERVICE}={sel[names.LABEL_SERVICE]}",
    )
    objects: list[dict[str, Any]] = [workload]
    objects.extend(loadbalancing.build(svc, td, base, sel, meta_labels, ctx))
    return objects
