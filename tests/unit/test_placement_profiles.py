"""The scheduler profiles the placement hook names must exist in the cluster's scheduler config."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from ecsk.core.placement import DEFAULT_PROFILES, DEFAULT_SCHEDULER, LEGACY_PROFILES

ROOT = Path(__file__).resolve().parents[2]


def profiles() -> dict[str, dict[str, Any]]:
    config = yaml.safe_load((ROOT / "operator/ecsk/cluster/data/scheduler.yaml").read_text())
    return {p["schedulerName"]: p for p in config["profiles"]}


def fit_args(profile: dict[str, Any]) -> dict[str, Any]:
    return next(c["args"] for c in profile.get("pluginConfig", []) if c["name"] == "NodeResourcesFit")


def test_every_named_profile_is_loaded_by_the_local_cluster() -> None:
    loaded = profiles()
    for p in (DEFAULT_PROFILES, LEGACY_PROFILES):
        for name in (p.default, p.binpack_cpu, p.binpack_memory, p.random):
            assert name in loaded, name


def test_per_resource_binpack_profiles_score_only_their_resource() -> None:
    loaded = profiles()
    for resource, name in (
        ("cpu", DEFAULT_PROFILES.binpack_cpu),
        ("memory", DEFAULT_PROFILES.binpack_memory),
    ):
        strategy = fit_args(loaded[name])["scoringStrategy"]
        assert strategy["type"] == "MostAllocated"
        assert [r["name"] for r in strategy["resources"]] == [resource]
        disabled = [d["name"] for d in loaded[name]["plugins"]["score"]["disabled"]]
        assert "NodeResourcesBalancedAllocation" in disabled


def test_random_runs_on_the_default_scheduler() -> None:
    assert DEFAULT_PROFILES.random == DEFAULT_SCHEDULER
