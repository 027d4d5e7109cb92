"""Rolling deployments on a live cluster: ECS bounds, circuit breaker + rollback, operator restarts."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pykube
import pytest
import yaml
from kubectl import kubectl
from kubetest import wait_for

pytestmark = pytest.mark.integration

CR = "ecs.ecsk.io/v1alpha1"


def td(family: str, version: str) -> dict[str, Any]:
    return {
        "apiVersion": CR,
        "kind": "TaskDefinition",
        "metadata": {"name": family},
        "spec": {
            "family": family,
            "containerDefinitions": [
                {
                    "name": "app",
                    "image": "busybox",
                    "memory": 32,
                    "cpu": 16,
                    "environment": [{"name": "VERSION", "value": version}],
                }
            ],
        },
    }


def service(
    name: str, family: str, desired: int, low: int, high: int, breaker: bool = False
) -> dict[str, Any]:
    config: dict[str, Any] = {"minimumHealthyPercent": low, "maximumPercent": high}
    if breaker:
        config["deploymentCircuitBreaker"] = {"enable": True, "rollback": True}
    return {
        "apiVersion": CR,
        "kind": "ECSService",
        "metadata": {"name": name},
        "spec": {
            "serviceName": name,
            "taskDefinition": family,
            "desiredCount": desired,
            "deploymentConfiguration": config,
        },
    }


def apply(kubeconfig: str, ns: str, *docs: dict[str, Any]) -> None:
    kubectl(kubeconfig, "-n", ns, "apply", "-f", "-", stdin=yaml.safe_dump_all(docs))


def status(api: pykube.HTTPClient, ns: str, name: str) -> dict[str, Any]:
    cls = pykube.object_factory(api, CR, "ECSService")
    return dict(cls.objects(api, namespace=ns).get(name=name).obj.get("status") or {})


def pods(api: pykube.HTTPClient, ns: str, name: str) -> list[dict[str, Any]]:
    sel = {"ecs.ecsk.io/service": name}
    return [p.obj for p in pykube.Pod.objects(api, namespace=ns).filter(selector=sel)]


def live(p: dict[str, Any]) -> bool:
    return not p["metadata"].get("deletionTimestamp")


def ready(p: dict[str, Any]) -> bool:
    return any(c["type"] == "Ready" and c["status"] == "True" for c in p["status"].get("conditions") or [])


class FailedDeploymentWatch:
    """Every status the service goes through, from a watch, looking for a FAILED deployment.

    After a circuit-breaker rollback the failed deployment stays listed only until its last task
    stops (ECS lists PRIMARY and ACTIVE deployments), which can be one reconcile pass: shorter than
    one round of a polling loop on a loaded machine. A watch sees every status write.
    """

    def __init__(self, api: pykube.HTTPClient, ns: str, name: str, revision: int) -> None:
        self.api, self.ns, self.name, self.revision = api, ns, name, revision
        self.failed: dict[str, Any] | None = None
        self._stop = threading.Event()
        self._cls = pykube.object_factory(api, CR, "ECSService")
        self._rv = self._current()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _current(self) -> str:
        obj = self._cls.objects(self.api, namespace=self.ns).get(name=self.name).obj
        self._see(obj)
        return str(obj["metadata"]["resourceVersion"])

    def _see(self, obj: dict[str, Any]) -> None:
        for d in (obj.get("status") or {}).get("deployments") or []:
            if d["revision"] == self.revision and d["rolloutState"] == "FAILED" and self.failed is None:
                self.failed = d

    def _run(self) -> None:
        while not self._stop.is_set() and self.failed is None:
            try:
                query = self._cls.objects(self.api, namespace=self.ns).watch(
                    since=self._rv, params={"timeoutSeconds": 20}
                )
                for event in query:
                    if event.object.name == self.name:
                        self._see(event.object.obj)
                    self._rv = str(event.object.obj["metadata"]["resourceVersion"])
                    if self._stop.is_set() or self.failed is not None:
                        return
            except Exception:  # an expired resourceVersion or a dropped stream: resume from now
                time.sleep(0.5)
                try:
                    self._rv = self._current()
                except Exception:
                    continue

    def stop(self) -> None:
        self._stop.set()


def settled_on(api: pykube.HTTPClient, ns: str, name: str, revision: int, n: int) -> bool:
    st = status(api, ns, name)
    deps = st.get("deployments") or []
    current = [p for p in pods(api, ns, name) if live(p)]
    return (
        len(deps) == 1
        and deps[0]["revision"] == revision
        and deps[0]["rolloutState"] == "COMPLETED"
        and st.get("runningCount") == n
        and len(current) == n
        and all(p["metadata"]["labels"]["ecs.ecsk.io/revision"] == str(revision) for p in current)
    )


def test_rollout_stays_within_ecs_bounds(api: pykube.HTTPClient, kubeconfig: str, operator_ns: str) -> None:
    ns, desired, low, high = operator_ns, 4, 50, 150
    apply(kubeconfig, ns, td("bounds", "1"), service("bounds", "bounds", desired, low, high))
    wait_for(lambda: settled_on(api, ns, "bounds", 1, desired), 120, what="revision 1 settled")
    dep = pykube.Deployment.objects(api, namespace=ns).get(name="bounds").obj
    assert dep["spec"]["strategy"]["rollingUpdate"] == {"maxSurge": 2, "maxUnavailable": 2}
    apply(kubeconfig, ns, td("bounds", "2"))
    most, fewest_ready = 0, desired
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        current = [p for p in pods(api, ns, "bounds") if live(p)]
        most = max(most, len(current))
        fewest_ready = min(fewest_ready, sum(1 for p in current if ready(p)))
        if settled_on(api, ns, "bounds", 2, desired):
            break
        time.sleep(0.1)
    else:
        raise AssertionError("rollout to revision 2 did not finish")
    assert most <= desired * high // 100  # floor(desired * maximumPercent / 100)
    assert fewest_ready >= -(-desired * low // 100)  # ceil(desired * minimumHealthyPercent / 100)
    messages = [e["message"] for e in status(api, ns, "bounds")["events"]]
    assert sum("deployment completed." in m for m in messages) == 2


def _crash(api: pykube.HTTPClient, kubeconfig: str, ns: str, pod: dict[str, Any]) -> None:
    """Simulate a crash-looping essential container (what the kubelet would report)."""
    name = pod["spec"]["containers"][0]["name"]
    patch = {
        "status": {
            "conditions": [{"type": "Ready", "status": "False"}],
            "containerStatuses": [
                {
                    "name": name,
                    "image": "busybox",
                    "imageID": "",
                    "ready": False,
                    "restartCount": 2,
                    "state": {
                        "waiting": {
                            "reason": "CrashLoopBackOff",
                            "message": "back-off restarting failed container",
                        }
                    },
                }
            ],
        }
    }
    kubectl(
        kubeconfig,
        "-n",
        ns,
        "patch",
        "pod",
        pod["metadata"]["name"],
        "--subresource=status",
        "--type=strategic",
        "-p",
        json.dumps(patch),
        check=False,
    )


def test_circuit_breaker_rolls_back(api: pykube.HTTPClient, kubeconfig: str, operator_ns: str) -> None:
    ns = operator_ns
    apply(kubeconfig, ns, td("breaker", "1"), service("breaker", "breaker", 3, 100, 200, breaker=True))
    wait_for(lambda: settled_on(api, ns, "breaker", 1, 3), 120, what="revision 1 settled")
    watch = FailedDeploymentWatch(api, ns, "breaker", 2)
    apply(kubeconfig, ns, td("breaker", "2"))
    deadline = time.monotonic() + 240  # a bound, not a timing: a loaded CI machine needed over 120 s
    while time.monotonic() < deadline and watch.failed is None:
        for p in pods(api, ns, "breaker"):
            # Crash each new task once it runs (and again if anything reported it running since).
            states = [c.get("state") or {} for c in p["status"].get("containerStatuses") or []]
            running = p["status"].get("phase") == "Running" and any("running" in st for st in states)
            if p["metadata"]["labels"].get("ecs.ecsk.io/revision") == "2" and running and live(p):
                _crash(api, kubeconfig, ns, p)
        time.sleep(0.2)
    watch.stop()
    failed = watch.failed
    assert failed is not None, "deployment of revision 2 never FAILED"
    assert failed["failedTasks"] >= 3
    wait_for(lambda: settled_on(api, ns, "breaker", 1, 3), 120, what="rolled back to revision 1")
    st = status(api, ns, "breaker")
    assert st["taskDefinition"].endswith("task-definition/breaker:1")
    messages = [e["message"] for e in st["events"]]
    assert (
        f"(service breaker) (deployment {failed['id']}) deployment failed: tasks failed to start." in messages
    )
    dep = pykube.Deployment.objects(api, namespace=ns).get(name="breaker").obj
    assert dep["spec"]["template"]["metadata"]["labels"]["ecs.ecsk.io/revision"] == "1"


def test_restart_converges_without_duplicates(
    api: pykube.HTTPClient, kubeconfig: str, operator_ns: str, operator_process: Any
) -> None:
    ns = operator_ns
    apply(kubeconfig, ns, td("restart", "1"), service("restart", "restart", 4, 50, 200))
    wait_for(lambda: settled_on(api, ns, "restart", 1, 4), 120, what="revision 1 settled")
    operator_process.kill()
    apply(kubeconfig, ns, td("restart", "2"))  # changed while the operator is down
    operator_process.start()
    wait_for(
        lambda: any(
            p["metadata"]["labels"].get("ecs.ecsk.io/revision") == "2" for p in pods(api, ns, "restart")
        ),
        60,
        interval=0.1,
        what="rollout to revision 2 started",
    )
    operator_process.kill()  # mid-rollout
    time.sleep(2)
    apply(kubeconfig, ns, td("restart", "3"))
    operator_process.start()
    wait_for(lambda: settled_on(api, ns, "restart", 3, 4), 150, what="revision 3 settled after restarts")
    deployments = list(
        pykube.Deployment.objects(api, namespace=ns).filter(selector={"ecs.ecsk.io/service": "restart"})
    )
    assert len(deployments) == 1
    rs_uids = {
        rs.obj["metadata"]["uid"]
        for rs in pykube.ReplicaSet.objects(api, namespace=ns)
        if any(
            o["uid"] == deployments[0].obj["metadata"]["uid"]
            for o in rs.obj["metadata"].get("ownerReferences") or []
        )
    }
    for p in pods(api, ns, "restart"):
        owners = p["metadata"].get("ownerReferences") or []
        assert owners and owners[0]["uid"] in rs_uids, f"orphaned pod {p['metadata']['name']}"
    st = status(api, ns, "restart")
    assert [d["revision"] for d in st["deployments"]] == [3]
    revisions_cm = [
        c.obj["metadata"]["name"]
        for c in pykube.ConfigMap.objects(api, namespace=ns)
        if c.obj["metadata"]["name"].startswith("td-restart-")
    ]
    assert sorted(revisions_cm) == ["td-restart-1", "td-restart-2", "td-restart-3"]
