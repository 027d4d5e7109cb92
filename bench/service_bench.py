"""Operator benchmark: N ECS services x T tasks through ecsk versus the same Deployments applied
directly, side by side in one run on the same cluster (ratios, not absolute seconds, are what
this noisy 2-core machine can report honestly).

Prints: the machine's state (it refuses to run on a busy machine unless --allow-busy, and beside
another active operator); per round, the time until every task is RUNNING both ways, when each
phase was reached (Deployments, ReplicaSets, pods created, scheduled, running) and the ecsk
Events written; the median ratio over the rounds with its spread (target <= 1.1 at 100 x 5);
operator CPU seconds and peak RSS, Kubernetes API requests the operator made (total, per
service, by verb and resource), and what a no-op resync wrote (target: nothing).

    KUBECONFIG=~/.cache/ecsk/kubeconfig python bench/service_bench.py --services 100 --tasks 5
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

from benchlib import (
    BENCH_LABEL,
    ROOT,
    WRITE_VERBS,
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
    require_quiet,
    spread,
    start_operator,
    stop_process,
)

from ecsk.cluster import paths


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
    ap.add_argument("--rounds", type=int, default=3, help="timing rounds, alternating which path goes first")
    ap.add_argument("--allow-busy", action="store_true", help="run on a busy machine (figures marked)")
    args = ap.parse_args()
    kubeconfig = os.environ.get("KUBECONFIG") or str(paths.kubeconfig())
    refuse_beside_an_operator(kubeconfig)  # before adding nodes: say so now, not minutes later
    print(f"machine: {machine_state()}")
    quiet = require_quiet(args.allow_busy)
    c = Cluster(kubeconfig)
    total = args.services * args.tasks
    run = f"{int(time.time()) % 100000}"
    direct_ns, op_ns = f"bench-direct-{run}", f"bench-ecsk-{run}"

    print(f"== {args.services} services x {args.tasks} tasks = {total} tasks")
    c.kubectl(
        "apply", "--server-side", "--force-conflicts", "--field-manager", "ecsk", "-k", str(ROOT / "crds")
    )
    bench_nodes = add_bench_nodes(c, total)
    print(f"added {len(bench_nodes)} bench nodes (m5.2xlarge) so capacity is never the limit")
    names = [f"svc-{i:04d}" for i in range(args.services)]
    op: subprocess.Popen[bytes] | None = None

    def run_direct(ns: str) -> float:
        """The same Deployments, rendered by the same core, applied directly."""
        namespace(c, ns)
        objects = direct_objects(names, args.tasks, ns)
        doc = json.dumps({"apiVersion": "v1", "kind": "List", "items": objects})
        phases = PhaseRecorder(c.api, ns, args.services, total)
        started = time.monotonic()
        phases.start_clock()
        c.kubectl("apply", "--server-side", "--field-manager", "bench", "-f", "-", stdin=doc)
        took = c.wait_running(ns, total, started, args.timeout)
        print(f"  direct Deployments: all {total} tasks RUNNING in {took:.1f}s")
        print(f"    phases: {PhaseRecorder.line(phases.stop())}")
        return took

    def run_ecsk(ns: str, log_name: str) -> tuple[float, float, subprocess.Popen[bytes]]:
        """TaskDefinition + ECSService custom resources, reconciled by a fresh operator."""
        namespace(c, ns)
        proc = start_operator(kubeconfig, ns, args.resync, log_name)
        crs = custom_resources(names, args.tasks)
        phases = PhaseRecorder(c.api, ns, args.services, total)
        started = time.monotonic()
        phases.start_clock()
        c.kubectl(
            "apply", "-n", ns, "-f", "-", stdin=json.dumps({"apiVersion": "v1", "kind": "List", "items": crs})
        )
        took = c.wait_running(ns, total, started, args.timeout)
        print(f"  through ecsk:       all {total} tasks RUNNING in {took:.1f}s")
        print(f"    phases: {PhaseRecorder.line(phases.stop())}")
        events = ecsk_events(c, ns)
        print(f"    ecsk Events so far: {events} ({events / max(1, args.services):.1f} per service)")
        return took, started, proc

    times: dict[str, list[float]] = {"direct": [], "ecsk": []}
    try:
        # Rounds alternate the order (direct, ecsk, then ecsk, direct, ...): a cluster that is
        # still warming up, or noise that drifts, then weighs on both paths alike.
        print("round 1")
        times["direct"].append(run_direct(direct_ns))
        delete_namespace(c, direct_ns)
        before = c.apiserver_requests()
        via, started, op = run_ecsk(op_ns, "bench-operator.log")
        times["ecsk"].append(via)
        op_pid = op.pid
        cpu0 = 0.0

        # 3. Wait until every service reports its deployment COMPLETED (ECS counts a task healthy
        #    40 s after RUNNING), then watch a no-op resync window: nothing may be written.
        settle_started = time.monotonic()
        while time.monotonic() - settle_started < args.timeout:
            items = json.loads(c.kubectl("get", "ecsservices", "-n", op_ns, "-o", "json"))["items"]
            states = [
                next(
                    (
                        d.get("rolloutState")
                        for d in (i.get("status") or {}).get("deployments", [])
                        if d.get("status") == "PRIMARY"
                    ),
                    None,
                )
                for i in items
            ]
            if states and all(s == "COMPLETED" for s in states):
                break
            time.sleep(1)
        completed = time.monotonic() - started
        print(
            f"steady state:       every deployment COMPLETED {completed:.1f}s after apply, "
            f"{completed - via:.1f}s after the last task ran (ECS: a task with neither a load "
            "balancer nor a health check counts healthy 40 s after RUNNING, --healthy-after)"
        )
        time.sleep(args.resync)
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
        print(f"operator CPU:       {cpu1 - cpu0:.1f}s start to idle; peak RSS {rss:.0f} MiB")
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
        idle_all = int(sum(v - after_converge.get(k, 0.0) for k, v in after_idle.items() if k[1] in ours))
        reconciles = args.services * window / args.resync
        print(
            f"API requests per no-op reconcile: {idle_all / reconciles:.1f} "
            f"({idle_all} requests over ~{reconciles:.0f} service reconciles)"
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
        stop_process(op)
        op = None
        delete_namespace(c, op_ns)
        for r in range(2, args.rounds + 1):
            print(f"round {r}")
            suffix = f"{run}-{r}"
            order = ["ecsk", "direct"] if r % 2 == 0 else ["direct", "ecsk"]
            for path in order:
                if path == "direct":
                    times["direct"].append(run_direct(f"bench-direct-{suffix}"))
                    delete_namespace(c, f"bench-direct-{suffix}")
                else:
                    took, _, op = run_ecsk(f"bench-ecsk-{suffix}", f"bench-operator-{r}.log")
                    times["ecsk"].append(took)
                    stop_process(op)
                    op = None
                    delete_namespace(c, f"bench-ecsk-{suffix}")
        ratios = [e / d for d, e in zip(times["direct"], times["ecsk"], strict=True)]
        mark = "" if quiet else "  [BUSY MACHINE: not a result]"
        print(f"direct Deployments: {spread(times['direct'], ' s', 1)}")
        print(f"through ecsk:       {spread(times['ecsk'], ' s', 1)}")
        print(
            f"ratio ecsk/direct, median of {len(ratios)} round(s): {spread(ratios)}  "
            f"(target <= 1.1 at 100 x 5, <= 1.2 at 300 x 5){mark}"
        )
        print(f"machine after the run: {machine_state()}")
    finally:
        stop_process(op)
        delete_namespace(c, direct_ns)
        delete_namespace(c, op_ns)
        c.kubectl("delete", "node", "-l", f"{BENCH_LABEL}=bench", "--wait=false")
    return 0


if __name__ == "__main__":
    sys.exit(main())
