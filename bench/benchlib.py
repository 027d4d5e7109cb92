"""Shared pieces of the cluster benchmarks: the workload shape, a kubectl/pykube handle, bench
nodes that keep capacity from being the limit, and /proc readings of the operator process."""

from __future__ import annotations

import json
import math
import os
import re
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
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
        """Seconds from `started` until `want` pods run; exits when that takes over `timeout`."""
        took = self.poll_running(namespace, want, started, timeout)
        if took is None:
            raise SystemExit(f"{namespace}: not all {want} tasks RUNNING after {timeout}s")
        return took

    def poll_running(
        self,
        namespace: str,
        want: int,
        started: float,
        timeout: float,
        poll: float = 0.25,
        progress: bool = False,
        count: Callable[[], int] | None = None,
    ) -> float | None:
        """Seconds from `started` until `want` pods run, or None (said) past `timeout`; with
        `progress`, a line at most every 10 s while the count moves (long scale runs).

        `count` (e.g. `PhaseRecorder.running_count`) replaces the LIST per poll: at 20,000 pods
        each LIST decoded ~80 MB of JSON here, and the bench itself took 70% of a core from the
        cluster it was measuring. The final count is still confirmed by one LIST."""
        last, last_print = 0, 0.0
        while True:
            running = self.running_pods(namespace) if count is None else count()
            if count is not None and running >= want:
                running = self.running_pods(namespace)  # the watch's word, confirmed by one LIST
            elapsed = time.monotonic() - started
            if progress and running != last and elapsed - last_print > 10:
                print(f"  {elapsed:6.1f}s  {running}/{want} tasks RUNNING", flush=True)
                last, last_print = running, elapsed
            if running >= want:
                return time.monotonic() - started
            if elapsed > timeout:
                print(f"NOT CONVERGED: {running}/{want} in {namespace} after {elapsed:.0f}s")
                return None
            time.sleep(poll)

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


def request_delta(
    before: dict[tuple[str, str, str], float], after: dict[tuple[str, str, str], float]
) -> dict[tuple[str, str, str], int]:
    """API requests made between two `Cluster.apiserver_requests` snapshots, by key."""
    out = {k: int(v - before.get(k, 0.0)) for k, v in after.items()}
    return {k: v for k, v in out.items() if v > 0}


def request_table(delta: dict[tuple[str, str, str], int], top: int = 12) -> str:
    """The largest rows of a `request_delta`, one line: "LIST pods 1234, ..."."""
    rows = sorted(delta.items(), key=lambda kv: -kv[1])[:top]
    return ", ".join(f"{v} {r}{'/' + sub if sub else ''} {n}" for (v, r, sub), n in rows)


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


def direct_objects(names: list[str], tasks: int, namespace: str) -> list[dict[str, Any]]:
    """What ecsk would make for the bench services (Deployments, ServiceAccounts), rendered by the
    same core, to apply directly: the baseline every ratio is against."""
    from ecsk.core.models.load import parse_service, parse_task_definition
    from ecsk.core.translate import RenderOptions, render_service

    td = parse_task_definition(task_definition("bench"))
    objects: list[dict[str, Any]] = []
    for name in names:
        res = render_service(
            parse_service(service(name, "bench", tasks)),
            td,
            RenderOptions(namespace=namespace, revision=1, explain=False),
        )
        objects.extend(o for o in res.objects if o["kind"] in ("Deployment", "ServiceAccount"))
    return objects


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


# --- machine state: a benchmark that cannot tell its conditions are wrong is a bug -------------

BUSY_LOAD_PER_CPU = 0.5
"""A 1-minute load average above this many runnable tasks per CPU means something else is
working: the figures would measure it too."""


def load_average() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


def machine_state() -> str:
    """One line for the output: CPUs, memory, load, so a reader can judge the figures."""
    mem = {
        line.split(":")[0]: int(line.split()[1]) // 1024
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith(("MemTotal", "MemAvailable"))
    }
    loads = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    return (
        f"{os.cpu_count()} CPUs, {mem.get('MemTotal', 0) / 1024:.1f} GiB "
        f"({mem.get('MemAvailable', 0) / 1024:.1f} GiB available), load average {loads}"
    )


def require_quiet(allow_busy: bool, wait: float = 180.0) -> bool:
    """Wait (up to `wait` s: a cluster that was just brought up settles) for the machine to be
    quiet; exit 1 if it stays busy, unless `allow_busy`, in which case the run goes on and every
    figure is marked. Returns whether the machine was quiet."""
    limit = BUSY_LOAD_PER_CPU * (os.cpu_count() or 1)
    deadline = time.monotonic() + wait
    while load_average() > limit and time.monotonic() < deadline:
        time.sleep(5)
    if load_average() <= limit:
        return True
    message = (
        f"this machine is busy ({machine_state()}; quiet means a 1-minute load below {limit:.1f}): "
        "the figures would measure the other work too. Stop it (e.g. `make cluster-down` of another "
        "checkout, a leftover test run), or pass --allow-busy to run anyway with the figures marked."
    )
    if not allow_busy:
        raise SystemExit(f"benchmark refused: {message}")
    print(f"WARNING: {message}")
    return False


def spread(values: Sequence[float], unit: str = "", digits: int = 2) -> str:
    """`median (min-max, n=N)`: what the output reports for any repeated figure."""
    med, low, high = statistics.median(values), min(values), max(values)
    return f"{med:.{digits}f}{unit} (min {low:.{digits}f}, max {high:.{digits}f}, n={len(values)})"


# --- per-phase timings -------------------------------------------------------------------------


class PhaseRecorder:
    """When each stage of a run was reached, seen by watches from the client: the moment the
    last Deployment, ReplicaSet and pod appeared, the last pod was bound to a node and the last
    pod ran. Client-side clock, so phases are comparable with the total the bench measures (the
    objects' own timestamps have one-second resolution)."""

    PHASES = ("deployments", "replicasets", "pods created", "pods scheduled", "pods running")

    def __init__(self, api: pykube.HTTPClient, namespace: str, services: int, tasks: int) -> None:
        self.api, self.namespace = api, namespace
        self.want = {
            "deployments": services,
            "replicasets": services,
            "pods created": tasks,
            "pods scheduled": tasks,
            "pods running": tasks,
        }
        self.seen: dict[str, set[str]] = {p: set() for p in self.PHASES}
        self.running: set[str] = set()
        """Pods running now (not terminating): the bench's wait reads this, not a LIST."""
        self.reached: dict[str, float] = {}
        self.started = time.monotonic()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [
            threading.Thread(target=self._watch, args=(cls, see), daemon=True)
            for cls, see in (
                (pykube.Deployment, self._deployment),
                (pykube.ReplicaSet, self._replicaset),
                (pykube.Pod, self._pod),
            )
        ]
        for t in self._threads:
            t.start()

    def start_clock(self) -> None:
        self.started = time.monotonic()

    def _mark(self, phase: str, uid: str) -> None:
        with self._lock:
            self.seen[phase].add(uid)
            if len(self.seen[phase]) >= self.want[phase] and phase not in self.reached:
                self.reached[phase] = time.monotonic() - self.started

    def _deployment(self, obj: dict[str, Any]) -> None:
        self._mark("deployments", obj["metadata"]["uid"])

    def _replicaset(self, obj: dict[str, Any]) -> None:
        self._mark("replicasets", obj["metadata"]["uid"])

    def _pod(self, obj: dict[str, Any]) -> None:
        uid = obj["metadata"]["uid"]
        self._mark("pods created", uid)
        if (obj.get("spec") or {}).get("nodeName"):
            self._mark("pods scheduled", uid)
        if (obj.get("status") or {}).get("phase") == "Running":
            self._mark("pods running", uid)
        with self._lock:
            if (obj.get("status") or {}).get("phase") == "Running" and not obj["metadata"].get(
                "deletionTimestamp"
            ):
                self.running.add(uid)
            else:
                self.running.discard(uid)

    def _pod_gone(self, obj: dict[str, Any]) -> None:
        with self._lock:
            self.running.discard(obj["metadata"]["uid"])

    def running_count(self) -> int:
        with self._lock:
            return len(self.running)

    def _watch(self, cls: Any, see: Callable[[dict[str, Any]], None]) -> None:
        since: str | None = None
        while not self._stop.is_set():
            try:
                query = cls.objects(self.api, namespace=self.namespace)
                if since is None:
                    listed = query.response
                    since = str(listed["metadata"]["resourceVersion"])
                    for item in listed["items"]:
                        see(item)
                for event in query.watch(since=since, params={"timeoutSeconds": 30}):
                    since = str(event.object.obj["metadata"]["resourceVersion"])
                    if event.type in ("ADDED", "MODIFIED"):
                        see(event.object.obj)
                    elif event.type == "DELETED" and see == self._pod:
                        self._pod_gone(event.object.obj)
                    if self._stop.is_set():
                        return
            except Exception:  # an expired resourceVersion or a dropped stream: list again
                since = None
                time.sleep(0.5)

    def stop(self) -> dict[str, float]:
        self._stop.set()
        return dict(self.reached)

    @classmethod
    def line(cls, reached: dict[str, float]) -> str:
        return ", ".join(f"{p} {reached[p]:.1f}s" if p in reached else f"{p} -" for p in cls.PHASES)
