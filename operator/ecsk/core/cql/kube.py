"""Kubernetes' own matching rules for the terms the compiler emits, re-implemented on plain data.

Used by tests (and by the CLI's dry runs) to check compiled terms against nodes without a cluster;
it follows `k8s.io/component-helpers/scheduling/corev1/nodeaffinity` and label selectors: terms are
ORed, requirements in a term ANDed, an empty term matches nothing, `NotIn`/`DoesNotExist` match a
node without the label, `Gt`/`Lt` need a label that parses as a 64-bit integer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ecsk.core.cql.labels import NODE_NAME_FIELD
from ecsk.core.cql.values import parse_int64


def requirement_matches(requirement: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    """One `matchExpressions` / `matchFields` entry against a label (or field) map."""
    key, op = requirement["key"], requirement["operator"]
    values = list(requirement.get("values") or [])
    present = key in labels
    if op == "In":
        return present and labels[key] in values
    if op == "NotIn":
        return not present or labels[key] not in values
    if op == "Exists":
        return present
    if op == "DoesNotExist":
        return not present
    if op in ("Gt", "Lt"):
        if not present or len(values) != 1:
            return False
        have, want = parse_int64(labels[key]), parse_int64(values[0])
        if have is None or want is None:
            return False
        return have > want if op == "Gt" else have < want
    raise ValueError(f"unknown operator {op!r}")


def node_selector_term_matches(term: Mapping[str, Any], labels: Mapping[str, str], node_name: str) -> bool:
    expressions = term.get("matchExpressions") or []
    fields = term.get("matchFields") or []
    if not expressions and not fields:
        return False
    name_fields = {NODE_NAME_FIELD: node_name}
    return all(requirement_matches(r, labels) for r in expressions) and all(
        requirement_matches(r, name_fields) for r in fields
    )


def node_matches(terms: Sequence[Mapping[str, Any]], labels: Mapping[str, str], node_name: str) -> bool:
    """Whether a node satisfies `requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms`.

    An empty list means "no node affinity at all" in ecsk's results (Kubernetes itself rejects an
    empty `nodeSelectorTerms`, so ecsk never emits one), hence True.
    """
    if not terms:
        return True
    return any(node_selector_term_matches(t, labels, node_name) for t in terms)


def _selector_matches(selector: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    if "matchLabels" in selector and any(labels.get(k) != v for k, v in selector["matchLabels"].items()):
        return False
    return all(requirement_matches(r, labels) for r in selector.get("matchExpressions") or [])


def pod_affinity_allows(
    affinity_terms: Sequence[Mapping[str, Any]],
    anti_affinity_terms: Sequence[Mapping[str, Any]],
    pods_on_node: Sequence[Mapping[str, str]],
) -> bool:
    """Required pod (anti-)affinity with topologyKey kubernetes.io/hostname, for one node given the
    labels of the pods already on it. Ignores Kubernetes' first-pod exception (a pod matching its
    own affinity term may land anywhere when no pod matches yet), which ECS does not have."""
    for term in affinity_terms:
        if not any(_selector_matches(term["labelSelector"], pod) for pod in pods_on_node):
            return False
    for term in anti_affinity_terms:
        if any(_selector_matches(term["labelSelector"], pod) for pod in pods_on_node):
            return False
    return True
