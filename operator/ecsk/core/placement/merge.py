"""Fold placement terms into a pod spec that may already constrain scheduling.

The translator sets `nodeSelector` from runtimePlatform, and other hooks (Fargate) may have run
first. Kubernetes ANDs nodeSelector, node affinity and every required pod (anti-)affinity term,
but ORs nodeSelectorTerms, so adding our terms beside existing ones would *widen* both: the only
correct AND of two term lists is their cross product. Merging is idempotent (re-running the hook
on its own output changes nothing), so the operator may re-place an already placed template.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ecsk.core.cql import CompiledPlacement, combine, requirement_matches
from ecsk.core.translate.types import Diagnostic

_REQUIRED = "requiredDuringSchedulingIgnoredDuringExecution"


def merge_affinity(spec: dict[str, Any], placement: CompiledPlacement) -> list[Diagnostic]:
    """AND `placement` into `spec["affinity"]` (CQLCompileError if the product gets too big)."""
    out: list[Diagnostic] = []
    affinity = spec.get("affinity") or {}
    node_aff = dict(affinity.get("nodeAffinity") or {})
    existing_terms = list((node_aff.get(_REQUIRED) or {}).get("nodeSelectorTerms") or [])
    if placement.node_selector_terms:
        merged = combine([CompiledPlacement(node_selector_terms=existing_terms), placement])
        terms = drop_absorbed(merged.node_selector_terms)
        node_aff[_REQUIRED] = {"nodeSelectorTerms": terms}
        if not any(_term_allows_selector(t, spec.get("nodeSelector") or {}) for t in terms):
            out.append(
                Diagnostic(
                    "warning",
                    "placementConstraints",
                    "the memberOf constraints contradict the task's nodeSelector "
                    f"{spec.get('nodeSelector')} (runtimePlatform): tasks will stay PENDING",
                    "placement.contradiction",
                )
            )
    new_affinity = dict(affinity)
    if node_aff:
        new_affinity["nodeAffinity"] = node_aff
    for section, terms in (
        ("podAffinity", placement.pod_affinity_terms),
        ("podAntiAffinity", placement.pod_anti_affinity_terms),
    ):
        if not terms:
            continue
        block = dict(new_affinity.get(section) or {})
        block[_REQUIRED] = _union(block.get(_REQUIRED) or [], terms)
        new_affinity[section] = block
    if new_affinity:
        spec["affinity"] = new_affinity
    return out


def merge_topology_spread(spec: dict[str, Any], constraints: Iterable[dict[str, Any]]) -> None:
    """Kubernetes rejects two constraints with the same topologyKey and whenUnsatisfiable; an
    existing one (set by someone on purpose) wins."""
    current = list(spec.get("topologySpreadConstraints") or [])
    taken = {(c.get("topologyKey"), c.get("whenUnsatisfiable")) for c in current}
    for c in constraints:
        if (c["topologyKey"], c["whenUnsatisfiable"]) not in taken:
            current.append(c)
            taken.add((c["topologyKey"], c["whenUnsatisfiable"]))
    if current:
        spec["topologySpreadConstraints"] = current


def drop_absorbed(terms: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Remove duplicates and terms implied by a looser one (A or (A and B) == A), so a cross
    product with already-merged terms does not grow on every pass."""
    keyed = [(t, _reqs(t)) for t in terms]
    out: list[dict[str, Any]] = []
    for i, (term, reqs) in enumerate(keyed):
        absorbed = False
        for j, (_, other) in enumerate(keyed):
            if i == j:
                continue
            if other < reqs or (other == reqs and j < i):
                absorbed = True
                break
        if not absorbed:
            out.append(term)
    return out


def _reqs(term: Mapping[str, Any]) -> frozenset[tuple[str, str, str, tuple[str, ...]]]:
    return frozenset(
        (section, r["key"], r["operator"], tuple(r.get("values") or ()))
        for section in ("matchExpressions", "matchFields")
        for r in term.get(section) or ()
    )


def _term_allows_selector(term: Mapping[str, Any], selector: Mapping[str, str]) -> bool:
    """False only when a requirement on a nodeSelector key cannot hold for the selected value."""
    for r in term.get("matchExpressions") or ():
        if r["key"] in selector and not requirement_matches(r, {r["key"]: selector[r["key"]]}):
            return False
    return True


def _union(current: list[dict[str, Any]], extra: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    out = list(current)
    for t in extra:
        if t not in out:
            out.append(t)
    return out
