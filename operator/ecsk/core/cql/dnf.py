"""Disjunctive normal form over Kubernetes requirements, and its sound simplifications.

A DNF is a list of conjunctions (frozensets of `Req`); `[]` is false and `[frozenset()]` is true.
Every simplification here only removes conjunctions no node can meet or that another conjunction
already covers, so it never changes which nodes are admitted (the property tests check this).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

LABEL, FIELD, AFFINITY, ANTI_AFFINITY = "label", "field", "affinity", "anti"
PRESENCE_OPS = frozenset({"In", "Exists", "Gt", "Lt"})


class Req(NamedTuple):
    """One requirement: a node label / node field requirement, or a pod (anti-)affinity literal."""

    kind: str
    key: str
    op: str
    values: tuple[str, ...] = ()


Conj = frozenset[Req]
DNF = list[Conj]
TRUE: DNF = [frozenset()]
FALSE: DNF = []


def in_values(key: str, values: Iterable[str]) -> DNF:
    ordered = tuple(sorted(set(values)))
    return [frozenset({Req(LABEL, key, "In", ordered)})] if ordered else FALSE


def guard_presence(dnf: DNF, key: str) -> DNF:
    """For labels the operator keeps on every node: drop branches that need the label absent, and
    make the others require it, so a node the operator has not labelled yet is never admitted."""
    out: DNF = []
    for conj in dnf:
        on_key = [r for r in conj if r.kind == LABEL and r.key == key]
        if any(r.op == "DoesNotExist" for r in on_key):
            continue
        if not any(r.op in PRESENCE_OPS for r in on_key):
            conj = conj | {Req(LABEL, key, "Exists")}
        out.append(conj)
    return out


def _satisfiable(conj: Conj) -> bool:
    """False only for conjunctions no node can meet (sound, not complete)."""
    by_key: dict[tuple[str, str], list[Req]] = {}
    for r in conj:
        by_key.setdefault((r.kind, r.key), []).append(r)
    for (kind, _key), reqs in by_key.items():
        ops = {r.op for r in reqs}
        if kind in (LABEL, FIELD):
            if "DoesNotExist" in ops and ops & PRESENCE_OPS:
                return False
            allowed: set[str] | None = None
            for r in reqs:
                if r.op == "In":
                    allowed = set(r.values) if allowed is None else allowed & set(r.values)
            if allowed is not None:
                for r in reqs:
                    if r.op == "NotIn":
                        allowed -= set(r.values)
                if not allowed:
                    return False
    affinity = [r for r in conj if r.kind == AFFINITY]
    anti = [r for r in conj if r.kind == ANTI_AFFINITY]
    for a in affinity:
        for b in anti:
            if b.op == "Exists" or (a.op == "In" and b.op == "In" and set(a.values) <= set(b.values)):
                return False
    return True


def _complement(r: Req) -> Req | None:
    flipped = {"Exists": "DoesNotExist", "DoesNotExist": "Exists", "In": "NotIn", "NotIn": "In"}.get(r.op)
    return None if flipped is None else r._replace(op=flipped)


def simplify(dnf: DNF) -> DNF:
    """Drop unsatisfiable and duplicate conjunctions, and any conjunction that is a superset of
    another (absorption: a or (a and b) = a)."""
    unique = sorted({c for c in dnf if _satisfiable(c)}, key=len)
    singles = {next(iter(c)) for c in unique if len(c) == 1}
    for r in singles:  # `x or not x` on one label: no constraint at all
        if r.kind == LABEL and _complement(r) in singles:
            return TRUE
    out: DNF = []
    for conj in unique:
        if not any(kept <= conj for kept in out):
            out.append(conj)
    return out
