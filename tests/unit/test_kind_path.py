"""The kind path's pure parts: its cluster configuration, the host checks and prep, the image
archive rewrite and the steps' logs. The real thing runs in tests/integration/kind (`make kind-test`)."""

from __future__ import annotations

import io
import json
import os
import stat
import subprocess
import tarfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from ecsk.cli.main import app
from ecsk.cluster.embedded.local import load_fleet
from ecsk.cluster.kind import cluster, config, efs, host, kwok, netpolicy, nodeimage, steps
from ecsk.core.capacity.fleet import INSTANCE_TYPES, render_fleet

ROOT = Path(__file__).resolve().parents[2]
ZONE = "topology.kubernetes.io/zone"


def render(*, oom: bool = False, v1: bool = False, **extra: Any) -> dict:
    """The kind configuration of the default fleet; `extra` goes to `config.render` as is."""
    return config.render(
        load_fleet(None),
        name="ecsk",
        node_image="ecsk-kind/node:test",
        scheduler_config=ROOT / "kind/scheduler-config.yaml",
        restrict_oom_score_adj=oom,
        cgroup_v1=v1,
        **extra,
    )


def test_kind_scheduler_profiles_equal_the_local_cluster_profiles() -> None:
    local = yaml.safe_load((ROOT / "operator/ecsk/cluster/data/scheduler.yaml").read_text())
    kind = yaml.safe_load((ROOT / "kind/scheduler-config.yaml").read_text())
    assert kind["profiles"] == local["profiles"]
    assert kind["clientConnection"]["kubeconfig"] == "/etc/kubernetes/scheduler.conf"


def test_workers_are_labelled_like_the_embedded_fleet_over_three_zones() -> None:
    cfg = render()
    workers = [n for n in cfg["nodes"] if n["role"] == "worker"]
    assert [w["labels"][ZONE] for w in workers] == ["us-east-1a", "us-east-1b", "us-east-1c"]
    fleet_nodes = [n["metadata"]["labels"] for n in render_fleet(load_fleet(None))]
    for w in workers:
        labels = w["labels"]
        twin = next(
            f
            for f in fleet_nodes
            if f[ZONE] == labels[ZONE]
            and f["node.kubernetes.io/instance-type"] == labels["node.kubernetes.io/instance-type"]
        )
        # exactly the fleet's labels, minus those the kubelet sets itself and kwok's selector
        assert labels == {k: v for k, v in twin.items() if k not in config._NOT_KUBELET_LABELS}
        assert labels["eks.amazonaws.com/nodegroup"] == "ng-general"
        assert labels["eks.amazonaws.com/capacityType"] == "ON_DEMAND"
        assert "type" not in labels  # `type: kwok` would hand a real node to kwok
    assert len({w["labels"]["node.kubernetes.io/instance-type"] for w in workers}) == 3


def test_scheduler_profiles_are_mounted_into_the_control_plane() -> None:
    control_plane = next(n for n in render()["nodes"] if n["role"] == "control-plane")
    patch = yaml.safe_load(control_plane["kubeadmConfigPatches"][0])
    args = {a["name"]: a["value"] for a in patch["scheduler"]["extraArgs"]}
    mount = control_plane["extraMounts"][0]
    assert args["config"] == mount["containerPath"] == patch["scheduler"]["extraVolumes"][0]["hostPath"]
    assert Path(mount["hostPath"]).is_file()


def test_host_fixes_only_where_the_host_needs_them() -> None:
    plain = render()
    assert "containerdConfigPatches" not in plain and "kubeadmConfigPatches" not in plain
    fixed = render(oom=True, v1=True)
    assert "restrict_oom_score_adj = true" in fixed["containerdConfigPatches"][0]
    assert yaml.safe_load(fixed["kubeadmConfigPatches"][0]) == {
        "kind": "KubeletConfiguration",
        "failCgroupV1": False,
    }


def test_cap_sys_resource_is_read_from_the_bounding_set() -> None:
    assert host.lacks_cap_sys_resource("CapBnd:\t000001fffeffffff\n")  # bit 24 clear
    assert not host.lacks_cap_sys_resource("CapBnd:\t000001ffffffffff\n")


def test_daemon_config_keeps_other_settings() -> None:
    merged = host.merged_daemon_config(
        {"log-driver": "json-file", "runtimes": {"x": {"path": "/x"}}}, Path("/w")
    )
    assert merged["log-driver"] == "json-file" and merged["runtimes"]["x"] == {"path": "/x"}
    assert merged["runtimes"][host.RUNTIME_NAME] == {"path": "/w"}
    assert merged["default-runtime"] == host.RUNTIME_NAME
    assert host.merged_daemon_config({"a": 1}, None) == {"a": 1}


def _script(path: Path, body: str) -> Path:
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return path


def test_runc_wrapper_drops_the_capability_and_passes_everything_on(tmp_path: Path) -> None:
    if subprocess.run(["sh", "-c", "command -v jq"], capture_output=True).returncode != 0:
        pytest.skip("jq not installed (host-prep installs it)")
    real = _script(tmp_path / "runc", f'echo "$@" > {tmp_path}/args\n')
    wrapper = _script(tmp_path / "wrapper", host.WRAPPER_SCRIPT.format(real=real).removeprefix("#!/bin/sh\n"))
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    caps = ["CAP_CHOWN", "CAP_SYS_RESOURCE", "CAP_NET_ADMIN"]
    spec = {"process": {"capabilities": {"bounding": caps, "effective": caps}, "env": ["A=CAP_SYS_RESOURCE"]}}
    (bundle / "config.json").write_text(json.dumps(spec))
    subprocess.run([str(wrapper), "--root", "/r", "create", "--bundle", str(bundle), "cid"], check=True)
    edited = json.loads((bundle / "config.json").read_text())
    assert edited["process"]["capabilities"]["bounding"] == ["CAP_CHOWN", "CAP_NET_ADMIN"]
    assert edited["process"]["env"] == ["A=CAP_SYS_RESOURCE"]  # only exact capability names go
    assert (tmp_path / "args").read_text().split() == [
        "--root",
        "/r",
        "create",
        "--bundle",
        str(bundle),
        "cid",
    ]
    process = tmp_path / "process.json"
    process.write_text(json.dumps({"capabilities": {"bounding": caps}}))
    subprocess.run([str(wrapper), "exec", "--process", str(process), "cid"], check=True)
    assert "CAP_SYS_RESOURCE" not in process.read_text()


@pytest.fixture
def fake_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A PATH with nothing but what the test puts there; ECSK_HOME in tmp."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    monkeypatch.setenv("PATH", str(bindir))
    monkeypatch.setenv("ECSK_HOME", str(tmp_path / "home"))
    return bindir


def test_up_without_docker_says_what_to_run_and_creates_nothing(fake_path: Path, tmp_path: Path) -> None:
    out = CliRunner().invoke(app, ["kind", "up"])
    assert out.exit_code == 1
    assert "no Docker engine: `docker` is not on PATH" in out.output
    assert "ecsk kind host-prep" in out.output
    assert not (tmp_path / "home").exists()  # nothing built, nothing half-created


def test_up_with_a_stopped_engine_says_it_is_not_running(fake_path: Path, tmp_path: Path) -> None:
    _script(
        fake_path / "docker",
        'echo "Cannot connect to the Docker daemon at unix:///var/run/docker.sock." >&2\nexit 1\n',
    )
    out = CliRunner().invoke(app, ["kind", "up"])
    assert out.exit_code == 1
    assert "the Docker engine is not running (Cannot connect to the Docker daemon" in out.output
    assert not (tmp_path / "home").exists()


def test_running_engine_passes_the_check(fake_path: Path) -> None:
    _script(fake_path / "docker", "echo 20.10.24\n")
    assert host.docker_problem() is None


def test_failed_step_names_itself_and_keeps_its_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ECSK_HOME", str(tmp_path))
    with pytest.raises(steps.StepError) as err:
        steps.run("node-base", ["sh", "-c", "echo building; echo broken >&2; exit 3"], lambda _m: None)
    log = tmp_path / "kind/logs/node-base.log"
    assert "step 'node-base' failed (exit 3)" in str(err.value) and str(log) in str(err.value)
    assert "building" in log.read_text() and "broken" in log.read_text()


def test_image_names_are_fully_qualified() -> None:
    assert nodeimage.qualified("kindest/kindnetd:v1") == "docker.io/kindest/kindnetd:v1"
    assert nodeimage.qualified("busybox:1") == "docker.io/library/busybox:1"
    assert nodeimage.qualified("registry.k8s.io/pause:3.10") == "registry.k8s.io/pause:3.10"


def _member(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def test_archive_rewrite_puts_every_qualified_tag_first(tmp_path: Path) -> None:
    src = tmp_path / "saved.tar"
    manifest = [
        {"Config": "a.json", "RepoTags": ["kindest/kindnetd:v1"], "Layers": ["l1/layer.tar"]},
        {"Config": "b.json", "RepoTags": ["registry.k8s.io/etcd:3.7.0-0"], "Layers": ["l2/layer.tar"]},
    ]
    with tarfile.open(src, "w") as tar:
        _member(tar, "l1/layer.tar", b"x")
        _member(tar, "manifest.json", json.dumps(manifest).encode())
    dst = tmp_path / "kube-apiserver.tar"
    nodeimage._rewrite_archive(src, dst)
    with tarfile.open(dst) as tar:
        names = tar.getnames()
        repos = json.load(tar.extractfile("repositories"))  # type: ignore[arg-type]
        tags = json.load(tar.extractfile("manifest.json"))  # type: ignore[arg-type]
    assert names[0] == "repositories" and "l1/layer.tar" in names
    assert repos == {"docker.io/kindest/kindnetd": {"v1": "l1"}, "registry.k8s.io/etcd": {"3.7.0-0": "l2"}}
    assert tags[0]["RepoTags"] == ["docker.io/kindest/kindnetd:v1"]


def test_overlay_pins_the_built_operator_image(tmp_path: Path) -> None:
    doc = yaml.safe_load(cluster.overlay(ROOT / "manifests", "ecsk-operator:abc123", tmp_path))
    assert doc["images"] == [{"name": "ecsk-operator", "newName": "ecsk-operator", "newTag": "abc123"}]
    assert (tmp_path / doc["resources"][0]).resolve() == (ROOT / "manifests").resolve()
    patch = yaml.safe_load(doc["patches"][0]["patch"])
    env = patch["spec"]["template"]["spec"]["containers"][0]["env"]
    assert env == [
        {"name": "ECS_IMAGE_PULL_BEHAVIOR", "value": "prefer-cached"},
        {"name": "ECSK_LOAD_BALANCER_NODE_PORTS", "value": "true"},  # the ALB stand-in
        {"name": "ECSK_DEREGISTRATION_DELAY", "value": "30"},
    ]


def test_host_prep_refuses_non_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    out = CliRunner().invoke(app, ["kind", "host-prep"])
    assert out.exit_code == 1 and "run it as root" in out.output


def test_kwok_overlay_installs_kwok_stages_and_usage_on_real_nodes_only(tmp_path: Path) -> None:
    source = tmp_path / "kwok@v0.8.0"
    (source / "kustomize" / "kwok").mkdir(parents=True)
    (source / "kustomize" / "stage" / "fast").mkdir(parents=True)
    out = tmp_path / "overlay"
    out.mkdir()
    doc = yaml.safe_load(kwok.overlay(source, out))
    resolved = [(out / r).resolve() for r in doc["resources"][:2]]
    assert resolved == [(source / "kustomize/kwok").resolve(), (source / "kustomize/stage/fast").resolve()]
    assert doc["resources"][2] == "kwok-usage.yaml" and (out / "kwok-usage.yaml").is_file()
    assert doc["images"] == [{"name": "registry.k8s.io/kwok/kwok", "newTag": "v0.8.0"}]
    patch = yaml.safe_load(doc["patches"][0]["patch"])
    terms = patch["spec"]["template"]["spec"]["affinity"]["nodeAffinity"][
        "requiredDuringSchedulingIgnoredDuringExecution"
    ]["nodeSelectorTerms"]
    assert terms == [{"matchExpressions": [{"key": "type", "operator": "NotIn", "values": ["kwok"]}]}]


@pytest.fixture
def up_calls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """`cluster.up` with Docker, kind and kubectl replaced by recorders."""
    monkeypatch.setenv("ECSK_HOME", str(tmp_path))
    calls: list[str] = []
    existing: list[str] = []
    monkeypatch.setattr(host, "require_docker", lambda: None)
    monkeypatch.setattr(host, "engine_capacity", lambda: (2000, 23 * 1024))
    monkeypatch.setattr(cluster, "stopped_nodes", lambda: [])  # not the host's real containers
    monkeypatch.setattr(cluster, "_tools", lambda say: {"kind": Path("kind"), "kubectl": Path("kubectl")})
    monkeypatch.setattr(cluster, "node_image", lambda say, requested: requested or "ecsk-kind/node:v1")
    monkeypatch.setattr(cluster.images, "testapp_image", lambda say: "ecsk-testapp:latest")
    monkeypatch.setattr(cluster.images, "operator_image", lambda say: "ecsk-operator:x")
    monkeypatch.setattr(cluster.kwok, "image", lambda say: "registry.k8s.io/kwok/kwok:v0.8.0")
    monkeypatch.setattr(cluster, "clusters", lambda kind: list(existing))
    monkeypatch.setattr(cluster, "_delete", lambda kind, say: (calls.append("delete"), existing.clear()))
    monkeypatch.setattr(
        cluster, "_create", lambda kind, cfg, say: (calls.append("create"), existing.append("ecsk"))
    )
    monkeypatch.setattr(cluster, "_load_images", lambda kind, refs, loaded, say: {r: "id" for r in refs})
    monkeypatch.setattr(
        cluster, "_install_operator", lambda kubectl, image, registry, say: calls.append("install")
    )
    monkeypatch.setattr(cluster.ecr, "image", lambda say: "ecsk-kind/registry:v3.1.2-x")
    monkeypatch.setattr(cluster.kwok, "install", lambda kubectl, kc, say: calls.append("kwok"))
    monkeypatch.setattr(
        cluster.metrics, "image", lambda say: "registry.k8s.io/metrics-server/metrics-server:v0.9.0"
    )
    monkeypatch.setattr(cluster.metrics, "install", lambda kubectl, kc, say: calls.append("metrics"))
    monkeypatch.setattr(cluster, "_require_free_port", lambda port, variable, what: None)
    monkeypatch.setattr(
        cluster, "_wait_http", lambda url, statuses, failure: calls.append("api" if "/ping" in url else "ecr")
    )
    monkeypatch.delenv("ECSK_KIND_REGISTRY_PORT", raising=False)
    monkeypatch.delenv("ECSK_KIND_API_PORT", raising=False)
    monkeypatch.delenv("ECSK_KIND_CLUSTER", raising=False)
    monkeypatch.setattr(cluster.netpolicy, "image", lambda say: "ecsk-kind/kube-router:v2.1.0-x")
    monkeypatch.setattr(cluster.netpolicy, "install", lambda kubectl, kc, ref, say: calls.append("netpolicy"))
    monkeypatch.setattr(cluster.efs, "install", lambda kubectl, kc, say: calls.append("efs"))
    monkeypatch.delenv(cluster.LB_PORT_ENV, raising=False)
    monkeypatch.delenv("ECSK_KIND_CLUSTER", raising=False)  # the recorder's cluster is `ecsk`
    monkeypatch.setattr(cluster, "_busy_host_ports", lambda ports: [])  # not the host's real ports
    return calls


def test_up_is_idempotent_and_recreates_a_cluster_of_another_version(up_calls: list[str]) -> None:
    quiet = lambda _m: None  # noqa: E731
    cluster.up(quiet)
    assert up_calls == ["create", "install", "kwok", "metrics", "netpolicy", "efs", "api", "ecr"]
    up_calls.clear()
    cluster.up(quiet)  # same node image and configuration: the cluster is kept
    assert up_calls == ["install", "kwok", "metrics", "netpolicy", "efs", "api", "ecr"]
    up_calls.clear()
    cluster.up(quiet, node_image_ref="ecsk-kind/node:v2")  # e.g. a newer Kubernetes pin
    assert up_calls == ["delete", "create", "install", "kwok", "metrics", "netpolicy", "efs", "api", "ecr"]
    assert json.loads(cluster.state_file().read_text())["nodeImage"] == "ecsk-kind/node:v2"


def test_up_without_go_is_a_clear_error_not_a_traceback(fake_path: Path) -> None:
    _script(fake_path / "docker", "echo 20.10.24\n")  # an engine answers, but there is no Go
    out = CliRunner().invoke(app, ["kind", "up"])
    assert out.exit_code == 1
    assert "Go is required" in out.output and "Traceback" not in out.output


def test_stopped_node_containers_are_found(monkeypatch: pytest.MonkeyPatch) -> None:
    """After an engine restart `up` must not trust a cluster whose nodes are not all running."""
    from ecsk.cluster.kind import cluster

    listing = "ecsk-control-plane running\necsk-worker exited\necsk-worker2 running\necsk-worker3 created\n"
    monkeypatch.setattr(
        cluster, "_run", lambda cmd, **_: subprocess.CompletedProcess(cmd, 0, stdout=listing, stderr="")
    )
    assert cluster.stopped_nodes() == ["ecsk-worker", "ecsk-worker3"]


def test_workers_advertise_their_instance_types_allocatable_not_the_whole_host() -> None:
    """Binpack on kind needs instance-sized nodes: on a 23 GiB host every worker would otherwise
    advertise 23 GiB and a 256 MiB task would not move MostAllocated's integer score."""
    host_cap = config.HostCapacity(millicpu=16000, memory_mib=23 * 1024)
    cfg = render(host=host_cap)
    for worker in (n for n in cfg["nodes"] if n["role"] == "worker"):
        it = INSTANCE_TYPES[worker["labels"]["node.kubernetes.io/instance-type"]]
        (patch,) = worker["kubeadmConfigPatchesJSON6902"]
        assert (patch["group"], patch["version"], patch["kind"]) == (
            "kubeadm.k8s.io",
            "v1beta4",
            "JoinConfiguration",
        )
        (op,) = yaml.safe_load(patch["patch"])
        assert (
            op["op"] == "add" and op["path"] == "/nodeRegistration/kubeletExtraArgs/-"
        )  # appended, not replaced
        reserved = dict(kv.split("=") for kv in op["value"]["value"].split(","))
        assert op["value"]["name"] == "system-reserved"
        assert host_cap.millicpu - int(reserved["cpu"].removesuffix("m")) == it.allocatable_millicpu
        assert host_cap.memory_mib - int(reserved["memory"].removesuffix("Mi")) == it.allocatable_memory_mib


def test_a_host_smaller_than_the_instance_type_is_left_whole() -> None:
    small = config.HostCapacity(millicpu=2000, memory_mib=4096)
    assert config.system_reserved("m5.xlarge", small) is None  # 4 vCPU / 15.7 GiB > host: no reserve
    assert config.system_reserved("m5.large", small) == "cpu=70m"  # 2 vCPU fits, 7.7 GiB does not
    assert config.system_reserved("c5.large", small) == "cpu=70m,memory=982Mi"


def test_a_second_cluster_has_its_own_kubeconfig_and_state(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ECSK_KIND_CLUSTER", raising=False)
    default = (cluster.name(), cluster.kubeconfig(), cluster.state_file())
    assert default[0] == "ecsk" and default[1].name == "kind-kubeconfig"
    monkeypatch.setenv("ECSK_KIND_CLUSTER", "ecsk-lab")
    assert cluster.name() == "ecsk-lab"
    assert cluster.kubeconfig().name == "kind-kubeconfig-ecsk-lab"
    assert cluster.state_file() != default[2] and "ecsk-lab" in str(cluster.state_file())


def test_api_endpoint_port_is_mapped_on_the_control_plane_only() -> None:
    cfg = render(api_port=4611)
    plane, *workers = cfg["nodes"]
    assert plane["extraPortMappings"] == [
        {
            "containerPort": config.API_NODE_PORT,
            "hostPort": 4611,
            "listenAddress": "127.0.0.1",
            "protocol": "TCP",
        }
    ]
    assert all("extraPortMappings" not in w for w in workers)
    assert "extraPortMappings" not in render()["nodes"][0]


def test_overlay_makes_the_api_service_the_mapped_node_port(tmp_path: Path) -> None:
    doc = yaml.safe_load(cluster.overlay(ROOT / "manifests", "ecsk-operator:abc123", tmp_path))
    svc = yaml.safe_load(doc["patches"][1]["patch"])
    assert (svc["kind"], svc["metadata"]["name"], svc["spec"]["type"]) == ("Service", "ecsk-api", "NodePort")
    assert svc["spec"]["ports"][0]["nodePort"] == config.API_NODE_PORT
    base = [d for d in yaml.safe_load_all((ROOT / "manifests/api.yaml").read_text()) if d]
    service = next(d for d in base if d["kind"] == "Service")
    # patches that port: Service ports merge on (port, protocol); a patch without protocol lost
    # its nodePort in kustomize, found on a real kind cluster
    key = ("port", "protocol")
    assert [svc["spec"]["ports"][0][k] for k in key] == [service["spec"]["ports"][0][k] for k in key]
    assert "api.yaml" in yaml.safe_load((ROOT / "manifests/kustomization.yaml").read_text())["resources"]


def test_api_port_is_configurable_and_part_of_the_cluster(
    up_calls: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    quiet = lambda _m: None  # noqa: E731
    cluster.up(quiet)
    assert cluster.api_url() == f"http://127.0.0.1:{config.DEFAULT_API_PORT}"
    monkeypatch.setenv("ECSK_KIND_API_PORT", "4620")
    up_calls.clear()
    cluster.up(quiet)  # a port mapping is fixed at creation: another port is another cluster
    assert up_calls[:2] == ["delete", "create"] and cluster.api_url() == "http://127.0.0.1:4620"
    out = CliRunner().invoke(app, ["api", "url", "--kind"])
    assert out.exit_code == 0 and out.output.strip() == "http://127.0.0.1:4620"
    monkeypatch.setenv("KUBECONFIG", str(cluster.kubeconfig()))
    assert CliRunner().invoke(app, ["api", "url"]).output.strip() == "http://127.0.0.1:4620"
    assert CliRunner().invoke(app, ["api", "url", "--embedded"]).output.strip() == "http://127.0.0.1:4599"
    monkeypatch.setenv("ECSK_KIND_API_PORT", "http")
    with pytest.raises(cluster.KindError, match="ECSK_KIND_API_PORT"):
        cluster.api_port()
    cluster.state_file().unlink()
    out = CliRunner().invoke(app, ["api", "url", "--kind"])
    assert out.exit_code == 1 and "ecsk kind up" in out.output


def test_a_taken_host_port_is_refused_before_kind_runs() -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        with pytest.raises(cluster.KindError, match="ECSK_KIND_API_PORT"):
            cluster._require_free_port(sock.getsockname()[1], "ECSK_KIND_API_PORT", "AWS API endpoint")


def test_load_balancer_node_ports_are_published_on_the_hosts_loopback_only() -> None:
    """The ALB stand-in: the API server allocates NodePorts only from the published range, and
    each is mapped from 127.0.0.1 (never the machine's network) on the control plane."""
    ports = config.LoadBalancerPorts(28180)
    cfg = render(load_balancers=ports)
    control_plane, *workers = cfg["nodes"]
    mappings = control_plane["extraPortMappings"]
    assert [(m["hostPort"], m["containerPort"]) for m in mappings] == [
        (28180 + i, 30080 + i) for i in range(10)
    ]
    assert {m["listenAddress"] for m in mappings} == {"127.0.0.1"}
    assert all("extraPortMappings" not in w for w in workers)
    patch = yaml.safe_load(control_plane["kubeadmConfigPatches"][0])
    assert patch["apiServer"]["extraArgs"] == [{"name": "service-node-port-range", "value": "30080-30091"}]
    assert patch["scheduler"]["extraArgs"]  # the scheduler profiles are still there
    assert ports.host_port(30083) == 28183
    with pytest.raises(ValueError, match="outside the published range 30080-30089"):
        ports.host_port(31000)
    assert "extraPortMappings" not in render()["nodes"][0]  # only when asked


def test_load_balancer_port_env_is_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(cluster.LB_PORT_ENV, raising=False)
    assert cluster.load_balancer_ports().host_base == 18080
    monkeypatch.setenv(cluster.LB_PORT_ENV, "28180")
    assert cluster.load_balancer_ports().host_base == 28180
    for bad in ("80", "http", "65530"):
        monkeypatch.setenv(cluster.LB_PORT_ENV, bad)
        with pytest.raises(cluster.KindError, match="ECSK_KIND_LB_PORT"):
            cluster.load_balancer_ports()


def test_up_refuses_busy_host_ports_before_creating_anything(
    up_calls: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cluster, "_busy_host_ports", lambda ports: [18081])
    with pytest.raises(cluster.KindError, match=r"host ports 18081 are in use.*ECSK_KIND_LB_PORT"):
        cluster.up(lambda _m: None)
    assert "create" not in up_calls


def test_busy_host_ports_are_found() -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        busy = cluster._busy_host_ports(config.LoadBalancerPorts(port, count=1))
    assert busy == [port]


def test_inotify_limits_are_raised_never_lowered(tmp_path: Path) -> None:
    (tmp_path / "fs/inotify").mkdir(parents=True)
    (tmp_path / "fs/inotify/max_user_instances").write_text("128\n")
    (tmp_path / "fs/inotify/max_user_watches").write_text("1048576\n")
    said: list[str] = []
    host.raise_inotify_limits(said.append, proc_sys=tmp_path)
    assert (tmp_path / "fs/inotify/max_user_instances").read_text().strip() == "512"
    assert (tmp_path / "fs/inotify/max_user_watches").read_text().strip() == "1048576"
    assert said == ["fs.inotify.max_user_instances: 128 -> 512 (several kind nodes)"]


def test_kube_router_enforces_policies_only_on_the_real_workers() -> None:
    docs = {d["kind"]: d for d in netpolicy.manifests("ecsk-kind/kube-router:v2.1.0-abc")}
    ds = docs["DaemonSet"]["spec"]["template"]["spec"]
    (c,) = ds["containers"]
    assert c["image"] == "ecsk-kind/kube-router:v2.1.0-abc" and c["imagePullPolicy"] == "IfNotPresent"
    # firewall only: the netagent keeps routing, kube-proxy keeps the services
    assert {"--run-firewall=true", "--run-router=false", "--run-service-proxy=false"} <= set(c["args"])
    assert ds["hostNetwork"] and c["securityContext"]["privileged"]
    (term,) = ds["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][
        "nodeSelectorTerms"
    ]
    assert {"key": "type", "operator": "NotIn", "values": ["kwok"]} in term["matchExpressions"]
    assert {"key": "node-role.kubernetes.io/control-plane", "operator": "DoesNotExist"} in term[
        "matchExpressions"
    ]
    watched = {r for rule in docs["ClusterRole"]["rules"] for r in rule["resources"]}
    assert {"networkpolicies", "pods", "namespaces", "nodes"} <= watched
    assert docs["ClusterRoleBinding"]["subjects"][0]["name"] == ds["serviceAccountName"]


def test_every_node_mounts_the_efs_directory() -> None:
    """EFS is shared across zones: the same host directory is mounted in every node."""
    shared = efs.mount(Path("/srv/ecsk/efs"))
    cfg = render(shared_mount=shared)
    for node in cfg["nodes"]:
        assert {"hostPath": "/srv/ecsk/efs", "containerPath": "/var/lib/ecsk-efs"} in node["extraMounts"]
    assert len(cfg["nodes"][0]["extraMounts"]) == 2  # the scheduler configuration stays mounted


KIND_LOCAL_PATH = {
    "spec": {
        "template": {
            "spec": {
                "serviceAccountName": "local-path-provisioner-service-account",
                "nodeSelector": {"kubernetes.io/os": "linux"},
                "tolerations": [{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}],
                "containers": [
                    {
                        "name": "local-path-provisioner",
                        "image": "docker.io/kindest/local-path-provisioner:v1",
                        "command": [
                            "local-path-provisioner",
                            "--debug",
                            "start",
                            "--helper-image",
                            "docker.io/kindest/local-path-helper:v2",
                            "--config",
                            "/etc/config/config.json",
                        ],
                    }
                ],
            }
        }
    }
}


def test_efs_provisioner_is_kinds_local_path_in_shared_mode_named_efs_csi() -> None:
    kind_config = {"data": {"config.json": "{}", "setup": "mkdir", "teardown": "rm", "helperPod.yaml": "pod"}}
    cm, dep = efs.manifests(KIND_LOCAL_PATH, kind_config)
    assert json.loads(cm["data"]["config.json"]) == {"sharedFileSystemPath": "/var/lib/ecsk-efs"}
    assert {k: cm["data"][k] for k in ("setup", "teardown", "helperPod.yaml")} == {
        "setup": "mkdir",
        "teardown": "rm",
        "helperPod.yaml": "pod",
    }
    pod = dep["spec"]["template"]["spec"]
    (c,) = pod["containers"]
    assert c["image"] == "docker.io/kindest/local-path-provisioner:v1"  # already on every node
    args = c["command"]
    assert args[args.index("--provisioner-name") + 1] == "efs.csi.aws.com"  # what the operator's SC names
    assert args[args.index("--helper-image") + 1] == "docker.io/kindest/local-path-helper:v2"
    assert args[args.index("--configmap-name") + 1] == cm["metadata"]["name"]
    assert pod["volumes"] == [{"name": "config", "configMap": {"name": cm["metadata"]["name"]}}]
    assert pod["serviceAccountName"] == "local-path-provisioner-service-account"
    assert pod["tolerations"] == KIND_LOCAL_PATH["spec"]["template"]["spec"]["tolerations"]


def test_older_operator_images_are_dropped_but_not_one_another_cluster_just_built(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Clusters side by side share the Docker engine: another `up` may be loading a tag built a
    minute ago, which must survive this build's clean-up (it did not, once)."""
    from ecsk.cluster.kind import images

    removed: list[list[str]] = []

    def fake(cmd: list[str], **_: object) -> subprocess.CompletedProcess[str]:
        if cmd[:2] == ["docker", "images"]:
            out = "ecsk-operator:new\necsk-operator:old\necsk-operator:neighbour\necsk-operator:<none>\n"
        elif cmd[:3] == ["docker", "image", "inspect"]:
            out = "2026-12-04T10:00:00.123456789Z\n2026-12-04T14:59:00Z\n"  # old, neighbour
        else:
            removed.append(cmd[3:])
            out = ""
        return subprocess.CompletedProcess(cmd, 0, stdout=out, stderr="")

    monkeypatch.setattr(images.subprocess, "run", fake)
    now = datetime(2026, 12, 4, 15, 0, tzinfo=UTC).timestamp()
    images._drop_older("ecsk-operator", keep="ecsk-operator:new", now=now)
    assert removed == [["ecsk-operator:old"]]


def test_tree_hash_ignores_bytecode_caches(tmp_path: Path) -> None:
    """Running the tests writes __pycache__; the next `up` must not rebuild the operator image."""
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg/mod.py").write_text("x = 1\n")
    before = steps.tree_hash(tmp_path)
    (tmp_path / "pkg/__pycache__").mkdir()
    (tmp_path / "pkg/__pycache__/mod.cpython-311.pyc").write_bytes(b"\x00bytecode")
    assert steps.tree_hash(tmp_path) == before
    (tmp_path / "pkg/mod.py").write_text("x = 2\n")
    assert steps.tree_hash(tmp_path) != before
