"""The embedded local cluster: real control-plane binaries run by kwokctl, nodes simulated by kwok.

kwokctl's binary runtime does the process supervision, PKI and kubeconfig; this module adds what
ecsk promises on top: binaries built from pinned Go modules, every listener on 127.0.0.1 only,
the bin-packing scheduler profile, an EKS-like fleet, and idempotent up/down (starting twice,
stopping twice or starting after a crash ends in a working cluster or a clear error, never a
half-started one).
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import json
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from ecsk.cluster import binaries, fargate_fleet, paths
from ecsk.cluster.embedded import metrics_adapter, operator_process
from ecsk.core.capacity.fleet import Fleet, render_fleet

FLEET_LABEL = "ecs.ecsk.io/origin"
FLEET_LABEL_VALUE = "fleet"
FIELD_MANAGER = "ecsk-cluster"
LAYOUT_VERSION = 2  # bump when the way clusters are created changes: older ones get recreated


class ClusterError(RuntimeError):
    """A cluster operation failed; the message says what to do next."""


@dataclass
class Status:
    exists: bool
    ready: bool = False
    components: dict[str, bool] = field(default_factory=dict)
    nodes: list[dict[str, Any]] = field(default_factory=list)
    kubeconfig: Path = field(default_factory=paths.kubeconfig)
    detail: str = ""

    @property
    def healthy(self) -> bool:
        return self.exists and self.ready and all(self.components.values())


@contextlib.contextmanager
def _locked() -> Iterator[None]:
    """One cluster operation at a time: a second `up` waits instead of racing the first."""
    paths.home().mkdir(parents=True, exist_ok=True)
    with open(paths.lock_file(), "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _env() -> dict[str, str]:
    return dict(os.environ, KWOK_WORKDIR=str(paths.kwok_workdir()))


def _kwokctl(tools: binaries.Toolset, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(tools["kwokctl"]), "--name", paths.CLUSTER_NAME, *args],
        env=_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def kubectl(
    tools: binaries.Toolset, *args: str, stdin: str | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(tools["kubectl"]), "--kubeconfig", str(paths.kubeconfig()), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _free_ports(n: int) -> list[int]:
    socks, ports = [], []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
            ports.append(s.getsockname()[1])
    finally:
        for s in socks:
            s.close()
    return ports


def _pid_alive(pid_file: Path) -> bool:
    try:
        pid = int(pid_file.read_text().strip())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return False
    # A zombie or a recycled pid of another program is not our component.
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return True
    return str(paths.cluster_dir()).encode() in cmdline or pid_file.stem.encode() in cmdline


READYZ_ATTEMPTS = 4
READYZ_PAUSE = 3.0


def status(tools: binaries.Toolset | None = None) -> Status:
    cdir = paths.cluster_dir()
    if not (cdir / "kwok.yaml").is_file():
        return Status(exists=False, detail="no cluster")
    st = Status(exists=True)
    for pid_file in sorted((cdir / "pids").glob("*.pid")):
        st.components[pid_file.stem] = _pid_alive(pid_file)
    if not paths.kubeconfig().is_file():
        st.detail = f"kubeconfig {paths.kubeconfig()} is missing"
        return st
    if tools is None:
        tools = binaries.ensure(lambda _m: None, with_metrics_server=False)
    # A busy machine can make a healthy apiserver miss one /readyz deadline: with every process
    # alive, ask a few times before calling it crashed (a restart of a healthy cluster is costly).
    attempts = READYZ_ATTEMPTS if st.components and all(st.components.values()) else 1
    for attempt in range(attempts):
        ready = kubectl(tools, "get", "--raw", "/readyz", timeout=20)
        st.ready = ready.returncode == 0 and ready.stdout.strip() == "ok"
        if st.ready:
            break
        if attempt + 1 < attempts:
            time.sleep(READYZ_PAUSE)
    if st.ready:
        out = kubectl(tools, "get", "nodes", "-o", "json", timeout=20)
        if out.returncode == 0:
            st.nodes = json.loads(out.stdout)["items"]
    else:
        st.detail = (ready.stderr or ready.stdout).strip()[:300]
    return st


def load_fleet(fleet_file: Path | None) -> Fleet:
    if fleet_file is None:
        text = (resources.files("ecsk.cluster") / "data" / "fleet.yaml").read_text()
    else:
        text = fleet_file.read_text()
    try:
        return Fleet.model_validate(yaml.safe_load(text))
    except Exception as exc:  # pydantic.ValidationError and YAML errors alike
        raise ClusterError(f"invalid fleet file {fleet_file or '(default)'}: {exc}") from exc


def _scheduler_config() -> Path:
    return Path(str(resources.files("ecsk.cluster") / "data" / "scheduler.yaml"))


def config_fingerprint(metrics_server: bool) -> str:
    """What a running cluster must have been created with: versions and scheduler profiles.

    A cluster created by an older checkout (other binaries, other profiles) is recreated rather
    than silently reused, so tests never run against a scheduler missing a profile they need.
    """
    text = json.dumps(
        {
            "layout": LAYOUT_VERSION,
            "versions": binaries.versions(),
            "scheduler": _scheduler_config().read_text(),
            "ms": metrics_server,
            # metrics wiring (flags, usage rules, manifest): a change must recreate the cluster
            "ms_config": [METRICS_EXTRA_ARGS, *map(_data_text, METRICS_DATA)] if metrics_server else None,
        },
        sort_keys=True,
    )
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _fingerprint_file() -> Path:
    return paths.cluster_dir() / "ecsk-fingerprint"


def _create(tools: binaries.Toolset, say: binaries.Progress, metrics_server: bool) -> None:
    api, etcd, peer, kwok, kcm, sched = _free_ports(6)
    scheduler_config = _scheduler_config()
    args = [
        "create", "cluster",
        "--runtime", "binary",
        "--kubeconfig", str(paths.kubeconfig()),
        "--kube-apiserver-binary", str(tools["kube-apiserver"]),
        "--kube-controller-manager-binary", str(tools["kube-controller-manager"]),
        "--kube-scheduler-binary", str(tools["kube-scheduler"]),
        "--etcd-binary", str(tools["etcd"]),
        "--kwok-controller-binary", str(tools["kwok"]),
        "--kube-scheduler-config", str(scheduler_config),
        "--kube-apiserver-port", str(api),
        "--etcd-port", str(etcd),
        "--controller-port", str(kwok),
        "--kube-controller-manager-port", str(kcm),
        "--kube-scheduler-port", str(sched),
        "--wait", "120s",
        # Client-side rate limits of the controllers off: a laptop-sized control plane should not
        # take minutes to create 10,000 pods because kube-controller-manager allows 20 QPS.
        "--disable-qps-limits",
    ]  # fmt: skip
    # kwokctl binds 0.0.0.0 by default; the later flag wins, so every listener ends on loopback.
    loopback = {
        "etcd": [
            f"listen-client-urls=http://127.0.0.1:{etcd}",
            f"advertise-client-urls=http://127.0.0.1:{etcd}",
            f"listen-peer-urls=http://127.0.0.1:{peer}",
            f"initial-advertise-peer-urls=http://127.0.0.1:{peer}",
            f"initial-cluster=node0=http://127.0.0.1:{peer}",
        ],
        "kube-apiserver": ["bind-address=127.0.0.1"],
        "kube-controller-manager": ["bind-address=127.0.0.1"],
        "kube-scheduler": ["bind-address=127.0.0.1"],
        "kwok-controller": [f"server-address=127.0.0.1:{kwok}"],
    }
    if metrics_server:
        args += ["--enable", "metrics-server", "--metrics-server-binary", str(tools["metrics-server"])]
        # kwokctl applies only the first patch per component: one source for each component's flags.
        patches = {name: loopback.pop(name, []) + flags for name, flags in METRICS_EXTRA_ARGS.items()}
        args += ["--config", str(_metrics_config(tools, patches))]
    for component, flags in loopback.items():
        for flag in flags:
            args += ["--extra-args", f"{component}={flag}"]
    say(f"starting the control plane (Kubernetes {binaries.KUBE_VERSION}, kwok {binaries.KWOK_VERSION})")
    result = _kwokctl(tools, *args)
    if result.returncode != 0:
        logs = paths.cluster_dir() / "logs"
        _kwokctl(tools, "delete", "cluster", "--kubeconfig", str(paths.kubeconfig()))
        raise ClusterError(
            "the control plane did not come up, so it was removed again (no half-started cluster "
            f"is left behind).\nkwokctl said:\n{_tail(result.stderr)}\nComponent logs were in {logs}."
        )
    _fingerprint_file().write_text(config_fingerprint(metrics_server))


METRICS_EXTRA_ARGS = {
    # kwok's node IP is each node's InternalIP, where metrics-server scrapes: keep it on loopback.
    "kwok-controller": ["node-ip=127.0.0.1"],
    "metrics-server": [
        "bind-address=127.0.0.1",
        "kubelet-preferred-address-types=InternalIP",
        "kubelet-insecure-tls=true",
        "metric-resolution=10s",  # metrics-server's minimum; the request timeout must stay below 90% of it
        "kubelet-request-timeout=5s",
    ],
    # Autoscaling tests and labs should see a reaction within seconds, not the default 15 s.
    "kube-controller-manager": ["horizontal-pod-autoscaler-sync-period=5s"],
}
"""Flags when metrics-server runs (appended: the later flag wins over kwokctl's own). They go
through the configuration file: kwokctl v0.8.0's `--extra-args` mis-indexes a second flag for
any component but the first (index out of range), and only the first patch per component is
applied, so these components' loopback flags move into the file with them."""


METRICS_DATA = ("kwok-usage.yaml", "metrics-server/kustomization.yaml", "metrics-server/metrics-server.yaml")


def _data_text(name: str) -> str:
    return (resources.files("ecsk.cluster") / "data" / name).read_text()


def _metrics_config(tools: binaries.Toolset, patches: dict[str, list[str]]) -> Path:
    """A kwokctl configuration pointing at our metrics-server manifest and kwok usage rules.

    kwokctl otherwise fetches metrics-server's manifest from GitHub (unreachable here); a local
    path is built with `kubectl kustomize`. kwokctl caches a manifest by its source path, so the
    cached copy is dropped first: an upgraded ecsk must not run with a stale manifest.
    """
    data = Path(str(resources.files("ecsk.cluster") / "data"))
    manifest = str(data / "metrics-server")
    digest = hashlib.sha256(manifest.encode()).hexdigest()
    (paths.kwok_workdir() / "cache" / "manifest" / f"{digest}.yaml").unlink(missing_ok=True)
    doc = {
        "apiVersion": "config.kwok.x-k8s.io/v1alpha1",
        "kind": "KwokctlConfiguration",
        "options": {"metricsServerManifests": [manifest], "kubectlBinary": str(tools["kubectl"])},
        "componentsPatches": [
            {"name": name, "extraArgs": [_extra_arg(flag) for flag in flags]}
            for name, flags in patches.items()
        ],
    }
    path = paths.home() / "kwokctl-metrics.yaml"
    path.write_text(yaml.safe_dump(doc) + "---\n" + _data_text("kwok-usage.yaml"))
    return path


def _extra_arg(flag: str) -> dict[str, Any]:
    key, value = flag.split("=", 1)
    return {"key": key, "value": value}


def _tail(text: str, lines: int = 15) -> str:
    """The last lines of kwokctl's output, its JSON log records reduced to message and error."""
    out = []
    for line in text.strip().splitlines()[-lines:]:
        try:
            rec = json.loads(line)
        except ValueError:
            out.append(line)
            continue
        if isinstance(rec, dict) and rec.get("level") in ("ERROR", "WARN"):
            out.append(f"{rec.get('msg', '')}: {rec.get('err', '')}".strip(": "))
    return "\n".join(out)


def _restart(tools: binaries.Toolset, say: binaries.Progress) -> None:
    say("found a stopped or crashed cluster: restarting its components")
    _kwokctl(tools, "stop", "cluster")
    result = _kwokctl(tools, "start", "cluster", "--wait", "120s")
    # kwok only simulates nodes whose lease it holds; the crashed controller's leases stay valid
    # for their full duration (minutes), during which no pod on those nodes would progress.
    # Dropping them lets the new controller take every node over at once.
    kubectl(tools, "delete", "leases", "-n", "kube-node-lease", "--all", "--wait=false")
    st = status(tools)
    if result.returncode != 0 or not st.healthy:
        raise ClusterError(
            "the existing cluster could not be restarted "
            f"({st.detail or _tail(result.stderr, 5)}). Logs: {paths.cluster_dir() / 'logs'}. "
            "Run `ecsk cluster down` and then `ecsk cluster up` to start afresh."
        )


def apply_fleet(tools: binaries.Toolset, fleet: Fleet, say: binaries.Progress) -> list[str]:
    """Create the fleet's nodes, remove fleet nodes no longer in the file, wait until Ready."""
    nodes = render_fleet(fleet)
    for node in nodes:
        node["metadata"]["labels"][FLEET_LABEL] = FLEET_LABEL_VALUE
    wanted = [n["metadata"]["name"] for n in nodes]
    doc = {"apiVersion": "v1", "kind": "List", "items": nodes}
    result = kubectl(tools, "apply", "-f", "-", stdin=json.dumps(doc), timeout=120)
    if result.returncode != 0:
        raise ClusterError(f"creating the fleet's nodes failed: {_tail(result.stderr)}")
    existing = kubectl(tools, "get", "nodes", "-l", f"{FLEET_LABEL}={FLEET_LABEL_VALUE}", "-o", "name")
    stale = [n for n in existing.stdout.split() if n.removeprefix("node/") not in wanted]
    if stale:
        say(f"removing {len(stale)} node(s) no longer in the fleet file")
        kubectl(tools, "delete", *stale, "--wait=false")
    deadline = time.monotonic() + 90
    while True:
        st = status(tools)
        ready = {
            n["metadata"]["name"]
            for n in st.nodes
            if any(c["type"] == "Ready" and c["status"] == "True" for c in n["status"].get("conditions", []))
        }
        if set(wanted) <= ready:
            break
        if time.monotonic() > deadline:
            raise ClusterError(f"nodes not Ready after 90s: {sorted(set(wanted) - ready)}")
        time.sleep(1)
    say(f"fleet ready: {len(wanted)} nodes in {', '.join(fleet.zones)}")
    return wanted


def up(
    fleet_file: Path | None = None,
    say: binaries.Progress = print,
    *,
    metrics_server: bool = True,
) -> Status:
    fleet = load_fleet(fleet_file)  # refuse a bad fleet file before building or starting anything
    with _locked():
        tools = binaries.ensure(say, with_metrics_server=metrics_server)
        st = status(tools)
        if st.exists and _recorded_fingerprint() != config_fingerprint(metrics_server):
            say("the existing cluster was created with other versions or scheduler profiles: recreating it")
            _delete(tools)
            st = status(tools)
        if st.healthy:
            say("the local cluster is already running")
        elif st.exists:
            _restart(tools, say)
        else:
            _create(tools, say, metrics_server)
        apply_fleet(tools, fleet, say)
        try:
            fargate_fleet.apply(functools.partial(kubectl, tools), fleet, say)
        except fargate_fleet.FargateFleetError as exc:
            raise ClusterError(str(exc)) from exc
        _ensure_metrics_adapter(tools, say)
        say(f"kubeconfig: {paths.kubeconfig()}  (export KUBECONFIG={paths.kubeconfig()})")
        return status(tools)


def down(say: binaries.Progress = print) -> bool:
    """Delete the cluster; returns False when there was none (stopping twice is fine)."""
    with _locked():
        if operator_process.stop():
            say("stopped the background operator")
        if metrics_adapter.stop():
            say("stopped the metrics adapter")
        if not (paths.cluster_dir() / "kwok.yaml").is_file():
            say("no local cluster to delete")
            return False
        _delete(binaries.ensure(say, with_metrics_server=False))
        say("local cluster deleted")
        return True


def _ensure_metrics_adapter(tools: binaries.Toolset, say: binaries.Progress) -> None:
    """ecsk's external metrics API (ALB request counts, customized metrics) for the HPA.

    Why a failure only warns: everything but those two kinds of target tracking works without
    it. A registration left pointing at no adapter is removed, because an unavailable
    APIService makes every client's discovery report errors.
    """

    def apply(docs: list[dict[str, Any]]) -> None:
        doc = json.dumps({"apiVersion": "v1", "kind": "List", "items": docs})
        result = kubectl(tools, "apply", "-f", "-", stdin=doc)
        if result.returncode != 0:
            raise RuntimeError(f"registering the metrics adapter failed: {_tail(result.stderr)}")

    try:
        metrics_adapter.ensure(paths.kubeconfig(), apply, say)
    except (OSError, RuntimeError, subprocess.SubprocessError) as exc:
        metrics_adapter.stop()
        kubectl(tools, "delete", "apiservice", metrics_adapter.APISERVICE, "--ignore-not-found")
        say(f"warning: {exc}; ALBRequestCountPerTarget and customized-metric target tracking will not scale")


def _recorded_fingerprint() -> str:
    try:
        return _fingerprint_file().read_text().strip()
    except FileNotFoundError:
        return ""


def _delete(tools: binaries.Toolset) -> None:
    result = _kwokctl(tools, "delete", "cluster", "--kubeconfig", str(paths.kubeconfig()))
    if result.returncode != 0:
        raise ClusterError(f"deleting the cluster failed: {_tail(result.stderr)}")
    with contextlib.suppress(FileNotFoundError):
        paths.kubeconfig().unlink()
