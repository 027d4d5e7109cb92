"""The fleet file's Fargate profiles, applied at `ecsk cluster up` next to the node groups.

On EKS a Fargate profile is part of the cluster's compute, declared with the node groups (eksctl's
config file has both). Fargate nodes themselves cannot be created up front: EKS makes one per pod.
So `up` only creates the FargateProfile objects (and their CRD); the operator's Fargate controller
gives each pod a profile catches its own node. Profiles from the fleet carry the fleet's origin
label, so one removed from the file is deleted on the next `up`, as stale fleet nodes are.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from typing import Any

from ecsk.core.capacity.fleet import Fleet, render_fargate_profiles
from ecsk.core.schema.crds import KINDS, crd_for

ORIGIN_LABEL = "ecs.ecsk.io/origin"
ORIGIN_VALUE = "fleet"
CRD_NAME = "fargateprofiles.ecs.ecsk.io"

Kubectl = Callable[..., subprocess.CompletedProcess[str]]
"""`kubectl(*args, stdin=..., timeout=...)` bound to the cluster (`ecsk.cluster.embedded.local.kubectl`)."""


class FargateFleetError(RuntimeError):
    """Applying the fleet's Fargate profiles failed; the message carries kubectl's answer."""


def _crd() -> dict[str, Any]:
    """Only this CRD: the others take their descriptions from botocore (a dev dependency)."""
    return crd_for(next(k for k in KINDS if k.kind == "FargateProfile"))


def _manifests(fleet: Fleet) -> list[dict[str, Any]]:
    profiles = render_fargate_profiles(fleet)
    for profile in profiles:
        profile["metadata"]["labels"] = {ORIGIN_LABEL: ORIGIN_VALUE}
    namespaces = sorted({p["metadata"]["namespace"] for p in profiles})
    return [
        *({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}} for ns in namespaces),
        *profiles,
    ]


def apply(kubectl: Kubectl, fleet: Fleet, say: Callable[[str], object] = print) -> list[str]:
    """Create or update the fleet's profiles, delete fleet profiles no longer in the file.

    Returns `<namespace>/<name>` of the profiles the fleet declares."""
    docs = _manifests(fleet)
    wanted = [
        f"{d['metadata']['namespace']}/{d['metadata']['name']}" for d in docs if d["kind"] == "FargateProfile"
    ]
    if wanted:
        _run(kubectl, "apply", "-f", "-", stdin=json.dumps(_crd()))
        _run(kubectl, "wait", "--for=condition=Established", f"crd/{CRD_NAME}", "--timeout=30s")
        _run(
            kubectl, "apply", "-f", "-", stdin=json.dumps({"apiVersion": "v1", "kind": "List", "items": docs})
        )
    elif kubectl("get", "crd", CRD_NAME, "-o", "name").returncode != 0:
        return []  # no profiles and never had any: nothing to prune either
    listed = _run(
        kubectl,
        "get", "fargateprofiles.ecs.ecsk.io", "-A", "-l", f"{ORIGIN_LABEL}={ORIGIN_VALUE}",
        "-o", "jsonpath={range .items[*]}{.metadata.namespace}/{.metadata.name}{'\\n'}{end}",
    )  # fmt: skip
    for stale in sorted(set(listed.stdout.split()) - set(wanted)):
        ns, name = stale.split("/", 1)
        say(f"removing Fargate profile {stale}, no longer in the fleet file")
        kubectl("delete", "fargateprofiles.ecs.ecsk.io", name, "-n", ns, "--wait=false")
    if wanted:
        say(f"Fargate profiles: {', '.join(wanted)}")
    return wanted


def _run(kubectl: Kubectl, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    result = kubectl(*args, stdin=stdin) if stdin is not None else kubectl(*args)
    if result.returncode != 0:
        raise FargateFleetError(
            f"kubectl {args[0]} for the fleet's Fargate profiles failed: {result.stderr.strip()}"
        )
    return result
