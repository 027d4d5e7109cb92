"""Lab 09: EKS node types: a managed node group (EC2 nodes in an ASG that EKS runs) beside AWS
Fargate (no nodes to manage), chosen for plain Kubernetes pods by a Fargate profile."""

from __future__ import annotations

from typing import Any

from ecsk.core.capacity.fargate import COMPUTE_TYPE, FARGATE_SCHEDULER
from ecsk.labs.engine import CR, Lab, Obj, Snapshot, missing_namespace, namespace_for, spec

NODEGROUP = "eks.amazonaws.com/nodegroup"
REPLICAS = 2
PROFILE = "reports"


def _deployment(name: str, fargate: bool) -> Obj:
    """A plain Deployment, as on EKS: `reports` asks for the Fargate scheduler (what EKS's webhook
    sets when a profile matches), `api` stays on the managed node group."""
    pod_spec: dict[str, Any] = {
        "containers": [
            {
                "name": name,
                "image": "public.ecr.aws/nginx/nginx:1.27",
                "resources": {"requests": {"cpu": "250m", "memory": "512Mi"}, "limits": {"memory": "512Mi"}},
            }
        ]
    }
    if fargate:
        pod_spec["schedulerName"] = FARGATE_SCHEDULER
    else:
        pod_spec["nodeSelector"] = {NODEGROUP: "ng-general"}
    template = {"metadata": {"labels": {"app": name}}, "spec": pod_spec}
    body = {"replicas": REPLICAS, "selector": {"matchLabels": {"app": name}}, "template": template}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name}, "spec": body}


def _matches(profile: Obj, namespace: str) -> bool:
    """Whether a profile selects this namespace's `app=reports` pods (exact values; the guide's
    challenge is the wildcards)."""
    for selector in spec(profile).get("selectors") or []:
        labels = selector.get("labels") or {}
        if selector.get("namespace") == namespace and labels.get("app", "reports") == "reports":
            return True
    return False


def _placement_problems(snap: Snapshot) -> list[str]:
    out = []
    reports = snap.running_pods({"app": "reports"})
    on_fargate = [p for p in reports if snap.node_label(p, COMPUTE_TYPE) == "fargate"]
    if len(on_fargate) < REPLICAS:
        out.append(f"{len(on_fargate)} of {REPLICAS} reports pods run on Fargate")
    api = snap.running_pods({"app": "api"})
    managed = [p for p in api if snap.node_label(p, NODEGROUP)]
    if len(managed) < REPLICAS:
        out.append(f"{len(managed)} of {REPLICAS} api pods run on the managed node group ng-general")
    return out


class EksNodeTypesLab(Lab):
    def starting_objects(self) -> list[Obj]:
        return [_deployment("api", fargate=False), _deployment("reports", fargate=True)]

    def solution_objects(self, snap: Snapshot) -> list[Obj]:
        selector = {"namespace": namespace_for(self.number), "labels": {"app": "reports"}}
        profile = {"apiVersion": CR, "kind": "FargateProfile", "metadata": {"name": PROFILE}}
        return [{**profile, "spec": {"selectors": [selector]}}]

    def problems(self, snap: Snapshot) -> list[str]:
        if missing := missing_namespace(snap):
            return missing
        if not any(d["metadata"]["name"] in ("api", "reports") for d in snap.deployments):
            return [
                f"the Deployments api and reports are gone: `ecsk lab start {self.number}` creates them again"
            ]
        out = []
        if not any(_matches(p, snap.namespace) for p in snap.ecs.get("FargateProfile", [])):
            out.append(
                f"no FargateProfile selects namespace {snap.namespace} with labels app=reports: "
                "the reports pods wait for a profile"
            )
        return out + _placement_problems(snap)


LAB = EksNodeTypesLab(
    number=9,
    slug="eks-node-types",
    title="EKS node types: managed node groups and Fargate",
    topic="Amazon EKS node types (managed node groups, self-managed nodes, Fargate)",
    goal=(
        "Two plain Kubernetes Deployments: `api` runs on the managed node group ng-general; `reports` waits "
        "for Fargate. Create the Fargate profile that runs the reports pods serverless."
    ),
    steps=(
        "See the node types: kubectl get nodes -L eks.amazonaws.com/nodegroup,eks.amazonaws.com/compute-type",
        "See the waiting pods: kubectl -n {ns} get pods -o wide   and   kubectl -n {ns} get events",
        "Create a FargateProfile in {ns}: selectors: [{{namespace: {ns}, labels: {{app: reports}}}}]",
        "Watch one Fargate node per pod appear: "
        "kubectl get nodes -l eks.amazonaws.com/compute-type=fargate -w",
    ),
    hints=(
        "Fargate on EKS is chosen per pod by a Fargate profile: a namespace plus optional labels.",
        "kind: FargateProfile (ecs.ecsk.io/v1alpha1), spec.selectors is a list of {{namespace, labels}}.",
        "The reports pods carry app=reports; the profile's selector must match the namespace {ns} exactly.",
    ),
)
