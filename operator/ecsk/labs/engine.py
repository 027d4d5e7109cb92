"""The lab engine: what a lab is, the snapshot its check reads, and the lab namespace's name.

A lab is data (goal, steps, hints, the objects of its starting state and of its reference answer)
plus one pure function, `problems(snapshot)`, that lists what is still missing in the words a
participant can act on. Keeping the check pure is what lets `check` never crash on half-done
work: it only ever looks at dicts the API server returned, and every lookup has a default.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ecsk.core.taskdefs.revisions import DATA_KEY, revisions_from_configmaps
from ecsk.core.tasks.status import derive_task_status
from ecsk.core.translate.names import LABEL_SERVICE, label_value

CR = "ecs.ecsk.io/v1alpha1"
PREFIX_ENV = "ECSK_LAB_PREFIX"
DEFAULT_PREFIX = "ecsk-"
HINTS_ANNOTATION = "labs.ecsk.io/hints-shown"
LAB_LABEL = "labs.ecsk.io/lab"
NODE_LABELS_ANNOTATION = "labs.ecsk.io/node-labels"
"""On the lab namespace: JSON {node: {label: previous value or null}} of node labels the lab set."""
ZONE = "topology.kubernetes.io/zone"
VARIANT_ANNOTATION = "labs.ecsk.io/variant"
"""On the lab namespace: which variant `start` chose (`embedded` or `real-containers`), so
check, hint, solve and reset work on the same one."""
EMBEDDED, REAL = "embedded", "real-containers"
ECS_KINDS = (
    "TaskDefinition",
    "ECSService",
    "Task",
    "CapacityProvider",
    "FargateProfile",
    "ScalableTarget",
    "ScalingPolicy",
    "ScheduledAction",
    "Repository",
    "ECSCluster",
    "AppRunnerService",
)
Obj = dict[str, Any]


def namespace_for(number: int, prefix: str | None = None) -> str:
    """`ecsk-lab-05` by default; `ECSK_LAB_PREFIX` changes the prefix (tests run their own labs
    beside a participant's, and a namespaced operator can watch exactly those namespaces)."""
    chosen = os.environ.get(PREFIX_ENV, DEFAULT_PREFIX) if prefix is None else prefix
    return f"{chosen}lab-{number:02d}"


class LabError(RuntimeError):
    """A lab verb cannot go on; the message says why and what to do (the CLI prints it as is)."""


class ProbeError(RuntimeError):
    """A command run in a task's container failed; the message says what, in plain words."""


Exec = Callable[[str, str, list[str]], str]
"""Runs argv in container (2nd) of pod (1st) of the lab namespace and returns its stdout, or
raises ProbeError: a real-container check's door into the running tasks."""


@dataclass(frozen=True)
class Probes:
    """The doors a real-container check has beyond the snapshot (`kube.probes` opens them; unit
    tests pass stand-ins): a command in a task, and HTTP from the host through the load balancer,
    as a participant's browser or curl would send it. Each raises ProbeError in plain words."""

    run: Exec
    balancer_url: Callable[[int], str]
    """A load-balanced Service's node port -> the URL the host reaches it on (kind publishes a
    range of node ports on 127.0.0.1)."""
    get: Callable[[str], str]
    """One GET on a new connection (as a new client of an ALB): the answer's body."""


@dataclass
class Snapshot:
    """Everything a check may look at, read once: the lab namespace's ECS resources and the
    Kubernetes objects the operator made from them, and the cluster's nodes."""

    namespace: str
    exists: bool = True
    variant: str = EMBEDDED
    """The variant `start` recorded on the namespace (VARIANT_ANNOTATION)."""
    ecs: dict[str, list[Obj]] = field(default_factory=dict)
    pods: list[Obj] = field(default_factory=list)
    nodes: list[Obj] = field(default_factory=list)
    service_accounts: list[Obj] = field(default_factory=list)
    config_maps: list[Obj] = field(default_factory=list)
    deployments: list[Obj] = field(default_factory=list)
    hpas: list[Obj] = field(default_factory=list)
    pvcs: list[Obj] = field(default_factory=list)
    storage_classes: list[Obj] = field(default_factory=list)
    persistent_volumes: list[Obj] = field(default_factory=list)
    """Cluster-scoped, so only those claimed from the lab namespace."""
    services: list[Obj] = field(default_factory=list)
    target_group_bindings: list[Obj] = field(default_factory=list)
    network_policies: list[Obj] = field(default_factory=list)
    ingresses: list[Obj] = field(default_factory=list)
    secrets: list[Obj] = field(default_factory=list)
    """Secrets with their data keys, values blanked by `kube.snapshot` (a check never needs one)."""

    def get(self, kind: str, name: str) -> Obj | None:
        """The ECS resource `kind`/`name` of the lab namespace, or None."""
        for obj in self.ecs.get(kind, []):
            if (obj.get("metadata") or {}).get("name") == name:
                return obj
        return None

    def named(self, objects: list[Obj], name: str) -> Obj | None:
        """The object called `name` in one of the Kubernetes lists above, or None."""
        return next((o for o in objects if (o.get("metadata") or {}).get("name") == name), None)

    def node(self, name: str) -> Obj | None:
        return next((n for n in self.nodes if n["metadata"]["name"] == name), None)

    def running_tasks(self, service: str) -> list[Obj]:
        """The service's pods whose ECS lastStatus is RUNNING (not being stopped)."""
        return self.running_pods({LABEL_SERVICE: label_value(service)})

    def running_pods(self, labels: Mapping[str, str]) -> list[Obj]:
        """Pods carrying all `labels` that run (ECS's RUNNING: scheduled, started, ready)."""
        return [
            p
            for p in self.pods
            if labels.items() <= (((p.get("metadata") or {}).get("labels") or {}).items())
            and not (p.get("metadata") or {}).get("deletionTimestamp")
            and derive_task_status(p).lastStatus == "RUNNING"
        ]

    def pending_tasks(self, service: str) -> list[Obj]:
        value = label_value(service)
        return [
            p
            for p in self.pods
            if ((p.get("metadata") or {}).get("labels") or {}).get(LABEL_SERVICE) == value
            and not (p.get("spec") or {}).get("nodeName")
            and not (p.get("metadata") or {}).get("deletionTimestamp")
        ]

    def node_label(self, pod: Obj, label: str) -> str:
        node = self.node(str((pod.get("spec") or {}).get("nodeName") or ""))
        return str(((node or {}).get("metadata") or {}).get("labels", {}).get(label, "")) if node else ""


def spec(obj: Obj | None) -> dict[str, Any]:
    return dict((obj or {}).get("spec") or {})


def status(obj: Obj | None) -> dict[str, Any]:
    return dict((obj or {}).get("status") or {})


def invalid_reason(obj: Obj | None) -> str | None:
    """The message of a `Valid=False` condition: the operator refused the resource, and the
    participant must see ECS's own words for why."""
    for cond in status(obj).get("conditions") or []:
        if cond.get("type") == "Valid" and cond.get("status") == "False":
            return str(cond.get("message") or cond.get("reason") or "invalid")
    return None


def strategy_has(strategies: Iterable[Mapping[str, Any]], kind: str, field_: str | None = None) -> bool:
    """Whether a placementStrategy list contains `kind` (on `field_`, case-insensitive as ECS)."""
    for item in strategies or []:
        if str(item.get("type", "")).lower() != kind:
            continue
        if field_ is None or str(item.get("field", "")).lower() == field_.lower():
            return True
    return False


def td_doc(name: str, body: dict[str, Any]) -> Obj:
    return {"apiVersion": CR, "kind": "TaskDefinition", "metadata": {"name": name}, "spec": body}


def service_doc(name: str, body: dict[str, Any]) -> Obj:
    return {"apiVersion": CR, "kind": "ECSService", "metadata": {"name": name}, "spec": body}


def ec2_service(name: str, desired: int, **extra: Any) -> Obj:
    """An EC2-launch service of the family `name`; placement labs replace all tasks at once
    (minimumHealthyPercent 0) so a changed placement shows without a slow one-by-one rollout."""
    body = {
        "serviceName": name,
        "taskDefinition": name,
        "desiredCount": desired,
        "launchType": "EC2",
        "deploymentConfiguration": {"minimumHealthyPercent": 0, "maximumPercent": 100},
        **extra,
    }
    return service_doc(name, body)


SUBNETS = ("subnet-0a7c1e2f3d4b5a697", "subnet-0b8d2f3a4e5c6b7a8")
"""Private subnets of the labs' awsvpc services (ecsk places by zone, not by subnet)."""


def fargate_service(name: str, desired: int, security_groups: list[str] | None = None, **extra: Any) -> Obj:
    """A Fargate service of the family `name` in the labs' private subnets (awsvpc needs a
    networkConfiguration: each task gets its own ENI and private IP)."""
    vpc: dict[str, Any] = {"subnets": list(SUBNETS), "assignPublicIp": "DISABLED"}
    if security_groups:
        vpc["securityGroups"] = security_groups
    body = {
        "serviceName": name,
        "taskDefinition": name,
        "desiredCount": desired,
        "launchType": "FARGATE",
        "networkConfiguration": {"awsvpcConfiguration": vpc},
        **extra,
    }
    return service_doc(name, body)


def td_container(td: dict[str, Any], name: str) -> dict[str, Any]:
    """The container definition `name` of a task definition spec ({} when there is none)."""
    return next((c for c in td.get("containerDefinitions") or [] if c.get("name") == name), {})


def container(name: str, image: str = "public.ecr.aws/nginx/nginx:1.27", **extra: Any) -> dict[str, Any]:
    """A small container definition: the labs care about placement and roles, not images."""
    return {"name": name, "image": image, "essential": True, "cpu": 128, "memoryReservation": 128, **extra}


TESTAPP = "ecsk-testapp:latest"
"""The real-container variants' image: every kind node has it (`ecsk kind up` loads it), and
nothing can be pulled from a hub here. It answers `GET /` with its hostname (the pod's name) and
IP, and serves `/file?path=` (GET reads, PUT writes) from its own view of the file system."""


def testapp(name: str, port: int, **extra: Any) -> dict[str, Any]:
    """A test-app container listening on `port` (containers of one task share its network, so
    each needs its own); `extra` may replace the port mappings (a host port in bridge mode)."""
    env = [{"name": "CONTAINER_NAME", "value": name}, {"name": "PORT", "value": str(port)}]
    fields: dict[str, Any] = {"environment": env, "portMappings": [{"containerPort": port}], **extra}
    return container(name, image=TESTAPP, **fields)


@dataclass(frozen=True)
class StoredValues:
    """SSM parameters and Secrets Manager secrets a reference answer puts through the AWS API
    (the same handlers the endpoint serves, so they are stored exactly as `aws ssm put-parameter`
    stores them): parameters as (name, type, value), secrets as (name, SecretString)."""

    parameters: tuple[tuple[str, str, str], ...] = ()
    secrets: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Lab:
    """One lab. Subclasses fill the text and override `starting_objects`, `solution_objects`
    and `problems`; `node_labels` (set by `start`) are restored by `reset`."""

    number: int
    slug: str
    title: str
    topic: str
    goal: str
    steps: tuple[str, ...]
    hints: tuple[str, ...]
    runs_on: str = "embedded cluster (kwok nodes; placement, rollouts and scaling are real)"
    needs_api: bool = False
    """Whether `start`/`solve`/`reset` call the AWS API's handlers (`seed`, `api_answer`,
    `api_reset`) on an in-process context for the lab namespace, with the image registry."""
    real: Lab | None = None
    """The lab's real-container variant (`ecsk lab start N --real`, on kind), or None."""

    @property
    def guide(self) -> str:
        return f"docs/labs/{self.number:02d}-{self.slug}.md"

    def starting_objects(self) -> list[Obj]:
        return []

    def settled(self, snap: Snapshot) -> bool:
        """Whether the operator has taken in the starting state, so the answer builds on it (a
        revision is only a revision if the one before it was registered first)."""
        return True

    def solution_objects(self, snap: Snapshot) -> list[Obj]:
        """The reference answer, as objects to apply (may read the snapshot, e.g. to pick a node)."""
        return []

    def seed(self, ctx: Any) -> list[str]:
        """Starting state made through the AWS API (a fresh start only: a resumed lab keeps the
        participant's work). Returns what was done."""
        return []

    def api_answer(self, ctx: Any) -> list[str]:
        """The part of the reference answer made through the AWS API, before the objects."""
        return []

    def api_reset(self, ctx: Any) -> list[str]:
        """What `reset` undoes through the AWS API (data that lives outside the cluster)."""
        return []

    def cluster_answer(self, api: Any, namespace: str) -> list[str]:
        """The last part of the reference answer, after its objects are applied: steps that need
        the operator to have acted on them first (App Runner's pause then resume) or that run a
        workflow's own verbs on the API server (the Copilot commands). Returns what was done."""
        return []

    def solution_values(self) -> StoredValues:
        """Parameters and secrets the reference answer stores before its objects are applied."""
        return StoredValues()

    def solution_node_labels(self, snap: Snapshot) -> dict[str, dict[str, str | None]]:
        """Node labels the reference answer sets: {node: {label: value or None to remove}}."""
        return {}

    def problems(self, snap: Snapshot) -> list[str]:
        raise NotImplementedError

    def live_problems(self, snap: Snapshot, probes: Probes) -> list[str]:
        """What real traffic or files show is still wrong, asked only once `problems` found
        nothing (a real-container variant proves the behaviour, not only the objects)."""
        return []


@dataclass(frozen=True)
class PendingLab:
    """A lab whose feature is not in ecsk yet: listed, with the issue it waits for."""

    number: int
    slug: str
    title: str
    topic: str
    waits_for: str


def missing_namespace(snap: Snapshot) -> list[str]:
    """The first problem of every check: nothing to look at before `start`."""
    if not snap.exists:
        return [f"namespace {snap.namespace} does not exist: run `ecsk lab start` for this lab first"]
    return []


def require(snap: Snapshot, number: int, *wanted: tuple[str, str]) -> list[str]:
    """Problems that stop a check before it starts: no namespace, a starting resource deleted, or
    one the operator refused (its Valid=False message, in ECS's words)."""
    if missing := missing_namespace(snap):
        return missing
    out = []
    for kind, name in wanted:
        obj = snap.get(kind, name)
        if obj is None:
            out.append(f"{kind} {name} is gone: `ecsk lab start {number}` creates it again")
        elif reason := invalid_reason(obj):
            out.append(f"the operator refused {kind} {name}: {reason}")
    return out


def latest_revision(snap: Snapshot, family: str) -> tuple[int, dict[str, Any] | None, int]:
    """(latest revision number, its frozen document, how many revisions) from the ConfigMaps the
    operator writes: what ECS registered, not what the participant typed."""
    revs, by_rev = revisions_from_configmaps(snap.config_maps, family)
    if not revs:
        return 0, None, 0
    number = revs[-1].revision
    try:
        doc = json.loads((by_rev[number].get("data") or {}).get(DATA_KEY, "{}"))
    except ValueError:
        doc = None
    return number, doc, len(revs)
