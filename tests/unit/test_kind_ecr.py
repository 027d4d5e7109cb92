"""ECR on kind (ecsk.cluster.kind.ecr): containerd's host configuration, the node mounts and port
mapping in the kind configuration, and the overlay that puts Distribution beside the endpoint."""

from __future__ import annotations

import ipaddress
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from ecsk.cluster.embedded.local import load_fleet
from ecsk.cluster.kind import cluster, config, ecr

ACCOUNT, REGION = "000000000000", "us-east-1"
HOST = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com"


def test_hosts_toml_sends_every_pull_of_the_ecr_name_to_the_pull_door(tmp_path: Path) -> None:
    written = ecr.write_hosts(tmp_path, ACCOUNT, REGION)
    assert written == tmp_path / HOST / "hosts.toml"  # containerd looks the registry name up there
    doc = tomllib.loads(written.read_text())
    assert doc["server"] == "http://10.96.0.20:5000"  # plain HTTP: the scheme says so
    assert doc["host"] == {"http://10.96.0.20:5000": {"capabilities": ["pull", "resolve"]}}
    # the address is the pull Service's fixed ClusterIP, inside kind's default service subnet and its
    # static band (the first 256 addresses of a /16), which the API server never hands out itself
    service = ecr.pull_service()
    ip = ipaddress.ip_address(service["spec"]["clusterIP"])
    assert (
        ip in ipaddress.ip_network("10.96.0.0/16") and int(ip) - int(ipaddress.ip_address("10.96.0.0")) < 256
    )
    assert service["spec"]["ports"][0]["port"] == ecr.PULL_SERVICE_PORT
    assert service["spec"]["ports"][0]["targetPort"] == "registry-pull"


def test_containerd_patch_sets_the_hosts_directory() -> None:
    doc = tomllib.loads(ecr.CONFIG_PATH_PATCH)
    assert doc["plugins"]["io.containerd.grpc.v1.cri"]["registry"]["config_path"] == "/etc/containerd/certs.d"


def _render(**extra: Any) -> dict[str, Any]:
    return config.render(
        load_fleet(None),
        name="ecrkind",
        node_image="ecsk-kind/node:v1",
        scheduler_config=Path("/s.yaml"),
        restrict_oom_score_adj=True,
        cgroup_v1=False,
        api_port=4640,
        **extra,
    )


def test_kind_config_mounts_storage_and_hosts_on_every_node_and_publishes_the_front_door(
    tmp_path: Path,
) -> None:
    mounts = ecr.node_mounts(tmp_path / "registry", tmp_path / "certs")
    cfg = _render(registry_port=4641, node_mounts=mounts, containerd_patches=[ecr.CONFIG_PATH_PATCH])
    control_plane, *workers = cfg["nodes"]
    for node in cfg["nodes"]:
        assert {"hostPath": str(tmp_path / "registry"), "containerPath": "/var/lib/ecsk-registry"} in node[
            "extraMounts"
        ]
        assert {
            "hostPath": str(tmp_path / "certs"),
            "containerPath": "/etc/containerd/certs.d",
            "readOnly": True,
        } in node["extraMounts"]
    assert len(workers) == 3
    assert {
        "containerPort": config.REGISTRY_NODE_PORT,
        "hostPort": 4641,
        "listenAddress": "127.0.0.1",
        "protocol": "TCP",
    } in control_plane["extraPortMappings"]
    patch = yaml.safe_load(control_plane["kubeadmConfigPatches"][0])
    assert patch["apiServer"]["extraArgs"] == [{"name": "service-node-port-range", "value": "30080-30091"}]
    assert cfg["containerdConfigPatches"] == [config.RESTRICT_OOM_PATCH, ecr.CONFIG_PATH_PATCH]
    # an older cluster (no registry) renders another configuration: `up` recreates it
    assert _render() != cfg


def _overlay(tmp_path: Path) -> dict[str, Any]:
    manifests = tmp_path / "manifests"
    manifests.mkdir()
    out = tmp_path / "overlay"
    out.mkdir()
    text = cluster.overlay(manifests, "ecsk-operator:abc", out, "ecsk-kind/registry:v3.1.2-x", "s3cret")
    return yaml.safe_load(text)


def test_overlay_runs_distribution_beside_the_endpoint_behind_both_doors(tmp_path: Path) -> None:
    doc = _overlay(tmp_path)
    out = tmp_path / "overlay"
    assert "ecr.yaml" in doc["resources"]
    pv, claim, pull = yaml.safe_load_all((out / "ecr.yaml").read_text())
    assert pull == ecr.pull_service()
    # the node directory as a pre-bound volume: the restricted namespace refuses hostPath in pods
    assert pv["spec"]["hostPath"] == {"path": "/var/lib/ecsk-registry", "type": "Directory"}
    assert pv["spec"]["persistentVolumeReclaimPolicy"] == "Retain"
    assert pv["spec"]["claimRef"] == {"namespace": "ecsk-system", "name": claim["metadata"]["name"]}
    assert claim["spec"]["volumeName"] == pv["metadata"]["name"]
    assert claim["spec"]["storageClassName"] == pv["spec"]["storageClassName"] == ""  # no provisioner
    assert doc["secretGenerator"] == [
        {
            "name": "ecsk-registry-config",
            "namespace": "ecsk-system",
            "files": ["config.yml=registry-config.yml"],
        }
    ]
    registry_cfg = yaml.safe_load((out / "registry-config.yml").read_text())
    assert registry_cfg["http"]["addr"] == "127.0.0.1:5000"  # the pod's loopback: only the doors reach it
    assert registry_cfg["http"]["secret"] == "s3cret"
    assert registry_cfg["storage"]["filesystem"]["rootdirectory"] == "/var/lib/ecsk-registry/data"
    assert registry_cfg["storage"]["delete"] == {"enabled": True}
    patches = [yaml.safe_load(p["patch"]) for p in doc["patches"]]
    deployment = next(p for p in patches if p["kind"] == "Deployment" and p["metadata"]["name"] == "ecsk-api")
    pod = deployment["spec"]["template"]["spec"]
    api, registry = pod["containers"]
    env = {e["name"]: e["value"] for e in api["env"]}
    assert env == {
        "ECSK_REGISTRY_URL": "http://127.0.0.1:5000",
        "ECSK_REGISTRY_STORAGE": registry_cfg["storage"]["filesystem"]["rootdirectory"],
        "ECSK_REGISTRY_PORT": "4598",
        "ECSK_REGISTRY_PULL_PORT": "4596",
    }
    assert registry["image"] == "ecsk-kind/registry:v3.1.2-x"
    assert registry["args"] == ["serve", "/etc/distribution/config.yml"]
    assert registry["securityContext"]["readOnlyRootFilesystem"] is True
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["ecr-storage"] == {
        "name": "ecr-storage",
        "persistentVolumeClaim": {"claimName": "ecsk-registry"},
    }
    assert not any("hostPath" in v for v in pod["volumes"])
    assert volumes["ecr-config"]["secret"]["secretName"] == "ecsk-registry-config"
    service = next(p for p in patches if p["kind"] == "Service")
    ports = {p["name"]: p for p in service["spec"]["ports"]}
    assert ports["registry"]["nodePort"] == config.REGISTRY_NODE_PORT
    assert ports["registry"]["protocol"] == "TCP"  # kustomize's merge key, or nodePort is dropped
    assert ports["aws"]["nodePort"] == config.API_NODE_PORT


def test_overlay_without_registry_is_unchanged(tmp_path: Path) -> None:
    manifests = tmp_path / "manifests"
    manifests.mkdir()
    doc = yaml.safe_load(cluster.overlay(manifests, "ecsk-operator:abc", tmp_path))
    assert "secretGenerator" not in doc and len(doc["resources"]) == 1


def test_registry_port_follows_the_api_port_unless_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ECSK_KIND_REGISTRY_PORT", raising=False)
    monkeypatch.delenv("ECSK_KIND_API_PORT", raising=False)
    assert cluster.registry_port() == 4601
    monkeypatch.setenv("ECSK_KIND_API_PORT", "4640")
    assert cluster.registry_port() == 4641  # a cluster given its own API port gets its own registry port
    monkeypatch.setenv("ECSK_KIND_REGISTRY_PORT", "4700")
    assert cluster.registry_port() == 4700
    monkeypatch.setenv("ECSK_KIND_REGISTRY_PORT", "docker")
    with pytest.raises(cluster.KindError, match="ECSK_KIND_REGISTRY_PORT='docker' is not a port number"):
        cluster.registry_port()


def test_storage_is_owned_by_the_pods_user(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    owned: list[tuple[Path, int, int]] = []
    monkeypatch.setattr(ecr.os, "geteuid", lambda: 0)
    monkeypatch.setattr(ecr.os, "chown", lambda p, u, g: owned.append((Path(p), u, g)))
    ecr.prepare_storage(tmp_path / "registry")
    assert (tmp_path / "registry" / "data").is_dir()
    assert owned == [(tmp_path / "registry", 10001, 10001), (tmp_path / "registry" / "data", 10001, 10001)]


def test_account_and_region_are_the_in_cluster_endpoints() -> None:
    assert cluster._account_region() == (ACCOUNT, REGION)
