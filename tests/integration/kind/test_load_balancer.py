"""An ECS service behind a load balancer, on real containers, reached from the host.

On kind the operator publishes a load-balanced service as a NodePort from the range the kind
configuration maps to 127.0.0.1 (`ecsk kind up`), so the host's requests go through the control
plane's kube-proxy to the ready tasks on every worker, as an ALB's go to the registered targets.
What ECS promises and these tests check: the requests are answered by every task (three zones),
and a rolling deployment with minimumHealthyPercent 100 fails no request: a new task serves
before an old one leaves the targets, and an old one drains for the deregistration delay.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections import Counter
from typing import Any

import pykube
import pytest
from kindtest import apply, container, pods, ready, ready_pods, service, task_definition
from kubetest import wait_for

from ecsk.cluster.kind import cluster

pytestmark = pytest.mark.kind

ZONE = "topology.kubernetes.io/zone"
TARGET_GROUP = "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/web-tg/6d0ecf831eec9f09"
SPREAD = [{"type": "spread", "field": "attribute:ecs.availability-zone"}]


def _web(revision: str) -> dict[str, Any]:
    return container("web", env={"REVISION": revision}, portMappings=[{"containerPort": 8080}])


def _load_balanced(name: str, family: str, desired: int) -> dict[str, Any]:
    return service(
        name,
        family,
        desired,
        loadBalancers=[{"targetGroupArn": TARGET_GROUP, "containerName": "web", "containerPort": 8080}],
        deploymentConfiguration={"minimumHealthyPercent": 100, "maximumPercent": 200},
        placementStrategy=SPREAD,
    )


def _host_url(api: pykube.HTTPClient, ns: str, name: str) -> str:
    svc = wait_for(
        lambda: (s := pykube.Service.objects(api, namespace=ns).get_or_none(name=name)) and s.obj,
        60,
        what=f"Service {name}",
    )
    assert svc["spec"]["type"] == "NodePort"
    return cluster.load_balancer_url(svc["spec"]["ports"][0]["nodePort"])


def _get(url: str) -> dict[str, Any]:
    """One request on a new connection (as many clients of an ALB do)."""
    with urllib.request.urlopen(url, timeout=5) as resp:  # 127.0.0.1 only
        return dict(json.loads(resp.read()))


def _answered(url: str) -> dict[str, Any] | None:
    try:
        return _get(url)
    except OSError:
        return None


def _zones_of(api: pykube.HTTPClient, running: list[dict[str, Any]]) -> dict[str, str]:
    """Task IP -> zone of the worker it runs on."""
    zone = {n.name: n.obj["metadata"]["labels"].get(ZONE, "") for n in pykube.Node.objects(api)}
    return {p["status"]["podIP"]: zone[p["spec"]["nodeName"]] for p in running}


def _revision(pod: dict[str, Any]) -> str:
    env = pod["spec"]["containers"][0].get("env") or []
    return next(e["value"] for e in env if e["name"] == "REVISION")


class _Traffic(threading.Thread):
    """Requests in a loop until stopped (bounded: at most `limit` seconds), every outcome kept."""

    def __init__(self, url: str, limit: float = 300) -> None:
        super().__init__(daemon=True)
        self.url, self.limit = url, limit
        self.answers: list[dict[str, Any]] = []
        self.failures: list[str] = []
        self.stopped = threading.Event()

    def run(self) -> None:
        deadline = time.monotonic() + self.limit
        while not self.stopped.is_set() and time.monotonic() < deadline:
            try:
                self.answers.append(_get(self.url))
            except OSError as exc:
                self.failures.append(f"{time.strftime('%H:%M:%S')} {exc!r}")
            time.sleep(0.02)


def test_alb_spreads_requests_over_all_zones_and_a_rolling_deployment_fails_none(
    api: pykube.HTTPClient, kubeconfig: str, namespace: str
) -> None:
    apply(kubeconfig, namespace, task_definition("web", [_web("1")]), _load_balanced("web", "web", 3))
    running = wait_for(lambda: ready_pods(api, namespace, "web", 3), 180, what="3 ready tasks")
    zone_of = _zones_of(api, running)
    assert sorted(zone_of.values()) == ["us-east-1a", "us-east-1b", "us-east-1c"]
    url = _host_url(api, namespace, "web")
    wait_for(lambda: _answered(url), 60, what=f"the load balancer answering on {url}")
    # a task ready a moment ago reaches every node's kube-proxy within its sync (seconds, more on
    # a loaded host), as a new target needs its health checks before the ALB routes to it
    wait_for(
        lambda: {a["ip"] for a in (_answered(url) for _ in range(15)) if a} == set(zone_of),
        90,
        interval=1,
        what="all three tasks registered",
    )

    answers = [_get(url) for _ in range(60)]
    by_ip = Counter(a["ip"] for a in answers)
    assert set(by_ip) == set(zone_of), by_ip  # every task answered, and only the tasks
    assert {zone_of[ip] for ip in by_ip} == {"us-east-1a", "us-east-1b", "us-east-1c"}
    assert {a["revision"] for a in answers} == {"1"}

    traffic = _Traffic(url)
    traffic.start()
    try:
        time.sleep(2)
        apply(kubeconfig, namespace, task_definition("web", [_web("2")]))  # revision 2: a new deployment

        def rolled() -> bool:
            everything = pykube.Pod.objects(api, namespace=namespace).filter(
                selector={"ecs.ecsk.io/service": "web"}
            )
            live = [p.obj for p in everything]  # terminating (draining) tasks included
            return len(live) == 3 and all(_revision(p) == "2" and ready(p) for p in live)

        wait_for(rolled, 300, interval=1, what="revision 2 on 3 tasks and every old task gone")
        time.sleep(3)
    finally:
        traffic.stopped.set()
        traffic.join(10)
    seen = Counter(a["revision"] for a in traffic.answers)
    failed = traffic.failures
    assert not failed, f"{len(failed)} failed, {len(traffic.answers)} answered: {failed[:5]}"
    assert seen["1"] > 0 and seen["2"] > 0, seen
    assert traffic.answers[-1]["revision"] == "2"
    new = pods(api, namespace, "web")
    assert len({p["spec"]["nodeName"] for p in new}) == 3  # the new tasks spread over the zones too
