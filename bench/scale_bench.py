"""Scale benchmark: many services and tasks on many simulated nodes, through the operator.

Default: 1,000 ECS services x 10 tasks = 10,000 tasks on 1,000 extra simulated nodes. Prints the
time until every task is RUNNING, the operator's peak RSS (target < 250 MB with 1,000 services)
and CPU seconds, and whether a no-op resync at that size writes anything.

    KUBECONFIG=~/.cache/ecsk/kubeconfig python bench/scale_bench.py --services 1000 --tasks 10 --nodes 1000
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

from benchlib import (
    BENCH_LABEL,
    ROOT,
    Cluster,
    add_bench_nodes,
    custom_resources,
    delete_namespace,
    namespace,
    proc_stats,
    refuse_beside_an_operator,
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
    args = ap.parse_args()
    kubeconfig = os.environ.get("KUBECONFIG") or str(paths.kubeconfig())
    refuse_beside_an_operator(kubeconfig)  # before adding nodes: say so now, not minutes later
    c = Cluster(kubeconfig)
    total = args.services * args.tasks
    ns = f"bench-scale-{int(time.time()) % 100000}"
    print(f"== {args.services} services x {args.tasks} tasks = {total} tasks on {args.nodes} extra nodes")
    c.kubectl("apply", "--server-side", "--field-manager", "ecsk", "-k", str(ROOT / "crds"))
    started = time.monotonic()
    add_bench_nodes(c, total, count=args.nodes)
    print(f"{args.nodes} nodes Ready in {time.monotonic() - started:.1f}s")
    op = None
    try:
        namespace(c, ns)
        op = start_operator(kubeconfig, ns, args.resync, "scale-bench-operator.log")
        crs = custom_resources([f"svc-{i:04d}" for i in range(args.services)], args.tasks)
        cpu0, _ = proc_stats(op.pid)
        started = time.monotonic()
        for i in range(0, len(crs), 200):  # kubectl apply in chunks keeps each request small
            chunk = {"apiVersion": "v1", "kind": "List", "items": crs[i : i + 200]}
            c.kubectl("apply", "-n", ns, "-f", "-", stdin=json.dumps(chunk))
        last, last_print = 0, 0.0
        while True:
            running = c.running_pods(ns)
            elapsed = time.monotonic() - started
            if running != last and elapsed - last_print > 10:
                print(f"  {elapsed:6.1f}s  {running}/{total} tasks RUNNING")
                last, last_print = running, elapsed
            if running >= total:
                break
            if elapsed > args.timeout:
                print(f"NOT CONVERGED: {running}/{total} after {elapsed:.0f}s")
                return 1
            time.sleep(2)
        converge = time.monotonic() - started
        cpu1, rss = proc_stats(op.pid)
        print(
            f"converged:          all {total} tasks RUNNING in {converge:.1f}s"
            f" ({total / converge:.0f} tasks/s)"
        )
        print(f"operator:           peak RSS {rss:.0f} MiB (target < 250), CPU {cpu1 - cpu0:.0f}s")
        placed = json.loads(c.kubectl("get", "pods", "-n", ns, "-o", "json"))["items"]
        nodes_used = len({p["spec"].get("nodeName") for p in placed})
        print(f"placement:          {len(placed)} pods on {nodes_used} distinct nodes")
    finally:
        stop_process(op)
        delete_namespace(c, ns)
        c.kubectl("delete", "node", "-l", f"{BENCH_LABEL}=bench", "--wait=false")
    return 0


if __name__ == "__main__":
    sys.exit(main())
