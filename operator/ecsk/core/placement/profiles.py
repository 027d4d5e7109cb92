"""kube-scheduler profiles that stand in for ECS placement strategies.

One scheduler profile scores every pod the same way, and a pod can only pick a profile by name,
so each strategy that changes *scoring* (binpack on one resource, random) needs its own profile.
The names are configurable because a profile the running scheduler does not know leaves pods
Pending forever: the operator must only name profiles its cluster loaded (see
operator/ecsk/cluster/data/scheduler.yaml and docs/placement.md).
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_SCHEDULER = "default-scheduler"


@dataclass(frozen=True)
class SchedulerProfiles:
    """Profile names per strategy. `default` serves spread-only and strategy-less tasks: Kubernetes'
    LeastAllocated scoring already leans towards emptier nodes, like ECS's spread."""

    default: str = DEFAULT_SCHEDULER
    binpack_cpu: str = "ecsk-binpack-cpu"
    binpack_memory: str = "ecsk-binpack-memory"
    random: str = DEFAULT_SCHEDULER
    """kube-scheduler 1.37 breaks equal scores by heap order (`NodePluginScores.Randomizer` is only
    filled in when scheduler extenders run), so a profile without scoring packs pods onto the first
    node instead of placing them at random. The default profile spreads them, which is closer to
    what random placement looks like over many tasks."""

    def binpack(self, resource: str) -> str:
        return self.binpack_cpu if resource == "cpu" else self.binpack_memory


DEFAULT_PROFILES = SchedulerProfiles()

LEGACY_PROFILES = SchedulerProfiles(binpack_cpu="ecsk-binpack", binpack_memory="ecsk-binpack")
"""For clusters created before the per-resource binpack profiles existed: one binpack profile
scoring cpu and memory alike."""
