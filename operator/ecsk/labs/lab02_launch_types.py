"""Lab 02: EC2 vs Fargate launch types: the same service moved from instances you run to one
simulated micro-VM per task."""

from __future__ import annotations

from typing import Any

from ecsk.core.capacity.fargate import COMPUTE_TYPE
from ecsk.labs.engine import (
    Lab,
    Obj,
    Snapshot,
    container,
    require,
    service_doc,
    spec,
    td_doc,
)

NAME = "api"
DESIRED = 2
NETWORK = {
    "awsvpcConfiguration": {"subnets": ["subnet-0a1b2c3d", "subnet-1a2b3c4d"], "assignPublicIp": "DISABLED"}
}


def _td(fargate: bool) -> Obj:
    body = {
        "family": NAME,
        "networkMode": "awsvpc",
        "requiresCompatibilities": ["FARGATE"] if fargate else ["EC2"],
        "cpu": "256",
        "memory": "512",
        "containerDefinitions": [container("api", portMappings=[{"containerPort": 8080}])],
    }
    return td_doc(NAME, body)


def _service(fargate: bool) -> Obj:
    body = {
        "serviceName": NAME,
        "taskDefinition": NAME,
        "desiredCount": DESIRED,
        "launchType": "FARGATE" if fargate else "EC2",
        "networkConfiguration": NETWORK,
    }
    return service_doc(NAME, body)


def _uses_fargate(service: dict[str, Any]) -> bool:
    if service.get("launchType") == "FARGATE":
        return True
    strategy = service.get("capacityProviderStrategy") or []
    return any(str(item.get("capacityProvider", "")).startswith("FARGATE") for item in strategy)


def _spec_problems(snap: Snapshot) -> list[str]:
    out = []
    td, svc = spec(snap.get("TaskDefinition", NAME)), spec(snap.get("ECSService", NAME))
    compat = list(td.get("requiresCompatibilities") or [])
    if "FARGATE" not in compat:
        out.append(f"TaskDefinition {NAME} has requiresCompatibilities {compat or '[]'}: add FARGATE")
    if td.get("networkMode") != "awsvpc":
        out.append(
            f"TaskDefinition {NAME} has networkMode {td.get('networkMode') or 'bridge'}: Fargate needs awsvpc"
        )
    if not _uses_fargate(svc):
        out.append(
            f"ECSService {NAME} still has launchType {svc.get('launchType') or 'EC2'}: "
            "set launchType: FARGATE"
        )
    return out


class LaunchTypesLab(Lab):
    def starting_objects(self) -> list[Obj]:
        return [_td(fargate=False), _service(fargate=False)]

    def solution_objects(self, snap: Snapshot) -> list[Obj]:
        return [_td(fargate=True), _service(fargate=True)]

    def problems(self, snap: Snapshot) -> list[str]:
        if blocked := require(snap, self.number, ("TaskDefinition", NAME), ("ECSService", NAME)):
            return blocked
        out = _spec_problems(snap)
        running = snap.running_tasks(NAME)
        on_fargate = [p for p in running if snap.node_label(p, COMPUTE_TYPE) == "fargate"]
        if len(on_fargate) < DESIRED or len(running) != len(on_fargate):
            ec2 = sorted({str(p["spec"].get("nodeName")) for p in running if p not in on_fargate})
            where = f"; still on EC2 instances: {', '.join(ec2)}" if ec2 else ""
            out.append(f"{len(on_fargate)} of {DESIRED} running tasks are on a Fargate node{where}")
        return out


LAB = LaunchTypesLab(
    number=2,
    slug="launch-types",
    title="EC2 vs Fargate launch types",
    topic="ECS launch types: EC2 (you run the instances) vs Fargate (serverless)",
    goal=f"Move the service `{NAME}` from the EC2 launch type to Fargate, keeping {DESIRED} running tasks.",
    steps=(
        "See where the tasks run today: ecsk tasks -n {ns} --service api   and   ecsk instances",
        "Edit the task definition: kubectl -n {ns} edit taskdefinition api  "
        "(requiresCompatibilities: [FARGATE])",
        "Edit the service: kubectl -n {ns} edit ecsservice api  (launchType: FARGATE)",
        "Watch the new tasks land on their own nodes: "
        "kubectl get nodes -l eks.amazonaws.com/compute-type=fargate",
        'Try an invalid size (cpu: "256", memory: "4096") and read the refusal, then put 512 back',
    ),
    hints=(
        'Two resources say "EC2": the task definition\'s requiresCompatibilities '
        "and the service's launchType.",
        "Fargate needs networkMode awsvpc and a valid cpu/memory pair "
        "(256 CPU units: 512, 1024 or 2048 MiB).",
        "Each Fargate task gets a node named fargate-ip-...; "
        "`ecsk tasks -n {ns}` shows the INSTANCE column change.",
    ),
)
