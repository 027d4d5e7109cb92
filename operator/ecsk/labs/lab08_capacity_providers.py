"""Lab 08: EC2 capacity: an Auto Scaling group behind a capacity provider, and managed scaling
adding instances when tasks are missing capacity (instance level, not task level)."""

from __future__ import annotations

from typing import Any

from ecsk.core.capacity.scaling import PROVIDER_LABEL
from ecsk.labs.engine import CR, Lab, Obj, Snapshot, namespace_for, require, service_doc, spec, td_doc

NAME = "batch"
DESIRED = 3
ASG_ARN = "arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:0000:autoScalingGroupName"


def provider_name(number: int) -> str:
    """Capacity providers are cluster-wide in effect (their instances are Nodes): the lab's name
    carries its namespace, so two participants' labs never share a group."""
    return f"asg-{namespace_for(number)}"


def _provider(name: str, managed: bool) -> Obj:
    body = {
        "name": name,
        "autoScalingGroupProvider": {
            "autoScalingGroupArn": f"{ASG_ARN}/{name}",
            "managedScaling": {
                "status": "ENABLED" if managed else "DISABLED",
                "targetCapacity": 100,
                "instanceWarmupPeriod": 10,
            },
            "managedTerminationProtection": "DISABLED",
        },
        "autoScalingGroup": {
            "instanceTypes": ["t3.medium"],
            "minSize": 1,
            "maxSize": 4,
            "joinDelaySeconds": 2,
        },
    }
    return {"apiVersion": CR, "kind": "CapacityProvider", "metadata": {"name": name}, "spec": body}


def _provider_problems(body: dict[str, Any]) -> list[str]:
    scaling = (body.get("autoScalingGroupProvider") or {}).get("managedScaling") or {}
    out = []
    if scaling.get("status", "ENABLED") != "ENABLED":
        out.append(
            f"managed scaling of the capacity provider is {scaling.get('status')}: "
            "the Auto Scaling group never grows for PENDING tasks"
        )
    if int((body.get("autoScalingGroup") or {}).get("maxSize") or 0) < DESIRED:
        out.append(
            f"the Auto Scaling group's maxSize is below {DESIRED}: one t3.medium holds one 1-vCPU task"
        )
    return out


def _task_problems(snap: Snapshot, name: str) -> list[str]:
    instances = [n for n in snap.nodes if (n["metadata"].get("labels") or {}).get(PROVIDER_LABEL) == name]
    running = [p for p in snap.running_tasks(NAME) if snap.node_label(p, PROVIDER_LABEL) == name]
    if len(running) >= DESIRED:
        return []
    pending = len(snap.pending_tasks(NAME))
    return [
        f"{len(running)} of {DESIRED} tasks run on the group's instances ({pending} PENDING); "
        f"the Auto Scaling group has {len(instances)} instance(s)"
    ]


class CapacityProvidersLab(Lab):
    def _name(self) -> str:
        return provider_name(self.number)

    def starting_objects(self) -> list[Obj]:
        app = {"name": "job", "image": "public.ecr.aws/docker/library/busybox:1.36", "essential": True}
        td = td_doc(NAME, {"family": NAME, "cpu": "1024", "memory": "1024", "containerDefinitions": [app]})
        strategy = [{"capacityProvider": self._name(), "weight": 1}]
        svc = service_doc(
            NAME,
            {
                "serviceName": NAME,
                "taskDefinition": NAME,
                "desiredCount": DESIRED,
                "capacityProviderStrategy": strategy,
            },
        )
        return [_provider(self._name(), managed=False), td, svc]

    def solution_objects(self, snap: Snapshot) -> list[Obj]:
        return [_provider(self._name(), managed=True)]

    def problems(self, snap: Snapshot) -> list[str]:
        name = self._name()
        wanted = (("CapacityProvider", name), ("TaskDefinition", NAME), ("ECSService", NAME))
        if blocked := require(snap, self.number, *wanted):
            return blocked
        return _provider_problems(spec(snap.get("CapacityProvider", name))) + _task_problems(snap, name)


LAB = CapacityProvidersLab(
    number=8,
    slug="capacity-providers",
    title="EC2 capacity: Auto Scaling groups and capacity providers",
    topic="EC2 launch type instance scaling: Auto Scaling group, ECS cluster capacity provider",
    goal=(
        f"The service `{NAME}` wants {DESIRED} tasks of 1 vCPU on a capacity provider "
        "whose Auto Scaling group has one t3.medium. Make the group grow by itself so every task runs."
    ),
    steps=(
        "See the PENDING tasks: ecsk tasks -n {ns} --service batch",
        "See the group's instances: kubectl get nodes -l ecs.ecsk.io/capacity-provider=asg-{ns}",
        "kubectl -n {ns} edit capacityprovider asg-{ns}: "
        "autoScalingGroupProvider.managedScaling.status: ENABLED",
        "Watch instances join: kubectl get nodes -l ecs.ecsk.io/capacity-provider=asg-{ns} -w",
    ),
    hints=(
        "Task-level scaling asks for tasks; only instance-level scaling makes room for them.",
        "The capacity provider pairs the service with the Auto Scaling group; look at its managedScaling.",
        "With managed scaling ENABLED and targetCapacity 100 "
        "the group adds instances until no task is PENDING.",
    ),
)
