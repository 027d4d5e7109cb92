"""The kind path cannot run on our build machines, so its files are at least checked for drift."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def test_kind_scheduler_profiles_equal_the_local_cluster_profiles() -> None:
    local = yaml.safe_load((ROOT / "operator/ecsk/cluster/data/scheduler.yaml").read_text())
    kind = yaml.safe_load((ROOT / "kind/scheduler-config.yaml").read_text())
    assert kind["profiles"] == local["profiles"]
    assert kind["clientConnection"]["kubeconfig"] == "/etc/kubernetes/scheduler.conf"


def test_kind_workers_carry_eks_labels_over_three_zones() -> None:
    config = yaml.safe_load((ROOT / "kind/kind-config.yaml").read_text())
    workers = [n for n in config["nodes"] if n["role"] == "worker"]
    zones = sorted(w["labels"]["topology.kubernetes.io/zone"] for w in workers)
    assert zones == ["us-east-1a", "us-east-1b", "us-east-1c"]
    for w in workers:
        for key in (
            "node.kubernetes.io/instance-type",
            "eks.amazonaws.com/nodegroup",
            "eks.amazonaws.com/capacityType",
        ):
            assert key in w["labels"]
    control_plane = next(n for n in config["nodes"] if n["role"] == "control-plane")
    patch = yaml.safe_load(control_plane["kubeadmConfigPatches"][0])
    args = {a["name"]: a["value"] for a in patch["scheduler"]["extraArgs"]}
    mount = control_plane["extraMounts"][0]
    assert args["config"] == mount["containerPath"]
    assert (ROOT / mount["hostPath"]).is_file()
