"""Small polling helpers shared by the integration tests (plain functions, no fixtures)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pykube

from ecsk.controller.runtime.leader import active_operators_at, overlapping, refusal

ROOT = Path(__file__).resolve().parents[2]


def wait_for(
    predicate: Callable[[], Any], timeout: float = 60, interval: float = 0.5, what: str = "condition"
) -> Any:
    """Poll until predicate returns something truthy; fail with `what` on timeout."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


def ready_nodes(api: pykube.HTTPClient) -> list[pykube.Node]:
    return [
        n
        for n in pykube.Node.objects(api)
        if not n.obj["spec"].get("unschedulable")
        and not any(t.get("effect") == "NoSchedule" for t in n.obj["spec"].get("taints", []))
        and any(c["type"] == "Ready" and c["status"] == "True" for c in n.obj["status"].get("conditions", []))
    ]


class OperatorProcess:
    """`ecsk operator -n <namespace>` as a child process, so tests can kill and restart it."""

    # Short periods so tests see resyncs, task retention and "healthy" within seconds.
    TEST_SETTINGS = ("--resync", "5", "--task-retention", "20", "--healthy-after", "8")

    def __init__(
        self,
        kubeconfig: str,
        namespace: str,
        log_path: Path | None = None,
        settings: tuple[str, ...] = TEST_SETTINGS,
    ) -> None:
        self.kubeconfig, self.namespace, self.log_path = kubeconfig, namespace, log_path
        self.settings = settings
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, beside_others: bool = False) -> None:
        """Start it, unless an operator whose scope covers this namespace is active: the new one
        would only stand by (or, without election, race it). `beside_others` is for the tests of
        that election itself."""
        if not beside_others:
            holders = overlapping(active_operators_at(self.kubeconfig), [self.namespace])
            if holders:
                raise AssertionError(refusal(holders, f"not starting a test operator for {self.namespace}"))
        args = [sys.executable, "-m", "ecsk.cli.main", "operator", "-n", self.namespace, *self.settings]
        # ECSK_OPERATOR_KUBECONFIG runs the operator with other credentials (e.g. the manifests'
        # ServiceAccount, to prove the ClusterRole is enough) while the tests keep theirs.
        kubeconfig = os.environ.get("ECSK_OPERATOR_KUBECONFIG") or self.kubeconfig
        env = dict(os.environ, KUBECONFIG=kubeconfig, PYTHONPATH=str(ROOT / "operator"))
        if self.log_path is None:
            self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
            return
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env)

    def kill(self) -> None:
        """SIGKILL: the restart test wants no graceful shutdown."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def tainted_node_like(
    template: dict[str, Any], name: str, taint: tuple[str, str], labels: dict[str, str] | None = None
) -> dict[str, Any]:
    """A test Node shaped like a fleet node (its labels, kwok annotations and capacity) but with
    its own name and a NoSchedule taint, so only pods that tolerate it land there. ecsk's own
    instance labels and custom attributes are not copied."""
    copied = {
        k: v
        for k, v in template["metadata"]["labels"].items()
        if not k.startswith(("ecs.ecsk.io/", "attribute.ecs.ecsk.io/"))
    }
    copied.update({"kubernetes.io/hostname": name, "ecs.ecsk.io/origin": "test", **(labels or {})})
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "labels": copied,
            "annotations": {
                k: v
                for k, v in template["metadata"].get("annotations", {}).items()
                if k.startswith(("kwok.x-k8s.io", "node.alpha"))
            },
        },
        "spec": {"taints": [{"key": taint[0], "value": taint[1], "effect": "NoSchedule"}]},
        "status": {
            "allocatable": template["status"]["allocatable"],
            "capacity": template["status"]["capacity"],
        },
    }


def ecsk_in(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`ecsk ARGS` against a private ECSK_HOME (its own local cluster), never the shared one."""
    env = dict(os.environ, ECSK_HOME=str(home), PYTHONPATH=str(ROOT / "operator"))
    env.pop("KUBECONFIG", None)
    return subprocess.run(
        [sys.executable, "-m", "ecsk.cli.main", *args], env=env, capture_output=True, text=True, timeout=300
    )
