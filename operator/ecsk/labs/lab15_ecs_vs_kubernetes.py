"""Lab 15 (closing): one application twice, as ECS resources and as plain Kubernetes manifests
(Deployment, Service, HorizontalPodAutoscaler), compared: same replicas, same resources, same
spread over zones, same scaling range.

The ECS half is given; the participant writes the Kubernetes half, reading `ecsk render` for what
ECS's words mean in Kubernetes. The check compares the two on the live cluster: the ECS
service's rendered Deployment and running tasks against the plain Deployment's pods."""

from __future__ import annotations

from collections import Counter
from typing import Any

from ecsk.core.common.quantity import quantity_or_none
from ecsk.labs.engine import (
    CR,
    SUBNETS,
    ZONE,
    Lab,
    Obj,
    Snapshot,
    container,
    require,
    service_doc,
    spec,
    td_doc,
)

NAME = "catalog"
PLAIN = "catalog-k8s"
DESIRED = 3
LOW, HIGH, CPU_TARGET = 3, 6, 60
PORT = 8080
CPU_METRIC = "ECSServiceAverageCPUUtilization"
REF = {
    "ServiceNamespace": "ecs",
    "ScalableDimension": "ecs:service:DesiredCount",
    "ResourceId": f"service/default/{NAME}",
}
AZ = "attribute:ecs.availability-zone"


def _scaling(kind: str, name: str, body: dict[str, Any]) -> Obj:
    return {"apiVersion": CR, "kind": kind, "metadata": {"name": name}, "spec": {**REF, **body}}


def ecs_half() -> list[Obj]:
    api = container("api", cpu=256, memory=512, portMappings=[{"containerPort": PORT, "protocol": "tcp"}])
    api.pop("memoryReservation")
    td = td_doc(NAME, {"family": NAME, "networkMode": "awsvpc", "containerDefinitions": [api]})
    svc = service_doc(
        NAME,
        {
            "serviceName": NAME,
            "taskDefinition": NAME,
            "desiredCount": DESIRED,
            "launchType": "EC2",
            "networkConfiguration": {"awsvpcConfiguration": {"subnets": list(SUBNETS)}},
            "placementStrategy": [{"type": "spread", "field": AZ}],
        },
    )
    tracking = {
        "PolicyType": "TargetTrackingScaling",
        "PolicyName": "cpu60",
        "TargetTrackingScalingPolicyConfiguration": {
            "TargetValue": float(CPU_TARGET),
            "PredefinedMetricSpecification": {"PredefinedMetricType": CPU_METRIC},
        },
    }
    target = _scaling("ScalableTarget", NAME, {"MinCapacity": LOW, "MaxCapacity": HIGH})
    return [td, svc, target, _scaling("ScalingPolicy", "cpu60", tracking)]


def kubernetes_half() -> list[Obj]:
    """The reference answer: what a Kubernetes user writes for the same application."""
    labels = {"app": PLAIN}
    api = {
        "name": "api",
        "image": "public.ecr.aws/nginx/nginx:1.27",
        "ports": [{"containerPort": PORT}],
        "resources": {"requests": {"cpu": "250m", "memory": "512Mi"}, "limits": {"memory": "512Mi"}},
    }
    spread = {
        "maxSkew": 1,
        "topologyKey": ZONE,
        "whenUnsatisfiable": "DoNotSchedule",
        "labelSelector": {"matchLabels": labels},
    }
    template = {
        "metadata": {"labels": labels},
        "spec": {"containers": [api], "topologySpreadConstraints": [spread]},
    }
    deployment = {"replicas": DESIRED, "selector": {"matchLabels": labels}, "template": template}
    service = {"selector": labels, "ports": [{"port": PORT, "targetPort": PORT}]}
    hpa = {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": PLAIN},
        "minReplicas": LOW,
        "maxReplicas": HIGH,
        "metrics": [
            {
                "type": "Resource",
                "resource": {
                    "name": "cpu",
                    "target": {"type": "Utilization", "averageUtilization": CPU_TARGET},
                },
            }
        ],
    }
    return [
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": PLAIN}, "spec": deployment},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": PLAIN}, "spec": service},
        {
            "apiVersion": "autoscaling/v2",
            "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": PLAIN},
            "spec": hpa,
        },
    ]


def _first_container(deployment: Obj | None) -> dict[str, Any]:
    containers = (((spec(deployment).get("template") or {}).get("spec") or {}).get("containers")) or [{}]
    return dict(containers[0])


def resources_of(c: dict[str, Any]) -> dict[str, Any]:
    """cpu/memory requests and memory limit as numbers, so `0.25` and `250m` compare equal."""
    res = c.get("resources") or {}
    wanted = (("requests", "cpu"), ("requests", "memory"), ("limits", "memory"))
    return {f"{kind}.{name}": quantity_or_none((res.get(kind) or {}).get(name)) for kind, name in wanted}


def _describe(c: dict[str, Any]) -> str:
    res = c.get("resources") or {}
    req, lim = res.get("requests") or {}, res.get("limits") or {}
    cpu, memory, limit = req.get("cpu", "-"), req.get("memory", "-"), lim.get("memory", "-")
    return f"requests cpu {cpu}, memory {memory}; limit memory {limit}"


def _deployment_problems(snap: Snapshot) -> list[str]:
    plain = snap.named(snap.deployments, PLAIN)
    if plain is None:
        return [
            f"no Deployment {PLAIN}: write the Kubernetes half (Deployment, Service, HorizontalPodAutoscaler)"
        ]
    out = []
    if spec(plain).get("replicas") != DESIRED:
        out.append(
            f"Deployment {PLAIN} asks for {spec(plain).get('replicas')} replicas; "
            f"the ECS service's desiredCount is {DESIRED}"
        )
    rendered = snap.named(snap.deployments, NAME)
    mine, theirs = _first_container(plain), _first_container(rendered)
    if rendered is None:
        out.append(
            f"the ECS service has no rendered Deployment {NAME} yet to compare with (operator running?)"
        )
    elif resources_of(mine) != resources_of(theirs):
        out.append(
            f"{PLAIN} {_describe(mine)}; the ECS task's container gets {_describe(theirs)} "
            "(see `ecsk render`)"
        )
    pod_spec = (spec(plain).get("template") or {}).get("spec") or {}
    if not any(c.get("topologyKey") == ZONE for c in pod_spec.get("topologySpreadConstraints") or []):
        out.append(
            f"Deployment {PLAIN} has no topologySpreadConstraints on {ZONE}: "
            f"the ECS service spreads over {AZ}"
        )
    return out


def _service_problems(snap: Snapshot) -> list[str]:
    svc = snap.named(snap.services, PLAIN)
    if svc is None:
        return [
            f"no Service {PLAIN}: one stable address for the pods (ECS: the target group / Service Connect)"
        ]
    template_labels = (
        ((spec(snap.named(snap.deployments, PLAIN)).get("template") or {}).get("metadata") or {}).get(
            "labels"
        )
    ) or {}
    selector = spec(svc).get("selector") or {}
    out = []
    if not selector or not selector.items() <= template_labels.items():
        out.append(f"Service {PLAIN} selects {selector or 'nothing'}, not the pods of Deployment {PLAIN}")
    if not any(str(p.get("targetPort", p.get("port"))) == str(PORT) for p in spec(svc).get("ports") or []):
        out.append(f"Service {PLAIN} does not send traffic to port {PORT}")
    return out


def _hpa_problems(snap: Snapshot) -> list[str]:
    hpa = snap.named(snap.hpas, PLAIN)
    if hpa is None:
        return [
            f"no HorizontalPodAutoscaler {PLAIN}: "
            f"the ECS service scales {LOW}-{HIGH} tasks on CPU {CPU_TARGET}%"
        ]
    body = spec(hpa)
    out = []
    if (body.get("scaleTargetRef") or {}).get("name") != PLAIN:
        out.append(f"HorizontalPodAutoscaler {PLAIN} does not scale Deployment {PLAIN}")
    if (body.get("minReplicas"), body.get("maxReplicas")) != (LOW, HIGH):
        out.append(
            f"HorizontalPodAutoscaler {PLAIN} scales {body.get('minReplicas')}-{body.get('maxReplicas')}; "
            f"the ECS scalable target scales {LOW}-{HIGH}"
        )
    cpu = [
        ((m.get("resource") or {}).get("target") or {}).get("averageUtilization")
        for m in body.get("metrics") or []
        if (m.get("resource") or {}).get("name") == "cpu"
    ]
    if cpu != [CPU_TARGET]:
        out.append(
            f"HorizontalPodAutoscaler {PLAIN} does not target {CPU_TARGET}% CPU utilization "
            "(the ECS policy cpu60)"
        )
    return out


def zone_spread(snap: Snapshot, pods: list[Obj]) -> dict[str, int]:
    return dict(sorted(Counter(snap.node_label(p, ZONE) or "?" for p in pods).items()))


def _running_problems(snap: Snapshot) -> list[str]:
    tasks, pods = snap.running_tasks(NAME), snap.running_pods({"app": PLAIN})
    out = []
    for what, found in ((f"ECS service {NAME} tasks", tasks), (f"{PLAIN} pods", pods)):
        if len(found) != DESIRED:
            out.append(f"{len(found)} of {DESIRED} {what} are running")
    if out:
        return out
    ecs, plain = zone_spread(snap, tasks), zone_spread(snap, pods)
    if sorted(ecs.values()) != sorted(plain.values()) or max(plain.values()) > 1 + min(plain.values()):
        out.append(f"ECS tasks per zone {ecs}, {PLAIN} pods per zone {plain}: not the same spread")
    return out


class EcsVsKubernetesLab(Lab):
    def starting_objects(self) -> list[Obj]:
        return ecs_half()

    def solution_objects(self, snap: Snapshot) -> list[Obj]:
        return kubernetes_half()

    def problems(self, snap: Snapshot) -> list[str]:
        if blocked := require(snap, self.number, ("TaskDefinition", NAME), ("ECSService", NAME)):
            return blocked
        return (
            _deployment_problems(snap)
            + _service_problems(snap)
            + _hpa_problems(snap)
            + _running_problems(snap)
        )


LAB = EcsVsKubernetesLab(
    number=15,
    slug="ecs-vs-kubernetes",
    title="One application as ECS resources and as plain Kubernetes manifests",
    topic="ECS vs EKS: the same application in both APIs (Deployment, Service, HorizontalPodAutoscaler)",
    goal=(
        f"`{NAME}` runs as ECS resources: {DESIRED} tasks (api: cpu 256, memory 512, port {PORT}) "
        f"spread over the zones, scaling {LOW}-{HIGH} on CPU {CPU_TARGET}%. Write the same application "
        f"as plain Kubernetes manifests named {PLAIN} (Deployment, Service, HorizontalPodAutoscaler) "
        "beside it, with the same replicas, resources, spread and scaling range."
    ),
    steps=(
        "What ECS's words become: "
        "kubectl -n {ns} get taskdefinition,ecsservice -o yaml | ecsk render -f - --explain",
        "See the ECS tasks by zone: ecsk placement -n {ns} --service catalog",
        "Write catalog-k8s.yaml: a Deployment (replicas, resources and topologySpreadConstraints "
        "as rendered), "
        "a Service on port 8080 and an autoscaling/v2 HorizontalPodAutoscaler (min, max, CPU target)",
        "kubectl -n {ns} apply -f catalog-k8s.yaml",
        "Compare: kubectl -n {ns} get deploy,hpa,pods -o wide -L app",
    ),
    hints=(
        "ECS cpu units are 1/1024 of a vCPU: 256 units is 250m; memory (hard limit) is a request and a "
        "limit in MiB.",
        "spread on attribute:ecs.availability-zone is a topologySpreadConstraint on "
        "topology.kubernetes.io/zone with maxSkew 1.",
        "The scalable target's MinCapacity/MaxCapacity are the HPA's minReplicas/maxReplicas; the "
        "policy's TargetValue is averageUtilization of the cpu Resource metric.",
    ),
)
