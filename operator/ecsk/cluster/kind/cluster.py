"""`ecsk kind up | down | status`: a kind cluster running ecsk with real containers.

`up` is idempotent: it builds (or pulls) what is missing, creates the cluster unless one made
from the same node image and configuration runs already (a cluster made by an older version is
deleted and created again, as the embedded cluster does), loads the locally built images onto
the nodes and installs the CRDs, operator and metrics adapter with `kubectl apply -k manifests/`.
Nothing is created before the Docker engine has been checked. `down` deletes the cluster, the
`kind` Docker network when nothing else uses it, and the state file.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ecsk.cluster import binaries, paths
from ecsk.cluster import registry as distribution
from ecsk.cluster.binaries import Progress
from ecsk.cluster.embedded.local import load_fleet
from ecsk.cluster.kind import (
    config,
    ecr,
    efs,
    host,
    images,
    kwok,
    metrics,
    netpolicy,
    nodeimage,
    steps,
    toolchain,
)
from ecsk.core.ecr.names import registry_host

DEFAULT_CLUSTER = paths.CLUSTER_NAME
OPERATOR_NS = "ecsk-system"
# On a kind node the images were loaded by `up`, like an instance with cached images: ECS's
# `prefer-cached` agent setting, so `ecsk-testapp:latest` is not pulled from a registry.
PULL_BEHAVIOR = "prefer-cached"
# The target groups' deregistration delay on kind: ELB's default of 300 s would keep every
# replaced task draining for five minutes on a laptop. It must outlast kube-proxy's network
# programming latency on every node (pod change -> rules in place): under 2 s on an idle host,
# but measured up to 10-15 s on a shared 2-core host at load 30, where a 15 s drain lost a
# request (the old task's IP gone while still routed to). 30 s covers that.
DEREGISTRATION_DELAY = 30
DEFAULT_LB_PORT = 18080
LB_PORT_ENV = "ECSK_KIND_LB_PORT"


class KindError(RuntimeError):
    """`ecsk kind` could not do what was asked; the message says why and what to do."""


def name() -> str:
    """The kind cluster's name: `ecsk`, or `$ECSK_KIND_CLUSTER` to keep several side by side
    (a CI job per branch, a lab next to a test run); each has its own kubeconfig and state."""
    return os.environ.get("ECSK_KIND_CLUSTER") or DEFAULT_CLUSTER


def kubeconfig() -> Path:
    suffix = "" if name() == DEFAULT_CLUSTER else f"-{name()}"
    return paths.home() / f"kind-kubeconfig{suffix}"


def _port_env(variable: str, default: int) -> int:
    raw = os.environ.get(variable) or str(default)
    if not raw.isdigit() or not 1 <= int(raw) <= 65535:
        raise KindError(f"{variable}={raw!r} is not a port number (1-65535)")
    return int(raw)


def api_port() -> int:
    """Host port of this cluster's AWS API endpoint: `$ECSK_KIND_API_PORT`, else 4600."""
    return _port_env("ECSK_KIND_API_PORT", config.DEFAULT_API_PORT)


def registry_port() -> int:
    """Host port of this cluster's ECR registry (`docker push 127.0.0.1:<port>/<repo>:<tag>`):
    `$ECSK_KIND_REGISTRY_PORT`, else the API endpoint's port + 1 (4601 by default), so a cluster
    given its own API port gets its own registry port too."""
    return _port_env("ECSK_KIND_REGISTRY_PORT", api_port() + 1)


def registry_address() -> str | None:
    """`127.0.0.1:<port>`, what `docker push` names, once `up` has published it (None before)."""
    port = (json.loads(state_file().read_text()) if state_file().is_file() else {}).get("registryPort")
    return f"127.0.0.1:{port}" if port else None


def api_url() -> str | None:
    """The endpoint's URL from the host, once `up` has published it (None before)."""
    port = (json.loads(state_file().read_text()) if state_file().is_file() else {}).get("apiPort")
    return f"http://127.0.0.1:{port}" if port else None


def work_dir() -> Path:
    """Rendered config, overlays and state of this cluster (the default keeps the old place)."""
    return steps.kind_home() if name() == DEFAULT_CLUSTER else steps.kind_home() / "clusters" / name()


def state_file() -> Path:
    return work_dir() / "cluster.json"


def registry_dir() -> Path:
    """The ECR registry's storage (Distribution's `data/`, its secrets beside): kept by `down`."""
    return distribution.state_dir(work_dir())


def containerd_hosts_dir() -> Path:
    """Mounted at /etc/containerd/certs.d in every node: where ECR image names are pulled from."""
    return work_dir() / "containerd-certs.d"


def efs_dir() -> Path:
    """The host directory every node mounts: the file system behind `efs.csi.aws.com`."""
    return work_dir() / "efs"


def load_balancer_ports() -> config.LoadBalancerPorts:
    """The host ports (127.0.0.1) of the load-balanced services: `$ECSK_KIND_LB_PORT` and the
    next ones (default 18080-18089); two clusters side by side need different values."""
    raw = os.environ.get(LB_PORT_ENV) or str(DEFAULT_LB_PORT)
    count = config.LOAD_BALANCER_PORTS
    if not raw.isdigit() or not 1024 <= int(raw) <= 65535 - count:
        raise KindError(f"{LB_PORT_ENV}={raw!r}: must be a port number from 1024 to {65535 - count}")
    return config.LoadBalancerPorts(int(raw), count)


def published_load_balancer_ports() -> config.LoadBalancerPorts | None:
    """The host ports the running cluster was made with (from its state), None before `up`."""
    state = json.loads(state_file().read_text()) if state_file().is_file() else {}
    lb = state.get("loadBalancerPorts")
    return config.LoadBalancerPorts(int(lb["hostBase"]), int(lb["count"])) if lb else None


def load_balancer_url(node_port: int) -> str:
    """`http://127.0.0.1:<host port>/`: where the host reaches a load-balanced Service of this
    cluster (its node port, published by `up`), as a client reaches an ALB's listener."""
    ports = published_load_balancer_ports()
    if ports is None:
        raise KindError(
            f"kind cluster {name()} has published no load balancer ports ({state_file()} has none): "
            "run `ecsk kind up`, and set ECSK_KIND_CLUSTER when the cluster is not the default one"
        )
    try:
        return f"http://127.0.0.1:{ports.host_port(node_port)}/"
    except ValueError as exc:
        raise KindError(f"kind cluster {name()}: {exc}") from exc


def _busy_host_ports(ports: config.LoadBalancerPorts) -> list[int]:
    """Host ports of the range something already listens on (kind would fail half-way)."""
    busy = []
    for m in ports.mappings():
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", m["hostPort"]))
            except OSError:
                busy.append(m["hostPort"])
    return busy


def _tools(say: Progress) -> dict[str, Path]:
    """kind and kubectl only (cheap when cached); the node image builds the rest when needed."""
    out: dict[str, Path] = {}
    for b in toolchain.builds():
        if b.name in ("kind", "kubernetes-node"):
            wanted = {k: v for k, v in b.binaries.items() if k in ("kind", "kubectl")}
            part = binaries.Build(
                name=b.name, version=b.version, binaries=wanted, toolchain=b.toolchain, ldflags=b.ldflags
            )
            binaries.build(part, say, steps.log_dir())
            out.update({k: part.cached(k) for k in wanted})
    return out


def _run(cmd: list[str], *, check: bool = True, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    if check and proc.returncode != 0:
        raise KindError(f"`{' '.join(cmd)}` failed: {(proc.stderr or proc.stdout).strip()[-2000:]}")
    return proc


def clusters(kind: Path) -> list[str]:
    return _run([str(kind), "get", "clusters"]).stdout.split()


def node_image(say: Progress, requested: str | None) -> str:
    """The standard kind node image where it can be pulled, else the locally built one."""
    if requested:
        return requested
    standard = kind_default_image()
    built = nodeimage.image_ref()
    if steps.image_exists(built) and not steps.image_exists(standard):
        return built  # built here before: no pull attempt (an offline host may hang on one)
    if images.pullable(standard):
        return standard
    say(f"{standard.split('@')[0]} cannot be pulled: using the node image built from Go modules")
    return nodeimage.ensure(say)


def kind_default_image() -> str:
    src = nodeimage.kind_source()
    text = (src / "pkg/apis/config/defaults/image.go").read_text()
    return text.split('const Image = "', 1)[1].split('"', 1)[0]


@dataclass
class Status:
    exists: bool
    nodes: list[str]
    state: dict[str, Any]


def _node_containers(fmt: str) -> list[str]:
    """One line per node container of the cluster (running or not), in Docker's `--format`."""
    out = _run(
        ["docker", "ps", "-a", "--filter", f"label=io.x-k8s.kind.cluster={name()}", "--format", fmt]
    ).stdout
    return [line for line in out.splitlines() if line.strip()]


def status() -> Status:
    """What `ecsk kind status` shows; asks Docker only (works with no kind binary built)."""
    host.require_docker()
    nodes = _node_containers("{{.Names}} {{.Status}}")
    state = json.loads(state_file().read_text()) if state_file().is_file() else {}
    return Status(exists=bool(nodes), nodes=nodes, state=state)


def stopped_nodes() -> list[str]:
    """Node containers of the cluster that are not running."""
    lines = _node_containers("{{.Names}} {{.State}}")
    return [line.split()[0] for line in lines if line.split()[-1] != "running"]


def _config(node_img: str, fleet_file: Path | None) -> dict[str, Any]:
    return config.render(
        load_fleet(fleet_file),
        name=name(),
        node_image=node_img,
        scheduler_config=steps.repo_dir("kind") / "scheduler-config.yaml",
        restrict_oom_score_adj=host.lacks_cap_sys_resource(),
        cgroup_v1=config.host_is_cgroup_v1(),
        host=config.HostCapacity(*host.engine_capacity()),
        api_port=api_port(),
        load_balancers=load_balancer_ports(),
        shared_mount=efs.mount(efs_dir()),
        registry_port=registry_port(),
        node_mounts=ecr.node_mounts(registry_dir(), containerd_hosts_dir()),
        containerd_patches=[ecr.CONFIG_PATH_PATCH],
    )


def up(say: Progress = print, *, node_image_ref: str | None = None, fleet_file: Path | None = None) -> Path:
    """Bring the cluster up (idempotent); returns the kubeconfig path."""
    started = time.monotonic()
    host.require_docker()  # before anything is built or created
    fleet_config_check = load_fleet(fleet_file)  # refuse a bad fleet file before any work
    del fleet_config_check
    tools = _tools(say)
    kind, kubectl = tools["kind"], tools["kubectl"]
    node_img = node_image(say, node_image_ref)
    app_images = [
        images.testapp_image(say),
        images.operator_image(say),
        kwok.image(say),
        metrics.image(say),
        netpolicy.image(say),
        ecr.image(say),
    ]
    cfg = _config(node_img, fleet_file)
    cfg_key = steps.key(cfg)
    # the nodes mount both: they must exist (the storage owned by the pod's uid) before kind runs
    ecr.prepare_storage(registry_dir())
    ecr.write_hosts(containerd_hosts_dir(), *_account_region())
    state = json.loads(state_file().read_text()) if state_file().is_file() else {}
    if name() in clusters(kind) and state.get("config") != cfg_key:
        say(f"cluster {name()} was made by another version or configuration: recreating it")
        _delete(kind, say)
    elif name() in clusters(kind) and (stopped := stopped_nodes()):
        # The engine was restarted (a reboot, a CI host whose dockerd was killed): node containers
        # that came back stopped, or half-started, are not worth nursing; a new cluster is ~1 min.
        say(f"node containers not running ({', '.join(stopped)}): recreating cluster {name()}")
        _delete(kind, say)
    if name() not in clusters(kind):
        busy = _busy_host_ports(load_balancer_ports())
        if busy:
            raise KindError(
                f"host ports {', '.join(map(str, busy))} are in use (another kind cluster?): set "
                f"{LB_PORT_ENV} to the first of {config.LOAD_BALANCER_PORTS} free ports"
            )
        _require_free_port(api_port(), "ECSK_KIND_API_PORT", "AWS API endpoint")
        _require_free_port(registry_port(), "ECSK_KIND_REGISTRY_PORT", "ECR registry")
        efs_dir().mkdir(parents=True, exist_ok=True)
        _create(kind, cfg, say)
        state = {}
    loaded = _load_images(kind, app_images, dict(state.get("loaded") or {}), say)
    lb = load_balancer_ports()
    state = {
        "config": cfg_key,
        "nodeImage": node_img,
        "images": app_images,
        "loaded": loaded,
        "apiPort": api_port(),
        "registryPort": registry_port(),
        "loadBalancerPorts": {"hostBase": lb.host_base, "count": lb.count},
    }
    state_file().parent.mkdir(parents=True, exist_ok=True)
    state_file().write_text(json.dumps(state, indent=2))
    _install_operator(kubectl, app_images[1], app_images[5], say)
    kwok.install(kubectl, kubeconfig(), say)
    metrics.install(kubectl, kubeconfig(), say)
    netpolicy.install(kubectl, kubeconfig(), app_images[4], say)
    efs.install(kubectl, kubeconfig(), say)
    _wait_http(f"{api_url()}/ping", (200,), f"the AWS API endpoint does not answer at {api_url()}")
    # 401: the front door answers (it asks for `docker login` before anything reaches Distribution)
    _wait_http(
        f"http://{registry_address()}/v2/",
        (401,),
        f"the ECR registry does not answer at {registry_address()}",
    )
    say(f"kind cluster {name()} ready in {time.monotonic() - started:.0f}s; export KUBECONFIG={kubeconfig()}")
    say(f"AWS API endpoint: AWS_ENDPOINT_URL={api_url()} (or `ecsk api url --kind`)")
    say(
        f"ECR registry: docker push {registry_address()}/<repository>:<tag> (after `aws ecr "
        f"get-login-password | docker login -u AWS --password-stdin {registry_address()}`); tasks name "
        f"{registry_host(*_account_region())}/<repository>:<tag>"
    )
    return kubeconfig()


def _create(kind: Path, cfg: dict[str, Any], say: Progress) -> None:
    cfg_path = work_dir() / "kind-config.yaml"
    cfg_path.parent.mkdir(parents=True, exist_ok=True)
    cfg_path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    say(f"creating kind cluster {name()}: 1 control plane + {len(cfg['nodes']) - 1} workers ({cfg_path})")
    try:
        steps.run(
            "kind-create-cluster",
            [
                str(kind),
                "create",
                "cluster",
                "--name",
                name(),
                "--config",
                str(cfg_path),
                "--kubeconfig",
                str(kubeconfig()),
                "--wait",
                "240s",
            ],
            say,
            timeout=600,
        )
    except steps.StepError:
        # nothing half-created: a failed create leaves no node containers behind
        _run([str(kind), "delete", "cluster", "--name", name()], check=False)
        raise


def _image_id(ref: str) -> str:
    return _run(["docker", "image", "inspect", "-f", "{{.Id}}", ref]).stdout.strip()


def _load_images(kind: Path, refs: list[str], loaded: dict[str, str], say: Progress) -> dict[str, str]:
    """`kind load docker-image` for each image not yet on the nodes in this exact build."""
    out = {}
    # tasks never run on the (tainted) control plane: loading onto the workers only saves a copy
    listed = _run([str(kind), "get", "nodes", "--name", name()]).stdout.split()
    workers = ",".join(n for n in listed if "control-plane" not in n)
    for ref in refs:
        image_id = _image_id(ref)
        if loaded.get(ref) != image_id:
            cmd = [str(kind), "load", "docker-image", ref, "--name", name(), "--nodes", workers]
            steps.run(f"kind-load-{ref.split(':')[0]}", cmd, say)
        out[ref] = image_id
    return out


def _account_region() -> tuple[str, str]:
    """The account and region the in-cluster endpoint serves (manifests/api.yaml's env): the ECR
    registry host the nodes' containerd maps is theirs."""
    doc = next(
        d
        for d in yaml.safe_load_all((steps.repo_dir("manifests") / "api.yaml").read_text())
        if d and d.get("kind") == "Deployment"
    )
    env = {e["name"]: e["value"] for e in doc["spec"]["template"]["spec"]["containers"][0]["env"]}
    return env["ECSK_ACCOUNT"], env["ECSK_REGION"]


def overlay(
    manifests: Path, image: str, directory: Path, registry_image: str | None = None, registry_secret: str = ""
) -> str:
    """A kustomization on top of manifests/ that only pins the operator image just built and sets
    the image pull behaviour, so one `kubectl apply -k` installs the right thing (no rollout of
    the placeholder `ecsk-operator:dev` first), load-balanced services as the published node
    ports, kind's deregistration delay, and the AWS API endpoint's Service as the NodePort the
    control plane's host port mapping points at. With `registry_image`: the ECR registry beside
    the endpoint (`ecsk.cluster.kind.ecr`), its front door a second published NodePort."""
    name, tag = image.rsplit(":", 1)
    patch = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "ecsk-operator", "namespace": OPERATOR_NS},
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {
                            "name": "operator",
                            "env": [
                                {"name": "ECS_IMAGE_PULL_BEHAVIOR", "value": PULL_BEHAVIOR},
                                {"name": "ECSK_LOAD_BALANCER_NODE_PORTS", "value": "true"},
                                {"name": "ECSK_DEREGISTRATION_DELAY", "value": str(DEREGISTRATION_DELAY)},
                            ],
                        }
                    ]
                }
            }
        },
    }
    api_service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "ecsk-api", "namespace": OPERATOR_NS},
        "spec": {
            "type": "NodePort",
            # (port, protocol) is the list's merge key: without protocol kustomize drops nodePort
            "ports": [
                {
                    "name": "aws",
                    "port": 4599,
                    "protocol": "TCP",
                    "targetPort": "aws",
                    "nodePort": config.API_NODE_PORT,
                },
                *([ecr.push_service_port(config.REGISTRY_NODE_PORT)] if registry_image else []),
            ],
        },
    }
    doc: dict[str, Any] = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": [os.path.relpath(manifests, directory)],  # kustomize refuses absolute paths
        "images": [{"name": "ecsk-operator", "newName": name, "newTag": tag}],
        "patches": [
            {"patch": yaml.safe_dump(patch, sort_keys=False)},
            {"patch": yaml.safe_dump(api_service, sort_keys=False)},
        ],
    }
    if registry_image:
        for key, entry in ecr.overlay_parts(directory, registry_image, registry_secret):
            doc.setdefault(key, []).append(entry)
    return yaml.safe_dump(doc, sort_keys=False)


def _install_operator(kubectl: Path, image: str, registry_image: str, say: Progress) -> None:
    directory = work_dir() / "overlay"
    directory.mkdir(parents=True, exist_ok=True)
    secret = distribution.http_secret(work_dir())
    text = overlay(steps.repo_dir("manifests"), image, directory, registry_image, secret)
    (directory / "kustomization.yaml").write_text(text)
    say("installing the CRDs, operator and metrics adapter (kubectl apply -k manifests/, image pinned)")
    kc = [str(kubectl), "--kubeconfig", str(kubeconfig())]
    steps.run("kubectl-apply-manifests", [*kc, "apply", "-k", str(directory)], say)
    steps.rollout("operator-rollout", kc, OPERATOR_NS, "deployment/ecsk-operator", say, 300)
    steps.rollout("api-rollout", kc, OPERATOR_NS, "deployment/ecsk-api", say, 300)


def _require_free_port(port: int, variable: str, what: str) -> None:
    """kind would fail late and obscurely on a taken host port: refuse first, naming the knob."""
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            raise KindError(
                f"port {port} on 127.0.0.1 is taken (another kind cluster or the embedded cluster's "
                f"endpoint?): set {variable} to a free port for this cluster's {what}"
            ) from None


def _wait_http(url: str, statuses: tuple[int, ...], failure: str, timeout: float = 120.0) -> None:
    """Until `url` answers with one of `statuses` through the host port mapping."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=3) as resp:
                if resp.status in statuses:
                    return
        except urllib.error.HTTPError as exc:
            if exc.code in statuses:
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise KindError(
                f"{failure}; see `kubectl -n {OPERATOR_NS} logs deploy/ecsk-api --all-containers`"
            )
        time.sleep(1)


def _delete(kind: Path, say: Progress) -> None:
    say(f"deleting kind cluster {name()}")
    _run([str(kind), "delete", "cluster", "--name", name(), "--kubeconfig", str(kubeconfig())])


def down(say: Progress = print) -> None:
    """Delete the cluster and what `up` made beside it (a no-op when there is none)."""
    host.require_docker()
    st = status()
    if st.exists:
        kind = _tools(say)["kind"]
        _delete(kind, say)
    else:
        say(f"no kind cluster {name()}")
    _remove_network(say)
    shutil.rmtree(efs_dir(), ignore_errors=True)  # the EFS stand-in's data goes with the cluster
    state_file().unlink(missing_ok=True)
    kubeconfig().unlink(missing_ok=True)


def _remove_network(say: Progress) -> None:
    """kind leaves its `kind` network behind; remove it unless something else still uses it."""
    inspect = _run(["docker", "network", "inspect", "kind", "--format", "{{len .Containers}}"], check=False)
    if inspect.returncode != 0:
        return
    if inspect.stdout.strip() == "0":
        _run(["docker", "network", "rm", "kind"])
        say("removed the kind Docker network")
    else:
        say("kept the kind Docker network: other containers still use it")
