"""Background processes of the local cluster, tracked by pid files (the operator, the metrics
adapter, the image registry): one way to tell whether ours still runs and to stop it."""

from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path


def running(pid_file: Path, marker: bytes | None = None) -> int | None:
    """The pid in `pid_file` if that process lives (and, with `marker`, its command line names it:
    a recycled pid of another program is not ours)."""
    try:
        pid = int(pid_file.read_text())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    if marker is not None:
        with contextlib.suppress(OSError):
            if marker not in Path(f"/proc/{pid}/cmdline").read_bytes():
                return None
    return pid


def terminate(pid_file: Path, marker: bytes | None = None) -> bool:
    """Forget the pid file and SIGTERM the process group it names; False when none ran."""
    pid = running(pid_file, marker)
    pid_file.unlink(missing_ok=True)
    if not pid:
        return False
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGTERM)
    return True
