"""The Docker engine the kind path runs on: checking it, and preparing one on a build host.

`require_docker()` is what `ecsk kind up` calls: it never changes the machine, it says what to
run. `host_prep()` is the separate, explicit command for CI and build hosts (root, Debian, no
systemd): it installs Debian's docker.io and the build dependencies, registers a runc wrapper as
the default runtime when the host's capability bounding set lacks CAP_SYS_RESOURCE (docker gives
`--privileged` containers every capability, and kind nodes are privileged containers, so they
could not start otherwise), and starts dockerd in the background with its log in the ecsk cache.
Every step checks first, so running it again changes nothing.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

from ecsk.cluster import paths
from ecsk.cluster.binaries import Progress

# docker.io: the engine; libseccomp-dev + pkg-config + gcc: runc's seccomp build (CGO);
# debootstrap: the node image's Debian root filesystem; jq: the runc wrapper edits OCI JSON.
PACKAGES = ("docker.io", "libseccomp-dev", "pkg-config", "gcc", "libc6-dev", "debootstrap", "jq")
DAEMON_JSON = Path("/etc/docker/daemon.json")
WRAPPER = Path("/usr/local/libexec/ecsk/runc-no-sys-resource")
RUNTIME_NAME = "ecsk-runc"
CAP_SYS_RESOURCE = 24  # bit number in /proc/<pid>/status CapBnd

PREP_HINT = "on a CI or build host, run `sudo ecsk kind host-prep` (or `make kind-host-prep`)"


class HostError(RuntimeError):
    """The host cannot run the kind path; the message says what to do."""


def docker_problem(timeout: float = 20) -> str | None:
    """None when a Docker engine answers, else a message naming the fix.

    Docker Desktop, colima or a distribution's package all work: only `docker info` is asked."""
    docker = shutil.which("docker")
    if docker is None:
        return (
            "no Docker engine: `docker` is not on PATH. Install Docker "
            f"(https://docs.docker.com/engine/install/) or, {PREP_HINT}."
        )
    try:
        proc = subprocess.run(
            [docker, "info", "--format", "{{.ServerVersion}}"],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return (
            f"the Docker engine did not answer `docker info` within {timeout:.0f}s; start it or, {PREP_HINT}."
        )
    if proc.returncode != 0 or not proc.stdout.strip():
        detail = (proc.stderr or proc.stdout).strip().splitlines()
        why = detail[-1] if detail else f"exit code {proc.returncode}"
        return (
            f"the Docker engine is not running ({why}); start it (Docker Desktop, "
            f"`sudo systemctl start docker`) or, {PREP_HINT}."
        )
    return None


def require_docker() -> None:
    problem = docker_problem()
    if problem:
        raise HostError(problem)


def engine_capacity() -> tuple[int, int]:
    """(millicpu, MiB) of the Docker engine's host: what each kind node's kubelet sees."""
    proc = subprocess.run(
        ["docker", "info", "--format", "{{.NCPU}} {{.MemTotal}}"], capture_output=True, text=True, timeout=30
    )
    if proc.returncode != 0:
        raise HostError(f"`docker info` failed: {(proc.stderr or proc.stdout).strip()}")
    ncpu, mem = proc.stdout.split()
    return int(ncpu) * 1000, int(mem) // (1024 * 1024)


def dockerd_log() -> Path:
    return paths.home() / "kind" / "dockerd.log"


def lacks_cap_sys_resource(status: str | None = None) -> bool:
    """True when this process's capability bounding set has no CAP_SYS_RESOURCE (our CI hosts)."""
    text = status if status is not None else Path("/proc/self/status").read_text()
    for line in text.splitlines():
        if line.startswith("CapBnd:"):
            return not int(line.split()[1], 16) >> CAP_SYS_RESOURCE & 1
    return False


# The wrapper edits the OCI bundle (create/run) or the process spec (exec) in place, then execs
# the real runc with the same arguments. Containers that never asked for CAP_SYS_RESOURCE are
# unchanged; privileged ones get every capability the host can actually grant.
WRAPPER_SCRIPT = """#!/bin/sh
# Written by `ecsk kind host-prep`: this host cannot grant CAP_SYS_RESOURCE, which docker hands
# to every --privileged container (kind nodes are), so drop it from the spec before runc sees it.
real={real}
spec=""
cmd=""
prev=""
for arg in "$@"; do
  case "$prev" in
    --bundle|-b) spec="$arg/config.json" ;;
    --process|-p) spec="$arg" ;;
  esac
  case "$arg" in
    --bundle=*) spec="${{arg#--bundle=}}/config.json" ;;
    --process=*) spec="${{arg#--process=}}" ;;
    create|run|exec) [ -z "$cmd" ] && cmd="$arg" ;;
  esac
  prev="$arg"
done
if [ -n "$cmd" ]; then
  [ "$cmd" != exec ] && [ -z "$spec" ] && spec="$PWD/config.json"
  if [ -f "$spec" ] && grep -q CAP_SYS_RESOURCE "$spec"; then
    drop='walk(if type == "array" then map(select(. != "CAP_SYS_RESOURCE")) else . end)'
    jq -c "$drop" "$spec" > "$spec.ecsk" && mv "$spec.ecsk" "$spec"
  fi
fi
exec "$real" "$@"
"""


def _missing_packages() -> list[str]:
    missing = []
    for pkg in PACKAGES:
        proc = subprocess.run(["dpkg-query", "-W", "-f=${Status}", pkg], capture_output=True, text=True)
        if "install ok installed" not in proc.stdout:
            missing.append(pkg)
    return missing


def _apt(args: list[str], say: Progress) -> None:
    log = paths.home() / "kind" / "logs" / "host-prep-apt.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    with log.open("a") as out:
        proc = subprocess.run(["apt-get", *args], stdout=out, stderr=subprocess.STDOUT, env=env)
    if proc.returncode != 0:
        raise HostError(f"`apt-get {' '.join(args)}` failed (exit {proc.returncode}); full log: {log}")


def install_packages(say: Progress) -> None:
    missing = _missing_packages()
    if not missing:
        say(f"packages: {', '.join(PACKAGES)} already installed")
        return
    if shutil.which("apt-get") is None:
        raise HostError(f"missing {missing} and no apt-get: host-prep supports Debian/Ubuntu hosts only")
    say(f"installing {', '.join(missing)} with apt-get")
    _apt(["update", "-q"], say)
    _apt(["install", "-y", "-q", "--no-install-recommends", *missing], say)


def install_wrapper(real_runc: str) -> bool:
    """Write the runc wrapper; True when it changed."""
    text = WRAPPER_SCRIPT.format(real=real_runc)
    if WRAPPER.is_file() and WRAPPER.read_text() == text:
        return False
    WRAPPER.parent.mkdir(parents=True, exist_ok=True)
    tmp = WRAPPER.with_suffix(".tmp")
    tmp.write_text(text)
    tmp.chmod(0o755)
    tmp.replace(WRAPPER)
    return True


def merged_daemon_config(current: dict[str, object], wrapper: Path | None) -> dict[str, object]:
    """daemon.json with the wrapper registered as default runtime (or unregistered), rest kept."""
    config = dict(current)
    runtimes = dict(config.get("runtimes") or {})  # type: ignore[call-overload]
    if wrapper is not None:
        runtimes[RUNTIME_NAME] = {"path": str(wrapper)}
        config["runtimes"] = runtimes
        config["default-runtime"] = RUNTIME_NAME
    return config


def configure_daemon(wrapper: Path | None) -> bool:
    """Write /etc/docker/daemon.json; True when it changed (dockerd must reload it)."""
    current = json.loads(DAEMON_JSON.read_text()) if DAEMON_JSON.is_file() else {}
    wanted = merged_daemon_config(current, wrapper)
    if wanted == current and DAEMON_JSON.is_file():
        return False
    DAEMON_JSON.parent.mkdir(parents=True, exist_ok=True)
    DAEMON_JSON.write_text(json.dumps(wanted, indent=2) + "\n")
    return True


def _dockerd_pid() -> int | None:
    pidfile = Path("/var/run/docker.pid")
    try:
        pid = int(pidfile.read_text().strip())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    return pid


def start_dockerd(say: Progress, timeout: float = 90) -> None:
    """Start dockerd detached (no systemd here), log under the ecsk cache, wait for `docker info`."""
    dockerd = shutil.which("dockerd") or "/usr/sbin/dockerd"
    log = dockerd_log()
    log.parent.mkdir(parents=True, exist_ok=True)
    say(f"starting dockerd (log: {log})")
    with log.open("a") as out:
        subprocess.Popen(
            [dockerd], stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
        )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if docker_problem(timeout=10) is None:
            return
        time.sleep(1)
    raise HostError(f"dockerd did not answer within {timeout:.0f}s; see {log}")


# kind's documented fix for "too many open files": every node's kubelet, containerd and systemd
# hold inotify instances, and Debian's default of 128 per user fits one 4-node cluster, not two
# (a second cluster's kubelets then die on start and `kubeadm join` times out).
INOTIFY_MINIMUMS = {"fs/inotify/max_user_instances": 512, "fs/inotify/max_user_watches": 524288}


def raise_inotify_limits(say: Progress, proc_sys: Path = Path("/proc/sys")) -> None:
    """Raise the inotify limits to kind's recommended minimums; never lowers a larger value."""
    for key, minimum in INOTIFY_MINIMUMS.items():
        path = proc_sys / key
        current = int(path.read_text().strip())
        if current < minimum:
            path.write_text(f"{minimum}\n")
            say(f"{key.replace('/', '.')}: {current} -> {minimum} (several kind nodes)")


def host_prep(say: Progress = print) -> None:
    """Make this host able to run the kind path. Idempotent; for CI and build hosts only."""
    if os.geteuid() != 0:
        raise HostError("host-prep installs packages and starts dockerd: run it as root (sudo)")
    install_packages(say)
    raise_inotify_limits(say)
    wrapper: Path | None = None
    if lacks_cap_sys_resource():
        real = shutil.which("runc") or "/usr/sbin/runc"
        changed = install_wrapper(str(Path(real).resolve()))
        wrapper = WRAPPER
        say(f"runc wrapper {'written' if changed else 'up to date'}: {WRAPPER} (host lacks CAP_SYS_RESOURCE)")
    changed = configure_daemon(wrapper)
    pid = _dockerd_pid()
    if pid is not None and docker_problem() is None:
        if changed:
            os.kill(pid, signal.SIGHUP)  # dockerd reloads runtimes and default-runtime on SIGHUP
            say(f"dockerd (pid {pid}) reloaded {DAEMON_JSON}")
        else:
            say(f"dockerd already running (pid {pid})")
    else:
        start_dockerd(say)
    if wrapper is not None:
        _check_default_runtime(say)
    say("host ready for `ecsk kind up`")


def _check_default_runtime(say: Progress) -> None:
    for _ in range(10):
        out = subprocess.run(
            ["docker", "info", "--format", "{{.DefaultRuntime}}"], capture_output=True, text=True
        ).stdout
        if out.strip() == RUNTIME_NAME:
            say(f"default runtime: {RUNTIME_NAME}")
            return
        time.sleep(0.5)
    raise HostError(f"dockerd did not take {RUNTIME_NAME} as default runtime; see {dockerd_log()}")
