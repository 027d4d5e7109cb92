"""Soak: minutes of continuous churn against one namespaced operator, watching for leaks.

Services are created, updated to new revisions, scaled and deleted; standalone tasks are run and
stopped, at random (seeded), for `--minutes` (default 30). Prints the operator's RSS over time and
its slope after warm-up (target: below 5 MiB per hour), the apiserver's requests per minute (all
clients: on a shared cluster that includes the other users), and errors (target: 0): failed
churn calls, ERROR or Traceback lines in the operator's log, and services that do not settle at
the end.

    KUBECONFIG=~/.cache/ecsk/kubeconfig python bench/soak_bench.py --minutes 30
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import yaml
from benchlib import (
    Cluster,
    delete_namespace,
    load_average,
    machine_state,
    namespace,
    require_quiet,
    start_operator,
    stop_process,
)
from fault_bench import Observer

CR = "ecs.ecsk.io/v1alpha1"


def rss_mib(pid: int) -> float:
    line = next(x for x in Path(f"/proc/{pid}/status").read_text().splitlines() if x.startswith("VmRSS"))
    return int(line.split()[1]) / 1024


def slope_per_hour(samples: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, MiB), in MiB per hour."""
    n = len(samples)
    if n < 2:
        return 0.0
    mx = sum(t for t, _ in samples) / n
    my = sum(v for _, v in samples) / n
    den = sum((t - mx) ** 2 for t, _ in samples) or 1.0
    return sum((t - mx) * (v - my) for t, v in samples) / den * 3600


def td(name: str, version: int) -> dict[str, Any]:
    container = {"name": "app", "image": "busybox", "cpu": 8, "memory": 32}
    container["environment"] = [{"name": "VERSION", "value": str(version)}]
    return {"apiVersion": CR, "kind": "TaskDefinition", "metadata": {"name": name},
            "spec": {"family": name, "containerDefinitions": [container]}}  # fmt: skip


def svc(name: str, count: int) -> dict[str, Any]:
    spec = {"serviceName": name, "taskDefinition": name, "desiredCount": count, "launchType": "EC2"}
    return {"apiVersion": CR, "kind": "ECSService", "metadata": {"name": name}, "spec": spec}


def task(name: str, family: str) -> dict[str, Any]:
    return {"apiVersion": CR, "kind": "Task", "metadata": {"name": name},
            "spec": {"taskDefinition": family, "count": 1, "launchType": "EC2"}}  # fmt: skip


class Churn:
    def __init__(self, c: Cluster, ns: str, rng: random.Random, max_services: int) -> None:
        self.c, self.ns, self.rng, self.max = c, ns, rng, max_services
        self.services: dict[str, tuple[int, int]] = {}  # name -> (revision version, desired)
        self.tasks: list[str] = []
        self.errors: list[str] = []
        self.actions = 0
        self._next = 0

    def _kubectl(self, *args: str, stdin: str | None = None) -> None:
        proc = subprocess.run([self.c.kubectl_path, "--kubeconfig", self.c.kubeconfig, "-n", self.ns, *args],
                              input=stdin, capture_output=True, text=True, timeout=120)  # fmt: skip
        if proc.returncode != 0:
            self.errors.append(f"kubectl {' '.join(args[:2])}: {proc.stderr.strip()[:200]}")

    def _apply(self, *docs: dict[str, Any]) -> None:
        self._kubectl("apply", "-f", "-", stdin=yaml.safe_dump_all(docs))

    def step(self) -> None:
        self.actions += 1
        choices = (
            ["create"] if len(self.services) < 3 else ["update", "scale", "run", "stop", "delete", "create"]
        )
        if len(self.services) >= self.max:
            choices.remove("create")
        action = self.rng.choice(choices)
        name = self.rng.choice(sorted(self.services)) if self.services else ""
        if action == "create":
            name, self._next = f"soak-{self._next:04d}", self._next + 1
            self.services[name] = (1, self.rng.randint(1, 3))
            self._apply(td(name, 1), svc(name, self.services[name][1]))
        elif action == "update":
            version, count = self.services[name]
            self.services[name] = (version + 1, count)
            self._apply(td(name, version + 1))
        elif action == "scale":
            version, _ = self.services[name]
            self.services[name] = (version, self.rng.randint(0, 3))
            self._apply(svc(name, self.services[name][1]))
        elif action == "run":
            run = f"run-{uuid.uuid4().hex[:6]}"
            self.tasks.append(run)
            self._apply(task(run, name))
        elif action == "stop" and self.tasks:
            self._kubectl("delete", "task", self.tasks.pop(0), "--wait=false")
        elif action == "delete":
            del self.services[name]
            self._kubectl("delete", "ecsservice,taskdefinition", name, "--wait=false")


def requests_total(c: Cluster) -> float:
    try:
        return sum(c.apiserver_requests().values())
    except SystemExit:
        return float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--warmup", type=float, default=None, help="minutes excluded from the slope")
    parser.add_argument("--interval", type=float, default=2.0, help="seconds between churn actions")
    parser.add_argument("--max-services", type=int, default=20)
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--allow-busy", action="store_true", help="run on a busy machine, figures marked")
    args = parser.parse_args()
    # RSS slope does not depend on load, but the request rate and the settling at the end do.
    print(f"machine at start: {machine_state()}")
    quiet = require_quiet(args.allow_busy)
    warmup = args.warmup if args.warmup is not None else min(5.0, args.minutes / 3)
    kubeconfig = os.environ.get("KUBECONFIG") or str(Path.home() / ".cache/ecsk/kubeconfig")
    c = Cluster(kubeconfig)
    ns = f"soak-{uuid.uuid4().hex[:6]}"
    namespace(c, ns)
    log_name = f"soak-operator-{ns}.log"
    proc = start_operator(kubeconfig, ns, 5.0, log_name)
    churn = Churn(c, ns, random.Random(args.seed), args.max_services)
    samples: list[tuple[float, float]] = []
    started = time.monotonic()
    req_start, next_sample = requests_total(c), 0.0
    print(f"{'min':>5} {'RSS MiB':>8} {'services':>8} {'actions':>8} {'load':>5}")
    try:
        while (elapsed := time.monotonic() - started) < args.minutes * 60:
            if proc.poll() is not None:
                churn.errors.append(f"operator exited with {proc.returncode}")
                break
            churn.step()
            if elapsed >= next_sample:
                rss = rss_mib(proc.pid)
                samples.append((elapsed, rss))
                print(
                    f"{elapsed / 60:5.1f} {rss:8.1f} {len(churn.services):8d} {churn.actions:8d}"
                    f" {load_average():5.2f}",
                    flush=True,
                )
                next_sample += 10.0
            time.sleep(args.interval)
        req_rate = (requests_total(c) - req_start) / max(1e-9, (time.monotonic() - started) / 60)
        obs = Observer(c, ns, 0, 0)
        unsettled = _unsettled(obs, churn.services, timeout=120)
    finally:
        stop_process(proc)
        delete_namespace(c, ns)
    from ecsk.cluster import paths

    log = (paths.home() / log_name).read_text(errors="replace").splitlines()
    # kopf logs a failed API request it will retry at ERROR ("Request attempt #1/9 failed; will
    # retry"): transient (e.g. 429 while the apiserver re-initializes a CRD's storage), counted
    # apart. One it gives up on ("escalating") is an error like any other.
    retried = [line for line in log if "; will retry:" in line]
    bad_lines = [line for line in log if (" ERROR " in line or "Traceback" in line) and line not in retried]
    steady = [s for s in samples if s[0] >= warmup * 60]
    errors = churn.errors + [f"log: {line[:200]}" for line in bad_lines] + unsettled
    print(f"\nmachine at end: {machine_state()}")
    if not quiet:
        print("WARNING: started on a busy machine (--allow-busy): the request rate includes other work")
    print(f"actions: {churn.actions} over {args.minutes:g} min; RSS samples: {len(samples)}")
    if samples:
        peak = max(v for _, v in samples)
        print(f"RSS: start {samples[0][1]:.1f} MiB, end {samples[-1][1]:.1f} MiB, peak {peak:.1f} MiB")
    print(f"RSS slope after {warmup:g} min warm-up: {slope_per_hour(steady):+.2f} MiB/hour (target < 5)")
    print(f"apiserver requests per minute (all clients): {req_rate:.0f}")
    print(f"transient API requests retried by kopf: {len(retried)}")
    print(f"errors: {len(errors)}")
    for e in errors[:20]:
        print(f"    {e}")
    return 1 if errors else 0


def _unsettled(obs: Observer, services: dict[str, tuple[int, int]], timeout: float) -> list[str]:
    """Services whose running count does not reach their desired count at the end."""
    deadline = time.monotonic() + timeout
    off: list[str] = []
    while time.monotonic() < deadline:
        by_name = {s["metadata"]["name"]: (s.get("status") or {}) for s in obs.services()}
        off = [
            f"{name}: running {by_name.get(name, {}).get('runningCount')} of {count}"
            for name, (_, count) in services.items()
            if by_name.get(name, {}).get("runningCount") != count
        ]
        if not off:
            return []
        time.sleep(2)
    return [f"not settled after {timeout:.0f}s: {o}" for o in off[:10]]


if __name__ == "__main__":
    sys.exit(main())
