"""Lab 06: placement constraints: distinctInstance, and memberOf with a Cluster Query Language
expression; the check evaluates the participant's expression with ecsk's own CQL engine."""

from __future__ import annotations

from collections import Counter
from typing import Any

from ecsk.core.cql.errors import CQLError
from ecsk.core.cql.evaluate import evaluate
from ecsk.core.cql.parser import parse
from ecsk.core.placement.nodes import node_view
from ecsk.labs.engine import ZONE, Lab, Obj, Snapshot, container, ec2_service, require, spec, td_doc

NAME = "cache"
DESIRED = 3
INSTANCE_TYPE = "node.kubernetes.io/instance-type"
ZONES = ("us-east-1a", "us-east-1b")
EXPRESSION = (
    "attribute:ecs.instance-type =~ m5.* and attribute:ecs.availability-zone in [us-east-1a, us-east-1b]"
)


def _service(constraints: list[dict[str, str]]) -> Obj:
    return ec2_service(NAME, DESIRED, placementConstraints=constraints)


def in_goal(node: dict[str, Any]) -> bool:
    """The instances the lab asks for: m5 types in the first two zones."""
    labels = node["metadata"].get("labels") or {}
    return str(labels.get(INSTANCE_TYPE, "")).startswith("m5.") and labels.get(ZONE) in ZONES


def _fleet(snap: Snapshot) -> list[dict[str, Any]]:
    return [n for n in snap.nodes if (n["metadata"].get("labels") or {}).get("ecs.ecsk.io/origin") == "fleet"]


def _describe(node: dict[str, Any] | None) -> str:
    labels = (node or {}).get("metadata", {}).get("labels") or {}
    return f"{labels.get(INSTANCE_TYPE, '?')} in {labels.get(ZONE, '?')}"


def _expression_problems(snap: Snapshot, expressions: list[str]) -> list[str]:
    if not expressions:
        return ["the service has no memberOf constraint: add one with a Cluster Query Language expression"]
    out = []
    fleet = _fleet(snap)
    for text in expressions:
        try:
            expr = parse(text)
        except CQLError as exc:
            out.append(f"memberOf expression {text!r} does not parse: {exc}")
            continue
        chosen = {n["metadata"]["name"] for n in fleet if evaluate(expr, node_view(n))}
        wanted = {n["metadata"]["name"] for n in fleet if in_goal(n)}
        extra = sorted(chosen - wanted)
        if extra:
            first = snap.node(extra[0])
            out.append(
                f"memberOf {text!r} also selects {len(extra)} instance(s) outside the goal, e.g. "
                f"{extra[0]} ({_describe(first)})"
            )
        elif not chosen:
            out.append(f"memberOf {text!r} selects no instance: no task could be placed")
    return out


def _placement_problems(snap: Snapshot) -> list[str]:
    running = snap.running_tasks(NAME)
    if len(running) != DESIRED:
        return [f"{len(running)} of {DESIRED} tasks are running; wait for the deployment to finish"]
    out = []
    shared = [(n, c) for n, c in Counter(str(p["spec"].get("nodeName")) for p in running).items() if c > 1]
    if shared:
        node, count = shared[0]
        out.append(f"{count} of {DESIRED} tasks share the instance {node}")
    outside = [
        p for p in running if not in_goal(snap.node(str(p["spec"].get("nodeName"))) or {"metadata": {}})
    ]
    if outside:
        where = str(outside[0]["spec"].get("nodeName"))
        out.append(
            f"{len(outside)} of {DESIRED} tasks run outside m5 instances in {' / '.join(ZONES)}, e.g. on "
            f"{where} ({_describe(snap.node(where))})"
        )
    return out


class PlacementConstraintsLab(Lab):
    def starting_objects(self) -> list[Obj]:
        td = td_doc(NAME, {"family": NAME, "containerDefinitions": [container("cache")]})
        return [td, _service([])]

    def solution_objects(self, snap: Snapshot) -> list[Obj]:
        return [_service([{"type": "distinctInstance"}, {"type": "memberOf", "expression": EXPRESSION}])]

    def problems(self, snap: Snapshot) -> list[str]:
        if blocked := require(snap, self.number, ("TaskDefinition", NAME), ("ECSService", NAME)):
            return blocked
        constraints = list(spec(snap.get("ECSService", NAME)).get("placementConstraints") or [])
        kinds = [str(c.get("type", "")) for c in constraints]
        out = [] if "distinctInstance" in kinds else ["the service has no distinctInstance constraint"]
        expressions = [str(c.get("expression", "")) for c in constraints if c.get("type") == "memberOf"]
        return out + _expression_problems(snap, expressions) + _placement_problems(snap)


LAB = PlacementConstraintsLab(
    number=6,
    slug="placement-constraints",
    title="Placement constraints: distinctInstance, memberOf and the Cluster Query Language",
    topic="ECS task placement constraints (distinctInstance, memberOf, Cluster Query Language)",
    goal=(
        f"Run the {DESIRED} `{NAME}` tasks each on a different instance, and only on m5 instances in "
        "us-east-1a or us-east-1b."
    ),
    steps=(
        "See the instances and their attributes: ecsk instances",
        "kubectl -n {ns} edit ecsservice cache: placementConstraints: [{{type: distinctInstance}}, "
        "{{type: memberOf, expression: ...}}]",
        "Write the expression with attribute:ecs.instance-type and attribute:ecs.availability-zone",
        "Watch where the tasks land: ecsk placement -n {ns} --service cache",
    ),
    hints=(
        "distinctInstance takes no expression: {{type: distinctInstance}}.",
        "The Cluster Query Language matches with =~ (a regex, e.g. m5.*) and tests a list with in [a, b].",
        "Join the two conditions with `and`: attribute:ecs.instance-type =~ m5.* and "
        "attribute:ecs.availability-zone in [us-east-1a, us-east-1b]",
    ),
)
