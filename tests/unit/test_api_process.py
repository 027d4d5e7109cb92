"""`ecsk api serve` as the background process `cluster up` starts: listens, answers, stops; and
`ecsk api url` prints the documented default."""

from __future__ import annotations

import json
import socket
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ecsk.api import process
from ecsk.cli.main import app

KUBECONFIG = """apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "http://127.0.0.1:1"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
"""


def test_url_prints_the_fixed_port(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ECSK_API_PORT", raising=False)
    result = CliRunner().invoke(app, ["api", "url"])
    assert result.output.strip() == "http://127.0.0.1:4599"


def test_start_serves_and_stop_ends_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(KUBECONFIG)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("PYTHONPATH", str(Path(__file__).resolve().parents[2] / "operator"))
    pid, started = process.start(tmp_path, str(kubeconfig), port)
    try:
        assert started and process.running_pid(tmp_path) == pid
        assert process.start(tmp_path, str(kubeconfig), port) == (pid, False)  # idempotent
        # started by other code (a `git pull` since): replaced, not kept
        process.fingerprint_file(tmp_path).write_text("older-code " + str(port))
        pid2, restarted = process.start(tmp_path, str(kubeconfig), port)
        assert restarted and pid2 != pid and process.running_pid(tmp_path) == pid2
        pid = pid2
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=5) as resp:
            assert json.loads(resp.read()) == {"status": "ok"}
        # the Kubernetes API (here: nothing on port 1) is down: a retryable 500, not a hang
        req = urllib.request.Request(
            f"http://127.0.0.1:{port}/",
            data=b"{}",
            headers={"X-Amz-Target": "AmazonEC2ContainerServiceV20141113.ListClusters"},
        )
        try:
            urllib.request.urlopen(req, timeout=30)
            raise AssertionError("expected an error")
        except urllib.error.HTTPError as err:
            assert err.code == 500
            assert json.loads(err.read())["__type"] == "ServerException"
    finally:
        assert process.stop(tmp_path)
    deadline = time.monotonic() + 10
    while process.listening(port) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not process.listening(port)
    assert process.running_pid(tmp_path) is None
