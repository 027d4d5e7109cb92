"""Shared pieces of the cluster benchmarks: the workload shape, a kubectl/pykube handle, bench
nodes that keep capacity from being the limit, and /proc readings of the operator process."""

from __future__ import annotations

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

from ecsk.cluster import binaries  # noqa: E402
from ecsk.controller.runtime.leader import active_operators_at, overlapping, refusal  # noqa: E402
from ecsk.core.capacity.fleet import INSTANCE_TYPES, private_dns_name, render_ec2_node  # noqa: E402

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


def add_bench_nodes(c: Cluster, tasks: int, count: int | None = None) -> list[str]:
    """Extra m5.2xlarge nodes (by default enough that capacity never limits a run)."""
    it = INSTANCE_TYPES["m5.2xlarge"]
    count = count or max(3, math.ceil(tasks * 1.2 / it.max_pods))
    nodes = []
    for i in range(count):
        zone = ZONES[i % 3]
        name = private_dns_name("us-east-1", i % 3, i // 3, network=9)
        node = render_ec2_node(name=name, region="us-east-1", zone=zone, instance_type=it, group="bench")
        node["metadata"]["labels"][BENCH_LABEL] = "bench"
        nodes.append(node)
    c.kubectl("apply", "-f", "-", stdin=json.dumps({"apiVersion": "v1", "kind": "List", "items": nodes}))
    c.kubectl("wait", "--for=condition=Ready", "node", "-l", f"{BENCH_LABEL}=bench", "--timeout=600s")
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


def stop_process(proc: subprocess.Popen[bytes] | None) -> None:
    """SIGTERM, then SIGKILL if the operator has not exited in 15 s (kopf's cleanup can hang)."""
    if proc is None:
        return
    proc.terminate()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def refuse_beside_an_operator(kubeconfig: str, namespace: str | None = None) -> None:
    """Exit (status 1, naming its pid) if an operator covering `namespace` (any namespace when
    None: a cluster-wide one covers the bench's) is active: the bench's operator would stand by
    and the figures would time another process, or, without election, two would race."""
    holders = active_operators_at(kubeconfig)
    holders = overlapping(holders, [namespace]) if namespace else [h for h in holders if h.namespace is None]
    if holders:
        raise SystemExit(refusal(holders, "benchmark refused"))


def start_operator(kubeconfig: str, namespace: str, resync: float, log_name: str) -> subprocess.Popen[bytes]:
    """`ecsk operator -n NS` as the benchmarks run it; waits 3 s so kopf's start-up (watch
    establishment) is not counted as reconcile time."""
    from ecsk.cluster import paths

    refuse_beside_an_operator(kubeconfig, namespace)

    with open(paths.home() / log_name, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "ecsk.cli.main", "operator", "-n", namespace, "--resync", str(resync)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=dict(os.environ, KUBECONFIG=kubeconfig, PYTHONPATH=str(ROOT / "operator")),
        )
    time.sleep(3)
    return proc


def custom_resources(names: list[str], tasks: int) -> list[dict[str, Any]]:
    """The `bench` TaskDefinition and one ECSService per name, as users would kubectl-apply them."""
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
            "spec": service(n, "bench", tasks),
        }
        for n in names
    ]
    return crs
