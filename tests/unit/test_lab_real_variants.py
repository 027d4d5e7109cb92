"""The real-container variants' pure checks, with stand-ins for `kubectl exec` and for HTTP
through the load balancer: what each outcome of a file round trip or of a run of requests makes
the check say, and the object checks of each variant after start and after solve."""

from __future__ import annotations

import http.server
import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ecsk.core.translate.names import LABEL_SERVICE
from ecsk.labs import catalog, kube, lab10_load_balancing, lab14_efs
from ecsk.labs.engine import TESTAPP, Lab, ProbeError, Probes, Snapshot, namespace_for
from ecsk.labs.lab10_load_balancing import send, traffic_problems
from ecsk.labs.lab13_bind_mounts import PROBE_FILE, file_problems
from ecsk.labs.lab14_efs import PROBE_PREFIX, shared_file_problems


class FakeTask:
    """Two containers over one directory: the sidecar reads what `web` wrote; `sidecar_writes`
    says whether its mount lets it write (a read-write mount)."""

    def __init__(self, shared: bool = True, sidecar_writes: bool = False) -> None:
        self.files: dict[str, str] = {}
        self.shared, self.sidecar_writes = shared, sidecar_writes

    def __call__(self, pod: str, container: str, argv: list[str]) -> str:
        verb, url = argv[1], argv[2]
        assert url.endswith(f"path={PROBE_FILE}")
        if verb == "put":
            if container == "log-router" and not self.sidecar_writes:
                raise ProbeError("read-only file system")
            self.files[container] = argv[3]
            return ""
        return self.files.get("web", "") if self.shared else ""


def test_the_line_written_by_web_read_by_the_sidecar_passes() -> None:
    assert file_problems(FakeTask(), "frontend-1") == []


def test_a_sidecar_that_does_not_see_the_file_is_named() -> None:
    problems = file_problems(FakeTask(shared=False), "frontend-1")
    assert problems == [f"log-router in task frontend-1 reads '' from {PROBE_FILE}, not the line web wrote"]


def test_a_sidecar_that_can_write_is_not_read_only() -> None:
    problems = file_problems(FakeTask(sidecar_writes=True), "frontend-1")
    assert problems == [
        "log-router in task frontend-1 could write into /var/log/nginx: its mount is not read-only"
    ]


def test_a_failed_exec_in_web_is_raised_for_the_runner_to_word() -> None:
    def broken(pod: str, container: str, argv: list[str]) -> str:
        raise ProbeError(f"`{' '.join(argv)}` failed in {pod}/{container}: container not found")

    with pytest.raises(ProbeError, match="container not found"):
        file_problems(broken, "frontend-1")


def test_real_variant_runs_the_test_app_on_ec2_and_keeps_the_object_checks() -> None:
    real = catalog.find(13).real
    assert real is not None and "real containers" in real.runs_on
    td, svc = real.starting_objects()
    assert td["spec"]["requiresCompatibilities"] == ["EC2"] and svc["spec"]["launchType"] == "EC2"
    assert {c["image"] for c in td["spec"]["containerDefinitions"]} == {TESTAPP}
    assert "embedded cluster" in catalog.find(13).runs_on


def test_check_words_a_failed_exec_as_a_problem(monkeypatch: pytest.MonkeyPatch) -> None:
    """A task gone or an exec refused mid-check is one problem in the list, never a traceback;
    the recorded variant (on the snapshot) picks the real lab's live check."""
    from ecsk.labs import kube, runner
    from ecsk.labs.engine import REAL, Snapshot

    def refused(pod: str, container: str, argv: list[str]) -> str:
        raise ProbeError(f'`{" ".join(argv)}` failed in {pod}/{container}: pods "{pod}" not found')

    lab = catalog.find(13)
    assert lab.real is not None
    monkeypatch.setattr(kube, "snapshot", lambda api, ns: Snapshot(ns, variant=REAL))
    monkeypatch.setattr(type(lab.real), "problems", lambda self, snap: [])
    monkeypatch.setattr(
        type(lab.real), "live_problems", lambda self, snap, probes: probes.run("frontend-1", "web", ["x"])
    )
    monkeypatch.setattr(kube, "executor", lambda api, ns: refused)
    out = runner.check(object(), lab)
    assert not out.ok
    assert out.lines[1] == '  - `x` failed in frontend-1/web: pods "frontend-1" not found'


def _never(*_args: Any) -> str:
    raise AssertionError("this door must not be used here")


def _snap(lab: Lab, objs: list[dict[str, Any]], **more: Any) -> Snapshot:
    ecs: dict[str, list[dict[str, Any]]] = {}
    for obj in objs:
        ecs.setdefault(obj["kind"], []).append(obj)
    return Snapshot(namespace=namespace_for(lab.number, "u-"), ecs=ecs, **more)


def _task(name: str, service: str, node: str, **extra: Any) -> dict[str, Any]:
    """A running task as the kubelet reports it (one container, ready)."""
    container = {"name": service, **extra.pop("container", {})}
    return {
        "metadata": {"name": name, "labels": {LABEL_SERVICE: service}},
        "spec": {"nodeName": node, "containers": [container], **extra},
        "status": {
            "phase": "Running",
            "podIP": f"10.244.0.{len(name)}",
            "conditions": [{"type": "Ready", "status": "True"}],
            "containerStatuses": [
                {"name": service, "ready": True, "state": {"running": {"startedAt": "2026-01-01T00:00:00Z"}}}
            ],
        },
    }


# --- lab 10: requests through the load balancer ------------------------------------------------

URL = "http://127.0.0.1:18480/"
TASKS = ["web-7f9c-a", "web-7f9c-b", "web-7f9c-c"]


def _answer(host: str) -> dict[str, Any]:
    return {"hostname": host, "ip": "10.244.1.7", "container": "web", "revision": ""}


def test_every_task_answering_passes() -> None:
    answers = [_answer(TASKS[i % 3]) for i in range(12)]
    assert traffic_problems(URL, answers, TASKS) == []


def test_one_task_answering_names_the_silent_ones() -> None:
    assert traffic_problems(URL, [_answer(TASKS[0])] * 12, TASKS) == [
        "12 requests were answered by 1 of 3 tasks; never by web-7f9c-b, web-7f9c-c: a new target "
        "takes a few seconds to be registered, check again"
    ]


def test_no_answer_says_what_the_connection_said() -> None:
    refused = f"no answer on {URL}: [Errno 111] Connection refused"
    assert traffic_problems(URL, [refused], TASKS) == [refused]
    assert traffic_problems(URL, [], []) == [f"no request was sent to {URL}: no web task is running"]


def test_a_failure_after_answers_and_a_stranger_are_both_named() -> None:
    answers: list[Any] = [_answer(t) for t in TASKS] + [
        _answer("web-old-x"),
        f"no answer on {URL}: timed out",
    ]
    assert traffic_problems(URL, answers, TASKS) == [
        f"1 of 5 requests failed: no answer on {URL}: timed out",
        "1 of 4 requests were answered by web-old-x, not a running web task: an old task still "
        "draining? check again",
    ]


def test_send_stops_at_the_first_failure_and_words_what_is_not_the_test_app() -> None:
    calls: list[str] = []

    def get(url: str) -> str:
        calls.append(url)
        if len(calls) == 3:
            return "<html>nginx</html>"
        return json.dumps(_answer(TASKS[len(calls) - 1]))

    answers = send(get, URL, 10)
    assert len(calls) == 3 and answers[:2] == [_answer(TASKS[0]), _answer(TASKS[1])]
    assert answers[2] == f"{URL} answered '<html>nginx</html>', not the test app's JSON with a hostname"

    def refused(url: str) -> str:
        raise ProbeError(f"no answer on {url}: [Errno 111] Connection refused")

    assert send(refused, URL, 10) == [f"no answer on {URL}: [Errno 111] Connection refused"]


def _lab10_service(node_port: int | None = 30083) -> dict[str, Any]:
    ports = [{"port": 8080, **({"nodePort": node_port} if node_port else {})}]
    return {"metadata": {"name": "web"}, "spec": {"type": "NodePort", "ports": ports}}


def test_lab10_real_right_after_start_and_solved() -> None:
    lab = catalog.find(10).real
    assert lab is not None and isinstance(lab, lab10_load_balancing.RealLoadBalancingLab)
    start = lab.starting_objects()
    assert [o["kind"] for o in start] == ["TaskDefinition", "ECSService"]  # no Fargate half on kind
    (web,) = start[0]["spec"]["containerDefinitions"]
    assert web["image"] == TESTAPP and start[1]["spec"]["launchType"] == "EC2"
    fixed = {"container": {"ports": [{"containerPort": 8080, "hostPort": 8080}]}}
    bound = [_task(f"web-{i}", "web", f"worker{i}", **fixed) for i in range(3)]
    waiting = {"metadata": {"name": "web-3", "labels": {LABEL_SERVICE: "web"}}, "spec": {}, "status": {}}
    assert lab.problems(_snap(lab, start, pods=[*bound, waiting])) == [
        "TaskDefinition web maps container port 8080 to the static host port 8080: one web task per "
        "instance; set hostPort 0 (dynamic host port mapping)",
        "service web is not registered with the ALB target group web-alb: add loadBalancers "
        f"[{{targetGroupArn: {lab10_load_balancing.WEB_TG}, containerName: web, containerPort: 8080}}]",
        "3 of 4 web tasks are running (1 PENDING): the three kind workers hold one task each while a "
        "host port is fixed",
    ]
    solved = lab.solution_objects(Snapshot("x"))
    tasks = [_task(f"web-{i}", "web", f"worker{i % 3}") for i in range(4)]
    assert lab.problems(_snap(lab, solved, pods=tasks)) == [
        "no Service web yet: the operator renders it from loadBalancers"
    ]
    assert lab.problems(_snap(lab, solved, pods=tasks, services=[_lab10_service(None)])) == [
        "Service web has no node port yet"
    ]
    assert lab.problems(_snap(lab, solved, pods=tasks, services=[_lab10_service()])) == []


class FakeBalancer:
    """kube-proxy in front of `targets`: each request goes to the next one."""

    def __init__(self, targets: list[str]) -> None:
        self.targets, self.sent, self.asked_for = targets, 0, 0

    def url(self, node_port: int) -> str:
        self.asked_for = node_port
        return f"http://127.0.0.1:{18480 + node_port - 30080}/"

    def get(self, url: str) -> str:
        self.sent += 1
        return json.dumps(_answer(self.targets[self.sent % len(self.targets)]))


def test_lab10_real_live_check_sends_ten_requests_per_task_through_the_published_port() -> None:
    lab = catalog.find(10).real
    assert lab is not None
    tasks = [_task(f"web-{i}", "web", f"worker{i % 3}") for i in range(4)]
    snap = _snap(lab, lab.solution_objects(Snapshot("x")), pods=tasks, services=[_lab10_service()])
    balancer = FakeBalancer([f"web-{i}" for i in range(4)])
    assert lab.live_problems(snap, Probes(run=_never, balancer_url=balancer.url, get=balancer.get)) == []
    assert balancer.asked_for == 30083 and balancer.sent == 40
    stuck = FakeBalancer(["web-0", "web-1"])
    assert lab.live_problems(snap, Probes(run=_never, balancer_url=stuck.url, get=stuck.get)) == [
        "40 requests were answered by 2 of 4 tasks; never by web-2, web-3: a new target takes a few "
        "seconds to be registered, check again"
    ]


# --- lab 14: a file across zones ----------------------------------------------------------------

ZONED = [("cms-a", "us-east-1a"), ("cms-b", "us-east-1b"), ("cms-c", "us-east-1c")]


class FakeFiles:
    """Tasks' file systems: one shared by all (EFS), or one per task (a task-scoped volume)."""

    def __init__(self, shared: bool = True, unreadable: str = "") -> None:
        self.shared, self.unreadable = shared, unreadable
        self.files: dict[tuple[str, str], str] = {}

    def __call__(self, pod: str, container: str, argv: list[str]) -> str:
        assert container == "cms" and argv[0] == "/ecsk-testapp"
        path = argv[2].split("path=", 1)[1]
        assert path.startswith(PROBE_PREFIX)
        key = ("efs" if self.shared else pod, path)
        if argv[1] == "put":
            self.files[key] = argv[3]
            return ""
        if pod == self.unreadable or key not in self.files:
            raise ProbeError(
                f"`{' '.join(argv)}` failed in {pod}/cms: open {path}: no such file or directory"
            )
        return self.files[key] + "\n"


def test_a_file_written_in_one_zone_is_read_in_the_others() -> None:
    files = FakeFiles()
    assert shared_file_problems(files, list(reversed(ZONED)), "s1") == []
    written = files.files[("efs", f"{PROBE_PREFIX}s1.txt")]
    assert written == "written by cms-a in us-east-1a (s1)"  # the first zone's task writes


def test_task_scoped_files_are_named_per_reader() -> None:
    problems = shared_file_problems(FakeFiles(shared=False), ZONED, "s2")
    path = f"{PROBE_PREFIX}s2.txt"
    assert problems == [
        f"task {r} in {z} cannot read {path}, which task cms-a in us-east-1a wrote: "
        f"`/ecsk-testapp get http://localhost:8080/file?path={path}` failed in {r}/cms: "
        f"open {path}: no such file or directory"
        for r, z in ZONED[1:]
    ]


def test_a_failed_write_and_a_single_zone_are_problems_not_crashes() -> None:
    def read_only(pod: str, container: str, argv: list[str]) -> str:
        raise ProbeError(f"`{argv[1]}` failed in {pod}/{container}: read-only file system")

    path = f"{PROBE_PREFIX}s3.txt"
    assert shared_file_problems(read_only, ZONED, "s3") == [
        f"task cms-a in us-east-1a could not write {path}: `put` failed in cms-a/cms: read-only file system"
    ]
    one_zone = [("cms-a", "us-east-1a"), ("cms-b", "us-east-1a")]
    assert shared_file_problems(_never, one_zone, "s4") == [
        "every cms task runs in us-east-1a: nothing to read from another zone"
    ]
    assert shared_file_problems(_never, [], "s5") == ["no cms task is running"]


CLAIM = "efs-fs-0a1b2c3d4e5f60718-1c2d3e4f"
NODES = [
    {"metadata": {"name": f"worker{i}", "labels": {"topology.kubernetes.io/zone": z}}}
    for i, (_, z) in enumerate(ZONED)
]


def _efs_task(i: int, claim: str | None) -> dict[str, Any]:
    volume = {"persistentVolumeClaim": {"claimName": claim}} if claim else {"emptyDir": {}}
    return _task(f"cms-{i}", "cms", f"worker{i}", volumes=[{"name": "uploads", **volume}])


def _provisioned(phase: str = "Bound", provisioner: str = "efs.csi.aws.com") -> dict[str, Any]:
    claim = {
        "metadata": {"name": CLAIM},
        "spec": {"accessModes": ["ReadWriteMany"], "storageClassName": "efs-x", "volumeName": "pvc-1"},
        "status": {"phase": phase},
    }
    return {"pvcs": [claim], "storage_classes": [{"metadata": {"name": "efs-x"}, "provisioner": provisioner}]}


def test_lab14_real_right_after_start_access_point_and_solved() -> None:
    lab = catalog.find(14).real
    assert lab is not None and isinstance(lab, lab14_efs.RealEfsLab)
    start = lab.starting_objects()
    (cms,) = start[0]["spec"]["containerDefinitions"]
    assert cms["image"] == TESTAPP and start[1]["spec"]["launchType"] == "EC2"
    private = [_efs_task(i, None) for i in range(3)]
    assert lab.problems(_snap(lab, start, pods=private, nodes=NODES)) == [
        "volume uploads is a Docker volume of scope task: every task writes its own copy, lost when the "
        "task stops; make it an EFS volume (efsVolumeConfiguration, fileSystemId fs-0a1b2c3d4e5f60718)",
        "3 of 3 tasks still write to a volume of their own (cms-0, cms-1, cms-2): wait for the new "
        "revision's tasks",
    ]
    solved = [*lab.solution_objects(Snapshot("x")), start[1]]
    shared = [_efs_task(i, CLAIM) for i in range(3)]
    assert lab.problems(_snap(lab, solved, pods=shared, nodes=NODES, **_provisioned())) == []
    # the embedded answer (an access point) is refused on kind, with why; a claim on another provisioner
    embedded = [*catalog.find(14).solution_objects(Snapshot("x")), start[1]]
    assert lab.problems(
        _snap(lab, embedded, pods=shared, nodes=NODES, **_provisioned("Bound", "rancher.io/local-path"))
    ) == [
        "volume uploads has an authorizationConfig: kind's EFS is a directory every node mounts, with no "
        "access points or IAM (an access point's static volume needs the EFS CSI driver, which kind does "
        "not run); leave it out, so the claim is provisioned on the shared mount",
        f"PersistentVolumeClaim {CLAIM} is provisioned by rancher.io/local-path, not efs.csi.aws.com",
    ]
    waiting = [{"metadata": {"name": "cms-9", "labels": {LABEL_SERVICE: "cms"}}, "spec": {}, "status": {}}]
    assert lab.problems(_snap(lab, solved, pods=waiting, nodes=NODES, **_provisioned("Pending"))) == [
        "0 of 3 cms tasks are running (1 PENDING)",
        f"PersistentVolumeClaim {CLAIM} is Pending, waiting for efs.csi.aws.com to create a volume: is "
        "kind's EFS provisioner running? kubectl -n local-path-storage get pods",
    ]


def test_lab14_real_live_check_writes_in_the_first_zone_and_reads_in_the_others() -> None:
    lab = catalog.find(14).real
    assert lab is not None
    solved = [*lab.solution_objects(Snapshot("x")), lab.starting_objects()[1]]
    snap = _snap(lab, solved, pods=[_efs_task(i, CLAIM) for i in range(3)], nodes=NODES, **_provisioned())
    files = FakeFiles()
    assert lab.live_problems(snap, Probes(run=files, balancer_url=_never, get=_never)) == []
    (((_, path), line),) = files.files.items()
    assert path.startswith(PROBE_PREFIX) and line.startswith("written by cms-0 in us-east-1a (")
    unshared = lab.live_problems(snap, Probes(run=FakeFiles(shared=False), balancer_url=_never, get=_never))
    assert [p.split(" cannot read ")[0] for p in unshared] == [
        "task cms-1 in us-east-1b",
        "task cms-2 in us-east-1c",
    ]


# --- the doors: HTTP from the host, the load balancer's URL, kubectl exec's words ---------------


@pytest.fixture
def server() -> Iterator[str]:
    """A local HTTP server answering / with the test app's identity and /broken with a 503."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            code, body = (
                (503, b"draining") if self.path == "/broken" else (200, json.dumps(_answer("web-a")).encode())
            )
            self.send_response(code)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: Any) -> None:
            pass

    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler) as httpd:
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        yield f"http://127.0.0.1:{httpd.server_address[1]}/"
        httpd.shutdown()  # the with block closes its socket


def test_http_get_returns_the_body_and_words_every_failure(server: str) -> None:
    assert json.loads(kube.http_get(server))["hostname"] == "web-a"
    with pytest.raises(ProbeError, match=r"answered HTTP 503 Service Unavailable"):
        kube.http_get(server + "broken")
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}/"
    with pytest.raises(ProbeError, match=rf"no answer on {closed}: .*refused"):
        kube.http_get(closed)


def test_balancer_url_comes_from_the_kind_cluster_state(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ecsk.cluster.kind import cluster

    monkeypatch.setenv("ECSK_HOME", str(tmp_path))
    monkeypatch.setenv("ECSK_KIND_CLUSTER", "hunit")
    with pytest.raises(ProbeError, match="kind cluster hunit has published no load balancer ports"):
        kube.balancer_url(30083)
    cluster.state_file().parent.mkdir(parents=True)
    cluster.state_file().write_text(json.dumps({"loadBalancerPorts": {"hostBase": 18480, "count": 10}}))
    assert kube.balancer_url(30083) == "http://127.0.0.1:18483/"
    with pytest.raises(ProbeError, match="node port 31000 is outside the published range 30080-30089"):
        kube.balancer_url(31000)


def test_exec_failures_say_what_the_command_said() -> None:
    assert kube._why("open /srv/x: no such file or directory\n", "command terminated with exit code 1\n") == (
        "open /srv/x: no such file or directory"
    )
    assert kube._why("", 'error: unable to upgrade connection: container not found ("cms")\n') == (
        'error: unable to upgrade connection: container not found ("cms")'
    )
    assert kube._why("", "command terminated with exit code 137\n") == "command terminated with exit code 137"
    assert kube._why("", "") == "no output"


def test_a_task_is_known_by_the_hostname_the_kubelet_gives_it() -> None:
    long = "checkout-frontend-" + "a" * 44 + "-7f9c8d6b5-x2x9z"  # the 63rd character is a "-"
    assert lab10_load_balancing.hostname({"metadata": {"name": long}}) == long[:62]
    assert lab10_load_balancing.hostname({"metadata": {"name": "web-7f9c-a"}}) == "web-7f9c-a"
