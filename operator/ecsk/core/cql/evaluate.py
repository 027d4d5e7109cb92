"""Direct evaluation of an expression against one container instance: the reference semantics.

Missing-attribute rule (ECS's own docs: `attribute:stack != prod` lists "the instances with the
custom attribute stack unless the value is prod"): every comparison on an attribute the instance
does not have is false, except `!exists`. So `!=`, `!in` and `!~` require the attribute, while
`not (... == ...)` is plain boolean negation and does match instances without it.

`task:group` looks at the groups of the tasks on the instance: `==` / `in` hold when some task is in
one of the groups, `!=` / `!in` when none is (anti-affinity, as the ECS example
`not(task:group == database)` intends), `exists` when any task with a group runs there.
"""

from __future__ import annotations

from ecsk.core.cql.ast import And, Comparison, Expr, Not, Op, Subject, SubjectKind
from ecsk.core.cql.javaregex import java_matches
from ecsk.core.cql.values import agent_version_code, epoch_seconds, parse_date, parse_int64
from ecsk.core.cql.view import NodeView


def evaluate(expr: Expr, node: NodeView) -> bool:
    """Whether the instance is a member of the group the expression describes."""
    if isinstance(expr, Comparison):
        return _compare(expr, node)
    if isinstance(expr, Not):
        return not evaluate(expr.operand, node)
    if isinstance(expr, And):
        return all(evaluate(o, node) for o in expr.operands)
    return any(evaluate(o, node) for o in expr.operands)


def subject_value(node: NodeView, subject: Subject) -> str | None:
    """The instance's value for a scalar subject, normalised like `normalized_argument` (dates to
    epoch seconds, versions to their integer code); None when the instance lacks it."""
    kind = subject.kind
    if kind is SubjectKind.ATTRIBUTE:
        assert subject.attribute is not None
        if subject.attribute not in node.attributes:
            return None
        return node.attributes[subject.attribute] or ""
    if kind is SubjectKind.EC2_INSTANCE_ID:
        return node.ec2_instance_id
    if kind is SubjectKind.REGISTERED_AT:
        return str(epoch_seconds(node.registered_at))
    if kind is SubjectKind.RUNNING_TASKS_COUNT:
        return str(node.running_tasks_count)
    if kind is SubjectKind.AGENT_CONNECTED:
        return "true" if node.agent_connected else "false"
    if kind is SubjectKind.AGENT_VERSION:
        code = agent_version_code(node.agent_version)
        return None if code is None else str(code)
    raise ValueError(f"{subject} is not a scalar subject")


def normalized_argument(subject: Subject, value: str) -> str:
    """The argument in the same units `subject_value` uses (the parser has validated its shape)."""
    if subject.kind is SubjectKind.REGISTERED_AT:
        return str(parse_date(value))
    if subject.kind is SubjectKind.AGENT_VERSION:
        return str(agent_version_code(value))
    if subject.kind is SubjectKind.RUNNING_TASKS_COUNT:
        return str(parse_int64(value))  # a count: 01 == 1
    return value


def ordered_holds(op: Op, value: str, argument: str) -> bool:
    """`value op argument` on 64-bit integers; a value that is not an integer never satisfies an
    ordered comparison (as a Kubernetes Gt/Lt requirement on such a label never does)."""
    left, right = parse_int64(value), parse_int64(argument)
    if left is None or right is None:
        return False
    if op is Op.GT:
        return left > right
    if op is Op.GE:
        return left >= right
    if op is Op.LT:
        return left < right
    return left <= right


def _compare(cmp: Comparison, node: NodeView) -> bool:
    if cmp.subject.kind is SubjectKind.TASK_GROUP:
        return _task_group(cmp, node.task_groups)
    value = subject_value(node, cmp.subject)
    if cmp.op is Op.EXISTS:
        return value is not None
    if cmp.op is Op.NOT_EXISTS:
        return value is None
    if value is None:
        return False
    return scalar_holds(cmp.op, value, tuple(normalized_argument(cmp.subject, v) for v in cmp.values))


def scalar_holds(op: Op, value: str, arguments: tuple[str, ...]) -> bool:
    """A comparison on a value the instance has (arguments already normalised)."""
    if op in (Op.EQ, Op.IN):
        return value in arguments
    if op in (Op.NE, Op.NOT_IN):
        return value not in arguments
    if op is Op.MATCHES:
        return java_matches(arguments[0], value)
    if op is Op.NOT_MATCHES:
        return not java_matches(arguments[0], value)
    return ordered_holds(op, value, arguments[0])


def _task_group(cmp: Comparison, groups: frozenset[str]) -> bool:
    op = cmp.op
    if op is Op.EXISTS:
        return bool(groups)
    if op is Op.NOT_EXISTS:
        return not groups
    if op in (Op.EQ, Op.IN):
        return any(g in cmp.values for g in groups)
    if op in (Op.NE, Op.NOT_IN):
        return not any(g in cmp.values for g in groups)
    if op is Op.MATCHES:
        return any(java_matches(cmp.values[0], g) for g in groups)
    if op is Op.NOT_MATCHES:
        return not any(java_matches(cmp.values[0], g) for g in groups)
    raise ValueError(f"{op.value} is not valid for task:group")
