"""Labs' real-container variants on kind (`ecsk lab start N --real`): the check fails right after
start, passes after solve only once real files (or traffic) prove the behaviour, and reset is
clean. The operator on kind watches every namespace, so a lab prefix of our own is enough."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pykube
import pytest
from kubetest import wait_for
from typer.testing import CliRunner

from ecsk.cli.main import app
from ecsk.labs import catalog, kube, lab13_bind_mounts, runner
from ecsk.labs.engine import PREFIX_ENV, REAL, LabError, namespace_for

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
        started = CliRunner().invoke(app, ["lab", "start", "13", "--real"])
        assert started.exit_code == 0, started.output
        assert "Runs on: kind, real containers" in started.output
        assert kube.variant(api, ns) == REAL
        with pytest.raises(LabError, match="first to switch"):
            runner.start(api, lab)  # the embedded variant on a real-started lab: refused
        td = pykube.object_factory(api, "ecs.ecsk.io/v1alpha1", "TaskDefinition").objects(api, namespace=ns)
        images = {c["image"] for c in td.get(name="frontend").obj["spec"]["containerDefinitions"]}
        assert images == {lab13_bind_mounts.TESTAPP}
        first = runner.check(api, lab)
        assert not first.ok and "volume named logs" in "\n".join(first.lines), first.lines
        runner.solve(api, lab)
        last: list[str] = []

        def passes() -> bool:
            out = runner.check(api, lab)
            last[:] = out.lines
            return out.ok

        try:
            wait_for(passes, 120, what="lab 13 (real) check to pass after solve")
        except AssertionError as exc:
            raise AssertionError(f"{exc}; last check said: {last}") from None
        pod = wait_for(lambda: [p.name for p in pykube.Pod.objects(api, namespace=ns)], 10)[0]
        seen = kube.executor(api, ns)(
            pod,
            "log-router",
            ["/ecsk-testapp", "get", f"http://localhost:8081/file?path={lab13_bind_mounts.PROBE_FILE}"],
        )
        assert seen.startswith("written by web in "), seen  # the check's own line, read by the sidecar
    finally:
        first_reset = runner.reset(api, lab)
        second_reset = runner.reset(api, lab)
    assert "deleted namespace" in first_reset.lines[0], first_reset.lines
    assert "nothing to delete" in second_reset.lines[0], second_reset.lines
    wait_for(lambda: _gone(api, ns), 90, what="lab 13 namespace gone")
