"""The main job behind `make demo`: CRDs, the operator, a sample service, and what it became.

Runs against whatever KUBECONFIG points at (the local cluster by default). The operator is left
running in the background (its pid and log live in ECSK_HOME) so the user can keep exploring;
`ecsk cluster down` stops it together with the cluster.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from rich.console import Console

from ecsk.cluster import binaries, paths
from ecsk.cluster.embedded import operator_process
from ecsk.controller.runtime import leader

ROOT = Path(__file__).resolve().parents[3]
console = Console(width=None if Console().is_terminal else 160)


def _start_operator(kubeconfig: str) -> bool:
    """Start the demo's cluster-wide operator unless one is active (then use that one); refuse
    while namespaced operators are active (ours would only stand by until they stop)."""
    ours = operator_process.running_pid()
    try:
        others = [h for h in leader.active_operators_at(kubeconfig) if not leader.is_this_process(h, ours)]
    except Exception as exc:  # no Lease API reachable: the operators' election still guards
        others = []
        console.print(f"could not list active operators ({exc}); starting ours anyway")
    cluster_wide = [h for h in others if h.namespace is None]
    if cluster_wide:
        console.print(f"an operator is already active, the demo uses it: {cluster_wide[0].describe()}")
        return True
    if others:
        message = leader.refusal(others, "not starting the demo operator")
        console.print(f"[red]{message}[/red]", highlight=False)
        return False
    pid, started = operator_process.start(kubeconfig)
    state = "started" if started else "already running"
    console.print(f"operator {state} (pid {pid}, log {operator_process.log_file()})")
    return True


def main() -> int:
    kubeconfig = os.environ.get("KUBECONFIG") or str(paths.kubeconfig())
    tools = binaries.ensure(lambda m: console.print(m, highlight=False), with_metrics_server=False)

    def kubectl(*args: str, check: bool = True) -> str:
        proc = subprocess.run(
            [str(tools["kubectl"]), "--kubeconfig", kubeconfig, *args], capture_output=True, text=True
        )
        if check and proc.returncode != 0:
            raise SystemExit(f"kubectl {' '.join(args)} failed:\n{proc.stderr}")
        return proc.stdout

    console.rule("1. CRDs")
    kubectl("apply", "--server-side", "--field-manager", "ecsk", "-k", str(ROOT / "crds"))
    kubectl(
        "wait",
        "--for=condition=Established",
        "crd",
        "-l",
        "app.kubernetes.io/part-of=ecsk",
        "--timeout=60s",
        check=False,
    )
    console.print(
        kubectl(
            "get",
            "crd",
            "-o",
            "custom-columns=CRD:.metadata.name,KIND:.spec.names.kind,SHORT:.spec.names.shortNames",
            "--sort-by=.metadata.name",
        )
    )

    console.rule("2. operator")
    if not _start_operator(kubeconfig):
        return 1

    console.rule("3. sample: samples/web.yaml (TaskDefinition web + ECSService web, 6 tasks)")
    console.print(kubectl("apply", "-f", str(ROOT / "samples" / "web.yaml")))

    console.rule("4. waiting for the service to reach a steady state")
    deadline = time.monotonic() + 120
    svc: dict[str, object] = {}
    while time.monotonic() < deadline:
        out = kubectl("get", "ecsservice", "web", "-o", "json", check=False)
        svc = json.loads(out) if out else {}
        status = svc.get("status") or {}
        assert isinstance(status, dict)
        if status.get("runningCount") == 6 and status.get("pendingCount", 0) == 0:
            break
        time.sleep(1)
    else:
        console.print(
            "[red]the service did not reach 6 running tasks in 120 s; "
            f"see {operator_process.log_file()}[/red]"
        )
        return 1

    console.rule("5. the result")
    console.print(kubectl("get", "taskdefinitions,ecsservices"))
    console.print(kubectl("get", "deployments,pods", "-l", "ecs.ecsk.io/service=web", "-o", "wide"))
    nodes = json.loads(kubectl("get", "nodes", "-o", "json"))["items"]
    zone_of = {
        n["metadata"]["name"]: n["metadata"]["labels"].get("topology.kubernetes.io/zone") for n in nodes
    }
    pods = json.loads(kubectl("get", "pods", "-l", "ecs.ecsk.io/service=web", "-o", "json"))["items"]
    per_zone: dict[str, int] = {}
    for p in pods:
        zone = zone_of.get(p["spec"].get("nodeName", ""), "?") or "?"
        per_zone[zone] = per_zone.get(zone, 0) + 1
    console.print("tasks per availability zone (spread on attribute:ecs.availability-zone):", per_zone)
    events = (svc.get("status") or {}).get("events", [])  # type: ignore[union-attr]
    for e in list(events)[:5]:
        console.print(f"  {e.get('createdAt', '')}  {e.get('message', '')}", highlight=False)
    console.rule("explore")
    console.print(
        f"export KUBECONFIG={kubeconfig}\nkubectl get ecs            # every ECS resource\n"
        "ecsk tasks --service web   # tasks like `aws ecs describe-tasks`\n"
        "ecsk render -f tests/fixtures/corpus/01-web-alb-fargate --explain\n"
        "ecsk cluster down          # stop everything"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
