"""The real-container variants' pure checks, with a stand-in for `kubectl exec`: what each
outcome of the file round trip makes the check say."""

from __future__ import annotations

import pytest

from ecsk.labs import catalog, lab13_bind_mounts
from ecsk.labs.engine import ProbeError
from ecsk.labs.lab13_bind_mounts import PROBE_FILE, file_problems


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
    assert {c["image"] for c in td["spec"]["containerDefinitions"]} == {lab13_bind_mounts.TESTAPP}
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
        type(lab.real), "live_problems", lambda self, snap, run: run("frontend-1", "web", ["x"])
    )
    monkeypatch.setattr(kube, "executor", lambda api, ns: refused)
    out = runner.check(object(), lab)
    assert not out.ok
    assert out.lines[1] == '  - `x` failed in frontend-1/web: pods "frontend-1" not found'
