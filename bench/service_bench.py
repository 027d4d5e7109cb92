"""Operator benchmark: N ECS services x T tasks through ecsk versus the same Deployments applied
directly, side by side in one run on the same cluster (ratios, not absolute seconds, are what
this noisy 2-core machine can report honestly).

Prints: time until every task is RUNNING both ways and their ratio (target <= 1.2), operator CPU
seconds and peak RSS, Kubernetes API requests the operator made (total and per reconcile), and
what a no-op resync wrote (target: nothing).

    KUBECONFIG=~/.cache/ecsk/kubeconfig python bench/service_bench.py --services 100 --tasks 5
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pykube

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "operator"))

from ecsk.cluster import binaries, paths  # noqa: E402
from ecsk.core.fleet import INSTANCE_TYPES, private_dns_name, render_ec2_node  # noqa: E402
from ecsk.core.models.load import parse_service, parse_task_definition  # noqa: E402
from ecsk.core.translate import RenderOptions, render_service  # noqa: E402

BENCH_LABEL = "ecs.ecsk.io/origin"
ZONES = ["us-east-1a", "us-east-1b", "us-east-1c"]
WRITE_VERBS = {"POST", "PUT", "PATCH", "APPLY", "DELETE", "DELETECOLLECTION"}


def task_definition(family: str) -> dict[str, Any]:
    return {
        "family": family,
        "networkMode": "awsvpc",
        "requiresCompatibilities": ["EC2"],
        "containerDefinitions": [
            {
                "name": "app",
                "image": "public.ecr.aws/nginx/nginx:1.27",
                "essential": True,
                "cpu": 32,
                "memoryReservation": 32,
                "portMappings": [{"containerPort": 80, "protocol": "tcp"}],
            }
        ],
    }


def service(name: str, family: str, tasks: int) -> dict[str, Any]:
    return {
        "serviceName": name,
        "taskDefinition": family,
        "desiredCount": tasks,
        "launchType": "EC2",
        "networkConfiguration": {"awsvpcConfiguration": {"subnets": ["subnet-0bench"]}},
    }


class Cluster:
    def __init__(self, kubeconfig: str) -> None:
        self.kubeconfig = kubeconfig
        self.kubectl_path = str(binaries.ensure(lambda _m: None, with_metrics_server=False)["kubectl"])
        self.api = pykube.HTTPClient(pykube.KubeConfig.from_file(kubeconfig), timeout=60)

    def kubectl(self, *args: str, stdin: str | None = None) -> str:
        proc = subprocess.run(
            [self.kubectl_path, "--kubeconfig", self.kubeconfig, *args],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=600,
        )
        if proc.returncode != 0:
            raise SystemExit(f"kubectl {' '.join(args[:3])} failed: {proc.stderr[-2000:]}")
        return proc.stdout

    def running_pods(self, namespace: str) -> int:
        pods = pykube.Pod.objects(self.api).filter(
            namespace=namespace, field_selector={"status.phase": "Running"}
        )
        return sum(1 for p in pods if not p.obj["metadata"].get("deletionTimestamp"))

    def wait_running(self, namespace: str, want: int, started: float, timeout: float) -> float:
        while True:
            if self.running_pods(namespace) >= want:
                return time.monotonic() - started
            if time.monotonic() - started > timeout:
                raise SystemExit(f"{namespace}: not all {want} tasks RUNNING after {timeout}s")
            time.sleep(0.25)

    def apiserver_requests(self) -> dict[tuple[str, str, str], float]:
        """apiserver_request_total by (verb, resource, subresource), summed over the other labels."""
        text = self.kubectl("get", "--raw", "/metrics")
        out: dict[tuple[str, str, str], float] = {}
        for line in text.splitlines():
            if not line.startswith("apiserver_request_total{"):
                continue
            labels = dict(re.findall(r'(\w+)="([^"]*)"', line))
            key = (labels.get("verb", ""), labels.get("resource", ""), labels.get("subresource", ""))
            out[key] = out.get(key, 0.0) + float(line.rsplit(" ", 1)[1])
        return out


def add_bench_nodes(c: Cluster, tasks: int) -> list[str]:
    """Enough extra m5.2xlarge nodes that capacity never limits either run."""
    it = INSTANCE_TYPES["m5.2xlarge"]
    count = max(3, math.ceil(tasks * 1.2 / it.max_pods))
    nodes = []
    for i in range(count):
        zone = ZONES[i % 3]
        name = private_dns_name("us-east-1", i % 3, 200 + i // 3, network=9)
        node = render_ec2_node(name=name, region="us-east-1", zone=zone, instance_type=it, group="bench")
        node["metadata"]["labels"][BENCH_LABEL] = "bench"
        nodes.append(node)
    c.kubectl("apply", "-f", "-", stdin=json.dumps({"apiVersion": "v1", "kind": "List", "items": nodes}))
    c.kubectl("wait", "--for=condition=Ready", "node", "-l", f"{BENCH_LABEL}=bench", "--timeout=120s")
    return [n["metadata"]["name"] for n in nodes]


def namespace(c: Cluster, name: str) -> None:
    c.kubectl("create", "namespace", name)


def delete_namespace(c: Cluster, name: str) -> None:
    c.kubectl("delete", "namespace", name, "--ignore-not-found", "--timeout=300s")


def proc_stats(pid: int) -> tuple[float, float]:
    """(CPU seconds, peak RSS MiB) of a live process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    cpu = (int(fields[11]) + int(fields[12])) / ticks
    hwm = next(
        line for line in Path(f"/proc/{pid}/status").read_text().splitlines() if line.startswith("VmHWM")
    )
    return cpu, int(hwm.split()[1]) / 1024


def snapshot(c: Cluster, ns: str) -> dict[str, str]:
    out = json.loads(
        c.kubectl(
            "get", "ecsservices,taskdefinitions,deployments,services,serviceaccounts", "-n", ns, "-o", "json"
        )
    )
    return {f"{o['kind']}/{o['metadata']['name']}": o["metadata"]["resourceVersion"] for o in out["items"]}


def ecsk_events(c: Cluster, ns: str) -> int:
    out = json.loads(c.kubectl("get", "events", "-n", ns, "-o", "json"))
    return sum(
        int(e.get("count") or 1)
        for e in out["items"]
        if (e.get("reportingComponent") or e.get("source", {}).get("component", "")).startswith("ecsk")
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--services", type=int, default=100)
    ap.add_argument("--tasks", type=int, default=5)
    ap.add_argument("--resync", type=float, default=5.0, help="operator resync period for the no-op check")
    ap.add_argument("--timeout", type=float, default=600.0)
    args = ap.parse_args()
    kubeconfig = os.environ.get("KUBECONFIG") or str(paths.kubeconfig())
    c = Cluster(kubeconfig)
    total = args.services * args.tasks
    run = f"{int(time.time()) % 100000}"
    direct_ns, op_ns = f"bench-direct-{run}", f"bench-ecsk-{run}"

    print(f"== {args.services} services x {args.tasks} tasks = {total} tasks")
    c.kubectl("apply", "--server-side", "--field-manager", "ecsk", "-k", str(ROOT / "crds"))
    bench_nodes = add_bench_nodes(c, total)
    print(f"added {len(bench_nodes)} bench nodes (m5.2xlarge) so capacity is never the limit")
    td = parse_task_definition(task_definition("bench"))
    names = [f"svc-{i:04d}" for i in range(args.services)]
    op_pid = None
    try:
        # 1. The same Deployments, rendered by the same core, applied directly.
        namespace(c, direct_ns)
        objects = []
        for name in names:
            res = render_service(
                parse_service(service(name, "bench", args.tasks)),
                td,
                RenderOptions(namespace=direct_ns, revision=1, explain=False),
            )
            objects.extend(o for o in res.objects if o["kind"] in ("Deployment", "ServiceAccount"))
        doc = json.dumps({"apiVersion": "v1", "kind": "List", "items": objects})
        started = time.monotonic()
        c.kubectl("apply", "--server-side", "--field-manager", "bench", "-f", "-", stdin=doc)
        direct = c.wait_running(direct_ns, total, started, args.timeout)
        print(f"direct Deployments: all {total} tasks RUNNING in {direct:.1f}s")
        delete_namespace(c, direct_ns)

        # 2. Through ecsk: TaskDefinition + ECSService custom resources, reconciled by the operator.
        namespace(c, op_ns)
        log = open(paths.home() / "bench-operator.log", "w")  # noqa: SIM115
        op = subprocess.Popen(
            [sys.executable, "-m", "ecsk.cli.main", "operator", "-n", op_ns, "--resync", str(args.resync)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=dict(os.environ, KUBECONFIG=kubeconfig, PYTHONPATH=str(ROOT / "operator")),
        )
        op_pid = op.pid
        time.sleep(3)  # let kopf start watching, so startup is not counted as reconcile time
        before = c.apiserver_requests()
        crs = [
            {
                "apiVersion": "ecs.ecsk.io/v1alpha1",
                "kind": "TaskDefinition",
                "metadata": {"name": "bench"},
                "spec": task_definition("bench"),
            }
        ]
        crs += [
            {
                "apiVersion": "ecs.ecsk.io/v1alpha1",
                "kind": "ECSService",
                "metadata": {"name": n},
                "spec": service(n, "bench", args.tasks),
            }
            for n in names
        ]
        cpu0, _ = proc_stats(op_pid)
        started = time.monotonic()
        c.kubectl(
            "apply",
            "-n",
            op_ns,
            "-f",
            "-",
            stdin=json.dumps({"apiVersion": "v1", "kind": "List", "items": crs}),
        )
        via = c.wait_running(op_ns, total, started, args.timeout)
        print(f"through ecsk:       all {total} tasks RUNNING in {via:.1f}s")
        print(f"ratio ecsk/direct:  {via / direct:.2f}  (target <= 1.2)")

        # 3. Let the status settle, then watch a no-op resync window.
        time.sleep(max(2 * args.resync, 5))
        after_converge = c.apiserver_requests()
        rv0, ev0 = snapshot(c, op_ns), ecsk_events(c, op_ns)
        window = 3 * args.resync
        time.sleep(window)
        rv1, ev1 = snapshot(c, op_ns), ecsk_events(c, op_ns)
        after_idle = c.apiserver_requests()
        cpu1, rss = proc_stats(op_pid)
        changed = sorted(k for k in rv1 if rv0.get(k) != rv1[k])

        def writes(
            a: dict[tuple[str, str, str], float], b: dict[tuple[str, str, str], float], resources: set[str]
        ) -> int:
            return int(
                sum(v - a.get(k, 0.0) for k, v in b.items() if k[0] in WRITE_VERBS and k[1] in resources)
            )

        ours = {
            "ecsservices",
            "taskdefinitions",
            "deployments",
            "services",
            "serviceaccounts",
            "events",
            "configmaps",
            "podtemplates",
            "networkpolicies",
        }
        idle_writes = writes(after_converge, after_idle, ours)
        print(f"operator CPU:       {cpu1 - cpu0:.1f}s during convergence + idle; peak RSS {rss:.0f} MiB")
        conv_total = int(sum(v - before.get(k, 0.0) for k, v in after_converge.items() if k[1] in ours))
        print(
            f"API requests on ecsk's resources while converging: {conv_total} "
            f"(~{conv_total / max(1, args.services):.1f} per service)"
        )
        print(
            f"no-op resync over {window:.0f}s ({window / args.resync:.0f} resyncs): "
            f"{len(changed)} objects changed, {ev1 - ev0} new ecsk events, "
            f"{idle_writes} write requests on ecsk's resource types cluster-wide"
        )
        if changed:
            print("  changed:", ", ".join(changed[:10]))
        idle = {
            k: int(v - after_converge.get(k, 0.0))
            for k, v in after_idle.items()
            if k[0] in WRITE_VERBS and k[1] in ours and v - after_converge.get(k, 0.0) > 0
        }
        if idle:
            print("  idle write requests by (verb, resource, subresource):", idle)
        conv = {
            k: int(v - before.get(k, 0.0))
            for k, v in after_converge.items()
            if k[1] in ours and v - before.get(k, 0.0) > 0
        }
        print(
            "  converging requests by (verb, resource, subresource):",
            dict(sorted(conv.items(), key=lambda kv: -kv[1])[:12]),
        )
    finally:
        if op_pid:
            subprocess.run(["kill", str(op_pid)], check=False)
        delete_namespace(c, direct_ns)
        delete_namespace(c, op_ns)
        c.kubectl("delete", "node", "-l", f"{BENCH_LABEL}=bench", "--wait=false")
    return 0


if __name__ == "__main__":
    sys.exit(main())
