"""Scale benchmark: many services and tasks on many simulated nodes, through the operator.

Default: 1,000 ECS services x 10 tasks = 10,000 tasks on 1,000 extra simulated nodes. Prints the
machine's state (refuses a busy machine unless --allow-busy), the time until every task is
RUNNING when the same Deployments are applied directly and through ecsk, and their ratio, when
each phase was reached (Deployments, ReplicaSets, pods created, scheduled, running), the
operator's peak RSS (target < 250 MiB) and CPU seconds.

    KUBECONFIG=~/.cache/ecsk/kubeconfig python bench/scale_bench.py --services 1000 --tasks 10 --nodes 1000
    ... --services 2000 --tasks 10 --nodes 2000      # issue 17's 20,000 tasks
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any

from benchlib import (
    BENCH_LABEL,
    ROOT,
    Cluster,
    PhaseRecorder,
    add_bench_nodes,
    custom_resources,
    delete_namespace,
    direct_objects,
    machine_state,
    namespace,
    proc_stats,
    refuse_beside_an_operator,
    request_delta,
    request_table,
    require_quiet,
    start_operator,
    stop_process,
)

from ecsk.cluster import paths


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--services", type=int, default=1000)
    ap.add_argument("--tasks", type=int, default=10)
    ap.add_argument("--nodes", type=int, default=1000)
    ap.add_argument("--resync", type=float, default=60.0)
    ap.add_argument("--timeout", type=float, default=1800.0)
    ap.add_argument("--no-direct", action="store_true", help="skip the direct-apply baseline")
    ap.add_argument("--allow-busy", action="store_true", help="run on a busy machine (figures marked)")
    args = ap.parse_args()
    kubeconfig = os.environ.get("KUBECONFIG") or str(paths.kubeconfig())
    refuse_beside_an_operator(kubeconfig)  # before adding nodes: say so now, not minutes later
    print(f"machine: {machine_state()}")
    quiet = require_quiet(args.allow_busy)
    c = Cluster(kubeconfig)
    total = args.services * args.tasks
    ns = f"bench-scale-{int(time.time()) % 100000}"
    print(f"== {args.services} services x {args.tasks} tasks = {total} tasks on {args.nodes} extra nodes")
    c.kubectl(
        "apply", "--server-side", "--force-conflicts", "--field-manager", "ecsk", "-k", str(ROOT / "crds")
    )
    started = time.monotonic()
    add_bench_nodes(c, total, count=args.nodes)
    print(f"{args.nodes} nodes Ready in {time.monotonic() - started:.1f}s")
    op = None
    names = [f"svc-{i:04d}" for i in range(args.services)]
    direct_ns = f"bench-scale-direct-{int(time.time()) % 100000}"
    direct_requests: dict[tuple[str, str, str], int] = {}
    try:
        direct = None
        if not args.no_direct:
            namespace(c, direct_ns)
            phases = PhaseRecorder(c.api, direct_ns, args.services, total)
            before = c.apiserver_requests()
            took = _apply_and_wait(
                c, direct_ns, direct_objects(names, args.tasks, direct_ns), total, args.timeout, phases
            )
            if took is None:
                return 1
            direct = took
            direct_requests = request_delta(before, c.apiserver_requests())
            print(
                f"direct Deployments: all {total} tasks RUNNING in {took:.1f}s ({total / took:.0f} tasks/s)"
            )
            print(f"  phases: {PhaseRecorder.line(phases.stop())}")
            print(
                f"  API requests (every client): {sum(direct_requests.values())}:"
                f" {request_table(direct_requests)}"
            )
            delete_namespace(c, direct_ns)
        namespace(c, ns)
        op = start_operator(kubeconfig, ns, args.resync, "scale-bench-operator.log")
        cpu0, _ = proc_stats(op.pid)
        phases = PhaseRecorder(c.api, ns, args.services, total)
        before = c.apiserver_requests()
        converge = _apply_and_wait(c, ns, custom_resources(names, args.tasks), total, args.timeout, phases)
        if converge is None:
            print(f"  phases so far: {PhaseRecorder.line(phases.stop())}")
            cpu1, rss = proc_stats(op.pid)
            print(f"operator:           peak RSS {rss:.0f} MiB, CPU {cpu1 - cpu0:.0f}s")
            return 1
        cpu1, rss = proc_stats(op.pid)
        ecsk_requests = request_delta(before, c.apiserver_requests())
        print(
            f"through ecsk:       all {total} tasks RUNNING in {converge:.1f}s"
            f" ({total / converge:.0f} tasks/s)"
        )
        print(f"  phases: {PhaseRecorder.line(phases.stop())}")
        print(f"  API requests (every client): {sum(ecsk_requests.values())}: {request_table(ecsk_requests)}")
        if direct is not None:
            extra = {k: v - direct_requests.get(k, 0) for k, v in ecsk_requests.items()}
            print(
                "  more than direct (the operator's share):"
                f" {request_table({k: v for k, v in extra.items() if v > 0})}"
            )
        if direct is not None:
            mark = "" if quiet else "  [BUSY MACHINE: not a result]"
            print(f"ratio ecsk/direct:  {converge / direct:.2f} (one round at this scale){mark}")
        print(f"operator:           peak RSS {rss:.0f} MiB (target < 250), CPU {cpu1 - cpu0:.0f}s")
        placed = json.loads(c.kubectl("get", "pods", "-n", ns, "-o", "json"))["items"]
        nodes_used = len({p["spec"].get("nodeName") for p in placed})
        print(f"placement:          {len(placed)} pods on {nodes_used} distinct nodes")
        print(f"machine after the run: {machine_state()}")
    finally:
        stop_process(op)
        delete_namespace(c, direct_ns)
        delete_namespace(c, ns)
        c.kubectl("delete", "node", "-l", f"{BENCH_LABEL}=bench", "--wait=false")
    return 0


def _apply_and_wait(
    c: Cluster, ns: str, objects: list[dict[str, Any]], total: int, timeout: float, phases: PhaseRecorder
) -> float | None:
    """Apply `objects` in chunks (each request stays small) and wait until `total` pods run;
    seconds from the first apply, or None (said) when it did not converge in time. The running
    count comes from the phase recorder's pod watch, not from a LIST of every pod per poll."""
    started = time.monotonic()
    for i in range(0, len(objects), 200):
        chunk = {"apiVersion": "v1", "kind": "List", "items": objects[i : i + 200]}
        c.kubectl(
            "apply", "--server-side", "--field-manager", "bench", "-n", ns, "-f", "-", stdin=json.dumps(chunk)
        )
    return c.poll_running(ns, total, started, timeout, poll=0.5, progress=True, count=phases.running_count)


if __name__ == "__main__":
    sys.exit(main())
