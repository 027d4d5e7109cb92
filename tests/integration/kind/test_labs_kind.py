"""Labs' real-container variants on kind (`ecsk lab start N --real`): the check fails right after
start, passes after solve only once real files (or traffic) prove the behaviour, and reset is
clean. The operator on kind watches every namespace, so a lab prefix of our own is enough."""

from __future__ import annotations

import json
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable, Iterator

import pykube
import pytest
from kubetest import wait_for
from typer.testing import CliRunner

from ecsk.cli.main import app
from ecsk.cluster.kind import cluster
from ecsk.labs import catalog, kube, lab13_bind_mounts, lab14_efs, runner
from ecsk.labs.engine import PREFIX_ENV, REAL, TESTAPP, LabError, Snapshot, namespace_for

pytestmark = pytest.mark.kind


@pytest.fixture
def lab_prefix(monkeypatch: pytest.MonkeyPatch, kubeconfig: str) -> Iterator[str]:
    prefix = f"k{uuid.uuid4().hex[:6]}-"
    monkeypatch.setenv(PREFIX_ENV, prefix)
    monkeypatch.setenv("KUBECONFIG", kubeconfig)
    yield prefix


def _gone(api: pykube.HTTPClient, ns: str) -> bool:
    return not pykube.Namespace.objects(api).filter(field_selector={"metadata.name": ns})


def test_lab13_real_variant_proves_the_shared_file(api: pykube.HTTPClient, lab_prefix: str) -> None:
    lab = catalog.find(13)
    ns = namespace_for(13)
    try:
        _start_real(api, 13)
        with pytest.raises(LabError, match="first to switch"):
            runner.start(api, lab)  # the embedded variant on a real-started lab: refused
        td = pykube.object_factory(api, "ecs.ecsk.io/v1alpha1", "TaskDefinition").objects(api, namespace=ns)
        images = {c["image"] for c in td.get(name="frontend").obj["spec"]["containerDefinitions"]}
        assert images == {TESTAPP}
        first = runner.check(api, lab)
        assert not first.ok and "volume named logs" in "\n".join(first.lines), first.lines
        runner.solve(api, lab)
        _wait_until_passed(api, 13, 120)
        pod = wait_for(lambda: [p.name for p in pykube.Pod.objects(api, namespace=ns)], 10)[0]
        seen = kube.executor(api, ns)(
            pod,
            "log-router",
            ["/ecsk-testapp", "get", f"http://localhost:8081/file?path={lab13_bind_mounts.PROBE_FILE}"],
        )
        assert seen.startswith("written by web in "), seen  # the check's own line, read by the sidecar
    finally:
        _reset_twice(api, 13)


def _start_real(api: pykube.HTTPClient, number: int) -> None:
    started = CliRunner().invoke(app, ["lab", "start", str(number), "--real"])
    assert started.exit_code == 0, started.output
    assert "Runs on: kind, real containers" in started.output
    assert kube.variant(api, namespace_for(number)) == REAL


def _wait_until_passed(api: pykube.HTTPClient, number: int, timeout: float) -> None:
    lab = catalog.find(number)
    last: list[str] = []

    def passes() -> bool:
        out = runner.check(api, lab)
        last[:] = out.lines
        return out.ok

    try:
        wait_for(passes, timeout, interval=3, what=f"lab {number} (real) check to pass after solve")
    except AssertionError as exc:
        raise AssertionError(f"{exc}; last check said: {last}") from None
    checked = CliRunner().invoke(app, ["lab", "check", str(number)])
    assert checked.exit_code == 0 and "passed" in checked.output, checked.output


def _reset_twice(api: pykube.HTTPClient, number: int) -> None:
    lab = catalog.find(number)
    first, second = runner.reset(api, lab), runner.reset(api, lab)
    assert "deleted namespace" in first.lines[0], first.lines
    assert "nothing to delete" in second.lines[0], second.lines
    wait_for(lambda: _gone(api, namespace_for(number)), 120, what=f"lab {number} namespace gone")


def _running(api: pykube.HTTPClient, ns: str, service: str, count: int) -> Callable[[], Snapshot | None]:
    def ready() -> Snapshot | None:
        snap = kube.snapshot(api, ns)
        return snap if len(snap.running_tasks(service)) == count else None

    return ready


def test_lab10_real_variant_answers_through_the_load_balancer_from_every_task(
    api: pykube.HTTPClient, lab_prefix: str
) -> None:
    lab = catalog.find(10)
    ns = namespace_for(10)
    try:
        _start_real(api, 10)
        first = runner.check(api, lab)
        said = "\n".join(first.lines)
        assert not first.ok and "static host port 8080" in said and "not registered" in said, said
        # a fixed host port: three workers, three tasks; the fourth waits (real scheduling)
        snap = wait_for(
            lambda: (s := kube.snapshot(api, ns)).pending_tasks("web") and s, 180, what="a PENDING task"
        )
        assert len(snap.running_tasks("web")) <= 3
        runner.solve(api, lab)
        _wait_until_passed(api, 10, 300)
        # the test's own requests, not the check's: every running task answers on the host's port
        snap = kube.snapshot(api, ns)
        tasks = {p["metadata"]["name"] for p in snap.running_tasks("web")}
        service = snap.named(snap.services, "web")
        assert service is not None
        url = cluster.load_balancer_url(service["spec"]["ports"][0]["nodePort"])
        seen: Counter[str] = Counter()
        for _ in range(60):
            with urllib.request.urlopen(url, timeout=5) as resp:  # 127.0.0.1 only
                seen[json.loads(resp.read())["hostname"]] += 1
        assert len(tasks) == 4 and set(seen) == tasks, (seen, tasks)
        nodes = {p["spec"]["nodeName"] for p in snap.running_tasks("web")}
        assert len(nodes) >= 2  # dynamic host ports: two tasks may share a worker, four fit on three
    finally:
        _reset_twice(api, 10)


def test_lab14_real_variant_shares_a_file_across_zones(api: pykube.HTTPClient, lab_prefix: str) -> None:
    lab = catalog.find(14)
    real = lab.real
    assert real is not None
    ns = namespace_for(14)
    try:
        _start_real(api, 14)
        first = runner.check(api, lab)
        assert not first.ok and "Docker volume of scope task" in "\n".join(first.lines), first.lines
        # the live check on the starting state, once its tasks run: a task-scoped volume is not shared
        snap = wait_for(_running(api, ns, "cms", 3), 240, what="3 running cms tasks (task-scoped volumes)")
        unshared = real.live_problems(snap, kube.probes(api, ns))
        assert len(unshared) == 2 and all("cannot read" in p for p in unshared), unshared
        runner.solve(api, lab)
        _wait_until_passed(api, 14, 300)
        # the test's own round trip, the other way: written in the last zone, read in the first
        snap = kube.snapshot(api, ns)
        tasks = snap.running_tasks("cms")
        by_zone = sorted(
            (snap.node_label(p, "topology.kubernetes.io/zone"), p["metadata"]["name"]) for p in tasks
        )
        assert [z for z, _ in by_zone] == ["us-east-1a", "us-east-1b", "us-east-1c"]
        run = kube.executor(api, ns)
        url = f"http://localhost:8080/file?path={lab14_efs.PATH}/from-the-test.txt"
        note = f"written in us-east-1c {uuid.uuid4()}"
        run(by_zone[2][1], "cms", ["/ecsk-testapp", "put", url, note])
        assert run(by_zone[0][1], "cms", ["/ecsk-testapp", "get", url]) == note
    finally:
        _reset_twice(api, 14)
