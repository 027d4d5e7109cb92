"""Lab 03: IAM roles for ECS: one task role per task definition (an IRSA ServiceAccount here),
and the execution role the agent uses to pull images and read secrets."""

from __future__ import annotations

from ecsk.core.translate.names import service_account_name
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

ACCOUNT = "123456789012"
SHARED = f"arn:aws:iam::{ACCOUNT}:role/shared-app"
ROLES = {
    "orders": f"arn:aws:iam::{ACCOUNT}:role/orders-task",
    "reports": f"arn:aws:iam::{ACCOUNT}:role/reports-task",
}
EXECUTION = f"arn:aws:iam::{ACCOUNT}:role/ecsTaskExecutionRole"
IRSA = "eks.amazonaws.com/role-arn"


def _td(name: str, solved: bool) -> Obj:
    body: dict[str, object] = {"family": name, "containerDefinitions": [container(name)]}
    if solved:
        body["taskRoleArn"], body["executionRoleArn"] = ROLES[name], EXECUTION
    else:
        body["taskRoleArn"] = SHARED
    return td_doc(name, body)


def _service(name: str) -> Obj:
    return service_doc(
        name, {"serviceName": name, "taskDefinition": name, "desiredCount": 1, "launchType": "EC2"}
    )


def _role_problems(snap: Snapshot, name: str, td: dict[str, object], others: set[str]) -> list[str]:
    role = str(td.get("taskRoleArn") or "")
    out = []
    if not role:
        out.append(f"TaskDefinition {name} has no taskRoleArn: its tasks get no AWS credentials at all")
    elif role == SHARED or role in others:
        out.append(
            f"TaskDefinition {name} uses the task role {role}, shared with another application: "
            f"give it its own role ({ROLES[name]})"
        )
    if not td.get("executionRoleArn"):
        out.append(
            f"TaskDefinition {name} has no executionRoleArn: the agent needs it to pull from ECR and "
            f"write CloudWatch Logs ({EXECUTION})"
        )
    if not role:
        return out
    sa = service_account_name(role)
    found = next((s for s in snap.service_accounts if s["metadata"]["name"] == sa), None)
    if found is None:
        out.append(
            f"no ServiceAccount {sa} yet (IRSA for {role}): the operator makes it once the spec is valid"
        )
    elif (found["metadata"].get("annotations") or {}).get(IRSA) != role:
        out.append(f"ServiceAccount {sa} is not annotated {IRSA}={role}")
    running = snap.running_tasks(name)
    wrong = [p["metadata"]["name"] for p in running if p["spec"].get("serviceAccountName") != sa]
    if not running:
        out.append(f"service {name} has no running task yet")
    elif wrong:
        out.append(
            f"{len(wrong)} of {len(running)} {name} tasks still run without ServiceAccount {sa}: "
            f"{', '.join(wrong)}"
        )
    return out


class IamRolesLab(Lab):
    def starting_objects(self) -> list[Obj]:
        return [_td(n, solved=False) for n in ROLES] + [_service(n) for n in ROLES]

    def solution_objects(self, snap: Snapshot) -> list[Obj]:
        return [_td(n, solved=True) for n in ROLES]

    def problems(self, snap: Snapshot) -> list[str]:
        wanted = [(kind, name) for name in ROLES for kind in ("TaskDefinition", "ECSService")]
        if blocked := require(snap, self.number, *wanted):
            return blocked
        out: list[str] = []
        specs = {name: spec(snap.get("TaskDefinition", name)) for name in ROLES}
        for name, td in specs.items():
            others = {
                str(s.get("taskRoleArn")) for n, s in specs.items() if n != name and s.get("taskRoleArn")
            }
            out += _role_problems(snap, name, td, others)
        return out


LAB = IamRolesLab(
    number=3,
    slug="iam-roles",
    title="IAM roles: one task role per task definition",
    topic="IAM roles for ECS: EC2 instance profile vs task role vs execution role (IRSA on EKS)",
    goal=(
        "`orders` (DynamoDB) and `reports` (S3) share one task role. Give each task definition its own "
        "task role (orders-task, reports-task) and the execution role ecsTaskExecutionRole."
    ),
    steps=(
        "See the shared role: kubectl -n {ns} get serviceaccounts -o yaml  "
        "(annotation eks.amazonaws.com/role-arn)",
        "kubectl -n {ns} edit taskdefinition orders: "
        "taskRoleArn: arn:aws:iam::123456789012:role/orders-task, "
        "executionRoleArn: arn:aws:iam::123456789012:role/ecsTaskExecutionRole",
        "The same for reports with role/reports-task",
        "Check each task's identity: kubectl -n {ns} get pods "
        "-o custom-columns=POD:.metadata.name,SA:.spec.serviceAccountName",
    ),
    hints=(
        "The task role is defined in the task definition (taskRoleArn), one per task definition.",
        "ecsk makes one ServiceAccount per role, named iam-<role name>, annotated for IRSA; pods use it.",
        "The execution role is a different field: executionRoleArn (the ECS agent's, not your code's).",
    ),
)
