"""The endpoint as a background process of the local cluster, like the operator: `cluster up`
starts it (`start`), `cluster down` stops it (`stop`). State lives in the ecsk home directory
given by the caller (the CLI passes `ecsk.cluster.paths.home()`)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from ecsk import source_fingerprint
from ecsk.api.context import DEFAULT_PORT


def pid_file(home: Path) -> Path:
    return home / "api.pid"


def fingerprint_file(home: Path) -> Path:
    return home / "api.fingerprint"


def fingerprint(port: int, extra: list[str] | None) -> str:
    """What the running endpoint must match to be kept: this code and these arguments."""
    return " ".join([source_fingerprint(), str(port), *(extra or [])])


def log_file(home: Path) -> Path:
    return home / "api.log"


def running_pid(home: Path) -> int | None:
    with contextlib.suppress(FileNotFoundError, ValueError):
        pid = int(pid_file(home).read_text())
        try:
            os.kill(pid, 0)
        except OSError:
            return None
        return pid
    return None


def listening(port: int, host: str = "127.0.0.1") -> bool:
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


def start(
    home: Path, kubeconfig: str, port: int = DEFAULT_PORT, extra: list[str] | None = None, wait: float = 15.0
) -> tuple[int, bool]:
    """Start `ecsk api serve` in the background unless ours already runs; (pid, started).

    One started from other code or with other arguments (a `git pull` since) is replaced. Waits
    until the port accepts connections, so the URL works as soon as this returns."""
    pid = running_pid(home)
    want = fingerprint(port, extra)
    if pid:
        with contextlib.suppress(FileNotFoundError):
            if fingerprint_file(home).read_text() == want:
                return pid, False
        stop(home)
        _wait_port_free(port, wait)
    home.mkdir(parents=True, exist_ok=True)
    with open(log_file(home), "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "ecsk.cli.main", "api", "serve", "--port", str(port), *(extra or [])],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=dict(os.environ, KUBECONFIG=kubeconfig),
            start_new_session=True,
        )
    pid_file(home).write_text(str(proc.pid))
    fingerprint_file(home).write_text(want)
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline and proc.poll() is None and not listening(port):
        time.sleep(0.1)
    if proc.poll() is not None:
        with contextlib.suppress(FileNotFoundError):
            pid_file(home).unlink()
        raise RuntimeError(f"the ecsk API endpoint exited at start; see {log_file(home)}")
    return proc.pid, True


def _wait_port_free(port: int, wait: float) -> None:
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline and listening(port):
        time.sleep(0.1)


def stop(home: Path) -> bool:
    pid = running_pid(home)
    with contextlib.suppress(FileNotFoundError):
        pid_file(home).unlink()
    if not pid:
        return False
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGTERM)
    return True
