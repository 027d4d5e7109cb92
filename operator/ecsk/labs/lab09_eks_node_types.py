"""Lab 09: EKS node types: a managed node group (EC2 nodes in an ASG that EKS runs) beside AWS
Fargate (no nodes to manage), chosen for plain Kubernetes pods by a Fargate profile."""

from __future__ import annotations

from typing import Any

from ecsk.core.capacity.fargate import COMPUTE_TYPE, FARGATE_SCHEDULER
from ecsk.labs.engine import CR, Lab, Obj, Snapshot, missing_namespace, namespace_for, spec

NODEGROUP = "eks.amazonaws.com/nodegroup"
REPLICAS = 2
PROFILE = "reports"
CLAIM = "reports-data"
EFS_DRIVER = "efs.csi.aws.com"
FILE_SYSTEM = "fs-0a1b2c3d4e5f60718"


def storage_class_name(number: int = 9) -> str:
    """StorageClasses are cluster-scoped: the lab's carries its namespace, so reset finds it."""
    return f"{namespace_for(number)}-efs"


def _storage_objects() -> list[Obj]:
    sc = {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {"name": storage_class_name()},
        "provisioner": EFS_DRIVER,
        "parameters": {"provisioningMode": "efs-ap", "fileSystemId": FILE_SYSTEM, "directoryPerms": "700"},
    }
    claim = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": CLAIM},
        "spec": {
            "accessModes": ["ReadWriteMany"],
            "storageClassName": storage_class_name(),
            "resources": {"requests": {"storage": "5Gi"}},
        },
    }
    return [sc, claim]


def _storage_problems(snap: Snapshot) -> list[str]:
    """The data-volume half: a StorageClass on a CSI driver Fargate pods can use, and a claim on
    it. Without the EFS driver (the embedded cluster) the claim stays Pending; that is expected."""
    name = storage_class_name()
    sc = snap.named(snap.storage_classes, name)
    if sc is None:
        return [f"no StorageClass {name}: EKS volumes need a StorageClass naming a CSI driver ({EFS_DRIVER})"]
    out = []
    if sc.get("provisioner") != EFS_DRIVER:
        out.append(
            f"StorageClass {name} uses {sc.get('provisioner')}: Fargate pods can mount EFS only "
            f"(provisioner {EFS_DRIVER})"
        )
    elif not (sc.get("parameters") or {}).get("fileSystemId"):
        out.append(
            f"StorageClass {name} has no parameters.fileSystemId: the driver makes access points in it"
        )
    claim = snap.named(snap.pvcs, CLAIM)
    if claim is None:
        return [*out, f"no PersistentVolumeClaim {CLAIM} on StorageClass {name}"]
    if spec(claim).get("storageClassName") != name:
        out.append(
            f"PersistentVolumeClaim {CLAIM} asks StorageClass {spec(claim).get('storageClassName')}, "
            f"not {name}"
        )
    if "ReadWriteMany" not in (spec(claim).get("accessModes") or []):
        out.append(
            f"PersistentVolumeClaim {CLAIM} is not ReadWriteMany: the reports pods on two nodes share it"
        )
    return out


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
        return [{**profile, "spec": {"selectors": [selector]}}, *_storage_objects()]

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
        return out + _placement_problems(snap) + _storage_problems(snap)


LAB = EksNodeTypesLab(
    number=9,
    slug="eks-node-types",
    title="EKS node types: managed node groups and Fargate; data volumes through a StorageClass",
    topic=(
        "Amazon EKS node types (managed node groups, self-managed nodes, Fargate); "
        "EKS data volumes (StorageClass, CSI)"
    ),
    goal=(
        "Two plain Kubernetes Deployments: `api` runs on the managed node group ng-general; `reports` waits "
        "for Fargate. Create the Fargate profile that runs the reports pods serverless, and give them a "
        "shared volume: a StorageClass on the EFS CSI driver and a ReadWriteMany claim on it."
    ),
    steps=(
        "See the node types: kubectl get nodes -L eks.amazonaws.com/nodegroup,eks.amazonaws.com/compute-type",
        "See the waiting pods: kubectl -n {ns} get pods -o wide   and   kubectl -n {ns} get events",
        "Create a FargateProfile in {ns}: selectors: [{{namespace: {ns}, labels: {{app: reports}}}}]",
        "Watch one Fargate node per pod appear: "
        "kubectl get nodes -l eks.amazonaws.com/compute-type=fargate -w",
        "kubectl apply a StorageClass {ns}-efs (provisioner efs.csi.aws.com, parameters: provisioningMode "
        f"efs-ap, fileSystemId {FILE_SYSTEM}) and in {{ns}} a PersistentVolumeClaim {CLAIM} "
        "(ReadWriteMany, storageClassName {ns}-efs): see the guide",
        "kubectl -n {ns} describe pvc reports-data   (Pending: no EFS CSI driver runs on this cluster)",
    ),
    hints=(
        "Fargate on EKS is chosen per pod by a Fargate profile: a namespace plus optional labels.",
        "kind: FargateProfile (ecs.ecsk.io/v1alpha1), spec.selectors is a list of {{namespace, labels}}.",
        "The reports pods carry app=reports; the profile's selector must match the namespace {ns} exactly.",
        "EKS storage is a StorageClass naming a CSI driver; Fargate pods can mount EFS (efs.csi.aws.com), "
        "not EBS.",
    ),
)
