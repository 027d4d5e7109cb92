"""Property: compiled terms, matched the way Kubernetes matches them, admit exactly the nodes the
reference evaluator admits; and nodes that join after compilation are never wrongly admitted."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ecsk.core.cql import (
    TASK_GROUP_LABEL,
    And,
    Comparison,
    CompiledPlacement,
    CQLCompileError,
    Expr,
    NodeView,
    Not,
    Op,
    Or,
    Subject,
    SubjectKind,
    compile_expression,
    evaluate,
    node_labels,
    node_matches,
    parse,
    pod_affinity_allows,
    task_group_label_value,
    to_cql,
)

ATTRIBUTE_VALUES: dict[str, list[str | None]] = {
    "ecs.availability-zone": ["us-east-1a", "us-east-1b", "us-east-1c"],
    "ecs.instance-type": ["t2.small", "t2.micro", "g2.2xlarge", "m5.large"],
    "ecs.cpu-architecture": ["x86_64", "arm64"],
    "ecs.os-type": ["linux", "windows"],
    "stack": ["prod", "dev", "prod:blue", "a b", None],
    "team/x": ["1", "2", "x"],
    "n": ["1", "5", "-3", "007", "x", None],
}
# Values only nodes joining after compilation have: the regex resolution has never seen them.
LATE_VALUES: dict[str, list[str | None]] = {
    "ecs.availability-zone": ["us-east-1z"],
    "ecs.instance-type": ["t2.nano", "g2.8xlarge"],
    "stack": ["prod-late"],
    "team/x": ["3"],
    "n": ["9", "y"],
}
EXTRA_VALUES = ["us-east-1d", "amd64", "", "1", "other"]
INTEGERS = ["-5", "0", "1", "5", "7", "100"]
REGEXES = ["t2.*", "us-east-1[ab]", ".*", "x86_.*", "arm.*", "prod.*", "[0-9]+", "(?i)T2.*", "nomatch", "a b"]
IDS = [f"i-{k}" for k in range(1, 9)]
GROUPS = ["service:web", "family:db", "batch"]
DATES = [
    datetime(2018, 6, 18, 22, 28, 28, tzinfo=UTC),
    datetime(2018, 2, 13, tzinfo=UTC),
    datetime(2020, 1, 1, tzinfo=UTC),
]
DATE_ARGS = [
    "2018-06-18T22:28:28+00:00",
    "2018-06-18T22:28:28Z",
    "2018-06-18",
    "2018-02-13",
    "2019-01-01T00:00:00",
]
VERSIONS = ["1.14.5", "1.9.0", "1.20.1"]

ALL_OPS = list(Op)
ORDERED = [Op.GT, Op.GE, Op.LT, Op.LE]
STRING_OPS = [Op.EQ, Op.NE, Op.IN, Op.NOT_IN, Op.MATCHES, Op.NOT_MATCHES]


@st.composite
def nodes(draw: st.DrawFn, ids: list[str], late: bool = False) -> list[NodeView]:
    out = []
    for node_id in ids:
        attributes = {
            name: draw(st.sampled_from(values + (LATE_VALUES.get(name, []) if late else [])))
            for name, values in ATTRIBUTE_VALUES.items()
            if draw(st.booleans())
        }
        out.append(
            NodeView(
                node_id,
                attributes,
                registered_at=draw(st.sampled_from(DATES)),
                running_tasks_count=draw(st.integers(0, 3)),
                agent_connected=draw(st.booleans()),
                agent_version=draw(st.sampled_from(VERSIONS)),
                task_groups=frozenset(draw(st.lists(st.sampled_from(GROUPS), max_size=2))),
            )
        )
    return out


@st.composite
def fleets(draw: st.DrawFn) -> tuple[list[NodeView], list[NodeView]]:
    """(inventory the compiler sees, nodes that join afterwards)."""
    ids = draw(st.lists(st.sampled_from(IDS), min_size=5, max_size=8, unique=True))
    split = draw(st.integers(3, len(ids) - 1))
    return draw(nodes(ids[:split])), draw(nodes(ids[split:], late=True))


def _args(draw: st.DrawFn, op: Op, pool: list[str], regexes: list[str]) -> tuple[str, ...]:
    if op in (Op.EXISTS, Op.NOT_EXISTS):
        return ()
    if op in (Op.MATCHES, Op.NOT_MATCHES):
        return (draw(st.sampled_from(regexes)),)
    if op in (Op.IN, Op.NOT_IN):
        return tuple(draw(st.lists(st.sampled_from(pool), min_size=1, max_size=3)))
    return (draw(st.sampled_from(pool)),)


@st.composite
def comparisons(draw: st.DrawFn, with_groups: bool = False, only_groups: bool = False) -> Comparison:
    kinds = list(SubjectKind) if with_groups else [k for k in SubjectKind if k is not SubjectKind.TASK_GROUP]
    kind = SubjectKind.TASK_GROUP if only_groups else draw(st.sampled_from(kinds))
    if kind is SubjectKind.ATTRIBUTE:
        name = draw(st.sampled_from([*ATTRIBUTE_VALUES, "missing"]))
        op = draw(st.sampled_from(ALL_OPS))
        pool = INTEGERS if op in ORDERED else [v or "" for v in ATTRIBUTE_VALUES.get(name, [])] + EXTRA_VALUES
        return Comparison(Subject(kind, name), op, _args(draw, op, pool, REGEXES))
    if kind is SubjectKind.EC2_INSTANCE_ID:
        op = draw(st.sampled_from(STRING_OPS))
        return Comparison(Subject(kind), op, _args(draw, op, IDS, ["i-[1-3]", "i-.*", "x"]))
    if kind is SubjectKind.AGENT_CONNECTED:
        op = draw(st.sampled_from(STRING_OPS))
        return Comparison(Subject(kind), op, _args(draw, op, ["true", "false", "TRUE"], ["t.*", "(?i)F.*"]))
    if kind is SubjectKind.TASK_GROUP:
        op = draw(st.sampled_from([Op.EQ, Op.NE, Op.IN, Op.NOT_IN, Op.EXISTS, Op.NOT_EXISTS]))
        return Comparison(Subject(kind), op, _args(draw, op, [*GROUPS, "other"], []))
    op = draw(st.sampled_from([Op.EQ, Op.NE, *ORDERED]))
    pool = {
        SubjectKind.RUNNING_TASKS_COUNT: ["0", "1", "2", "3"],
        SubjectKind.REGISTERED_AT: DATE_ARGS,
        SubjectKind.AGENT_VERSION: [*VERSIONS, "1.10"],
    }[kind]
    return Comparison(Subject(kind), op, _args(draw, op, pool, []))


def trees(leaves: st.SearchStrategy[Comparison]) -> st.SearchStrategy[Expr]:
    return st.recursive(
        leaves,
        lambda children: st.one_of(
            children.map(Not),
            st.lists(children, min_size=2, max_size=3).map(lambda xs: And(tuple(xs))),
            st.lists(children, min_size=2, max_size=3).map(lambda xs: Or(tuple(xs))),
        ),
        max_leaves=7,
    )


def _admitted(placement: CompiledPlacement, node: NodeView) -> bool:
    pods = [{TASK_GROUP_LABEL: task_group_label_value(g)} for g in node.task_groups]
    return node_matches(placement.node_selector_terms, node_labels(node), node.ec2_instance_id) and (
        pod_affinity_allows(placement.pod_affinity_terms, placement.pod_anti_affinity_terms, pods)
    )


SETTINGS = settings(
    max_examples=300, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@SETTINGS
@given(fleets(), trees(comparisons()))
def test_compiled_terms_admit_exactly_the_evaluated_nodes(
    fleet: tuple[list[NodeView], list[NodeView]], expr: Expr
) -> None:
    inventory, newcomers = fleet
    assert parse(to_cql(expr)) == expr
    placement = compile_expression(expr, inventory, max_terms=100_000)
    for node in inventory:
        assert _admitted(placement, node) == evaluate(expr, node), (to_cql(expr), node, placement)
    for node in newcomers:  # compiled against an older inventory: may exclude, never wrongly admit
        if _admitted(placement, node):
            assert evaluate(expr, node), (to_cql(expr), node, placement)


@SETTINGS
@given(fleets(), trees(comparisons(with_groups=True)))
def test_task_groups_compile_exactly_or_are_refused(
    fleet: tuple[list[NodeView], list[NodeView]], expr: Expr
) -> None:
    inventory, _ = fleet
    try:
        placement = compile_expression(expr, inventory, max_terms=100_000)
    except CQLCompileError as exc:
        assert "task:group" in str(exc)
        return
    for node in inventory:
        assert _admitted(placement, node) == evaluate(expr, node), (to_cql(expr), node, placement)


@st.composite
def group_conjunctions(draw: st.DrawFn) -> Expr:
    literals = [
        Not(c) if draw(st.booleans()) else c
        for c in draw(st.lists(comparisons(only_groups=True), min_size=1, max_size=3))
    ]
    return And((draw(trees(comparisons())), *literals))


@SETTINGS
@given(fleets(), group_conjunctions())
def test_task_group_conjunctions_always_compile(
    fleet: tuple[list[NodeView], list[NodeView]], expr: Expr
) -> None:
    inventory, _ = fleet
    placement = compile_expression(expr, inventory, max_terms=100_000)
    for node in inventory:
        assert _admitted(placement, node) == evaluate(expr, node), (to_cql(expr), node, placement)
