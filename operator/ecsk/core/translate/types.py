"""Result, option and context types shared by every translation step.

The translation is a pure function of (models, options); everything it wants to say besides the
objects themselves (where each ECS field went, what could not be expressed) travels in the result
so the CLI, the operator and the tests all read the same facts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from ecsk.core.translate.names import container_name

Severity = Literal["error", "warning", "info"]
DEFAULT_DEREGISTRATION_DELAY = 300
"""Elastic Load Balancing's default `deregistration_delay.timeout_seconds`."""
LoadBalancerMode = Literal["auto", "create", "bind"]
ImagePullBehavior = Literal["default", "always", "once", "prefer-cached"]
"""The ECS agent's ECS_IMAGE_PULL_BEHAVIOR values."""

# ECS_IMAGE_PULL_BEHAVIOR -> imagePullPolicy. `default` (pull, fall back to the cached image
# when the pull fails) has no Kubernetes equivalent: the field is left to Kubernetes' own default
# (Always for :latest, IfNotPresent otherwise). `once` and `prefer-cached` both use an image the
# node already holds without asking the registry, which is IfNotPresent.
IMAGE_PULL_POLICY: dict[str, str | None] = {
    "default": None,
    "always": "Always",
    "once": "IfNotPresent",
    "prefer-cached": "IfNotPresent",
}


@dataclass(frozen=True, slots=True)
class Explanation:
    """Where one given ECS field went: a Kubernetes path (or several), or None with the reason."""

    ecs_path: str
    k8s_paths: tuple[str, ...] | None
    note: str


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """A problem found while translating; `error` means the objects must not be applied."""

    severity: Severity
    path: str
    message: str
    code: str = ""


@dataclass(frozen=True, slots=True)
class PlacementInputs:
    """Everything placement-related a hook needs; the translation core itself does not place."""

    task_group: str
    launch_type: str | None = None
    capacity_provider_strategy: list[dict[str, Any]] | None = None
    placement_constraints: list[dict[str, Any]] | None = None
    placement_strategy: list[dict[str, Any]] | None = None
    requires_compatibilities: list[str] | None = None
    scheduling_strategy: str | None = None
    note: NoteSink | None = field(default=None, compare=False, repr=False)
    """Where the hook says what each ECS placement field became (`--explain`): called with a path
    relative to these inputs (`placementConstraints[i]` indexes `placement_constraints`,
    `placementStrategy[i]`), the Kubernetes paths and the note. None: nobody asks."""


NoteSink = Callable[[str, "tuple[str, ...] | None", str], None]
"""`note(ecs_path, k8s_paths, text)`: how a placement hook explains, without knowing the render."""

PlacementHook = Callable[[dict[str, Any], PlacementInputs], "list[Diagnostic] | None"]
"""Receives the pod spec (mutable) and the placement inputs; may add affinity, nodeSelector,
topologySpreadConstraints or tolerations and return diagnostics. The CQL engine plugs in here."""


@dataclass(frozen=True)
class RenderOptions:
    """Knobs of the translation; defaults target a Kubernetes 1.37 cluster with the AWS add-ons."""

    namespace: str = "default"
    cluster: str = "default"
    image_rewrite: Mapping[str, str] = field(default_factory=dict)
    pod_level_resources: bool = True
    load_balancers: LoadBalancerMode = "auto"
    load_balancer_types: Mapping[str, str] = field(default_factory=dict)
    load_balancer_node_ports: bool = False
    """Publish every load-balanced Service as a NodePort (the kind path's stand-in for the ALB:
    kube-proxy on the nodes, the node ports published on the host)."""
    deregistration_delay: int = DEFAULT_DEREGISTRATION_DELAY
    """The target groups' `deregistration_delay.timeout_seconds` (an ELB attribute, not in the
    ECS input): how long a load-balanced task keeps serving after it left the targets."""
    network_policies: bool = True
    efs_static: bool = False
    default_volume_size: str = "1Gi"
    default_ebs_size_gib: int = 10
    image_pull_secrets: tuple[str, ...] = ()
    image_pull_behavior: ImagePullBehavior = "default"
    placement_hook: PlacementHook | None = None
    explain: bool = True
    revision: int | None = None
    deployment_token: str = ""
    """names.deployment_token of the service's force-new-deployment annotation: a pod template
    label, so a forced deployment rolls out new pods of an unchanged revision."""


@dataclass
class RenderResult:
    """Objects in apply order (stable), plus the account of every given field and any problems."""

    objects: list[dict[str, Any]]
    explanations: list[Explanation]
    diagnostics: list[Diagnostic]

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "error"]

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass
class Context:
    """Mutable state of one render: side objects by identity, notes that override the generic
    coverage entry for a concrete path, and diagnostics."""

    options: RenderOptions
    diagnostics: list[Diagnostic] = field(default_factory=list)
    notes: dict[str, Explanation] = field(default_factory=dict)
    side_objects: dict[tuple[str, str, str], dict[str, Any]] = field(default_factory=dict)
    container_names: dict[str, str] = field(default_factory=dict)

    def cname(self, raw: str) -> str:
        """Kubernetes name of an ECS container of the task being rendered."""
        return self.container_names.get(raw) or container_name(raw)

    def note(self, ecs_path: str, k8s: str | tuple[str, ...] | None, text: str) -> None:
        if not self.options.explain:
            return
        paths = (k8s,) if isinstance(k8s, str) else k8s
        self.notes[ecs_path] = Explanation(ecs_path, paths, text)

    def warn(self, path: str, message: str, code: str = "") -> None:
        self.diagnostics.append(Diagnostic("warning", path, message, code))

    def error(self, path: str, message: str, code: str = "") -> None:
        self.diagnostics.append(Diagnostic("error", path, message, code))

    def add_object(self, obj: dict[str, Any]) -> None:
        """Side objects are keyed by kind/namespace/name so two volumes sharing a StorageClass or
        two containers sharing a Secret yield one object."""
        meta = obj["metadata"]
        self.side_objects.setdefault((obj["kind"], meta.get("namespace", ""), meta["name"]), obj)
