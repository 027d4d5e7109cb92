"""CQL -> Kubernetes scheduling terms (plain dicts, as in a PodSpec's `affinity`).

The expression is put in disjunctive normal form with negations pushed onto the comparisons; each
comparison, with its polarity, becomes a small DNF of Kubernetes requirements chosen so that the
terms admit exactly the nodes `evaluate` admits (see docs/cql.md for the table). Node requirements
of one DNF conjunction form one `nodeSelectorTerm`; `task:group` comparisons become required pod
(anti-)affinity, which Kubernetes ANDs with node affinity, so they must be common to every
conjunction or the expression is refused. Anything that would need widening is refused instead:
a binding constraint that admits more nodes than ECS would is a placement bug.

Regexes and negated ordered comparisons on attributes are resolved against a live inventory of
`NodeView`s into explicit `In` lists of the values seen; a value never seen is never admitted (at
worst a task waits for the operator to re-resolve after nodes change, flagged by
`depends_on_inventory`).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from ecsk.core.cql.ast import ORDERED_OPS, And, Comparison, Expr, Not, Op, SubjectKind, to_cql
from ecsk.core.cql.dnf import (
    AFFINITY,
    ANTI_AFFINITY,
    DNF,
    FIELD,
    LABEL,
    TRUE,
    Conj,
    Req,
    guard_presence,
    in_values,
    simplify,
)
from ecsk.core.cql.errors import CQLCompileError
from ecsk.core.cql.evaluate import normalized_argument, scalar_holds, subject_value
from ecsk.core.cql.labels import (
    AGENT_CONNECTED_LABEL,
    AGENT_VERSION_LABEL,
    HOSTNAME_TOPOLOGY_KEY,
    NODE_NAME_FIELD,
    REGISTERED_AT_LABEL,
    RUNNING_TASKS_COUNT_LABEL,
    TASK_GROUP_LABEL,
    UNSATISFIABLE_LABEL,
    attribute_label_key,
    attribute_label_value_or_none,
    task_group_label_value,
)
from ecsk.core.cql.parser import parse
from ecsk.core.cql.values import INT64_MAX, INT64_MIN, parse_int64
from ecsk.core.cql.view import NodeView

DEFAULT_MAX_TERMS = 64
_PRODUCT_GUARD = 16  # intermediate DNFs may exceed max_terms by this factor before simplification

UNSATISFIABLE_TERM: dict[str, Any] = {
    "matchExpressions": [{"key": UNSATISFIABLE_LABEL, "operator": "Exists"}]
}


@dataclass(frozen=True)
class CompiledPlacement:
    """Scheduling terms for one or more memberOf expressions (all ANDed).

    `node_selector_terms == []` means "no node constraint" (emit no nodeAffinity); a constraint no
    node can meet is the single term requiring the never-set label `ecs.ecsk.io/cql-unsatisfiable`.
    """

    node_selector_terms: list[dict[str, Any]] = field(default_factory=list)
    pod_affinity_terms: list[dict[str, Any]] = field(default_factory=list)
    pod_anti_affinity_terms: list[dict[str, Any]] = field(default_factory=list)
    depends_on_inventory: bool = False
    node_label_keys_used: frozenset[str] = frozenset()

    @property
    def matches_nothing(self) -> bool:
        return self.node_selector_terms == [UNSATISFIABLE_TERM]

    def affinity(self) -> dict[str, Any]:
        """The `affinity` block for a PodSpec (empty dict when unconstrained)."""
        out: dict[str, Any] = {}
        if self.node_selector_terms:
            out["nodeAffinity"] = {
                "requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": self.node_selector_terms
                }
            }
        if self.pod_affinity_terms:
            out["podAffinity"] = {"requiredDuringSchedulingIgnoredDuringExecution": self.pod_affinity_terms}
        if self.pod_anti_affinity_terms:
            out["podAntiAffinity"] = {
                "requiredDuringSchedulingIgnoredDuringExecution": self.pod_anti_affinity_terms
            }
        return out


def compile_expression(
    expression: str | Expr,
    inventory: Sequence[NodeView] | None = None,
    *,
    max_terms: int = DEFAULT_MAX_TERMS,
) -> CompiledPlacement:
    """Compile one memberOf expression. `inventory` (the live nodes) is required only by regexes and
    by negated ordered comparisons on attributes; without it those raise `CQLCompileError`."""
    return compile_expressions([expression], inventory, max_terms=max_terms)


def compile_expressions(
    expressions: Iterable[str | Expr],
    inventory: Sequence[NodeView] | None = None,
    *,
    max_terms: int = DEFAULT_MAX_TERMS,
) -> CompiledPlacement:
    """Compile several memberOf constraints (task definition + service / RunTask), which ECS ANDs.

    Compiling them together rather than combining per-expression results lets contradictions and
    duplicates cancel before the term count is checked against `max_terms`.
    """
    parsed = [parse(e) if isinstance(e, str) else e for e in expressions]
    if not parsed:
        return CompiledPlacement()
    expr = parsed[0] if len(parsed) == 1 else And(tuple(parsed))
    ctx = _Context(inventory, max_terms)
    dnf = ctx.compile(expr, True)
    if len(dnf) > max_terms:
        raise _too_many(len(dnf), max_terms)
    return _assemble(dnf, ctx, expr)


def combine(
    placements: Sequence[CompiledPlacement], *, max_terms: int = DEFAULT_MAX_TERMS
) -> CompiledPlacement:
    """AND already-compiled placements: cross product of node terms, union of pod terms."""
    terms: list[dict[str, Any]] = []
    for p in placements:
        if not p.node_selector_terms:
            continue
        if not terms:
            terms = [dict(t) for t in p.node_selector_terms]
            continue
        if len(terms) * len(p.node_selector_terms) > max_terms:
            raise _too_many(len(terms) * len(p.node_selector_terms), max_terms)
        terms = [_merge_terms(a, b) for a, b in itertools.product(terms, p.node_selector_terms)]
    return CompiledPlacement(
        node_selector_terms=terms,
        pod_affinity_terms=_dedupe(t for p in placements for t in p.pod_affinity_terms),
        pod_anti_affinity_terms=_dedupe(t for p in placements for t in p.pod_anti_affinity_terms),
        depends_on_inventory=any(p.depends_on_inventory for p in placements),
        node_label_keys_used=frozenset().union(*(p.node_label_keys_used for p in placements)),
    )


def _merge_terms(a: Mapping[str, Any], b: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for section in ("matchExpressions", "matchFields"):
        merged = _dedupe([*(a.get(section) or []), *(b.get(section) or [])])
        merged.sort(key=lambda r: (r["key"], r["operator"], r.get("values", [])))
        if merged:
            out[section] = merged
    return out


def _dedupe(items: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for item in items:
        if item not in out:
            out.append(item)
    return out


def _too_many(count: int, max_terms: int) -> CQLCompileError:
    return CQLCompileError(
        f"the placement constraints expand to {count} nodeSelectorTerms (limit {max_terms}); simplify the "
        "'or' / 'not' structure, e.g. use 'in [...]' instead of several '==' joined by 'or'"
    )


class _Key(NamedTuple):
    key: str
    always_present: bool  # the operator writes it on every node
    integer_valued: bool  # its values always parse as integers (operator-written numbers)
    encode: Callable[[str], str | None]  # normalised ECS value -> label value (None: no node has it)


def _identity(value: str) -> str | None:
    return value


class _Context:
    def __init__(self, inventory: Sequence[NodeView] | None, max_terms: int) -> None:
        self.inventory = inventory
        self.max_terms = max_terms
        self.depends_on_inventory = False
        self.keys: set[str] = set()

    # -- boolean structure -------------------------------------------------------------------------

    def compile(self, expr: Expr, positive: bool) -> DNF:
        if isinstance(expr, Not):
            return self.compile(expr.operand, not positive)
        if isinstance(expr, Comparison):
            return simplify(self.atom(expr, positive))
        parts = [self.compile(o, positive) for o in expr.operands]
        conjunctive = isinstance(expr, And) == positive  # De Morgan: not(a or b) = not a and not b
        if not conjunctive:
            return simplify([c for p in parts for c in p])
        result = TRUE
        for part in parts:
            if len(result) * len(part) > self.max_terms * _PRODUCT_GUARD:
                raise _too_many(len(result) * len(part), self.max_terms)
            result = simplify([a | b for a in result for b in part])
        return result

    # -- comparisons -------------------------------------------------------------------------------

    def atom(self, cmp: Comparison, positive: bool) -> DNF:
        kind = cmp.subject.kind
        if kind is SubjectKind.TASK_GROUP:
            return self.task_group(cmp, positive)
        if kind is SubjectKind.EC2_INSTANCE_ID:
            return self.instance_id(cmp, positive)
        spec = self.key_for(cmp)
        self.keys.add(spec.key)
        dnf = self.label_atom(cmp, spec, positive)
        return guard_presence(dnf, spec.key) if spec.always_present else dnf

    def key_for(self, cmp: Comparison) -> _Key:
        kind = cmp.subject.kind
        if kind is SubjectKind.ATTRIBUTE:
            name = cmp.subject.attribute
            assert name is not None
            return _Key(
                attribute_label_key(name),
                False,
                False,
                lambda v: attribute_label_value_or_none(v, name),
            )
        if kind is SubjectKind.REGISTERED_AT:
            return _Key(REGISTERED_AT_LABEL, True, True, _identity)
        if kind is SubjectKind.RUNNING_TASKS_COUNT:
            return _Key(RUNNING_TASKS_COUNT_LABEL, True, True, _identity)
        if kind is SubjectKind.AGENT_VERSION:
            return _Key(AGENT_VERSION_LABEL, True, True, _identity)
        return _Key(AGENT_CONNECTED_LABEL, True, False, _identity)

    def label_atom(self, cmp: Comparison, spec: _Key, positive: bool) -> DNF:
        op, key = cmp.op, spec.key
        if op in (Op.EXISTS, Op.NOT_EXISTS):
            holds = positive == (op is Op.EXISTS)
            return [frozenset({Req(LABEL, key, "Exists" if holds else "DoesNotExist")})]
        args = tuple(normalized_argument(cmp.subject, v) for v in cmp.values)
        if op in ORDERED_OPS:
            return self.ordered(cmp, spec, args[0], positive)
        if op in (Op.MATCHES, Op.NOT_MATCHES):
            seen_true, seen_false = self.resolve(cmp, spec, args)
            # Only values seen on live nodes are ever listed, so a new value is never admitted.
            if positive:
                return in_values(key, seen_true)
            return [frozenset({Req(LABEL, key, "DoesNotExist")}), *in_values(key, seen_false)]
        values = {e for e in (spec.encode(a) for a in args) if e is not None}
        key_values = tuple(sorted(values))
        if op in (Op.EQ, Op.IN):
            if positive:  # present and value in S
                return in_values(key, values)
            # not(present and value in S) = absent or value not in S: exactly Kubernetes' NotIn
            return [frozenset({Req(LABEL, key, "NotIn", key_values)})] if values else TRUE
        if positive:  # present and value not in S (ECS: `!=` needs the attribute)
            notin = {Req(LABEL, key, "NotIn", key_values)} if values else set()
            return [frozenset({Req(LABEL, key, "Exists"), *notin})]
        # not(present and value not in S) = absent or value in S
        return [frozenset({Req(LABEL, key, "DoesNotExist")}), *in_values(key, values)]

    def ordered(self, cmp: Comparison, spec: _Key, argument: str, positive: bool) -> DNF:
        n = parse_int64(argument)
        assert n is not None  # the parser checked it
        # (operator, bound) such that `value op bound` is the comparison; then its complement.
        table = {
            Op.GT: (("Gt", n), ("Lt", n + 1)),
            Op.GE: (("Gt", n - 1), ("Lt", n)),
            Op.LT: (("Lt", n), ("Gt", n - 1)),
            Op.LE: (("Lt", n + 1), ("Gt", n)),
        }
        k8s_op, bound = table[cmp.op][0 if positive else 1]
        if not INT64_MIN <= bound <= INT64_MAX:
            raise CQLCompileError(f"{to_cql(cmp)!r}: the bound is at the edge of the 64-bit integer range")
        ranged: DNF = [frozenset({Req(LABEL, spec.key, k8s_op, (str(bound),))})]
        if spec.integer_valued:
            return ranged
        if positive and self.inventory is None:
            # Sound without an inventory: it only misses values Gt/Lt cannot read (below).
            return ranged
        # Gt/Lt only see label values that parse as integers. Absent attributes, non-integers, and
        # integers that cannot be label values (negative or '+'-signed: labels start alphanumeric)
        # are decided here, one value at a time, over the values live nodes have.
        listed = set()
        for node in self.require_inventory(cmp):
            value = subject_value(node, cmp.subject)
            encoded = None if value is None else spec.encode(value)
            if value is None or encoded is None or parse_int64(encoded) is not None:
                continue  # absent (handled below) or decided by the Gt/Lt requirement
            if scalar_holds(cmp.op, value, (argument,)) == positive:
                listed.add(encoded)
        absent = [] if positive else [frozenset({Req(LABEL, spec.key, "DoesNotExist")})]
        return [*absent, *ranged, *in_values(spec.key, listed)]

    def resolve(self, cmp: Comparison, spec: _Key, args: tuple[str, ...]) -> tuple[set[str], set[str]]:
        """Label values for which the regex comparison holds / fails, over the values that exist."""
        if cmp.subject.kind is SubjectKind.AGENT_CONNECTED:
            candidates: Iterable[str] = ("true", "false")
        else:
            candidates = {
                v
                for node in self.require_inventory(cmp)
                for v in [subject_value(node, cmp.subject)]
                if v is not None
            }
        holds: set[str] = set()
        fails: set[str] = set()
        for value in candidates:
            encoded = spec.encode(value)
            if encoded is not None:
                (holds if scalar_holds(cmp.op, value, args) else fails).add(encoded)
        return holds, fails

    def require_inventory(self, cmp: Comparison) -> Sequence[NodeView]:
        if self.inventory is None:
            raise CQLCompileError(
                f"{to_cql(cmp)!r} can only be compiled against the live node inventory (Kubernetes has no "
                "regex or 'not an integer' requirement); pass the inventory"
            )
        self.depends_on_inventory = True
        return self.inventory

    def instance_id(self, cmp: Comparison, positive: bool) -> DNF:
        """Node names via matchFields, which allows only one value per In/NotIn requirement."""
        if cmp.op in (Op.MATCHES, Op.NOT_MATCHES):
            names = {node.ec2_instance_id for node in self.require_inventory(cmp)}
            listed = {n for n in names if scalar_holds(cmp.op, n, cmp.values) == positive}
            return [frozenset({Req(FIELD, NODE_NAME_FIELD, "In", (n,))}) for n in sorted(listed)]
        member = cmp.op in (Op.EQ, Op.IN)
        if member == positive:  # one term per name (OR)
            return [frozenset({Req(FIELD, NODE_NAME_FIELD, "In", (v,))}) for v in sorted(set(cmp.values))]
        return [frozenset(Req(FIELD, NODE_NAME_FIELD, "NotIn", (v,)) for v in cmp.values)]

    def task_group(self, cmp: Comparison, positive: bool) -> DNF:
        op = cmp.op
        if op in (Op.MATCHES, Op.NOT_MATCHES):
            raise CQLCompileError(
                f"{to_cql(cmp)!r}: regexes on task:group are not supported (pod affinity cannot match a "
                "pattern); list the groups with 'in [...]'"
            )
        if op in (Op.EXISTS, Op.NOT_EXISTS):
            affinity = positive == (op is Op.EXISTS)
            return [frozenset({Req(AFFINITY if affinity else ANTI_AFFINITY, TASK_GROUP_LABEL, "Exists")})]
        affinity = (op in (Op.EQ, Op.IN)) == positive
        values = tuple(sorted({task_group_label_value(v) for v in cmp.values}))
        return [frozenset({Req(AFFINITY if affinity else ANTI_AFFINITY, TASK_GROUP_LABEL, "In", values)})]


def _assemble(dnf: DNF, ctx: _Context, expr: Expr) -> CompiledPlacement:
    keys = frozenset(ctx.keys)
    if not dnf:
        return CompiledPlacement([UNSATISFIABLE_TERM], [], [], ctx.depends_on_inventory, keys)
    pod_parts = {frozenset(r for r in conj if r.kind in (AFFINITY, ANTI_AFFINITY)) for conj in dnf}
    if len(pod_parts) > 1:
        raise CQLCompileError(
            f"{to_cql(expr)!r}: task:group comparisons must apply to every alternative of the expression. "
            "Kubernetes ANDs pod (anti-)affinity with node affinity, so a task:group comparison under 'or' "
            "(or under 'not' of an 'and') has no exact equivalent; use 'in [...]' for alternative groups"
        )
    pod = pod_parts.pop()
    # Deterministic order: the operator server-side-applies these, a reshuffle would be a diff.
    node_conjs = sorted((conj - pod for conj in dnf), key=lambda c: (len(c), sorted(c)))
    node_terms = [] if any(not c for c in node_conjs) else [_term(c) for c in node_conjs]
    return CompiledPlacement(
        node_selector_terms=node_terms,
        pod_affinity_terms=[_pod_term(r) for r in sorted(pod) if r.kind == AFFINITY],
        pod_anti_affinity_terms=[_pod_term(r) for r in sorted(pod) if r.kind == ANTI_AFFINITY],
        depends_on_inventory=ctx.depends_on_inventory,
        node_label_keys_used=keys,
    )


def _requirement(r: Req) -> dict[str, Any]:
    out: dict[str, Any] = {"key": r.key, "operator": r.op}
    if r.values:
        out["values"] = list(r.values)
    return out


def _term(conj: Conj) -> dict[str, Any]:
    reqs = sorted(conj)
    term: dict[str, Any] = {}
    expressions = [_requirement(r) for r in reqs if r.kind == LABEL]
    fields = [_requirement(r) for r in reqs if r.kind == FIELD]
    if expressions:
        term["matchExpressions"] = expressions
    if fields:
        term["matchFields"] = fields
    return term


def _pod_term(r: Req) -> dict[str, Any]:
    return {"labelSelector": {"matchExpressions": [_requirement(r)]}, "topologyKey": HOSTNAME_TOPOLOGY_KEY}
