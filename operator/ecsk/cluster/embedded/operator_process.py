"""The operator as a background process of the local cluster (kwok pods run no containers, so on
the embedded cluster the operator runs as a local process rather than in a Pod)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from ecsk import source_fingerprint
from ecsk.cluster import paths, pidfile


def pid_file() -> Path:
    return paths.home() / "operator.pid"


def fingerprint_file() -> Path:
    return paths.home() / "operator.fingerprint"


def log_file() -> Path:
    return paths.home() / "operator.log"


def running_pid() -> int | None:
    return pidfile.running(pid_file())


def start(kubeconfig: str) -> tuple[int, bool]:
    """Start `ecsk operator` in the background unless ours already runs; (pid, started).

    One running older code (started before a `git pull` or branch switch) is stopped first: it
    releases its leader Lease on SIGTERM, so the new one takes over at once."""
    pid = running_pid()
    if pid:
        if fingerprint_file().is_file() and fingerprint_file().read_text() == source_fingerprint():
            return pid, False
        stop()
    paths.home().mkdir(parents=True, exist_ok=True)
    with open(log_file(), "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "ecsk.cli.main", "operator"],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=dict(os.environ, KUBECONFIG=kubeconfig),
            start_new_session=True,
        )
    pid_file().write_text(str(proc.pid))
    fingerprint_file().write_text(source_fingerprint())
    return proc.pid, True


def stop() -> bool:
    return pidfile.terminate(pid_file())
