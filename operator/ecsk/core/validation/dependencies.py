"""Container start ordering (`dependsOn`): targets exist, conditions fit, and no cycles."""

from __future__ import annotations

from ecsk.core.models.containers import ContainerDefinition
from ecsk.core.validation.issues import Issues


def check_dependencies(containers: list[ContainerDefinition], out: Issues) -> None:
    by_name = {c.name: c for c in containers if c.name}
    graph: dict[str, list[str]] = {}
    for i, c in enumerate(containers):
        for k, dep in enumerate(c.dependsOn or ()):
            at = f"containerDefinitions[{i}].dependsOn[{k}]"
            target = by_name.get(dep.containerName)
            if target is None:
                out.add(
                    f"{at}.containerName",
                    f"Container '{dep.containerName}' in dependsOn is not defined in the task definition.",
                    "depends-on.exists",
                )
                continue
            if target is c:
                out.add(f"{at}.containerName", "A container cannot depend on itself.", "depends-on.cycle")
                continue
            if dep.condition in ("COMPLETE", "SUCCESS") and target.is_essential:
                out.add(
                    f"{at}.condition",
                    "A dependency container with SUCCESS or COMPLETE condition "
                    "cannot be an essential container",
                    "depends-on.essential",
                )
            if dep.condition == "HEALTHY" and target.healthCheck is None:
                out.add(
                    f"{at}.condition",
                    f"A dependency container with HEALTHY condition must have a healthCheck: "
                    f"'{dep.containerName}' has none.",
                    "depends-on.healthy",
                )
            if c.name:
                graph.setdefault(c.name, []).append(dep.containerName)
    cycle = _find_cycle(graph)
    if cycle:
        first = next(i for i, c in enumerate(containers) if c.name == cycle[0])
        out.add(
            f"containerDefinitions[{first}].dependsOn",
            "Container dependencies form a cycle: " + " -> ".join([*cycle, cycle[0]]),
            "depends-on.cycle",
        )


def _find_cycle(graph: dict[str, list[str]]) -> list[str] | None:
    """Iterative three-colour DFS; at most 10 containers, but no recursion limits either way."""
    state: dict[str, int] = {}
    for root in graph:
        if state.get(root):
            continue
        stack: list[tuple[str, int]] = [(root, 0)]
        path: list[str] = []
        while stack:
            node, idx = stack.pop()
            if idx == 0:
                state[node] = 1
                path.append(node)
            edges = graph.get(node, [])
            if idx < len(edges):
                stack.append((node, idx + 1))
                nxt = edges[idx]
                if state.get(nxt) == 1:
                    return path[path.index(nxt) :]
                if not state.get(nxt):
                    stack.append((nxt, 0))
            else:
                state[node] = 2
                path.pop()
    return None
