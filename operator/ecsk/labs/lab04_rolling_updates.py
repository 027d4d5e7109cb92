"""Lab 04: rolling updates: minimumHealthyPercent and maximumPercent bound how many tasks run
while v1 is replaced by v2, and ecsk renders them as the Deployment's maxUnavailable/maxSurge."""

from __future__ import annotations

from typing import Any

from ecsk.core.translate.names import LABEL_REVISION, LABEL_SERVICE, label_value
from ecsk.labs.engine import (
    Lab,
    Obj,
    Snapshot,
    container,
    latest_revision,
    require,
    service_doc,
    spec,
    status,
    td_doc,
)

NAME = "web"
DESIRED = 4
MIN, MAX = 75, 125  # with 4 tasks: at least 3 healthy, at most 5 in total


def _td(version: str) -> Obj:
    app = container("web", environment=[{"name": "VERSION", "value": version}])
    return td_doc(NAME, {"family": NAME, "containerDefinitions": [app]})


def _service(solved: bool) -> Obj:
    config = (
        {"minimumHealthyPercent": MIN, "maximumPercent": MAX}
        if solved
        else {
            "minimumHealthyPercent": 100,
            "maximumPercent": 200,
        }
    )
    body = {
        "serviceName": NAME,
        "taskDefinition": NAME,
        "desiredCount": DESIRED,
        "launchType": "EC2",
        "deploymentConfiguration": config,
    }
    return service_doc(NAME, body)


def _config_problems(svc: dict[str, Any]) -> list[str]:
    config = svc.get("deploymentConfiguration") or {}
    low, high = config.get("minimumHealthyPercent", 100), config.get("maximumPercent", 200)
    out = []
    if low != MIN:
        out.append(
            f"minimumHealthyPercent is {low}: with {DESIRED} tasks the goal is at least 3 healthy "
            f"during a deployment ({MIN})"
        )
    if high != MAX:
        out.append(f"maximumPercent is {high}: with {DESIRED} tasks the goal is at most 5 in total ({MAX})")
    return out


def _rendered_problems(snap: Snapshot) -> list[str]:
    """The Deployment the operator rendered must carry the bounds as absolute numbers."""
    value = label_value(NAME)
    found = [d for d in snap.deployments if (d["metadata"].get("labels") or {}).get(LABEL_SERVICE) == value]
    if not found:
        return [f"no Deployment rendered for service {NAME} yet"]
    rolling = (spec(found[0]).get("strategy") or {}).get("rollingUpdate") or {}
    surge, unavailable = rolling.get("maxSurge"), rolling.get("maxUnavailable")
    if (surge, unavailable) != (1, 1):
        return [
            f"the Deployment still has maxSurge {surge}, maxUnavailable {unavailable} "
            "(the bounds give 1 and 1)"
        ]
    return []


def _rollout_problems(snap: Snapshot) -> list[str]:
    deployments = status(snap.get("ECSService", NAME)).get("deployments") or []
    primary = next((d for d in deployments if d.get("status") == "PRIMARY"), None)
    if primary is None:
        return [f"service {NAME} has no PRIMARY deployment yet"]
    revision = int(primary.get("revision") or 0)
    if revision < 2:
        return [f"the service still runs {NAME}:{revision}: register v2 (VERSION=v2) so it deploys {NAME}:2"]
    out = []
    if primary.get("rolloutState") != "COMPLETED" or len(deployments) > 1:
        out.append(
            f"the deployment of {NAME}:{revision} is {primary.get('rolloutState')}: wait until COMPLETED"
        )
    running = snap.running_tasks(NAME)
    old = [p for p in running if (p["metadata"].get("labels") or {}).get(LABEL_REVISION) != str(revision)]
    if old or len(running) != DESIRED:
        done = len(running) - len(old)
        out.append(f"{done} of {DESIRED} tasks run {NAME}:{revision}; {len(old)} older ones remain")
    return out


class RollingUpdatesLab(Lab):
    def starting_objects(self) -> list[Obj]:
        return [_td("v1"), _service(solved=False)]

    def settled(self, snap: Snapshot) -> bool:
        """v1 must be registered and deployed first, or the answer's spec would become web:1."""
        deployments = status(snap.get("ECSService", NAME)).get("deployments") or []
        return latest_revision(snap, NAME)[2] >= 1 and any(d.get("status") == "PRIMARY" for d in deployments)

    def solution_objects(self, snap: Snapshot) -> list[Obj]:
        return [_td("v2"), _service(solved=True)]

    def problems(self, snap: Snapshot) -> list[str]:
        if blocked := require(snap, self.number, ("TaskDefinition", NAME), ("ECSService", NAME)):
            return blocked
        config = _config_problems(spec(snap.get("ECSService", NAME)))
        return config + (_rendered_problems(snap) if not config else []) + _rollout_problems(snap)


LAB = RollingUpdatesLab(
    number=4,
    slug="rolling-updates",
    title="Rolling updates: minimum healthy and maximum percent",
    topic="ECS rolling updates (minimumHealthyPercent 0-100%, maximumPercent 100-200%)",
    goal=(
        f"Deploy v2 of `{NAME}` ({DESIRED} tasks) so that at least 3 tasks stay healthy and at most 5 run "
        "at any moment of the rollout."
    ),
    steps=(
        "Watch the service in a second terminal: kubectl -n {ns} get ecsservice web -w",
        "Set the bounds: kubectl -n {ns} patch ecsservice web --type merge "
        '-p \'{{"spec":{{"deploymentConfiguration":{{"minimumHealthyPercent":75,"maximumPercent":125}}}}}}\'',
        "See them rendered: kubectl -n {ns} get deployment -o jsonpath='{{.items[0].spec.strategy}}'",
        "Register v2: kubectl -n {ns} edit taskdefinition web  (VERSION: v2)",
        "Count tasks while it rolls: watch -n1 'ecsk tasks -n {ns} --service web'",
    ),
    hints=(
        "Both bounds are percentages of desiredCount, in the service's deploymentConfiguration.",
        "ECS rounds the minimum up and the maximum down: 4 x 75% = 3 healthy, 4 x 125% = 5 in total.",
        "A service deploys the family's latest revision: "
        "any change to the task definition's spec registers web:2.",
    ),
)
