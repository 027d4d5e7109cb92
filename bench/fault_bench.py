"""Fault injection during rolling deployments: N services, each rolled to a new revision per
fault, while the operator is killed (-9) at random moments, paused (SIGSTOP) past its lease and
watches, and, on a private cluster, kube-apiserver or etcd is restarted.

After each fault every service must converge to its desired count on the new revision with 0
orphaned and 0 duplicated pods and no deployment left IN_PROGRESS; the minimum-healthy bound is
sampled during the whole rollout and must never be broken; the Warning/Normal Events of the
namespace must stay bounded (no event storm). Prints the faults, convergence time per fault and
the violations (target: 0).

    KUBECONFIG=~/.cache/ecsk/kubeconfig python bench/fault_bench.py --services 20
    python bench/fault_bench.py --private --services 100   # own cluster: control-plane faults too

kill -9 and pause are safe on the shared cluster (own namespace, own operator). Restarting
kube-apiserver or etcd disturbs everyone on a cluster, so those run only on a private cluster
(`--private`, its own ECSK_HOME) or with `--allow-control-plane-restarts`.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import pykube
import requests
import yaml
from benchlib import ROOT, Cluster, delete_namespace, namespace, start_operator, stop_process

CR = "ecs.ecsk.io/v1alpha1"
SERVICE_LABEL = "ecs.ecsk.io/service"
REVISION_LABEL = "ecs.ecsk.io/revision"
PAUSE_SECONDS = 20.0
"""Longer than the lease (10 s) plus the renew deadline: the paused leader must find itself
deposed when it wakes, and its watches must have gone stale."""


def documents(n: int, tasks: int, version: int) -> list[dict[str, Any]]:
    """One task definition family per service (a new revision for each on every fault)."""
    docs: list[dict[str, Any]] = []
    for i in range(n):
        name = f"svc-{i:03d}"
        container = {
            "name": "app",
            "image": "public.ecr.aws/nginx/nginx:1.27",
            "cpu": 8,
            "memory": 32,
            "environment": [{"name": "VERSION", "value": str(version)}],
        }
        docs.append(
            {
                "apiVersion": CR,
                "kind": "TaskDefinition",
                "metadata": {"name": name},
                "spec": {"family": name, "containerDefinitions": [container]},
            }
        )
        docs.append(
            {
                "apiVersion": CR,
                "kind": "ECSService",
                "metadata": {"name": name},
                "spec": {
                    "serviceName": name,
                    "taskDefinition": name,
                    "desiredCount": tasks,
                    "launchType": "EC2",
                    "deploymentConfiguration": {"minimumHealthyPercent": 50, "maximumPercent": 200},
                },
            }
        )
    return docs


def apply(c: Cluster, ns: str, docs: list[dict[str, Any]]) -> None:
    c.kubectl(
        "-n", ns, "apply", "--server-side", "--force-conflicts", "-f", "-", stdin=yaml.safe_dump_all(docs)
    )


def _alive(pod: dict[str, Any]) -> bool:
    return not pod["metadata"].get("deletionTimestamp") and pod["status"].get("phase") not in (
        "Succeeded",
        "Failed",
    )


def _ready(pod: dict[str, Any]) -> bool:
    conds = pod["status"].get("conditions") or []
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conds)


class Observer:
    """Reads of the namespace: pods by service, services' status, Events; tolerant of an
    apiserver that is restarting (a failed read is retried, never counted as a violation)."""

    def __init__(self, c: Cluster, ns: str, n: int, tasks: int) -> None:
        self.c, self.ns, self.n, self.tasks = c, ns, n, tasks
        self.floor = -(-tasks * 50 // 100)  # minimumHealthyPercent 50, rounded up as ECS does
        self.breaches: list[str] = []
        self._stop = threading.Event()

    def pods(self) -> list[dict[str, Any]]:
        return [p.obj for p in pykube.Pod.objects(self.c.api, namespace=self.ns)]

    def services(self) -> list[dict[str, Any]]:
        cls = pykube.object_factory(self.c.api, CR, "ECSService")
        return [s.obj for s in cls.objects(self.c.api, namespace=self.ns)]

    def converged(self, revision: int) -> list[str] | None:
        """None when every service runs `tasks` pods of `revision` and only those; else what is off."""
        try:
            pods, services = self.pods(), self.services()
        except (requests.RequestException, pykube.exceptions.PyKubeError) as exc:
            return [f"read failed: {exc}"]
        by_service: dict[str, list[dict[str, Any]]] = {}
        for p in pods:
            if _alive(p):
                by_service.setdefault((p["metadata"].get("labels") or {}).get(SERVICE_LABEL, ""), []).append(
                    p
                )
        off = []
        for svc in services:
            name = svc["metadata"]["name"]
            st = svc.get("status") or {}
            deps = st.get("deployments") or []
            mine = by_service.get(name, [])
            revs = Counter((p["metadata"].get("labels") or {}).get(REVISION_LABEL) for p in mine)
            if not (
                len(deps) == 1
                and deps[0].get("revision") == revision
                and deps[0].get("rolloutState") == "COMPLETED"
                and st.get("runningCount") == self.tasks
                and len(mine) == self.tasks
                and revs == Counter({str(revision): self.tasks})
            ):
                states = [(d.get("revision"), d.get("rolloutState")) for d in deps]
                off.append(f"{name}: deployments {states}, pods {dict(revs)}")
        return off or None

    def orphans_and_duplicates(self) -> tuple[list[str], list[str]]:
        pods = [p for p in self.pods() if _alive(p)]
        replicasets = {
            rs.obj["metadata"]["uid"] for rs in pykube.ReplicaSet.objects(self.c.api, namespace=self.ns)
        }
        orphans = [
            p["metadata"]["name"]
            for p in pods
            if not any(o.get("uid") in replicasets for o in p["metadata"].get("ownerReferences") or [])
        ]
        count = Counter((p["metadata"].get("labels") or {}).get(SERVICE_LABEL) for p in pods)
        duplicates = [f"{s}: {k} tasks" for s, k in count.items() if k > self.tasks]
        return orphans, duplicates

    def stuck_in_progress(self) -> list[str]:
        return [
            s["metadata"]["name"]
            for s in self.services()
            if any(
                d.get("rolloutState") == "IN_PROGRESS"
                for d in (s.get("status") or {}).get("deployments") or []
            )
        ]

    def events(self) -> int:
        return sum(1 for _ in pykube.Event.objects(self.c.api, namespace=self.ns))

    def sample_min_healthy(self) -> None:
        """Every second: each service keeps at least `floor` ready tasks (ECS's lower bound)."""
        while not self._stop.wait(1.0):
            try:
                pods = self.pods()
            except Exception:  # the apiserver may be restarting: no reading, no verdict
                continue
            ready = Counter(
                (p["metadata"].get("labels") or {}).get(SERVICE_LABEL)
                for p in pods
                if _alive(p) and _ready(p)
            )
            for i in range(self.n):
                name = f"svc-{i:03d}"
                if ready[name] < self.floor:
                    self.breaches.append(
                        f"{time.strftime('%H:%M:%S')} {name}: {ready[name]} ready < {self.floor}"
                    )

    def start_sampling(self) -> threading.Thread:
        self._stop.clear()
        t = threading.Thread(target=self.sample_min_healthy, daemon=True)
        t.start()
        return t

    def stop_sampling(self) -> None:
        self._stop.set()


class Operator:
    def __init__(self, kubeconfig: str, ns: str) -> None:
        self.kubeconfig, self.ns = kubeconfig, ns
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        self.proc = start_operator(self.kubeconfig, self.ns, 5.0, f"fault-operator-{self.ns}.log")
        self.starts += 1

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(10)

    def _standby(self) -> subprocess.Popen[bytes]:
        """A second operator for the same namespace, as the Deployment's second replica would be
        (started directly: `start_operator` rightly refuses to start beside an active one)."""
        from ecsk.cluster import paths

        with open(paths.home() / f"fault-operator-{self.ns}.log", "ab") as log:
            return subprocess.Popen(
                [sys.executable, "-m", "ecsk.cli.main", "operator", "-n", self.ns, "--resync", "5"],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=dict(os.environ, KUBECONFIG=self.kubeconfig, PYTHONPATH=str(ROOT / "operator")),
            )

    def pause(self, seconds: float) -> str:
        """SIGSTOP the leader past its lease and its watches while a standby waits; SIGCONT. The
        standby must take over, and the woken leader must find itself deposed and exit."""
        assert self.proc is not None
        paused = self.proc
        os.kill(paused.pid, signal.SIGSTOP)
        standby = self._standby()
        self.starts += 1
        time.sleep(seconds)
        os.kill(paused.pid, signal.SIGCONT)
        self.proc = standby
        try:
            code = paused.wait(20)
            return f"paused leader exited ({code}), standby leads"
        except subprocess.TimeoutExpired:
            stop_process(paused)
            return "paused leader still running 20 s after SIGCONT (NOT deposed)"


def _restart_component(c: Cluster, home: Path, component: str) -> None:
    """kill -9 one control-plane process of the cluster under `home` and start it again with the
    same command line, working directory and log (kwokctl runs each as a plain process)."""
    pid_file = next((home / "kwok" / "clusters").glob(f"*/pids/{component}.pid"))
    pid = int(pid_file.read_text().strip())
    cmdline = [a.decode() for a in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0") if a]
    cwd = os.readlink(f"/proc/{pid}/cwd")
    log = pid_file.parent.parent / "logs" / f"{component}.log"
    os.kill(pid, signal.SIGKILL)
    time.sleep(1)
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            cmdline, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    pid_file.write_text(str(proc.pid))
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        ok = subprocess.run(
            [c.kubectl_path, "--kubeconfig", c.kubeconfig, "get", "--raw", "/readyz"], capture_output=True
        )
        if ok.returncode == 0:
            return
        time.sleep(1)
    raise SystemExit(f"{component} did not come back within 120 s")


def private_cluster() -> tuple[Path, str]:
    """A cluster of our own (ECSK_HOME in a temp dir, sharing only the built binaries)."""
    from ecsk.cluster import paths

    home = Path(tempfile.mkdtemp(prefix="ecsk-fault-"))
    (home / "bin").symlink_to(paths.bin_dir())
    env = dict(os.environ, ECSK_HOME=str(home), PYTHONPATH=str(ROOT / "operator"))
    env.pop("KUBECONFIG", None)
    up = [sys.executable, "-m", "ecsk.cli.main", "cluster", "up"]
    subprocess.run(up, env=env, check=True, timeout=1200)
    return home, str(home / "kubeconfig")


def private_cluster_down(home: Path) -> None:
    env = dict(os.environ, ECSK_HOME=str(home), PYTHONPATH=str(ROOT / "operator"))
    env.pop("KUBECONFIG", None)
    subprocess.run([sys.executable, "-m", "ecsk.cli.main", "cluster", "down"], env=env, timeout=300)
    shutil.rmtree(home, ignore_errors=True)


def wait_converged(obs: Observer, revision: int, timeout: float) -> tuple[float, list[str]]:
    started = time.monotonic()
    last: list[str] | None = []
    while time.monotonic() - started < timeout:
        last = obs.converged(revision)
        if last is None:
            return time.monotonic() - started, []
        time.sleep(1)
    return time.monotonic() - started, [f"not converged after {timeout:.0f}s: {(last or [])[:5]}"]


def run(args: argparse.Namespace, kubeconfig: str, home: Path | None) -> int:
    c = Cluster(kubeconfig)
    if home is not None:  # a fresh cluster: our CRDs first (the shared one has them)
        c.kubectl(
            "apply", "--server-side", "--force-conflicts", "--field-manager", "ecsk", "-k", str(ROOT / "crds")
        )
        c.kubectl("wait", "--for=condition=Established", "crd", "--all", "--timeout=60s")
    ns = f"fault-{uuid.uuid4().hex[:6]}"
    namespace(c, ns)
    op = Operator(kubeconfig, ns)
    obs = Observer(c, ns, args.services, args.tasks)
    rng = random.Random(args.seed)
    faults = ["kill9"] * args.kills + ["pause"]
    if home is not None or args.allow_control_plane_restarts:
        faults += ["restart-kube-apiserver", "restart-etcd"]
    else:
        print(
            "control-plane faults skipped (shared cluster): use --private or --allow-control-plane-restarts"
        )
    rows: list[tuple[str, str, float, int, list[str]]] = []
    pause_violation: list[str] = []
    try:
        op.start()
        apply(c, ns, documents(args.services, args.tasks, 1))
        took, problems = wait_converged(obs, 1, args.timeout)
        print(f"baseline: {args.services} services x {args.tasks} tasks on revision 1 in {took:.1f}s")
        if problems:
            raise SystemExit(f"baseline did not converge: {problems}")
        for round_, fault in enumerate(faults, start=2):
            events_before = obs.events()
            obs.breaches.clear()
            obs.start_sampling()
            apply(c, ns, documents(args.services, args.tasks, round_))  # a new revision for every service
            moment = rng.uniform(0.5, args.max_delay)
            time.sleep(moment)
            detail = f"at +{moment:.1f}s"
            if fault == "kill9":
                op.kill9()
                time.sleep(rng.uniform(0.5, 3.0))
                op.start()
            elif fault == "pause":
                outcome = op.pause(PAUSE_SECONDS)
                detail += f", {outcome}"
                if "NOT deposed" in outcome:
                    pause_violation = [outcome]
            else:
                assert home is not None or args.allow_control_plane_restarts
                from ecsk.cluster import paths

                _restart_component(c, home or paths.home(), fault.removeprefix("restart-"))
            took, violations = wait_converged(obs, round_, args.timeout)
            violations += pause_violation
            pause_violation = []
            obs.stop_sampling()
            orphans, duplicates = obs.orphans_and_duplicates()
            violations += [f"orphaned pod {o}" for o in orphans] + [f"duplicated {d}" for d in duplicates]
            violations += [f"stuck IN_PROGRESS: {s}" for s in obs.stuck_in_progress()]
            violations += [f"min-healthy broken: {b}" for b in obs.breaches[:10]]
            events = obs.events() - events_before
            if events > args.services * (args.tasks * 6 + 10):  # starts/stops/steady per task, generously
                violations.append(f"event storm: {events} events")
            rows.append((fault, detail, took, events, violations))
            print(
                f"{fault:18s} {detail:60s} converged in {took:6.1f}s  events {events:5d}  "
                f"violations {len(violations)}"
            )
            for v in violations[:10]:
                print(f"    {v}")
    finally:
        obs.stop_sampling()
        stop_process(op.proc)
        if not args.keep:
            delete_namespace(c, ns)
    total = sum(len(v) for *_, v in rows)
    times = [t for _, _, t, _, _ in rows]
    kinds = ", ".join(f"{k} x{n}" for k, n in Counter(f for f, *_ in rows).items())
    print(f"\nfaults injected: {len(rows)} ({kinds}); operator starts: {op.starts}")
    if times:
        print(f"convergence: max {max(times):.1f}s, mean {sum(times) / len(times):.1f}s")
    print(f"violations: {total}")
    return 1 if total else 0


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--services", type=int, default=100)
    parser.add_argument("--tasks", type=int, default=2)
    parser.add_argument("--kills", type=int, default=10, help="kill -9 faults (each at a random moment)")
    parser.add_argument(
        "--max-delay", type=float, default=6.0, help="latest fault moment after the rollout starts"
    )
    parser.add_argument("--timeout", type=float, default=300.0, help="convergence timeout per fault")
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--private", action="store_true", help="create (and remove) a cluster of our own")
    parser.add_argument("--allow-control-plane-restarts", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the namespace for inspection")
    args = parser.parse_args()
    home = None
    if args.private:
        home, kubeconfig = private_cluster()
    else:
        kubeconfig = os.environ.get("KUBECONFIG") or str(Path.home() / ".cache/ecsk/kubeconfig")
    try:
        return run(args, kubeconfig, home)
    finally:
        if home is not None:
            private_cluster_down(home)


if __name__ == "__main__":
    sys.exit(main())
